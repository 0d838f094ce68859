//! One user's page (administrators only): their policies (attach a managed
//! one, detach any), their access keys (create one and see its secret once,
//! revoke one after confirming in a dialog opened by `?revoke=<id>`).

use super::api::users::{
    load_user, managed_policy_summary, take_new_access_key, AccessKeySummary, AttachUserPolicy,
    AttachedPolicy, CreateAccessKey, DeleteAccessKey, DetachUserPolicy, NewAccessKey, UserDetail,
};
use super::widgets::{field_error, form_error, query_escape, CopyButton, ErrorNotice};
use crate::policy::MANAGED_POLICIES;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The actions of the page, passed to its parts.
#[derive(Clone, Copy)]
struct Actions {
    attach: ServerAction<AttachUserPolicy>,
    detach: ServerAction<DetachUserPolicy>,
    create_key: ServerAction<CreateAccessKey>,
    revoke: ServerAction<DeleteAccessKey>,
}

/// The user page.
#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let name = Memo::new(move |_| params.read().get("name").unwrap_or_default());
    let actions = Actions {
        attach: ServerAction::new(),
        detach: ServerAction::new(),
        create_key: ServerAction::new(),
        revoke: ServerAction::new(),
    };
    let detail = Resource::new(
        move || {
            (
                name.get(),
                actions.attach.version().get(),
                actions.detach.version().get(),
                actions.create_key.version().get(),
                actions.revoke.version().get(),
            )
        },
        |(name, ..)| load_user(name),
    );
    // Taken from the session once: gone on the next load or change.
    let fresh = Resource::new(
        move || {
            (
                name.get(),
                actions.attach.version().get(),
                actions.detach.version().get(),
                actions.create_key.version().get(),
                actions.revoke.version().get(),
            )
        },
        |(name, ..)| take_new_access_key(name),
    );
    let param = move |key: &str| query.read().get(key).filter(|v| !v.is_empty());
    view! {
        {move || param("created").map(|_| view! {
            <p class="notice success floating" role="status" data-testid="user-created">
                {format!("Created the user {}.", name.get())}
            </p>
        })}
        <Transition fallback=|| view! { <p class="empty">"Loading user…"</p> }>
            {move || Suspend::new(async move {
                let fresh = fresh.await.ok().flatten();
                match detail.await {
                    Ok(detail) => view! { <UserView detail fresh actions/> }.into_any(),
                    Err(error) => view! {
                        <section class="panel"><ErrorNotice error/><p><a href="/users">"Back to the users"</a></p></section>
                    }
                    .into_any(),
                }
            })}
        </Transition>
        {move || param("revoke").map(|id| view! { <RevokeDialog name=name.get() id action=actions.revoke/> })}
    }
}

#[component]
fn UserView(detail: UserDetail, fresh: Option<NewAccessKey>, actions: Actions) -> impl IntoView {
    let name = detail.summary.name.clone();
    let escaped = query_escape(&name);
    let query = use_query_map();
    let revoked = move || query.read().get("revoked").filter(|v| !v.is_empty());
    view! {
        <section class="panel">
            <nav class="crumbs" aria-label="Breadcrumb"><a href="/users">"Users"</a> " › " {name.clone()}</nav>
            <div class="panel-head">
                <h1 data-testid="user-name">{name.clone()}</h1>
                <div class="actions">
                    <a class="button" href=format!("/users?reset={escaped}") data-testid="reset-password">"Reset password"</a>
                    {(!detail.summary.is_self).then(|| view! {
                        <a class="button danger" href=format!("/users?delete={escaped}") data-testid="delete-user">"Delete user"</a>
                    })}
                </div>
            </div>
            <dl class="facts">
                <div><dt>"ARN"</dt><dd><code data-testid="user-arn">{detail.arn.clone()}</code></dd></div>
                <div><dt>"Created at"</dt><dd>{detail.summary.created_at.clone()}</dd></div>
            </dl>
            <h2 id="policies-title">"Permissions policies"</h2>
            <Policies name=name.clone() documents=detail.documents.clone() actions/>
            <h2 id="keys-title">"Access keys"</h2>
            <p class="help">
                "Programs such as the AWS CLI, the SDKs and Terraform sign requests with an access key; "
                <code>"docker login"</code> " accepts the key id as user name and the secret as password."
            </p>
            {fresh.map(|key| view! { <NewKeyNotice key/> })}
            {move || revoked().map(|id| view! {
                <p class="notice success" role="status" data-testid="key-revoked">
                    {format!("Revoked the access key {id}. Requests signed with it are refused from now on.")}
                </p>
            })}
            <AccessKeys name detail actions/>
        </section>
    }
}

