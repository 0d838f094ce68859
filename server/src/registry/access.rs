//! Which ECR action each registry-API request needs, so that one policy
//! decides for `docker push` and for `aws ecr put-image` alike.

use super::error::RegistryError;
use super::path::Endpoint;
use super::Query;
use crate::auth::authorize::Resource;
use crate::auth::Identity;
use crate::AppState;
use axum::http::Method;

/// The actions a request needs on its repository (all of them).
fn required_actions(
    method: &Method,
    endpoint: &Endpoint,
    query: &Query,
) -> &'static [&'static str] {
    match (method, endpoint) {
        (_, Endpoint::Base | Endpoint::Catalog) => &[],
        (_, Endpoint::Tags { .. }) => &["ecr:ListImages"],
        // The action ECR documents for ListImageReferrers, so both faces agree.
        (_, Endpoint::Referrers { .. }) => &["ecr:BatchGetImage"],
        (&Method::GET | &Method::HEAD, Endpoint::Manifest { .. }) => &["ecr:BatchGetImage"],
        (&Method::PUT, Endpoint::Manifest { .. }) => &["ecr:PutImage"],
        (&Method::DELETE, Endpoint::Manifest { .. } | Endpoint::Blob { .. }) => {
            &["ecr:BatchDeleteImage"]
        }
        (&Method::GET, Endpoint::Blob { .. }) => &["ecr:GetDownloadUrlForLayer"],
        (&Method::POST, Endpoint::UploadStart { .. }) if query.get("digest").is_some() => &[
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
        ],
        (&Method::POST, Endpoint::UploadStart { .. }) => &["ecr:InitiateLayerUpload"],
        (&Method::PUT, Endpoint::Upload { .. }) => &["ecr:CompleteLayerUpload"],
        (_, Endpoint::Upload { .. }) => &["ecr:UploadLayerPart"],
        _ => &[],
    }
}

/// Allows `action` on the repository `name`, or refuses it with `DENIED`.
async fn require(
    state: &AppState,
    identity: &Identity,
    action: &str,
    name: &str,
) -> Result<(), RegistryError> {
    let decision = state
        .authz
        .authorize(identity, action, Resource::Repository(name))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "database failed during authorization");
            RegistryError::Internal
        })?;
    decision.map_err(|denied| {
        tracing::info!(user = %identity.name, action, repository = name, "denied");
        RegistryError::Denied(denied.to_string())
    })
}

/// Whether `identity` may perform `action` on the repository `name`.
pub async fn allowed(
    state: &AppState,
    identity: &Identity,
    action: &str,
    name: &str,
) -> Result<bool, RegistryError> {
    match require(state, identity, action, name).await {
        Ok(()) => Ok(true),
        Err(RegistryError::Denied(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Refuses the request unless every action it needs is allowed. A push that
/// would create its repository also needs `ecr:CreateRepository`.
pub async fn check(
    state: &AppState,
    identity: &Identity,
    method: &Method,
    endpoint: &Endpoint,
    query: &Query,
) -> Result<(), RegistryError> {
    let Some(name) = endpoint.repository() else {
        return Ok(());
    };
    let mut actions: Vec<&str> = required_actions(method, endpoint, query).to_vec();
    if method == Method::HEAD && matches!(endpoint, Endpoint::Blob { .. }) {
        // A pusher checks whether a layer exists; a puller reads it. Either may HEAD.
        for action in [
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchCheckLayerAvailability",
        ] {
            if allowed(state, identity, action, name).await? {
                return Ok(());
            }
        }
        actions.push("ecr:GetDownloadUrlForLayer");
    }
    let pushes = matches!(
        (method, endpoint),
        (&Method::PUT, Endpoint::Manifest { .. }) | (&Method::POST, Endpoint::UploadStart { .. })
    );
    if pushes
        && state
            .registry
            .db()
            .repository(name)
            .await
            .map_err(|_| RegistryError::Internal)?
            .is_none()
    {
        actions.push("ecr:CreateRepository");
    }
    for action in actions {
        require(state, identity, action, name).await?;
    }
    Ok(())
}
