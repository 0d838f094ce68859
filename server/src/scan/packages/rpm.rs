//! The SQLite rpmdb (`/var/lib/rpm/rpmdb.sqlite`, rpm ≥ 4.16: Fedora ≥ 33,
//! RHEL/Rocky/Alma 9, Amazon Linux 2023).
//!
//! Its `Packages` table holds one row per installed package, whose `blob` is
//! that package's rpm header without the 8-byte header magic:
//!
//! ```text
//! il: u32 BE   number of index entries
//! dl: u32 BE   size of the data store
//! il × { tag: u32, type: u32, offset: u32, count: u32 }   (all BE)
//! dl bytes     the data store the entries point into
//! ```
//!
//! rpm's own reader (`lib/header.c`) is the reference; only the few tags a
//! scan needs are read (name, epoch, version, release, arch, source rpm), and
//! every count and offset is checked against the blob before it is used, so
//! a lying header is an error, never a panic or a large allocation.
//!
//! The file is opened read-only and `immutable` (it is a private copy spooled
//! out of a layer: no locks, no `-wal`/`-shm` files are made or read), its
//! `Packages` must be a real table (not a view that could compute forever),
//! and SQLite's work is capped by a progress handler.

use super::super::{Found, PackageKind};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// More packages than any real system has (Fedora's whole repository holds
/// ~75,000): a database claiming more is refused.
const MAX_PACKAGES: usize = 200_000;
/// A header is a few KiB to a few hundred KiB; rpm itself refuses more than
/// 256 MiB (`HEADER_DATA_MAX`). Scans refuse beyond 32 MiB per header.
const MAX_HEADER_BYTES: usize = 32 << 20;
/// rpm's `HEADER_TAGS_MAX`.
const MAX_INDEX_ENTRIES: usize = 0xffff;
/// SQLite virtual-machine steps before the read is interrupted (checked every
/// 10,000 steps): a few seconds of work, orders of magnitude more than a
/// real rpmdb needs (a handful of steps per row).
const MAX_SQLITE_STEPS: u64 = 200_000_000;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// The packages in the rpmdb at `path` (a copy spooled out of a layer).
/// `gpg-pubkey` entries (imported signing keys, not packages) are skipped.
pub fn rpmdb(path: &Path) -> Result<Vec<Found>, String> {
    let conn = open(path)?;
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'Packages'",
            [],
            |row| row.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(sqlite_error(e)),
        })?;
    match kind.as_deref() {
        Some("table") => {}
        Some(other) => return Err(format!("rpmdb: Packages is a {other}, not a table")),
        None => return Err("rpmdb: no Packages table (not an rpm ≥ 4.16 database)".into()),
    }

    // A blob over the cap is not even loaded: SQLite reads a blob's length
    // from the record header.
    let mut stmt = conn
        .prepare(
            "SELECT hnum, length(blob), CASE WHEN length(blob) <= ?1 THEN blob END \
             FROM Packages ORDER BY hnum",
        )
        .map_err(sqlite_error)?;
    let mut rows = stmt
        .query([MAX_HEADER_BYTES as i64])
        .map_err(sqlite_error)?;
    let mut found = Vec::new();
    let mut seen = 0usize;
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        seen += 1;
        if seen > MAX_PACKAGES {
            return Err(format!("rpmdb: more than {MAX_PACKAGES} packages"));
        }
        let hnum: i64 = row.get(0).map_err(sqlite_error)?;
        let len: Option<i64> = row.get(1).map_err(sqlite_error)?;
        if len.is_some_and(|len| len > MAX_HEADER_BYTES as i64) {
            return Err(format!(
                "rpmdb: package {hnum}: a header of {} bytes (more than {MAX_HEADER_BYTES})",
                len.unwrap_or_default()
            ));
        }
        let blob = row.get_ref(2).map_err(sqlite_error)?;
        let blob = blob
            .as_blob()
            .map_err(|_| format!("rpmdb: package {hnum}: its header is not a blob"))?;
        let package = header_package(blob).map_err(|e| format!("rpmdb: package {hnum}: {e}"))?;
        if let Some(package) = package {
            found.push(package);
        }
    }
    Ok(found)
}

