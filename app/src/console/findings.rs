//! An image's scan on its page: status and times, a chart of findings per
//! severity, the findings table (sorted and filtered through the page's URL,
//! so it works before hydration), the SBOM to download, and "Scan now",
//! whose progress the page follows until the scan ends.

use super::api::scans::{
    image_scan, sbom_href, scan_status_text, select_findings, FindingQuery, FindingView,
    ScanReport, StartImageScan, SEVERITIES,
};
use super::widgets::{form_error, query_escape, short_digest, ErrorNotice};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// How often the page asks again while a scan runs.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(1000);

/// The image's scan section.
#[component]
pub fn ScanSection(name: String, digest: String) -> impl IntoView {
    let scan_now = ServerAction::<StartImageScan>::new();
    let tick = RwSignal::new(0u32);
    let key = (name.clone(), digest.clone());
    let scan = Resource::new(
        move || (key.clone(), scan_now.version().get(), tick.get()),
        |((name, digest), _, _)| image_scan(name, digest),
    );
    let error = form_error(scan_now);
    let repository = name.clone();
    view! {
        <section id="findings" aria-labelledby="findings-heading" data-testid="scan-section">
            <h2 id="findings-heading">"Vulnerability scan"</h2>
            <ActionForm action=scan_now attr:class="form inline-form">
                <input type="hidden" name="name" value=name.clone()/>
                <input type="hidden" name="digest" value=digest.clone()/>
                <div class="buttons start">
                    <button type="submit" data-testid="scan-now" disabled=move || scan_now.pending().get()>"Scan now"</button>
                </div>
            </ActionForm>
            {move || error().map(|error| view! { <ErrorNotice error/> })}
            <Transition fallback=|| view! { <p class="empty">"Loading the scan…"</p> }>
                {
                    let name = repository.clone();
                    move || {
                        let name = name.clone();
                        Suspend::new(async move {
                            match scan.await {
                                Ok(scan) => view! { <ScanView name scan tick/> }.into_any(),
                                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                            }
                        })
                    }
                }
            </Transition>
        </section>
    }
}

#[component]
fn ScanView(name: String, scan: ScanReport, tick: RwSignal<u32>) -> impl IntoView {
    if scan.in_progress() {
        // Runs in the browser only: ask again until the scan has ended.
        Effect::new(move |_| set_timeout(move || tick.update(|n| *n += 1), POLL_EVERY));
    }
    let status = scan_status_text(scan.summary.as_ref());
    let complete = scan
        .summary
        .as_ref()
        .is_some_and(|s| s.status == "COMPLETE");
    let sbom = scan.sbom_digest.clone().map(|sbom| {
        let href = sbom_href(&name, &scan.digest);
        let referrer = format!("/image/{name}?digest={}", query_escape(&sbom));
        view! {
            <div><dt>"SBOM"</dt><dd>
                <a href=href download="" data-testid="sbom-download" rel="external">"Download the CycloneDX SBOM"</a>
                " (stored as the referrer " <a href=referrer><code>{short_digest(&sbom)}</code></a> ")"
            </dd></div>
        }
    });
    view! {
        <dl class="facts">
            <div><dt>"Status"</dt><dd data-testid="scan-status-text" role="status">
                {status}
                {scan.in_progress().then(|| view! { " " <progress aria-label="Scan in progress"></progress> })}
            </dd></div>
            <div><dt>"Completed"</dt><dd data-testid="scan-completed">{scan.completed_at.clone().unwrap_or_else(|| "—".into())}</dd></div>
            <div><dt>"Database updated"</dt><dd data-testid="scan-database-updated">{scan.database_updated_at.clone().unwrap_or_else(|| "—".into())}</dd></div>
            {sbom}
        </dl>
        {complete.then(|| view! {
            <SeverityChart findings=scan.findings.clone()/>
            <FindingsTable name=name.clone() digest=scan.digest.clone() findings=scan.findings.clone()/>
        })}
    }
}

