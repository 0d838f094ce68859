//! `berth serve` (the server) and `berth migrate` (the schema only).

use super::{open, CliResult};
use berth::config::Settings;
use berth::installation::Open;
use berth::telemetry::health::{own_listener_router, MetricsAccess};
use berth::{auth, build_router, console, jobs, leptos_options, AppState, RegistryInfo};
use std::sync::Arc;

/// `berth serve`: opens (creating or migrating) the installation and serves
/// all three faces on one port until SIGINT or SIGTERM.
pub async fn run(settings: Settings) -> CliResult {
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
    let metrics_listener = match settings.metrics_listen {
        Some(at) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .map_err(|e| format!("cannot listen on {at} (metrics_listen): {e}"))?,
        ),
        None => None,
    };
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
                super::vulndb::update_options(settings),
            )),
        },
    ));
    let sessions = console::session::SessionSettings {
        idle_timeout: settings.console_idle_timeout,
        lifetime: settings.console_session_lifetime,
        secure: scheme == "https",
    };
    let metrics_access = if metrics_listener.is_some() {
        MetricsAccess::OwnListener
    } else {
        MetricsAccess::MainPortForAdministrators
    };
    let router = build_router(
        state,
        console,
        sessions,
        leptos_options(&settings.site_root, addr),
        metrics_access,
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
                super::vulndb::update_options(settings),
            )
        });

    // /metrics, /healthz and /readyz on an address of their own (plain
    // HTTP: it is meant for a private network and a Prometheus).
    let metrics_server = match metrics_listener {
        Some(listener) => {
            let at = listener.local_addr().map_err(|e| e.to_string())?;
            let router = own_listener_router(installation.registry.clone());
            Some((
                at,
                tokio::spawn(async move {
                    if let Err(error) = axum::serve(listener, router).await {
                        tracing::error!(%error, "the metrics listener failed");
                    }
                }),
            ))
        }
        None => None,
    };
    println!("Berth is listening on {scheme}://{addr}");
    println!("  console:   {public_url}/");
    println!("  registry:  {registry_host}   (docker login {registry_host})");
    match &metrics_server {
        Some((at, _)) => println!("  metrics:   http://{at}/metrics"),
        None => println!("  metrics:   {public_url}/metrics (for administrators)"),
    }
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
    if let Some((_, server)) = metrics_server {
        server.abort();
    }
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

/// `berth migrate`: creates or migrates the database, and says its schema version.
pub async fn migrate(settings: Settings) -> CliResult {
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