/// Opens `path` read-only, as an immutable file, with SQLite's work capped.
fn open(path: &Path) -> Result<Connection, String> {
    // `immutable=1` needs a URI; percent-encode what a URI path cannot hold.
    let mut uri = String::from("file:");
    for byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(char::from(*byte))
            }
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    let conn = Connection::open_with_flags(
        &uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error)?;
    let steps = Arc::new(AtomicU64::new(0));
    conn.progress_handler(
        10_000,
        Some(move || steps.fetch_add(10_000, Ordering::Relaxed) > MAX_SQLITE_STEPS),
    );
    // Schemas may hold functions or triggers of their own: never run them.
    conn.pragma_update(None, "trusted_schema", false)
        .map_err(sqlite_error)?;
    Ok(conn)
}

/// SQLite's own message (it says "file is not a database", "database disk
/// image is malformed", "interrupted", …).
fn sqlite_error(e: rusqlite::Error) -> String {
    format!("rpmdb: {e}")
}

/// The package one header describes, `None` for a `gpg-pubkey`.
fn header_package(blob: &[u8]) -> Result<Option<Found>, String> {
    let header = Header::parse(blob)?;
    let name = header.string(TAG_NAME)?.ok_or("the header has no name")?;
    if name == "gpg-pubkey" {
        return Ok(None);
    }
    let version = header
        .string(TAG_VERSION)?
        .ok_or_else(|| format!("{name}: the header has no version"))?;
    let release = header
        .string(TAG_RELEASE)?
        .ok_or_else(|| format!("{name}: the header has no release"))?;
    let epoch = header.int32(TAG_EPOCH)?;
    // Read so a lying entry is caught; the arch is not part of what is found.
    let _arch = header.string(TAG_ARCH)?;
    let source_name = header
        .string(TAG_SOURCERPM)?
        .and_then(|srpm| source_rpm_name(&srpm).map(str::to_owned));
    let version = match epoch {
        Some(epoch) => format!("{epoch}:{version}-{release}"),
        None => format!("{version}-{release}"),
    };
    Ok(Some(Found {
        kind: PackageKind::Rpm,
        name,
        version,
        source_name,
        source_version: None,
    }))
}

/// `openssl-3.0.7-27.el9.src.rpm` → `openssl`: the name is what is left after
/// the last two `-` separated fields (version and release), as rpm names
/// its files `NAME-VERSION-RELEASE.ARCH.rpm` and neither version nor release
/// may hold a `-`.
fn source_rpm_name(srpm: &str) -> Option<&str> {
    let stem = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, _release) = stem.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    (!name.is_empty()).then_some(name)
}

/// One header: its index entries and its data store, both checked to lie
/// inside the blob.
struct Header<'a> {
    index: &'a [u8],
    data: &'a [u8],
}

/// One index entry.
struct Entry {
    kind: u32,
    offset: usize,
    count: usize,
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Result<Self, String> {
        if blob.len() > MAX_HEADER_BYTES {
            return Err(format!(
                "a header of {} bytes (more than {MAX_HEADER_BYTES})",
                blob.len()
            ));
        }
        let (il, dl) = match blob {
            [a, b, c, d, e, f, g, h, ..] => (
                u32::from_be_bytes([*a, *b, *c, *d]) as usize,
                u32::from_be_bytes([*e, *f, *g, *h]) as usize,
            ),
            _ => return Err(format!("a header of {} bytes is too short", blob.len())),
        };
        if il == 0 || il > MAX_INDEX_ENTRIES {
            return Err(format!("a header claiming {il} index entries"));
        }
        // il ≤ 0xffff, so this cannot overflow.
        let index_end = 8 + il * 16;
        let data_end = index_end
            .checked_add(dl)
            .ok_or("a header whose data size overflows")?;
        if data_end > blob.len() {
            return Err(format!(
                "a header claiming {il} entries and {dl} bytes of data, in {} bytes",
                blob.len()
            ));
        }
        Ok(Header {
            index: &blob[8..index_end],
            data: &blob[index_end..data_end],
        })
    }

