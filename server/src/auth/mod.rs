//! Identities and credentials: argon2id passwords, access keys (secrets sealed
//! at rest), authorization tokens, and HTTP Basic verification of all three,
//! with verified passwords cached so a pull does not pay argon2 per request.

pub mod accounts;
pub mod authorize;
mod keys;
mod passwords;
pub mod rate;
pub mod secrets;
pub mod sigv4;
pub mod throttle;

pub use keys::{new_access_key, NewAccessKey};
pub use passwords::{generate_password, hash_password, verify_password};

use crate::db::{Db, DbError, UserRow};
use base64::Engine;
use secrets::SecretBox;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a verified credential is trusted without running argon2 again.
const CACHE_TTL: Duration = Duration::from_secs(900);
/// Cached credentials kept at most (the cache is cleared when full).
const CACHE_MAX: usize = 10_000;
/// How often an access key's last-used time is written at most: one write a
/// minute per key, however busy, keeps pulls off the single writer.
const KEY_USE_EVERY: Duration = Duration::from_secs(60);

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User row id.
    pub user_id: i64,
    /// User name.
    pub name: String,
}

impl Identity {
    /// This user as the starter of an upload, whose open uploads are limited.
    pub fn uploader(&self) -> crate::service::Uploader<'_> {
        crate::service::Uploader {
            user_id: self.user_id,
            name: &self.name,
        }
    }
}

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials were sent.
    #[error("authentication required")]
    Missing,
    /// The credentials are malformed or wrong.
    #[error("invalid username or password")]
    Invalid,
    /// The request's credentials are an access key id this registry does not know.
    #[error("the access key id is not known")]
    UnknownAccessKey,
    /// Too many recent failures from this source for this user.
    #[error("too many failed logins for this user from this address; try again in {0} seconds")]
    Throttled(u64),
    /// The database failed while checking.
    #[error("database: {0}")]
    Database(#[from] DbError),
}

/// A request refused for being over its user's rate limit.
#[derive(Debug)]
pub struct RateLimited {
    /// What to tell the client: the user, the limit, when to try again.
    pub message: String,
    /// Whole seconds until trying again makes sense (at least 1).
    pub retry_after: u64,
}

/// How long an authorization token from `GetAuthorizationToken` is valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The user name `docker login` uses with an authorization token, as on ECR.
pub const TOKEN_USER: &str = "AWS";

/// Verifies credentials: passwords, access keys and tokens.
pub struct Authenticator {
    db: Db,
    secrets: Arc<SecretBox>,
    throttle: throttle::LoginThrottle,
    rate: rate::RateLimiter,
    /// Turns for password checks: as many at once as there are cores.
    hashing: tokio::sync::Semaphore,
    verified: Mutex<HashMap<[u8; 32], (String, Instant)>>,
    key_uses: Mutex<HashMap<String, Instant>>,
}

impl Authenticator {
    /// An authenticator over the users in `db`, opening access-key secrets with `secrets`.
    pub fn new(db: Db, secrets: Arc<SecretBox>) -> Self {
        Self {
            db,
            secrets,
            throttle: Default::default(),
            rate: rate::RateLimiter::new(rate::RateLimit::DEFAULT),
            hashing: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            verified: Mutex::new(HashMap::new()),
            key_uses: Mutex::new(HashMap::new()),
        }
    }

    /// The same, limiting each user's requests to `limit`.
    pub fn with_rate_limit(mut self, limit: rate::RateLimit) -> Self {
        self.rate = rate::RateLimiter::new(limit);
        self
    }

    /// Counts a request of `identity` against its rate limit; refused with
    /// why and how long to wait when the user is over it.
    pub fn admit(&self, identity: &Identity) -> Result<(), RateLimited> {
        // Every registry and ECR API request passes here once authenticated.
        crate::telemetry::access::note_user(&identity.name);
        self.rate
            .admit(identity.user_id, Instant::now())
            .map_err(|wait| {
                let limit = self.rate.limit();
                tracing::info!(user = %identity.name, "request refused: over the rate limit");
                crate::telemetry::metrics::rate_limited("rate");
                RateLimited {
                    message: format!(
                        "too many requests for user {}: the limit is {} requests a second, \
                         {} at once; try again in {} ms",
                        identity.name,
                        limit.per_second,
                        limit.burst,
                        wait.as_millis().max(1)
                    ),
                    retry_after: wait.as_secs().max(1),
                }
            })
    }

