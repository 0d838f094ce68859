//! The registry settings page, for administrators: the scanning
//! configuration, the vulnerability database (status and "Update now"),
//! managed signing (profiles, rules, the CA certificate), the keys of the
//! key service, the registry
//! policy (the repository editor's twin),
//! create-on-push, and garbage collection with a dry run that deletes nothing.

use super::api::policies::PolicyTarget;
use super::api::settings::{
    load_operations_status, load_scanning_settings, GcDryRun, GcRunReport, OperationsStatus,
    SaveScanningSettings, ScanningSettings, SCAN_FREQUENCIES, SCAN_RULE_SLOTS,
};
use super::permissions::{successes, PolicySection};
use super::widgets::{
    field_error, form_error, human_size, short_digest, textarea_text, ErrorNotice,
};
use super::UserResource;
use leptos::prelude::*;

/// The page; only administrators see its sections.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    view! {
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) if user.is_admin => view! { <Sections/> }.into_any(),
                    Ok(Some(_)) => view! {
                        <section class="panel narrow">
                            <h1>"Registry settings"</h1>
                            <p class="notice error" role="alert">"Only administrators can see and change registry settings."</p>
                        </section>
                    }.into_any(),
                    _ => view! {
                        <section class="panel narrow"><p>"Your session has ended. " <a href="/login?next=/settings">"Sign in"</a></p></section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Sections() -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="scanning-heading">
            <h1>"Registry settings"</h1>
            <h2 id="scanning-heading">"Scanning configuration"</h2>
            <Scanning/>
        </section>
        <section class="panel" aria-labelledby="registry-policy-heading">
            <h2 id="registry-policy-heading">"Registry policy"</h2>
            <p class="help">"Applies to every repository, together with each repository's own policy and each user's policies: an explicit deny wins, then any allow."</p>
            <PolicySection target=PolicyTarget::Registry page="/settings".to_owned() keep=None/>
        </section>
        <super::vulndb::VulnerabilityDatabase/>
        <super::signing::SigningSection/>
        <super::keys::KeysSection/>
        <Operations/>
    }
}

