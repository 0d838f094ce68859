//! The `registry` row: this installation's id and region.

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