    /// The first index entry with `tag`.
    fn entry(&self, tag: u32) -> Option<Entry> {
        self.index.chunks_exact(16).find_map(|e| {
            let word = |i: usize| u32::from_be_bytes([e[i], e[i + 1], e[i + 2], e[i + 3]]);
            (word(0) == tag).then(|| Entry {
                kind: word(4),
                offset: word(8) as usize,
                count: word(12) as usize,
            })
        })
    }

    /// A string tag's value (the first string of an array or i18n table).
    fn string(&self, tag: u32) -> Result<Option<String>, String> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        if !matches!(
            entry.kind,
            TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING
        ) {
            return Err(format!("tag {tag} has type {}, not a string", entry.kind));
        }
        if entry.count == 0 {
            return Err(format!("tag {tag} holds no string"));
        }
        let bytes = self
            .data
            .get(entry.offset..)
            .filter(|b| !b.is_empty())
            .ok_or_else(|| format!("tag {tag} points at {}, outside the data", entry.offset))?;
        let end = bytes
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| format!("tag {tag}'s string is not terminated"))?;
        String::from_utf8(bytes[..end].to_vec())
            .map(Some)
            .map_err(|_| format!("tag {tag}'s string is not UTF-8"))
    }

    /// An INT32 tag's first value.
    fn int32(&self, tag: u32) -> Result<Option<u32>, String> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        if entry.kind != TYPE_INT32 || entry.count == 0 {
            return Err(format!(
                "tag {tag} has type {} and count {}, not an INT32",
                entry.kind, entry.count
            ));
        }
        let bytes = entry
            .offset
            .checked_add(4)
            .and_then(|end| self.data.get(entry.offset..end))
            .ok_or_else(|| format!("tag {tag} points at {}, outside the data", entry.offset))?;
        Ok(Some(u32::from_be_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3],
        ])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header blob, made the way rpm lays one out.
    fn blob(entries: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, kind, value, count) in entries {
            if *kind == TYPE_INT32 {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
            }
            for word in [*tag, *kind, data.len() as u32, *count] {
                index.extend_from_slice(&word.to_be_bytes());
            }
            data.extend_from_slice(value);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(data);
        out
    }

    #[test]
    fn a_header_gives_name_epoch_version_release_and_source() {
        let header = blob(&[
            (TAG_NAME, TYPE_STRING, b"openssl-libs\0", 1),
            (TAG_VERSION, TYPE_STRING, b"3.0.7\0", 1),
            (TAG_RELEASE, TYPE_STRING, b"27.el9\0", 1),
            (TAG_EPOCH, TYPE_INT32, &1u32.to_be_bytes(), 1),
            (TAG_ARCH, TYPE_STRING, b"x86_64\0", 1),
            (
                TAG_SOURCERPM,
                TYPE_STRING,
                b"openssl-3.0.7-27.el9.src.rpm\0",
                1,
            ),
        ]);
        assert_eq!(
            header_package(&header).unwrap(),
            Some(Found {
                kind: PackageKind::Rpm,
                name: "openssl-libs".into(),
                version: "1:3.0.7-27.el9".into(),
                source_name: Some("openssl".into()),
                source_version: None,
            })
        );
    }

    #[test]
    fn gpg_pubkey_is_not_a_package() {
        let header = blob(&[
            (TAG_NAME, TYPE_STRING, b"gpg-pubkey\0", 1),
            (TAG_VERSION, TYPE_STRING, b"fd431d51\0", 1),
            (TAG_RELEASE, TYPE_STRING, b"4ae0493b\0", 1),
        ]);
        assert_eq!(header_package(&header).unwrap(), None);
    }

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            source_rpm_name("openssl-3.0.7-27.el9.src.rpm"),
            Some("openssl")
        );
        assert_eq!(
            source_rpm_name("python-setuptools-53.0.0-12.el9.src.rpm"),
            Some("python-setuptools")
        );
        assert_eq!(source_rpm_name("weird.src.rpm"), None);
        assert_eq!(source_rpm_name("no-suffix-1"), None);
    }

    #[test]
    fn lying_headers_are_errors() {
        let good = blob(&[(TAG_NAME, TYPE_STRING, b"bash\0", 1)]);
        // Too short, no entries, a huge entry count, a huge data size.
        for bad in [
            vec![0u8; 7],
            [0u32.to_be_bytes(), 0u32.to_be_bytes()].concat(),
            [u32::MAX.to_be_bytes(), 0u32.to_be_bytes()].concat(),
            [
                1u32.to_be_bytes(),
                u32::MAX.to_be_bytes(),
                [0; 4],
                [0; 4],
                [0; 4],
                [0; 4],
            ]
            .concat(),
        ] {
            assert!(header_package(&bad).is_err(), "{bad:?}");
        }
        // An offset outside the data, an unterminated string, a wrong type.
        let mut outside = good.clone();
        outside[16..20].copy_from_slice(&1000u32.to_be_bytes());
        assert!(header_package(&outside).unwrap_err().contains("outside"));
        let mut unterminated = good.clone();
        *unterminated.last_mut().unwrap() = b'x';
        assert!(header_package(&unterminated)
            .unwrap_err()
            .contains("terminated"));
        let mut wrong_type = good.clone();
        wrong_type[12..16].copy_from_slice(&TYPE_INT32.to_be_bytes());
        assert!(header_package(&wrong_type)
            .unwrap_err()
            .contains("not a string"));
        // A name but no version.
        assert!(header_package(&good).unwrap_err().contains("no version"));
        let epoch_outside = blob(&[
            (TAG_NAME, TYPE_STRING, b"bash\0", 1),
            (TAG_VERSION, TYPE_STRING, b"5.1\0", 1),
            (TAG_RELEASE, TYPE_STRING, b"1\0", 1),
            (TAG_EPOCH, TYPE_INT32, &[0, 0], 1),
        ]);
        assert!(header_package(&epoch_outside)
            .unwrap_err()
            .contains("outside"));
    }

    #[test]
    fn files_that_are_not_rpmdbs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage");
        std::fs::write(
            &garbage,
            b"this is not a database, only text long enough to look like a file",
        )
        .unwrap();
        assert!(rpmdb(&garbage).unwrap_err().contains("not a database"));

        let other = dir.path().join("other.sqlite");
        let conn = Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE Other (x INTEGER)")
            .unwrap();
        drop(conn);
        assert!(rpmdb(&other).unwrap_err().contains("no Packages table"));

        let view = dir.path().join("view.sqlite");
        let conn = Connection::open(&view).unwrap();
        conn.execute_batch(
            "CREATE VIEW Packages AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
             SELECT i AS hnum, x'00' AS blob FROM n",
        )
        .unwrap();
        drop(conn);
        assert!(rpmdb(&view).unwrap_err().contains("view"));

        let lying = dir.path().join("lying.sqlite");
        let conn = Connection::open(&lying).unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO Packages (blob) VALUES (?1)",
            [[u32::MAX.to_be_bytes(), u32::MAX.to_be_bytes()].concat()],
        )
        .unwrap();
        drop(conn);
        let err = rpmdb(&lying).unwrap_err();
        assert!(err.contains("package 1"), "{err}");

        let huge = dir.path().join("huge.sqlite");
        let conn = Connection::open(&huge).unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL); \
             INSERT INTO Packages (blob) VALUES (zeroblob(33 * 1024 * 1024));",
        )
        .unwrap();
        drop(conn);
        let err = rpmdb(&huge).unwrap_err();
        assert!(err.contains("more than"), "{err}");
    }
}
