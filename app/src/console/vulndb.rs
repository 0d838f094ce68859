//! The vulnerability database section of registry settings: each source's
//! status, and "Update now", whose progress the page follows until it ends.

use super::api::vulndb::{load_vulndb_status, UpdateVulndb, VulndbSource, VulndbStatus};
use super::create::ScanningScope;
use super::settings::duration;
use super::widgets::{field_error, form_error, ErrorNotice};
use leptos::prelude::*;

/// How often the page asks again while an update runs.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(1000);

/// The section: status, "Update now", and what scanning does.
#[component]
pub fn VulnerabilityDatabase() -> impl IntoView {
    let update = ServerAction::<UpdateVulndb>::new();
    let tick = RwSignal::new(0u32);
    let status = Resource::new(
        move || (update.version().get(), tick.get()),
        |_| load_vulndb_status(),
    );
    view! {
        <section class="panel" aria-labelledby="vulndb-heading">
            <h2 id="vulndb-heading">"Vulnerability database"</h2>
            <ScanningScope/>
            <Transition fallback=|| view! { <p class="empty">"Loading the vulnerability database's status…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(status) => view! { <VulndbView status update tick/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn VulndbView(
    status: VulndbStatus,
    update: ServerAction<UpdateVulndb>,
    tick: RwSignal<u32>,
) -> impl IntoView {
    let updating = status.updating();
    if updating {
        // Runs in the browser only: ask again until the update has ended.
        Effect::new(move |_| set_timeout(move || tick.update(|n| *n += 1), POLL_EVERY));
    }
    let update_error = field_error(update, "update");
    let other_error = form_error(update);
    let configured = status.sources.iter().any(|s| s.configured);
    let schedule = match status.interval_seconds {
        Some(every) if configured => format!("Berth downloads the configured sources every {}.", duration(every)),
        Some(_) => "No sources are configured (vulndb_sources), so nothing is downloaded: import exports with berth vulndb import.".to_owned(),
        None => "Periodic updates are off (vulndb_interval 0): update by hand here, with berth vulndb update, or import exports with berth vulndb import.".to_owned(),
    };
    let run = status.run.clone().map(|run| {
        let results = run
            .results
            .iter()
            .map(|r| {
                let class = if r.ok { "ok" } else { "error" };
                view! { <li class=class data-testid="vulndb-result"><code>{r.source.clone()}</code>": "{r.text.clone()}</li> }
            })
            .collect_view();
        match run.finished_at.clone() {
            None => view! {
                <p role="status" class="progress" data-testid="vulndb-progress">
                    <progress aria-label="Update in progress"></progress>
                    {format!(" Updating since {} (started by {}): downloading and importing each source; the records in service stay until each import completes.", run.started_at, run.started_by)}
                </p>
            }
            .into_any(),
            Some(finished) => view! {
                <div role="status" data-testid="vulndb-run">
                    <p>{format!("Last update from the console: started {} by {}, finished {}.", run.started_at, run.started_by, finished)}</p>
                    <ul class="names">{results}</ul>
                </div>
            }
            .into_any(),
        }
    });
    view! {
        <dl class="facts">
            <div><dt>"Records last changed"</dt><dd data-testid="vulndb-updated">{status.updated_at.clone().unwrap_or_else(|| "never: the database is empty, so scans find nothing".into())}</dd></div>
        </dl>
        <p class="help" data-testid="vulndb-schedule">{schedule}</p>
        <SourceTable sources=status.sources.clone()/>
        <ActionForm action=update attr:class="form inline-form">
            <div class="buttons start">
                <button type="submit" data-testid="vulndb-update" disabled=move || updating || update.pending().get()>
                    {if updating { "Updating…" } else { "Update now" }}
                </button>
            </div>
            <p class="field-error" role="alert" data-testid="vulndb-update-error">{update_error}</p>
        </ActionForm>
        {move || other_error().map(|error| view! { <ErrorNotice error/> })}
        {run}
    }
}

#[component]
fn SourceTable(sources: Vec<VulndbSource>) -> impl IntoView {
    if sources.is_empty() {
        return view! { <p class="empty" data-testid="vulndb-empty">"No sources: none is configured and nothing was imported."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="vulndb-sources">
                <thead><tr>
                    <th>"Source"</th><th>"Last update (UTC)"</th><th>"Last checked (UTC)"</th>
                    <th class="num">"Records"</th><th class="num">"Skipped"</th><th>"Last error"</th>
                </tr></thead>
                <tbody>
                    {sources.into_iter().map(|s| {
                        let kind = if s.configured { "configured" } else { "imported by hand" };
                        let reasons = s.skipped_reasons.join("\n");
                        view! {
                            <tr data-testid="vulndb-source">
                                <td><code data-testid="vulndb-source-name">{s.name}</code>" " <span class="muted">{format!("({kind})")}</span></td>
                                <td>{s.updated_at.unwrap_or_else(|| "never".into())}</td>
                                <td>{s.checked_at.unwrap_or_else(|| "never".into())}</td>
                                <td class="num" data-testid="vulndb-records">{s.records}</td>
                                <td class="num" title=reasons data-testid="vulndb-skipped">{s.skipped}</td>
                                <td data-testid="vulndb-error">{match s.last_error {
                                    Some(error) => format!("{error} ({})", s.last_error_at.unwrap_or_default()),
                                    None => "none".into(),
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
