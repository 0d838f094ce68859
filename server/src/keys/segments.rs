//! The at-rest format of an encrypted blob (issue 18 §2). Pure: bytes in,
//! bytes out; `service/` fetches data keys and `storage/` moves the bytes.
//!
//! # Construction
//!
//! A stored blob is a [`Header`] followed by the blob's plaintext cut into
//! segments of [`SEGMENT_SIZE`] bytes (the last one shorter, or empty for an
//! empty blob), each sealed with **AES-256-GCM** (ring's implementation, which
//! uses the CPU's AES and carry-less multiply instructions) under the blob's
//! own data key:
//!
//! ```text
//! header   = "BRTE" | version (1) | segment size (u32 BE) | header length (u16 BE)
//!            | key id length (u16 BE) | key id | wrapped key length (u16 BE) | wrapped key
//! segment  = nonce (12 random bytes) | ciphertext | tag (16)
//! AAD(i)   = header | i (u64 BE) | 1 if segment i is the last one, else 0
//! ```
//!
//! Why this shape:
//! - **An AEAD per segment**, not one over the blob, so a Range request
//!   decrypts only the segments it touches, and a pull can check each segment
//!   before sending a byte of it: a tampered segment ends the response before
//!   its bytes, never after wrong bytes went out.
//! - **64 KiB segments**: the 28 bytes a segment adds are 0.04 % of it; a
//!   Range read decrypts at most two partial segments more than it sends
//!   (≤ 128 KiB); one segment fits in a core's L2 cache while it is sealed
//!   and written; and the per-segment cost of GCM (key schedule, nonce, tag)
//!   is negligible next to 64 KiB of AES at several GB/s.
//! - **A fresh random nonce for every segment write**, stored with the
//!   segment. A chunked upload (PATCH after PATCH) ends each request on a
//!   partial segment that is sealed again, with more bytes, when the next
//!   request continues (`storage::encrypted` keeps that sealed tail in the
//!   upload's state, never in the clear): with nonces derived from the
//!   segment index, the second sealing would encrypt a different plaintext
//!   under the same (key, nonce), which breaks GCM (the XOR of the
//!   plaintexts leaks and tags can be forged). 96 random bits cost 12 bytes
//!   a segment; a data key seals one blob, so even a 100 GiB blob (1.6
//!   million segments, plus one resealed tail per request) stays far below
//!   the 2^32 random nonces NIST SP 800-38D allows per key.
//! - **The AAD binds the header, the index and "last"**, so moving a segment
//!   elsewhere in the blob (reordering), into another blob (splicing), changing
//!   the header (segment size, key id, wrapped key), dropping whole trailing
//!   segments (truncation: the new last segment was sealed as "not last") or
//!   appending one all fail to open. An empty blob still has one (empty) last
//!   segment, so truncating a blob to its header fails too.
//! - The data key is wrapped by the repository's KMS key (see
//!   `service::kms`); the header names the key by id so a reader knows which
//!   key opens it, and the wrapped bytes carry the key's version.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use std::ops::Range;

/// Plaintext bytes in every segment but the last (see the module's docs for why).
pub const SEGMENT_SIZE: u32 = 64 * 1024;
/// Bytes of a segment's random nonce.
pub const NONCE_LEN: usize = 12;
/// Bytes of a segment's authentication tag.
pub const TAG_LEN: usize = 16;
/// Bytes a stored segment has beyond its plaintext.
pub const SEGMENT_OVERHEAD: u64 = (NONCE_LEN + TAG_LEN) as u64;

const MAGIC: &[u8; 4] = b"BRTE";
const VERSION: u8 = 1;
/// The fixed part of the header: magic, version, segment size, header length.
const FIXED_LEN: usize = 4 + 1 + 4 + 2;
/// The longest header a reader accepts (key ids and wrapped keys are short).
pub const MAX_HEADER_LEN: usize = 4096;

