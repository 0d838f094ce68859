//! The SQLite rpmdb (`/var/lib/rpm/rpmdb.sqlite`).

use super::super::Found;
use std::path::Path;

/// The packages in the rpmdb at `path` (a copy spooled out of a layer).
pub fn rpmdb(path: &Path) -> Result<Vec<Found>, String> {
    Err(format!(
        "{}: rpmdb reading is not built yet",
        path.display()
    ))
}
