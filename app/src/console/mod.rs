//! The console: the HTML shell, the router and the pages.

mod api;
mod home;

#[cfg(feature = "ssr")]
pub use api::ConsoleBackend;
pub use api::{list_repositories, ConsoleError, RepositorySummary};

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    SsrMode, StaticSegment,
};

/// The HTML document the server renders around the console.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The console application, rendered on the server and hydrated in the browser.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="berth" href="/pkg/berth.css"/>
        <Title text="Berth"/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">
                    <img src="/logo.svg" alt="" width="24" height="24"/>
                    <span>"Berth"</span>
                </a>
                <span class="tagline">"Private container registry"</span>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=StaticSegment("") view=home::RepositoriesPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
