//! The landing page: the repositories table with a filter box that works in
//! the browser once the page is hydrated.

use super::api::{list_repositories, RepositorySummary};
use leptos::prelude::*;

/// Lists the registry's repositories, filtered as the user types.
#[component]
pub fn RepositoriesPage() -> impl IntoView {
    let repositories = Resource::new(|| (), |_| list_repositories());
    let (filter, set_filter) = signal(String::new());
    view! {
        <section class="panel">
            <div class="panel-head">
                <h1>"Private repositories"</h1>
                <input
                    type="search"
                    class="filter"
                    placeholder="Find repositories"
                    aria-label="Find repositories"
                    data-testid="repository-filter"
                    prop:value=filter
                    on:input=move |ev| set_filter.set(event_target_value(&ev))
                />
            </div>
            <Suspense fallback=|| view! { <p class="empty">"Loading repositories…"</p> }>
                {move || Suspend::new(async move {
                    match repositories.await {
                        Ok(list) => view! { <RepositoryTable list filter/> }.into_any(),
                        Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The table itself; rows hide when they do not match the filter.
#[component]
fn RepositoryTable(list: Vec<RepositorySummary>, filter: ReadSignal<String>) -> impl IntoView {
    let total = list.len();
    let names: Vec<String> = list.iter().map(|r| r.name.clone()).collect();
    let shown = move || {
        let needle = filter.get().to_lowercase();
        names.iter().filter(|n| n.contains(&needle)).count()
    };
    if total == 0 {
        return view! {
            <p class="empty" data-testid="no-repositories">
                "No repositories yet. Push an image with docker to create one."
            </p>
        }
        .into_any();
    }
    view! {
        <p class="count" data-testid="repository-count">{move || format!("{} of {total} repositories", shown())}</p>
        <table class="repositories">
            <thead>
                <tr>
                    <th>"Repository name"</th>
                    <th>"URI"</th>
                    <th>"Created at"</th>
                    <th>"Tag immutability"</th>
                    <th>"Images"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|repo| {
                        let name = repo.name.clone();
                        let hidden = move || !name.contains(&filter.get().to_lowercase());
                        view! {
                            <tr data-testid="repository-row" hidden=hidden>
                                <td class="name">{repo.name}</td>
                                <td class="uri"><code>{repo.uri}</code></td>
                                <td>{repo.created_at}</td>
                                <td>{repo.tag_mutability}</td>
                                <td class="num">{repo.image_count}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
