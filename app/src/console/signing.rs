//! Managed signing in the console: the settings page's section for
//! administrators (signing profiles, made and deleted here as with `berth
//! signing-key`; the rules in force, set through the ECR API; the CA
//! certificate's download) and the image page's signing status per profile.

use super::api::signing::{
    load_image_signing, load_signing_overview, signing_status_text, CreateSigningProfile,
    DeleteSigningProfile, ImageSigningView, SigningOverview, CA_PATH,
};
use super::permissions::successes;
use super::widgets::{field_error, form_error, query_escape, short_digest, ErrorNotice};
use super::ConsoleError;
use leptos::prelude::*;

/// The settings page's "Signing" section.
#[component]
pub fn SigningSection() -> impl IntoView {
    let create = ServerAction::<CreateSigningProfile>::new();
    let delete = ServerAction::<DeleteSigningProfile>::new();
    let created = successes(create);
    let deleted = successes(delete);
    let overview = Resource::new(
        move || (created.get(), deleted.get()),
        |_| load_signing_overview(),
    );
    let name_error = field_error(create, "name");
    let create_other = form_error(create);
    let delete_error = field_error(delete, "name");
    let delete_other = form_error(delete);
    view! {
        <section class="panel" aria-labelledby="signing-heading">
            <h2 id="signing-heading">"Signing"</h2>
            <p class="help">
                "Berth signs the images pushed to the repositories a signing rule covers, in the Notary Project format (a JWS signature stored as a referrer of the image), with the rule's signing profile. A profile is an ECDSA P-256 key that Berth keeps sealed, with a code-signing certificate issued by this installation's signing CA. Verifiers trust the CA certificate: "
                <a href=CA_PATH download="berth-signing-ca.pem" data-testid="signing-ca-download">"download the CA certificate"</a>
                "."
            </p>
            <Transition fallback=|| view! { <p class="empty">"Loading the signing profiles…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(overview) => view! { <OverviewView overview delete/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
            <p class="field-error" role="alert" data-testid="signing-delete-error">{delete_error}</p>
            {move || delete_other().map(|error| view! { <ErrorNotice error/> })}
            <ActionForm action=create attr:class="form inline-form">
                <div class="field">
                    <label for="signing-profile-name">"New signing profile"</label>
                    <input id="signing-profile-name" name="name" required minlength="2" maxlength="64" pattern="[A-Za-z0-9_]{2,64}" aria-describedby="signing-name-error" data-testid="signing-profile-name"/>
                </div>
                <button type="submit" data-testid="signing-profile-create" disabled=move || create.pending().get()>"Create signing profile"</button>
                <p id="signing-name-error" class="field-error" role="alert" data-testid="signing-name-error">{name_error}</p>
            </ActionForm>
            {move || create_other().map(|error| view! { <ErrorNotice error/> })}
        </section>
    }
}

#[component]
fn OverviewView(
    overview: SigningOverview,
    delete: ServerAction<DeleteSigningProfile>,
) -> impl IntoView {
    let rules = match overview.rules {
        None => view! { <p class="help" data-testid="signing-rules">"No signing configuration is set, so no image is signed. Set one with aws ecr put-signing-configuration."</p> }.into_any(),
        Some(rules) if rules.is_empty() => view! { <p class="help" data-testid="signing-rules">"The signing configuration has no rules, so no image is signed."</p> }.into_any(),
        Some(rules) => view! {
            <ul class="names" data-testid="signing-rules">
                {rules.into_iter().map(|r| {
                    let scope = if r.filters.is_empty() { "every repository".to_owned() } else { format!("repositories matching {}", r.filters.join(", ")) };
                    view! { <li data-testid="signing-rule">"Signs " {scope} " with " <code>{r.profile_arn}</code></li> }
                }).collect_view()}
            </ul>
        }.into_any(),
    };
    let profiles = if overview.profiles.is_empty() {
        view! { <p class="empty" data-testid="signing-profiles-empty">"No signing profiles yet."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="data" data-testid="signing-profiles">
                    <thead><tr>
                        <th>"Profile"</th><th>"ARN"</th><th>"Created (UTC)"</th><th>"Certificate valid until (UTC)"</th><th>"Certificate SHA-256"</th>
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr></thead>
                    <tbody>
                        {overview.profiles.into_iter().map(|p| {
                            let label = format!("Delete signing profile {}", p.name);
                            view! {
                                <tr data-testid="signing-profile">
                                    <td data-testid="signing-profile-row-name">{p.name.clone()}</td>
                                    <td><code>{p.arn}</code></td>
                                    <td>{p.created_at}</td>
                                    <td>{p.not_after}</td>
                                    <td><code title=p.fingerprint.clone()>{p.fingerprint.chars().take(16).collect::<String>()}"…"</code></td>
                                    <td class="row-actions">
                                        <ActionForm action=delete>
                                            <input type="hidden" name="name" value=p.name/>
                                            <button type="submit" class="danger" aria-label=label>"Delete"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }.into_any()
    };
    view! {
        <h3>"Rules"</h3>
        {rules}
        <h3>"Signing profiles"</h3>
        {profiles}
    }
}

/// The image page's signing status per profile.
#[component]
pub fn ImageSigning(name: String, digest: String) -> impl IntoView {
    let repository = name.clone();
    let statuses = Resource::new(
        move || (name.clone(), digest.clone()),
        |(name, digest)| load_image_signing(name, digest),
    );
    view! {
        <h2>"Signing"</h2>
        <Transition fallback=|| view! { <p class="empty">"Loading the signing status…"</p> }>
            {move || {
                let name = repository.clone();
                Suspend::new(async move {
                match statuses.await {
                    Ok(list) => view! { <StatusList name list/> }.into_any(),
                    // Not an error of the page: this user may see the image
                    // but not its signing status, and the message says why.
                    Err(ConsoleError::Forbidden(why)) => view! { <p class="help" data-testid="image-signing-forbidden">{why}</p> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}}
        </Transition>
    }
}

#[component]
fn StatusList(name: String, list: Vec<ImageSigningView>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty" data-testid="image-signing-none">"Not signed: no signing rule covered this repository when the image was pushed."</p> }.into_any();
    }
    view! {
        <ul class="names" data-testid="image-signing">
            {list.into_iter().map(|s| {
                let text = signing_status_text(&s);
                let signature = s.signature_digest.clone();
                view! {
                    <li data-testid="image-signing-status">
                        <code>{s.profile_arn}</code> ": " {text}
                        {signature.map(|d| {
                            let href = format!("/image/{name}?digest={}", query_escape(&d));
                            view! { " — signature " <a href=href><code>{short_digest(&d)}</code></a> }
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }.into_any()
}
