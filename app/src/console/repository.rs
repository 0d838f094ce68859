//! One repository: its images (filter, select, delete), its settings, and
//! the push-commands dialog.

use super::api::repositories::{
    list_images, repository, DeleteImages, ImageSummary, RepositoryDetail, UpdateRepository,
};
use super::api::scans::scan_status_text;
use super::api::session::load_registry_facts;
use super::create::MutabilityAndScanFields;
use super::lifecycle::LifecycleTab;
use super::push::PushCommandsDialog;
use super::widgets::{
    field_error, form_error, human_size, query_escape, short_digest, CopyButton, ErrorNotice,
};
use super::UserResource;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The tabs of a repository's page.
const TABS: [(&str, &str); 4] = [
    ("images", "Images"),
    ("lifecycle", "Lifecycle policy"),
    ("permissions", "Permissions"),
    ("settings", "Settings"),
];

/// The repository page; the tab is the `tab` query parameter.
#[component]
pub fn RepositoryPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let name = Memo::new(move |_| params.read().get("name").unwrap_or_default());
    let tab = Memo::new(move |_| query.read().get("tab").unwrap_or_else(|| "images".into()));
    let update = ServerAction::<UpdateRepository>::new();
    let detail = Resource::new(
        move || (name.get(), update.version().get()),
        |(name, _)| repository(name),
    );
    let push = move || query.read().get("push").is_some();
    let created = move || query.read().get("created").is_some();
    view! {
        <Transition fallback=|| view! { <p class="empty">"Loading repository…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <RepositoryView detail tab update/> }.into_any(),
                    Err(error) => view! {
                        <section class="panel"><ErrorNotice error/><p><a href="/">"Back to the repositories"</a></p></section>
                    }
                    .into_any(),
                }
            })}
        </Transition>
        {move || created().then(|| view! {
            <p class="notice success floating" role="status" data-testid="created">
                {format!("Created the repository {}.", name.get())}
            </p>
        })}
        {move || push().then(|| view! { <PushCommands name=name.get()/> })}
    }
}

#[component]
fn PushCommands(name: String) -> impl IntoView {
    let facts = Resource::new(|| (), |_| load_registry_facts());
    let user = expect_context::<UserResource>();
    let close = format!("/repositories/{name}");
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (name, close) = (name.clone(), close.clone());
                Suspend::new(async move {
                    let user = user.await.ok().flatten().map(|u| u.name).unwrap_or_default();
                    facts.await.map(|facts| view! {
                        <PushCommandsDialog facts repository=name user close_href=close/>
                    })
                })
            }}
        </Suspense>
    }
}

