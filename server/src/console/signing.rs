//! Managed signing in the console, through `service::signing`: signing
//! profiles and the rules in force for administrators (as `berth
//! signing-key` and GetSigningConfiguration), an image's signing per profile
//! (as DescribeImageSigningStatus), and the public download of the
//! installation's signing CA certificate (`GET /signing/ca.pem`), what
//! `notation` and other verifiers put in their trust store. The download
//! needs no sign-in and no credentials, as a CA certificate is public (the
//! CA's private key never leaves the database, sealed).

use super::{format_utc, from_service, internal, ConsoleRequest};
use crate::auth::authorize::Resource;
use crate::service::ManifestRef;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_app::console::api::signing::{
    ImageSigningView, SigningBackend, SigningOverview, SigningProfileView, SigningRuleView,
};
use berth_app::console::ConsoleError;
use berth_app::oci::Digest;

/// The path the CA certificate is served at (the console links to it).
pub const CA_PATH: &str = berth_app::console::api::signing::CA_PATH;

/// `GET /signing/ca.pem`: the signing CA certificate, PEM (made on first use).
pub async fn ca_pem(State(state): State<AppState>) -> Response {
    match state.registry.signing_ca_pem().await {
        Ok(pem) => {
            let mut response = (StatusCode::OK, pem).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-pem-file"),
            );
            response.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"berth-signing-ca.pem\""),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "could not serve the signing CA certificate");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The signing CA certificate could not be read; see the server's log\n",
            )
                .into_response()
        }
    }
}

#[async_trait::async_trait]
impl SigningBackend for ConsoleRequest {
    async fn signing_overview(&self) -> Result<SigningOverview, ConsoleError> {
        self.settings_admin("ecr:GetSigningConfiguration").await?;
        let registry = &self.console.registry;
        let profiles = registry
            .signing_profiles()
            .await
            .map_err(internal)?
            .into_iter()
            .map(|p| SigningProfileView {
                name: p.name,
                arn: p.arn,
                created_at: format_utc(p.created_at),
                not_after: format_utc(p.not_after),
                fingerprint: p.fingerprint,
            })
            .collect();
        let rules = registry
            .signing_configuration()
            .await
            .map_err(internal)?
            .map(|config| {
                config
                    .rules
                    .into_iter()
                    .map(|r| SigningRuleView {
                        profile_arn: r.signing_profile_arn,
                        filters: r
                            .repository_filters
                            .unwrap_or_default()
                            .into_iter()
                            .map(|f| f.filter)
                            .collect(),
                    })
                    .collect()
            });
        Ok(SigningOverview { profiles, rules })
    }

    async fn create_signing_profile(&self, name: &str) -> Result<(), ConsoleError> {
        let identity = self.settings_admin("ecr:PutSigningConfiguration").await?;
        self.console
            .registry
            .create_signing_profile(name)
            .await
            .map_err(|e| from_service(e, "name"))?;
        tracing::info!(user = %identity.name, profile = name, "signing profile created in the console");
        Ok(())
    }

    async fn delete_signing_profile(&self, name: &str) -> Result<(), ConsoleError> {
        let identity = self.settings_admin("ecr:PutSigningConfiguration").await?;
        self.console
            .registry
            .delete_signing_profile(name)
            .await
            .map_err(|e| from_service(e, "name"))?;
        tracing::info!(user = %identity.name, profile = name, "signing profile deleted in the console");
        Ok(())
    }

    async fn image_signing(
        &self,
        name: &str,
        digest: &str,
    ) -> Result<Vec<ImageSigningView>, ConsoleError> {
        self.allowed("ecr:DescribeImageSigningStatus", Resource::Repository(name))
            .await?;
        let digest = Digest::parse(digest)
            .map_err(|e| ConsoleError::NotFound(format!("No such image: {e}")))?;
        let (_, rows) = self
            .console
            .registry
            .image_signing_status(name, &ManifestRef::Digest(digest))
            .await
            .map_err(|e| from_service(e, "digest"))?;
        Ok(rows
            .into_iter()
            .map(|r| ImageSigningView {
                profile_arn: r.profile_arn,
                status: r.status,
                failure: match (r.failure_code, r.failure_reason) {
                    (Some(code), Some(reason)) => Some(format!("{code}: {reason}")),
                    (code, reason) => code.or(reason),
                },
                signature_digest: r.signature_digest,
            })
            .collect())
    }
}