/// Why stored bytes cannot be turned back into the plaintext. None of these
/// ever comes with bytes: a caller gets the plaintext or an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// The header is not one this version writes (wrong magic, version,
    /// lengths, or cut short).
    #[error("the encryption header is malformed: {0}")]
    BadHeader(&'static str),
    /// The stored length cannot be a header plus whole sealed segments, or
    /// does not match the plaintext size the metadata records.
    #[error("the stored length does not match the blob's encryption layout")]
    BadLength,
    /// A segment failed authentication: altered, moved, from another blob, or
    /// the blob was truncated or extended.
    #[error("segment {0} failed authentication (altered, moved or truncated)")]
    Tampered(u64),
}

/// What precedes the segments: the format, the segment size and the data key
/// (wrapped) with the id of the KMS key that wrapped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Plaintext bytes per segment (all but the last).
    pub segment_size: u32,
    /// The id of the KMS key that wrapped the data key.
    pub key_id: String,
    /// The data key, wrapped by that KMS key.
    pub wrapped_key: Vec<u8>,
}

impl Header {
    /// A header for a new blob with the standard segment size.
    pub fn new(key_id: &str, wrapped_key: &[u8]) -> Self {
        Self {
            segment_size: SEGMENT_SIZE,
            key_id: key_id.to_owned(),
            wrapped_key: wrapped_key.to_vec(),
        }
    }

    /// The header's stored bytes.
    ///
    /// # Panics
    /// If the header would be longer than [`MAX_HEADER_LEN`] or the segment
    /// size is zero: both are programming errors (key ids and wrapped keys
    /// are made by Berth and are short).
    pub fn encode(&self) -> Vec<u8> {
        assert!(self.segment_size > 0, "segments hold at least one byte");
        let len = FIXED_LEN + 2 + self.key_id.len() + 2 + self.wrapped_key.len();
        assert!(len <= MAX_HEADER_LEN, "encryption header too long");
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.segment_size.to_be_bytes());
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend_from_slice(&(self.key_id.len() as u16).to_be_bytes());
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(&(self.wrapped_key.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.wrapped_key);
        out
    }

    /// How many bytes the header at the start of `prefix` takes, from its
    /// fixed part alone (so a reader knows how much to fetch); `None` if
    /// `prefix` is shorter than the fixed part.
    pub fn stored_len(prefix: &[u8]) -> Option<Result<usize, SegmentError>> {
        let fixed = prefix.get(..FIXED_LEN)?;
        if &fixed[..4] != MAGIC {
            return Some(Err(SegmentError::BadHeader("not an encrypted blob")));
        }
        if fixed[4] != VERSION {
            return Some(Err(SegmentError::BadHeader("unknown format version")));
        }
        let len = usize::from(u16::from_be_bytes([fixed[9], fixed[10]]));
        if !(FIXED_LEN + 4..=MAX_HEADER_LEN).contains(&len) {
            return Some(Err(SegmentError::BadHeader("impossible header length")));
        }
        Some(Ok(len))
    }

    /// Parses the header at the start of `stored`; returns it with its length.
    pub fn decode(stored: &[u8]) -> Result<(Self, usize), SegmentError> {
        let len = Self::stored_len(stored).ok_or(SegmentError::BadHeader("cut short"))??;
        let bytes = stored
            .get(..len)
            .ok_or(SegmentError::BadHeader("cut short"))?;
        let segment_size = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
        if segment_size == 0 {
            return Err(SegmentError::BadHeader("zero segment size"));
        }
        let mut rest = &bytes[FIXED_LEN..];
        let mut field = || -> Result<&[u8], SegmentError> {
            let (n, tail) = rest
                .split_first_chunk::<2>()
                .ok_or(SegmentError::BadHeader("cut short"))?;
            let n = usize::from(u16::from_be_bytes(*n));
            let (value, tail) = tail
                .split_at_checked(n)
                .ok_or(SegmentError::BadHeader("field runs past the header"))?;
            rest = tail;
            Ok(value)
        };
        let key_id = std::str::from_utf8(field()?)
            .map_err(|_| SegmentError::BadHeader("key id is not UTF-8"))?
            .to_owned();
        let wrapped_key = field()?.to_vec();
        if !rest.is_empty() {
            return Err(SegmentError::BadHeader("bytes after the last field"));
        }
        Ok((
            Self {
                segment_size,
                key_id,
                wrapped_key,
            },
            len,
        ))
    }
}

