//! A tar reader whose every allocation is bounded.
//!
//! Written here rather than taken from the `tar` crate: that crate reads a
//! GNU long name (`L`) or long link (`K`) entry, and a PAX extended header
//! (`x`, `g`), into memory whole, whatever size its header claims, so one
//! header in a small compressed layer can make the server allocate gigabytes.
//! Here those records are refused above a limit before a byte of them is
//! read, and everything else streams through fixed buffers. The format is
//! POSIX ustar plus the GNU and PAX extensions layers use (long names, long
//! links, PAX `path`, `linkpath` and `size`, base-256 sizes).

use std::io::{self, Read};

/// What kind of file an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Hardlink,
    Symlink,
    Dir,
    /// Devices, FIFOs, GNU sparse files and other types whose content is
    /// not a regular file's.
    Other,
}

/// One entry's header, the extensions that preceded it applied.
#[derive(Debug, Clone)]
pub(super) struct Header {
    /// The name as the archive spells it (not normalised).
    pub path: String,
    pub kind: Kind,
    /// The target of a link (empty for other kinds).
    pub link: String,
    /// The size of the entry's data.
    pub size: u64,
}

/// Why the stream is not a tar archive we accept.
#[derive(Debug)]
pub(super) enum TarError {
    /// Reading failed (truncation shows as `UnexpectedEof`).
    Io(io::Error),
    /// Not a tar archive, or one with an absurd or malformed header.
    Malformed(String),
}

impl From<io::Error> for TarError {
    fn from(e: io::Error) -> Self {
        TarError::Io(e)
    }
}

/// Reads a tar stream entry by entry.
pub(super) struct TarReader<R> {
    inner: R,
    /// Data bytes of the current entry not read yet.
    remaining: u64,
    /// Padding after the current entry's data.
    padding: u64,
    /// The largest GNU long name / long link / PAX header accepted.
    max_header_bytes: u64,
}

impl<R: Read> TarReader<R> {
    pub fn new(inner: R, max_header_bytes: u64) -> Self {
        Self {
            inner,
            remaining: 0,
            padding: 0,
            max_header_bytes,
        }
    }

    /// The next entry, after skipping what is left of the current one;
    /// `None` at the end of the archive (two zero blocks, or the end of the
    /// stream at a block boundary, which many writers leave).
    pub fn next(&mut self) -> Result<Option<Header>, TarError> {
        self.skip_rest()?;
        let (mut long_name, mut long_link) = (None, None);
        let (mut pax_path, mut pax_link, mut pax_size) = (None, None, None);
        loop {
            let mut block = [0u8; 512];
            if !read_block(&mut self.inner, &mut block)? {
                return Ok(None);
            }
            if block.iter().all(|&b| b == 0) {
                return Ok(None);
            }
            check_checksum(&block)?;
            let size = number(&block[124..136])
                .ok_or_else(|| TarError::Malformed("a header with an unreadable size".into()))?;
            let typeflag = block[156];
            if matches!(typeflag, b'L' | b'K' | b'x' | b'g') {
                let what = match typeflag {
                    b'L' => "GNU long name",
                    b'K' => "GNU long link",
                    _ => "PAX extended header",
                };
                if size > self.max_header_bytes {
                    return Err(TarError::Malformed(format!(
                        "a {what} of {size} bytes (the limit is {})",
                        self.max_header_bytes
                    )));
                }
                let mut data = vec![0u8; size as usize];
                self.inner.read_exact(&mut data)?;
                skip(&mut self.inner, padding(size))?;
                match typeflag {
                    b'L' => long_name = Some(c_string(&data)),
                    b'K' => long_link = Some(c_string(&data)),
                    b'x' => {
                        for (key, value) in pax_records(&data)? {
                            match key.as_str() {
                                "path" => pax_path = Some(value),
                                "linkpath" => pax_link = Some(value),
                                "size" => {
                                    pax_size = Some(value.parse::<u64>().map_err(|_| {
                                        TarError::Malformed(format!("a PAX size of {value:?}"))
                                    })?)
                                }
                                _ => {}
                            }
                        }
                    }
                    // Global headers set defaults for every later entry;
                    // none that matters to a scan (names are per entry).
                    _ => {}
                }
                continue;
            }
            let ustar = &block[257..263] == b"ustar\0";
            let name = c_string(&block[0..100]);
            let path = long_name.or(pax_path).unwrap_or_else(|| {
                let prefix = c_string(&block[345..500]);
                if ustar && !prefix.is_empty() {
                    format!("{prefix}/{name}")
                } else {
                    name
                }
            });
            let link = long_link
                .or(pax_link)
                .unwrap_or_else(|| c_string(&block[157..257]));
            let size = pax_size.unwrap_or(size);
            let kind = match typeflag {
                b'0' | 0 | b'7' => Kind::File,
                b'1' => Kind::Hardlink,
                b'2' => Kind::Symlink,
                b'5' => Kind::Dir,
                _ => Kind::Other,
            };
            self.remaining = size;
            self.padding = padding(size);
            return Ok(Some(Header {
                path,
                kind,
                link,
                size,
            }));
        }
    }

