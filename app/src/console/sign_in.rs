//! The sign-in page: a plain form post, so it works before (or without)
//! JavaScript and the page reloads with the new session's cookie.

use super::api::session::SignIn;
use super::widgets::{field_error, form_error, ErrorNotice, PasswordField};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

/// User name and password.
#[component]
pub fn SignInPage() -> impl IntoView {
    // Picks up the error of a failed post from the URL the server sent us back to.
    let action = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    let username_error = field_error(action, "username");
    let password_error = field_error(action, "password");
    let other_error = form_error(action);
    view! {
        <section class="panel narrow">
            <h1>"Sign in to Berth"</h1>
            <form method="post" action=SignIn::PATH class="form" data-testid="sign-in-form">
                <input type="hidden" name="next" value=next/>
                <div class="field">
                    <label for="username">"User name"</label>
                    <input
                        id="username"
                        name="username"
                        autocomplete="username"
                        required
                        autofocus
                        aria-invalid=move || username_error().is_some().to_string()
                        aria-describedby="username-error"
                    />
                    <p id="username-error" class="field-error" role="alert">{username_error}</p>
                </div>
                <PasswordField
                    id="password"
                    label="Password"
                    autocomplete="current-password"
                    error=Signal::derive(password_error)
                />
                {move || other_error().map(|error| view! { <ErrorNotice error/> })}
                <button type="submit" class="primary">"Sign in"</button>
            </form>
        </section>
    }
}