/// Where a blob's bytes lie in its stored form: pure arithmetic on the header
/// length, the segment size and the plaintext length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Bytes of the header.
    pub header_len: u64,
    /// Plaintext bytes per segment (all but the last).
    pub segment_size: u64,
    /// Bytes of plaintext.
    pub plain_len: u64,
}

impl Layout {
    /// The layout of a blob of `plain_len` bytes under `header`.
    pub fn new(header: &Header, header_len: usize, plain_len: u64) -> Self {
        Self {
            header_len: header_len as u64,
            segment_size: u64::from(header.segment_size),
            plain_len,
        }
    }

    /// The layout whose stored form is `stored_len` bytes, if there is one.
    pub fn from_stored_len(
        header: &Header,
        header_len: usize,
        stored_len: u64,
    ) -> Result<Self, SegmentError> {
        let body = stored_len
            .checked_sub(header_len as u64)
            .ok_or(SegmentError::BadLength)?;
        let sealed = u64::from(header.segment_size) + SEGMENT_OVERHEAD;
        let (full, rest) = (body / sealed, body % sealed);
        let plain_len = match (full, rest) {
            (0, r) if r == SEGMENT_OVERHEAD => 0,
            (f, 0) if f > 0 => f * u64::from(header.segment_size),
            (f, r) if r > SEGMENT_OVERHEAD => {
                f * u64::from(header.segment_size) + r - SEGMENT_OVERHEAD
            }
            _ => return Err(SegmentError::BadLength),
        };
        Ok(Self::new(header, header_len, plain_len))
    }

    /// How many segments the blob has (an empty blob has one, empty).
    pub fn segments(&self) -> u64 {
        self.plain_len.div_ceil(self.segment_size).max(1)
    }

    /// Bytes of the stored form.
    pub fn stored_len(&self) -> u64 {
        self.header_len + self.plain_len + self.segments() * SEGMENT_OVERHEAD
    }

    /// The plaintext bytes of segment `index`.
    pub fn plain_range(&self, index: u64) -> Range<u64> {
        let start = index * self.segment_size;
        start..(start + self.segment_size).min(self.plain_len)
    }

    /// The stored bytes of segment `index` (nonce, ciphertext, tag).
    pub fn stored_range(&self, index: u64) -> Range<u64> {
        let start = self.header_len + index * (self.segment_size + SEGMENT_OVERHEAD);
        let plain = self.plain_range(index);
        start..start + (plain.end - plain.start) + SEGMENT_OVERHEAD
    }

    /// The segments that hold the plaintext bytes `range` (which lies within
    /// the blob); an empty range touches none, except in an empty blob.
    pub fn segments_for(&self, range: &Range<u64>) -> Range<u64> {
        if range.start >= range.end {
            // An empty blob's one (empty) segment is still checked when the
            // blob is read, so a tampered empty blob is not served as empty.
            return if self.plain_len == 0 && range.start == 0 {
                0..1
            } else {
                0..0
            };
        }
        range.start / self.segment_size..range.end.div_ceil(self.segment_size)
    }

    /// The stored bytes to fetch to serve the plaintext bytes `range`: the
    /// whole segments that hold it.
    pub fn stored_range_for(&self, range: &Range<u64>) -> Range<u64> {
        let segments = self.segments_for(range);
        if segments.is_empty() {
            return self.header_len..self.header_len;
        }
        self.stored_range(segments.start).start..self.stored_range(segments.end - 1).end
    }
}

