//! The two kinds of touch a read leaves behind. A manifest's last-pulled time
//! is only shown, so pulls are coalesced in memory and written in one
//! transaction every few seconds (a failed write stays pending for the next
//! flush). A blob link's touched time is what garbage collection's grace
//! period counts from, and a pusher that saw a blob (`HEAD`, `GET`, ECR's
//! `BatchCheckLayerAvailability`) will reference it soon: that touch is made
//! durable in the metadata before the answer goes out, so `berth gc` in
//! another process (or on another node) sees it.
//!
//! The guard, in numbers: a read writes the link's time through only when the
//! stored one is older than [`LINK_REFRESH_AGE`] (so reads of a busy layer
//! stay a no-op read), and garbage collection refuses a grace shorter than
//! [`MIN_GC_GRACE`], twice that age. After any answer a pusher relies on, the
//! link therefore stays safe from collection for at least
//! `grace - LINK_REFRESH_AGE` (at least [`MIN_GC_GRACE`] /2), whichever
//! process collects and whatever grace it was given.

use super::{ServiceError, ServiceResult};
use crate::db::{now_millis, Db, DbError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A read of a blob whose link was touched longer ago than this writes the
/// link's touched time through before answering.
pub const LINK_REFRESH_AGE: Duration = Duration::from_secs(300);

/// The shortest grace period garbage collection accepts: twice
/// [`LINK_REFRESH_AGE`], so a pusher has at least that age between seeing a
/// blob and pushing the manifest that references it.
pub const MIN_GC_GRACE: Duration = Duration::from_secs(2 * LINK_REFRESH_AGE.as_secs());

/// Refuses a garbage-collection grace period shorter than [`MIN_GC_GRACE`],
/// naming the minimum.
pub fn check_gc_grace(grace: Duration) -> ServiceResult<()> {
    if grace < MIN_GC_GRACE {
        return Err(ServiceError::InvalidSetting(format!(
            "a garbage-collection grace period of {} s is too short: the guard that keeps \
             blobs a push relies on needs at least {} s (blob reads refresh a link's \
             touched time only when it is older than {} s)",
            grace.as_secs(),
            MIN_GC_GRACE.as_secs(),
            LINK_REFRESH_AGE.as_secs()
        )));
    }
    Ok(())
}

/// Whether a link touched at `touched_at` (milliseconds) must be touched again
/// at `now` before a read of it is answered.
pub fn link_needs_touch(touched_at: i64, now: i64) -> bool {
    touched_at < now - LINK_REFRESH_AGE.as_millis() as i64
}

/// Last-pulled times not yet written: manifest id → when.
#[derive(Default)]
pub struct Touches {
    pulls: Mutex<HashMap<i64, i64>>,
}

impl Touches {
    /// Notes that a manifest was pulled now.
    pub fn pulled(&self, manifest_id: i64) {
        self.pulls
            .lock()
            .expect("touch lock")
            .insert(manifest_id, now_millis());
    }

    /// Writes every pending pull time in one transaction; returns how many.
    /// If the write fails, the times stay pending (a newer pull of the same
    /// manifest, noted meanwhile, wins).
    pub async fn flush(&self, db: &Db) -> Result<usize, DbError> {
        let pulls: Vec<(i64, i64)> = self.pulls.lock().expect("touch lock").drain().collect();
        if pulls.is_empty() {
            return Ok(0);
        }
        if let Err(error) = db.record_pulls(&pulls).await {
            let mut pending = self.pulls.lock().expect("touch lock");
            for (manifest_id, at) in pulls {
                let entry = pending.entry(manifest_id).or_insert(at);
                *entry = (*entry).max(at);
            }
            return Err(error);
        }
        Ok(pulls.len())
    }

    /// How many pull times wait to be written.
    pub fn pending(&self) -> usize {
        self.pulls.lock().expect("touch lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_touched_again_only_once_older_than_the_refresh_age() {
        let now = 10_000_000;
        let age = LINK_REFRESH_AGE.as_millis() as i64;
        assert!(!link_needs_touch(now, now));
        assert!(!link_needs_touch(now - age, now));
        assert!(link_needs_touch(now - age - 1, now));
        assert!(link_needs_touch(0, now));
    }

    #[test]
    fn a_grace_shorter_than_the_guard_needs_is_refused_naming_the_minimum() {
        assert!(check_gc_grace(MIN_GC_GRACE).is_ok());
        assert!(check_gc_grace(Duration::from_secs(3600)).is_ok());
        let refused = check_gc_grace(Duration::from_secs(2)).unwrap_err();
        let message = refused.to_string();
        assert!(message.contains("2 s is too short"), "{message}");
        assert!(message.contains("at least 600 s"), "{message}");
    }

    #[tokio::test]
    async fn pull_times_that_fail_to_be_written_stay_pending() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("berth.db"), crate::db::Schema::Migrate)
            .await
            .unwrap();
        let touches = Touches::default();
        touches.pulled(1);
        db.close().await;
        assert!(touches.flush(&db).await.is_err(), "a closed database fails");
        assert_eq!(
            touches.pending(),
            1,
            "the pull time waits for the next flush"
        );
    }
}