#[component]
fn RepositoryView(
    detail: RepositoryDetail,
    tab: Memo<String>,
    update: ServerAction<UpdateRepository>,
) -> impl IntoView {
    let name = detail.summary.name.clone();
    let base = format!("/repositories/{name}");
    let uri = detail.summary.uri.clone();
    let tabs = TABS
        .iter()
        .map(|(id, label)| {
            let href = format!("{base}?tab={id}");
            let id = *id;
            view! {
                <a href=href role="tab" class="tab" aria-selected=move || (tab.get() == id).to_string()>{*label}</a>
            }
        })
        .collect_view();
    let images_name = name.clone();
    view! {
        <section class="panel">
            <nav class="crumbs" aria-label="Breadcrumb"><a href="/">"Repositories"</a> " › " {name.clone()}</nav>
            <div class="panel-head">
                <h1 data-testid="repository-name">{name.clone()}</h1>
                <div class="actions">
                    <a class="button" href=format!("{base}?push=1") data-testid="view-push-commands">"View push commands"</a>
                </div>
            </div>
            <dl class="facts">
                <div><dt>"URI"</dt><dd><code data-testid="repository-uri">{uri.clone()}</code> <CopyButton text=uri label="Copy URI"/></dd></div>
                <div><dt>"ARN"</dt><dd><code>{detail.arn.clone()}</code></dd></div>
                <div><dt>"Created at"</dt><dd>{detail.summary.created_at.clone()}</dd></div>
                <div><dt>"Images"</dt><dd>{detail.summary.image_count}</dd></div>
            </dl>
            <div role="tablist" class="tabs" aria-label="Repository">{tabs}</div>
            {move || match tab.get().as_str() {
                "settings" => view! { <SettingsForm detail=detail.clone() update/> }.into_any(),
                "lifecycle" => view! { <LifecycleTab name=images_name.clone()/> }.into_any(),
                "permissions" => view! { <super::permissions::PermissionsTab name=images_name.clone()/> }.into_any(),
                _ => view! { <ImagesTab name=images_name.clone()/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn ImagesTab(name: String) -> impl IntoView {
    let query = use_query_map();
    let status = Memo::new(move |_| query.read().get("status").unwrap_or_else(|| "any".into()));
    let delete = ServerAction::<DeleteImages>::new();
    let images = {
        let name = name.clone();
        Resource::new(
            move || (name.clone(), status.get(), delete.version().get()),
            |(name, status, _)| list_images(name, status),
        )
    };
    let base = format!("/repositories/{name}?tab=images");
    let filters = [("any", "All images"), ("tagged", "Tagged"), ("untagged", "Untagged")]
        .into_iter()
        .map(|(id, label)| {
            let href = format!("{base}&status={id}");
            view! { <a href=href class="chip" aria-current=move || (status.get() == id).then_some("true")>{label}</a> }
        })
        .collect_view();
    let value = delete.value();
    let error = form_error(delete);
    let digests_error = field_error(delete, "digests");
    view! {
        <div class="filters" role="group" aria-label="Show">{filters}</div>
        {move || match value.get() {
            Some(Ok(n)) => Some(view! { <p class="notice success" role="status">{format!("Deleted {n} images.")}</p> }),
            _ => None,
        }}
        {move || error().map(|error| view! { <ErrorNotice error/> })}
        <p class="field-error" role="alert">{digests_error}</p>
        <Transition fallback=|| view! { <p class="empty">"Loading images…"</p> }>
            {move || {
                let name = name.clone();
                Suspend::new(async move {
                    match images.await {
                        Ok(list) => view! { <ImagesTable name list delete/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn ImagesTable(
    name: String,
    list: Vec<ImageSummary>,
    delete: ServerAction<DeleteImages>,
) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p class="empty" data-testid="no-images">
                "No images here yet. Use " <a href=format!("/repositories/{name}?push=1")>"View push commands"</a> " to push one."
            </p>
        }
        .into_any();
    }
    // Keyed by digest: when the list reloads after a delete, a row's
    // checkbox never carries its ticked state over to another image.
    let rows: Vec<(usize, ImageSummary)> = list.into_iter().enumerate().collect();
    let row_name = name.clone();
    let rows = view! {
        <For each=move || rows.clone() key=|(_, image)| image.digest.clone() let:((index, image))>
            <ImageRow index name=row_name.clone() image/>
        </For>
    };
    // And a successful delete clears the selection.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(form)) = (delete.value().get(), form.get_untracked()) {
            form.reset();
        }
    });
    view! {
        <ActionForm action=delete node_ref=form attr:class="selection">
            <input type="hidden" name="name" value=name.clone()/>
            <div class="table-actions">
                <button type="submit" class="danger" data-testid="delete-images">"Delete selected"</button>
            </div>
            <div class="table-wrap">
                <table class="data images">
                    <caption class="visually-hidden">"Images"</caption>
                    <thead>
                        <tr>
                            <th><span class="visually-hidden">"Select"</span></th>
                            <th>"Image tags"</th>
                            <th>"Digest"</th>
                            <th>"Artifact type"</th>
                            <th>"Pushed at"</th>
                            <th>"Last pulled"</th>
                            <th class="num">"Size"</th>
                            <th>"Scan status"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </ActionForm>
    }
    .into_any()
}

#[component]
fn ImageRow(index: usize, name: String, image: ImageSummary) -> impl IntoView {
    let href = format!("/image/{name}?digest={}", query_escape(&image.digest));
    let tags = if image.tags.is_empty() {
        view! { <span class="muted">"untagged"</span> }.into_any()
    } else {
        image
            .tags
            .iter()
            .map(|t| view! { <span class="tag">{t.clone()}</span> })
            .collect_view()
            .into_any()
    };
    let artifact = image
        .artifact_type
        .clone()
        .unwrap_or_else(|| kind_of(&image.media_type).to_owned());
    let digest = image.digest.clone();
    view! {
        <tr data-testid="image-row">
            <td><input type="checkbox" name=format!("digests[{index}]") value=image.digest.clone() aria-label=format!("Select {}", image.digest)/></td>
            <td class="tags" data-testid="image-tags">{tags}</td>
            <td><a href=href title=image.digest.clone()><code>{short_digest(&image.digest)}</code></a> <CopyButton text=digest label="Copy digest"/></td>
            <td>{artifact}</td>
            <td>{image.pushed_at}</td>
            <td>{image.last_pulled_at.unwrap_or_else(|| "—".into())}</td>
            <td class="num">{human_size(image.size)}</td>
            <td data-testid="scan-status">{scan_status_text(image.scan.as_ref())}</td>
        </tr>
    }
}

/// What kind of thing a manifest media type describes.
pub fn kind_of(media_type: &str) -> &'static str {
    if media_type.contains("index") || media_type.contains("manifest.list") {
        "Image index"
    } else {
        "Image"
    }
}

#[component]
fn SettingsForm(detail: RepositoryDetail, update: ServerAction<UpdateRepository>) -> impl IntoView {
    let value = update.value();
    let exclusions_error = field_error(update, "exclusions");
    let other_error = form_error(update);
    let immutable = detail.summary.tag_mutability.starts_with("IMMUTABLE");
    let exclusions = detail.exclusions.join("\n");
    view! {
        <ActionForm action=update attr:class="form" attr:data-testid="settings-form">
            <input type="hidden" name="name" value=detail.summary.name.clone()/>
            <MutabilityAndScanFields immutable exclusions scan_on_push=detail.summary.scan_on_push exclusions_error=Signal::derive(exclusions_error)/>
            <p class="help">{format!("Encryption: {} (set when the repository was created)", detail.summary.encryption_type)}</p>
            {move || matches!(value.get(), Some(Ok(()))).then(|| view! { <p class="notice success" role="status">"Settings saved."</p> })}
            {move || other_error().map(|error| view! { <ErrorNotice error/> })}
            <div class="buttons"><button type="submit" class="primary">"Save"</button></div>
        </ActionForm>
    }
}
