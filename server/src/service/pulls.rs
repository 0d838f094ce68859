//! Touches that must not cost a database write per request: last-pulled times
//! of manifests, and the last time a pusher or puller relied on a blob link
//! (which garbage collection's grace period counts from). Both are coalesced
//! in memory and written in one transaction every few seconds.

use crate::db::{now_millis, Db, DbError};
use std::collections::HashMap;
use std::sync::Mutex;

/// A repository's link to a blob: (repository id, digest).
type Link = (i64, String);

#[derive(Default)]
struct Pending {
    pulls: HashMap<i64, i64>,
    links: HashMap<Link, i64>,
}

/// Touches not yet written.
#[derive(Default)]
pub struct Touches {
    pending: Mutex<Pending>,
}

impl Touches {
    /// Notes that a manifest was pulled now.
    pub fn pulled(&self, manifest_id: i64) {
        self.pending
            .lock()
            .expect("touch lock")
            .pulls
            .insert(manifest_id, now_millis());
    }

    /// Notes that a repository's link to a blob was relied on now (HEAD/GET).
    pub fn linked(&self, repository_id: i64, digest: &str) {
        self.pending
            .lock()
            .expect("touch lock")
            .links
            .insert((repository_id, digest.to_owned()), now_millis());
    }

    /// Writes everything pending in one transaction; returns how many touches.
    pub async fn flush(&self, db: &Db) -> Result<usize, DbError> {
        let (pulls, links) = {
            let mut pending = self.pending.lock().expect("touch lock");
            let pulls: Vec<(i64, i64)> = pending.pulls.drain().collect();
            let links: Vec<(Link, i64)> = pending.links.drain().collect();
            (pulls, links)
        };
        if !pulls.is_empty() {
            db.record_pulls(&pulls).await?;
        }
        if !links.is_empty() {
            db.touch_links(&links).await?;
        }
        Ok(pulls.len() + links.len())
    }
}
