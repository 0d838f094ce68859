//! SHA-256 whose running state can be saved with an upload session and restored
//! by the next request, on any node and after a restart, so a resumed upload is
//! never read back to be hashed (S3 cannot even read a multipart upload before
//! it is complete). The hashing and its state are `sha2`'s own (SHA-NI or
//! assembly where the CPU has them; its `SerializableState`): this file only
//! frames the saved bytes, and still reads the format Berth saved before it
//! used `sha2`'s, so uploads in flight across an upgrade resume.

use sha2::digest::common::hazmat::{SerializableState, SerializedState};
use sha2::{Digest, Sha256};

const BLOCK: u64 = 64;

/// `sha2`'s serialized SHA-256: the eight state words (little-endian), the
/// count of whole blocks (u64 LE), the count of buffered bytes, then the
/// buffer (a whole block is never buffered: at most 63 bytes).
const SAVED_LEN: usize = 32 + 8 + 1 + 63;

/// A SHA-256 in progress that can be saved and restored.
#[derive(Clone, Default)]
pub struct UploadHasher {
    inner: Sha256,
    /// Bytes hashed so far, including the buffered ones.
    length: u64,
}

impl UploadHasher {
    /// A hasher over no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes hashed so far.
    pub fn bytes_hashed(&self) -> u64 {
        self.length
    }

    /// Hashes `data` after the bytes so far.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
        self.length += data.len() as u64;
    }

    /// The digest of the bytes so far.
    pub fn finalize(&self) -> [u8; 32] {
        self.inner.clone().finalize().into()
    }

    /// The state as bytes (`sha2`'s serialization, [`SAVED_LEN`] bytes).
    pub fn save(&self) -> Vec<u8> {
        self.inner.serialize().to_vec()
    }

    /// A hasher from [`Self::save`]'s bytes (or the older format's), or
    /// `None` if they are not such bytes.
    pub fn restore(saved: &[u8]) -> Option<Self> {
        let current = match saved.len() {
            SAVED_LEN => saved.to_vec(),
            _ => from_first_format(saved)?,
        };
        let blocks = u64::from_le_bytes(current[32..40].try_into().ok()?);
        let buffered = u64::from(current[40]);
        if buffered >= BLOCK {
            return None;
        }
        let state = SerializedState::<Sha256>::try_from(current.as_slice()).ok()?;
        let inner = Sha256::deserialize(&state).ok()?;
        let length = blocks.checked_mul(BLOCK)?.checked_add(buffered)?;
        Some(Self { inner, length })
    }
}

/// The format Berth saved before it used `sha2`'s (at most 103 bytes, so
/// never [`SAVED_LEN`] long): the eight state words (big-endian), the byte
/// count (u64 BE), then the buffered bytes; in the current format.
fn from_first_format(saved: &[u8]) -> Option<Vec<u8>> {
    let (words, rest) = saved.split_at_checked(32)?;
    let (length, buffered) = rest.split_at_checked(8)?;
    let length = u64::from_be_bytes(length.try_into().ok()?);
    if buffered.len() as u64 != length % BLOCK {
        return None;
    }
    let mut out = Vec::with_capacity(SAVED_LEN);
    for word in words.chunks_exact(4) {
        let word = u32::from_be_bytes(word.try_into().ok()?);
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(&(length / BLOCK).to_le_bytes());
    out.push(buffered.len() as u8);
    out.extend_from_slice(buffered);
    out.resize(SAVED_LEN, 0);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::UploadHasher;
    use sha2::{Digest, Sha256};

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 13) as u8).collect()
    }

    #[test]
    fn matches_sha256_for_every_length_around_block_edges() {
        for n in (0..300).chain([4095, 4096, 4097, 64 * 64 + 1, 100_000]) {
            let data = bytes(n);
            let mut hasher = UploadHasher::new();
            hasher.update(&data);
            assert_eq!(
                hasher.finalize(),
                Sha256::digest(&data).as_slice(),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn matches_sha256_when_fed_and_saved_in_uneven_pieces() {
        let data = bytes(50_000);
        let mut hasher = UploadHasher::new();
        let mut start = 0;
        for (i, size) in [1, 63, 64, 65, 0, 127, 4096, 10_000, 3]
            .iter()
            .cycle()
            .enumerate()
        {
            if start >= data.len() {
                break;
            }
            let end = (start + size).min(data.len());
            hasher.update(&data[start..end]);
            start = end;
            if i % 2 == 0 {
                hasher = UploadHasher::restore(&hasher.save()).expect("saved state restores");
            }
        }
        assert_eq!(hasher.finalize(), Sha256::digest(&data).as_slice());
    }

    #[test]
    fn the_saved_length_is_sha2_s() {
        let mut h = UploadHasher::new();
        h.update(b"abc");
        let saved = h.save();
        assert_eq!(saved.len(), super::SAVED_LEN, "{saved:?}");
    }

    #[test]
    fn the_known_answers() {
        let hex = |h: [u8; 32]| hex::encode(h);
        assert_eq!(
            hex(UploadHasher::new().finalize()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut abc = UploadHasher::new();
        abc.update(b"abc");
        assert_eq!(
            hex(abc.finalize()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// A state saved in the first format, as Berth wrote it before it used
    /// `sha2`'s: an upload in flight across the upgrade resumes.
    #[test]
    fn the_first_format_still_restores() {
        use sha2::block_api::compress256;
        for n in [0, 3, 63, 64, 65, 200] {
            let data = bytes(n);
            let mut state: [u32; 8] = [
                0x6a09_e667,
                0xbb67_ae85,
                0x3c6e_f372,
                0xa54f_f53a,
                0x510e_527f,
                0x9b05_688c,
                0x1f83_d9ab,
                0x5be0_cd19,
            ];
            let whole = n / 64 * 64;
            let blocks: Vec<[u8; 64]> = data[..whole]
                .chunks_exact(64)
                .map(|b| b.try_into().unwrap())
                .collect();
            compress256(&mut state, &blocks);
            let mut saved: Vec<u8> = state.iter().flat_map(|w| w.to_be_bytes()).collect();
            saved.extend_from_slice(&(n as u64).to_be_bytes());
            saved.extend_from_slice(&data[whole..]);
            let mut hasher = UploadHasher::restore(&saved).expect("a first-format state");
            assert_eq!(hasher.bytes_hashed(), n as u64);
            hasher.update(b"more");
            let all = [data.as_slice(), b"more"].concat();
            assert_eq!(
                hasher.finalize(),
                Sha256::digest(&all).as_slice(),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn damaged_states_are_refused() {
        let mut hasher = UploadHasher::new();
        hasher.update(b"12345");
        let saved = hasher.save();
        assert!(UploadHasher::restore(&saved).is_some());
        assert!(UploadHasher::restore(&saved[..saved.len() - 1]).is_none());
        assert!(UploadHasher::restore(&saved[..20]).is_none());
        assert!(UploadHasher::restore(&[saved.clone(), vec![0]].concat()).is_none());
        assert!(UploadHasher::restore(&[]).is_none());
    }
}
