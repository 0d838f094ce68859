//! Policies (those attached to users, and the resource policies of
//! repositories and of the registry) and the registry's scanning configuration.

use super::{Db, DbError};

impl Db {
    /// A user's policies: (name, inline document or `None` for a managed policy).
    pub async fn user_policies(
        &self,
        user_id: i64,
    ) -> Result<Vec<(String, Option<String>)>, DbError> {
        sqlx::query_as("SELECT name, document FROM user_policies WHERE user_id = ? ORDER BY name")
            .bind(user_id)
            .fetch_all(&self.reader)
            .await
    }

    /// Every user's policies: (user id, policy name, whether it is inline),
    /// by user and name.
    pub async fn all_user_policies(&self) -> Result<Vec<(i64, String, bool)>, DbError> {
        sqlx::query_as(
            "SELECT user_id, name, document IS NOT NULL FROM user_policies ORDER BY user_id, name",
        )
        .fetch_all(&self.reader)
        .await
    }

    /// Attaches (or replaces) a policy on a user.
    pub async fn attach_user_policy(
        &self,
        user_id: i64,
        name: &str,
        document: Option<&str>,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO user_policies (user_id, name, document) VALUES (?, ?, ?)
             ON CONFLICT (user_id, name) DO UPDATE SET document = excluded.document",
        )
        .bind(user_id)
        .bind(name)
        .bind(document)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Detaches a policy; false if it was not attached.
    pub async fn detach_user_policy(&self, user_id: i64, name: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM user_policies WHERE user_id = ? AND name = ?")
            .bind(user_id)
            .bind(name)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A repository's policy text.
    pub async fn repository_policy(&self, name: &str) -> Result<Option<String>, DbError> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT policy_text FROM repositories WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.flatten())
    }

    /// Sets (or with `None` removes) a repository's policy.
    pub async fn set_repository_policy(
        &self,
        repository_id: i64,
        text: Option<&str>,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE repositories SET policy_text = ? WHERE id = ?")
            .bind(text)
            .bind(repository_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The policy generation: bumped (by triggers) whenever any policy changes.
    pub async fn policy_generation(&self) -> Result<i64, DbError> {
        sqlx::query_scalar("SELECT n FROM policy_generation WHERE id = 1")
            .fetch_one(&self.reader)
            .await
    }

    /// The registry's policy text.
    pub async fn registry_policy(&self) -> Result<Option<String>, DbError> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT policy_text FROM registry WHERE id = 1")
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.flatten())
    }

    /// Sets (or with `None` removes) the registry's policy.
    pub async fn set_registry_policy(&self, text: Option<&str>) -> Result<(), DbError> {
        sqlx::query("UPDATE registry SET policy_text = ? WHERE id = 1")
            .bind(text)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The push settings' generation: bumped (by triggers) by every change
    /// to the scanning or the signing configuration, from any process.
    pub async fn push_settings_generation(&self) -> Result<i64, DbError> {
        sqlx::query_scalar("SELECT n FROM push_settings_generation WHERE id = 1")
            .fetch_one(&self.reader)
            .await
    }

    /// The registry's scanning configuration (JSON).
    pub async fn scanning_configuration(&self) -> Result<Option<String>, DbError> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT scanning_configuration FROM registry WHERE id = 1")
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.flatten())
    }

    /// Sets the registry's scanning configuration (JSON).
    pub async fn set_scanning_configuration(&self, json: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE registry SET scanning_configuration = ? WHERE id = 1")
            .bind(json)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
