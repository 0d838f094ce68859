//! Repository and registry policies: what `aws ecr get-repository-policy` and
//! `get-registry-policy` return, saved and deleted with the same checks and
//! the same `ecr:*` permissions as the ECR API.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Which policy an editor works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyTarget {
    /// A repository's policy (`SetRepositoryPolicy`).
    Repository(String),
    /// The registry's policy (`PutRegistryPolicy`).
    Registry,
}

impl PolicyTarget {
    /// The `scope` form field's value.
    pub fn scope(&self) -> &'static str {
        match self {
            Self::Repository(_) => "repository",
            Self::Registry => "registry",
        }
    }

    /// The `name` form field's value (empty for the registry).
    pub fn name(&self) -> String {
        match self {
            Self::Repository(name) => name.clone(),
            Self::Registry => String::new(),
        }
    }

    /// The target that `scope` and `name` form fields describe.
    pub fn from_form(scope: &str, name: Option<String>) -> Result<Self, ConsoleError> {
        match (scope, name) {
            ("registry", _) => Ok(Self::Registry),
            ("repository", Some(name)) if !name.is_empty() => Ok(Self::Repository(name)),
            _ => Err(ConsoleError::invalid(
                "policy",
                "The form does not say which policy to change; reload the page.",
            )),
        }
    }
}

/// A policy as the editor shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    /// The stored text, pretty-printed; `None` when there is no policy.
    pub text: Option<String>,
    /// This registry's id, for the builder's user ARNs.
    pub registry_id: String,
}

/// The server side of this module's functions.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait PolicyBackend {
    /// A repository's policy (`ecr:GetRepositoryPolicy`).
    async fn repository_policy(&self, name: &str) -> Result<PolicyView, ConsoleError>;
    /// Sets a repository's policy (`ecr:SetRepositoryPolicy`).
    async fn set_repository_policy(&self, name: &str, text: &str) -> Result<(), ConsoleError>;
    /// Removes a repository's policy (`ecr:DeleteRepositoryPolicy`).
    async fn delete_repository_policy(&self, name: &str) -> Result<(), ConsoleError>;
    /// The registry's policy (administrators, `ecr:GetRegistryPolicy`).
    async fn registry_policy(&self) -> Result<PolicyView, ConsoleError>;
    /// Sets the registry's policy (administrators, `ecr:PutRegistryPolicy`).
    async fn put_registry_policy(&self, text: &str) -> Result<(), ConsoleError>;
    /// Removes the registry's policy (administrators, `ecr:DeleteRegistryPolicy`).
    async fn delete_registry_policy(&self) -> Result<(), ConsoleError>;
}

/// A repository's policy, or the registry's (`scope` = `repository` or `registry`).
#[server(endpoint = "load_policy")]
pub async fn load_policy(scope: String, name: Option<String>) -> Result<PolicyView, ConsoleError> {
    let target = PolicyTarget::from_form(&scope, name)?;
    let backend = super::backend()?;
    match target {
        PolicyTarget::Repository(name) => backend.repository_policy(&name).await,
        PolicyTarget::Registry => backend.registry_policy().await,
    }
}

/// Saves a policy after the same check the ECR API makes; an invalid text is
/// refused beside the `policy` field and nothing is stored.
#[server(endpoint = "save_policy")]
pub async fn save_policy(
    scope: String,
    name: Option<String>,
    #[server(default)] policy: String,
) -> Result<(), ConsoleError> {
    let target = PolicyTarget::from_form(&scope, name)?;
    if let Some(message) = crate::console::policy_draft::check_draft(&policy) {
        return Err(ConsoleError::invalid("policy", message));
    }
    let backend = super::backend()?;
    match target {
        PolicyTarget::Repository(name) => backend.set_repository_policy(&name, &policy).await,
        PolicyTarget::Registry => backend.put_registry_policy(&policy).await,
    }
}

/// Deletes a policy.
#[server(endpoint = "delete_policy")]
pub async fn delete_policy(scope: String, name: Option<String>) -> Result<(), ConsoleError> {
    let target = PolicyTarget::from_form(&scope, name)?;
    let backend = super::backend()?;
    match target {
        PolicyTarget::Repository(name) => backend.delete_repository_policy(&name).await,
        PolicyTarget::Registry => backend.delete_registry_policy().await,
    }
}
