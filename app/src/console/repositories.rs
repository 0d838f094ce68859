//! The repositories page (search, sort, pages, selection, push commands) and
//! the page that confirms deleting the selected repositories.

use super::api::repositories::{
    list_repositories, DeleteRepositories, RepositoryPage, RepositoryQuery, RepositorySummary,
};
use super::api::session::load_registry_facts;
use super::push::PushCommandsDialog;
use super::widgets::{field_error, form_error, query_escape, CopyButton, ErrorNotice};
use super::UserResource;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

fn query_from(map: &leptos_router::params::ParamsMap) -> RepositoryQuery {
    RepositoryQuery {
        q: map.get("q").unwrap_or_default(),
        sort: map.get("sort").unwrap_or_else(|| "name".into()),
        order: map.get("order").unwrap_or_else(|| "asc".into()),
        page: map.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
    }
}

/// The URL of the list with `query`.
fn list_href(query: &RepositoryQuery) -> String {
    format!(
        "/?q={}&sort={}&order={}&page={}",
        query_escape(&query.q),
        query_escape(&query.sort),
        query_escape(&query.order),
        query.page
    )
}

/// Lists the registry's repositories.
#[component]
pub fn RepositoriesPage() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| query_from(&query_map.read()));
    let repositories = Resource::new(move || query.get(), list_repositories);
    let navigate = use_navigate();
    let on_search = move |ev: leptos::ev::Event| {
        let mut next = query.get_untracked();
        next.q = event_target_value(&ev);
        next.page = 1;
        navigate(
            &list_href(&next),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let deleted = move || query_map.read().get("deleted");
    let push_for = move || {
        let map = query_map.read();
        map.get("push").and_then(|_| map.get("name"))
    };
    view! {
        <section class="panel">
            <div class="panel-head">
                <h1>"Private repositories"</h1>
                <div class="actions">
                    <a class="button primary" href="/create-repository" data-testid="create-repository">
                        "Create repository"
                    </a>
                </div>
            </div>
            {move || deleted().map(|n| view! {
                <p class="notice success" role="status">{format!("Deleted {n} repositories.")}</p>
            })}
            <form method="get" action="/" class="search" role="search">
                <label class="visually-hidden" for="repository-filter">"Find repositories"</label>
                <input
                    id="repository-filter"
                    type="search"
                    name="q"
                    class="filter"
                    placeholder="Find repositories"
                    data-testid="repository-filter"
                    value=move || query.get().q
                    on:input=on_search
                />
                <input type="hidden" name="sort" value=move || query.get().sort/>
                <input type="hidden" name="order" value=move || query.get().order/>
                <noscript><button type="submit">"Search"</button></noscript>
            </form>
            <Transition fallback=|| view! { <p class="empty">"Loading repositories…"</p> }>
                {move || Suspend::new(async move {
                    match repositories.await {
                        Ok(page) => view! { <RepositoryTable page query=query.get_untracked()/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        {move || push_for().map(|name| view! { <PushCommands name/> })}
    }
}

/// The push-commands dialog for `name`, once the installation's facts are in.
#[component]
fn PushCommands(name: String) -> impl IntoView {
    let facts = Resource::new(|| (), |_| load_registry_facts());
    let user = expect_context::<UserResource>();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let name = name.clone();
                Suspend::new(async move {
                    let user = user.await.ok().flatten().map(|u| u.name).unwrap_or_default();
                    match facts.await {
                        Ok(facts) => view! {
                            <PushCommandsDialog facts repository=name user close_href="/".to_string()/>
                        }
                        .into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// A sortable column heading.
fn sort_link(query: &RepositoryQuery, column: &'static str, label: &'static str) -> impl IntoView {
    let active = query.sort == column;
    let descending = active && query.order == "desc";
    let next = RepositoryQuery {
        sort: column.into(),
        order: if active && !descending { "desc" } else { "asc" }.into(),
        page: 1,
        ..query.clone()
    };
    let sorted = match (active, descending) {
        (false, _) => "none",
        (true, false) => "ascending",
        (true, true) => "descending",
    };
    let arrow = match sorted {
        "ascending" => " ▲",
        "descending" => " ▼",
        _ => "",
    };
    view! {
        <th aria-sort=sorted>
            <a href=list_href(&next) data-testid=format!("sort-{column}")>{label}{arrow}</a>
        </th>
    }
}

#[component]
fn RepositoryTable(page: RepositoryPage, query: RepositoryQuery) -> impl IntoView {
    if page.total == 0 {
        let message = if query.q.is_empty() {
            "No repositories yet. Create one, or push an image with docker to create it."
        } else {
            "No repositories match your search."
        };
        return view! { <p class="empty" data-testid="no-repositories">{message}</p> }.into_any();
    }
    let first = (page.page as u64 - 1) * u64::from(super::api::repositories::REPOSITORY_PAGE_SIZE);
    let shown = page.rows.len() as u64;
    let prev = (page.page > 1).then(|| {
        list_href(&RepositoryQuery {
            page: page.page - 1,
            ..query.clone()
        })
    });
    let next = (page.page < page.pages).then(|| {
        list_href(&RepositoryQuery {
            page: page.page + 1,
            ..query.clone()
        })
    });
    view! {
        <p class="count" data-testid="repository-count">
            {format!("{}–{} of {} repositories", first + 1, first + shown, page.total)}
        </p>
        <form method="get" action="/delete-repositories" class="selection">
            <div class="table-actions">
                <button type="submit" formaction="/" name="push" value="1" data-testid="view-push-commands">
                    "View push commands"
                </button>
                <button type="submit" class="danger" data-testid="delete-repositories">"Delete"</button>
            </div>
            <div class="table-wrap">
                <table class="data repositories">
                    <caption class="visually-hidden">"Repositories"</caption>
                    <thead>
                        <tr>
                            <th><span class="visually-hidden">"Select"</span></th>
                            {sort_link(&query, "name", "Repository name")}
                            <th>"URI"</th>
                            {sort_link(&query, "created", "Created at")}
                            <th>"Tag immutability"</th>
                            <th>"Scan on push"</th>
                            <th>"Encryption type"</th>
                            <th class="num">"Images"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.rows.into_iter().map(|repo| view! { <RepositoryRow repo/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </form>
        <nav class="pager" aria-label="Pages">
            {prev.map(|href| view! { <a href=href rel="prev" data-testid="previous-page">"Previous"</a> })}
            <span data-testid="page-number">{format!("Page {} of {}", page.page, page.pages)}</span>
            {next.map(|href| view! { <a href=href rel="next" data-testid="next-page">"Next"</a> })}
        </nav>
    }
    .into_any()
}

#[component]
fn RepositoryRow(repo: RepositorySummary) -> impl IntoView {
    let href = format!("/repositories/{}", repo.name);
    let label = format!("Select {}", repo.name);
    let uri = repo.uri.clone();
    let immutability = if repo.tag_mutability.starts_with("IMMUTABLE") {
        "Enabled"
    } else {
        "Disabled"
    };
    view! {
        <tr data-testid="repository-row">
            <td><input type="checkbox" name="name" value=repo.name.clone() aria-label=label/></td>
            <td class="name"><a href=href>{repo.name}</a></td>
            <td class="uri"><code>{repo.uri}</code> <CopyButton text=uri label="Copy URI"/></td>
            <td>{repo.created_at}</td>
            <td title=repo.tag_mutability.clone()>{immutability}</td>
            <td>{if repo.scan_on_push { "Enabled" } else { "Disabled" }}</td>
            <td>{repo.encryption_type}</td>
            <td class="num">{repo.image_count}</td>
        </tr>
    }
}

/// Confirms deleting the repositories selected on the list.
#[component]
pub fn DeleteRepositoriesPage() -> impl IntoView {
    let query = use_query_map();
    let names = move || query.read().get_all("name").unwrap_or_default();
    let action = ServerAction::<DeleteRepositories>::new();
    let confirm_error = field_error(action, "confirm");
    let names_error = field_error(action, "names");
    let other_error = form_error(action);
    view! {
        <section class="panel narrow">
            <h1>"Delete repositories"</h1>
            {move || {
                let names = names();
                if names.is_empty() {
                    return view! {
                        <p class="empty">"No repository is selected. " <a href="/">"Back to the repositories"</a></p>
                    }
                    .into_any();
                }
                view! {
                    <p>"These repositories and their settings will be deleted. This cannot be undone:"</p>
                    <ul class="names" data-testid="delete-names">
                        {names.iter().map(|n| view! { <li><code>{n.clone()}</code></li> }).collect_view()}
                    </ul>
                    <ActionForm action=action attr:class="form">
                        {names
                            .iter()
                            .enumerate()
                            .map(|(i, n)| view! { <input type="hidden" name=format!("names[{i}]") value=n.clone()/> })
                            .collect_view()}
                        <div class="field checkbox">
                            <input type="checkbox" id="force" name="force" value="true"/>
                            <label for="force">"Also delete the images they contain"</label>
                        </div>
                        <div class="field">
                            <label for="confirm">"To confirm deletion, type " <strong>"delete"</strong> " in the field."</label>
                            <input id="confirm" name="confirm" autocomplete="off" placeholder="delete" aria-describedby="confirm-error"/>
                            <p id="confirm-error" class="field-error" role="alert">{confirm_error}</p>
                        </div>
                        <p class="field-error" role="alert">{names_error}</p>
                        {move || other_error().map(|error| view! { <ErrorNotice error/> })}
                        <div class="buttons">
                            <a class="button" href="/">"Cancel"</a>
                            <button type="submit" class="danger" data-testid="confirm-delete">"Delete"</button>
                        </div>
                    </ActionForm>
                }
                .into_any()
            }}
        </section>
    }
}
