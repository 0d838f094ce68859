//! Small pieces every page uses: copy buttons, error notices, field errors,
//! and formatting of sizes and digests.

use super::api::ConsoleError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// A button that copies `text` to the clipboard once the page is hydrated.
/// Before that (or without JavaScript) the text beside it can be selected.
#[component]
pub fn CopyButton(text: String, #[prop(optional)] label: Option<&'static str>) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let label = label.unwrap_or("Copy");
    let copy = move |_| {
        copy_to_clipboard(&text);
        set_copied.set(true);
    };
    view! {
        <button type="button" class="copy" on:click=copy aria-label=label data-testid="copy">
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}

#[cfg(feature = "hydrate")]
fn copy_to_clipboard(text: &str) {
    if let Some(window) = web_sys::window() {
        // The promise settles on its own; a refusal leaves the text selectable.
        let _ = window.navigator().clipboard().write_text(text);
    }
}

#[cfg(not(feature = "hydrate"))]
fn copy_to_clipboard(_text: &str) {}

/// An error from the server, with a way forward for the common cases.
#[component]
pub fn ErrorNotice(error: ConsoleError) -> impl IntoView {
    let signed_out = error == ConsoleError::SignedOut;
    view! {
        <div class="notice error" role="alert" data-testid="error">
            <span>{error.to_string()}</span>
            {signed_out.then(|| view! { " " <a href="/login">"Sign in"</a> })}
        </div>
    }
}

/// The server's message about `field`, if the action's last submission had one.
pub fn field_error<S>(
    action: ServerAction<S>,
    field: &'static str,
) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static
where
    S: ServerFn<Error = ConsoleError> + Send + Sync + Clone + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || match action.value().get() {
        Some(Err(error)) => error.for_field(field),
        _ => None,
    }
}

/// The action's last error if it concerns no single field.
pub fn form_error<S>(
    action: ServerAction<S>,
) -> impl Fn() -> Option<ConsoleError> + Copy + Send + Sync + 'static
where
    S: ServerFn<Error = ConsoleError> + Send + Sync + Clone + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || match action.value().get() {
        Some(Err(error)) if !matches!(error, ConsoleError::Invalid { .. }) => Some(error),
        _ => None,
    }
}

/// A labelled password input with its help (the children, if any) and the
/// server's error beside it; `id` is also the form field's name.
#[component]
pub fn PasswordField(
    id: &'static str,
    label: &'static str,
    /// `current-password` or `new-password`.
    autocomplete: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] autofocus: bool,
    /// Called with the value as the user types.
    #[prop(optional)]
    on_input: Option<Callback<String>>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let stem = id.replace('_', "-");
    let (help_id, error_id) = (format!("{stem}-help"), format!("{stem}-error"));
    let described = if children.is_some() {
        format!("{help_id} {error_id}")
    } else {
        error_id.clone()
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                name=id
                type="password"
                autocomplete=autocomplete
                autofocus=autofocus
                required
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described
                on:input=move |ev| {
                    if let Some(on_input) = on_input {
                        on_input.run(event_target_value(&ev));
                    }
                }
            />
            {children.map(|help| view! { <p id=help_id class="help">{help()}</p> })}
            <p id=error_id.clone() class="field-error" role="alert" data-testid=error_id>{move || error.get()}</p>
        </div>
    }
}

/// Bytes as people read them: `512 B`, `1.5 KiB`, `20.3 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `sha256:` and the first 12 hex digits, as docker shows image ids.
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) => format!("{algorithm}:{}", &hex[..hex.len().min(12)]),
        None => digest.to_owned(),
    }
}

/// `text` ready to be a `<textarea>`'s content. Leptos writes a textarea's
/// children into the server's HTML without escaping them, and the browser
/// reads that content up to the first `</textarea>`, decoding character
/// references: so on the server `&`, `<` and `>` are escaped here (the
/// browser shows the text exactly), lest a stored or linked `</textarea>`
/// end the field and the rest run as markup. In the browser the DOM takes
/// text as text.
pub fn textarea_text(text: &str) -> String {
    if cfg!(feature = "ssr") {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    } else {
        text.to_owned()
    }
}

/// `value` made safe to put in a URL query.
pub fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b':' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_digests_read_well() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(50 * 1024 * 1024), "50.0 MiB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(
            short_digest("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            "sha256:0123456789ab"
        );
        assert_eq!(short_digest("odd"), "odd");
        assert_eq!(
            query_escape("team-a/web app&x=1"),
            "team-a/web%20app%26x%3D1"
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn textarea_content_cannot_end_its_textarea() {
        assert_eq!(
            textarea_text(r#"{"Sid": "</textarea><img src=x> &lt;"}"#),
            r#"{"Sid": "&lt;/textarea&gt;&lt;img src=x&gt; &amp;lt;"}"#
        );
    }
}
