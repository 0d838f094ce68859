//! One image: its tags and facts, layers (or an index's child manifests),
//! its vulnerability scan (findings, SBOM, "Scan now"), its managed signing
//! per signing profile, the images that refer to it (signatures, SBOMs) and
//! the manifest itself.

use super::api::repositories::{image, DescriptorSummary, ImageDetail, ImageSummary};
use super::repository::kind_of;
use super::widgets::{human_size, query_escape, short_digest, CopyButton, ErrorNotice};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The image page: `/image/<repository>?digest=<digest>`.
#[component]
pub fn ImagePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = Memo::new(move |_| {
        (
            params.read().get("name").unwrap_or_default(),
            query.read().get("digest").unwrap_or_default(),
        )
    });
    let detail = Resource::new(move || key.get(), |(name, digest)| image(name, digest));
    view! {
        <section class="panel">
            <Suspense fallback=|| view! { <p class="empty">"Loading image…"</p> }>
                {move || Suspend::new(async move {
                    let (name, _) = key.get_untracked();
                    match detail.await {
                        Ok(detail) => view! { <ImageView name detail/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ImageView(name: String, detail: ImageDetail) -> impl IntoView {
    let image = detail.image.clone();
    let repo_href = format!("/repositories/{name}");
    let title = image
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| short_digest(&image.digest));
    let digest = image.digest.clone();
    view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href="/">"Repositories"</a> " › " <a href=repo_href>{name.clone()}</a> " › " {title.clone()}
        </nav>
        <h1 data-testid="image-title">{title}</h1>
        <dl class="facts">
            <div><dt>"Digest"</dt><dd><code data-testid="image-digest">{digest.clone()}</code> <CopyButton text=digest label="Copy digest"/></dd></div>
            <div><dt>"Tags"</dt><dd>{if image.tags.is_empty() { "untagged".to_string() } else { image.tags.join(", ") }}</dd></div>
            <div><dt>"Type"</dt><dd>{image.artifact_type.clone().unwrap_or_else(|| kind_of(&image.media_type).to_owned())}</dd></div>
            <div><dt>"Media type"</dt><dd><code>{image.media_type.clone()}</code></dd></div>
            <div><dt>"Size"</dt><dd>{human_size(image.size)}</dd></div>
            <div><dt>"Pushed at"</dt><dd>{image.pushed_at.clone()}</dd></div>
            <div><dt>"Last pulled"</dt><dd>{image.last_pulled_at.clone().unwrap_or_else(|| "never".into())}</dd></div>
            {image.subject.clone().map(|subject| {
                let href = format!("/image/{name}?digest={}", query_escape(&subject));
                view! { <div><dt>"Refers to"</dt><dd><a href=href><code>{subject}</code></a></dd></div> }
            })}
        </dl>
        {detail.config.clone().map(|config| view! {
            <h2>"Config"</h2>
            <DescriptorTable list=vec![config] testid="config"/>
        })}
        {(!detail.layers.is_empty()).then(|| view! {
            <h2>{format!("Layers ({})", detail.layers.len())}</h2>
            <DescriptorTable list=detail.layers.clone() testid="layers"/>
        })}
        {(!detail.manifests.is_empty()).then(|| {
            let name = name.clone();
            view! {
                <h2>{format!("Images in this index ({})", detail.manifests.len())}</h2>
                <ChildTable name list=detail.manifests.clone()/>
            }
        })}
        {super::api::scans::is_scannable(&detail.image).then(|| view! {
            <super::findings::ScanSection name=name.clone() digest=detail.image.digest.clone()/>
        })}
        <super::signing::ImageSigning name=name.clone() digest=detail.image.digest.clone()/>
        <h2>"Referrers"</h2>
        <ReferrerTable name=name.clone() list=detail.referrers.clone()/>
        <details class="manifest">
            <summary>"Manifest"</summary>
            <pre data-testid="manifest">{detail.manifest.clone()}</pre>
        </details>
    }
}

#[component]
fn DescriptorTable(list: Vec<DescriptorSummary>, testid: &'static str) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data" data-testid=testid>
                <thead><tr><th>"Digest"</th><th>"Media type"</th><th class="num">"Size"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|d| view! {
                        <tr><td><code title=d.digest.clone()>{short_digest(&d.digest)}</code></td><td><code>{d.media_type}</code></td><td class="num">{human_size(d.size)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ChildTable(name: String, list: Vec<DescriptorSummary>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="children">
                <thead><tr><th>"Platform"</th><th>"Digest"</th><th class="num">"Size"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|d| {
                        let href = format!("/image/{name}?digest={}", query_escape(&d.digest));
                        view! {
                            <tr>
                                <td>{d.platform.unwrap_or_else(|| "—".into())}</td>
                                <td><a href=href><code>{short_digest(&d.digest)}</code></a></td>
                                <td class="num">{human_size(d.size)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ReferrerTable(name: String, list: Vec<ImageSummary>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty" data-testid="no-referrers">"No signatures, SBOMs or other artifacts refer to this image."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="referrers">
                <thead><tr><th>"Artifact type"</th><th>"Digest"</th><th>"Pushed at"</th><th class="num">"Size"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|r| {
                        let href = format!("/image/{name}?digest={}", query_escape(&r.digest));
                        view! {
                            <tr data-testid="referrer-row">
                                <td>{r.artifact_type.unwrap_or_else(|| r.media_type.clone())}</td>
                                <td><a href=href><code>{short_digest(&r.digest)}</code></a></td>
                                <td>{r.pushed_at}</td>
                                <td class="num">{human_size(r.size)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
