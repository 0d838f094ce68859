//! The users page (administrators only): the users table, and the dialogs
//! that reset a password or delete a user (with the name typed to confirm),
//! opened by plain links (`?reset=<name>`, `?delete=<name>`) so they work
//! without JavaScript.

use super::api::users::{list_users, DeleteUser, ResetPassword, UserSummary};
use super::widgets::{field_error, form_error, query_escape, ErrorNotice, PasswordField};
use crate::accounts::PASSWORD_RULE;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Lists users, with links to manage each.
#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let delete = ServerAction::<DeleteUser>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let users = Resource::new(
        move || (delete.version().get(), reset.version().get()),
        |_| list_users(),
    );
    let param = move |key: &str| query.read().get(key).filter(|v| !v.is_empty());
    view! {
        <section class="panel">
            <div class="panel-head">
                <h1>"Users"</h1>
                <div class="actions">
                    <a class="button primary" href="/create-user" data-testid="create-user">"Create user"</a>
                </div>
            </div>
            <p class="help">
                "People sign in to this console and to " <code>"docker login"</code> " with a user name and password; "
                "programs such as the AWS CLI sign requests with a user's access key. What a user may do is set by the policies attached to them."
            </p>
            {move || param("deleted").map(|name| view! {
                <p class="notice success" role="status" data-testid="user-deleted">{format!("Deleted the user {name}.")}</p>
            })}
            {move || param("password_reset").map(|name| view! {
                <p class="notice success" role="status" data-testid="password-reset">
                    {format!("Changed the password of {name}. Their old password no longer works.")}
                </p>
            })}
            <Transition fallback=|| view! { <p class="empty">"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(list) => view! { <UsersTable list/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        {move || param("reset").map(|name| view! { <ResetPasswordDialog name action=reset/> })}
        {move || param("delete").map(|name| view! { <DeleteUserDialog name action=delete/> })}
    }
}

/// The policies column: managed policies by name, inline ones marked.
pub fn policy_chips(policies: &[super::api::users::AttachedPolicy]) -> AnyView {
    if policies.is_empty() {
        return view! { <span class="muted">"None"</span> }.into_any();
    }
    policies
        .iter()
        .map(|p| {
            let kind = if p.inline { " (inline)" } else { "" };
            view! { <span class="tag">{format!("{}{kind}", p.name)}</span> }
        })
        .collect_view()
        .into_any()
}

#[component]
fn UsersTable(list: Vec<UserSummary>) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|user| {
            let escaped = query_escape(&user.name);
            let href = format!("/users/{escaped}");
            let reset = format!("/users?reset={escaped}");
            let delete = format!("/users?delete={escaped}");
            let name = user.name.clone();
            view! {
                <tr data-testid="user-row">
                    <td class="name">
                        <a href=href>{user.name.clone()}</a>
                        {user.is_self.then(|| view! { " " <span class="muted">"(you)"</span> })}
                    </td>
                    <td>{user.created_at}</td>
                    <td data-testid="user-policies">{policy_chips(&user.policies)}</td>
                    <td class="num" data-testid="user-keys">{user.access_keys}</td>
                    <td class="row-actions">
                        <a href=reset aria-label=format!("Reset the password of {name}")>"Reset password"</a>
                        {(!user.is_self).then(|| view! {
                            <a href=delete class="danger-link" aria-label=format!("Delete {name}")>"Delete"</a>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="data users">
                <caption class="visually-hidden">"Users"</caption>
                <thead>
                    <tr>
                        <th>"User name"</th>
                        <th>"Created at"</th>
                        <th>"Permissions policies"</th>
                        <th class="num">"Access keys"</th>
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// New password, typed twice, for `name`.
#[component]
fn ResetPasswordDialog(name: String, action: ServerAction<ResetPassword>) -> impl IntoView {
    on_cleanup(move || action.clear());
    let password_error = field_error(action, "password");
    let confirm_error = field_error(action, "password_confirm");
    let other_error = form_error(action);
    view! {
        <div class="overlay">
            <div class="dialog narrow" role="dialog" aria-modal="true" aria-labelledby="reset-title" data-testid="reset-dialog">
                <div class="dialog-head">
                    <h2 id="reset-title">"Reset the password of " {name.clone()}</h2>
                    <a class="close" href="/users" aria-label="Close">"×"</a>
                </div>
                <ActionForm action=action attr:class="form">
                    <input type="hidden" name="name" value=name.clone()/>
                    <PasswordField
                        id="password"
                        label="New password"
                        autocomplete="new-password"
                        autofocus=true
                        error=Signal::derive(password_error)
                    >
                        {PASSWORD_RULE}
                    </PasswordField>
                    <PasswordField
                        id="password_confirm"
                        label="Type the new password again"
                        autocomplete="new-password"
                        error=Signal::derive(confirm_error)
                    />
                    <p class="help">"The user's console sessions end; their access keys keep working."</p>
                    {move || other_error().map(|error| view! { <ErrorNotice error/> })}
                    <div class="buttons">
                        <a class="button" href="/users">"Cancel"</a>
                        <button type="submit" class="primary" data-testid="reset-submit">"Change password"</button>
                    </div>
                </ActionForm>
            </div>
        </div>
    }
}

/// Deleting `name`, confirmed by typing the name.
#[component]
fn DeleteUserDialog(name: String, action: ServerAction<DeleteUser>) -> impl IntoView {
    on_cleanup(move || action.clear());
    let confirm_error = field_error(action, "confirm");
    let other_error = form_error(action);
    view! {
        <div class="overlay">
            <div class="dialog narrow" role="dialog" aria-modal="true" aria-labelledby="delete-title" data-testid="delete-dialog">
                <div class="dialog-head">
                    <h2 id="delete-title">"Delete the user " {name.clone()}</h2>
                    <a class="close" href="/users" aria-label="Close">"×"</a>
                </div>
                <p>
                    "The user, their policies and their access keys are deleted at once: programs using those keys "
                    "and any session of theirs stop working. This cannot be undone."
                </p>
                <ActionForm action=action attr:class="form">
                    <input type="hidden" name="name" value=name.clone()/>
                    <div class="field">
                        <label for="confirm">"To confirm, type the user name " <strong>{name.clone()}</strong> " in the field."</label>
                        <input
                            id="confirm"
                            name="confirm"
                            autocomplete="off"
                            spellcheck="false"
                            autofocus
                            placeholder=name.clone()
                            aria-invalid=move || confirm_error().is_some().to_string()
                            aria-describedby="confirm-error"
                        />
                        <p id="confirm-error" class="field-error" role="alert" data-testid="confirm-error">{confirm_error}</p>
                    </div>
                    {move || other_error().map(|error| view! { <ErrorNotice error/> })}
                    <div class="buttons">
                        <a class="button" href="/users">"Cancel"</a>
                        <button type="submit" class="danger" data-testid="confirm-delete">"Delete user"</button>
                    </div>
                </ActionForm>
            </div>
        </div>
    }
}
