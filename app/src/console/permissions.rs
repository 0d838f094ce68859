//! The repository's Permissions tab, and the policy editor it shares with the
//! registry settings page: the policy as JSON, checked as you type with the
//! parser the server uses, a statement builder, Save and Delete. Without
//! JavaScript, Save and Delete post, and "Add statement" reloads the page
//! with the draft and the builder's fields in the query: the server appends
//! the statement while rendering, with the same code the browser runs.

use super::api::policies::{load_policy, DeletePolicy, PolicyTarget, PolicyView, SavePolicy};
use super::policy_draft::{
    append_statement, check_draft, size_counter, StatementDraft, COMMON_ACTIONS,
};
use super::widgets::{field_error, form_error, textarea_text, ErrorNotice};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

/// How many times an action has succeeded (changes only on success), to
/// reload what it changed without losing a draft the server refused.
pub fn successes<S>(action: ServerAction<S>) -> Memo<u32>
where
    S: ServerFn<Error = super::ConsoleError> + Send + Sync + Clone + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Memo::new(move |previous: Option<&u32>| {
        let ok = action.value().with(|v| matches!(v, Some(Ok(_))));
        previous.copied().unwrap_or(0) + u32::from(ok)
    })
}

/// The Permissions tab of a repository's page.
#[component]
pub fn PermissionsTab(name: String) -> impl IntoView {
    let page = format!("/repositories/{name}");
    view! {
        <PolicySection target=PolicyTarget::Repository(name) page keep=Some(("tab", "permissions"))/>
    }
}

