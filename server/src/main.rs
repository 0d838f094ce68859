//! The `berth` command: `serve`, and the admin subcommands that work on the same
//! installation (also while `serve` runs on it).

use berth::auth::accounts::{AccountError, Accounts};
use berth::config::{
    AccessKeyCommand, Cli, Command, LifecycleCommand, Settings, SigningKeyCommand, StorageKind,
    UserCommand, VulndbCommand,
};
use berth::installation::{Installation, Open};
use berth::{auth, build_router, console, jobs, leptos_options, AppState, RegistryInfo};
use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "berth=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let settings = match Settings::load(&cli.settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("berth: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(settings).await,
        Command::User(command) => user(settings, command).await,
        Command::Gc(args) => gc(settings, args).await,
        Command::Jobs { kind, limit, json } => {
            jobs_list(settings, kind.as_deref(), limit, json).await
        }
        Command::AccessKey(command) => access_key(settings, command).await,
        Command::Lifecycle(command) => lifecycle(settings, command).await,
        Command::Fsck { json } => fsck(settings, json).await,
        Command::Scan { image, json } => scan(settings, &image, json).await,
        Command::ScanHistory { image, json } => scan_history(settings, &image, json).await,
        Command::MigrateStorage { from, to } => migrate_storage(settings, &from, &to).await,
        Command::Vulndb(command) => vulndb(settings, command).await,
        Command::SigningKey(command) => signing_key(settings, command).await,
        Command::SigningStatus { image, json } => signing_status(settings, &image, json).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("berth: {message}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), String>;

/// Opens the installation; only `serve` and `migrate` may create or migrate it.
async fn open(settings: Settings, how: Open) -> Result<Installation, String> {
    let installation = Installation::open(settings, how)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(password) = &installation.generated_admin_password {
        println!("Created user 'admin' with password: {password}");
        println!("(shown once; change it with `berth user set-password admin`)");
    }
    Ok(installation)
}

async fn serve(settings: Settings) -> CliResult {
    berth::service::check_gc_grace(settings.gc_grace).map_err(|e| format!("gc_grace: {e}"))?;
    let tls = match &settings.tls {
        Some(files) => Some(berth::tls::server_config(files).map_err(|e| e.to_string())?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let installation = open(settings, Open::CreateOrMigrate).await?;
    let settings = &installation.settings;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{addr}"));
    let info = Arc::new(RegistryInfo::new(
        installation.identity.registry_id.clone(),
        installation.identity.region.clone(),
        public_url.clone(),
    ));
    let registry_host = info.host.clone();
    if !settings.site_root.join("pkg").is_dir() {
        tracing::warn!(
            site_root = %settings.site_root.display(),
            "console assets not found (build them with `cargo xtask build` or `make run`); the console will not hydrate"
        );
    }
    let state = AppState {
        registry: installation.registry.clone(),
        lifecycle_delay_after_save: settings.lifecycle_delay_after_save,
        authz: Arc::new(auth::authorize::Authorizer::new(
            installation.db.clone(),
            info.clone(),
        )),
        info,
        auth: Arc::new(
            auth::Authenticator::new(installation.db.clone(), installation.secrets.clone())
                .with_rate_limit(settings.rate_limit),
        ),
    };
    let gc_status = Arc::new(jobs::gc::GcStatus::new(
        settings.gc_interval,
        settings.gc_grace,
    ));
    let console = Arc::new(console::Console::new(
        installation.registry.clone(),
        state.auth.clone(),
        state.authz.clone(),
        state.info.clone(),
        settings.lifecycle_delay_after_save,
        console::settings::Operations {
            create_on_push: settings.create_on_push,
            gc: gc_status.clone(),
            vulndb: Arc::new(jobs::vulndb_runs::VulndbRuns::new(
                settings.vulndb_sources.clone(),
                settings.vulndb_interval,
                vulndb_update_options(settings),
            )),
        },
    ));
    let sessions = console::session::SessionSettings {
        idle_timeout: settings.console_idle_timeout,
        lifetime: settings.console_session_lifetime,
        secure: scheme == "https",
    };
    let router = build_router(
        state,
        console,
        sessions,
        leptos_options(&settings.site_root, addr),
    );
    // Uploads a crash or a departed client left behind are removed before
    // anyone can push, so what a restart finds expired is gone when it listens.
    jobs::sweep_uploads(&installation.registry, settings.upload_expiry).await;
    // Jobs a stopped process left running are reported, and lifecycle
    // applications among them queued again.
    match installation.registry.recover_interrupted_jobs().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            jobs = n,
            "found jobs interrupted by a stop; lifecycle applications and scans among them run again"
        ),
        Err(error) => tracing::warn!(%error, "could not look for interrupted jobs"),
    }
    let background = jobs::spawn(
        installation.registry.clone(),
        jobs::Schedule {
            upload_expiry: settings.upload_expiry,
            lifecycle_every: settings.lifecycle_interval,
            gc_every: settings.gc_interval,
            gc_grace: settings.gc_grace,
        },
        gc_status,
    );

    // Periodic updates, unless turned off (interval 0) or there is nothing to update.
    let vulndb_updates = settings
        .vulndb_interval
        .filter(|_| !settings.vulndb_sources.is_empty())
        .map(|every| {
            jobs::vulndb::spawn(
                installation.registry.clone(),
                settings.vulndb_sources.clone(),
                every,
                vulndb_update_options(settings),
            )
        });

    println!("Berth is listening on {scheme}://{addr}");
    println!("  console:   {public_url}/");
    println!("  registry:  {registry_host}   (docker login {registry_host})");
    match &installation.generated_admin_password {
        Some(password) => println!("  sign in:   admin / {password}"),
        None => println!(
            "  sign in:   admin, with the password printed at first start or BERTH_ADMIN_PASSWORD \
             (reset it with `berth user set-password admin`)"
        ),
    }
    println!(
        "  registry id {} in region {}; data in {}",
        installation.identity.registry_id,
        installation.identity.region,
        settings.data_dir.display()
    );
    println!(
        "  blobs in {}{}",
        installation.registry.describe_store(),
        if settings.storage_redirect {
            " (downloads redirected to presigned URLs)"
        } else {
            ""
        }
    );

    let served = match tls {
        Some(config) => {
            axum::serve(
                berth::tls::TlsListener::new(listener, config),
                router.into_make_service_with_connect_info::<berth::ClientAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await
        }
        None => {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<berth::ClientAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await
        }
    };
    served.map_err(|e| format!("server failed: {e}"))?;
    background.abort();
    if let Some(updates) = vulndb_updates {
        updates.abort();
    }
    if let Err(e) = installation
        .registry
        .touches()
        .flush(&installation.db)
        .await
    {
        tracing::warn!(error = %e, "could not record the last pull times");
    }
    installation.db.close().await;
    Ok(())
}

async fn migrate(settings: Settings) -> CliResult {
    let installation = open(settings, Open::CreateOrMigrate).await?;
    let version = installation
        .db
        .schema_version()
        .await
        .map_err(|e| format!("database: {e}"))?;
    println!(
        "The database in {} is at schema version {version}, this berth's.",
        installation.settings.data_dir.display()
    );
    installation.db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}

fn password_from_env_or_generated() -> (String, bool) {
    match std::env::var("BERTH_USER_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (auth::generate_password(), true),
    }
}

async fn user(settings: Settings, command: UserCommand) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let accounts = Accounts::new(installation.db.clone(), installation.secrets.clone());
    let failed = |e: AccountError| e.to_string();
    match command {
        UserCommand::List { json } => {
            let users = accounts.users().await.map_err(failed)?;
            if json {
                let list: Vec<_> = users
                    .iter()
                    .map(|u| serde_json::json!({"name": u.name, "createdAt": console::format_utc(u.created_at)}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                println!("{:<32} CREATED", "NAME");
                for u in users {
                    println!("{:<32} {}", u.name, console::format_utc(u.created_at));
                }
            }
        }
        UserCommand::Create { name, policies } => {
            let (password, generated) = password_from_env_or_generated();
            accounts
                .create_user(&name, &password, &policies)
                .await
                .map_err(failed)?;
            println!("Created user {name:?}.");
            if generated {
                println!("Password (shown once): {password}");
            }
            if policies.is_empty() {
                println!("No policy attached: the user may do nothing until one is (berth user attach-policy).");
            }
        }
        UserCommand::AttachPolicy { name, policy } => {
            let policy = accounts
                .attach_managed_policy(&name, &policy)
                .await
                .map_err(failed)?;
            println!("Attached {policy} to {name:?}.");
        }
        UserCommand::PutPolicy {
            name,
            policy_name,
            file,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            accounts
                .put_inline_policy(&name, &policy_name, &text)
                .await
                .map_err(|e| match e {
                    AccountError::InvalidPolicy(message) => {
                        format!("{}: {message}", file.display())
                    }
                    other => other.to_string(),
                })?;
            println!("Put inline policy {policy_name:?} on {name:?}.");
        }
        UserCommand::DetachPolicy { name, policy } => {
            accounts
                .detach_policy(&name, &policy)
                .await
                .map_err(failed)?;
            println!("Detached {policy} from {name:?}.");
        }
        UserCommand::Policies { name, json } => {
            let policies = accounts.policies(&name).await.map_err(failed)?;
            if json {
                let list: Vec<_> = policies
                    .iter()
                    .map(|(n, doc)| serde_json::json!({"policyName": n, "type": if doc.is_some() { "inline" } else { "managed" }}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for (n, doc) in policies {
                    println!("{n} ({})", if doc.is_some() { "inline" } else { "managed" });
                }
            }
        }
        UserCommand::SetPassword { name } => {
            let (password, generated) = password_from_env_or_generated();
            accounts
                .set_password(&name, &password)
                .await
                .map_err(failed)?;
            println!("Password of {name:?} changed.");
            if generated {
                println!("New password (shown once): {password}");
            }
        }
        UserCommand::Delete { name } => {
            accounts.delete_user(&name).await.map_err(failed)?;
            println!("Deleted user {name:?}.");
        }
    }
    Ok(())
}

async fn gc(settings: Settings, args: berth::config::GcArgs) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let grace = args.grace_seconds.map_or(
        installation.settings.gc_grace,
        std::time::Duration::from_secs,
    );
    let report = if args.dry_run {
        jobs::gc::collect(&installation.registry, grace, true).await
    } else {
        jobs::gc::run(&installation.registry, grace).await
    }
    .map_err(|e| e.to_string())?;
    let verb = if report.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for (_, digest) in &report.manifests {
        println!("{verb} manifest {digest} (an index's child nothing needs any more)");
    }
    for (digest, size) in &report.blobs {
        println!("{verb} {digest} ({size} bytes)");
    }
    println!(
        "{} {} blob(s), {} bytes; {} stale repository link(s); {} leftover upload(s)",
        if report.dry_run {
            "Dry run: would delete"
        } else {
            "Deleted"
        },
        report.blobs.len(),
        report.bytes,
        report.links.len(),
        report.leftover_uploads
    );
    Ok(())
}

async fn jobs_list(settings: Settings, kind: Option<&str>, limit: u32, json: bool) -> CliResult {
    use berth::service::jobs::JobKind;
    let kind = match kind {
        None => None,
        Some("gc") => Some(JobKind::Gc),
        Some("lifecycle") => Some(JobKind::Lifecycle),
        Some("scan") => Some(JobKind::Scan),
        Some(other) => return Err(format!("--kind {other:?}: use gc, lifecycle or scan")),
    };
    let installation = open(settings, Open::Existing).await?;
    let rows = installation
        .registry
        .jobs(kind, i64::from(limit))
        .await
        .map_err(|e| e.to_string())?;
    let when = |ms: Option<i64>| ms.map(console::format_utc);
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|j| {
                serde_json::json!({
                    "id": j.id,
                    "kind": j.kind,
                    "repositoryName": j.repository,
                    "imageDigest": j.digest,
                    "status": j.status,
                    "runAfter": console::format_utc(j.run_after),
                    "startedAt": when(j.started_at),
                    "finishedAt": when(j.finished_at),
                    "summary": j.summary,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        println!(
            "{:<6} {:<10} {:<12} {:<24} {:<24} SUMMARY",
            "ID", "KIND", "STATUS", "REPOSITORY", "FINISHED"
        );
        for j in rows {
            println!(
                "{:<6} {:<10} {:<12} {:<24} {:<24} {}",
                j.id,
                j.kind,
                j.status,
                j.repository.as_deref().unwrap_or("-"),
                when(j.finished_at).unwrap_or_else(|| match j.status.as_str() {
                    "pending" => format!("due {}", console::format_utc(j.run_after)),
                    _ => "-".into(),
                }),
                j.summary.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// `REPOSITORY[:TAG|@DIGEST]` as a repository and a reference.
fn image_reference(image: &str) -> Result<(&str, berth::service::ManifestRef), String> {
    use berth::service::ManifestRef;
    if let Some((name, digest)) = image.split_once('@') {
        let digest = berth_app::oci::Digest::parse(digest)
            .map_err(|e| format!("{image:?}: the digest is malformed: {e}"))?;
        return Ok((name, ManifestRef::Digest(digest)));
    }
    let (name, tag) = image.split_once(':').unwrap_or((image, "latest"));
    berth_app::oci::validate_tag(tag).map_err(|e| format!("{image:?}: {e}"))?;
    Ok((name, ManifestRef::Tag(tag.to_owned())))
}

async fn scan(settings: Settings, image: &str, json: bool) -> CliResult {
    use berth::service::scans::severity_name;
    let (name, reference) = image_reference(image)?;
    let installation = open(settings, Open::Existing).await?;
    let (digest, view) = installation
        .registry
        .scan_and_wait(name, &reference)
        .await
        .map_err(|e| e.to_string())?;
    let counts: std::collections::BTreeMap<&str, usize> = view
        .severity_counts()
        .into_iter()
        .map(|(severity, n)| (severity_name(severity), n))
        .collect();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "repositoryName": name,
                "imageDigest": digest,
                "imageScanStatus": {"status": view.status, "description": view.description},
                "findingSeverityCounts": counts,
                "findings": view.findings.len(),
                "sbomDigest": view.sbom_digest,
            })
        );
    } else {
        println!("{name}@{digest}: {} ({})", view.status, view.description);
        if view.status == "COMPLETE" {
            println!("{} finding(s)", view.findings.len());
            for (severity, n) in &counts {
                println!("  {severity:<14} {n}");
            }
            if let Some(sbom) = &view.sbom_digest {
                println!("SBOM: {name}@{sbom}");
            }
        }
    }
    if view.status == "FAILED" {
        return Err(format!(
            "the scan of {name}@{digest} failed: {}",
            view.description
        ));
    }
    Ok(())
}

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

async fn signing_key(settings: Settings, command: SigningKeyCommand) -> CliResult {
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
    match command {
        SigningKeyCommand::Create { name, json } => {
            let p = registry
                .create_signing_profile(&name)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", profile_json(&p, true));
            } else {
                show(&p);
            }
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
            let p = registry
                .signing_profile(&name)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", profile_json(&p, true));
            } else {
                show(&p);
                print!("{}", p.certificate_pem);
            }
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

async fn signing_status(settings: Settings, image: &str, json: bool) -> CliResult {
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

async fn scan_history(settings: Settings, image: &str, json: bool) -> CliResult {
    let (name, reference) = image_reference(image)?;
    let installation = open(settings, Open::Existing).await?;
    let events = installation
        .registry
        .finding_events(name, &reference)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        let list: Vec<_> = events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "event": e.event,
                    "name": e.name,
                    "packageName": e.package_name,
                    "packageVersion": e.package_version,
                    "at": console::format_utc(e.at),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        for e in &events {
            println!(
                "{} {:<12} {} in {} {}",
                console::format_utc(e.at),
                e.event,
                e.name,
                e.package_name,
                e.package_version
            );
        }
        println!("{} change(s)", events.len());
    }
    Ok(())
}

async fn access_key(settings: Settings, command: AccessKeyCommand) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let accounts = Accounts::new(installation.db.clone(), installation.secrets.clone());
    let failed = |e: AccountError| e.to_string();
    match command {
        AccessKeyCommand::Create { user, json } => {
            let key = accounts.create_access_key(&user).await.map_err(failed)?;
            let created = console::format_utc(berth::clock::now_millis());
            if json {
                let out = serde_json::json!({
                    "accessKeyId": key.id,
                    "secretAccessKey": key.secret,
                    "userName": user,
                    "createdAt": created,
                });
                println!("{out}");
            } else {
                println!("Created access key for {user:?}.");
                println!("Access key id:     {}", key.id);
                println!("Secret access key: {}   (shown once)", key.secret);
            }
        }
        AccessKeyCommand::List { user, json } => {
            let keys = accounts.access_keys(&user).await.map_err(failed)?;
            let last_used = |k: &berth::db::AccessKeyRow| k.last_used_at.map(console::format_utc);
            if json {
                let list: Vec<_> = keys
                    .iter()
                    .map(|k| serde_json::json!({"accessKeyId": k.id, "userName": k.user_name, "createdAt": console::format_utc(k.created_at), "lastUsedAt": last_used(k)}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                println!(
                    "{:<22} {:<20} {:<24} LAST USED",
                    "ACCESS KEY ID", "USER", "CREATED"
                );
                for k in keys {
                    println!(
                        "{:<22} {:<20} {:<24} {}",
                        k.id,
                        k.user_name,
                        console::format_utc(k.created_at),
                        last_used(&k).unwrap_or_else(|| "never".into())
                    );
                }
            }
        }
        AccessKeyCommand::Delete { user, id } => {
            accounts
                .delete_access_key(&user, &id)
                .await
                .map_err(failed)?;
            println!("Deleted access key {id}.");
        }
    }
    Ok(())
}

async fn lifecycle(settings: Settings, command: LifecycleCommand) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let registry = &installation.registry;
    match command {
        LifecycleCommand::Run {
            repository,
            dry_run,
            json,
        } => {
            let names = match repository {
                Some(name) => vec![name],
                None => registry
                    .repositories_with_lifecycle()
                    .await
                    .map_err(|e| e.to_string())?,
            };
            let mut all = Vec::new();
            for name in names {
                let expired = registry
                    .apply_lifecycle(&name, dry_run)
                    .await
                    .map_err(|e| e.to_string())?;
                for entry in expired {
                    all.push(serde_json::json!({
                        "repositoryName": name,
                        "imageDigest": entry.digest,
                        "imageTags": entry.tags,
                        "appliedRulePriority": entry.rule,
                    }));
                }
            }
            let verb = if dry_run { "would expire" } else { "expired" };
            if json {
                println!("{}", serde_json::json!({"dryRun": dry_run, "images": all}));
            } else {
                for image in &all {
                    println!(
                        "{verb} {}@{} (tags {}; rule {})",
                        image["repositoryName"].as_str().unwrap_or(""),
                        image["imageDigest"].as_str().unwrap_or(""),
                        image["imageTags"],
                        image["appliedRulePriority"]
                    );
                }
                println!(
                    "{} image(s) {verb}{}",
                    all.len(),
                    if dry_run {
                        " (dry run: nothing changed)"
                    } else {
                        ""
                    }
                );
            }
        }
        LifecycleCommand::History {
            repository,
            limit,
            json,
        } => {
            let rows = registry
                .expirations(repository.as_deref(), limit)
                .await
                .map_err(|e| e.to_string())?;
            let list: Vec<_> = rows
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "repositoryName": e.repository,
                        "imageDigest": e.digest,
                        "imageTags": e.tags,
                        "appliedRulePriority": e.rule,
                        "expiredAt": console::format_utc(e.expired_at),
                    })
                })
                .collect();
            if json {
                println!("{}", serde_json::Value::Array(list));
            } else {
                for item in list {
                    println!(
                        "{}  {}@{}  tags {}  rule {}",
                        item["expiredAt"].as_str().unwrap_or(""),
                        item["repositoryName"].as_str().unwrap_or(""),
                        item["imageDigest"].as_str().unwrap_or(""),
                        item["imageTags"],
                        item["appliedRulePriority"]
                    );
                }
            }
        }
    }
    Ok(())
}

async fn migrate_storage(settings: Settings, from: &str, to: &str) -> CliResult {
    let kind = |text: &str| {
        StorageKind::parse(text)
            .ok_or_else(|| format!("{text:?} is not a storage kind: use filesystem or s3"))
    };
    let (from, to) = (kind(from)?, kind(to)?);
    if from == to {
        return Err("--from and --to name the same store".into());
    }
    if (from == StorageKind::S3 || to == StorageKind::S3) && settings.s3.is_none() {
        return Err("no S3 bucket is configured: set storage.bucket or BERTH_S3_BUCKET".into());
    }
    let installation = open(settings, Open::Existing).await?;
    let open_store = |kind| berth::installation::open_store(&installation.settings, kind);
    let source = open_store(from).await.map_err(|e| e.to_string())?;
    let target = open_store(to).await.map_err(|e| e.to_string())?;
    println!(
        "Copying blobs from {} to {}",
        source.describe(),
        target.describe()
    );
    let report = jobs::migrate::migrate(&installation.db, &*source, &*target, |report, total| {
        let done = report.copied + report.skipped + report.problems.len();
        if done % 100 == 0 || done == total {
            println!(
                "  {done}/{total}: {} copied ({} bytes), {} already there, {} failed",
                report.copied,
                report.bytes,
                report.skipped,
                report.problems.len()
            );
        }
    })
    .await?;
    for problem in &report.problems {
        println!("FAILED {problem}");
    }
    if !report.problems.is_empty() {
        return Err(format!(
            "{} blob(s) could not be copied; run again once fixed",
            report.problems.len()
        ));
    }
    println!(
        "Done: {} copied, {} already there. Now set storage.kind = {:?} and restart Berth.",
        report.copied,
        report.skipped,
        match to {
            StorageKind::Filesystem => "filesystem",
            StorageKind::S3 => "s3",
        }
    );
    Ok(())
}

async fn fsck(settings: Settings, json: bool) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let report = jobs::fsck::check(&installation.registry)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("report serializes")
        );
    } else {
        for problem in &report.problems {
            println!("PROBLEM {problem}");
        }
        for digest in &report.unrecorded {
            println!("UNRECORDED {digest} (stored, but no repository can reach it)");
        }
        println!(
            "Checked {} blob(s) and {} manifest(s): {} problem(s), {} unrecorded blob(s).",
            report.blobs_checked,
            report.manifests_checked,
            report.problems.len(),
            report.unrecorded.len()
        );
    }
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{} problem(s) found", report.problems.len()))
    }
}

