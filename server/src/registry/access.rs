//! Which ECR action each registry-API operation needs, so that one policy
//! decides for `docker push` and for `aws ecr put-image` alike.

use super::error::RegistryError;
use super::path::Endpoint;
use super::Query;
use crate::auth::authorize::Resource;
use crate::auth::Identity;
use crate::AppState;

/// What an operation needs on its repository.
enum Needs {
    /// Every one of these actions.
    All(&'static [&'static str]),
    /// Any one of these actions.
    Any(&'static [&'static str]),
}

/// The actions an operation needs: one exhaustive table.
fn needs(endpoint: &Endpoint, query: &Query) -> Needs {
    use Endpoint::*;
    match endpoint {
        ApiVersion | Catalog => Needs::All(&[]),
        ListTags { .. } => Needs::All(&["ecr:ListImages"]),
        // The action ECR documents for ListImageReferrers, so both faces agree.
        ListReferrers { .. } => Needs::All(&["ecr:BatchGetImage"]),
        GetManifest { .. } => Needs::All(&["ecr:BatchGetImage"]),
        PutManifest { .. } => Needs::All(&["ecr:PutImage"]),
        DeleteManifest { .. } | DeleteBlob { .. } => Needs::All(&["ecr:BatchDeleteImage"]),
        GetBlob { body: true, .. } => Needs::All(&["ecr:GetDownloadUrlForLayer"]),
        // A pusher checks whether a layer exists; a puller reads it. Either may HEAD.
        GetBlob { body: false, .. } => Needs::Any(&[
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchCheckLayerAvailability",
        ]),
        StartUpload { .. } if query.get("digest").is_some() => Needs::All(&[
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
        ]),
        StartUpload { .. } => Needs::All(&["ecr:InitiateLayerUpload"]),
        FinishUpload { .. } => Needs::All(&["ecr:CompleteLayerUpload"]),
        UploadStatus { .. } | PatchUpload { .. } | CancelUpload { .. } => {
            Needs::All(&["ecr:UploadLayerPart"])
        }
    }
}

/// Whether `identity` may perform `action` on the repository `name`.
pub async fn allowed(
    state: &AppState,
    identity: &Identity,
    action: &str,
    name: &str,
) -> Result<bool, RegistryError> {
    Ok(state
        .authz
        .allows(identity, action, Resource::Repository(name))
        .await?)
}

/// Refuses the request unless the operation's actions are allowed. A push
/// that would create its repository also needs `ecr:CreateRepository`.
pub async fn check(
    state: &AppState,
    identity: &Identity,
    endpoint: &Endpoint,
    query: &Query,
) -> Result<(), RegistryError> {
    let Some(name) = endpoint.repository() else {
        return Ok(());
    };
    let resource = Resource::Repository(name);
    match needs(endpoint, query) {
        Needs::All(actions) => {
            for action in actions {
                state.authz.check(identity, action, resource).await?;
            }
        }
        Needs::Any(actions) => {
            for action in actions {
                if allowed(state, identity, action, name).await? {
                    return Ok(());
                }
            }
            state.authz.check(identity, actions[0], resource).await?;
        }
    }
    let pushes = matches!(
        endpoint,
        Endpoint::PutManifest { .. } | Endpoint::StartUpload { .. }
    );
    if pushes && !state.registry.repository_exists(name).await? {
        state
            .authz
            .check(identity, "ecr:CreateRepository", resource)
            .await?;
    }
    Ok(())
}