/// A policy's editor with its loading and error states. `page` is the path of
/// the page it sits on and `keep` a query parameter that page needs, for the
/// builder's reload without JavaScript.
#[component]
pub fn PolicySection(
    target: PolicyTarget,
    page: String,
    keep: Option<(&'static str, &'static str)>,
) -> impl IntoView {
    let save = ServerAction::<SavePolicy>::new();
    let delete = ServerAction::<DeletePolicy>::new();
    let (saved, deleted) = (successes(save), successes(delete));
    let policy = {
        let target = target.clone();
        Resource::new(
            move || (target.clone(), saved.get(), deleted.get()),
            |(target, _, _)| load_policy(target.scope().to_owned(), Some(target.name())),
        )
    };
    // A builder reload's draft applies until the first save or delete; then
    // the stored policy shows. (Rendering may run more than once, so this is
    // decided from state, not by consuming the draft.)
    let url = StoredValue::new(use_query_map().get_untracked());
    // What the last finished action did; each effect follows one action, so
    // the later of a save and a delete decides. Without JavaScript the page
    // reloads and shows the stored policy instead.
    let notice = RwSignal::new(None::<&'static str>);
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => notice.set(Some("Policy saved.")),
        Some(Err(_)) => notice.set(None),
        None => {}
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => notice.set(Some("Policy deleted.")),
        Some(Err(_)) => notice.set(None),
        None => {}
    });
    view! {
        <Transition fallback=|| view! { <p class="empty">"Loading the policy…"</p> }>
            {move || {
                let (target, page) = (target.clone(), page.clone());
                Suspend::new(async move {
                    match policy.await {
                        Ok(stored) => {
                            let fresh = saved.get_untracked() + deleted.get_untracked() == 0;
                            let draft = fresh.then(|| url.with_value(UrlDraft::read)).flatten();
                            view! { <PolicyEditor target stored page keep draft save delete/> }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })
            }}
        </Transition>
        {move || notice.get().map(|text| view! { <p class="notice success" role="status" data-testid="policy-notice">{text}</p> })}
    }
}

/// The draft and builder fields of an "Add statement" reload.
#[derive(Debug, Clone)]
struct UrlDraft {
    policy: String,
    builder: StatementDraft,
}

impl UrlDraft {
    fn read(query: &leptos_router::params::ParamsMap) -> Option<Self> {
        query.get("add")?;
        Some(Self {
            policy: query.get("policy").unwrap_or_default(),
            builder: StatementDraft {
                sid: query.get("sid").unwrap_or_default(),
                effect: query.get("effect").unwrap_or_else(|| "Allow".into()),
                principal: query.get("principal").unwrap_or_default(),
                actions: query.get_all("actions").unwrap_or_default(),
            },
        })
    }
}

fn fresh_builder() -> StatementDraft {
    StatementDraft {
        effect: "Allow".into(),
        ..StatementDraft::default()
    }
}

#[component]
fn PolicyEditor(
    target: PolicyTarget,
    stored: PolicyView,
    page: String,
    keep: Option<(&'static str, &'static str)>,
    draft: Option<UrlDraft>,
    save: ServerAction<SavePolicy>,
    delete: ServerAction<DeletePolicy>,
) -> impl IntoView {
    let registry_id = stored.registry_id.clone();
    let has_policy = stored.text.is_some();
    // Where the editor starts: the stored policy, or a reload's draft with
    // the statement appended (or, if it cannot be, the builder's error).
    let (start_text, start_builder, start_error) = match draft {
        Some(UrlDraft { policy, builder }) => {
            match append_statement(&policy, &builder, &registry_id) {
                Ok(text) => (text, fresh_builder(), None),
                Err(error) => (policy, builder, Some(error)),
            }
        }
        None => (
            stored.text.clone().unwrap_or_default(),
            fresh_builder(),
            None,
        ),
    };
    let edited = start_error.is_none() && start_text != stored.text.clone().unwrap_or_default();
    let text = RwSignal::new(start_text.clone());
    let touched = RwSignal::new(edited);
    let builder = RwSignal::new(start_builder.clone());
    let builder_error = RwSignal::new(start_error);
    let saved_error = field_error(save, "policy");
    let save_other = form_error(save);
    let delete_error = form_error(delete);
    let policy_error = move || {
        if let Some(error) = builder_error.get().filter(|e| e.field == "policy") {
            return Some(error.message);
        }
        if touched.get() {
            check_draft(&text.get())
        } else {
            saved_error()
        }
    };
    let builder_message = move |field: &'static str| {
        move || {
            builder_error
                .get()
                .filter(|e| e.field == field)
                .map(|e| e.message)
        }
    };
    let add = {
        let registry_id = registry_id.clone();
        move |ev: leptos::ev::MouseEvent| {
            // Hydrated: append here; the click would otherwise reload the page.
            ev.prevent_default();
            match append_statement(
                &text.get_untracked(),
                &builder.get_untracked(),
                &registry_id,
            ) {
                Ok(new) => {
                    text.set(new);
                    touched.set(true);
                    builder.set(fresh_builder());
                    builder_error.set(None);
                }
                Err(error) => builder_error.set(Some(error)),
            }
        }
    };
    let action_boxes = COMMON_ACTIONS
        .iter()
        .enumerate()
        .map(|(i, action)| {
            let id = format!("action-{i}");
            let initially = start_builder.actions.iter().any(|a| a == action);
            let on = move || builder.with(|b| b.actions.iter().any(|a| a == action));
            let toggle = move |ev: leptos::ev::Event| {
                let checked = event_target_checked(&ev);
                builder.update(|b| {
                    b.actions.retain(|a| a != action);
                    if checked {
                        b.actions.push((*action).to_owned());
                    }
                });
            };
            view! {
                <div class="field checkbox">
                    <input type="checkbox" id=id.clone() name="actions" value=*action checked=initially prop:checked=on on:change=toggle/>
                    <label for=id><code>{*action}</code></label>
                </div>
            }
        })
        .collect_view();
    let effect_radio = move |value: &'static str| {
        let id = format!("effect-{}", value.to_lowercase());
        view! {
            <div class="radio">
                <input type="radio" id=id.clone() name="effect" value=value
                    checked=start_builder.effect == value
                    prop:checked=move || builder.with(|b| b.effect == value)
                    on:change=move |_| builder.update(|b| b.effect = value.to_owned())/>
                <label for=id>{value}</label>
            </div>
        }
    };
    let (keep_name, keep_value) = keep.unwrap_or(("", ""));
    let (scope, name) = (target.scope(), target.name());
    let delete_name = name.clone();
    view! {
        <ActionForm action=save attr:class="form policy-editor" attr:data-testid="policy-form">
            <input type="hidden" name="scope" value=scope/>
            <input type="hidden" name="name" value=name.clone()/>
            {keep.map(|_| view! { <input type="hidden" name=keep_name value=keep_value/> })}
            {(!has_policy).then(|| view! {
                <p class="empty" data-testid="no-policy">
                    "No policy is set: only users whose own policies allow an action can perform it. Write one below or build it statement by statement."
                </p>
            })}
            <div class="field">
                <label for="policy">"Policy JSON"</label>
                <textarea id="policy" name="policy" rows="16" spellcheck="false" autocomplete="off" class="code"
                    data-testid="policy-text"
                    aria-describedby="policy-help policy-error"
                    aria-invalid=move || policy_error().is_some().to_string()
                    prop:value=move || text.get()
                    on:input=move |ev| {
                        text.set(event_target_value(&ev));
                        touched.set(true);
                        builder_error.update(|e| if e.as_ref().is_some_and(|e| e.field == "policy") { *e = None });
                    }
                >{textarea_text(&start_text)}</textarea>
                <p id="policy-help" class="help">
                    "IAM policy JSON with a Principal in each statement, as aws ecr set-repository-policy takes it. "
                    {move || size_counter(&text.get())}
                </p>
                <p id="policy-error" class="field-error" role="alert" data-testid="policy-error">{policy_error}</p>
            </div>
            <fieldset class="builder" data-testid="statement-builder">
                <legend>"Add a statement"</legend>
                <div class="builder-grid">
                    <div class="field">
                        <label for="sid">"Sid (optional)"</label>
                        <input id="sid" name="sid" autocomplete="off" value=start_builder.sid.clone()
                            aria-describedby="sid-error"
                            prop:value=move || builder.with(|b| b.sid.clone())
                            on:input=move |ev| builder.update(|b| b.sid = event_target_value(&ev))/>
                        <p id="sid-error" class="field-error" role="alert">{builder_message("sid")}</p>
                    </div>
                    <div class="field" role="radiogroup" aria-labelledby="effect-label">
                        <span class="label" id="effect-label">"Effect"</span>
                        <div class="inline">{effect_radio("Allow")}{effect_radio("Deny")}</div>
                    </div>
                    <div class="field wide">
                        <label for="principal">"Principal"</label>
                        <input id="principal" name="principal" autocomplete="off" value=start_builder.principal.clone()
                            aria-describedby="principal-help principal-error"
                            prop:value=move || builder.with(|b| b.principal.clone())
                            on:input=move |ev| builder.update(|b| b.principal = event_target_value(&ev))/>
                        <p id="principal-help" class="help">
                            {format!("* for everyone, or user names (they become arn:aws:iam::{registry_id}:user/<name>), user ARNs or account ids, separated by commas.")}
                        </p>
                        <p id="principal-error" class="field-error" role="alert">{builder_message("principal")}</p>
                    </div>
                </div>
                <fieldset class="actions-list" aria-describedby="actions-error">
                    <legend>"Actions"</legend>
                    <div class="checks">{action_boxes}</div>
                    <p id="actions-error" class="field-error" role="alert">{builder_message("actions")}</p>
                </fieldset>
                <div class="buttons start">
                    <button type="submit" formaction=page formmethod="get" name="add" value="1"
                        data-testid="add-statement" on:click=add>"Add statement"</button>
                </div>
            </fieldset>
            {move || save_other().map(|error| view! { <ErrorNotice error/> })}
            <div class="buttons">
                <button type="submit" class="primary" data-testid="save-policy" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save policy" }}
                </button>
            </div>
        </ActionForm>
        {has_policy.then(|| view! {
            <ActionForm action=delete attr:class="form delete-policy">
                <input type="hidden" name="scope" value=scope/>
                <input type="hidden" name="name" value=delete_name/>
                {move || delete_error().map(|error| view! { <ErrorNotice error/> })}
                <div class="buttons">
                    <button type="submit" class="danger" data-testid="delete-policy" disabled=move || delete.pending().get()>"Delete policy"</button>
                </div>
            </ActionForm>
        })}
    }
}
