//! Access keys and authorization tokens.

use super::{now_millis, Db, DbError, UserRow};

/// An access key as listed (without its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessKeyRow {
    /// `AKIA…`.
    pub id: String,
    /// Owner's name.
    pub user_name: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// When a request last authenticated with it (ms), recorded at most once a minute.
    pub last_used_at: Option<i64>,
}

impl Db {
    /// Stores a new access key with its sealed secret.
    pub async fn create_access_key(
        &self,
        id: &str,
        user_id: i64,
        sealed_secret: &[u8],
    ) -> Result<(), DbError> {
        sqlx::query("INSERT INTO access_keys (id, user_id, secret_ciphertext, created_at) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(user_id)
            .bind(sealed_secret)
            .bind(now_millis())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The owner and sealed secret of an access key.
    pub async fn access_key(&self, id: &str) -> Result<Option<(UserRow, Vec<u8>)>, DbError> {
        let row: Option<(i64, String, String, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT u.id, u.name, u.password_hash, u.created_at, k.secret_ciphertext
             FROM access_keys k JOIN users u ON u.id = k.user_id WHERE k.id = ?",
        )
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|(id, name, password_hash, created_at, sealed)| {
            (
                UserRow {
                    id,
                    name,
                    password_hash,
                    created_at,
                },
                sealed,
            )
        }))
    }

    /// A user's access keys.
    pub async fn list_access_keys(&self, user_name: &str) -> Result<Vec<AccessKeyRow>, DbError> {
        sqlx::query_as(
            "SELECT k.id, u.name AS user_name, k.created_at, k.last_used_at FROM access_keys k JOIN users u ON u.id = k.user_id
             WHERE u.name = ? ORDER BY k.created_at, k.id",
        )
        .bind(user_name)
        .fetch_all(&self.reader)
        .await
    }

    /// Records that a request authenticated with access key `id` at `at` (ms).
    pub async fn record_access_key_use(&self, id: &str, at: i64) -> Result<(), DbError> {
        sqlx::query("UPDATE access_keys SET last_used_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Deletes one of a user's access keys; false if there is no such key for that user.
    pub async fn delete_access_key(&self, user_name: &str, id: &str) -> Result<bool, DbError> {
        let done = sqlx::query(
            "DELETE FROM access_keys WHERE id = ? AND user_id = (SELECT id FROM users WHERE name = ?)",
        )
        .bind(id)
        .bind(user_name)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records an authorization token (by its hash) valid until `expires_at` (ms).
    pub async fn create_token(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM auth_tokens WHERE expires_at < ?")
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO auth_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)")
            .bind(token_hash)
            .bind(user_id)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// The user an unexpired token belongs to.
    pub async fn token_user(&self, token_hash: &str) -> Result<Option<UserRow>, DbError> {
        sqlx::query_as(
            "SELECT u.id, u.name, u.password_hash, u.created_at FROM auth_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ? AND t.expires_at > ?",
        )
        .bind(token_hash)
        .bind(now_millis())
        .fetch_optional(&self.reader)
        .await
    }
}
