//! Managed signing (issue 18 §3): signing profiles (Berth-managed keys with
//! certificates from the installation's signing CA), the registry's signing
//! configuration (PutSigningConfiguration: rules of a profile and
//! repository filters), and the signing of pushed images. A manifest PUT
//! that a rule's filters match queues one signing per profile (a row
//! `IN_PROGRESS`, the persisted job) in the transaction that stores the
//! manifest, so a crash cannot leave a stored image without its signing;
//! the jobs loop signs queued images in
//! the background, so the push is never slowed, and stores each signature as
//! a Notary Project signature referrer of the image. Signatures are made by
//! `keys::signing`; private keys are kept sealed by the installation secret.
//! A signing is claimed for a lease; a claim whose lease ran out may be
//! taken over by another process, and only the claim's holder records its
//! outcome: a process that lost its claim deletes the signature it stored,
//! so an image has one signature per profile.
//!
//! What is signed: every manifest pushed (image manifests, indexes and their
//! children, artifacts) that has no `subject`. Referrers (SBOMs, signatures
//! themselves) are not signed, so a signature never begets another.

use super::{ManifestRef, Registry, ServiceError, ServiceResult};
use crate::auth::secrets::SecretBox;
use crate::db::{ImageSignatureRow, SigningJobRow, SigningKeyRow};
use crate::keys::signing as sig;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The most rules a signing configuration has (the model's `SigningRuleList`).
pub const RULES_MAX: usize = 10;
/// The most repository filters a rule has.
pub const FILTERS_MAX: usize = 100;
/// How long a process holds a signing before another may take it over.
const LEASE_MS: i64 = 5 * 60 * 1000;

/// What managed signing needs beyond the registry: the installation secret
/// (which seals the keys), the region for ARNs, and a bell rung when a
/// signing is queued.
pub(super) struct SigningState {
    secrets: Option<Arc<SecretBox>>,
    region: String,
    queued: tokio::sync::Notify,
}

impl Default for SigningState {
    fn default() -> Self {
        Self {
            secrets: None,
            region: "us-east-1".into(),
            queued: tokio::sync::Notify::new(),
        }
    }
}

/// ECR's `SigningRepositoryFilter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningRepositoryFilter {
    /// A repository name pattern; `*` matches any run of characters.
    pub filter: String,
    /// `WILDCARD_MATCH`, the only type.
    pub filter_type: String,
}

/// ECR's `SigningRule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningRule {
    /// The signing profile's ARN.
    pub signing_profile_arn: String,
    /// The repositories the rule covers; absent: every repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_filters: Option<Vec<SigningRepositoryFilter>>,
}

/// ECR's `SigningConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningConfiguration {
    /// At most [`RULES_MAX`] rules.
    pub rules: Vec<SigningRule>,
}

/// A signing profile as every face shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningProfile {
    /// Its name.
    pub name: String,
    /// Its ARN, as signing rules name it.
    pub arn: String,
    /// When it was made (ms).
    pub created_at: i64,
    /// When its certificate expires (ms); its signatures stop verifying then.
    pub not_after: i64,
    /// The SHA-256 fingerprint of its certificate (hex).
    pub fingerprint: String,
    /// Its certificate, PEM.
    pub certificate_pem: String,
}

/// Whether a profile name is one the ARN form accepts: 2 to 64 of
/// `[a-zA-Z0-9_]` (AWS Signer's profile names).
pub fn valid_profile_name(name: &str) -> bool {
    (2..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether a filter has the model's shape: `/`-separated parts of lowercase
/// letters, digits and `*`, joined by single `.`, `_` or `-`.
fn valid_filter(filter: &str) -> bool {
    let part_ok = |part: &str| {
        !part.is_empty()
            && part.split(['.', '_', '-']).all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'*')
            })
    };
    (1..=256).contains(&filter.len()) && filter.split('/').all(part_ok)
}

/// Whether a rule's filter matches repository `name`: the whole name, with
/// `*` standing for any run of characters (a filter without `*` names one
/// repository).
pub fn filter_matches(filter: &str, name: &str) -> bool {
    super::repositories::wildcard_match(filter, name)
}

