//! Continuous scanning: stored inventories matched again when the
//! vulnerability database changed, with the findings that appeared and
//! disappeared recorded.

use super::run::unpack;
use super::view::findings_of;
use super::{Registry, ServiceResult};
use crate::scan::Finding;
use std::collections::HashMap;

/// Stored inventories continuous scanning reads, and whose new findings it
/// writes in one transaction, at a time: few enough that the transaction
/// is short (pushes wait for the writer meanwhile), many enough that the
/// commits (each one waits for the disk) do not dominate.
pub const REMATCH_BATCH: usize = 100;

/// The key that tells two findings apart when a stored inventory is matched
/// again.
fn finding_key(f: &Finding) -> (String, String, String, String) {
    (
        f.name.clone(),
        f.package_name.clone(),
        f.package_version.clone(),
        f.path.clone(),
    )
}

impl Registry {
    /// Continuous scanning: when the vulnerability database changed since
    /// some complete scans were matched, matches their stored inventories
    /// again (in repositories an `ENHANCED` `CONTINUOUS_SCAN` rule covers)
    /// and records the findings that appeared and disappeared. Returns how
    /// many images were matched again.
    ///
    /// One run matches every inventory against one snapshot of the database
    /// with one [`crate::service::vulndb::Matcher`], so a record is fetched and
    /// parsed once per run, not once per image; the scans are read
    /// [`REMATCH_BATCH`] at a time and their new findings written in one
    /// transaction per batch.
    pub async fn rematch_stale_scans(&self) -> ServiceResult<usize> {
        let Some(updated) = self.vulndb_updated_at().await? else {
            return Ok(0);
        };
        let config = self.scanning_configuration().await?;
        let mut covered: HashMap<String, bool> = HashMap::new();
        let stale: Vec<i64> = self
            .db
            .scans_matched_before(updated)
            .await?
            .into_iter()
            .filter(|(_, repository, scan_on_push)| {
                *covered.entry(repository.clone()).or_insert_with(|| {
                    crate::service::scanning::applied(&config, repository, *scan_on_push)
                        .continuous()
                })
            })
            .map(|(manifest_id, _, _)| manifest_id)
            .collect();
        if stale.is_empty() {
            return Ok(0);
        }
        let mut matcher = self.matcher().await?;
        let source_updated_at = matcher.database_updated_at().unwrap_or(updated);
        let mut done = 0;
        for batch in stale.chunks(REMATCH_BATCH) {
            let rows = self.db.scans_of(batch).await?;
            let mut rematched = Vec::with_capacity(rows.len());
            for row in rows {
                let Some(packed) = row.inventory.clone() else {
                    continue;
                };
                let inventory = match tokio::task::spawn_blocking(move || unpack(&packed)).await {
                    Ok(Ok(inventory)) => inventory,
                    _ => {
                        tracing::warn!(
                            manifest_id = row.manifest_id,
                            "a stored inventory cannot be read; scan the image again"
                        );
                        continue;
                    }
                };
                let findings = matcher.findings(inventory.packages).await?.findings;
                let before = findings_of(&row);
                let old: std::collections::BTreeSet<_> = before.iter().map(finding_key).collect();
                let new: std::collections::BTreeSet<_> = findings.iter().map(finding_key).collect();
                let mut events = Vec::new();
                for key in new.difference(&old) {
                    events.push(("appeared", key.0.clone(), key.1.clone(), key.2.clone()));
                }
                for key in old.difference(&new) {
                    events.push(("disappeared", key.0.clone(), key.1.clone(), key.2.clone()));
                }
                rematched.push(crate::db::Rematched {
                    manifest_id: row.manifest_id,
                    findings: serde_json::to_string(&findings).expect("findings serialize"),
                    source_updated_at,
                    events,
                });
            }
            done += self.db.rematched(&rematched).await?;
        }
        Ok(done)
    }
}
