//! Managed image signing (issue 18 §3), the pure part: the installation's
//! signing CA, signing-profile keys with certificates it issues, and
//! signatures in the Notary Project format. No database, storage or async:
//! `service::signing` keeps the records (private keys sealed by the
//! installation secret) and calls this module.
//!
//! Follows the Notary Project specifications
//! (<https://github.com/notaryproject/specifications>, `specs/`):
//! - `signature-specification.md`: the payload `{"targetArtifact":
//!   <descriptor>}` (media type `application/vnd.cncf.notary.payload.v1+json`),
//!   the signed attributes (signing scheme, signing time, content type), the
//!   certificate chain as the unsigned attribute, the manifest annotation
//!   `io.cncf.notary.x509chain.thumbprint#S256`, and the certificate
//!   requirements: CA certificates with critical `basicConstraints` (cA true)
//!   and critical `keyUsage` keyCertSign; leaf certificates with critical
//!   `keyUsage` digitalSignature only, `basicConstraints` cA false, and
//!   `extendedKeyUsage` id-kp-codeSigning only.
//! - `signature-envelope-jws.md`: the JWS JSON serialization
//!   (`application/jose+json`) with protected headers `alg`, `cty`, `crit`
//!   (`["io.cncf.notary.signingScheme"]`), `io.cncf.notary.signingScheme`
//!   (`notary.x509`), `io.cncf.notary.signingTime` (RFC 3339), and the chain,
//!   leaf first, in the unprotected header `x5c` (standard base64 DER).
//! - `signing-scheme.md`: `notary.x509`, where the signing time is the
//!   signer's claim and every certificate must be valid when verified.
//!
//! The keys are ECDSA on P-256 with SHA-256 (JWS `ES256`), for the CA and
//! every profile: the Notary Project's algorithm table lists it, `notation`
//! verifies it, it is the smallest and fastest of the listed algorithms, and
//! `ring` signs it in the fixed `r‖s` form JWS requires. Keys are made and
//! used by `ring` (through `rcgen`, which also writes the certificates); no
//! primitive is hand-made. Private keys leave this module only as PKCS#8
//! bytes in [`Zeroizing`] buffers, for the caller to seal.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// The artifact type of a Notary Project signature manifest.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.cncf.notary.signature";
/// The media type of the JWS envelope (the signature manifest's layer).
pub const ENVELOPE_MEDIA_TYPE: &str = "application/jose+json";
/// The media type of the signed payload (`cty`).
pub const PAYLOAD_MEDIA_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";
/// The signature manifest annotation listing the chain's SHA-256 thumbprints.
pub const THUMBPRINT_ANNOTATION: &str = "io.cncf.notary.x509chain.thumbprint#S256";
/// The signing scheme: X.509 certificates, the signing time as claimed.
pub const SIGNING_SCHEME: &str = "notary.x509";
/// How long the CA certificate is valid.
pub const CA_VALIDITY_DAYS: i64 = 20 * 365;
/// How long a signing profile's certificate is valid. Under `notary.x509`
/// (no timestamp authority) a signature verifies only while every
/// certificate of its chain is valid.
pub const PROFILE_VALIDITY_DAYS: i64 = 10 * 365;

/// Why a key, a certificate or a signature could not be made.
#[derive(Debug, thiserror::Error)]
#[error("signing: {0}")]
pub struct SigningError(String);

impl From<rcgen::Error> for SigningError {
    fn from(error: rcgen::Error) -> Self {
        Self(error.to_string())
    }
}

/// A key pair and the certificate issued for it.
pub struct Certified {
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER; wiped when dropped.
    pub key_pkcs8: Zeroizing<Vec<u8>>,
    /// When the certificate stops being valid.
    pub not_after: OffsetDateTime,
}

impl std::fmt::Debug for Certified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certified")
            .field("cert_der", &self.cert_der.len())
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// The CA's distinguished name for this registry (made the same way when
/// the CA is created and when it issues, so issuer and subject match).
fn ca_name(registry_id: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "Berth");
    name.push(
        DnType::CommonName,
        format!("Berth signing CA {registry_id}"),
    );
    name
}

fn ca_params(registry_id: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = ca_name(registry_id);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f; // a positive INTEGER
    SerialNumber::from_slice(&bytes)
}

fn validity(params: &mut CertificateParams, now: OffsetDateTime, days: i64) {
    // An hour of slack for verifiers whose clocks run behind.
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
}