/// Findings per severity as bars, with the numbers in text.
#[component]
fn SeverityChart(findings: Vec<FindingView>) -> impl IntoView {
    let counts: Vec<(&str, usize)> = SEVERITIES
        .iter()
        .map(|s| (*s, findings.iter().filter(|f| f.severity == *s).count()))
        .collect();
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    view! {
        <figure class="severity-chart" data-testid="severity-chart">
            <figcaption>{format!("Findings per severity ({} in all)", findings.len())}</figcaption>
            <ul>
                {counts.into_iter().map(|(severity, count)| {
                    let width = format!("width: {}%", count * 100 / max);
                    let class = format!("bar severity-{}", severity.to_lowercase());
                    view! {
                        <li data-testid="severity-bar" data-severity=severity>
                            <span class="label">{severity}</span>
                            <span class="track" aria-hidden="true"><span class=class style=width></span></span>
                            <span class="count">{count}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </figure>
    }
}

#[component]
fn FindingsTable(name: String, digest: String, findings: Vec<FindingView>) -> impl IntoView {
    let query_map = use_query_map();
    let query = query_map.with_untracked(|q| FindingQuery {
        severity: q.get("severity").unwrap_or_default(),
        package: q.get("package").unwrap_or_default(),
        fixable: q.get("fixable").is_some_and(|v| !v.is_empty()),
        sort: q.get("sort").unwrap_or_default(),
    });
    let shown = select_findings(&findings, &query);
    let base = format!("/image/{name}");
    let sort_href = |sort: &str| {
        let mut href = format!(
            "{base}?digest={}&tab=findings&sort={sort}",
            query_escape(&digest)
        );
        if !query.severity.is_empty() {
            href.push_str(&format!("&severity={}", query_escape(&query.severity)));
        }
        if !query.package.is_empty() {
            href.push_str(&format!("&package={}", query_escape(&query.package)));
        }
        if query.fixable {
            href.push_str("&fixable=1");
        }
        href.push_str("#findings");
        href
    };
    let current = if query.sort.is_empty() {
        "severity"
    } else {
        query.sort.as_str()
    };
    let header = |key: &'static str, label: &'static str| {
        let sorted = current == key;
        view! {
            <th aria-sort=if sorted { "ascending" } else { "none" }>
                <a href=sort_href(key) data-testid=format!("sort-{key}")>{label}{sorted.then_some(" ▲")}</a>
            </th>
        }
    };
    let options = SEVERITIES
        .iter()
        .map(|s| view! { <option value=*s selected=query.severity == *s>{*s}</option> })
        .collect_view();
    let total = findings.len();
    let count = shown.len();
    view! {
        <form method="get" action=format!("{base}#findings") class="form filters" data-testid="findings-filter">
            <input type="hidden" name="digest" value=digest.clone()/>
            <input type="hidden" name="tab" value="findings"/>
            <input type="hidden" name="sort" value=query.sort.clone()/>
            <div class="field">
                <label for="finding-severity">"Severity"</label>
                <select id="finding-severity" name="severity" data-testid="filter-severity">
                    <option value="" selected=query.severity.is_empty()>"All"</option>
                    {options}
                </select>
            </div>
            <div class="field">
                <label for="finding-package">"Package name contains"</label>
                <input id="finding-package" name="package" type="search" value=query.package.clone() data-testid="filter-package"/>
            </div>
            <div class="field checkbox">
                <input id="finding-fixable" name="fixable" type="checkbox" value="1" checked=query.fixable data-testid="filter-fixable"/>
                <label for="finding-fixable">"Fix available"</label>
            </div>
            <div class="buttons start"><button type="submit" data-testid="apply-filter">"Filter"</button></div>
        </form>
        <p class="muted" data-testid="findings-count">{format!("Showing {count} of {total} findings.")}</p>
        {if shown.is_empty() {
            view! { <p class="empty" data-testid="no-findings">{if total == 0 { "No vulnerabilities found in the packages this scan recognised." } else { "No finding matches the filter." }}</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table class="data findings" data-testid="findings">
                        <caption class="visually-hidden">"Findings"</caption>
                        <thead><tr>
                            {header("name", "Name")}
                            {header("severity", "Severity")}
                            {header("package", "Package")}
                            <th>"Installed"</th>
                            <th>"Fixed in"</th>
                            <th>"Layer"</th>
                        </tr></thead>
                        <tbody>
                            {shown.into_iter().map(|f| view! { <FindingRow finding=f/> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}

#[component]
fn FindingRow(finding: FindingView) -> impl IntoView {
    let name = match finding.uri.clone() {
        Some(uri) => view! { <a href=uri rel="noreferrer noopener" target="_blank" data-testid="finding-link">{finding.name.clone()}</a> }.into_any(),
        None => view! { <span>{finding.name.clone()}</span> }.into_any(),
    };
    let aliases = finding
        .ids
        .iter()
        .filter(|id| **id != finding.name)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let severity_class = format!("severity severity-{}", finding.severity.to_lowercase());
    let score = finding
        .cvss3_score
        .clone()
        .map(|s| format!(" (CVSS {s})"))
        .unwrap_or_default();
    view! {
        <tr data-testid="finding-row">
            <td data-testid="finding-name">{name}
                {(!aliases.is_empty()).then(|| view! { <br/><span class="muted">{aliases}</span> })}
                <br/><span class="muted">{finding.description.clone()}</span>
            </td>
            <td><span class=severity_class data-testid="finding-severity">{finding.severity.clone()}</span>{score}</td>
            <td><span data-testid="finding-package">{finding.package_name.clone()}</span><br/><span class="muted">{finding.ecosystem.clone()}</span></td>
            <td><code>{finding.package_version.clone()}</code></td>
            <td data-testid="finding-fixed">{match finding.fixed_version.clone() {
                Some(v) => view! { <code>{v}</code> }.into_any(),
                None => view! { <span class="muted">"no fix"</span> }.into_any(),
            }}</td>
            <td><code title=finding.layer.clone()>{short_digest(&finding.layer)}</code><br/><span class="muted">{finding.path.clone()}</span></td>
        </tr>
    }
}
