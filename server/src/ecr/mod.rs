//! The ECR face: AWS JSON 1.1 over `POST /`. The `X-Amz-Target` header is parsed
//! once into an [`Operation`], the SigV4 signature is verified, the caller is
//! authorized for the operation's IAM action ([`Operation::action`]), and the
//! body is decoded into the operation's typed input, which carries every
//! member of botocore's model for it and refuses any other by name
//! (`InvalidParameterException`); the answer is the operation's typed output.
//! The operations only translate to the service layer and back.

mod error;
mod images;
mod layers;
mod lifecycle;
mod policies;
mod repositories;
mod scanning;
mod settings;
mod signing;
mod wire;

pub use error::EcrError;

use crate::auth::authorize::Resource;
use crate::auth::sigv4;
use crate::auth::Identity;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The prefix of every `X-Amz-Target` value.
pub const TARGET_PREFIX: &str = "AmazonEC2ContainerRegistry_V20150921.";

/// The largest request body accepted (an UploadLayerPart of 20 MiB, base64).
const BODY_LIMIT: usize = 32 * 1024 * 1024;

macro_rules! operations {
    ($($name:ident),* $(,)?) => {
        /// An ECR API operation Berth serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Operation { $(#[doc = stringify!($name)] $name),* }

        impl Operation {
            /// Parses the operation name after the target prefix.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $(stringify!($name) => Some(Self::$name),)* _ => None }
            }

            /// The operation's name.
            pub fn name(self) -> &'static str {
                match self { $(Self::$name => stringify!($name)),* }
            }

            /// `ecr:<Operation>`, the IAM action named after the operation.
            fn named_action(self) -> &'static str {
                match self { $(Self::$name => concat!("ecr:", stringify!($name))),* }
            }
        }
    };
}

operations!(
    BatchCheckLayerAvailability,
    BatchDeleteImage,
    BatchGetImage,
    CompleteLayerUpload,
    CreateRepository,
    DeleteRepository,
    DescribeImages,
    DescribeRegistry,
    DescribeRepositories,
    GetAuthorizationToken,
    InitiateLayerUpload,
    ListImageReferrers,
    ListImages,
    ListTagsForResource,
    PutImage,
    PutImageScanningConfiguration,
    PutImageTagMutability,
    TagResource,
    UntagResource,
    UploadLayerPart,
    SetRepositoryPolicy,
    GetRepositoryPolicy,
    DeleteRepositoryPolicy,
    PutRegistryPolicy,
    GetRegistryPolicy,
    DeleteRegistryPolicy,
    GetDownloadUrlForLayer,
    PutRegistryScanningConfiguration,
    GetRegistryScanningConfiguration,
    BatchGetRepositoryScanningConfiguration,
    PutLifecyclePolicy,
    GetLifecyclePolicy,
    DeleteLifecyclePolicy,
    StartLifecyclePolicyPreview,
    GetLifecyclePolicyPreview,
    GetAccountSetting,
    PutAccountSetting,
    StartImageScan,
    DescribeImageScanFindings,
    PutSigningConfiguration,
    GetSigningConfiguration,
    DeleteSigningConfiguration,
    DescribeImageSigningStatus,
);

impl Operation {
    /// The IAM action that authorizes the operation: `ecr:<Operation>`, except
    /// where ECR documents another (ListImageReferrers needs `ecr:BatchGetImage`).
    pub fn action(self) -> &'static str {
        match self {
            Self::ListImageReferrers => "ecr:BatchGetImage",
            other => other.named_action(),
        }
    }
}

/// What an operation can reach: the state and the caller.
pub struct Call<'a> {
    /// The server's state.
    pub state: &'a AppState,
    /// Who is calling.
    pub identity: &'a Identity,
}

/// Entry point for `POST /` with an `X-Amz-Target` header.
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    match serve(&state, request).await {
        Ok(body) => {
            let mut response = (StatusCode::OK, body.to_string()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-amz-json-1.1"),
            );
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn serve(state: &AppState, request: Request) -> Result<Value, EcrError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        EcrError::Validation(format!("the request body exceeds {BODY_LIMIT} bytes"))
    })?;
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let operation = target
        .strip_prefix(TARGET_PREFIX)
        .and_then(Operation::parse)
        .ok_or_else(|| {
            EcrError::UnknownOperation(format!("Berth does not serve the operation {target:?}"))
        })?;
    let identity = authenticate(state, &parts, &body).await?;
    state
        .auth
        .admit(&identity)
        .map_err(|limited| EcrError::Throttling(limited.message))?;
    check_content_type(&parts.headers)?;
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| EcrError::Serialization(format!("the body is not JSON: {e}")))?
    };
    // Authorization and the operation read the same parsed input, but one
    // request must not say two things.
    crate::service::json::check_unique_keys(&body)
        .map_err(|e| EcrError::Serialization(format!("the body is ambiguous: {e}")))?;
    let call = Call {
        state,
        identity: &identity,
    };
    authorize(&call, operation, &input).await?;
    dispatch(&call, operation, input).await
}

