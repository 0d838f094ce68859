//! Berth, a self-hosted container registry that behaves like Amazon ECR.
//! [`build_router`] assembles the one port's faces: the OCI registry API under
//! `/v2/`, the ECR API at `POST /`, health checks and (for administrators, or
//! on `metrics_listen` instead) `/metrics`, and the Leptos console everywhere
//! else; every request passes the access log and request-id layers
//! ([`telemetry`]). Tests build the same router.

pub mod auth;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod ecr;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod installation;
pub mod jobs;
pub mod keys;
#[doc(hidden)]
pub mod layering;
pub mod model;
pub mod registry;
pub mod request_limits;
pub mod scan;
pub mod service;
pub mod storage;
pub mod telemetry;
pub mod tls;

use auth::Authenticator;
use axum::routing::{any, get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The registry service.
    pub registry: Arc<service::Registry>,
    /// Credential checks.
    pub auth: Arc<Authenticator>,
    /// Permission checks.
    pub authz: Arc<auth::authorize::Authorizer>,
    /// How this registry names itself.
    pub info: Arc<RegistryInfo>,
    /// How long after a save a lifecycle policy is applied.
    pub lifecycle_delay_after_save: std::time::Duration,
}

impl axum::extract::FromRef<AppState> for Arc<service::Registry> {
    fn from_ref(state: &AppState) -> Self {
        state.registry.clone()
    }
}

/// The client's address, recorded per connection for throttling and logs.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tls::TlsListener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tls::TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// How this registry names itself to clients.
#[derive(Debug, Clone)]
pub struct RegistryInfo {
    /// 12-digit registry (account) id.
    pub registry_id: String,
    /// Region name.
    pub region: String,
    /// What clients call this registry, e.g. `http://127.0.0.1:5000`.
    pub public_url: String,
    /// `host[:port]`, what `docker push` uses.
    pub host: String,
}

impl RegistryInfo {
    /// Describes a registry reachable at `public_url`.
    pub fn new(registry_id: String, region: String, public_url: String) -> Self {
        let host = public_url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Self {
            registry_id,
            region,
            public_url,
            host,
        }
    }

    /// `arn:aws:ecr:<region>:<registry id>:repository/<name>`.
    pub fn repository_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:ecr:{}:{}:repository/{name}",
            self.region, self.registry_id
        )
    }

    /// `<host>/<name>`.
    pub fn repository_uri(&self, name: &str) -> String {
        format!("{}/{name}", self.host)
    }
}

/// The whole HTTP surface of one installation.
pub fn build_router(
    state: AppState,
    console: Arc<console::Console>,
    sessions: console::session::SessionSettings,
    leptos_options: LeptosOptions,
    metrics: telemetry::health::MetricsAccess,
) -> Router {
    use telemetry::{access, health};
    let session_records = state.registry.sessions();
    let operations = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    let operations = match metrics {
        health::MetricsAccess::MainPortForAdministrators => {
            operations.route("/metrics", get(health::admin_metrics))
        }
        health::MetricsAccess::OwnListener => {
            operations.route("/metrics", get(health::metrics_elsewhere))
        }
    };
    let registry_api = Router::new()
        .route("/v2", any(registry::handle))
        .route("/v2/", any(registry::handle))
        .route("/v2/{*rest}", any(registry::handle))
        .route("/", post(ecr::handle))
        .route(console::signing::CA_PATH, get(console::signing::ca_pem))
        .route(
            &format!("{}{{*rest}}", http::DOWNLOAD_PREFIX),
            get(registry::download::handle),
        )
        .merge(operations)
        .with_state(state);
    let routes = generate_route_list(berth_app::App);
    let console_pages = Router::new()
        .leptos_routes_with_context(
            &leptos_options,
            routes,
            move || console::provide_backend(&console),
            {
                let options = leptos_options.clone();
                move || berth_app::shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(berth_app::shell))
        .with_state(leptos_options)
        .layer(axum::middleware::from_fn(request_limits::console_body))
        .layer(axum::middleware::from_fn_with_state(
            console::session::Guard {
                sessions: session_records.clone(),
                settings: Arc::new(sessions.clone()),
            },
            console::session::guard,
        ))
        .layer(console::session::layer(session_records, &sessions));
    registry_api
        .merge(console_pages)
        .route_layer(axum::middleware::from_fn(access::route_template))
        .layer(axum::middleware::from_fn(request_limits::headers))
        .layer(axum::middleware::from_fn(http::api_version))
        .layer(axum::middleware::from_fn(access::observe))
        .layer(tower_http::request_id::PropagateRequestIdLayer::new(
            access::REQUEST_ID,
        ))
        .layer(tower_http::request_id::SetRequestIdLayer::new(
            access::REQUEST_ID,
            tower_http::request_id::MakeRequestUuid,
        ))
        .layer(axum::middleware::from_fn(access::sanitise_request_id))
}

/// The Leptos options for serving the console from `site_root` on `addr`.
pub fn leptos_options(site_root: &std::path::Path, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("berth")
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}