/// Where `berth vulndb update` and `serve` write downloads: beside the database.
fn vulndb_update_options(settings: &Settings) -> berth::service::vulndb::UpdateOptions {
    berth::service::vulndb::UpdateOptions {
        temp_dir: settings.data_dir.join("vulndb-downloads"),
        max_download: berth::service::vulndb::MAX_DOWNLOAD_BYTES,
    }
}

async fn vulndb(settings: Settings, command: VulndbCommand) -> CliResult {
    use berth::service::vulndb::{ImportReport, UpdateOutcome};
    let installation = open(settings, Open::Existing).await?;
    let registry = &installation.registry;
    let print_report = |report: &ImportReport| {
        println!(
            "{}: {} record(s) in service, {} malformed record(s) skipped",
            report.source, report.records, report.skipped
        );
        for reason in &report.skipped_reasons {
            println!("  skipped {reason}");
        }
        if report.skipped > report.skipped_reasons.len() as u64 {
            println!(
                "  … and {} more",
                report.skipped - report.skipped_reasons.len() as u64
            );
        }
    };
    match command {
        VulndbCommand::Import { path, source } => {
            let source = match source {
                Some(name) if name.trim().is_empty() => {
                    return Err("--source must not be empty".into())
                }
                Some(name) => name,
                None => format!(
                    "import:{}",
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| path.display().to_string())
                ),
            };
            let report = registry
                .vulndb_import(&path, &source)
                .await
                .map_err(|e| format!("{source}: {e} (its previous records stay in service)"))?;
            print_report(&report);
        }
        VulndbCommand::Update => {
            let settings = &installation.settings;
            if settings.vulndb_sources.is_empty() {
                return Err(
                    "no vulndb_sources are configured; import exports with `berth vulndb import`"
                        .into(),
                );
            }
            let outcomes = registry
                .vulndb_update(&settings.vulndb_sources, &vulndb_update_options(settings))
                .await;
            let mut failed = 0;
            for (source, outcome) in &outcomes {
                match outcome {
                    UpdateOutcome::Imported(report) => print_report(report),
                    UpdateOutcome::NotModified => {
                        println!("{source}: unchanged since the last update (HTTP 304)")
                    }
                    UpdateOutcome::Failed(error) => {
                        failed += 1;
                        println!(
                            "{source}: failed: {error} (its previous records stay in service)"
                        );
                    }
                }
            }
            if failed > 0 {
                return Err(format!("{failed} of {} source(s) failed", outcomes.len()));
            }
        }
        VulndbCommand::Status { json } => {
            let list = registry
                .vulndb_status(&installation.settings.vulndb_sources)
                .await
                .map_err(|e| e.to_string())?;
            let when = |ms: Option<i64>| ms.map(console::format_utc);
            if json {
                let sources: Vec<_> = list
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "name": s.name,
                            "configured": s.configured,
                            "updatedAt": when(s.updated_at),
                            "checkedAt": when(s.checked_at),
                            "records": s.records,
                            "skipped": s.skipped,
                            "skippedReasons": s.skipped_reasons,
                            "lastError": s.last_error,
                            "lastErrorAt": when(s.last_error_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::json!({ "sources": sources }));
            } else {
                println!(
                    "{:<23} {:>9} {:>8}  {:<23}  SOURCE",
                    "UPDATED", "RECORDS", "SKIPPED", "LAST ERROR AT"
                );
                for s in &list {
                    println!(
                        "{:<23} {:>9} {:>8}  {:<23}  {}",
                        when(s.updated_at).unwrap_or_else(|| "never".into()),
                        s.records,
                        s.skipped,
                        when(s.last_error_at).unwrap_or_else(|| "-".into()),
                        s.name
                    );
                    if let Some(error) = &s.last_error {
                        println!("    last error: {error}");
                    }
                }
            }
        }
    }
    installation.db.close().await;
    Ok(())
}
