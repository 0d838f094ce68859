//! Authorization, one evaluator for every face: the caller's identity
//! policies, the repository's policy and the registry's policy, evaluated
//! together by [`berth_app::policy::evaluate`] (explicit deny wins, then any
//! allow, else deny).
//!
//! The registry policy takes part as its scope (the `REGISTRY_POLICY_SCOPE`
//! account setting) says: under `V2`, ECR's default, in every request; under
//! `V1` only in the actions of [`V1_REGISTRY_POLICY_ACTIONS`], as ECR does.
//!
//! Parsed policies are kept in memory for as long as the database's policy
//! generation (bumped by triggers on every policy change, from any process)
//! stays the same, so an authorization costs one small read.

use super::Identity;
use crate::db::{Db, DbError};
use crate::RegistryInfo;
use berth_app::policy::{self, Decision, PolicyDocument, PolicyKind, Request};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What makes a user an administrator (of the console, and of `/metrics` on
/// the main port): managing users can grant anything, so it takes the most
/// powerful registry permission there is, changing the registry policy.
pub const ADMIN_ACTION: &str = "ecr:PutRegistryPolicy";

/// The actions a registry policy takes part in under `REGISTRY_POLICY_SCOPE`
/// `V1` (ECR's list; Berth serves only the last of them).
pub const V1_REGISTRY_POLICY_ACTIONS: [&str; 3] = [
    "ecr:ReplicateImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
];

/// Repository policies kept at most (the map is emptied when full).
const CACHED_REPOSITORIES: usize = 10_000;

/// A user's identity policies, parsed: (name, document).
type IdentityPolicies = Arc<Vec<(String, PolicyDocument)>>;

/// Parsed policies as of one policy generation.
#[derive(Default)]
struct PolicyCache {
    generation: Option<i64>,
    identities: HashMap<i64, IdentityPolicies>,
    repositories: HashMap<String, Option<Arc<PolicyDocument>>>,
    registry: Option<Option<Arc<PolicyDocument>>>,
    /// Whether the registry policy scope is `V1`.
    registry_scope_v1: Option<bool>,
}

impl PolicyCache {
    /// The cache for `generation`: emptied if it was for another.
    fn at(&mut self, generation: i64) -> &mut Self {
        if self.generation != Some(generation) {
            *self = PolicyCache {
                generation: Some(generation),
                ..PolicyCache::default()
            };
        }
        self
    }
}

/// What an action is performed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// One repository, by name.
    Repository(&'a str),
    /// The registry as a whole (`*`).
    Registry,
}

/// A refusal, with the sentence AWS would say.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// Why [`Authorizer::check`] did not allow an action. Each face maps it to
/// its protocol's error (`DENIED`, `AccessDeniedException`, 403) in its error
/// module.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// The policies do not allow it.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The policies could not be read.
    #[error("database failed during authorization: {0}")]
    Database(#[from] DbError),
}

/// Decides whether identities may perform actions.
pub struct Authorizer {
    db: Db,
    info: Arc<RegistryInfo>,
    cache: Mutex<PolicyCache>,
}

impl Authorizer {
    /// An authorizer over the policies in `db`, naming resources with `info`.
    pub fn new(db: Db, info: Arc<RegistryInfo>) -> Self {
        Self {
            db,
            info,
            cache: Mutex::default(),
        }
    }

    /// `arn:aws:iam::<registry id>:user/<name>`.
    pub fn principal_arn(&self, identity: &Identity) -> String {
        format!(
            "arn:aws:iam::{}:user/{}",
            self.info.registry_id, identity.name
        )
    }

    fn resource_arn(&self, resource: Resource<'_>) -> String {
        match resource {
            Resource::Repository(name) => self.info.repository_arn(name),
            Resource::Registry => "*".into(),
        }
    }

    /// Allows `action` on `resource`, or says why not: the one check every
    /// face makes. Refusals and failures are logged here, once.
    pub async fn check(
        &self,
        identity: &Identity,
        action: &str,
        resource: Resource<'_>,
    ) -> Result<(), AuthzError> {
        match self.authorize(identity, action, resource).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(denied)) => {
                tracing::info!(user = %identity.name, action, resource = ?resource, "denied");
                Err(denied.into())
            }
            Err(error) => {
                tracing::error!(%error, "database failed during authorization");
                Err(error.into())
            }
        }
    }

    /// Whether `identity` may perform `action` on `resource`, for what a
    /// caller is shown or offered rather than refused (nothing is logged).
    pub async fn allows(
        &self,
        identity: &Identity,
        action: &str,
        resource: Resource<'_>,
    ) -> Result<bool, AuthzError> {
        match self.authorize(identity, action, resource).await {
            Ok(decision) => Ok(decision.is_ok()),
            Err(error) => {
                tracing::error!(%error, "database failed during authorization");
                Err(error.into())
            }
        }
    }

    /// Allows or refuses `action` (e.g. `ecr:PutImage`) on `resource`.
    pub async fn authorize(
        &self,
        identity: &Identity,
        action: &str,
        resource: Resource<'_>,
    ) -> Result<Result<(), Denied>, DbError> {
        self.decide(identity, action, resource, None).await
    }

    /// Whether `identity` could still perform `action` on the repository
    /// `name` if its repository policy were `policy` (`None`: no policy).
    /// SetRepositoryPolicy asks this before a change that could lock the
    /// caller out.
    pub async fn authorize_with_repository_policy(
        &self,
        identity: &Identity,
        action: &str,
        name: &str,
        policy: Option<PolicyDocument>,
    ) -> Result<Result<(), Denied>, DbError> {
        self.decide(
            identity,
            action,
            Resource::Repository(name),
            Some(policy.map(Arc::new)),
        )
        .await
    }

    /// [`Self::authorize`], with the repository's policy replaced by
    /// `repository_policy` when that is `Some`.
    async fn decide(
        &self,
        identity: &Identity,
        action: &str,
        resource: Resource<'_>,
        repository_policy: Option<Option<Arc<PolicyDocument>>>,
    ) -> Result<Result<(), Denied>, DbError> {
        let generation = self.db.policy_generation().await?;
        let identity_policies = self.identity_policies(generation, identity).await?;
        let mut documents: Vec<(String, PolicyKind, Arc<PolicyDocument>)> = Vec::new();
        if let Resource::Repository(name) = resource {
            let doc = match repository_policy {
                Some(given) => given,
                None => self.repository_policy(generation, name).await?,
            };
            if let Some(doc) = doc {
                documents.push((
                    format!("repository policy of {name}"),
                    PolicyKind::Resource,
                    doc,
                ));
            }
        }
        if let Some(doc) = self.registry_policy(generation).await? {
            let applies = !self.registry_scope_v1(generation).await?
                || V1_REGISTRY_POLICY_ACTIONS.contains(&action);
            if applies {
                documents.push(("registry policy".into(), PolicyKind::Resource, doc));
            }
        }
        let principal = self.principal_arn(identity);
        let resource_arn = self.resource_arn(resource);
        let request = Request {
            principal_arn: &principal,
            account_id: &self.info.registry_id,
            action,
            resource_arn: &resource_arn,
        };
        let borrowed: Vec<(&str, PolicyKind, &PolicyDocument)> = identity_policies
            .iter()
            .map(|(n, d)| (n.as_str(), PolicyKind::Identity, d))
            .chain(documents.iter().map(|(n, k, d)| (n.as_str(), *k, &**d)))
            .collect();
        Ok(match policy::evaluate(&borrowed, &request) {
            Decision::Allow { .. } => Ok(()),
            Decision::ExplicitDeny { by } => Err(Denied(format!(
                "User: {principal} is not authorized to perform: {action} on resource: {resource_arn} with an explicit deny in {by}"
            ))),
            Decision::ImplicitDeny => Err(Denied(format!(
                "User: {principal} is not authorized to perform: {action} on resource: {resource_arn} because no policy allows the {action} action"
            ))),
        })
    }

    async fn identity_policies(
        &self,
        generation: i64,
        identity: &Identity,
    ) -> Result<IdentityPolicies, DbError> {
        let cached = self
            .cache
            .lock()
            .expect("policy cache")
            .at(generation)
            .identities
            .get(&identity.user_id)
            .cloned();
        if let Some(policies) = cached {
            return Ok(policies);
        }
        let mut parsed = Vec::new();
        for (name, inline) in self.db.user_policies(identity.user_id).await? {
            let doc = match &inline {
                Some(text) => policy::parse(text).ok(),
                None => policy::managed_policy(&name),
            };
            match doc {
                Some(doc) => parsed.push((name, doc)),
                None => {
                    tracing::warn!(user = %identity.name, policy = %name, "ignoring a policy that does not parse")
                }
            }
        }
        let parsed = Arc::new(parsed);
        self.cache
            .lock()
            .expect("policy cache")
            .at(generation)
            .identities
            .insert(identity.user_id, parsed.clone());
        Ok(parsed)
    }

    async fn repository_policy(
        &self,
        generation: i64,
        name: &str,
    ) -> Result<Option<Arc<PolicyDocument>>, DbError> {
        let cached = self
            .cache
            .lock()
            .expect("policy cache")
            .at(generation)
            .repositories
            .get(name)
            .cloned();
        if let Some(doc) = cached {
            return Ok(doc);
        }
        let doc = self
            .db
            .repository_policy(name)
            .await?
            .and_then(|text| policy::parse(&text).ok())
            .map(Arc::new);
        let mut cache = self.cache.lock().expect("policy cache");
        let repositories = &mut cache.at(generation).repositories;
        if repositories.len() >= CACHED_REPOSITORIES {
            repositories.clear();
        }
        repositories.insert(name.to_owned(), doc.clone());
        Ok(doc)
    }

    async fn registry_scope_v1(&self, generation: i64) -> Result<bool, DbError> {
        let cached = self
            .cache
            .lock()
            .expect("policy cache")
            .at(generation)
            .registry_scope_v1;
        if let Some(v1) = cached {
            return Ok(v1);
        }
        let v1 = self.db.registry_policy_scope().await? == "V1";
        self.cache
            .lock()
            .expect("policy cache")
            .at(generation)
            .registry_scope_v1 = Some(v1);
        Ok(v1)
    }

    async fn registry_policy(
        &self,
        generation: i64,
    ) -> Result<Option<Arc<PolicyDocument>>, DbError> {
        let cached = self
            .cache
            .lock()
            .expect("policy cache")
            .at(generation)
            .registry
            .clone();
        if let Some(doc) = cached {
            return Ok(doc);
        }
        let doc = self
            .db
            .registry_policy()
            .await?
            .and_then(|text| policy::parse(&text).ok())
            .map(Arc::new);
        self.cache
            .lock()
            .expect("policy cache")
            .at(generation)
            .registry = Some(doc.clone());
        Ok(doc)
    }
}
