//! The create-user page (administrators only): name, password typed twice,
//! and an initial managed policy. The name and password are checked as you
//! type with the rules the server applies; server errors show beside their field.

use super::api::users::{managed_policy_summary, CreateUser, ADMINS_ONLY};
use super::api::ConsoleError;
use super::widgets::{field_error, form_error, ErrorNotice, PasswordField};
use super::UserResource;
use crate::accounts::{validate_password, validate_user_name, PASSWORD_RULE, USER_NAME_RULE};
use crate::policy::MANAGED_POLICIES;
use leptos::prelude::*;

/// The form, for administrators; anyone else is told they may not.
#[component]
pub fn CreateUserPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) if user.is_admin => view! { <CreateUserForm/> }.into_any(),
                    _ => view! {
                        <section class="panel narrow">
                            <ErrorNotice error=ConsoleError::Forbidden(ADMINS_ONLY.to_owned())/>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CreateUserForm() -> impl IntoView {
    let action = ServerAction::<CreateUser>::new();
    let name_server_error = field_error(action, "name");
    let password_server_error = field_error(action, "password");
    let confirm_server_error = field_error(action, "password_confirm");
    let policy_error = field_error(action, "policy");
    let other_error = form_error(action);
    // What the user has typed, once hydrated; `None` until then (and without JavaScript).
    let (name, set_name) = signal(None::<String>);
    let (password, set_password) = signal(None::<String>);
    let (confirm, set_confirm) = signal(None::<String>);
    let name_error = move || match name.get() {
        // A new keystroke supersedes the server's verdict on the old value.
        Some(typed) => validate_user_name(typed.trim()).err(),
        None => name_server_error(),
    };
    let password_error = move || match password.get() {
        Some(typed) if !typed.is_empty() => validate_password(&typed).err(),
        Some(_) => None,
        None => password_server_error(),
    };
    let confirm_error = move || match (password.get(), confirm.get()) {
        (Some(first), Some(second)) if !second.is_empty() && first != second => {
            Some("The two passwords do not match; type the same password twice.".to_owned())
        }
        (_, Some(_)) => None,
        _ => confirm_server_error(),
    };
    let options = MANAGED_POLICIES
        .iter()
        .map(|policy| view! { <option value=*policy>{*policy}</option> })
        .collect_view();
    let descriptions = MANAGED_POLICIES
        .iter()
        .map(
            |policy| view! { <li><code>{*policy}</code>": " {managed_policy_summary(policy)}</li> },
        )
        .collect_view();
    view! {
        <section class="panel narrow">
            <nav class="crumbs" aria-label="Breadcrumb"><a href="/users">"Users"</a> " › Create user"</nav>
            <h1>"Create user"</h1>
            <ActionForm action=action attr:class="form" attr:data-testid="create-user-form">
                <fieldset>
                    <legend>"User details"</legend>
                    <div class="field">
                        <label for="name">"User name"</label>
                        <input
                            id="name"
                            name="name"
                            required
                            minlength="2"
                            maxlength="64"
                            autocomplete="off"
                            spellcheck="false"
                            autofocus
                            aria-invalid=move || name_error().is_some().to_string()
                            aria-describedby="name-help name-error"
                            on:input=move |ev| set_name.set(Some(event_target_value(&ev)))
                        />
                        <p id="name-help" class="help">{USER_NAME_RULE}</p>
                        <p id="name-error" class="field-error" role="alert" data-testid="name-error">{name_error}</p>
                    </div>
                    <PasswordField
                        id="password"
                        label="Password"
                        autocomplete="new-password"
                        error=Signal::derive(password_error)
                        on_input=Callback::new(move |v| set_password.set(Some(v)))
                    >
                        {PASSWORD_RULE} " The user signs in to this console and to " <code>"docker login"</code> " with it."
                    </PasswordField>
                    <PasswordField
                        id="password_confirm"
                        label="Type the password again"
                        autocomplete="new-password"
                        error=Signal::derive(confirm_error)
                        on_input=Callback::new(move |v| set_confirm.set(Some(v)))
                    />
                </fieldset>
                <fieldset>
                    <legend>"Permissions"</legend>
                    <div class="field">
                        <label for="policy">"Managed policy to attach"</label>
                        <select id="policy" name="policy" aria-describedby="policy-help policy-error" data-testid="policy">
                            <option value="">"None — the user may do nothing until a policy is attached"</option>
                            {options}
                        </select>
                        <ul id="policy-help" class="help policies">{descriptions}</ul>
                        <p id="policy-error" class="field-error" role="alert">{policy_error}</p>
                    </div>
                </fieldset>
                {move || other_error().map(|error| view! { <ErrorNotice error/> })}
                <div class="buttons">
                    <a class="button" href="/users">"Cancel"</a>
                    <button type="submit" class="primary" data-testid="create-user-submit" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Creating…" } else { "Create user" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}
