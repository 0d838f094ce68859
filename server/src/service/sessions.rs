//! Console sessions in the metadata database, shared by every process (and
//! every node) that serves the console: the tower-sessions store, and whether
//! a session's user still exists.

use super::{Registry, ServiceResult};
use crate::db::Db;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// Console sessions and the users they belong to.
#[derive(Debug, Clone)]
pub struct Sessions {
    db: Db,
}

impl Sessions {
    /// Whether the user `id` still exists under `name` (a user deleted and
    /// re-created under the same name is not the same user).
    pub async fn user_exists(&self, id: i64, name: &str) -> ServiceResult<bool> {
        Ok(self
            .db
            .user_by_name(name)
            .await?
            .is_some_and(|row| row.id == id))
    }
}

impl Sessions {
    /// Removes the sessions past their expiry; how many.
    pub async fn delete_expired(&self) -> ServiceResult<u64> {
        Ok(self.db.delete_expired_console_sessions().await?)
    }
}

impl Registry {
    /// The console's sessions.
    pub fn sessions(&self) -> Sessions {
        Sessions {
            db: self.db.clone(),
        }
    }
}

/// Console sessions stored in the metadata database.
#[derive(Debug, Clone)]
pub struct SessionRecords {
    db: Db,
}

impl SessionRecords {
    /// The store over `sessions`' database.
    pub fn new(sessions: Sessions) -> Self {
        Self { db: sessions.db }
    }
}

fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// What the database keeps of a session id: its SHA-256, hex. The lookup by
/// key then compares hashes, so its timing tells nothing about live ids, and
/// the database alone does not hold a usable cookie.
fn row_key(id: &Id) -> String {
    use sha2::{Digest as _, Sha256};
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait::async_trait]
impl SessionStore for SessionRecords {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        // Ids are 128 random bits; a collision only costs a fresh id.
        while !self
            .db
            .create_console_session(&row_key(&record.id), &data, millis(record.expiry_date))
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        self.db
            .save_console_session(&row_key(&record.id), &data, millis(record.expiry_date))
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some((data, expires_at)) = self
            .db
            .console_session(&row_key(id))
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_at) * 1_000_000)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.db
            .delete_console_session(&row_key(id))
            .await
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::SessionRecords;
    use crate::db::Db;
    use tower_sessions::session::{Id, Record};
    use tower_sessions::session_store::SessionStore;

    fn record(user: &str) -> Record {
        Record {
            id: Id::default(),
            data: [("user".to_owned(), serde_json::json!(user))].into(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::HOUR,
        }
    }

    /// A request that loaded a session before sign-out (or a password
    /// change) and saves it afterwards must not bring it back.
    #[tokio::test]
    async fn an_ended_session_stays_ended_whatever_saves_late() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionRecords {
            db: Db::open(&dir.path().join("berth.db"), crate::db::Schema::Migrate)
                .await
                .unwrap(),
        };
        let mut live = record("alice");
        store.create(&mut live).await.unwrap();
        let loaded = store.load(&live.id).await.unwrap().expect("created");
        assert_eq!(loaded.data, live.data);

        let mut refreshed = loaded.clone();
        refreshed
            .data
            .insert("user".into(), serde_json::json!("alice again"));
        store.save(&refreshed).await.unwrap();
        assert_eq!(
            store.load(&live.id).await.unwrap().unwrap().data,
            refreshed.data
        );

        store.delete(&live.id).await.unwrap();
        store.save(&refreshed).await.unwrap();
        assert!(
            store.load(&live.id).await.unwrap().is_none(),
            "a late save revived it"
        );

        // Nor can a client's made-up id be written by a save.
        let made_up = record("mallory");
        store.save(&made_up).await.unwrap();
        assert!(store.load(&made_up.id).await.unwrap().is_none());
    }

    #[test]
    fn the_database_keeps_only_a_hash_of_the_session_id() {
        let id = Id::default();
        let key = super::row_key(&id);
        assert_eq!(key.len(), 64, "hex SHA-256");
        assert!(!key.contains(&id.to_string()));
        assert_eq!(key, super::row_key(&id), "the same id finds the same row");
        assert_ne!(key, super::row_key(&Id::default()));
    }
}
