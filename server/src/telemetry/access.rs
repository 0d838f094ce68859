//! The access log and request ids: one line per request, logged when the
//! last byte of its answer has gone (or the client went away), with the
//! method, the route (the registry endpoint, the ECR operation or the
//! console's route template: never the raw path or the query, which can
//! hold a presigned signature), the status, the bytes received and sent, the
//! duration, the user, the client's address and the request id. The same
//! figures feed the request metrics.
//!
//! Request ids: an `X-Request-Id` the client sends is kept when it is 1 to
//! [`REQUEST_ID_MAX`] characters of `A–Z a–z 0–9 - _ . : / + =`; otherwise
//! (or when there is none) one is made, a UUID ([`sanitise_request_id`],
//! then tower-http's `SetRequestId`). It is returned on the response
//! (tower-http's `PropagateRequestId`) and every line logged while the
//! request is served carries it, through the `request` span [`observe`] opens.

use super::metrics::metrics;
use crate::http::{Face, DOWNLOAD_PREFIX};
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument as _;

/// `X-Request-Id`.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id accepted from a client.
pub const REQUEST_ID_MAX: usize = 128;

/// Whether a client's request id is kept as it is: short, and of characters
/// that cannot break a log line or a header.
pub fn acceptable_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= REQUEST_ID_MAX
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(b))
}

/// Middleware, outside tower-http's `SetRequestId`: drops an `X-Request-Id`
/// that is not [`acceptable_request_id`] (or is sent twice), so a fresh one
/// is made in its place.
pub async fn sanitise_request_id(mut request: Request, next: Next) -> Response {
    let ids = request.headers().get_all(&REQUEST_ID).iter().count();
    let keep = ids == 1
        && request
            .headers()
            .get(&REQUEST_ID)
            .is_some_and(|id| acceptable_request_id(id.as_bytes()));
    if ids > 0 && !keep {
        request.headers_mut().remove(&REQUEST_ID);
    }
    next.run(request).await
}

tokio::task_local! {
    /// What the faces tell the access log about the request being served.
    static REQUEST: Arc<RequestFacts>;
}

#[derive(Default)]
struct RequestFacts {
    user: OnceLock<String>,
}

/// Records who made the request being served (called by whatever
/// authenticated it); outside a request it does nothing.
pub fn note_user(name: &str) {
    let _ = REQUEST.try_with(|facts| facts.user.set(name.to_owned()));
}

/// The route template the router matched, handed from [`route_template`]
/// to [`observe`] on the response.
#[derive(Clone)]
struct RouteTemplate(Arc<str>);

/// Middleware on every route (`route_layer`): remembers the template the
/// router matched (`/repositories/{*name}`, not the path), which labels
/// console requests.
pub async fn route_template(
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response
            .extensions_mut()
            .insert(RouteTemplate(matched.as_str().into()));
    }
    response
}

/// The operation of a registry or ECR API request, from the faces' own parsers:
/// a name from a fixed set whatever the path or header says.
fn api_operation(
    face: Face,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<&'static str> {
    match face {
        Face::Registry if path.starts_with(DOWNLOAD_PREFIX) => Some("SignedLayerDownload"),
        Face::Registry => Some(
            crate::registry::path::parse(method, path)
                .map(|endpoint| endpoint.operation())
                .unwrap_or("Invalid"),
        ),
        Face::Ecr => Some(
            headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .and_then(|target| target.strip_prefix(crate::ecr::TARGET_PREFIX))
                .and_then(crate::ecr::Operation::parse)
                .map_or("Unknown", |operation| operation.name()),
        ),
        Face::Operations | Face::Console => None,
    }
}

/// Middleware, outermost but for the request-id layers: opens the request's
/// span, counts the bytes both ways, and when the answer is done, counts the
/// request in the metrics and writes its access-log line.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = request.uri().path();
    let face = Face::of(request.method(), path, request.headers());
    let method = request.method().clone();
    let operation = api_operation(face, &method, path, request.headers());
    let unmatched: &'static str = if path.starts_with("/pkg/") {
        "/pkg/{file}"
    } else {
        "{unmatched}"
    };
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let client = crate::http::client_address(request.extensions());
    let span = tracing::info_span!("request", request_id = %id);
    let received = Arc::new(AtomicU64::new(0));
    let request = request.map(|body| Body::new(Counted::new(body, received.clone(), None)));
    let facts = Arc::new(RequestFacts::default());
    let response = REQUEST
        .scope(facts.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    let operation: Arc<str> = match (operation, response.extensions().get::<RouteTemplate>()) {
        (Some(name), _) => name.into(),
        (None, Some(template)) => template.0.clone(),
        (None, None) => unmatched.into(),
    };
    let finish = Finish {
        started,
        face,
        method,
        operation,
        status: response.status(),
        user: facts.user.get().cloned(),
        client,
        id,
        received,
        span,
    };
    response.map(|body| Body::new(Counted::new(body, Arc::default(), Some(finish))))
}

