//! Users and their password hashes.

use super::{now_millis, Db, DbError};

/// A user as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Creation time (ms).
    pub created_at: i64,
}

/// A user as the users table lists them: without the hash, with counts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserOverviewRow {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// How many access keys the user has.
    pub access_keys: i64,
}

impl Db {
    /// Finds a user by name.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRow>, DbError> {
        sqlx::query_as("SELECT id, name, password_hash, created_at FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.reader)
            .await
    }

    /// All users by name.
    pub async fn list_users(&self) -> Result<Vec<UserRow>, DbError> {
        sqlx::query_as("SELECT id, name, password_hash, created_at FROM users ORDER BY name")
            .fetch_all(&self.reader)
            .await
    }

    /// Every user by name, with the number of their access keys.
    pub async fn user_overview(&self) -> Result<Vec<UserOverviewRow>, DbError> {
        sqlx::query_as(
            "SELECT u.id, u.name, u.created_at,
                    (SELECT COUNT(*) FROM access_keys k WHERE k.user_id = u.id) AS access_keys
             FROM users u ORDER BY u.name",
        )
        .fetch_all(&self.reader)
        .await
    }

    /// Creates a user with managed policies attached, in one transaction;
    /// `None` if the name is taken (and then nothing is written).
    pub async fn create_user_with_policies(
        &self,
        name: &str,
        password_hash: &str,
        managed_policies: &[String],
    ) -> Result<Option<UserRow>, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let created: Option<UserRow> = sqlx::query_as(
            "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)
             ON CONFLICT (name) DO NOTHING
             RETURNING id, name, password_hash, created_at",
        )
        .bind(name)
        .bind(password_hash)
        .bind(now_millis())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user) = created else {
            return Ok(None);
        };
        for policy in managed_policies {
            sqlx::query(
                "INSERT INTO user_policies (user_id, name, document) VALUES (?, ?, NULL)
                 ON CONFLICT (user_id, name) DO NOTHING",
            )
            .bind(user.id)
            .bind(policy)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(user))
    }

    /// Creates a user; returns false if the name is taken.
    pub async fn create_user(&self, name: &str, password_hash: &str) -> Result<bool, DbError> {
        let done = sqlx::query("INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(password_hash)
            .bind(now_millis())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces a user's password hash; returns false if there is no such user.
    pub async fn set_password_hash(
        &self,
        name: &str,
        password_hash: &str,
    ) -> Result<bool, DbError> {
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE name = ?")
            .bind(password_hash)
            .bind(name)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a user; returns false if there is no such user.
    pub async fn delete_user(&self, name: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM users WHERE name = ?")
            .bind(name)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
