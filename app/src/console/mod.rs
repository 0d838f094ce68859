//! The console: the HTML shell, the router, the frame around every page, and
//! the pages. Every page renders on the server and its forms post without
//! JavaScript; hydration adds live validation, copy buttons and dialogs.

pub mod api;
mod create;
mod create_user;
mod findings;
mod image;
mod keys;
mod lifecycle;
mod permissions;
pub mod policy_draft;
pub mod push;
mod repositories;
mod repository;
mod settings;
mod sign_in;
mod signing;
mod user;
mod users;
mod vulndb;
pub mod widgets;

#[cfg(feature = "ssr")]
pub use api::ConsoleBackend;
pub use api::ConsoleError;

use api::session::{current_user, SignOut, SignedInUser};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
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

/// The signed-in user, shared by the frame and the pages.
pub type UserResource = Resource<Result<Option<SignedInUser>, ConsoleError>>;

/// The console application, rendered on the server and hydrated in the browser.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let user: UserResource = Resource::new(|| (), |_| current_user());
    provide_context(user);
    // Effects run only in the browser, after hydration: tests wait for this mark.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="berth" href="/pkg/berth.css"/>
        <Title text="Berth"/>
        <Router>
            <a class="skip" href="#main">"Skip to content"</a>
            <header class="topbar">
                <a class="brand" href="/">
                    <img src="/logo.svg" alt="" width="24" height="24"/>
                    <span>"Berth"</span>
                </a>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(user)) => view! { <Navigation user/> }.into_any(),
                            _ => ().into_any(),
                        }
                    })}
                </Suspense>
            </header>
            <main id="main">
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=path!("/") view=repositories::RepositoriesPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=sign_in::SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/create-repository") view=create::CreateRepositoryPage ssr=SsrMode::Async/>
                    <Route path=path!("/delete-repositories") view=repositories::DeleteRepositoriesPage ssr=SsrMode::Async/>
                    <Route path=path!("/repositories/*name") view=repository::RepositoryPage ssr=SsrMode::Async/>
                    <Route path=path!("/image/*name") view=image::ImagePage ssr=SsrMode::Async/>
                    <Route path=path!("/users") view=users::UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/users/:name") view=user::UserPage ssr=SsrMode::Async/>
                    <Route path=path!("/create-user") view=create_user::CreateUserPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings") view=settings::SettingsPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The links of the top bar, and the sign-out button.
#[component]
fn Navigation(user: SignedInUser) -> impl IntoView {
    view! {
        <nav aria-label="Console">
            <a href="/">"Repositories"</a>
            {user.is_admin.then(|| view! { <a href="/users" data-testid="nav-users">"Users"</a> })}
            {user.is_admin.then(|| view! { <a href="/settings" data-testid="nav-settings">"Registry settings"</a> })}
        </nav>
        <div class="who">
            <span data-testid="signed-in-user">{user.name}</span>
            <form method="post" action=SignOut::PATH>
                <button type="submit" class="link" data-testid="sign-out">"Sign out"</button>
            </form>
        </div>
    }
}