/// Refuses a body declared as anything but JSON (no `Content-Type` is taken as JSON).
fn check_content_type(headers: &axum::http::HeaderMap) -> Result<(), EcrError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let essence = crate::http::essence(text);
    if ["application/x-amz-json-1.1", "application/json"]
        .iter()
        .any(|t| essence.eq_ignore_ascii_case(t))
    {
        Ok(())
    } else {
        Err(EcrError::Serialization(format!(
            "Content-Type {text:?} is not application/x-amz-json-1.1"
        )))
    }
}

async fn dispatch(call: &Call<'_>, operation: Operation, input: Value) -> Result<Value, EcrError> {
    use Operation::*;
    match operation {
        GetAuthorizationToken => repositories::get_authorization_token(call, input).await,
        DescribeRegistry => repositories::describe_registry(call, input).await,
        CreateRepository => repositories::create(call, input).await,
        DescribeRepositories => repositories::describe(call, input).await,
        DeleteRepository => repositories::delete(call, input).await,
        PutImageTagMutability => repositories::put_tag_mutability(call, input).await,
        PutImageScanningConfiguration => {
            repositories::put_scanning_configuration(call, input).await
        }
        TagResource => repositories::tag_resource(call, input).await,
        UntagResource => repositories::untag_resource(call, input).await,
        ListTagsForResource => repositories::list_tags_for_resource(call, input).await,
        ListImages => images::list(call, input).await,
        DescribeImages => images::describe(call, input).await,
        BatchGetImage => images::batch_get(call, input).await,
        BatchDeleteImage => images::batch_delete(call, input).await,
        PutImage => images::put(call, input).await,
        ListImageReferrers => images::list_referrers(call, input).await,
        BatchCheckLayerAvailability => layers::check_availability(call, input).await,
        InitiateLayerUpload => layers::initiate(call, input).await,
        UploadLayerPart => layers::upload_part(call, input).await,
        CompleteLayerUpload => layers::complete(call, input).await,
        GetDownloadUrlForLayer => layers::download_url(call, input).await,
        PutRegistryScanningConfiguration => scanning::put_registry(call, input).await,
        PutLifecyclePolicy => lifecycle::put(call, input).await,
        GetLifecyclePolicy => lifecycle::get(call, input).await,
        DeleteLifecyclePolicy => lifecycle::delete(call, input).await,
        StartLifecyclePolicyPreview => lifecycle::start_preview(call, input).await,
        GetLifecyclePolicyPreview => lifecycle::get_preview(call, input).await,
        GetRegistryScanningConfiguration => scanning::get_registry(call, input).await,
        BatchGetRepositoryScanningConfiguration => {
            scanning::batch_get_repository(call, input).await
        }
        SetRepositoryPolicy => policies::set_repository_policy(call, input).await,
        GetRepositoryPolicy => policies::get_repository_policy(call, input).await,
        DeleteRepositoryPolicy => policies::delete_repository_policy(call, input).await,
        PutRegistryPolicy => policies::put_registry_policy(call, input).await,
        GetRegistryPolicy => policies::get_registry_policy(call, input).await,
        DeleteRegistryPolicy => policies::delete_registry_policy(call, input).await,
        GetAccountSetting => settings::get(call, input).await,
        StartImageScan => scanning::start_image_scan(call, input).await,
        DescribeImageScanFindings => scanning::describe_image_scan_findings(call, input).await,
        PutAccountSetting => settings::put(call, input).await,
        PutSigningConfiguration => signing::put(call, input).await,
        GetSigningConfiguration => signing::get(call, input).await,
        DeleteSigningConfiguration => signing::delete(call, input).await,
        DescribeImageSigningStatus => signing::describe_image_signing_status(call, input).await,
    }
}

/// The repository an operation acts on, from its input.
fn repository_in<'a>(call: &Call<'_>, input: &'a Value) -> Option<&'a str> {
    if let Some(name) = input.get("repositoryName").and_then(Value::as_str) {
        return Some(name);
    }
    let arn = input.get("resourceArn").and_then(Value::as_str)?;
    let info = &call.state.info;
    arn.strip_prefix(&format!(
        "arn:aws:ecr:{}:{}:repository/",
        info.region, info.registry_id
    ))
}

