//! Managed signing in the console: for administrators, the signing profiles
//! (what `berth signing-key` manages), the signing rules in force and the CA
//! certificate's download; for anyone who may describe an image, its
//! signing per profile (what `aws ecr describe-image-signing-status` returns).

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where the signing CA certificate is downloaded from (no sign-in needed).
pub const CA_PATH: &str = "/signing/ca.pem";

/// A signing profile: a Berth-managed key with a certificate from the CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningProfileView {
    /// Its name.
    pub name: String,
    /// Its ARN, as signing rules name it.
    pub arn: String,
    /// When it was made, in UTC.
    pub created_at: String,
    /// When its certificate expires, in UTC.
    pub not_after: String,
    /// The SHA-256 fingerprint of its certificate (hex).
    pub fingerprint: String,
}

/// One rule of the signing configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningRuleView {
    /// The profile that signs.
    pub profile_arn: String,
    /// The repository filters; empty: every repository.
    pub filters: Vec<String>,
}

/// What the settings page shows of managed signing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningOverview {
    /// The profiles, by name.
    pub profiles: Vec<SigningProfileView>,
    /// The rules in force; `None` when no configuration is set.
    pub rules: Option<Vec<SigningRuleView>>,
}

/// An image's signing with one profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSigningView {
    /// The profile's ARN.
    pub profile_arn: String,
    /// `IN_PROGRESS`, `COMPLETE` or `FAILED`.
    pub status: String,
    /// Why it failed: code and reason.
    pub failure: Option<String>,
    /// The signature referrer's digest, once complete.
    pub signature_digest: Option<String>,
}

/// The server side of this module's functions.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait SigningBackend {
    /// The profiles and rules (administrators only).
    async fn signing_overview(&self) -> Result<SigningOverview, ConsoleError>;
    /// Makes a profile (administrators only).
    async fn create_signing_profile(&self, name: &str) -> Result<(), ConsoleError>;
    /// Deletes a profile no rule names (administrators only).
    async fn delete_signing_profile(&self, name: &str) -> Result<(), ConsoleError>;
    /// An image's signing per profile.
    async fn image_signing(
        &self,
        name: &str,
        digest: &str,
    ) -> Result<Vec<ImageSigningView>, ConsoleError>;
}

/// The signing profiles and rules.
#[server(endpoint = "load_signing_overview")]
pub async fn load_signing_overview() -> Result<SigningOverview, ConsoleError> {
    super::backend()?.signing_overview().await
}

/// "Create signing profile".
#[server(endpoint = "create_signing_profile")]
pub async fn create_signing_profile(name: String) -> Result<(), ConsoleError> {
    super::backend()?.create_signing_profile(&name).await
}

/// "Delete" of a signing profile.
#[server(endpoint = "delete_signing_profile")]
pub async fn delete_signing_profile(name: String) -> Result<(), ConsoleError> {
    super::backend()?.delete_signing_profile(&name).await
}

/// An image's signing per profile.
#[server(endpoint = "load_image_signing")]
pub async fn load_image_signing(
    name: String,
    digest: String,
) -> Result<Vec<ImageSigningView>, ConsoleError> {
    super::backend()?.image_signing(&name, &digest).await
}

/// A signing status in words: "Signed", "Signing…", "Failed: <why>".
pub fn signing_status_text(view: &ImageSigningView) -> String {
    match view.status.as_str() {
        "COMPLETE" => "Signed".into(),
        "IN_PROGRESS" => "Signing…".into(),
        "FAILED" => format!(
            "Failed: {}",
            view.failure
                .clone()
                .unwrap_or_else(|| "no reason recorded".into())
        ),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_what_happened() {
        let mut view = ImageSigningView {
            profile_arn: "arn".into(),
            status: "COMPLETE".into(),
            failure: None,
            signature_digest: Some("sha256:aa".into()),
        };
        assert_eq!(signing_status_text(&view), "Signed");
        view.status = "IN_PROGRESS".into();
        assert_eq!(signing_status_text(&view), "Signing…");
        view.status = "FAILED".into();
        view.failure = Some("SIGNING_ERROR: boom".into());
        assert_eq!(signing_status_text(&view), "Failed: SIGNING_ERROR: boom");
    }
}
