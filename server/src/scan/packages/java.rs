//! Java archives (`*.jar`, `*.war`, `*.ear`): the Maven coordinates recorded
//! in `META-INF/maven/GROUP/ARTIFACT/pom.properties`, in the archive and in
//! the archives nested in it (`BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, …).
//!
//! The archive is read as a stream of zip local headers, front to back, so a
//! jar of any size is read in constant memory and without a temporary file,
//! and a nested jar is read straight out of its entry's decompressor. This is
//! written here rather than with the `zip` crate because that crate's stream
//! reader refuses entries whose sizes follow their data (a data descriptor,
//! general purpose flag bit 3), which is how `jar` and Maven write every
//! deflated entry; a deflate stream marks its own end, so such entries can be
//! read in a stream. Stored entries always carry their sizes (Java's
//! `ZipOutputStream` requires them).

use super::super::{Found, PackageKind};
use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};

/// Bounds on reading one archive and everything nested in it.
#[derive(Debug, Clone)]
pub struct JarLimits {
    /// How deep archives may nest (an archive in an archive is depth 1).
    pub max_depth: usize,
    /// Bytes that may be decompressed in all, nested archives included.
    pub max_expanded: u64,
    /// Entries that may be read in all, nested archives included.
    pub max_entries: u64,
}

impl Default for JarLimits {
    fn default() -> Self {
        Self {
            max_depth: 4,
            max_expanded: 4 << 30,
            max_entries: 1_000_000,
        }
    }
}

/// A Maven package found in an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JarPackage {
    /// The nested archives it was found in, as `!/inner.jar` segments (empty
    /// for the archive itself).
    pub within: String,
    /// `groupId:artifactId` at `version`.
    pub found: Found,
}

/// Why an archive could not be read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JarError {
    /// A limit was crossed (a zip bomb, nesting too deep, too many entries).
    Hostile(String),
    /// It is not a zip, or uses something a stream cannot read.
    Unreadable(String),
}

/// Every Maven package recorded in the archive `reader` yields. Nested
/// archives that cannot be read add a line to `notes` and are passed over.
pub fn read(
    reader: &mut dyn Read,
    limits: &JarLimits,
    notes: &mut Vec<String>,
) -> Result<Vec<JarPackage>, JarError> {
    let budget = Budget {
        expanded: Cell::new(0),
        entries: Cell::new(0),
        limits,
    };
    let mut out = Vec::new();
    let mut reader = BufReader::with_capacity(32 << 10, reader);
    read_zip(&mut reader, "", 0, &budget, &mut out, notes)?;
    Ok(out)
}

struct Budget<'a> {
    expanded: Cell<u64>,
    entries: Cell<u64>,
    limits: &'a JarLimits,
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR: u32 = 0x0807_4b50;
/// Signatures that follow the last entry: central directory header, zip64
/// end records, end of central directory, digital signature, archive extra
/// data. Reaching one means every entry has been read.
const AFTER_ENTRIES: [u32; 6] = [
    0x0201_4b50,
    0x0606_4b50,
    0x0706_4b50,
    0x0605_4b50,
    0x0505_4b50,
    0x0806_4b50,
];
/// A `pom.properties` larger than this is not one.
const MAX_PROPERTIES: u64 = 64 << 10;

fn unreadable(e: io::Error) -> JarError {
    JarError::Unreadable(e.to_string())
}

