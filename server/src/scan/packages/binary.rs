//! Executables: a Go binary's build info, a Rust binary's `cargo auditable`
//! dependency list. ELF only (what Linux images hold).
//!
//! - Go: the build info Go's linker writes (`.go.buildinfo`, or, in a
//!   stripped binary, the `\xff Go buildinf:` header at the start of the
//!   writable data segment). Go ≥ 1.18 stores the Go version and the module
//!   information inline after the 32-byte header (varint-length strings);
//!   older Go stores two pointers to Go string headers. Both are read, as Go's
//!   own `debug/buildinfo` does. The module information lists `path`, `mod`,
//!   `dep` and `=>` (replacement) lines; each `dep` (and the main module,
//!   when it has a real version) is a Go package, at its replacement's
//!   version when it is replaced by another version, and the standard
//!   library is the package `stdlib` at the Go version. Versions are written
//!   as OSV's Go ecosystem writes them: without the leading `v` (`v0.3.7` →
//!   `0.3.7`, `go1.19.8` → `1.19.8`).
//! - Rust: `cargo auditable` stores its dependency tree as zlib-compressed
//!   JSON in the `.dep-v0` section; the crates from crates.io that are
//!   compiled into the binary (not build-time-only dependencies) are found.
//!
//! The file is read lazily (`object`'s read cache): only the ELF headers and
//! the sections needed, each checked to lie inside the file and capped in
//! size, so a hostile file costs no more memory than those caps.

use super::super::{Found, PackageKind};
use object::elf::{FileHeader32, FileHeader64, PF_W, PF_X, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader, SectionTable};
use object::read::ReadCache;
use object::{Endianness, ReadRef};
use std::io::{Read, Seek, SeekFrom};

/// The build info header Go's linker writes.
const GO_BUILDINFO_MAGIC: &[u8] = b"\xff Go buildinf:";
/// Its size; the inline strings start right after it.
const GO_BUILDINFO_HEADER: usize = 32;
/// Go aligns the header to 16 bytes in the data segment.
const GO_BUILDINFO_ALIGN: usize = 16;
/// How much of the data segment is searched for the header (Go's own reader
/// searches 64 KiB; the header is at the segment's start in practice).
const GO_SEARCH_BYTES: u64 = 1 << 20;
/// The module information of a program with thousands of dependencies is a
/// few hundred KiB.
const MAX_GO_STRING: u64 = 4 << 20;
/// `.go.buildinfo` holds the header and the inline strings.
const MAX_GO_SECTION: u64 = MAX_GO_STRING * 2 + 64;
/// The compressed `.dep-v0` of a program with a thousand crates is ~20 KiB.
const MAX_DEP_V0_COMPRESSED: u64 = 8 << 20;
/// The inflated JSON: cargo auditable's own reader caps it at 8 MiB too.
const MAX_DEP_V0_JSON: u64 = 8 << 20;

/// The file, read lazily: only the ranges asked for are read (and kept).
type Data<'a, 'f> = &'a ReadCache<&'f mut std::fs::File>;

/// The packages an executable records (none for one that records none, or
/// for a file that is not an ELF file).
pub fn executable(file: &mut std::fs::File) -> Result<Vec<Found>, String> {
    let mut ident = [0u8; 5];
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    match file.read_exact(&mut ident) {
        Ok(()) if ident[..4] == *b"\x7fELF" => {}
        Ok(()) => return Ok(vec![]),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(vec![]),
        Err(e) => return Err(e.to_string()),
    }
    let len = file.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    let cache = ReadCache::new(&mut *file);
    // Only the ELF header, the program headers, the section headers and
    // their names are read, then the two sections wanted: not the symbol
    // tables a full parse would load.
    match ident[4] {
        object::elf::ELFCLASS32 => elf_packages::<FileHeader32<Endianness>>(&cache, len),
        object::elf::ELFCLASS64 => elf_packages::<FileHeader64<Endianness>>(&cache, len),
        other => Err(format!("a malformed ELF file: class {other}")),
    }
}