    /// User and access-key management over the same database and key.
    pub fn accounts(&self) -> accounts::Accounts {
        accounts::Accounts::new(self.db.clone(), self.secrets.clone())
    }

    /// Records that a request authenticated with access key `id` (shown as
    /// "last used"); written at most once a minute per key. A failure to
    /// record is logged and does not fail the request.
    pub async fn key_used(&self, id: &str) {
        {
            let mut uses = self.key_uses.lock().expect("key-use cache");
            if uses.get(id).is_some_and(|at| at.elapsed() < KEY_USE_EVERY) {
                return;
            }
            if uses.len() >= CACHE_MAX {
                uses.clear();
            }
            uses.insert(id.to_owned(), Instant::now());
        }
        if let Err(error) = self
            .db
            .record_access_key_use(id, crate::db::now_millis())
            .await
        {
            tracing::warn!(access_key = id, %error, "could not record the access key's use");
        }
    }

    /// Checks an `Authorization` header value (HTTP Basic).
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        source: Option<IpAddr>,
    ) -> Result<Identity, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let encoded = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or(AuthError::Missing)?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| failed("-", "the Basic credentials are not base64"))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| failed("-", "the Basic credentials are not UTF-8"))?;
        let (user, password) = text
            .split_once(':')
            .ok_or_else(|| failed("-", "the Basic credentials have no ':'"))?;
        self.throttled(source, user)?;
        let result = self.check_basic(user, password).await;
        self.count(source, user, &result);
        result
    }

    /// Refuses a (source, user) pair that failed too often lately.
    pub fn throttled(&self, source: Option<IpAddr>, user: &str) -> Result<(), AuthError> {
        self.throttle.check(source, user).map_err(|wait| {
            tracing::warn!(user, ?source, "login refused: too many recent failures");
            crate::telemetry::metrics::rate_limited("failed_sign_ins");
            AuthError::Throttled(wait.as_secs().max(1))
        })
    }

    /// Counts a login's outcome for throttling.
    pub fn count<T>(&self, source: Option<IpAddr>, user: &str, result: &Result<T, AuthError>) {
        match result {
            Ok(_) => self.throttle.succeeded(source, user),
            Err(AuthError::Invalid) => self.throttle.failed(source, user),
            Err(_) => {}
        }
    }

    async fn check_basic(&self, user: &str, password: &str) -> Result<Identity, AuthError> {
        if user == TOKEN_USER {
            return self
                .verify_token(password)
                .await
                .map_err(|e| logged(e, user, "unknown, revoked or expired authorization token"));
        }
        if keys::looks_like_access_key_id(user) {
            return match self.access_key_secret(user).await? {
                Some((identity, secret)) if keys::secrets_equal(&secret, password) => {
                    self.key_used(user).await;
                    Ok(identity)
                }
                Some(_) => Err(failed(user, "wrong secret for the access key")),
                None => Err(failed(user, "unknown access key")),
            };
        }
        self.verify(user, password)
            .await
            .map_err(|e| logged(e, user, "unknown user or wrong password"))
    }

    /// The owner and plain secret of an access key, for SigV4 verification.
    pub async fn access_key_secret(
        &self,
        id: &str,
    ) -> Result<Option<(Identity, String)>, AuthError> {
        let Some((user, sealed)) = self.db.access_key(id).await? else {
            return Ok(None);
        };
        let secret = self
            .secrets
            .open(&sealed)
            .and_then(|bytes| String::from_utf8(bytes).ok());
        match secret {
            Some(secret) => Ok(Some((identity_of(user), secret))),
            None => {
                tracing::error!(
                    access_key = id,
                    "cannot open the sealed secret: was the secret key changed?"
                );
                Ok(None)
            }
        }
    }

    /// Issues an authorization token for `identity`; returns it and its expiry (ms).
    pub async fn issue_token(&self, identity: &Identity) -> Result<(String, i64), AuthError> {
        let token = keys::new_token();
        let expires_at = crate::db::now_millis() + TOKEN_LIFETIME.as_millis() as i64;
        self.db
            .create_token(&keys::token_hash(&token), identity.user_id, expires_at)
            .await?;
        Ok((token, expires_at))
    }

    async fn verify_token(&self, token: &str) -> Result<Identity, AuthError> {
        match self.db.token_user(&keys::token_hash(token)).await? {
            Some(user) => Ok(identity_of(user)),
            None => Err(AuthError::Invalid),
        }
    }

    /// The signature of a layer download URL for `name`/`digest` valid until `expires` (seconds).
    pub fn sign_download(&self, name: &str, digest: &str, expires: i64) -> String {
        self.secrets
            .sign(&format!("download\n{name}\n{digest}\n{expires}"))
    }

    /// Whether a layer download URL's signature is genuine (expiry is the caller's check).
    pub fn verify_download(&self, name: &str, digest: &str, expires: i64, signature: &str) -> bool {
        self.secrets
            .verify(&format!("download\n{name}\n{digest}\n{expires}"), signature)
    }

    /// Seals a secret with the installation's key.
    pub fn seal(&self, secret: &str) -> Vec<u8> {
        self.secrets.seal(secret.as_bytes())
    }

    /// The user, if these credentials (hashed into `key`) were verified lately
    /// against the password hash the user still has.
    fn verified_before(&self, key: &[u8; 32], row: Option<&UserRow>) -> Option<Identity> {
        let row = row?;
        let cache = self.verified.lock().expect("auth cache");
        let (cached_hash, at) = cache.get(key)?;
        (at.elapsed() < CACHE_TTL && keys::secrets_equal(cached_hash, &row.password_hash)).then(
            || Identity {
                user_id: row.id,
                name: row.name.clone(),
            },
        )
    }

    /// Checks a user name and password.
    pub async fn verify(&self, user: &str, password: &str) -> Result<Identity, AuthError> {
        // The cache key is a hash of both, so a changed password never hits an old entry.
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0u8])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        // One indexed read per request keeps revocation immediate: a cached check
        // only counts while the user still has the very hash it was made against.
        let row = self.db.user_by_name(user).await?;
        if let Some(identity) = self.verified_before(&key, row.as_ref()) {
            return Ok(identity);
        }
        // Each argon2 check takes about 19 MiB and a core for tens of
        // milliseconds; a burst of new connections would hold one each (32
        // concurrent first pushes peaked at 637 MiB, by heaptrack).
        let _turn = self
            .hashing
            .acquire()
            .await
            .expect("the semaphore is never closed");
        // Another request may have checked the same credentials meanwhile.
        if let Some(identity) = self.verified_before(&key, row.as_ref()) {
            return Ok(identity);
        }
        let hash = row.as_ref().map(|r| r.password_hash.clone());
        let password = password.to_owned();
        // argon2 is deliberately slow: keep it off the async workers. Unknown users
        // are checked against a dummy hash so timing does not reveal which names exist.
        let ok = tokio::task::spawn_blocking(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                let _ = verify_password(&password, passwords::dummy_hash());
                false
            }
        })
        .await
        .unwrap_or(false);
        match row {
            Some(row) if ok => {
                let mut cache = self.verified.lock().expect("auth cache");
                if cache.len() >= CACHE_MAX {
                    cache.clear();
                }
                cache.insert(key, (row.password_hash, Instant::now()));
                Ok(Identity {
                    user_id: row.id,
                    name: row.name,
                })
            }
            _ => Err(AuthError::Invalid),
        }
    }
}

/// Logs a failed login (never the secret) and returns the error to answer with.
fn failed(user: &str, reason: &str) -> AuthError {
    tracing::warn!(user, reason, "authentication failed");
    AuthError::Invalid
}

fn logged(error: AuthError, user: &str, reason: &str) -> AuthError {
    match error {
        AuthError::Invalid => failed(user, reason),
        other => other,
    }
}

fn identity_of(user: UserRow) -> Identity {
    Identity {
        user_id: user.id,
        name: user.name,
    }
}