/// What is known of a request when its answer starts; logged when it ends.
struct Finish {
    started: Instant,
    face: Face,
    method: Method,
    operation: Arc<str>,
    status: StatusCode,
    user: Option<String>,
    client: Option<std::net::IpAddr>,
    id: String,
    received: Arc<AtomicU64>,
    span: tracing::Span,
}

impl Finish {
    fn done(self, sent: u64) {
        let took = self.started.elapsed();
        let received = self.received.load(Ordering::Relaxed);
        let face = self.face.label();
        let operation = &*self.operation;
        let m = metrics();
        m.requests
            .with_label_values(&[face, operation, self.status.as_str()])
            .inc();
        m.request_seconds
            .with_label_values(&[face, operation])
            .observe(took.as_secs_f64());
        m.received_bytes.with_label_values(&[face]).inc_by(received);
        m.sent_bytes.with_label_values(&[face]).inc_by(sent);
        if self.status.is_success() {
            match (self.face, operation) {
                (Face::Registry, "PutManifest") | (Face::Ecr, "PutImage") => {
                    m.pushes.with_label_values(&[face]).inc()
                }
                (Face::Registry, "GetManifest") | (Face::Ecr, "BatchGetImage") => {
                    m.pulls.with_label_values(&[face]).inc()
                }
                _ => {}
            }
        }
        let _entered = self.span.enter();
        tracing::info!(
            target: "berth::access",
            method = %self.method,
            route = operation,
            status = self.status.as_u16(),
            bytes_received = received,
            bytes_sent = sent,
            duration_ms = (took.as_secs_f64() * 1e6).round() / 1e3,
            user = self.user.as_deref().unwrap_or("-"),
            client = %self.client.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
            request_id = %self.id,
            face,
            "request done"
        );
    }
}

/// A body that counts the bytes of its data frames; the response's logs
/// its request when it is dropped (sent in full, or given up).
struct Counted {
    inner: Body,
    bytes: Arc<AtomicU64>,
    finish: Option<Finish>,
}

impl Counted {
    fn new(inner: Body, bytes: Arc<AtomicU64>, finish: Option<Finish>) -> Self {
        Self {
            inner,
            bytes,
            finish,
        }
    }
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Some(finish) = self.finish.take() {
            finish.done(self.bytes.load(Ordering::Relaxed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_short_and_of_safe_characters() {
        assert!(acceptable_request_id(
            b"0f8e2c1a-1b2c-4d5e-8f90-123456789abc"
        ));
        assert!(acceptable_request_id(
            b"Root=1-67891233-abcdef012345678912345678"
        ));
        assert!(acceptable_request_id(&[b'a'; REQUEST_ID_MAX]));
        assert!(!acceptable_request_id(&[b'a'; REQUEST_ID_MAX + 1]));
        assert!(!acceptable_request_id(b""));
        assert!(!acceptable_request_id(b"two words"));
        assert!(!acceptable_request_id(b"line\nbreak"));
        assert!(!acceptable_request_id(b"quote\""));
        assert!(!acceptable_request_id("caf\u{e9}".as_bytes()));
    }

    #[test]
    fn api_operations_come_from_a_fixed_set() {
        let none = HeaderMap::new();
        let op = |method: Method, path: &str| api_operation(Face::Registry, &method, path, &none);
        assert_eq!(op(Method::GET, "/v2/"), Some("ApiVersion"));
        assert_eq!(
            op(Method::HEAD, "/v2/a/b/manifests/latest"),
            Some("HeadManifest")
        );
        assert_eq!(op(Method::PUT, "/v2/ab/manifests/v1"), Some("PutManifest"));
        assert_eq!(op(Method::GET, "/v2/no/such/thing"), Some("Invalid"));
        assert_eq!(
            op(Method::GET, "/_berth/layers/a/sha256:00"),
            Some("SignedLayerDownload")
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amz-target",
            "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            api_operation(Face::Ecr, &Method::POST, "/", &headers),
            Some("DescribeRepositories")
        );
        headers.insert("x-amz-target", "Something.Else".parse().unwrap());
        assert_eq!(
            api_operation(Face::Ecr, &Method::POST, "/", &headers),
            Some("Unknown")
        );
        assert_eq!(api_operation(Face::Console, &Method::GET, "/", &none), None);
    }
}
