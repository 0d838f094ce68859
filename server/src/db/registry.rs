//! The `registry` row: this installation's id and region, and its account settings.

use super::{now_millis, Db, DbError};

/// The registry's identity, made at first start.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistryRow {
    /// 12-digit registry (account) id.
    pub registry_id: String,
    /// Region name.
    pub region: String,
}

impl Db {
    /// The registry row, creating it with `new_id`/`region` if this is the first start.
    pub async fn ensure_registry(
        &self,
        new_id: &str,
        region: &str,
    ) -> Result<RegistryRow, DbError> {
        sqlx::query("INSERT INTO registry (id, registry_id, region, created_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING")
            .bind(new_id)
            .bind(region)
            .bind(now_millis())
            .execute(&self.writer)
            .await?;
        sqlx::query_as("SELECT registry_id, region FROM registry WHERE id = 1")
            .fetch_one(&self.writer)
            .await
    }
}

impl Db {
    /// The registry's `BLOB_MOUNTING` setting: `ENABLED` or `DISABLED`.
    pub async fn blob_mounting(&self) -> Result<String, DbError> {
        sqlx::query_scalar("SELECT blob_mounting FROM registry WHERE id = 1")
            .fetch_one(&self.reader)
            .await
    }

    /// Sets the registry's `BLOB_MOUNTING` setting (`ENABLED` or `DISABLED`).
    pub async fn set_blob_mounting(&self, value: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE registry SET blob_mounting = ? WHERE id = 1")
            .bind(value)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The registry's `REGISTRY_POLICY_SCOPE` setting: `V1` or `V2`.
    pub async fn registry_policy_scope(&self) -> Result<String, DbError> {
        sqlx::query_scalar("SELECT registry_policy_scope FROM registry WHERE id = 1")
            .fetch_one(&self.reader)
            .await
    }

    /// Sets the registry's `REGISTRY_POLICY_SCOPE` setting (`V1` or `V2`);
    /// a trigger bumps the policy generation.
    pub async fn set_registry_policy_scope(&self, value: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE registry SET registry_policy_scope = ? WHERE id = 1")
            .bind(value)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