/// Seals and opens one blob's segments: its data key and its header (the
/// segments' common AAD).
pub struct SegmentCipher {
    key: LessSafeKey,
    header: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for SegmentCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentCipher")
            .field("header", &self.header.len())
            .finish_non_exhaustive()
    }
}

impl SegmentCipher {
    /// A cipher for the blob whose stored header is `header` (its encoded
    /// bytes) and whose data key in the clear is `data_key`.
    pub fn new(data_key: &[u8; 32], header: &[u8]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, data_key).expect("AES-256 takes 32-byte keys");
        Self {
            key: LessSafeKey::new(key),
            header: header.to_vec(),
            rng: SystemRandom::new(),
        }
    }

    /// The stored header the cipher binds every segment to.
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    fn aad(&self, index: u64, last: bool) -> Vec<u8> {
        let mut aad = Vec::with_capacity(self.header.len() + 9);
        aad.extend_from_slice(&self.header);
        aad.extend_from_slice(&index.to_be_bytes());
        aad.push(u8::from(last));
        aad
    }

    /// Appends segment `index` sealed (a fresh random nonce, the ciphertext,
    /// the tag) to `out`; `last` says whether it ends the blob.
    pub fn seal(&self, index: u64, last: bool, plaintext: &[u8], out: &mut Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .expect("the operating system's random source failed");
        out.reserve(plaintext.len() + SEGMENT_OVERHEAD as usize);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(index, last)),
                &mut out[start..],
            )
            .expect("sealing a segment of at most 4 GiB cannot fail");
        out.extend_from_slice(tag.as_ref());
    }

    /// Opens segment `index` whose nonce is `nonce` and whose ciphertext and
    /// tag are `sealed`, in place, as [`Self::open`] does.
    fn open_detached<'a>(
        &self,
        index: u64,
        last: bool,
        nonce: &[u8],
        sealed: &'a mut [u8],
    ) -> Result<&'a mut [u8], SegmentError> {
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| SegmentError::Tampered(index))?;
        self.key
            .open_in_place(nonce, Aad::from(self.aad(index, last)), sealed)
            .map_err(|_| SegmentError::Tampered(index))
    }

    /// Opens stored segment `index` in place and returns its plaintext, or
    /// [`SegmentError::Tampered`] (and no bytes) if it does not authenticate
    /// as segment `index` of this blob with that `last`.
    pub fn open<'a>(
        &self,
        index: u64,
        last: bool,
        stored: &'a mut [u8],
    ) -> Result<&'a mut [u8], SegmentError> {
        if stored.len() < SEGMENT_OVERHEAD as usize {
            return Err(SegmentError::Tampered(index));
        }
        let (nonce, sealed) = stored.split_at_mut(NONCE_LEN);
        self.open_detached(index, last, nonce, sealed)
    }
}

/// Encrypts a stream of plaintext into a blob's stored segments, holding back
/// at most one segment (the last one must be sealed as "last", which is known
/// only at the end).
#[derive(Debug)]
pub struct SegmentWriter {
    cipher: SegmentCipher,
    segment_size: usize,
    next_index: u64,
    pending: Vec<u8>,
}

impl SegmentWriter {
    /// A writer that starts at segment `next_index` (0 for a new blob), with
    /// `pending` plaintext already in that segment (the opened partial tail of
    /// an upload that continues; empty for a new blob).
    pub fn new(
        cipher: SegmentCipher,
        segment_size: u32,
        next_index: u64,
        pending: Vec<u8>,
    ) -> Self {
        let segment_size = segment_size as usize;
        assert!(
            pending.len() <= segment_size,
            "a segment holds at most its size"
        );
        let mut buffer = Vec::with_capacity(segment_size);
        buffer.extend_from_slice(&pending);
        Self {
            cipher,
            segment_size,
            next_index,
            pending: buffer,
        }
    }