fn read_zip(
    r: &mut dyn BufRead,
    within: &str,
    depth: usize,
    budget: &Budget,
    out: &mut Vec<JarPackage>,
    notes: &mut Vec<String>,
) -> Result<(), JarError> {
    let mut first = true;
    loop {
        let mut sig = [0u8; 4];
        if !read_exact_or_eof(r, &mut sig).map_err(unreadable)? {
            return Ok(());
        }
        let sig = u32::from_le_bytes(sig);
        if AFTER_ENTRIES.contains(&sig) {
            return Ok(());
        }
        if sig != LOCAL_HEADER {
            return Err(JarError::Unreadable(if first {
                "not a zip archive".into()
            } else {
                format!("unexpected record {sig:#010x} between entries")
            }));
        }
        first = false;
        let entries = budget.entries.get() + 1;
        budget.entries.set(entries);
        if entries > budget.limits.max_entries {
            return Err(JarError::Hostile(format!(
                "more than {} entries in a Java archive",
                budget.limits.max_entries
            )));
        }
        let mut fixed = [0u8; 26];
        r.read_exact(&mut fixed).map_err(unreadable)?;
        let u16_at = |i: usize| u16::from_le_bytes([fixed[i], fixed[i + 1]]);
        let u32_at =
            |i: usize| u32::from_le_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
        let (flags, method) = (u16_at(2), u16_at(4));
        let (mut compressed, size) = (u64::from(u32_at(14)), u32_at(18));
        let mut name = vec![0u8; usize::from(u16_at(22))];
        r.read_exact(&mut name).map_err(unreadable)?;
        let mut extra = vec![0u8; usize::from(u16_at(24))];
        r.read_exact(&mut extra).map_err(unreadable)?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let zip64 = zip64_sizes(&extra, size == 0xffff_ffff, compressed == 0xffff_ffff);
        if let Some((_, Some(c))) = zip64 {
            compressed = c;
        }
        let descriptor = flags & 0x08 != 0;
        let encrypted = flags & 0x01 != 0;
        let wanted = if encrypted {
            Wanted::Nothing
        } else {
            Wanted::of(&name)
        };
        // Inflates a deflated entry, takes what is wanted of it and reads
        // the rest, within the budget.
        let mut inflate = |deflated: &mut dyn BufRead| -> Result<(), JarError> {
            let mut inflated = Counted::new(flate2::bufread::DeflateDecoder::new(deflated), budget);
            take_entry(
                &mut inflated,
                wanted,
                &name,
                within,
                depth,
                budget,
                out,
                notes,
            )?;
            drain(&mut inflated, budget)
        };
        match (method, descriptor) {
            // Stored: the data as it is, its size in the header.
            (0, _) if !descriptor || compressed > 0 => {
                let mut data = (&mut *r).take(compressed);
                take_entry(&mut data, wanted, &name, within, depth, budget, out, notes)?;
                io::copy(&mut data, &mut io::sink()).map_err(unreadable)?;
            }
            // Deflated, sizes known: a wanted entry is inflated, any other
            // is passed over without inflating it.
            (8, false) => {
                let mut data = (&mut *r).take(compressed);
                if wanted != Wanted::Nothing {
                    inflate(&mut data)?;
                }
                io::copy(&mut data, &mut io::sink()).map_err(unreadable)?;
            }
            // Deflated, sizes after the data: inflating finds the end.
            (8, true) => inflate(&mut *r)?,
            (_, false) => {
                io::copy(&mut (&mut *r).take(compressed), &mut io::sink()).map_err(unreadable)?;
            }
            (method, true) => {
                return Err(JarError::Unreadable(format!(
                    "{name}: compression method {method} with its size after the data cannot be read as a stream"
                )));
            }
        }
        if descriptor {
            // CRC-32 and both sizes, optionally after a signature; the sizes
            // are 8 bytes each in a zip64 entry.
            let mut word = [0u8; 4];
            r.read_exact(&mut word).map_err(unreadable)?;
            if u32::from_le_bytes(word) == DATA_DESCRIPTOR {
                r.read_exact(&mut word).map_err(unreadable)?;
            }
            let mut sizes = vec![0u8; if zip64.is_some() { 16 } else { 8 }];
            r.read_exact(&mut sizes).map_err(unreadable)?;
        }
    }
}

/// What an entry is to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Nothing,
    Properties,
    Archive,
}