    /// The current entry's data.
    pub fn data(&mut self) -> EntryData<'_, R> {
        EntryData { tar: self }
    }

    fn skip_rest(&mut self) -> io::Result<()> {
        let rest = self.remaining + self.padding;
        self.remaining = 0;
        self.padding = 0;
        skip(&mut self.inner, rest)
    }
}

/// The data of the current entry; reading past it gives end of file, and a
/// stream that ends before it does is `UnexpectedEof`.
pub(super) struct EntryData<'a, R> {
    tar: &'a mut TarReader<R>,
}

impl<R: Read> Read for EntryData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tar.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.tar.remaining).unwrap_or(usize::MAX));
        let n = self.tar.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside an entry",
            ));
        }
        self.tar.remaining -= n as u64;
        Ok(n)
    }
}

fn padding(size: u64) -> u64 {
    (512 - size % 512) % 512
}

/// Reads and discards `n` bytes; fewer is `UnexpectedEof`.
fn skip(r: &mut impl Read, n: u64) -> io::Result<()> {
    let copied = io::copy(&mut r.take(n), &mut io::sink())?;
    if copied < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the archive ends inside an entry",
        ));
    }
    Ok(())
}

/// A whole block, or `false` at a clean end of stream before it.
fn read_block(r: &mut impl Read, block: &mut [u8; 512]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < block.len() {
        match r.read(&mut block[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the archive ends inside a header",
                ))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn check_checksum(block: &[u8; 512]) -> Result<(), TarError> {
    let recorded = number(&block[148..156])
        .ok_or_else(|| TarError::Malformed("not a tar archive (no header checksum)".into()))?;
    let field = 148..156;
    let unsigned: u64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| if field.contains(&i) { 32 } else { u64::from(b) })
        .sum();
    // Some old writers summed signed bytes.
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if field.contains(&i) {
                32
            } else {
                i64::from(b as i8)
            }
        })
        .sum();
    if recorded == unsigned || i64::try_from(recorded).is_ok_and(|r| r == signed) {
        Ok(())
    } else {
        Err(TarError::Malformed(
            "not a tar archive (a header checksum does not match)".into(),
        ))
    }
}

