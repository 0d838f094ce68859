//! Console sign-in sessions, as rows of (id, JSON data, expiry).

use super::{now_millis, Db, DbError};

impl Db {
    /// A live session's data and expiry (ms), or `None` when there is none or it has expired.
    pub async fn console_session(&self, id: &str) -> Result<Option<(String, i64)>, DbError> {
        sqlx::query_as(
            "SELECT data, expires_at FROM console_sessions WHERE id = ? AND expires_at > ?",
        )
        .bind(id)
        .bind(now_millis())
        .fetch_optional(&self.reader)
        .await
    }

    /// Updates a live session's data and expiry. A session that no longer
    /// exists (signed out, its id cycled at sign-in, ended by a password
    /// change, or expired and swept) stays gone: a request that loaded it
    /// before it ended must not bring it back when it saves.
    pub async fn save_console_session(
        &self,
        id: &str,
        data: &str,
        expires_at: i64,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE console_sessions SET data = ?, expires_at = ? WHERE id = ?")
            .bind(data)
            .bind(expires_at)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Stores a new session; returns false when the id is already taken.
    pub async fn create_console_session(
        &self,
        id: &str,
        data: &str,
        expires_at: i64,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "INSERT INTO console_sessions (id, data, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a session (sign-out).
    pub async fn delete_console_session(&self, id: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM console_sessions WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Ends every console session of a user (after a password change);
    /// returns how many.
    pub async fn end_console_sessions_of(&self, user_id: i64) -> Result<u64, DbError> {
        let done = sqlx::query(
            "DELETE FROM console_sessions WHERE json_extract(data, '$.user.user_id') = ?",
        )
        .bind(user_id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    /// Removes every expired session; returns how many.
    pub async fn delete_expired_console_sessions(&self) -> Result<u64, DbError> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE expires_at <= ?")
            .bind(now_millis())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}