/// Makes the installation's signing CA: a self-signed certificate for a
/// fresh P-256 key, valid [`CA_VALIDITY_DAYS`] from `now`.
pub fn new_authority(registry_id: &str, now: OffsetDateTime) -> Result<Certified, SigningError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = ca_params(registry_id);
    params.serial_number = Some(serial());
    validity(&mut params, now, CA_VALIDITY_DAYS);
    let cert = params.self_signed(&key)?;
    Ok(Certified {
        cert_der: cert.der().to_vec(),
        key_pkcs8: Zeroizing::new(key.serialize_der()),
        not_after: params.not_after,
    })
}

/// Issues a signing profile's key: a fresh P-256 key with a code-signing
/// certificate (subject CN `profile`) signed by the CA whose PKCS#8 key is
/// `ca_key`, valid [`PROFILE_VALIDITY_DAYS`] from `now`.
pub fn issue_profile(
    registry_id: &str,
    ca_key: &[u8],
    profile: &str,
    now: OffsetDateTime,
) -> Result<Certified, SigningError> {
    let ca_key = KeyPair::try_from(ca_key)?;
    let issuer = Issuer::new(ca_params(registry_id), ca_key);
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "Berth");
    name.push(DnType::OrganizationalUnitName, "signing profile");
    name.push(DnType::CommonName, profile);
    params.distinguished_name = name;
    params.serial_number = Some(serial());
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, now, PROFILE_VALIDITY_DAYS);
    let cert = params.signed_by(&key, &issuer)?;
    Ok(Certified {
        cert_der: cert.der().to_vec(),
        key_pkcs8: Zeroizing::new(key.serialize_der()),
        not_after: params.not_after,
    })
}

/// A certificate as PEM.
pub fn pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The SHA-256 thumbprints (lowercase hex) of a chain, as the JSON array
/// string the signature manifest's [`THUMBPRINT_ANNOTATION`] holds.
pub fn thumbprints(chain: &[&[u8]]) -> String {
    let prints: Vec<String> = chain
        .iter()
        .map(|der| hex::encode(Sha256::digest(der)))
        .collect();
    serde_json::to_string(&prints).expect("strings serialize")
}

/// The manifest a signature is made for: the payload's `targetArtifact`.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The manifest's media type.
    pub media_type: &'a str,
    /// The manifest's digest.
    pub digest: &'a str,
    /// The manifest's size in bytes.
    pub size: u64,
}

