//! The lifecycle-policy tab: the rules of the policy being edited, a rule
//! builder, a dry run computed in the browser as you type (the shared
//! evaluator) and confirmed by the server's preview, applying the policy,
//! running it now, and the history of expirations.

use super::api::lifecycle::{
    dry_run, load_lifecycle, DecisionRow, LifecycleState, RunLifecycle, SaveLifecycle,
    TestLifecycle,
};
use super::widgets::{field_error, form_error, short_digest, textarea_text, ErrorNotice};
use crate::lifecycle::{self, CountType, Rule, TagStatus};
use leptos::prelude::*;

/// The tab: loads the state, then the editor.
#[component]
pub fn LifecycleTab(name: String) -> impl IntoView {
    let save = ServerAction::<SaveLifecycle>::new();
    let run = ServerAction::<RunLifecycle>::new();
    let state = {
        let name = name.clone();
        Resource::new(
            move || (name.clone(), save.version().get(), run.version().get()),
            |(name, _, _)| load_lifecycle(name),
        )
    };
    view! {
        <Transition fallback=|| view! { <p class="empty">"Loading the lifecycle policy…"</p> }>
            {move || {
                let name = name.clone();
                Suspend::new(async move {
                    match state.await {
                        Ok(state) => view! { <LifecycleEditor name state save run/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// How a rule selects, in words.
fn describe_rule(rule: &Rule) -> (String, String) {
    let s = &rule.selection;
    let status = match s.tag_status {
        TagStatus::Tagged => match (&s.tag_pattern_list, &s.tag_prefix_list) {
            (Some(patterns), _) => format!("Tagged, matching {}", patterns.join(", ")),
            (_, Some(prefixes)) => format!("Tagged, prefixed {}", prefixes.join(", ")),
            _ => "Tagged".to_owned(),
        },
        TagStatus::Untagged => "Untagged".to_owned(),
        TagStatus::Any => "Any".to_owned(),
    };
    let criteria = match s.count_type {
        CountType::ImageCountMoreThan => format!("Image count more than {}", s.count_number),
        _ => format!(
            "{} more than {} days",
            s.count_type.as_str(),
            s.count_number
        ),
    };
    (status, criteria)
}

#[component]
fn LifecycleEditor(
    name: String,
    state: LifecycleState,
    save: ServerAction<SaveLifecycle>,
    run: ServerAction<RunLifecycle>,
) -> impl IntoView {
    let test = ServerAction::<TestLifecycle>::new();
    let initial = state
        .preview_policy
        .clone()
        .or_else(|| state.policy.clone())
        .unwrap_or_default();
    let text = RwSignal::new(initial.clone());
    // A test run may have added a rule: its policy becomes the one edited.
    Effect::new(move |_| {
        if let Some(Ok(result)) = test.value().get() {
            text.set(result.policy);
        }
    });
    let images = StoredValue::new(state.images.clone());
    let now_ms = state.now_ms;
    let live = Memo::new(move |_| {
        let text = text.get();
        if text.trim().is_empty() {
            return None;
        }
        Some(images.with_value(|images| dry_run(&text, images, now_ms)))
    });
    let rules = move || {
        lifecycle::parse_document(&text.get())
            .map(|p| {
                let mut rules = p.rules;
                rules.sort_by_key(|r| r.rule_priority);
                rules
            })
            .unwrap_or_default()
    };
    let policy_error = field_error(test, "policy");
    let save_policy_error = field_error(save, "policy");
    let test_error = form_error(test);
    let save_error = form_error(save);
    let run_error = form_error(run);
    let saved = state.policy.clone();
    let next_priority = move || {
        rules()
            .iter()
            .map(|r| r.rule_priority)
            .max()
            .unwrap_or(0)
            .saturating_add(1)
            .to_string()
    };
    let image_count = state.images.len();
    let (name_test, name_save, name_run) = (name.clone(), name.clone(), name.clone());
    view! {
        <div class="lifecycle">
            <p class="help">
                {match &saved {
                    Some(_) => format!(
                        "A lifecycle policy is saved{}.",
                        state.evaluated_at.as_ref().map(|t| format!("; last applied {t}")).unwrap_or_default()
                    ),
                    None => "No lifecycle policy is saved for this repository yet.".to_owned(),
                }}
                {format!(" The repository has {image_count} images.")}
            </p>

            <h2>"Rules"</h2>
            {move || {
                let rules = rules();
                if rules.is_empty() {
                    return view! { <p class="empty" data-testid="no-rules">"No rules yet: add one below."</p> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table class="data" data-testid="rules">
                            <thead><tr><th>"Priority"</th><th>"Description"</th><th>"Image status"</th><th>"Match criteria"</th><th>"Action"</th></tr></thead>
                            <tbody>
                                {rules.iter().map(|rule| {
                                    let (status, criteria) = describe_rule(rule);
                                    view! {
                                        <tr>
                                            <td>{rule.rule_priority}</td>
                                            <td>{rule.description.clone().unwrap_or_default()}</td>
                                            <td>{status}</td>
                                            <td>{criteria}</td>
                                            <td>"Expire"</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}

            <RuleBuilder name text test next_priority=Signal::derive(next_priority)/>

            <h2>"Policy"</h2>
            <ActionForm action=test attr:class="form" attr:data-testid="policy-form">
                <input type="hidden" name="name" value=name_test/>
                <div class="field">
                    <label for="policy">"Lifecycle policy JSON"</label>
                    <textarea
                        id="policy"
                        name="policy"
                        rows="10"
                        spellcheck="false"
                        class="code"
                        data-testid="policy-text"
                        aria-describedby="policy-error"
                        prop:value=move || text.get()
                        on:input=move |ev| text.set(event_target_value(&ev))
                    >
                        {textarea_text(&initial)}
                    </textarea>
                    <p id="policy-error" class="field-error" role="alert" data-testid="policy-error">
                        {move || policy_error().or_else(save_policy_error)}
                    </p>
                </div>
                {move || test_error().map(|error| view! { <ErrorNotice error/> })}
                <div class="buttons">
                    <button type="submit" class="primary" data-testid="run-test" disabled=move || test.pending().get()>
                        {move || if test.pending().get() { "Running test…" } else { "Save and run test" }}
                    </button>
                </div>
            </ActionForm>

            <h2>"Dry run"</h2>
            <p class="help">"What this policy would do now. Computed in your browser as you edit, with the evaluator the server runs; \"Save and run test\" asks the server to confirm it."</p>
            {move || match live.get() {
                None => view! { <p class="empty">"Write or build a policy to see which images it would expire."</p> }.into_any(),
                Some(Err(message)) => view! { <p class="notice error" role="alert" data-testid="live-error">{message}</p> }.into_any(),
                Some(Ok(rows)) => view! { <DecisionTable rows testid="live-results"/> }.into_any(),
            }}
            {move || match test.value().get() {
                Some(Ok(result)) => {
                    let expiring = result.rows.iter().filter(|r| r.expire).count();
                    let agrees = live.get().and_then(Result::ok).is_some_and(|rows| rows == result.rows);
                    Some(view! {
                        <div class="server-preview" data-testid="server-preview">
                            <h3>"Confirmed by the server's preview"</h3>
                            <p class="notice success" role="status" data-testid="server-summary">
                                {format!("The server's preview: {expiring} of {} images would expire.", result.rows.len())}
                                {if agrees { " It agrees with the dry run above." } else { "" }}
                            </p>
                            <DecisionTable rows=result.rows testid="server-results"/>
                        </div>
                    })
                }
                _ => None,
            }}

            <h2>"Apply"</h2>
            <div class="apply">
                <ActionForm action=save attr:class="inline">
                    <input type="hidden" name="name" value=name_save/>
                    <input type="hidden" name="policy" value=move || text.get()/>
                    <button type="submit" class="primary" data-testid="apply-policy">"Apply as lifecycle policy"</button>
                </ActionForm>
                <ActionForm action=run attr:class="inline">
                    <input type="hidden" name="name" value=name_run/>
                    <button type="submit" data-testid="run-now" disabled=move || run.pending().get()>
                        {move || if run.pending().get() { "Running…" } else { "Run now" }}
                    </button>
                </ActionForm>
            </div>
            {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! {
                <p class="notice success" role="status" data-testid="applied">
                    "Saved as this repository's lifecycle policy. It is applied shortly, then at every scheduled run; \"Run now\" applies it at once."
                </p>
            })}
            {move || save_error().map(|error| view! { <ErrorNotice error/> })}
            {move || match run.value().get() {
                Some(Ok(n)) => Some(view! { <p class="notice success" role="status" data-testid="ran">{format!("The lifecycle policy expired {n} images.")}</p> }.into_any()),
                _ => run_error().map(|error| view! { <ErrorNotice error/> }.into_any()),
            }}

            <h2>"History"</h2>
            <History list=state.history/>
        </div>
    }
}

#[component]
fn RuleBuilder(
    name: String,
    text: RwSignal<String>,
    test: ServerAction<TestLifecycle>,
    next_priority: Signal<String>,
) -> impl IntoView {
    let priority_error = field_error(test, "rule_priority");
    let tags_error = field_error(test, "rule_tags");
    let count_error = field_error(test, "rule_count");
    let (status, set_status) = signal("tagged-wildcard".to_owned());
    let tagged = move || status.get().starts_with("tagged");
    view! {
        <details class="builder" open>
            <summary>"Add a rule"</summary>
            <ActionForm action=test attr:class="form" attr:data-testid="rule-form">
                <input type="hidden" name="name" value=name/>
                <input type="hidden" name="policy" value=move || text.get()/>
                <input type="hidden" name="add" value="1"/>
                <div class="grid">
                    <div class="field">
                        <label for="rule_priority">"Rule priority"</label>
                        <input id="rule_priority" name="rule_priority" inputmode="numeric" value=move || next_priority.get() aria-describedby="rule-priority-error"/>
                        <p id="rule-priority-error" class="field-error" role="alert">{priority_error}</p>
                    </div>
                    <div class="field">
                        <label for="rule_description">"Rule description"</label>
                        <input id="rule_description" name="rule_description"/>
                    </div>
                    <div class="field">
                        <label for="rule_status">"Image status"</label>
                        <select id="rule_status" name="rule_status" on:change=move |ev| set_status.set(event_target_value(&ev))>
                            <option value="tagged-wildcard">"Tagged (wildcard matching)"</option>
                            <option value="tagged-prefix">"Tagged (prefix matching)"</option>
                            <option value="untagged">"Untagged"</option>
                            <option value="any">"Any"</option>
                        </select>
                    </div>
                    <div class="field" class:dimmed=move || !tagged()>
                        <label for="rule_tags">"Tag patterns or prefixes"</label>
                        <input id="rule_tags" name="rule_tags" placeholder="prod*, release-*" aria-describedby="rule-tags-error"/>
                        <p id="rule-tags-error" class="field-error" role="alert">{tags_error}</p>
                    </div>
                    <div class="field">
                        <label for="rule_count_type">"Match criteria"</label>
                        <select id="rule_count_type" name="rule_count_type">
                            <option value="imageCountMoreThan">"Image count more than"</option>
                            <option value="sinceImagePushed">"Days since image pushed"</option>
                        </select>
                    </div>
                    <div class="field">
                        <label for="rule_count">"Count"</label>
                        <input id="rule_count" name="rule_count" inputmode="numeric" value="1" aria-describedby="rule-count-error"/>
                        <p id="rule-count-error" class="field-error" role="alert">{count_error}</p>
                    </div>
                </div>
                <p class="help">"Rule action: expire. Each image is acted on by at most one rule: the lowest priority number whose selection matches it."</p>
                <div class="buttons">
                    <button type="submit" data-testid="add-rule">"Add rule and run test"</button>
                </div>
            </ActionForm>
        </details>
    }
}

#[component]
fn DecisionTable(rows: Vec<DecisionRow>, testid: &'static str) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty" data-testid=testid>"The repository has no images."</p> }
            .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data decisions" data-testid=testid>
                <thead><tr><th>"Image"</th><th>"Result"</th><th>"Rule"</th><th>"Why"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let image = if row.tags.is_empty() { short_digest(&row.digest) } else { row.tags.join(", ") };
                        view! {
                            <tr data-testid="decision" data-expire=row.expire.to_string()>
                                <td title=row.digest.clone() data-testid="decision-image">{image}</td>
                                <td>{if row.expire {
                                    view! { <span class="badge expire">"Expire"</span> }.into_any()
                                } else {
                                    view! { <span class="badge keep">"Keep"</span> }.into_any()
                                }}</td>
                                <td data-testid="decision-rule">{row.rule.map(|r| r.to_string()).unwrap_or_else(|| "—".into())}</td>
                                <td>{row.reason}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn History(list: Vec<super::api::lifecycle::Expiration>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty" data-testid="no-history">"No image has expired here yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="history">
                <thead><tr><th>"Expired at"</th><th>"Image"</th><th>"Tags"</th><th>"Rule"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|e| view! {
                        <tr>
                            <td>{e.expired_at}</td>
                            <td><code title=e.digest.clone()>{short_digest(&e.digest)}</code></td>
                            <td>{if e.tags.is_empty() { "untagged".to_owned() } else { e.tags.join(", ") }}</td>
                            <td>{e.rule.map(|r| r.to_string()).unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