#[component]
fn Policies(
    name: String,
    documents: Vec<(AttachedPolicy, String)>,
    actions: Actions,
) -> impl IntoView {
    let attach_error = field_error(actions.attach, "policy");
    let attach_other = form_error(actions.attach);
    let detach_other = form_error(actions.detach);
    let attached: Vec<String> = documents.iter().map(|(p, _)| p.name.clone()).collect();
    let available: Vec<&str> = MANAGED_POLICIES
        .iter()
        .copied()
        .filter(|p| !attached.iter().any(|a| a == p))
        .collect();
    let rows = documents
        .into_iter()
        .map(|(policy, document)| {
            let kind = if policy.inline { "Inline" } else { "Managed" };
            let label = format!("Detach {}", policy.name);
            let (user, policy_name) = (name.clone(), policy.name.clone());
            view! {
                <tr data-testid="policy-row">
                    <td>
                        <details class="policy">
                            <summary><code>{policy.name.clone()}</code></summary>
                            <pre>{document}</pre>
                        </details>
                        <span class="help">{managed_policy_summary(&policy.name)}</span>
                    </td>
                    <td>{kind}</td>
                    <td class="row-actions">
                        <ActionForm action=actions.detach>
                            <input type="hidden" name="name" value=user.clone()/>
                            <input type="hidden" name="policy" value=policy_name.clone()/>
                            <button type="submit" class="danger" aria-label=label>"Detach"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let table = if attached.is_empty() {
        view! { <p class="empty" data-testid="no-policies">"No policy is attached: this user may do nothing yet."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="data" aria-labelledby="policies-title">
                    <thead><tr><th>"Policy"</th><th>"Type"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let attach_form = (!available.is_empty()).then(move || {
        let options = available
            .iter()
            .map(|p| view! { <option value=*p>{*p}</option> })
            .collect_view();
        view! {
            <ActionForm action=actions.attach attr:class="form inline-form">
                <input type="hidden" name="name" value=name.clone()/>
                <div class="field">
                    <label for="attach-policy">"Attach a managed policy"</label>
                    <select id="attach-policy" name="policy" aria-describedby="attach-error" data-testid="attach-policy">{options}</select>
                </div>
                <button type="submit" data-testid="attach-submit">"Attach"</button>
                <p id="attach-error" class="field-error" role="alert">{attach_error}</p>
            </ActionForm>
        }
    });
    view! {
        {table}
        {move || detach_other().map(|error| view! { <ErrorNotice error/> })}
        {attach_form}
        {move || attach_other().map(|error| view! { <ErrorNotice error/> })}
    }
}

/// The secret of a key just made, shown this once.
#[component]
fn NewKeyNotice(key: NewAccessKey) -> impl IntoView {
    view! {
        <div class="notice success new-key" role="status" data-testid="new-key">
            <p><strong>"Access key created."</strong> " This is the only time the secret access key is shown: copy it now and keep it safe. "
                "You will not see it again; if you lose it, create a new key and revoke this one."</p>
            <dl class="facts">
                <div>
                    <dt>"Access key ID"</dt>
                    <dd><code data-testid="new-key-id">{key.id.clone()}</code> " " <CopyButton text=key.id.clone() label="Copy ID"/></dd>
                </div>
                <div>
                    <dt>"Secret access key"</dt>
                    <dd><code data-testid="new-key-secret">{key.secret.clone()}</code> " " <CopyButton text=key.secret label="Copy secret"/></dd>
                </div>
            </dl>
        </div>
    }
}

#[component]
fn AccessKeys(name: String, detail: UserDetail, actions: Actions) -> impl IntoView {
    let create_other = form_error(actions.create_key);
    let escaped = query_escape(&name);
    let table = if detail.access_keys.is_empty() {
        view! { <p class="empty" data-testid="no-keys">"No access keys."</p> }.into_any()
    } else {
        let rows = detail
            .access_keys
            .into_iter()
            .map(|key: AccessKeySummary| {
                let revoke = format!("/users/{escaped}?revoke={}", query_escape(&key.id));
                let label = format!("Revoke {}", key.id);
                view! {
                    <tr data-testid="key-row">
                        <td><code data-testid="key-id">{key.id.clone()}</code></td>
                        <td>{key.created_at}</td>
                        <td data-testid="key-last-used">{key.last_used_at.unwrap_or_else(|| "Never".into())}</td>
                        <td class="row-actions"><a href=revoke class="danger-link" aria-label=label>"Revoke"</a></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table class="data" aria-labelledby="keys-title">
                    <thead><tr><th>"Access key ID"</th><th>"Created at"</th><th>"Last used"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        {table}
        {move || create_other().map(|error| view! { <ErrorNotice error/> })}
        <ActionForm action=actions.create_key attr:class="table-actions">
            <input type="hidden" name="name" value=name.clone()/>
            <button type="submit" class="primary" data-testid="create-key" disabled=move || actions.create_key.pending().get()>
                "Create access key"
            </button>
        </ActionForm>
    }
}

/// Confirms revoking access key `id` of `name`.
#[component]
fn RevokeDialog(name: String, id: String, action: ServerAction<DeleteAccessKey>) -> impl IntoView {
    on_cleanup(move || action.clear());
    let other_error = form_error(action);
    let close = format!("/users/{}", query_escape(&name));
    view! {
        <div class="overlay">
            <div class="dialog narrow" role="dialog" aria-modal="true" aria-labelledby="revoke-title" data-testid="revoke-dialog">
                <div class="dialog-head">
                    <h2 id="revoke-title">"Revoke access key"</h2>
                    <a class="close" href=close.clone() aria-label="Close">"×"</a>
                </div>
                <p>"Revoke " <code>{id.clone()}</code> " of " {name.clone()} "? Programs that sign requests with it stop working at once. This cannot be undone."</p>
                <ActionForm action=action attr:class="form">
                    <input type="hidden" name="name" value=name.clone()/>
                    <input type="hidden" name="id" value=id.clone()/>
                    {move || other_error().map(|error| view! { <ErrorNotice error/> })}
                    <div class="buttons">
                        <a class="button" href=close.clone()>"Cancel"</a>
                        <button type="submit" class="danger" autofocus data-testid="confirm-revoke">"Revoke"</button>
                    </div>
                </ActionForm>
            </div>
        </div>
    }
}