/// The profile ARNs whose rules cover repository `name`, each once.
pub fn profiles_for<'a>(config: &'a SigningConfiguration, name: &str) -> Vec<&'a str> {
    let mut arns: Vec<&str> = Vec::new();
    for rule in &config.rules {
        let covered = match &rule.repository_filters {
            None => true,
            Some(filters) => filters.iter().any(|f| filter_matches(&f.filter, name)),
        };
        if covered && !arns.contains(&rule.signing_profile_arn.as_str()) {
            arns.push(&rule.signing_profile_arn);
        }
    }
    arns
}

impl Registry {
    /// Keeps signing keys sealed by `secrets` and names profiles in `region`.
    pub fn with_signing(mut self, secrets: Arc<SecretBox>, region: String) -> Self {
        self.signing.secrets = Some(secrets);
        self.signing.region = region;
        self
    }

    /// The ARN of the profile `name`:
    /// `arn:aws:signer:<region>:<registry-id>:/signing-profiles/<name>`.
    pub fn signing_profile_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:signer:{}:{}:/signing-profiles/{name}",
            self.signing.region, self.registry_id
        )
    }

    /// The profile name an ARN of this installation names, if it is one.
    fn profile_name_of<'a>(&self, arn: &'a str) -> Option<&'a str> {
        let prefix = self.signing_profile_arn("");
        arn.strip_prefix(prefix.as_str())
            .filter(|name| valid_profile_name(name))
    }

    fn secrets(&self) -> ServiceResult<&SecretBox> {
        self.signing.secrets.as_deref().ok_or_else(|| {
            ServiceError::InvalidSetting(
                "managed signing is not set up in this process (no installation secret)".into(),
            )
        })
    }

    /// The signing CA, made (with its key sealed) on first use.
    async fn signing_authority(&self) -> ServiceResult<SigningKeyRow> {
        if let Some(ca) = self.db.signing_ca().await? {
            return Ok(ca);
        }
        let secrets = self.secrets()?;
        let made = sig::new_authority(&self.registry_id, time::OffsetDateTime::now_utc())
            .map_err(|e| ServiceError::Storage(std::io::Error::other(e)))?;
        let sealed = secrets.seal(&made.key_pkcs8);
        let ca = self.db.insert_signing_ca(&made.cert_der, &sealed).await?;
        tracing::info!("made the installation's signing CA");
        Ok(ca)
    }

    /// The signing CA's certificate, PEM (made on first use): what verifiers
    /// put in their trust store.
    pub async fn signing_ca_pem(&self) -> ServiceResult<String> {
        Ok(sig::pem(&self.signing_authority().await?.cert_der))
    }

    fn profile_view(
        &self,
        name: String,
        cert_der: &[u8],
        created_at: i64,
        not_after: i64,
    ) -> SigningProfile {
        SigningProfile {
            arn: self.signing_profile_arn(&name),
            name,
            created_at,
            not_after,
            fingerprint: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(cert_der)),
            certificate_pem: sig::pem(cert_der),
        }
    }

    /// Makes a signing profile: a fresh key and a code-signing certificate
    /// from the installation's CA.
    pub async fn create_signing_profile(&self, name: &str) -> ServiceResult<SigningProfile> {
        if !valid_profile_name(name) {
            return Err(ServiceError::InvalidSetting(format!(
                "signing profile name {name:?} must be 2 to 64 letters, digits or '_'"
            )));
        }
        let secrets = self.secrets()?;
        let ca = self.signing_authority().await?;
        let ca_key = zeroize::Zeroizing::new(secrets.open(&ca.sealed_key).ok_or_else(|| {
            ServiceError::InvalidSetting(
                "the signing CA's key cannot be opened: was the installation's secret key changed?"
                    .into(),
            )
        })?);
        let made = sig::issue_profile(
            &self.registry_id,
            &ca_key,
            name,
            time::OffsetDateTime::now_utc(),
        )
        .map_err(|e| ServiceError::Storage(std::io::Error::other(e)))?;
        let not_after = (made.not_after.unix_timestamp_nanos() / 1_000_000) as i64;
        let sealed = secrets.seal(&made.key_pkcs8);
        if !self
            .db
            .insert_signing_profile(name, &made.cert_der, &sealed, not_after)
            .await?
        {
            return Err(ServiceError::InvalidSetting(format!(
                "a signing profile named {name:?} already exists"
            )));
        }
        self.signing_profile(name).await
    }

    /// The signing profiles, by name.
    pub async fn signing_profiles(&self) -> ServiceResult<Vec<SigningProfile>> {
        Ok(self
            .db
            .signing_profiles()
            .await?
            .into_iter()
            .map(|p| self.profile_view(p.name, &p.cert_der, p.created_at, p.not_after))
            .collect())
    }

    /// One signing profile.
    pub async fn signing_profile(&self, name: &str) -> ServiceResult<SigningProfile> {
        self.signing_profiles()
            .await?
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                ServiceError::InvalidSetting(format!("no signing profile is named {name:?}"))
            })
    }

    /// Deletes a signing profile no signing rule names. Signatures it made
    /// stay (and verify until its certificate expires).
    pub async fn delete_signing_profile(&self, name: &str) -> ServiceResult<()> {
        let arn = self.signing_profile_arn(name);
        if let Some(config) = self.signing_configuration().await? {
            if let Some(i) = config
                .rules
                .iter()
                .position(|r| r.signing_profile_arn == arn)
            {
                return Err(ServiceError::InvalidSetting(format!(
                    "signing profile {name:?} is used by rule {i} of the signing configuration; change or delete the configuration first"
                )));
            }
        }
        if !self.db.delete_signing_profile(name).await? {
            return Err(ServiceError::InvalidSetting(format!(
                "no signing profile is named {name:?}"
            )));
        }
        Ok(())
    }

    /// The registry's signing configuration, `None` when none is set. Read
    /// through the push settings' cache (`push_settings`).
    pub async fn signing_configuration(&self) -> ServiceResult<Option<SigningConfiguration>> {
        Ok(self.push_settings().await?.signing.clone())
    }

    /// The signing configuration as stored.
    pub(super) async fn stored_signing_configuration(
        &self,
    ) -> ServiceResult<Option<SigningConfiguration>> {
        let Some(text) = self.db.signing_configuration().await? else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            ServiceError::Database(sqlx::Error::Decode(
                format!("the stored signing configuration cannot be read: {e}").into(),
            ))
        })
    }

    /// Checks and sets the signing configuration. The inner `Err` says why
    /// the configuration is refused (ECR's `ValidationException`).
    pub async fn put_signing_configuration(
        &self,
        config: &SigningConfiguration,
    ) -> ServiceResult<Result<(), String>> {
        if config.rules.len() > RULES_MAX {
            return Ok(Err(format!(
                "a signing configuration has at most {RULES_MAX} rules, not {}",
                config.rules.len()
            )));
        }
        let profiles = self.db.signing_profiles().await?;
        for (i, rule) in config.rules.iter().enumerate() {
            let arn = &rule.signing_profile_arn;
            let Some(name) = self.profile_name_of(arn) else {
                return Ok(Err(format!(
                    "rules[{i}].signingProfileArn {arn:?} is not a signing profile ARN of this registry: it must be {}<name>",
                    self.signing_profile_arn("")
                )));
            };
            if !profiles.iter().any(|p| p.name == name) {
                return Ok(Err(format!(
                    "rules[{i}].signingProfileArn names the signing profile {name:?}, which does not exist; create it with `berth signing-key create {name}` or in the console"
                )));
            }
            if let Some(filters) = &rule.repository_filters {
                if !(1..=FILTERS_MAX).contains(&filters.len()) {
                    return Ok(Err(format!(
                        "rules[{i}].repositoryFilters must hold 1 to {FILTERS_MAX} filters (omit it to cover every repository)"
                    )));
                }
                for f in filters {
                    if f.filter_type != "WILDCARD_MATCH" {
                        return Ok(Err(format!(
                            "rules[{i}] filterType {:?} is not WILDCARD_MATCH",
                            f.filter_type
                        )));
                    }
                    if !valid_filter(&f.filter) {
                        return Ok(Err(format!(
                            "rules[{i}] filter {:?} must be repository name parts of lowercase letters, digits and '*', separated by '/', '.', '_' or '-'",
                            f.filter
                        )));
                    }
                }
            }
        }
        let text = serde_json::to_string(config).expect("a configuration serializes");
        self.db.set_signing_configuration(&text).await?;
        Ok(Ok(()))
    }

    /// Removes the signing configuration; returns it, `None` if none was set.
    /// Signatures already made stay.
    pub async fn delete_signing_configuration(
        &self,
    ) -> ServiceResult<Option<SigningConfiguration>> {
        let Some(text) = self.db.delete_signing_configuration().await? else {
            return Ok(None);
        };
        Ok(serde_json::from_str(&text).ok())
    }

    /// The profiles (ARNs) a push to `repository` is to be signed with,
    /// queued in the manifest's own transaction: those whose rule covers
    /// the repository; none for a referrer (an SBOM, a signature), so a
    /// signature never begets another.
    pub(super) fn signing_profiles_for_push(
        config: Option<&SigningConfiguration>,
        repository: &str,
        is_referrer: bool,
    ) -> Vec<String> {
        match config {
            Some(config) if !is_referrer => profiles_for(config, repository)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Wakes the signer: a push queued a signing.
    pub(super) fn pushed_signing_queued(&self) {
        self.signing.queued.notify_one();
    }

    /// Waits until a signing is queued in this process.
    pub async fn signing_queued(&self) {
        self.signing.queued.notified().await
    }

    /// Signs the queued images, one after another, until none is left
    /// (including those a stopped process had claimed); returns how many.
    pub async fn run_queued_signings(&self) -> ServiceResult<usize> {
        let mut done = 0;
        while let Some(job) = self.db.claim_signing(LEASE_MS).await? {
            self.run_signing(&job).await?;
            done += 1;
        }
        Ok(done)
    }

    /// Runs one claimed signing and records how it ended; returns false when
    /// the claim was lost meanwhile (its lease ran out and another process
    /// took it over): then the signature this run stored is deleted, so an
    /// image gets one signature per profile, the one the winner records.
    async fn run_signing(&self, job: &SigningJobRow) -> ServiceResult<bool> {
        let outcome = match self
            .sign(&job.repository, &job.digest, &job.profile_arn)
            .await
        {
            Ok(outcome) => outcome,
            Err(error) => Err((
                "SIGNING_ERROR",
                format!("Berth could not sign the image: {error}"),
            )),
        };
        let recorded = match &outcome {
            Ok(digest) => Ok(digest.as_str()),
            Err((code, reason)) => Err((*code, reason.as_str())),
        };
        let finished = self
            .db
            .finish_signing(job.manifest_id, &job.profile_arn, job.claimed_at, recorded)
            .await?;
        match (&outcome, finished) {
            (Ok(signature), true) => {
                tracing::info!(repository = %job.repository, digest = %job.digest, profile = %job.profile_arn, %signature, "signed an image")
            }
            (Err((code, reason)), true) => {
                tracing::warn!(repository = %job.repository, digest = %job.digest, profile = %job.profile_arn, %code, %reason, "signing failed")
            }
            (Ok(signature), false) => {
                tracing::warn!(repository = %job.repository, digest = %job.digest, profile = %job.profile_arn, %signature, "signing claim lost (its lease ran out): deleting this run's signature");
                let parsed = berth_app::oci::Digest::parse(signature)
                    .map_err(|e| ServiceError::ManifestInvalid(e.to_string()))?;
                match self
                    .delete_manifest(&job.repository, &ManifestRef::Digest(parsed))
                    .await
                {
                    Ok(()) | Err(ServiceError::ManifestUnknown(_)) => {}
                    Err(error) => return Err(error),
                }
            }
            (Err((code, _)), false) => {
                tracing::warn!(repository = %job.repository, digest = %job.digest, profile = %job.profile_arn, %code, "signing claim lost (its lease ran out): its failure is not recorded")
            }
        }
        Ok(finished)
    }

    /// Signs one image with one profile and stores the signature; returns
    /// its digest, or the failure code and reason. The outer `Err` is
    /// Berth's own failure (the database, the store).
    async fn sign(
        &self,
        name: &str,
        digest: &str,
        profile_arn: &str,
    ) -> ServiceResult<Result<String, (&'static str, String)>> {
        let digest_ref = berth_app::oci::Digest::parse(digest)
            .map_err(|e| ServiceError::ManifestInvalid(e.to_string()))?;
        let (_, row) = self
            .repository_manifest(name, &ManifestRef::Digest(digest_ref))
            .await?;
        let Some(profile) = self.profile_name_of(profile_arn) else {
            return Ok(Err((
                "SIGNING_PROFILE_NOT_FOUND",
                format!("{profile_arn} is not a signing profile of this registry"),
            )));
        };
        let Some(key) = self.db.signing_profile_key(profile).await? else {
            return Ok(Err((
                "SIGNING_PROFILE_NOT_FOUND",
                format!("the signing profile {profile:?} was deleted before the image was signed"),
            )));
        };
        let secrets = self.secrets()?;
        let Some(pkcs8) = secrets.open(&key.sealed_key).map(zeroize::Zeroizing::new) else {
            return Ok(Err((
                "SIGNING_KEY_UNREADABLE",
                format!("the key of signing profile {profile:?} cannot be opened: was the installation's secret key changed?"),
            )));
        };
        let ca = self.signing_authority().await?;
        let chain: [&[u8]; 2] = [&key.cert_der, &ca.cert_der];
        let target = sig::Target {
            media_type: &row.media_type,
            digest: &row.digest,
            size: row.body.len() as u64,
        };
        let envelope = match sig::envelope(&pkcs8, &chain, target, time::OffsetDateTime::now_utc())
        {
            Ok(envelope) => envelope,
            Err(error) => return Ok(Err(("SIGNING_ERROR", error.to_string()))),
        };
        let stored = self
            .store_referrer(
                name,
                super::referrers::Subject {
                    digest: &row.digest,
                    media_type: &row.media_type,
                    size: row.body.len(),
                },
                super::referrers::Artifact {
                    artifact_type: sig::SIGNATURE_ARTIFACT_TYPE,
                    pusher: "managed signing",
                    layer_media_type: sig::ENVELOPE_MEDIA_TYPE,
                    layer: envelope,
                    layer_annotations: serde_json::Value::Null,
                    annotations: serde_json::json!({
                        sig::THUMBPRINT_ANNOTATION: sig::thumbprints(&chain),
                        "org.opencontainers.image.created": time::OffsetDateTime::now_utc()
                            .format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default(),
                    }),
                },
            )
            .await?;
        Ok(Ok(stored))
    }

    /// An image's digest and its signing per profile (none when no rule
    /// covered it when it was pushed).
    pub async fn image_signing_status(
        &self,
        name: &str,
        reference: &ManifestRef,
    ) -> ServiceResult<(String, Vec<ImageSignatureRow>)> {
        let (_, row) = self.repository_manifest(name, reference).await?;
        let statuses = self.db.image_signatures(row.id).await?;
        Ok((row.digest, statuses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    async fn open_registry(dir: &Path, secret: u8) -> Registry {
        crate::service::tests::registry_in(dir).await.with_signing(
            Arc::new(SecretBox::from_key([secret; 32])),
            "eu-west-1".into(),
        )
    }

    /// Pushes an image manifest (with its config blob) to `name`; returns its digest.
    async fn push(registry: &Registry, name: &str, label: &str) -> String {
        let config = format!(r#"{{"architecture":"amd64","os":"linux","comment":"{label}"}}"#);
        let digest = super::super::manifests::sha256_of(config.as_bytes());
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(
            config.clone(),
        ))]);
        let by = super::super::Uploader {
            user_id: 0,
            name: "test",
        };
        registry
            .upload_monolithic(name, by, &digest, Some(config.len() as u64), body)
            .await
            .unwrap();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.as_str(), "size": config.len()},
            "layers": [],
        });
        let body = serde_json::to_vec(&manifest).unwrap();
        registry
            .put_manifest(
                name,
                &ManifestRef::Tag(label.into()),
                Some("application/vnd.oci.image.manifest.v1+json"),
                &body,
            )
            .await
            .unwrap()
            .digest
            .to_string()
    }

    /// Sets a signing configuration of one rule: `profile_arn` signs every push.
    async fn sign_every_repository(registry: &Registry, profile_arn: &str) {
        let config = SigningConfiguration {
            rules: vec![SigningRule {
                signing_profile_arn: profile_arn.to_owned(),
                repository_filters: None,
            }],
        };
        registry
            .put_signing_configuration(&config)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_signing_whose_key_cannot_be_opened_fails_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let registry = open_registry(dir.path(), 1).await;
        let profile = registry.create_signing_profile("release").await.unwrap();
        assert_eq!(
            profile.arn,
            "arn:aws:signer:eu-west-1:123456789012:/signing-profiles/release"
        );
        sign_every_repository(&registry, &profile.arn).await;
        let signed = push(&registry, "app", "v1").await;
        let by_digest = |d: &str| ManifestRef::Digest(berth_app::oci::Digest::parse(d).unwrap());
        let (_, rows) = registry
            .image_signing_status("app", &by_digest(&signed))
            .await
            .unwrap();
        assert_eq!(rows[0].status, "IN_PROGRESS");
        // The signature and its blobs are pushed as the signing runs; they are
        // not signed in turn.
        assert_eq!(registry.run_queued_signings().await.unwrap(), 1);
        let (_, rows) = registry
            .image_signing_status("app", &by_digest(&signed))
            .await
            .unwrap();
        assert_eq!(rows[0].status, "COMPLETE");
        let signature = rows[0].signature_digest.clone().unwrap();
        let (_, rows) = registry
            .image_signing_status("app", &by_digest(&signature))
            .await
            .unwrap();
        assert!(rows.is_empty());

        // The same installation with another secret key cannot open the
        // profile's key: the signing fails, and says why.
        let changed = open_registry(dir.path(), 2).await;
        let digest = push(&changed, "app", "v2").await;
        assert_eq!(changed.run_queued_signings().await.unwrap(), 1);
        let (_, rows) = changed
            .image_signing_status("app", &by_digest(&digest))
            .await
            .unwrap();
        assert_eq!(rows[0].status, "FAILED");
        assert_eq!(
            rows[0].failure_code.as_deref(),
            Some("SIGNING_KEY_UNREADABLE")
        );
        assert!(rows[0]
            .failure_reason
            .as_deref()
            .unwrap()
            .contains("was the installation's secret key changed?"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_push_and_its_signing_are_stored_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let registry = open_registry(dir.path(), 1).await;
        let profile = registry.create_signing_profile("release").await.unwrap();
        sign_every_repository(&registry, &profile.arn).await;
        push(&registry, "app", "v1").await;
        // The signing cannot be queued (as if the process died right there):
        // the manifest is not stored either, so no image is left unsigned.
        let db = sqlx::SqlitePool::connect(&format!(
            "sqlite://{}",
            dir.path().join("berth.db").display()
        ))
        .await
        .unwrap();
        sqlx::query(
            "CREATE TRIGGER no_signing BEFORE INSERT ON image_signatures
             BEGIN SELECT RAISE(ABORT, 'no signing'); END",
        )
        .execute(&db)
        .await
        .unwrap();
        db.close().await;
        let body = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [],
        }))
        .unwrap();
        let refused = registry
            .put_manifest(
                "app",
                &ManifestRef::Tag("v2".into()),
                Some("application/vnd.oci.image.index.v1+json"),
                &body,
            )
            .await;
        assert!(refused.is_err(), "{refused:?}");
        assert!(matches!(
            registry
                .get_manifest("app", &ManifestRef::Tag("v2".into()), false)
                .await,
            Err(ServiceError::ManifestUnknown(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_signing_whose_claim_was_taken_over_is_not_recorded_and_its_signature_goes() {
        let dir = tempfile::tempdir().unwrap();
        let registry = open_registry(dir.path(), 1).await;
        let profile = registry.create_signing_profile("release").await.unwrap();
        sign_every_repository(&registry, &profile.arn).await;
        let signed = push(&registry, "app", "v1").await;
        let subject = berth_app::oci::Digest::parse(&signed).unwrap();
        // One process claims the signing, then stalls past its lease; another
        // takes the claim over (a lease of 0 ms: the first claim has run out).
        let stalled = registry.db.claim_signing(LEASE_MS).await.unwrap().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let taker = registry.db.claim_signing(0).await.unwrap().unwrap();
        assert_ne!(stalled.claimed_at, taker.claimed_at);
        // The stalled one finishes first: its finish is refused and the
        // signature it stored is deleted.
        assert!(!registry.run_signing(&stalled).await.unwrap());
        async fn signatures_of(
            registry: &Registry,
            subject: &berth_app::oci::Digest,
        ) -> Vec<String> {
            let page = registry
                .list_referrers("app", subject, None, None, 100)
                .await
                .unwrap();
            page.items.into_iter().map(|r| r.digest).collect()
        }
        assert_eq!(
            signatures_of(&registry, &subject).await,
            Vec::<String>::new()
        );
        let (_, rows) = registry
            .image_signing_status("app", &ManifestRef::Digest(subject.clone()))
            .await
            .unwrap();
        assert_eq!(rows[0].status, "IN_PROGRESS", "the loser records nothing");
        // The claim's holder finishes: its signature is the one, recorded.
        assert!(registry.run_signing(&taker).await.unwrap());
        let (_, rows) = registry
            .image_signing_status("app", &ManifestRef::Digest(subject.clone()))
            .await
            .unwrap();
        assert_eq!(rows[0].status, "COMPLETE");
        assert_eq!(
            signatures_of(&registry, &subject).await,
            vec![rows[0].signature_digest.clone().unwrap()],
            "one signature, the recorded one"
        );
        // A finish after the winner's is refused too, and leaves the winner's.
        assert!(!registry.run_signing(&stalled).await.unwrap());
        assert_eq!(
            signatures_of(&registry, &subject).await,
            vec![rows[0].signature_digest.clone().unwrap()]
        );
    }

    fn rule(arn: &str, filters: Option<&[&str]>) -> SigningRule {
        SigningRule {
            signing_profile_arn: arn.into(),
            repository_filters: filters.map(|fs| {
                fs.iter()
                    .map(|f| SigningRepositoryFilter {
                        filter: (*f).into(),
                        filter_type: "WILDCARD_MATCH".into(),
                    })
                    .collect()
            }),
        }
    }

    #[test]
    fn rules_cover_repositories_by_whole_name_wildcards_and_each_profile_once() {
        let config = SigningConfiguration {
            rules: vec![
                rule("a", Some(&["prod/*"])),
                rule("b", Some(&["web"])),
                rule("a", Some(&["web*"])),
                rule("c", None),
            ],
        };
        assert_eq!(profiles_for(&config, "prod/api"), ["a", "c"]);
        assert_eq!(profiles_for(&config, "web"), ["b", "a", "c"]);
        assert_eq!(profiles_for(&config, "my-web"), ["c"]);
    }

    #[test]
    fn filters_and_profile_names_have_the_models_shapes() {
        assert!(valid_filter("prod/*"));
        assert!(valid_filter("team-a/web.app_1"));
        assert!(!valid_filter("Prod"));
        assert!(!valid_filter("a//b"));
        assert!(!valid_filter("a--b"));
        assert!(!valid_filter(""));
        assert!(valid_profile_name("release_2024"));
        assert!(!valid_profile_name("a"));
        assert!(!valid_profile_name("with-dash"));
    }
}