fn elf_packages<'a, 'f, Elf: FileHeader<Endian = Endianness>>(
    data: Data<'a, 'f>,
    file_len: u64,
) -> Result<Vec<Found>, String> {
    let malformed = |e: object::Error| format!("a malformed ELF file: {e}");
    let header = Elf::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let sections = header.sections(endian, data).map_err(malformed)?;
    let segments: Vec<Segment> = header
        .program_headers(endian, data)
        .map_err(malformed)?
        .iter()
        .filter(|p| p.p_type(endian) == PT_LOAD)
        .map(|p| Segment {
            address: p.p_vaddr(endian).into(),
            offset: p.p_offset(endian).into(),
            size: p.p_filesz(endian).into(),
            flags: p.p_flags(endian),
        })
        .collect();
    let reader = AddressReader {
        data,
        file_len,
        segments,
    };
    let mut found = go_packages::<Elf>(&sections, endian, &reader)?;
    found.extend(rust_packages::<Elf>(&sections, endian, &reader)?);
    Ok(found)
}

/// A `PT_LOAD` segment: where its bytes are in memory and in the file.
struct Segment {
    address: u64,
    offset: u64,
    size: u64,
    flags: u32,
}

/// The bytes of the section named `name`, checked to lie inside the file and
/// to be at most `cap`; `None` when there is no such section (or it holds no
/// bytes in the file).
fn section_bytes<'a, Elf: FileHeader<Endian = Endianness>>(
    sections: &SectionTable<'a, Elf, Data<'a, '_>>,
    endian: Endianness,
    reader: &AddressReader<'a, '_>,
    name: &str,
    cap: u64,
) -> Result<Option<&'a [u8]>, String> {
    let Some((_, section)) = sections.section_by_name(endian, name.as_bytes()) else {
        return Ok(None);
    };
    let Some((offset, size)) = section.file_range(endian) else {
        return Ok(None);
    };
    if size > cap {
        return Err(format!("section {name} of {size} bytes (more than {cap})"));
    }
    reader
        .bytes_at_offset(offset, size)
        .map(Some)
        .ok_or_else(|| format!("section {name} lies outside the file"))
}

// ---- Go ----

