//! Lifecycle policies for the console: the same service calls and ECR actions
//! as Get/PutLifecyclePolicy and the lifecycle preview.

use super::{from_service, internal, ConsoleRequest};
use crate::auth::authorize::Resource;
use berth_app::console::api::lifecycle::{
    decision_rows, Expiration, LifecycleBackend, LifecycleState, PreviewResult,
};
use berth_app::console::ConsoleError;

/// Past expirations the tab lists at most.
const HISTORY_SHOWN: usize = 100;

#[async_trait::async_trait]
impl LifecycleBackend for ConsoleRequest {
    async fn lifecycle_state(&self, name: &str) -> Result<LifecycleState, ConsoleError> {
        self.allowed("ecr:GetLifecyclePolicy", Resource::Repository(name))
            .await?;
        let registry = &self.console.registry;
        let service = |e| from_service(e, "policy");
        let policy = registry.lifecycle_policy(name).await.map_err(service)?;
        let preview_policy = registry
            .lifecycle_preview(name)
            .await
            .map_err(service)?
            .map(|(text, _, _)| text);
        let images = registry.lifecycle_images(name).await.map_err(service)?;
        let evaluated_at = registry
            .lifecycle_evaluated_at(name)
            .await
            .map_err(service)?
            .map(super::format_utc);
        let history = registry
            .lifecycle_history(name, HISTORY_SHOWN)
            .await
            .map_err(service)?
            .into_iter()
            .map(|(digest, tags, rule, at)| Expiration {
                digest,
                tags,
                rule,
                expired_at: super::format_utc(at),
            })
            .collect();
        Ok(LifecycleState {
            policy,
            preview_policy,
            images,
            now_ms: crate::clock::now_millis(),
            evaluated_at,
            history,
        })
    }

    async fn preview_lifecycle(
        &self,
        name: &str,
        policy: &str,
    ) -> Result<PreviewResult, ConsoleError> {
        self.allowed(
            "ecr:StartLifecyclePolicyPreview",
            Resource::Repository(name),
        )
        .await?;
        let registry = &self.console.registry;
        // Recorded as GetLifecyclePolicyPreview will return it, then every
        // image's fate (kept ones too, with the rule that protects them).
        registry
            .start_lifecycle_preview(name, policy)
            .await
            .map_err(|e| from_service(e, "policy"))?;
        let (images, decisions) = registry
            .evaluate_lifecycle(name, policy)
            .await
            .map_err(|e| from_service(e, "policy"))?;
        Ok(PreviewResult {
            policy: policy.to_owned(),
            rows: decision_rows(&images, &decisions),
        })
    }

    async fn save_lifecycle(&self, name: &str, policy: &str) -> Result<(), ConsoleError> {
        self.allowed("ecr:PutLifecyclePolicy", Resource::Repository(name))
            .await?;
        self.console
            .registry
            .put_lifecycle_policy(name, policy, self.console.lifecycle_delay)
            .await
            .map_err(|e| from_service(e, "policy"))?;
        tracing::info!(repository = name, "lifecycle policy saved in the console");
        Ok(())
    }

    async fn run_lifecycle(&self, name: &str) -> Result<u32, ConsoleError> {
        // Running the saved policy now is what saving it does a little later.
        self.allowed("ecr:PutLifecyclePolicy", Resource::Repository(name))
            .await?;
        let expired = self
            .console
            .registry
            .apply_lifecycle(name, false)
            .await
            .map_err(|e| from_service(e, "policy"))?;
        tracing::info!(
            repository = name,
            expired = expired.len(),
            "lifecycle policy run from the console"
        );
        u32::try_from(expired.len()).map_err(internal)
    }
}
