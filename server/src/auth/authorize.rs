//! Authorization, one evaluator for every face: the caller's identity
//! policies, the repository's policy and the registry's policy, evaluated
//! together by [`berth_app::policy::evaluate`] (explicit deny wins, then any
//! allow, else deny).

use super::Identity;
use crate::db::{Db, DbError};
use crate::RegistryInfo;
use berth_app::policy::{self, Decision, PolicyDocument, PolicyKind, Request};
use std::sync::Arc;

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

/// Decides whether identities may perform actions.
pub struct Authorizer {
    db: Db,
    info: Arc<RegistryInfo>,
}

impl Authorizer {
    /// An authorizer over the policies in `db`, naming resources with `info`.
    pub fn new(db: Db, info: Arc<RegistryInfo>) -> Self {
        Self { db, info }
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

    /// Allows or refuses `action` (e.g. `ecr:PutImage`) on `resource`.
    pub async fn authorize(
        &self,
        identity: &Identity,
        action: &str,
        resource: Resource<'_>,
    ) -> Result<Result<(), Denied>, DbError> {
        let mut documents: Vec<(String, PolicyKind, PolicyDocument)> = Vec::new();
        for (name, inline) in self.db.user_policies(identity.user_id).await? {
            let parsed = match &inline {
                Some(text) => policy::parse(text).ok(),
                None => policy::managed_policy(&name),
            };
            match parsed {
                Some(doc) => documents.push((name, PolicyKind::Identity, doc)),
                None => {
                    tracing::warn!(user = %identity.name, policy = %name, "ignoring a policy that does not parse")
                }
            }
        }
        if let Resource::Repository(name) = resource {
            if let Some(text) = self.db.repository_policy(name).await? {
                if let Ok(doc) = policy::parse(&text) {
                    documents.push((
                        format!("repository policy of {name}"),
                        PolicyKind::Resource,
                        doc,
                    ));
                }
            }
        }
        if let Some(text) = self.db.registry_policy().await? {
            if let Ok(doc) = policy::parse(&text) {
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
        let borrowed: Vec<(&str, PolicyKind, &PolicyDocument)> = documents
            .iter()
            .map(|(n, k, d)| (n.as_str(), *k, d))
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
}