    /// Takes `bytes`; appends to `out` every segment that is now complete and
    /// known not to be the last.
    pub fn write(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) {
        while !bytes.is_empty() {
            if self.pending.len() == self.segment_size {
                self.cipher.seal(self.next_index, false, &self.pending, out);
                self.next_index += 1;
                self.pending.clear();
            }
            let take = (self.segment_size - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
    }

    /// Seals what is held as the last segment and appends it to `out`. An
    /// upload that will continue stores this provisional last segment too (so
    /// nothing is ever stored in the clear) and rewrites it, under a fresh
    /// nonce, when it continues.
    pub fn finish(self, out: &mut Vec<u8>) {
        self.cipher.seal(self.next_index, true, &self.pending, out);
    }
}

/// Decrypts the stored segments of a plaintext range as they arrive, giving
/// out each segment's bytes only once it authenticated.
#[derive(Debug)]
pub struct RangeDecryptor {
    cipher: SegmentCipher,
    layout: Layout,
    range: Range<u64>,
    segments: Range<u64>,
    buffer: Vec<u8>,
}

impl RangeDecryptor {
    /// A decryptor for the plaintext bytes `range` of a blob with `layout`;
    /// feed it the stored bytes [`Layout::stored_range_for`] names, in order.
    pub fn new(cipher: SegmentCipher, layout: Layout, range: Range<u64>) -> Self {
        let segments = layout.segments_for(&range);
        Self {
            cipher,
            layout,
            range,
            segments,
            buffer: Vec::new(),
        }
    }

    /// Takes the next stored bytes; appends to `out` the plaintext of every
    /// segment they complete (trimmed to the range). After an error, nothing
    /// more is given out.
    pub fn feed(&mut self, mut stored: &[u8], out: &mut Vec<u8>) -> Result<(), SegmentError> {
        while !stored.is_empty() {
            let Some(index) = (!self.segments.is_empty()).then_some(self.segments.start) else {
                return Err(SegmentError::BadLength);
            };
            let segment = self.layout.stored_range(index);
            let want = (segment.end - segment.start) as usize;
            if self.buffer.is_empty() && stored.len() >= want {
                // A whole segment at hand: opened where its plaintext goes,
                // one copy instead of two.
                self.open_into(index, &stored[..want], out)?;
                stored = &stored[want..];
                continue;
            }
            let take = (want - self.buffer.len()).min(stored.len());
            self.buffer.extend_from_slice(&stored[..take]);
            stored = &stored[take..];
            if self.buffer.len() == want {
                self.open_buffered(index, out)?;
            }
        }
        Ok(())
    }

    /// Whether every segment of the range has been given out; call at the
    /// end of the stored bytes (a store that sent fewer bytes than asked is
    /// an error, not a shorter answer).
    pub fn finish(&self) -> Result<(), SegmentError> {
        if self.segments.is_empty() && self.buffer.is_empty() {
            Ok(())
        } else {
            Err(SegmentError::BadLength)
        }
    }

    /// Opens the whole stored segment `index` straight into `out`: its
    /// ciphertext and tag are appended there and opened in place, and only
    /// the plaintext within the range stays; nothing stays if it fails.
    fn open_into(
        &mut self,
        index: u64,
        stored: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SegmentError> {
        let last = index + 1 == self.layout.segments();
        if stored.len() < SEGMENT_OVERHEAD as usize {
            return Err(SegmentError::Tampered(index));
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let start = out.len();
        out.extend_from_slice(sealed);
        let opened = self
            .cipher
            .open_detached(index, last, nonce, &mut out[start..])
            .map(|plain| plain.len());
        let Ok(len) = opened else {
            out.truncate(start);
            return Err(SegmentError::Tampered(index));
        };
        let at = self.layout.plain_range(index).start;
        let from = self.range.start.saturating_sub(at) as usize;
        let to = (self.range.end - at).min(len as u64) as usize;
        out.truncate(start + to);
        if from > 0 {
            out.drain(start..start + from);
        }
        self.segments.start += 1;
        Ok(())
    }

    fn open_buffered(&mut self, index: u64, out: &mut Vec<u8>) -> Result<(), SegmentError> {
        let last = index + 1 == self.layout.segments();
        let plain = self.cipher.open(index, last, &mut self.buffer)?;
        let at = self.layout.plain_range(index).start;
        let from = self.range.start.saturating_sub(at) as usize;
        let to = (self.range.end - at).min(plain.len() as u64) as usize;
        out.extend_from_slice(&plain[from..to]);
        self.buffer.clear();
        self.segments.start += 1;
        Ok(())
    }
}

/// Encrypts a whole blob in memory (tests, small blobs).
pub fn encrypt(data_key: &[u8; 32], header: &Header, plaintext: &[u8]) -> Vec<u8> {
    let encoded = header.encode();
    let mut out = encoded.clone();
    let mut writer = SegmentWriter::new(
        SegmentCipher::new(data_key, &encoded),
        header.segment_size,
        0,
        Vec::new(),
    );
    writer.write(plaintext, &mut out);
    writer.finish(&mut out);
    out
}

/// Decrypts the plaintext bytes `range` of a whole stored blob in memory.
pub fn decrypt_range(
    data_key: &[u8; 32],
    stored: &[u8],
    range: Range<u64>,
) -> Result<Vec<u8>, SegmentError> {
    let (header, header_len) = Header::decode(stored)?;
    let layout = Layout::from_stored_len(&header, header_len, stored.len() as u64)?;
    if range.start > range.end || range.end > layout.plain_len {
        return Err(SegmentError::BadLength);
    }
    let cipher = SegmentCipher::new(data_key, &stored[..header_len]);
    let fetch = layout.stored_range_for(&range);
    let mut decryptor = RangeDecryptor::new(cipher, layout, range);
    let mut out = Vec::new();
    decryptor.feed(&stored[fetch.start as usize..fetch.end as usize], &mut out)?;
    decryptor.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: [u8; 32] = [7; 32];

    fn header(segment_size: u32) -> Header {
        Header {
            segment_size,
            key_id: "0b1c2d3e-key".to_owned(),
            wrapped_key: vec![0xA5; 60],
        }
    }

    fn blob(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn the_header_round_trips_and_knows_its_length() {
        let h = header(SEGMENT_SIZE);
        let encoded = h.encode();
        assert_eq!(
            Header::stored_len(&encoded[..FIXED_LEN]),
            Some(Ok(encoded.len()))
        );
        assert_eq!(Header::stored_len(&encoded[..FIXED_LEN - 1]), None);
        assert_eq!(Header::decode(&encoded), Ok((h, encoded.len())));
        assert_eq!(
            Header::decode(b"not encrypted at all"),
            Err(SegmentError::BadHeader("not an encrypted blob"))
        );
    }

    #[test]
    fn whole_blobs_round_trip_at_every_segment_boundary() {
        let size = 64;
        for len in [0, 1, 63, 64, 65, 127, 128, 129, 640] {
            let plain = blob(len);
            let stored = encrypt(&KEY, &header(size), &plain);
            let header_len = header(size).encode().len();
            let layout = Layout::new(&header(size), header_len, len as u64);
            assert_eq!(layout.stored_len(), stored.len() as u64, "length {len}");
            assert_eq!(
                Layout::from_stored_len(&header(size), header_len, stored.len() as u64),
                Ok(layout)
            );
            assert_eq!(decrypt_range(&KEY, &stored, 0..len as u64), Ok(plain));
        }
    }

    #[test]
    fn the_standard_segment_size_costs_well_under_a_tenth_of_a_percent() {
        let h = header(SEGMENT_SIZE);
        let layout = Layout::new(&h, h.encode().len(), 100 << 20);
        let overhead = layout.stored_len() - layout.plain_len;
        assert!(overhead * 1000 < layout.plain_len, "{overhead} bytes");
    }

    #[test]
    fn dropped_swapped_or_appended_segments_fail() {
        let size = 16;
        let plain = blob(16 * 4);
        let stored = encrypt(&KEY, &header(size), &plain);
        let header_len = header(size).encode().len();
        let sealed = size as usize + SEGMENT_OVERHEAD as usize;
        let segment = |i: usize| &stored[header_len + i * sealed..header_len + (i + 1) * sealed];
        let whole = |segments: &[usize]| {
            let mut out = stored[..header_len].to_vec();
            for &i in segments {
                out.extend_from_slice(segment(i));
            }
            out
        };
        let read_all = |stored: &[u8]| {
            let (h, n) = Header::decode(stored)?;
            let len = Layout::from_stored_len(&h, n, stored.len() as u64)?.plain_len;
            decrypt_range(&KEY, stored, 0..len)
        };
        assert_eq!(read_all(&whole(&[0, 1, 2, 3])), Ok(plain));
        assert_eq!(read_all(&whole(&[0, 1, 2])), Err(SegmentError::Tampered(2)));
        assert_eq!(
            read_all(&whole(&[1, 0, 2, 3])),
            Err(SegmentError::Tampered(0))
        );
        assert_eq!(
            read_all(&whole(&[0, 1, 2, 3, 3])),
            Err(SegmentError::Tampered(3))
        );
        assert_eq!(read_all(&whole(&[])), Err(SegmentError::BadLength));
    }

    #[test]
    fn a_segment_from_another_blob_under_the_same_key_fails() {
        let size = 16;
        let one = encrypt(&KEY, &header(size), &blob(48));
        let other_header = Header {
            key_id: "another-key".to_owned(),
            ..header(size)
        };
        let other = encrypt(&KEY, &other_header, &blob(48));
        let (n1, n2) = (header(size).encode().len(), other_header.encode().len());
        let mut spliced = one.clone();
        let sealed = size as usize + SEGMENT_OVERHEAD as usize;
        spliced[n1..n1 + sealed].copy_from_slice(&other[n2..n2 + sealed]);
        assert_eq!(
            decrypt_range(&KEY, &spliced, 0..48),
            Err(SegmentError::Tampered(0))
        );
    }

    #[test]
    fn a_rewritten_tail_gets_a_fresh_nonce() {
        let h = header(64);
        let encoded = h.encode();
        let seal_tail = |plain: &[u8]| {
            let mut out = Vec::new();
            SegmentCipher::new(&KEY, &encoded).seal(0, true, plain, &mut out);
            out
        };
        let (first, second) = (seal_tail(b"abc"), seal_tail(b"abcdef"));
        assert_ne!(first[..NONCE_LEN], second[..NONCE_LEN]);
    }

    #[test]
    fn an_upload_continued_from_its_opened_tail_is_one_blob() {
        let h = header(16);
        let encoded = h.encode();
        let plain = blob(100);
        // The first request: 37 bytes, stored with a provisional last segment.
        let mut stored = encoded.clone();
        let mut writer = SegmentWriter::new(SegmentCipher::new(&KEY, &encoded), 16, 0, Vec::new());
        writer.write(&plain[..37], &mut stored);
        writer.finish(&mut stored);
        assert_eq!(
            decrypt_range(&KEY, &stored, 0..37),
            Ok(plain[..37].to_vec())
        );
        // The next request opens the tail, drops it and goes on from there.
        let layout = Layout::new(&h, encoded.len(), 37);
        let tail_index = layout.segments() - 1;
        let tail_at = layout.stored_range(tail_index).start as usize;
        let tail = decrypt_range(&KEY, &stored, layout.plain_range(tail_index)).unwrap();
        stored.truncate(tail_at);
        let mut writer =
            SegmentWriter::new(SegmentCipher::new(&KEY, &encoded), 16, tail_index, tail);
        writer.write(&plain[37..], &mut stored);
        writer.finish(&mut stored);
        assert_eq!(stored.len(), encrypt(&KEY, &h, &plain).len());
        assert_eq!(decrypt_range(&KEY, &stored, 0..100), Ok(plain));
    }

    #[test]
    fn the_wrong_data_key_opens_nothing() {
        let stored = encrypt(&KEY, &header(32), &blob(50));
        assert_eq!(
            decrypt_range(&[8; 32], &stored, 10..20),
            Err(SegmentError::Tampered(0))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_range_of_any_blob_decrypts_to_its_bytes(
            len in 0usize..2000,
            segment_size in 1u32..300,
            a in 0usize..2001,
            b in 0usize..2001,
            chunks in proptest::collection::vec(1usize..500, 1..8),
        ) {
            let plain = blob(len);
            let h = header(segment_size);
            let encoded = h.encode();
            // Written in arbitrary chunks, as a push arrives.
            let mut stored = encoded.clone();
            let mut writer = SegmentWriter::new(SegmentCipher::new(&KEY, &encoded), segment_size, 0, Vec::new());
            let mut rest = &plain[..];
            for n in chunks.iter().cycle() {
                if rest.is_empty() { break; }
                let n = (*n).min(rest.len());
                writer.write(&rest[..n], &mut stored);
                rest = &rest[n..];
            }
            writer.finish(&mut stored);
            prop_assert_eq!(stored.len() as u64, Layout::new(&h, encoded.len(), len as u64).stored_len());

            let (start, end) = (a.min(b).min(len), a.max(b).min(len));
            // Fed in arbitrary chunks, as a store streams it.
            let layout = Layout::new(&h, encoded.len(), len as u64);
            let fetch = layout.stored_range_for(&(start as u64..end as u64));
            let mut decryptor = RangeDecryptor::new(SegmentCipher::new(&KEY, &encoded), layout, start as u64..end as u64);
            let mut out = Vec::new();
            let mut rest = &stored[fetch.start as usize..fetch.end as usize];
            for n in chunks.iter().cycle() {
                if rest.is_empty() { break; }
                let n = (*n).min(rest.len());
                decryptor.feed(&rest[..n], &mut out).unwrap();
                rest = &rest[n..];
            }
            decryptor.finish().unwrap();
            prop_assert_eq!(&out[..], &plain[start..end]);
        }

        #[test]
        fn any_flipped_byte_is_an_error_never_wrong_bytes(
            len in 0usize..700,
            segment_size in 1u32..200,
            at in any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            let plain = blob(len);
            let mut stored = encrypt(&KEY, &header(segment_size), &plain);
            let at = at.index(stored.len());
            stored[at] ^= 1 << bit;
            // Whatever the byte, reading every byte of the blob fails.
            let read = Header::decode(&stored)
                .and_then(|(h, n)| Layout::from_stored_len(&h, n, stored.len() as u64))
                .and_then(|layout| decrypt_range(&KEY, &stored, 0..layout.plain_len));
            prop_assert!(read.is_err(), "flipped byte {} read as {:?}", at, read);
            // And reading any one segment that holds the byte fails too.
            let h = header(segment_size);
            let n = h.encode().len();
            let layout = Layout::new(&h, n, len as u64);
            if at as u64 >= layout.header_len {
                let index = (at as u64 - layout.header_len) / (layout.segment_size + SEGMENT_OVERHEAD);
                let range = layout.plain_range(index);
                let mut out = Vec::new();
                let mut decryptor = RangeDecryptor::new(SegmentCipher::new(&KEY, &h.encode()), layout, range);
                let fetch = layout.stored_range(index);
                let result = decryptor.feed(&stored[fetch.start as usize..fetch.end as usize], &mut out);
                prop_assert_eq!(result, Err(SegmentError::Tampered(index)));
                prop_assert!(out.is_empty());
            }
        }
    }
}
