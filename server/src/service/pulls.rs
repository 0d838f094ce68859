//! Last-pulled times, coalesced in memory and written in batches so that a pull
//! costs no database write.

use crate::db::{now_millis, Db, DbError};
use std::collections::HashMap;
use std::sync::Mutex;

/// Pull times not yet written.
#[derive(Default)]
pub struct PullTimes {
    pending: Mutex<HashMap<i64, i64>>,
}

impl PullTimes {
    /// Notes that a manifest was pulled now.
    pub fn record(&self, manifest_id: i64) {
        self.pending
            .lock()
            .expect("pull-time lock")
            .insert(manifest_id, now_millis());
    }

    /// Writes every pending time in one transaction.
    pub async fn flush(&self, db: &Db) -> Result<usize, DbError> {
        let batch: Vec<(i64, i64)> = self
            .pending
            .lock()
            .expect("pull-time lock")
            .drain()
            .collect();
        if !batch.is_empty() {
            db.record_pulls(&batch).await?;
        }
        Ok(batch.len())
    }
}