/// A numeric header field: octal digits (space or NUL padded), or GNU's
/// base-256 form (first byte 0x80) for values that octal cannot hold.
fn number(field: &[u8]) -> Option<u64> {
    if field[0] == 0x80 {
        let mut value: u64 = 0;
        for &b in &field[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(value);
    }
    if field[0] & 0x80 != 0 {
        return None; // negative base-256
    }
    let text: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ' || b == 0)
        .take_while(|&b| b != b' ' && b != 0)
        .collect();
    if text.is_empty() {
        return Some(0);
    }
    let mut value: u64 = 0;
    for b in text {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        value = value.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// A NUL-terminated field as text (bytes that are not UTF-8 replaced).
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// PAX records: `LENGTH KEY=VALUE\n`, LENGTH counting the whole record.
fn pax_records(data: &[u8]) -> Result<Vec<(String, String)>, TarError> {
    let bad = || TarError::Malformed("a malformed PAX extended header".into());
    let mut records = Vec::new();
    let mut rest = data;
    while !rest.is_empty() && rest.iter().any(|&b| b != 0) {
        let space = rest.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let length: usize = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        if length <= space + 1 || length > rest.len() || rest[length - 1] != b'\n' {
            return Err(bad());
        }
        let record = &rest[space + 1..length - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(bad)?;
        records.push((
            String::from_utf8_lossy(&record[..eq]).into_owned(),
            String::from_utf8_lossy(&record[eq + 1..]).into_owned(),
        ));
        rest = &rest[length..];
    }
    Ok(records)
}

/// Tar archives built byte by byte, hostile ones included, for the tests
/// here and in [`layers`](super).
#[cfg(test)]
pub(crate) mod build {
    /// An archive being written.
    #[derive(Default)]
    pub struct Tar {
        pub bytes: Vec<u8>,
    }

    impl Tar {
        pub fn new() -> Self {
            Self::default()
        }

        /// A header block with a correct checksum; `size` is what the header
        /// claims, whatever data follows.
        pub fn header(&mut self, typeflag: u8, name: &str, link: &str, size: u64) -> &mut Self {
            let mut h = [0u8; 512];
            h[..name.len().min(100)].copy_from_slice(&name.as_bytes()[..name.len().min(100)]);
            h[100..107].copy_from_slice(b"0000644");
            h[108..115].copy_from_slice(b"0000000");
            h[116..123].copy_from_slice(b"0000000");
            if size < 8u64.pow(11) {
                h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
            } else {
                h[124] = 0x80;
                h[128..136].copy_from_slice(&size.to_be_bytes());
            }
            h[136..147].copy_from_slice(b"00000000000");
            h[156] = typeflag;
            h[157..157 + link.len().min(100)]
                .copy_from_slice(&link.as_bytes()[..link.len().min(100)]);
            h[257..263].copy_from_slice(b"ustar\0");
            h[263..265].copy_from_slice(b"00");
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
            h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
            self.bytes.extend_from_slice(&h);
            self
        }

        /// Data padded to a block.
        pub fn data(&mut self, data: &[u8]) -> &mut Self {
            self.bytes.extend_from_slice(data);
            self.bytes.resize(self.bytes.len().div_ceil(512) * 512, 0);
            self
        }

        pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
            self.header(b'0', name, "", data.len() as u64).data(data)
        }

        pub fn dir(&mut self, name: &str) -> &mut Self {
            self.header(b'5', name, "", 0)
        }

        pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
            self.header(b'2', name, target, 0)
        }

        pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
            self.header(b'1', name, target, 0)
        }

        /// A file whose name goes in a GNU long name entry first.
        pub fn long_named_file(&mut self, name: &str, data: &[u8]) -> &mut Self {
            let mut long = name.as_bytes().to_vec();
            long.push(0);
            self.header(b'L', "././@LongLink", "", long.len() as u64)
                .data(&long);
            self.file(&name[..90.min(name.len())], data)
        }

        /// A file whose name and size come from a PAX header.
        pub fn pax_file(&mut self, name: &str, data: &[u8]) -> &mut Self {
            let mut records = Vec::new();
            for (k, v) in [("path", name.to_string()), ("size", data.len().to_string())] {
                let body = format!(" {k}={v}\n");
                // LENGTH counts its own digits.
                let mut len = body.len() + 1;
                while body.len() + len.to_string().len() != len {
                    len = body.len() + len.to_string().len();
                }
                records.extend_from_slice(format!("{len}{body}").as_bytes());
            }
            self.header(b'x', "PaxHeaders/x", "", records.len() as u64)
                .data(&records);
            self.header(b'0', "short", "", 0).data(data)
        }

        /// The end-of-archive marker.
        pub fn finish(&mut self) -> Vec<u8> {
            self.bytes.extend_from_slice(&[0u8; 1024]);
            std::mem::take(&mut self.bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::Tar;
    use super::*;

    /// Path, kind, link target and data of one entry.
    type Entry = (String, Kind, String, Vec<u8>);

    fn entries(bytes: &[u8]) -> Result<Vec<Entry>, TarError> {
        let mut tar = TarReader::new(bytes, 1 << 20);
        let mut out = Vec::new();
        while let Some(h) = tar.next()? {
            let mut data = Vec::new();
            tar.data().read_to_end(&mut data)?;
            out.push((h.path, h.kind, h.link, data));
        }
        Ok(out)
    }

    #[test]
    fn reads_what_gnu_tar_writes() {
        // A real archive: the test machine's tar, in its default GNU format,
        // with a long name, a symlink and a hard link.
        let dir = tempfile::tempdir().unwrap();
        let long = "d/".to_string() + &"n".repeat(150);
        std::fs::create_dir_all(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join(&long), b"long").unwrap();
        std::fs::write(dir.path().join("d/f"), b"hello").unwrap();
        std::os::unix::fs::symlink("f", dir.path().join("d/s")).unwrap();
        std::fs::hard_link(dir.path().join("d/f"), dir.path().join("d/h")).unwrap();
        let out = std::process::Command::new("tar")
            .args(["-c", "--sort=name", "-C"])
            .arg(dir.path())
            .arg("d")
            .output()
            .expect("tar runs");
        assert!(out.status.success());
        let got = entries(&out.stdout).unwrap();
        let summary: Vec<(&str, Kind, &str, &[u8])> = got
            .iter()
            .map(|(p, k, l, d)| (p.as_str(), *k, l.as_str(), d.as_slice()))
            .collect();
        assert_eq!(
            summary,
            [
                ("d/", Kind::Dir, "", &b""[..]),
                ("d/f", Kind::File, "", b"hello"),
                ("d/h", Kind::Hardlink, "d/f", b""),
                (long.as_str(), Kind::File, "", b"long"),
                ("d/s", Kind::Symlink, "f", b""),
            ]
        );
    }

    #[test]
    fn pax_and_gnu_names_and_sizes() {
        let name = "a/".to_string() + &"b".repeat(200);
        let bytes = Tar::new()
            .long_named_file(&name, b"gnu")
            .pax_file(&format!("{name}/pax"), b"pax data")
            .finish();
        let got = entries(&bytes).unwrap();
        assert_eq!(got[0].0, name);
        assert_eq!(got[0].3, b"gnu");
        assert_eq!(got[1].0, format!("{name}/pax"));
        assert_eq!(got[1].3, b"pax data");
    }

    #[test]
    fn absurd_header_sizes_are_refused_before_reading() {
        // A GNU long name claiming 1 TiB, followed by nothing.
        let mut tar = Tar::new();
        tar.header(b'L', "././@LongLink", "", 1 << 40);
        let err = entries(&tar.bytes).unwrap_err();
        assert!(
            matches!(&err, TarError::Malformed(m) if m == "a GNU long name of 1099511627776 bytes (the limit is 1048576)"),
            "{err:?}"
        );
        let mut tar = Tar::new();
        tar.header(b'x', "PaxHeaders/x", "", 64 << 20);
        assert!(
            matches!(entries(&tar.bytes), Err(TarError::Malformed(m)) if m.starts_with("a PAX extended header of"))
        );
        let mut tar = Tar::new();
        tar.header(b'x', "PaxHeaders/x", "", 12)
            .data(b"99999 path=x");
        assert!(matches!(entries(&tar.bytes), Err(TarError::Malformed(_))));
    }

    #[test]
    fn truncation_and_garbage() {
        let whole = Tar::new().file("f", &[1u8; 2000]).finish();
        let err = entries(&whole[..1200]).unwrap_err();
        assert!(
            matches!(&err, TarError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{err:?}"
        );
        let err = entries(&whole[..300]).unwrap_err();
        assert!(
            matches!(&err, TarError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{err:?}"
        );
        // A stream that ends at a block boundary without the end marker.
        assert_eq!(entries(&whole[..2560]).unwrap().len(), 1);
        let err = entries(&[b'x'; 1024]).unwrap_err();
        assert!(
            matches!(&err, TarError::Malformed(m) if m.starts_with("not a tar archive")),
            "{err:?}"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"00000000012\0"), Some(10));
        assert_eq!(number(b"     12 \0\0\0\0"), Some(10));
        assert_eq!(number(b"\0\0\0\0\0\0\0\0\0\0\0\0"), Some(0));
        assert_eq!(
            number(&[0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]),
            Some(1 << 56)
        );
        assert_eq!(number(&[0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(number(b"00000000019\0"), None);
        assert_eq!(number(&[0xff; 12]), None);
    }
}