fn go_packages<'a, Elf: FileHeader<Endian = Endianness>>(
    sections: &SectionTable<'a, Elf, Data<'a, '_>>,
    endian: Endianness,
    reader: &AddressReader<'a, '_>,
) -> Result<Vec<Found>, String> {
    let header: &[u8] = if let Some(bytes) =
        section_bytes(sections, endian, reader, ".go.buildinfo", MAX_GO_SECTION)?
    {
        if !bytes.starts_with(GO_BUILDINFO_MAGIC) {
            return Err(".go.buildinfo does not start with Go's build info header".into());
        }
        bytes
    } else {
        // A stripped binary: the first writable, non-executable segment.
        let Some(data) = reader
            .segments
            .iter()
            .find(|s| s.flags & PF_W != 0 && s.flags & PF_X == 0)
        else {
            return Ok(vec![]);
        };
        let size = data.size.min(GO_SEARCH_BYTES);
        let Some(bytes) = reader.bytes_at_offset(data.offset, size) else {
            return Err("the data segment lies outside the file".into());
        };
        match find_aligned(bytes, GO_BUILDINFO_MAGIC, GO_BUILDINFO_ALIGN) {
            Some(at) => &bytes[at..],
            None => return Ok(vec![]),
        }
    };
    if header.len() < GO_BUILDINFO_HEADER {
        return Err("Go's build info header is truncated".into());
    }
    let ptr_size = usize::from(header[14]);
    let flags = header[15];
    let (version, modinfo) = if flags & 2 != 0 {
        // Go ≥ 1.18: two varint-prefixed strings after the header.
        let rest = &header[GO_BUILDINFO_HEADER..];
        let (version, rest) = varint_string(rest).ok_or("Go's version string is truncated")?;
        let (modinfo, _) = varint_string(rest).ok_or("Go's module information is truncated")?;
        (version.to_vec(), modinfo.to_vec())
    } else {
        // Go < 1.18: pointers to Go string headers (data pointer, length).
        if ptr_size != 4 && ptr_size != 8 {
            return Err(format!("Go's build info has a pointer size of {ptr_size}"));
        }
        let big_endian = flags & 1 != 0;
        let word = |bytes: &[u8]| -> u64 {
            let mut value = 0u64;
            for i in 0..ptr_size {
                let b = if big_endian {
                    bytes[i]
                } else {
                    bytes[ptr_size - 1 - i]
                };
                value = (value << 8) | u64::from(b);
            }
            value
        };
        let string_at = |pointer: u64| -> Result<Vec<u8>, String> {
            let string_header = reader
                .bytes_at_address(pointer, 2 * ptr_size as u64)
                .ok_or("a Go string header outside the file")?;
            let data = word(&string_header[..ptr_size]);
            let len = word(&string_header[ptr_size..]);
            if len > MAX_GO_STRING {
                return Err(format!("a Go string of {len} bytes"));
            }
            Ok(reader
                .bytes_at_address(data, len)
                .ok_or("a Go string outside the file")?
                .to_vec())
        };
        let version = string_at(word(&header[16..16 + ptr_size]))?;
        let modinfo = string_at(word(&header[16 + ptr_size..16 + 2 * ptr_size]))?;
        (version, modinfo)
    };
    let version = String::from_utf8(version).map_err(|_| "Go's version string is not UTF-8")?;
    let modinfo = std::str::from_utf8(strip_sentinels(&modinfo))
        .map_err(|_| "Go's module information is not UTF-8")?;
    Ok(go_modules(&version, modinfo))
}

/// The index of the first occurrence of `needle` in `haystack` at a multiple
/// of `align`.
fn find_aligned(haystack: &[u8], needle: &[u8], align: usize) -> Option<usize> {
    (0..haystack.len())
        .step_by(align)
        .find(|at| haystack[*at..].starts_with(needle))
}

/// A string prefixed by its length as an unsigned LEB128 varint, and the rest.
fn varint_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len = 0u64;
    let mut shift = 0;
    let mut used = 0;
    loop {
        let byte = *bytes.get(used)?;
        used += 1;
        if shift > 63 {
            return None;
        }
        len |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let len = usize::try_from(len).ok()?;
    let rest = &bytes[used..];
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// Go wraps the module information in two 16-byte binary sentinels (the
/// text before the second ends with a newline); they are not part of it.
fn strip_sentinels(modinfo: &[u8]) -> &[u8] {
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        &modinfo[16..modinfo.len() - 16]
    } else {
        modinfo
    }
}

/// The packages of one module information text, with `stdlib` at `go_version`.
fn go_modules(go_version: &str, modinfo: &str) -> Vec<Found> {
    let go = |name: &str, version: &str| Found {
        kind: PackageKind::Go,
        name: name.to_owned(),
        version: version.strip_prefix('v').unwrap_or(version).to_owned(),
        source_name: None,
        source_version: None,
    };
    let mut found: Vec<Found> = Vec::new();
    // Whether the last `mod`/`dep` line was kept (so its `=>` applies to it).
    let mut last_kept = false;
    for line in modinfo.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["mod", path, version, ..] => {
                // `(devel)`: built from a checkout, no version to match.
                last_kept = version.starts_with('v');
                if last_kept {
                    found.push(go(path, version));
                }
            }
            ["dep", path, version, ..] => {
                found.push(go(path, version));
                last_kept = true;
            }
            ["=>", _path, version, ..] => {
                // Replaced by another version of a module: that version is
                // what is compiled in. Replaced by a local directory (no
                // version): the required version is what the module claims.
                if last_kept && version.starts_with('v') {
                    if let Some(last) = found.last_mut() {
                        *last = go(&last.name.clone(), version);
                    }
                }
                last_kept = false;
            }
            _ => last_kept = false,
        }
    }
    // `go1.19.8`, `go1.22.0 X:boringcrypto`; `devel …` has no version.
    let go_version = go_version.split_whitespace().next().unwrap_or("");
    if let Some(version) = go_version.strip_prefix("go").filter(|v| !v.is_empty()) {
        found.push(go("stdlib", version));
    }
    found
}