#[component]
fn Scanning() -> impl IntoView {
    let save = ServerAction::<SaveScanningSettings>::new();
    let saved = successes(save);
    let settings = Resource::new(move || saved.get(), |_| load_scanning_settings());
    view! {
        <Transition fallback=|| view! { <p class="empty">"Loading the scanning configuration…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(settings) => view! { <ScanningForm settings save/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ScanningForm(
    settings: ScanningSettings,
    save: ServerAction<SaveScanningSettings>,
) -> impl IntoView {
    let scan_type_error = field_error(save, "scan_type");
    let other_error = form_error(save);
    let enhanced = settings.scan_type == "ENHANCED";
    let rules = (1..=SCAN_RULE_SLOTS)
        .map(|slot| {
            let rule = settings.rules.iter().find(|r| r.slot == slot);
            let frequency = rule.map(|r| r.frequency.clone()).unwrap_or_else(|| "SCAN_ON_PUSH".into());
            let filters = rule.map(|r| r.filters.join("\n")).unwrap_or_default();
            let (frequency_field, filters_field) = match slot {
                1 => ("rule1_frequency", "rule1_filters"),
                _ => ("rule2_frequency", "rule2_filters"),
            };
            let frequency_error = field_error(save, frequency_field);
            let filters_error = field_error(save, filters_field);
            let options = SCAN_FREQUENCIES
                .iter()
                .map(|(value, label)| view! { <option value=*value selected=frequency == *value>{*label}</option> })
                .collect_view();
            view! {
                <fieldset data-testid=format!("scan-rule-{slot}")>
                    <legend>{format!("Rule {slot}")}</legend>
                    <div class="field">
                        <label for=frequency_field>"Scan frequency"</label>
                        <select id=frequency_field name=frequency_field aria-describedby=format!("{frequency_field}-error")>{options}</select>
                        <p id=format!("{frequency_field}-error") class="field-error" role="alert">{frequency_error}</p>
                    </div>
                    <div class="field">
                        <label for=filters_field>"Repository filters"</label>
                        <textarea id=filters_field name=filters_field rows="2" spellcheck="false"
                            aria-describedby=format!("{filters_field}-help {filters_field}-error")>{textarea_text(&filters)}</textarea>
                        <p id=format!("{filters_field}-help") class="help">"Repository name patterns, one per line or comma-separated; * matches any characters (team-a/*). Leave empty for no rule."</p>
                        <p id=format!("{filters_field}-error") class="field-error" role="alert">{filters_error}</p>
                    </div>
                </fieldset>
            }
        })
        .collect_view();
    view! {
        <ActionForm action=save attr:class="form" attr:data-testid="scanning-form">
            <fieldset aria-describedby="scan_type-error">
                <legend>"Scan type"</legend>
                <div class="radio">
                    <input type="radio" id="scan-basic" name="scan_type" value="BASIC" checked=!enhanced/>
                    <label for="scan-basic">"Basic — scan on push or manually; rules choose Scan on push or Manual."</label>
                </div>
                <div class="radio">
                    <input type="radio" id="scan-enhanced" name="scan_type" value="ENHANCED" checked=enhanced/>
                    <label for="scan-enhanced">"Enhanced — scan on push or continuously; rules choose Scan on push or Continuous."</label>
                </div>
                <p id="scan_type-error" class="field-error" role="alert">{scan_type_error}</p>
            </fieldset>
            {rules}
            {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! { <p class="notice success" role="status" data-testid="scanning-saved">"Scanning configuration saved."</p> })}
            {move || other_error().map(|error| view! { <ErrorNotice error/> })}
            <div class="buttons">
                <button type="submit" class="primary" data-testid="save-scanning" disabled=move || save.pending().get()>"Save scanning configuration"</button>
            </div>
        </ActionForm>
    }
}

#[component]
fn Operations() -> impl IntoView {
    let dry_run = ServerAction::<GcDryRun>::new();
    let status = Resource::new(
        move || dry_run.version().get(),
        |_| load_operations_status(),
    );
    view! {
        <Transition fallback=|| view! { <section class="panel"><p class="empty">"Loading…"</p></section> }>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(status) => view! { <OperationsView status dry_run/> }.into_any(),
                    Err(error) => view! { <section class="panel"><ErrorNotice error/></section> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Seconds as people read them: `90 s`, `5 min`, `2 h`, `1 h 30 min`.
pub fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s < 3600 && s % 60 == 0 => format!("{} min", s / 60),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[component]
fn OperationsView(status: OperationsStatus, dry_run: ServerAction<GcDryRun>) -> impl IntoView {
    let error = form_error(dry_run);
    let running = move || dry_run.pending().get();
    let dry = status.last_dry_run.clone();
    view! {
        <section class="panel" aria-labelledby="create-on-push-heading">
            <h2 id="create-on-push-heading">"Create on push"</h2>
            <p data-testid="create-on-push">
                {if status.create_on_push {
                    "On: pushing to a repository that does not exist creates it."
                } else {
                    "Off: a push to a repository that does not exist is refused; create the repository first."
                }}
            </p>
            <p class="help">
                "A start-up setting: restart Berth with " <code>"--create-on-push=true|false"</code> ", the environment variable "
                <code>"BERTH_CREATE_ON_PUSH"</code> " or " <code>"create_on_push"</code> " in the settings file to change it."
            </p>
        </section>
        <section class="panel" aria-labelledby="gc-heading">
            <h2 id="gc-heading">"Garbage collection"</h2>
            <dl class="facts">
                <div><dt>"Runs every"</dt><dd data-testid="gc-interval">{duration(status.gc_interval_seconds)}</dd></div>
                <div><dt>"Grace period"</dt><dd data-testid="gc-grace">{duration(status.gc_grace_seconds)}</dd></div>
            </dl>
            <p class="help">
                "Blobs that no image references and that nobody touched for the grace period are deleted. Change the schedule with "
                <code>"--gc-interval"</code> " / " <code>"BERTH_GC_INTERVAL"</code> " and " <code>"--gc-grace"</code> " / " <code>"BERTH_GC_GRACE"</code> " (seconds)."
            </p>
            <ActionForm action=dry_run attr:class="form inline-form">
                <div class="buttons start">
                    <button type="submit" data-testid="gc-dry-run" disabled=running aria-describedby="gc-dry-run-help">
                        {move || if running() { "Running the dry run…" } else { "Dry run" }}
                    </button>
                    {move || running().then(|| view! {
                        <span role="status" class="progress" data-testid="gc-progress">
                            <progress aria-label="Dry run in progress"></progress>" Looking for garbage; nothing is deleted."
                        </span>
                    })}
                </div>
                <p id="gc-dry-run-help" class="help">"Runs the same code as berth gc --dry-run: it reports what a collection would delete now and deletes nothing."</p>
            </ActionForm>
            {move || error().map(|error| view! { <ErrorNotice error/> })}
            <h3>"Latest dry run"</h3>
            {match dry {
                Some(report) => view! { <GcReportView report testid="gc-dry-run-report"/> }.into_any(),
                None => view! { <p class="empty">"No dry run since the server started."</p> }.into_any(),
            }}
            <h3>"Last collection"</h3>
            {match status.last_run {
                Some(report) => view! { <GcReportView report testid="gc-last-run"/> }.into_any(),
                None => view! { <p class="empty" data-testid="gc-last-run">"No collection has run since the server started; the first runs one interval after start-up."</p> }.into_any(),
            }}
        </section>
        <section class="panel" aria-labelledby="jobs-heading">
            <h2 id="jobs-heading">"Jobs"</h2>
            <p class="help">"Garbage collections and the lifecycle applications a saved policy queues, kept across restarts (also " <code>"berth jobs"</code> ")."</p>
            {if status.jobs.is_empty() {
                view! { <p class="empty" data-testid="jobs-empty">"No job yet."</p> }.into_any()
            } else {
                view! {
                    <table data-testid="jobs">
                        <thead><tr><th>"Job"</th><th>"Kind"</th><th>"Repository"</th><th>"Status"</th><th>"When (UTC)"</th><th>"Summary"</th></tr></thead>
                        <tbody>
                            {status.jobs.into_iter().map(|job| view! {
                                <tr data-testid="job">
                                    <td>{job.id}</td>
                                    <td>{job.kind}</td>
                                    <td>{job.repository.unwrap_or_else(|| "-".into())}</td>
                                    <td data-testid="job-status">{job.status}</td>
                                    <td>{job.when}</td>
                                    <td>{job.summary}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn GcReportView(report: GcRunReport, testid: &'static str) -> impl IntoView {
    let verb = if report.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let more = |shown: usize, total: u64| {
        (total > shown as u64).then(
            || view! { <li class="muted">{format!("… and {} more", total - shown as u64)}</li> },
        )
    };
    let blobs_more = more(report.blobs.len(), report.blob_count);
    let links_more = more(report.links.len(), report.link_count);
    let manifests_more = more(report.manifests.len(), report.manifest_count);
    let blobs = report
        .blobs
        .iter()
        .map(|(digest, size)| view! { <li><code title=digest.clone()>{short_digest(digest)}</code>" — "{human_size(*size)}</li> })
        .collect_view();
    let links = report
        .links
        .iter()
        .map(|e| view! { <li>{e.repository.clone()}" → "<code title=e.digest.clone()>{short_digest(&e.digest)}</code></li> })
        .collect_view();
    let manifests = report
        .manifests
        .iter()
        .map(|e| view! { <li>{e.repository.clone()}" @ "<code title=e.digest.clone()>{short_digest(&e.digest)}</code></li> })
        .collect_view();
    view! {
        <div class="gc-report" data-testid=testid>
            <p>
                <strong data-testid="gc-summary">{format!(
                    "{} {} blob(s), {}; {} stale repository link(s); {} orphaned manifest(s).",
                    if report.dry_run { "Would delete" } else { "Deleted" },
                    report.blob_count,
                    human_size(report.bytes),
                    report.link_count,
                    report.manifest_count
                )}</strong>
                " " <span class="muted">{format!("Finished {}.", report.finished_at)}</span>
            </p>
            {(report.blob_count > 0).then(|| view! { <h4>{format!("Blobs it {verb}")}</h4><ul class="names">{blobs}{blobs_more}</ul> })}
            {(report.link_count > 0).then(|| view! { <h4>"Stale links (repository → blob)"</h4><ul class="names">{links}{links_more}</ul> })}
            {(report.manifest_count > 0).then(|| view! { <h4>"Orphaned manifests (an index's children nothing needs)"</h4><ul class="names">{manifests}{manifests_more}</ul> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(90), "90 s");
        assert_eq!(duration(300), "5 min");
        assert_eq!(duration(3600), "1 h");
        assert_eq!(duration(5400), "1 h 30 min");
        assert_eq!(duration(125), "2 min 5 s");
        assert_eq!(duration(86_400), "24 h");
    }
}
