//! The create-repository page: ECR's form, with the name validated as you
//! type (the same rule the server applies) and server errors beside their field.

use super::api::repositories::{describe_name, CreateRepository, NAME_RULE};
use super::api::session::load_registry_facts;
use super::widgets::{field_error, form_error, textarea_text, ErrorNotice};
use leptos::prelude::*;

/// The form.
#[component]
pub fn CreateRepositoryPage() -> impl IntoView {
    let facts = Resource::new(|| (), |_| load_registry_facts());
    let action = ServerAction::<CreateRepository>::new();
    let name_server_error = field_error(action, "name");
    let exclusions_error = field_error(action, "exclusions");
    let kms_error = field_error(action, "kms_key");
    let other_error = form_error(action);
    // What the user has typed, once hydrated; `None` until then.
    let (typed, set_typed) = signal(None::<String>);
    let live = move || typed.get().map(|name| describe_name(&name));
    // Each answer from the server supersedes the live check until the next keystroke.
    Effect::new(move |_| {
        action.version().track();
        set_typed.set(None);
    });
    let (kms, set_kms) = signal(false);
    view! {
        <section class="panel narrow">
            <nav class="crumbs" aria-label="Breadcrumb"><a href="/">"Repositories"</a> " › Create repository"</nav>
            <h1>"Create repository"</h1>
            <ActionForm action=action attr:class="form" attr:data-testid="create-form">
                <fieldset>
                    <legend>"General settings"</legend>
                    <div class="field">
                        <span class="label">"Visibility settings"</span>
                        <div class="radio">
                            <input type="radio" id="private" name="visibility" value="private" checked/>
                            <label for="private">"Private — access is managed by IAM policies and repository policies."</label>
                        </div>
                    </div>
                    <div class="field">
                        <label for="name">"Repository name"</label>
                        <div class="prefixed">
                            <Suspense fallback=|| ()>
                                {move || Suspend::new(async move {
                                    facts.await.map(|f| view! { <span class="prefix" data-testid="name-prefix">{format!("{}/", f.host)}</span> }).ok()
                                })}
                            </Suspense>
                            <input
                                id="name"
                                name="name"
                                required
                                minlength="2"
                                maxlength="256"
                                autocomplete="off"
                                spellcheck="false"
                                data-testid="name"
                                aria-describedby="name-help name-error"
                                aria-invalid=move || {
                                    (name_server_error().is_some() || matches!(live(), Some(Err(_)))).to_string()
                                }
                                on:input=move |ev| set_typed.set(Some(event_target_value(&ev)))
                            />
                        </div>
                        <p id="name-help" class="help" data-testid="name-help">
                            {move || match live() {
                                Some(Ok(counter)) => counter,
                                _ => NAME_RULE.to_string(),
                            }}
                        </p>
                        <p id="name-error" class="field-error" role="alert" data-testid="name-error">
                            {move || match live() {
                                Some(Err(message)) => Some(message),
                                // A new keystroke supersedes the server's verdict on the old name.
                                Some(Ok(_)) => None,
                                None => name_server_error(),
                            }}
                        </p>
                    </div>
                </fieldset>
                <MutabilityAndScanFields immutable=false exclusions=String::new() scan_on_push=false exclusions_error=Signal::derive(exclusions_error)/>
                <fieldset>
                    <legend>"Encryption settings"</legend>
                    <div class="radio">
                        <input type="radio" id="aes256" name="encryption_type" value="AES256" checked on:change=move |_| set_kms.set(false)/>
                        <label for="aes256">"AES-256 — the registry's own key."</label>
                    </div>
                    <div class="radio">
                        <input type="radio" id="kms" name="encryption_type" value="KMS" on:change=move |_| set_kms.set(true)/>
                        <label for="kms">"KMS — a key of Berth's key service that you name (berth kms create-key)."</label>
                    </div>
                    <div class="field" class:dimmed=move || !kms.get()>
                        <label for="kms_key">"KMS key: id, ARN or alias/NAME (none: the default key alias/aws/ecr)"</label>
                        <input id="kms_key" name="kms_key" autocomplete="off" aria-describedby="kms-error"/>
                        <p id="kms-error" class="field-error" role="alert">{kms_error}</p>
                    </div>
                    <p class="help" data-testid="encryption-help">
                        "Berth encrypts every layer and config pushed to this repository before storing it, on disk or in S3: AES-256-GCM in 64 KiB segments, under a data key of the blob's own wrapped by the repository's key (AES-256: the registry's own key; KMS: the key you name). A blob in repositories under two keys is stored once per key. Manifests are metadata in Berth's database and are not encrypted. While the key is disabled or pending deletion, pushes and pulls of this repository's blobs are refused; once it is deleted, what only it protected can never be read again."
                    </p>
                </fieldset>
                {move || other_error().map(|error| view! { <ErrorNotice error/> })}
                <div class="buttons">
                    <a class="button" href="/">"Cancel"</a>
                    <button type="submit" class="primary" data-testid="create-submit" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Creating…" } else { "Create" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

/// The tag-mutability (with exclusion filters) and scan-on-push fieldsets,
/// shared by the create form and the repository's settings.
#[component]
pub fn MutabilityAndScanFields(
    immutable: bool,
    exclusions: String,
    scan_on_push: bool,
    exclusions_error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <fieldset>
            <legend>"Image tag mutability"</legend>
            <div class="radio">
                <input type="radio" id="mutable" name="tag_mutability" value="MUTABLE" checked=!immutable/>
                <label for="mutable">"Mutable — image tags can be overwritten."</label>
            </div>
            <div class="radio">
                <input type="radio" id="immutable" name="tag_mutability" value="IMMUTABLE" checked=immutable data-testid="immutable"/>
                <label for="immutable">"Immutable — a pushed tag cannot be moved to another image."</label>
            </div>
            <div class="field">
                <label for="exclusions">"Exclusion filters (optional)"</label>
                <textarea id="exclusions" name="exclusions" rows="2" aria-describedby="exclusions-help exclusions-error">{textarea_text(&exclusions)}</textarea>
                <p id="exclusions-help" class="help">
                    "Up to 5 tag patterns, comma-separated or one per line, that are exempt from the setting above; '*' matches any characters (e.g. latest, dev-*)."
                </p>
                <p id="exclusions-error" class="field-error" role="alert">{move || exclusions_error.get()}</p>
            </div>
        </fieldset>
        <fieldset>
            <legend>"Image scan settings"</legend>
            <div class="field checkbox">
                <input type="checkbox" id="scan_on_push" name="scan_on_push" value="true" checked=scan_on_push/>
                <label for="scan_on_push">"Scan on push — each image is scanned after it is pushed."</label>
            </div>
            <ScanningScope/>
        </fieldset>
    }
}

/// What a scan does and does not do, in words, wherever scanning is set up
/// (the create-repository form, a repository's settings, registry settings).
#[component]
pub fn ScanningScope() -> impl IntoView {
    view! {
        <div class="help scanning-scope" data-testid="scanning-scope">
            <p>
                "A scan reads the image's layers and lists its packages: OS packages (Debian, Ubuntu, Alpine and the RHEL family: Fedora, RHEL, Rocky, Alma), "
                "Python, npm, Go and Rust binaries (built with cargo auditable) and Java (Maven) packages. "
                "It matches them against the OSV vulnerability database Berth holds, offline: nothing leaves this server at scan time."
            </p>
            <p>
                "It does not look for secrets, malware or misconfiguration, and findings are only as fresh as the database: "
                "update it (registry settings, or berth vulndb update / import) to see newly published vulnerabilities."
            </p>
        </div>
    }
}