/// Reads bytes by file offset or by virtual address (through the `PT_LOAD`
/// segments), within the file.
struct AddressReader<'a, 'f> {
    data: Data<'a, 'f>,
    file_len: u64,
    segments: Vec<Segment>,
}

impl<'a> AddressReader<'a, '_> {
    fn bytes_at_offset(&self, offset: u64, size: u64) -> Option<&'a [u8]> {
        if offset.checked_add(size)? > self.file_len {
            return None;
        }
        self.data.read_bytes_at(offset, size).ok()
    }

    fn bytes_at_address(&self, address: u64, size: u64) -> Option<&'a [u8]> {
        let segment = self
            .segments
            .iter()
            .find(|s| address >= s.address && address - s.address < s.size)?;
        let within = address - segment.address;
        if within.checked_add(size)? > segment.size {
            return None;
        }
        self.bytes_at_offset(segment.offset.checked_add(within)?, size)
    }
}

// ---- Rust (cargo auditable) ----

/// cargo auditable's JSON (auditable-serde's `VersionInfo`), as much of it as
/// is needed.
#[derive(serde::Deserialize)]
struct VersionInfo {
    packages: Vec<AuditablePackage>,
}

#[derive(serde::Deserialize)]
struct AuditablePackage {
    name: String,
    version: String,
    /// `crates.io`, `git`, `local`, `registry`, or the name of another kind
    /// of source (auditable-serde's `Source` is always written as a string).
    source: String,
    /// `runtime` (the default) or `build`.
    #[serde(default)]
    kind: Option<String>,
}

fn rust_packages<'a, Elf: FileHeader<Endian = Endianness>>(
    sections: &SectionTable<'a, Elf, Data<'a, '_>>,
    endian: Endianness,
    reader: &AddressReader<'a, '_>,
) -> Result<Vec<Found>, String> {
    let Some(compressed) =
        section_bytes(sections, endian, reader, ".dep-v0", MAX_DEP_V0_COMPRESSED)?
    else {
        return Ok(vec![]);
    };
    dep_v0_crates(compressed)
}