impl Wanted {
    fn of(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            Wanted::Properties
        } else if [".jar", ".war", ".ear"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            Wanted::Archive
        } else {
            Wanted::Nothing
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the recursion's whole state, passed down one level"
)]
fn take_entry(
    data: &mut dyn Read,
    wanted: Wanted,
    name: &str,
    within: &str,
    depth: usize,
    budget: &Budget,
    out: &mut Vec<JarPackage>,
    notes: &mut Vec<String>,
) -> Result<(), JarError> {
    match wanted {
        Wanted::Nothing => Ok(()),
        Wanted::Properties => {
            let mut text = Vec::new();
            data.take(MAX_PROPERTIES)
                .read_to_end(&mut text)
                .map_err(|e| hostile_or(e, budget))?;
            if let Some(found) = pom_properties(&String::from_utf8_lossy(&text)) {
                out.push(JarPackage {
                    within: within.to_string(),
                    found,
                });
            }
            Ok(())
        }
        Wanted::Archive => {
            if depth + 1 > budget.limits.max_depth {
                return Err(JarError::Hostile(format!(
                    "Java archives nested more than {} deep",
                    budget.limits.max_depth
                )));
            }
            let inner_within = format!("{within}!/{name}");
            let mut inner = BufReader::with_capacity(16 << 10, data);
            match read_zip(&mut inner, &inner_within, depth + 1, budget, out, notes) {
                Ok(()) => Ok(()),
                Err(JarError::Unreadable(reason))
                    if budget.expanded.get() <= budget.limits.max_expanded =>
                {
                    notes.push(format!("{inner_within}: {reason}"));
                    Ok(())
                }
                Err(JarError::Unreadable(_)) => Err(bomb(budget)),
                Err(hostile) => Err(hostile),
            }
        }
    }
}

/// Reads what is left of an inflated entry, so the stream is at its end.
fn drain(data: &mut dyn Read, budget: &Budget) -> Result<(), JarError> {
    io::copy(data, &mut io::sink())
        .map(|_| ())
        .map_err(|e| hostile_or(e, budget))
}

fn bomb(budget: &Budget) -> JarError {
    JarError::Hostile(format!(
        "a Java archive expands beyond {} bytes",
        budget.limits.max_expanded
    ))
}

fn hostile_or(e: io::Error, budget: &Budget) -> JarError {
    if budget.expanded.get() > budget.limits.max_expanded {
        bomb(budget)
    } else {
        unreadable(e)
    }
}

/// A decompressor whose output counts against the budget.
struct Counted<'b, 'l, R> {
    inner: R,
    budget: &'b Budget<'l>,
}

impl<'b, 'l, R> Counted<'b, 'l, R> {
    fn new(inner: R, budget: &'b Budget<'l>) -> Self {
        Self { inner, budget }
    }
}

impl<R: Read> Read for Counted<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.budget.expanded.get() + n as u64;
        self.budget.expanded.set(total);
        if total > self.budget.limits.max_expanded {
            return Err(io::Error::other("expansion limit"));
        }
        Ok(n)
    }
}

/// The zip64 extended information extra field (id 1): the 8-byte sizes that
/// replace the local header's `0xffffffff`, uncompressed first.
fn zip64_sizes(
    extra: &[u8],
    has_size: bool,
    has_compressed: bool,
) -> Option<(Option<u64>, Option<u64>)> {
    let mut rest = extra;
    while rest.len() >= 4 {
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let body = rest.get(4..4 + len)?;
        if id == 1 {
            let mut words = body
                .chunks_exact(8)
                .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")));
            let size = if has_size { words.next() } else { None };
            let compressed = if has_compressed { words.next() } else { None };
            return Some((size, compressed));
        }
        rest = &rest[4 + len..];
    }
    None
}

/// `read_exact`, except that a clean end before the first byte is `false`.
fn read_exact_or_eof(r: &mut dyn BufRead, buf: &mut [u8]) -> io::Result<bool> {
    if r.fill_buf()?.is_empty() {
        return Ok(false);
    }
    r.read_exact(buf)?;
    Ok(true)
}

