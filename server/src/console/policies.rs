//! Repository and registry policies for the console: the same service calls,
//! checks and `ecr:*` permissions as the ECR API's SetRepositoryPolicy,
//! PutRegistryPolicy and their Get and Delete twins.

use super::{from_service, ConsoleRequest};
use crate::auth::authorize::Resource;
use berth_app::console::api::policies::{PolicyBackend, PolicyView};
use berth_app::console::policy_draft::pretty_policy;
use berth_app::console::ConsoleError;

/// After a form posted without JavaScript, shows `path` rather than the page
/// the form was on, whose query may hold a builder draft that is now stale.
/// A hydrated page's request gets no redirect: it updates in place.
fn show_after_plain_post(path: &str) {
    let plain = leptos::prelude::use_context::<axum::http::request::Parts>().is_some_and(|p| {
        p.headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    });
    if plain {
        leptos_axum::redirect(path);
    }
}

impl ConsoleRequest {
    fn policy_view(&self, text: Option<String>) -> PolicyView {
        PolicyView {
            text: text.as_deref().map(pretty_policy),
            registry_id: self.console.info.registry_id.clone(),
        }
    }
}

#[async_trait::async_trait]
impl PolicyBackend for ConsoleRequest {
    async fn repository_policy(&self, name: &str) -> Result<PolicyView, ConsoleError> {
        self.allowed("ecr:GetRepositoryPolicy", Resource::Repository(name))
            .await?;
        let registry = &self.console.registry;
        registry
            .repository(name)
            .await
            .map_err(|e| from_service(e, "name"))?;
        let text = registry
            .repository_policy(name)
            .await
            .map_err(|e| from_service(e, "policy"))?;
        Ok(self.policy_view(text))
    }

    async fn set_repository_policy(&self, name: &str, text: &str) -> Result<(), ConsoleError> {
        self.allowed("ecr:SetRepositoryPolicy", Resource::Repository(name))
            .await?;
        let registry = &self.console.registry;
        registry
            .repository(name)
            .await
            .map_err(|e| from_service(e, "name"))?;
        registry
            .set_repository_policy(name, Some(text))
            .await
            .map_err(|e| from_service(e, "policy"))?;
        tracing::info!(repository = name, "repository policy set in the console");
        show_after_plain_post(&format!("/repositories/{name}?tab=permissions"));
        Ok(())
    }

    async fn delete_repository_policy(&self, name: &str) -> Result<(), ConsoleError> {
        self.allowed("ecr:DeleteRepositoryPolicy", Resource::Repository(name))
            .await?;
        let registry = &self.console.registry;
        registry
            .repository(name)
            .await
            .map_err(|e| from_service(e, "name"))?;
        if registry
            .repository_policy(name)
            .await
            .map_err(|e| from_service(e, "policy"))?
            .is_none()
        {
            return Err(ConsoleError::NotFound(format!(
                "The repository {name} has no policy to delete."
            )));
        }
        registry
            .set_repository_policy(name, None)
            .await
            .map_err(|e| from_service(e, "policy"))?;
        tracing::info!(
            repository = name,
            "repository policy deleted in the console"
        );
        show_after_plain_post(&format!("/repositories/{name}?tab=permissions"));
        Ok(())
    }

    async fn registry_policy(&self) -> Result<PolicyView, ConsoleError> {
        self.settings_admin("ecr:GetRegistryPolicy").await?;
        let text = self
            .console
            .registry
            .registry_policy()
            .await
            .map_err(|e| from_service(e, "policy"))?;
        Ok(self.policy_view(text))
    }

    async fn put_registry_policy(&self, text: &str) -> Result<(), ConsoleError> {
        self.settings_admin("ecr:PutRegistryPolicy").await?;
        self.console
            .registry
            .set_registry_policy(Some(text))
            .await
            .map_err(|e| from_service(e, "policy"))?;
        tracing::info!("registry policy set in the console");
        show_after_plain_post("/settings");
        Ok(())
    }

    async fn delete_registry_policy(&self) -> Result<(), ConsoleError> {
        self.settings_admin("ecr:DeleteRegistryPolicy").await?;
        let registry = &self.console.registry;
        if registry
            .registry_policy()
            .await
            .map_err(|e| from_service(e, "policy"))?
            .is_none()
        {
            return Err(ConsoleError::NotFound(
                "The registry has no policy to delete.".into(),
            ));
        }
        registry
            .set_registry_policy(None)
            .await
            .map_err(|e| from_service(e, "policy"))?;
        tracing::info!("registry policy deleted in the console");
        show_after_plain_post("/settings");
        Ok(())
    }
}