/// The crates.io crates compiled into a binary, from its `.dep-v0` bytes.
fn dep_v0_crates(compressed: &[u8]) -> Result<Vec<Found>, String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_DEP_V0_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!(".dep-v0 is not zlib data: {e}"))?;
    if json.len() as u64 > MAX_DEP_V0_JSON {
        return Err(format!(
            ".dep-v0 inflates to more than {MAX_DEP_V0_JSON} bytes"
        ));
    }
    let info: VersionInfo = serde_json::from_slice(&json)
        .map_err(|e| format!(".dep-v0 is not cargo auditable's JSON: {e}"))?;
    Ok(info
        .packages
        .into_iter()
        .filter(|p| p.source == "crates.io" && p.kind.as_deref().unwrap_or("runtime") == "runtime")
        .map(|p| Found {
            kind: PackageKind::Rust,
            name: p.name,
            version: p.version,
            source_name: None,
            source_version: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(bytes: &[u8]) -> std::fs::File {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        file
    }

    #[test]
    fn files_that_are_not_elf_record_nothing() {
        for bytes in [
            &b""[..],
            b"\x7fE",
            b"#!/bin/sh\necho hi\n",
            b"PK\x03\x04 a zip",
        ] {
            assert_eq!(
                executable(&mut temp_file(bytes)).unwrap(),
                vec![],
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn a_garbage_elf_is_an_error() {
        let mut bytes = b"\x7fELF\x02\x01\x01".to_vec();
        bytes.resize(64, 0xff);
        assert!(executable(&mut temp_file(&bytes)).is_err());
    }

    /// A minimal 64-bit little-endian ELF executable, without section
    /// headers (as a stripped one may be), whose one writable `PT_LOAD`
    /// segment holds Go < 1.18's build info: the header, then pointers to
    /// Go string headers (pointer, length), then the strings.
    fn old_go_binary(version: &str, modinfo: &[u8]) -> Vec<u8> {
        const DATA_OFFSET: u64 = 128;
        const DATA_ADDRESS: u64 = 0x50_0000;
        let mut data = Vec::new();
        data.extend_from_slice(GO_BUILDINFO_MAGIC);
        data.push(8); // pointer size
        data.push(0); // flags: little-endian, pointers (not inline strings)
        data.extend_from_slice(&(DATA_ADDRESS + 32).to_le_bytes());
        data.extend_from_slice(&(DATA_ADDRESS + 48).to_le_bytes());
        data.extend_from_slice(&(DATA_ADDRESS + 64).to_le_bytes());
        data.extend_from_slice(&(version.len() as u64).to_le_bytes());
        let modinfo_at = DATA_ADDRESS + 64 + version.len() as u64;
        data.extend_from_slice(&modinfo_at.to_le_bytes());
        data.extend_from_slice(&(modinfo.len() as u64).to_le_bytes());
        data.extend_from_slice(version.as_bytes());
        data.extend_from_slice(modinfo);

        let mut elf = Vec::new();
        elf.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        elf.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        elf.extend_from_slice(&1u32.to_le_bytes());
        elf.extend_from_slice(&0u64.to_le_bytes()); // entry
        elf.extend_from_slice(&64u64.to_le_bytes()); // program headers
        elf.extend_from_slice(&0u64.to_le_bytes()); // no section headers
        elf.extend_from_slice(&0u32.to_le_bytes());
        for half in [64u16, 56, 1, 64, 0, 0] {
            elf.extend_from_slice(&half.to_le_bytes());
        }
        assert_eq!(elf.len(), 64);
        elf.extend_from_slice(&object::elf::PT_LOAD.to_le_bytes());
        elf.extend_from_slice(&(object::elf::PF_R | PF_W).to_le_bytes());
        for word in [
            DATA_OFFSET,
            DATA_ADDRESS,
            DATA_ADDRESS,
            data.len() as u64,
            data.len() as u64,
            0x1000,
        ] {
            elf.extend_from_slice(&word.to_le_bytes());
        }
        elf.resize(DATA_OFFSET as usize, 0);
        elf.extend(data);
        elf
    }

    #[test]
    fn go_before_1_18_build_info_through_pointers() {
        let modinfo = [
            &[0x30u8; 16][..],
            b"path\texample.com/old\nmod\texample.com/old\t(devel)\t\ndep\tgithub.com/gorilla/websocket\tv1.4.0\th1:x\n",
            &[0xf9u8; 16],
        ]
        .concat();
        let bytes = old_go_binary("go1.16.15", &modinfo);
        let found = executable(&mut temp_file(&bytes)).unwrap();
        let pairs: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.name.as_str(), f.version.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("github.com/gorilla/websocket", "1.4.0"),
                ("stdlib", "1.16.15")
            ]
        );

        // A string length pointing past the segment is an error.
        let mut lying = bytes.clone();
        let version_len_at = 128 + 40;
        lying[version_len_at..version_len_at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(executable(&mut temp_file(&lying))
            .unwrap_err()
            .contains("Go string"));
        // So is a pointer to nowhere.
        let mut nowhere = bytes.clone();
        nowhere[128 + 16..128 + 24].copy_from_slice(&7u64.to_le_bytes());
        assert!(executable(&mut temp_file(&nowhere))
            .unwrap_err()
            .contains("outside"));
    }

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// The shape cargo auditable writes (auditable-serde's `VersionInfo`).
    #[test]
    fn dep_v0_keeps_crates_io_runtime_crates() {
        let json = serde_json::json!({"packages": [
            {"name": "app", "version": "0.1.0", "source": "local", "dependencies": [1, 2, 3, 4], "root": true},
            {"name": "smallvec", "version": "1.6.0", "source": "crates.io"},
            {"name": "cc", "version": "1.0.0", "source": "crates.io", "kind": "build"},
            {"name": "forked", "version": "0.2.0", "source": "git"},
            {"name": "odd", "version": "0.3.0", "source": "sparse+https://example.com/"},
        ]});
        let found = dep_v0_crates(&zlib(json.to_string().as_bytes())).unwrap();
        assert_eq!(
            found,
            [Found {
                kind: PackageKind::Rust,
                name: "smallvec".into(),
                version: "1.6.0".into(),
                source_name: None,
                source_version: None,
            }]
        );
    }

    #[test]
    fn dep_v0_bombs_and_garbage_are_errors() {
        // 9 MiB of spaces (valid JSON padding) inflate past the 8 MiB cap.
        let bomb = zlib(&vec![b' '; 9 << 20]);
        assert!(bomb.len() < 64 << 10);
        assert!(dep_v0_crates(&bomb).unwrap_err().contains("more than"));
        assert!(dep_v0_crates(b"not zlib").unwrap_err().contains("not zlib"));
        assert!(dep_v0_crates(&zlib(b"{\"packages\": 3}"))
            .unwrap_err()
            .contains("JSON"));
    }

    #[test]
    fn module_information_with_replacements() {
        let modinfo = "path\texample.com/hello\n\
            mod\texample.com/hello\t(devel)\t\n\
            dep\tgolang.org/x/text\tv0.3.7\th1:olpwvP2KacW1ZWvsR7uQhoyTYvKAupfQrRGBFM352Gk=\n\
            dep\tgolang.org/x/net\tv0.0.1\n\
            =>\tgolang.org/x/net\tv0.7.0\th1:x\n\
            dep\tgithub.com/a/b\tv1.2.3\n\
            =>\t./local/b\t\t\n\
            build\t-compiler=gc\n";
        let found = go_modules("go1.19.8", modinfo);
        let pairs: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.name.as_str(), f.version.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("golang.org/x/text", "0.3.7"),
                ("golang.org/x/net", "0.7.0"),
                ("github.com/a/b", "1.2.3"),
                ("stdlib", "1.19.8"),
            ]
        );
        assert!(found.iter().all(|f| f.kind == PackageKind::Go));
        // A released main module counts; `devel` Go has no stdlib version.
        let found = go_modules("devel go1.23-abc", "mod\texample.com/tool\tv1.0.0\th1:x\n");
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].name.as_str(), found[0].version.as_str()),
            ("example.com/tool", "1.0.0")
        );
        assert_eq!(
            go_modules("go1.22.0 X:boringcrypto", "")[0].version,
            "1.22.0"
        );
    }

    #[test]
    fn varint_strings_and_sentinels() {
        assert_eq!(
            varint_string(b"\x03abcdef"),
            Some((&b"abc"[..], &b"def"[..]))
        );
        assert_eq!(varint_string(b"\x05abc"), None);
        assert_eq!(
            varint_string(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
            None
        );
        assert_eq!(varint_string(b""), None);
        let wrapped = [&[0xf9u8; 16][..], b"path\tx\n", &[0xd9u8; 16]].concat();
        assert_eq!(strip_sentinels(&wrapped), b"path\tx\n");
        assert_eq!(strip_sentinels(b"path\tx\n"), b"path\tx\n");
    }
}