/// The package a Maven `pom.properties` names (`groupId`, `artifactId`,
/// `version`), in Java properties syntax (`key=value`, `key: value`,
/// `#`/`!` comments).
pub fn pom_properties(text: &str) -> Option<Found> {
    let (mut group, mut artifact, mut version) = (None, None, None);
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with(['#', '!']) {
            continue;
        }
        let Some(split) = line.find(['=', ':']) else {
            continue;
        };
        let (key, value) = (line[..split].trim(), line[split + 1..].trim());
        match key {
            "groupId" => group = Some(value.to_string()),
            "artifactId" => artifact = Some(value.to_string()),
            "version" => version = Some(value.to_string()),
            _ => {}
        }
    }
    let (group, artifact, version) = (group?, artifact?, version?);
    if group.is_empty() || artifact.is_empty() || version.is_empty() {
        return None;
    }
    Some(Found {
        kind: PackageKind::Maven,
        name: format!("{group}:{artifact}"),
        version,
        source_name: None,
        source_version: None,
    })
}

/// Zip archives written the way `jar`, Maven and Spring Boot write them, for
/// tests here and in [`layers`](super::super::layers).
#[cfg(test)]
pub(crate) mod testzip {
    use std::io::Write;

    /// How an entry is written.
    #[derive(Clone, Copy)]
    pub enum Method {
        /// Stored, sizes in the local header (how nested jars are kept).
        Stored,
        /// Deflated with the sizes in a data descriptor after the data (how
        /// `jar`'s `ZipOutputStream` writes every deflated entry).
        DeflatedLater,
        /// Deflated, sizes in the local header.
        Deflated,
    }