/// Refuses the call unless the caller's policies (and the repository's and
/// registry's) allow `ecr:<Operation>` on its resource. Listing all
/// repositories is filtered per repository instead.
async fn authorize(call: &Call<'_>, operation: Operation, input: &Value) -> Result<(), EcrError> {
    let action = operation.action();
    let names: Vec<&str> = match (
        operation,
        input.get("repositoryNames").and_then(Value::as_array),
    ) {
        (_, Some(names)) => names.iter().filter_map(Value::as_str).collect(),
        (Operation::DescribeRepositories, None) => return Ok(()),
        _ => repository_in(call, input).into_iter().collect(),
    };
    let resources: Vec<Resource<'_>> = if names.is_empty() {
        vec![Resource::Registry]
    } else {
        names.into_iter().map(Resource::Repository).collect()
    };
    for resource in resources {
        allow(call, action, resource).await?;
    }
    Ok(())
}

/// Allows or refuses one action on one resource.
pub async fn allow(call: &Call<'_>, action: &str, resource: Resource<'_>) -> Result<(), EcrError> {
    Ok(call
        .state
        .authz
        .check(call.identity, action, resource)
        .await?)
}

/// Verifies the request's SigV4 signature and returns the caller.
async fn authenticate(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: &[u8],
) -> Result<Identity, EcrError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(EcrError::MissingAuthenticationToken)?;
    let signed = sigv4::parse_authorization(value).map_err(signature_error)?;
    if signed.service != "ecr" {
        return Err(EcrError::InvalidSignature(format!(
            "Credential should be scoped to correct service: 'ecr', not '{}'.",
            signed.service
        )));
    }
    if signed.region != state.info.region {
        return Err(EcrError::InvalidSignature(format!(
            "Credential should be scoped to a valid region, not '{}'; this registry is in '{}'.",
            signed.region, state.info.region
        )));
    }
    let source = crate::http::source_address(parts);
    let key_id = signed.access_key_id.as_str();
    state
        .auth
        .throttled(source, key_id)
        .map_err(|e| EcrError::Throttling(e.to_string()))?;
    let found = state.auth.access_key_secret(key_id).await.map_err(|e| {
        tracing::error!(error = %e, "access key lookup failed");
        EcrError::Server
    })?;
    let Some((identity, secret)) = found else {
        tracing::warn!(access_key = %key_id, "ECR request with an unknown access key");
        state
            .auth
            .count::<()>(source, key_id, &Err(crate::auth::AuthError::Invalid));
        return Err(EcrError::UnrecognizedClient);
    };
    // HTTP/2 carries the host in the URI authority, not a header; SigV4 signs it as `host`.
    let with_host;
    let headers = match (
        parts.headers.contains_key(header::HOST),
        parts.uri.authority(),
    ) {
        (false, Some(authority)) => {
            with_host = {
                let mut headers = parts.headers.clone();
                if let Ok(value) = HeaderValue::from_str(authority.as_str()) {
                    headers.insert(header::HOST, value);
                }
                headers
            };
            &with_host
        }
        _ => &parts.headers,
    };
    let request = sigv4::RequestToVerify {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers,
        body,
    };
    let verified = sigv4::verify(&request, &signed, &secret, std::time::SystemTime::now());
    let outcome = match &verified {
        Ok(()) => Ok(()),
        Err(_) => Err(crate::auth::AuthError::Invalid),
    };
    state.auth.count(source, key_id, &outcome);
    verified.map_err(|e| {
        tracing::warn!(access_key = %key_id, reason = %e, "ECR request with a bad signature");
        signature_error(e)
    })?;
    state.auth.key_used(key_id).await;
    Ok(identity)
}

fn signature_error(error: sigv4::SigV4Error) -> EcrError {
    match error {
        sigv4::SigV4Error::MissingAuthentication => EcrError::MissingAuthenticationToken,
        sigv4::SigV4Error::Incomplete(_) => EcrError::IncompleteSignature(error.to_string()),
        _ => EcrError::InvalidSignature(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::Operation;

    #[test]
    fn operations_are_authorized_by_the_actions_ecr_documents() {
        assert_eq!(Operation::PutImage.action(), "ecr:PutImage");
        assert_eq!(
            Operation::GetAccountSetting.action(),
            "ecr:GetAccountSetting"
        );
        // ECR: "The IAM principal invoking this operation must have the
        // ecr:BatchGetImage permission."
        assert_eq!(Operation::ListImageReferrers.action(), "ecr:BatchGetImage");
        assert_eq!(Operation::StartImageScan.action(), "ecr:StartImageScan");
        assert_eq!(
            Operation::DescribeImageScanFindings.action(),
            "ecr:DescribeImageScanFindings"
        );
        assert_eq!(
            Operation::parse("ListImageReferrers"),
            Some(Operation::ListImageReferrers)
        );
    }
}