/// Signs `target` with the profile key `key` (PKCS#8) and returns the JWS
/// envelope (JSON serialization) with `chain` (DER, leaf first, ending with
/// the CA) in `x5c`.
pub fn envelope(
    key: &[u8],
    chain: &[&[u8]],
    target: Target<'_>,
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SigningError> {
    let rng = ring::rand::SystemRandom::new();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key, &rng)
        .map_err(|e| SigningError(format!("the profile key cannot be read: {e}")))?;
    let signing_time = signing_time
        .replace_nanosecond(0)
        .unwrap_or(signing_time)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| SigningError(e.to_string()))?;
    let protected = serde_json::json!({
        "alg": "ES256",
        "cty": PAYLOAD_MEDIA_TYPE,
        "crit": ["io.cncf.notary.signingScheme"],
        "io.cncf.notary.signingScheme": SIGNING_SCHEME,
        "io.cncf.notary.signingTime": signing_time,
    });
    let payload = serde_json::json!({
        "targetArtifact": {
            "mediaType": target.media_type,
            "digest": target.digest,
            "size": target.size,
        }
    });
    let protected = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&protected).expect("serializes"));
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).expect("serializes"));
    let signing_input = format!("{protected}.{payload}");
    let signature = pair
        .sign(&rng, signing_input.as_bytes())
        .map_err(|e| SigningError(format!("ECDSA signing failed: {e}")))?;
    let x5c: Vec<String> = chain.iter().map(|der| STANDARD.encode(der)).collect();
    let envelope = serde_json::json!({
        "payload": payload,
        "protected": protected,
        "header": {
            "x5c": x5c,
            "io.cncf.notary.signingAgent": concat!("berth/", env!("CARGO_PKG_VERSION")),
        },
        "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
    });
    Ok(serde_json::to_vec(&envelope).expect("serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
    use x509_parser::prelude::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn the_ca_is_a_critical_ca_that_signs_certificates() {
        let ca = new_authority("123456789012", now()).unwrap();
        let (_, cert) = X509Certificate::from_der(&ca.cert_der).unwrap();
        let bc = cert.basic_constraints().unwrap().unwrap();
        assert!(bc.critical && bc.value.ca);
        let ku = cert.key_usage().unwrap().unwrap();
        assert!(ku.critical && ku.value.key_cert_sign());
        assert!(cert
            .subject()
            .to_string()
            .contains("Berth signing CA 123456789012"));
        cert.verify_signature(None).unwrap();
    }

    #[test]
    fn a_profile_certificate_is_a_code_signing_leaf_issued_by_the_ca() {
        let ca = new_authority("123456789012", now()).unwrap();
        let leaf = issue_profile("123456789012", &ca.key_pkcs8, "release_key", now()).unwrap();
        let (_, ca_cert) = X509Certificate::from_der(&ca.cert_der).unwrap();
        let (_, cert) = X509Certificate::from_der(&leaf.cert_der).unwrap();
        assert_eq!(cert.issuer(), ca_cert.subject());
        cert.verify_signature(Some(ca_cert.public_key())).unwrap();
        let ku = cert.key_usage().unwrap().unwrap();
        assert!(ku.critical && ku.value.digital_signature());
        assert!(!ku.value.key_cert_sign() && !ku.value.key_encipherment());
        let eku = cert.extended_key_usage().unwrap().unwrap();
        assert!(eku.value.code_signing);
        assert!(!eku.value.any && !eku.value.server_auth && !eku.value.client_auth);
        assert!(!eku.value.email_protection && !eku.value.time_stamping);
        let bc = cert.basic_constraints().unwrap().unwrap();
        assert!(!bc.value.ca);
        assert!(cert.subject().to_string().contains("CN=release_key"));
    }

    #[test]
    fn the_envelope_verifies_over_its_protected_header_and_payload() {
        let ca = new_authority("123456789012", now()).unwrap();
        let leaf = issue_profile("123456789012", &ca.key_pkcs8, "p1", now()).unwrap();
        let digest = format!("sha256:{}", "ab".repeat(32));
        let target = Target {
            media_type: "application/vnd.oci.image.manifest.v1+json",
            digest: &digest,
            size: 1234,
        };
        let bytes = envelope(
            &leaf.key_pkcs8,
            &[&leaf.cert_der, &ca.cert_der],
            target,
            now(),
        )
        .unwrap();
        let env: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let protected = env["protected"].as_str().unwrap();
        let payload = env["payload"].as_str().unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(protected).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["cty"], PAYLOAD_MEDIA_TYPE);
        assert_eq!(
            header["crit"],
            serde_json::json!(["io.cncf.notary.signingScheme"])
        );
        assert_eq!(header["io.cncf.notary.signingScheme"], "notary.x509");
        assert!(OffsetDateTime::parse(
            header["io.cncf.notary.signingTime"].as_str().unwrap(),
            &::time::format_description::well_known::Rfc3339
        )
        .is_ok());
        let body: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(body["targetArtifact"]["digest"], digest.as_str());
        assert_eq!(body["targetArtifact"]["size"], 1234);
        let x5c = env["header"]["x5c"].as_array().unwrap();
        assert_eq!(
            STANDARD.decode(x5c[0].as_str().unwrap()).unwrap(),
            leaf.cert_der
        );
        assert_eq!(
            STANDARD.decode(x5c[1].as_str().unwrap()).unwrap(),
            ca.cert_der
        );

        let (_, cert) = X509Certificate::from_der(&leaf.cert_der).unwrap();
        let public = UnparsedPublicKey::new(
            &ECDSA_P256_SHA256_FIXED,
            cert.public_key().subject_public_key.data.to_vec(),
        );
        let signature = URL_SAFE_NO_PAD
            .decode(env["signature"].as_str().unwrap())
            .unwrap();
        let input = format!("{protected}.{payload}");
        public.verify(input.as_bytes(), &signature).unwrap();
        // Another payload does not verify under the same signature.
        let other = format!("{protected}.{}", URL_SAFE_NO_PAD.encode(b"{}"));
        assert!(public.verify(other.as_bytes(), &signature).is_err());
    }

    #[test]
    fn thumbprints_are_the_sha256_of_each_certificate_in_order() {
        let prints: Vec<String> = serde_json::from_str(&thumbprints(&[b"a", b"b"])).unwrap();
        assert_eq!(
            prints,
            [
                "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
                "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
            ]
        );
    }

    #[test]
    fn pem_wraps_base64_at_64_columns() {
        let text = pem(&[0u8; 100]);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(text.lines().all(|l| l.len() <= 64));
        assert!(text.ends_with("-----END CERTIFICATE-----\n"));
    }
}
