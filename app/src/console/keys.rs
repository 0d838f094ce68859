//! The settings page's "Keys" section, for administrators: the keys of
//! Berth's key service (what `berth kms` manages), a form to make one, and
//! for each customer key its actions (enable/disable, yearly rotation,
//! rotate now, schedule a deletion after showing the repositories that name
//! the key, cancel it). Berth's own keys are shown as managed, with none.

use super::api::keys::{load_keys, ChangeKey, CreateKey, KeyChange, KeyView, ScheduleKeyDeletion};
use super::permissions::successes;
use super::widgets::{field_error, form_error, ErrorNotice};
use leptos::prelude::*;

/// The section.
#[component]
pub fn KeysSection() -> impl IntoView {
    let create = ServerAction::<CreateKey>::new();
    let change = ServerAction::<ChangeKey>::new();
    let schedule = ServerAction::<ScheduleKeyDeletion>::new();
    let created = successes(create);
    let changed = successes(change);
    let scheduled = successes(schedule);
    let keys = Resource::new(
        move || (created.get(), changed.get(), scheduled.get()),
        |_| load_keys(),
    );
    let alias_error = field_error(create, "alias");
    let description_error = field_error(create, "description");
    let create_other = form_error(create);
    let change_error = field_error(change, "key");
    let change_other = form_error(change);
    let days_error = field_error(schedule, "days");
    let schedule_other = form_error(schedule);
    view! {
        <section class="panel" aria-labelledby="keys-heading">
            <h2 id="keys-heading">"Keys"</h2>
            <p class="help">
                "Berth's key service stands in for AWS KMS: a repository with KMS encryption names one of these keys (by id, ARN or alias). "
                "Every blob is stored encrypted under a data key of its own that its repository's key wraps (AES256 repositories: the registry key; KMS repositories: the key they name). A key that is disabled or pending deletion refuses the pushes and pulls of its repositories' blobs (manifests are metadata in Berth's database, not encrypted, and stay readable), and is refused as the key of a new repository. The registry key and alias/aws/ecr are Berth's own: they rotate every year and cannot be changed here."
            </p>
            <Transition fallback=|| view! { <p class="empty">"Loading the keys…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(keys) => view! { <KeyTable keys change schedule/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
            <p class="field-error" role="alert" data-testid="key-change-error">{change_error}</p>
            {move || change_other().map(|error| view! { <ErrorNotice error/> })}
            <p class="field-error" role="alert" data-testid="key-days-error">{days_error}</p>
            {move || schedule_other().map(|error| view! { <ErrorNotice error/> })}
            <h3>"New key"</h3>
            <ActionForm action=create attr:class="form inline-form">
                <div class="field">
                    <label for="key-alias">"Alias (optional)"</label>
                    <input id="key-alias" name="alias" maxlength="256" placeholder="alias/team-a" aria-describedby="key-alias-error" data-testid="key-alias"/>
                </div>
                <div class="field">
                    <label for="key-description">"Description"</label>
                    <input id="key-description" name="description" maxlength="8192" aria-describedby="key-description-error" data-testid="key-description"/>
                </div>
                <button type="submit" data-testid="key-create" disabled=move || create.pending().get()>"Create key"</button>
                <p id="key-alias-error" class="field-error" role="alert" data-testid="key-alias-error">{alias_error}</p>
                <p id="key-description-error" class="field-error" role="alert" data-testid="key-description-error">{description_error}</p>
            </ActionForm>
            {move || create_other().map(|error| view! { <ErrorNotice error/> })}
        </section>
    }
}

#[component]
fn KeyTable(
    keys: Vec<KeyView>,
    change: ServerAction<ChangeKey>,
    schedule: ServerAction<ScheduleKeyDeletion>,
) -> impl IntoView {
    if keys.is_empty() {
        return view! { <p class="empty" data-testid="keys-empty">"No keys yet: Berth makes its own on first use, and yours appear here once created."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="keys">
                <thead><tr>
                    <th>"Key"</th><th>"State"</th><th>"Manager"</th><th>"Created (UTC)"</th><th>"Rotation"</th><th>"Deletion (UTC)"</th><th>"Named by"</th>
                    <th><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {keys.into_iter().map(|key| view! { <KeyRow key change schedule/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }.into_any()
}

#[component]
fn KeyRow(
    key: KeyView,
    change: ServerAction<ChangeKey>,
    schedule: ServerAction<ScheduleKeyDeletion>,
) -> impl IntoView {
    let name = key
        .aliases
        .first()
        .cloned()
        .unwrap_or_else(|| key.id.clone());
    let deletion = match (key.state.as_str(), key.deletion_date.clone()) {
        ("Deleted", Some(date)) => format!("Deleted on {date}"),
        (_, Some(date)) => format!("Erased on {date}"),
        _ => "—".to_owned(),
    };
    let named_by = if key.repositories.is_empty() {
        "No repository".to_owned()
    } else {
        key.repositories.join(", ")
    };
    let actions = (!key.managed && key.state != "Deleted").then(|| {
        view! { <KeyActions key=key.clone() name=name.clone() change schedule/> }
    });
    view! {
        <tr data-testid="key" data-key-name=name.clone()>
            <td>
                <code data-testid="key-id">{key.id.clone()}</code>
                {key.aliases.iter().map(|a| view! { <br/><span data-testid="key-alias-name">{a.clone()}</span> }).collect_view()}
                {(!key.description.is_empty()).then(|| view! { <br/><span class="help">{key.description.clone()}</span> })}
            </td>
            <td data-testid="key-state">{state_text(&key.state).to_owned()}</td>
            <td data-testid="key-manager">{key.manager.clone()}</td>
            <td>{key.created_at.clone()}</td>
            <td data-testid="key-rotation">{key.rotation.clone()}</td>
            <td data-testid="key-deletion">{deletion}</td>
            <td data-testid="key-repositories">{named_by}</td>
            <td class="row-actions">
                {match actions {
                    Some(actions) => actions.into_any(),
                    None => view! { <span class="help" data-testid="key-managed">{if key.managed { "Managed by Berth" } else { "Deleted" }}</span> }.into_any(),
                }}
            </td>
        </tr>
    }
}

/// A key's state in words.
fn state_text(state: &str) -> &str {
    match state {
        "PendingDeletion" => "Pending deletion",
        other => other,
    }
}

#[component]
fn KeyActions(
    key: KeyView,
    name: String,
    change: ServerAction<ChangeKey>,
    schedule: ServerAction<ScheduleKeyDeletion>,
) -> impl IntoView {
    let button = |change_to: KeyChange, label: &'static str, danger: bool| {
        let id = key.id.clone();
        let aria = format!("{label} for key {name}");
        let value = format!("{change_to:?}");
        view! {
            <ActionForm action=change>
                <input type="hidden" name="key" value=id/>
                <input type="hidden" name="change" value=value/>
                <button type="submit" class=if danger { "danger" } else { "" } aria-label=aria>{label}</button>
            </ActionForm>
        }
    };
    let mut buttons = Vec::new();
    match key.state.as_str() {
        "Enabled" => {
            buttons.push(button(KeyChange::Disable, "Disable", true));
            if key.rotation_enabled {
                buttons.push(button(
                    KeyChange::RotationOff,
                    "Turn off yearly rotation",
                    false,
                ));
            } else {
                buttons.push(button(
                    KeyChange::RotationOn,
                    "Turn on yearly rotation",
                    false,
                ));
            }
            buttons.push(button(KeyChange::RotateNow, "Rotate now", false));
        }
        "Disabled" => buttons.push(button(KeyChange::Enable, "Enable", false)),
        _ => buttons.push(button(KeyChange::CancelDeletion, "Cancel deletion", false)),
    }
    let deletion = (key.state != "PendingDeletion").then(|| {
        let warning = if key.repositories.is_empty() {
            "No repository names this key.".to_owned()
        } else {
            format!(
                "Repositories that name this key: {}. Their blobs are encrypted under it: from the moment the deletion is scheduled they can be neither pushed nor pulled, and once the key is deleted their images' blobs can never be read again.",
                key.repositories.join(", ")
            )
        };
        let days_id = format!("key-days-{}", key.id);
        let aria = format!("Schedule deletion of key {name}");
        view! {
            <details data-testid="key-schedule-deletion">
                <summary>"Schedule deletion…"</summary>
                <p data-testid="key-deletion-warning">{warning}</p>
                <p class="help">"From now on the key can no longer be named by new repositories, and the deletion can be cancelled; when the waiting period ends, its material and aliases are erased for good and it stays listed as Deleted."</p>
                <ActionForm action=schedule attr:class="form inline-form">
                    <input type="hidden" name="key" value=key.id.clone()/>
                    <div class="field">
                        <label for=days_id.clone()>"Waiting period (days, 7–30)"</label>
                        <input id=days_id name="days" type="number" min="7" max="30" value="30" required data-testid="key-days"/>
                    </div>
                    <button type="submit" class="danger" aria-label=aria data-testid="key-schedule">"Schedule deletion"</button>
                </ActionForm>
            </details>
        }
    });
    view! { {buttons} {deletion} }
}