    /// A zip of `entries`, with its central directory.
    pub fn zip(entries: &[(&str, &[u8], Method)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data, method) in entries {
            let mut crc = flate2::Crc::new();
            crc.update(data);
            let crc = crc.sum();
            let body = match method {
                Method::Stored => data.to_vec(),
                Method::Deflated | Method::DeflatedLater => {
                    let mut e = flate2::write::DeflateEncoder::new(
                        Vec::new(),
                        flate2::Compression::default(),
                    );
                    e.write_all(data).unwrap();
                    e.finish().unwrap()
                }
            };
            let (flags, code): (u16, u16) = match method {
                Method::Stored => (0, 0),
                Method::Deflated => (0, 8),
                Method::DeflatedLater => (8, 8),
            };
            let later = matches!(method, Method::DeflatedLater);
            let offset = out.len() as u32;
            let (hcrc, hc, hs) = if later {
                (0, 0, 0)
            } else {
                (crc, body.len() as u32, data.len() as u32)
            };
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&code.to_le_bytes());
            out.extend_from_slice(&[0, 0, 0x21, 0]); // time, date
            out.extend_from_slice(&hcrc.to_le_bytes());
            out.extend_from_slice(&hc.to_le_bytes());
            out.extend_from_slice(&hs.to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&body);
            if later {
                out.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
                out.extend_from_slice(&crc.to_le_bytes());
                out.extend_from_slice(&(body.len() as u32).to_le_bytes());
                out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            }
            central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes());
            central.extend_from_slice(&flags.to_le_bytes());
            central.extend_from_slice(&code.to_le_bytes());
            central.extend_from_slice(&[0, 0, 0x21, 0]);
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&(body.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]); // extra, comment, disk, attributes
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let at = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testzip::{zip, Method};
    use super::*;

    const SLF4J: &[u8] = include_bytes!("testdata/slf4j-nop-1.7.32.jar");

    fn names(found: &[JarPackage]) -> Vec<(String, String, String)> {
        found
            .iter()
            .map(|p| {
                (
                    p.within.clone(),
                    p.found.name.clone(),
                    p.found.version.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn reads_a_real_jar() {
        let mut notes = vec![];
        let found = read(&mut &SLF4J[..], &JarLimits::default(), &mut notes).unwrap();
        assert_eq!(
            names(&found),
            [("".into(), "org.slf4j:slf4j-nop".into(), "1.7.32".into())]
        );
        assert_eq!(found[0].found.kind, PackageKind::Maven);
        assert!(notes.is_empty());
    }

    #[test]
    fn reads_nested_jars_written_as_jar_writes_them() {
        let props = b"#Generated by Maven\ngroupId=com.example\nartifactId=app\nversion=2.0.1\n";
        let lib = zip(&[(
            "META-INF/maven/com.example/lib/pom.properties",
            b"groupId=com.example\nartifactId=lib\nversion=0.9\n",
            Method::DeflatedLater,
        )]);
        let war = zip(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\n",
                Method::DeflatedLater,
            ),
            (
                "META-INF/maven/com.example/app/pom.properties",
                props,
                Method::DeflatedLater,
            ),
            ("WEB-INF/lib/slf4j-nop-1.7.32.jar", SLF4J, Method::Stored),
            ("WEB-INF/lib/lib.jar", &lib, Method::DeflatedLater),
            ("WEB-INF/classes/big.bin", &[7u8; 100_000], Method::Deflated),
        ]);
        let mut notes = vec![];
        let found = read(&mut &war[..], &JarLimits::default(), &mut notes).unwrap();
        assert_eq!(
            names(&found),
            [
                ("".into(), "com.example:app".into(), "2.0.1".into()),
                (
                    "!/WEB-INF/lib/slf4j-nop-1.7.32.jar".into(),
                    "org.slf4j:slf4j-nop".into(),
                    "1.7.32".into()
                ),
                (
                    "!/WEB-INF/lib/lib.jar".into(),
                    "com.example:lib".into(),
                    "0.9".into()
                ),
            ]
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn a_nested_archive_that_is_not_a_zip_is_a_note() {
        let war = zip(&[
            (
                "WEB-INF/lib/broken.jar",
                b"not a zip at all",
                Method::Stored,
            ),
            ("WEB-INF/lib/slf4j.jar", SLF4J, Method::DeflatedLater),
        ]);
        let mut notes = vec![];
        let found = read(&mut &war[..], &JarLimits::default(), &mut notes).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(notes, ["!/WEB-INF/lib/broken.jar: not a zip archive"]);
        assert_eq!(
            read(
                &mut &b"PK\x05\x06 garbage"[..],
                &JarLimits::default(),
                &mut vec![]
            ),
            Ok(vec![])
        );
        assert!(matches!(
            read(
                &mut &b"garbage garbage"[..],
                &JarLimits::default(),
                &mut vec![]
            ),
            Err(JarError::Unreadable(_))
        ));
    }

    #[test]
    fn nesting_and_expansion_are_bounded() {
        // An archive in an archive in an archive…, ten deep.
        let mut jar = SLF4J.to_vec();
        for _ in 0..10 {
            jar = zip(&[("inner.jar", &jar, Method::DeflatedLater)]);
        }
        let err = read(&mut &jar[..], &JarLimits::default(), &mut vec![]).unwrap_err();
        assert_eq!(
            err,
            JarError::Hostile("Java archives nested more than 4 deep".into())
        );

        // A deflated entry of 64 MiB of zeros (64 KiB compressed) read past
        // a 1 MiB budget: it has to be inflated to find its end.
        let zeros = vec![0u8; 64 << 20];
        let bomb = zip(&[("a.bin", &zeros, Method::DeflatedLater)]);
        assert!(bomb.len() < 1 << 20);
        let limits = JarLimits {
            max_expanded: 1 << 20,
            ..JarLimits::default()
        };
        let err = read(&mut &bomb[..], &limits, &mut vec![]).unwrap_err();
        assert_eq!(
            err,
            JarError::Hostile("a Java archive expands beyond 1048576 bytes".into())
        );

        let many: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("f{i}"), vec![])).collect();
        let entries: Vec<(&str, &[u8], Method)> = many
            .iter()
            .map(|(n, d)| (n.as_str(), &d[..], Method::Stored))
            .collect();
        let limits = JarLimits {
            max_entries: 10,
            ..JarLimits::default()
        };
        let err = read(&mut &zip(&entries)[..], &limits, &mut vec![]).unwrap_err();
        assert_eq!(
            err,
            JarError::Hostile("more than 10 entries in a Java archive".into())
        );
    }

    #[test]
    fn pom_properties_syntax() {
        let found = pom_properties("! comment\n# another\ngroupId = org.example\nartifactId: thing\nversion=1.0-SNAPSHOT\n").unwrap();
        assert_eq!(
            (found.name.as_str(), found.version.as_str()),
            ("org.example:thing", "1.0-SNAPSHOT")
        );
        assert_eq!(pom_properties("groupId=a\nversion=1\n"), None);
    }
}
