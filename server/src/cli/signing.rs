//! `berth signing-key …` and `berth signing-status`: managed signing's
//! profiles, the signing CA, and what was signed.

use super::scan::image_reference;
use super::{open, CliResult};
use berth::config::{Settings, SigningKeyCommand};
use berth::console;
use berth::installation::Open;

/// A signing profile as `berth signing-key … --json` prints it.
fn profile_json(
    p: &berth::service::signing::SigningProfile,
    certificate: bool,
) -> serde_json::Value {
    let mut out = serde_json::json!({
        "name": p.name,
        "signingProfileArn": p.arn,
        "createdAt": console::format_utc(p.created_at),
        "certificateNotAfter": console::format_utc(p.not_after),
        "certificateFingerprintSha256": p.fingerprint,
    });
    if certificate {
        out["certificatePem"] = p.certificate_pem.clone().into();
    }
    out
}

/// `berth signing-key create|list|describe|delete|ca`.
pub async fn run(settings: Settings, command: SigningKeyCommand) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let registry = &installation.registry;
    let show = |p: &berth::service::signing::SigningProfile| {
        println!("{}\t{}", p.name, p.arn);
        println!(
            "  created {}, certificate valid until {}",
            console::format_utc(p.created_at),
            console::format_utc(p.not_after)
        );
        println!("  certificate SHA-256 {}", p.fingerprint);
    };
    // One profile: as JSON with its certificate, or as text (with the
    // certificate's PEM when `pem`).
    let one = |p: berth::service::signing::SigningProfile, json: bool, pem: bool| {
        if json {
            println!("{}", profile_json(&p, true));
        } else {
            show(&p);
            if pem {
                print!("{}", p.certificate_pem);
            }
        }
    };
    match command {
        SigningKeyCommand::Create { name, json } => {
            let p = registry.create_signing_profile(&name).await;
            one(p.map_err(|e| e.to_string())?, json, false);
        }
        SigningKeyCommand::List { json } => {
            let all = registry
                .signing_profiles()
                .await
                .map_err(|e| e.to_string())?;
            if json {
                let list: Vec<_> = all.iter().map(|p| profile_json(p, false)).collect();
                println!("{}", serde_json::Value::Array(list));
            } else if all.is_empty() {
                println!("no signing profiles (create one with `berth signing-key create NAME`)");
            } else {
                all.iter().for_each(show);
            }
        }
        SigningKeyCommand::Describe { name, json } => {
            let p = registry.signing_profile(&name).await;
            one(p.map_err(|e| e.to_string())?, json, true);
        }
        SigningKeyCommand::Delete { name } => {
            registry
                .delete_signing_profile(&name)
                .await
                .map_err(|e| e.to_string())?;
            println!("deleted signing profile {name}");
        }
        SigningKeyCommand::Ca => {
            print!(
                "{}",
                registry.signing_ca_pem().await.map_err(|e| e.to_string())?
            );
        }
    }
    Ok(())
}

/// `berth signing-status IMAGE`: each profile's signing of the image.
pub async fn status(settings: Settings, image: &str, json: bool) -> CliResult {
    let (name, reference) = image_reference(image)?;
    let installation = open(settings, Open::Existing).await?;
    let (digest, rows) = installation
        .registry
        .image_signing_status(name, &reference)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "signingProfileArn": r.profile_arn,
                    "status": r.status,
                    "failureCode": r.failure_code,
                    "failureReason": r.failure_reason,
                    "signatureDigest": r.signature_digest,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"repositoryName": name, "imageDigest": digest, "signingStatuses": list})
        );
    } else if rows.is_empty() {
        println!("{name}@{digest}: not signed (no signing rule covered it when it was pushed)");
    } else {
        for r in &rows {
            match (&r.signature_digest, &r.failure_reason) {
                (Some(signature), _) => {
                    println!(
                        "{name}@{digest}: {} by {} (signature {name}@{signature})",
                        r.status, r.profile_arn
                    )
                }
                (None, Some(reason)) => println!(
                    "{name}@{digest}: {} by {}: {} ({reason})",
                    r.status,
                    r.profile_arn,
                    r.failure_code.as_deref().unwrap_or("")
                ),
                (None, None) => println!("{name}@{digest}: {} by {}", r.status, r.profile_arn),
            }
        }
    }
    Ok(())
}
