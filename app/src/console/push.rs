//! "View push commands": the four steps that push an image to a repository,
//! filled with this installation's host, region and endpoint, for a Unix
//! shell and for PowerShell, plus the password-based login alternative.

use super::api::session::RegistryFacts;
use super::widgets::CopyButton;
use leptos::prelude::*;

/// One numbered step: what it does, and the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushStep {
    /// What the step does, in a sentence.
    pub text: String,
    /// The command to paste.
    pub command: String,
}

/// The operating systems the dialog has tabs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// macOS and Linux (a POSIX shell).
    Unix,
    /// Windows (PowerShell).
    Windows,
}

/// The steps for pushing to `repository`, in `shell`'s syntax.
pub fn push_steps(facts: &RegistryFacts, repository: &str, shell: Shell) -> Vec<PushStep> {
    let host = &facts.host;
    let login = match shell {
        Shell::Unix => format!(
            "aws ecr get-login-password --region {} --endpoint-url {} | docker login --username AWS --password-stdin {host}",
            facts.region, facts.endpoint
        ),
        Shell::Windows => format!(
            "(Get-ECRLoginCommand -Region {} -EndpointUrl {}).Password | docker login --username AWS --password-stdin {host}",
            facts.region, facts.endpoint
        ),
    };
    let tool = match shell {
        Shell::Unix => "the AWS CLI",
        Shell::Windows => "the AWS Tools for PowerShell",
    };
    vec![
        PushStep {
            text: format!(
                "Retrieve an authentication token and authenticate your Docker client to your registry. Use {tool}, with the access key of a Berth user configured:"
            ),
            command: login,
        },
        PushStep {
            text: "Build your Docker image using the following command (skip this step if your image is already built):".into(),
            command: format!("docker build -t {repository} ."),
        },
        PushStep {
            text: "After the build completes, tag your image so you can push the image to this repository:".into(),
            command: format!("docker tag {repository}:latest {host}/{repository}:latest"),
        },
        PushStep {
            text: "Run the following command to push this image to your repository:".into(),
            command: format!("docker push {host}/{repository}:latest"),
        },
    ]
}

/// The password-based alternative to step 1.
pub fn password_login(facts: &RegistryFacts, user: &str) -> String {
    format!("docker login --username {user} {}", facts.host)
}

/// The dialog, open, with a close link back to `close_href`.
#[component]
pub fn PushCommandsDialog(
    facts: RegistryFacts,
    repository: String,
    user: String,
    close_href: String,
) -> impl IntoView {
    let (shell, set_shell) = signal(Shell::Unix);
    let unix = push_steps(&facts, &repository, Shell::Unix);
    let windows = push_steps(&facts, &repository, Shell::Windows);
    let login = password_login(&facts, &user);
    // Keyboard: focus moves into the dialog when it opens, and Escape closes it.
    let close_link = NodeRef::<leptos::html::A>::new();
    Effect::new(move |_| {
        if let Some(link) = close_link.get() {
            // After the frame, when the dialog is in the document.
            request_animation_frame(move || {
                let _ = link.focus();
            });
        }
    });
    let navigate = leptos_router::hooks::use_navigate();
    let close_target = close_href.clone();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            navigate(&close_target, Default::default());
        }
    };
    let tab = move |which: Shell, label: &'static str, id: &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                id=id
                class="tab"
                aria-selected=move || (shell.get() == which).to_string()
                on:click=move |_| set_shell.set(which)
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="overlay" on:keydown=on_keydown>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="push-title" data-testid="push-commands">
                <div class="dialog-head">
                    <h2 id="push-title">"Push commands for " {repository.clone()}</h2>
                    <a class="close" href=close_href aria-label="Close" node_ref=close_link data-testid="close-dialog">"×"</a>
                </div>
                <div role="tablist" class="tabs" aria-label="Operating system">
                    {tab(Shell::Unix, "macOS / Linux", "tab-unix")}
                    {tab(Shell::Windows, "Windows", "tab-windows")}
                </div>
                <div role="tabpanel" aria-labelledby="tab-unix" hidden=move || shell.get() != Shell::Unix>
                    <Steps steps=unix shell="unix"/>
                </div>
                <div role="tabpanel" aria-labelledby="tab-windows" hidden=move || shell.get() != Shell::Windows>
                    <Steps steps=windows shell="windows"/>
                </div>
                <div class="alternative">
                    <h3>"Or sign in with your Berth password"</h3>
                    <p>"Instead of step 1, log in with your user name and password:"</p>
                    <div class="command">
                        <pre data-testid="password-login">{login.clone()}</pre>
                        <CopyButton text=login/>
                    </div>
                </div>
            </div>
        </div>
    }
}

#[component]
fn Steps(steps: Vec<PushStep>, shell: &'static str) -> impl IntoView {
    view! {
        <ol class="steps">
            {steps
                .into_iter()
                .enumerate()
                .map(|(i, step)| {
                    let command = step.command.clone();
                    view! {
                        <li>
                            <p>{step.text}</p>
                            <div class="command">
                                <pre data-testid=format!("push-step-{shell}-{}", i + 1)>{step.command}</pre>
                                <CopyButton text=command/>
                            </div>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> RegistryFacts {
        RegistryFacts {
            registry_id: "123456789012".into(),
            region: "eu-west-1".into(),
            host: "registry.example:5000".into(),
            endpoint: "https://registry.example:5000".into(),
        }
    }

    #[test]
    fn the_steps_name_this_installation() {
        let steps = push_steps(&facts(), "team-a/web-app", Shell::Unix);
        let commands: Vec<&str> = steps.iter().map(|s| s.command.as_str()).collect();
        assert_eq!(
            commands,
            [
                "aws ecr get-login-password --region eu-west-1 --endpoint-url https://registry.example:5000 | docker login --username AWS --password-stdin registry.example:5000",
                "docker build -t team-a/web-app .",
                "docker tag team-a/web-app:latest registry.example:5000/team-a/web-app:latest",
                "docker push registry.example:5000/team-a/web-app:latest",
            ]
        );
        let windows = push_steps(&facts(), "team-a/web-app", Shell::Windows);
        assert_eq!(
            windows[0].command,
            "(Get-ECRLoginCommand -Region eu-west-1 -EndpointUrl https://registry.example:5000).Password | docker login --username AWS --password-stdin registry.example:5000"
        );
        assert_eq!(windows[1..], steps[1..]);
        assert_eq!(
            password_login(&facts(), "alice"),
            "docker login --username alice registry.example:5000"
        );
    }
}
