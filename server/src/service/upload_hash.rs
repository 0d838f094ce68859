//! SHA-256 whose running state can be saved with an upload session and restored
//! by the next request, on any node and after a restart, so a resumed upload is
//! never read back to be hashed (S3 cannot even read a multipart upload before
//! it is complete). The compression function is `sha2`'s own (SHA-NI or
//! assembly where the CPU has them); this file only keeps the state and the padding.

use sha2::digest::generic_array::GenericArray;

const BLOCK: usize = 64;

/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Blocks hashed per call into `sha2`: copied to a small stack buffer so that no
/// unsafe cast is needed, which costs a few per cent at most.
const BATCH: usize = 64;

/// A SHA-256 in progress that can be saved and restored.
#[derive(Clone)]
pub struct UploadHasher {
    state: [u32; 8],
    /// Bytes hashed so far, including the buffered ones.
    length: u64,
    buffer: [u8; BLOCK],
}

impl Default for UploadHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl UploadHasher {
    /// A hasher over no bytes.
    pub fn new() -> Self {
        Self {
            state: INITIAL,
            length: 0,
            buffer: [0; BLOCK],
        }
    }

    /// Bytes hashed so far.
    pub fn bytes_hashed(&self) -> u64 {
        self.length
    }

    fn buffered(&self) -> usize {
        (self.length % BLOCK as u64) as usize
    }

    /// Hashes `data` after the bytes so far.
    pub fn update(&mut self, mut data: &[u8]) {
        let buffered = self.buffered();
        self.length += data.len() as u64;
        if buffered > 0 {
            let take = (BLOCK - buffered).min(data.len());
            self.buffer[buffered..buffered + take].copy_from_slice(&data[..take]);
            data = &data[take..];
            if buffered + take < BLOCK {
                return;
            }
            let block = GenericArray::clone_from_slice(&self.buffer);
            sha2::compress256(&mut self.state, std::slice::from_ref(&block));
        }
        let mut blocks = data.chunks_exact(BLOCK);
        let mut batch = [GenericArray::default(); BATCH];
        loop {
            let mut filled = 0;
            for (slot, block) in batch.iter_mut().zip(blocks.by_ref()) {
                slot.copy_from_slice(block);
                filled += 1;
            }
            if filled == 0 {
                break;
            }
            sha2::compress256(&mut self.state, &batch[..filled]);
        }
        let rest = blocks.remainder();
        self.buffer[..rest.len()].copy_from_slice(rest);
    }

    /// The digest of the bytes so far.
    pub fn finalize(&self) -> [u8; 32] {
        let mut state = self.state;
        let buffered = self.buffered();
        let mut tail = [0u8; 2 * BLOCK];
        tail[..buffered].copy_from_slice(&self.buffer[..buffered]);
        tail[buffered] = 0x80;
        let blocks = if buffered < BLOCK - 8 { 1 } else { 2 };
        let end = blocks * BLOCK;
        tail[end - 8..end].copy_from_slice(&(self.length * 8).to_be_bytes());
        let padded: Vec<_> = tail[..end]
            .chunks_exact(BLOCK)
            .map(GenericArray::clone_from_slice)
            .collect();
        sha2::compress256(&mut state, &padded);
        let mut out = [0u8; 32];
        for (bytes, word) in out.chunks_exact_mut(4).zip(state) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// The state as bytes: the eight words, the length, then the buffered bytes.
    pub fn save(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40 + self.buffered());
        for word in self.state {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out.extend_from_slice(&self.length.to_be_bytes());
        out.extend_from_slice(&self.buffer[..self.buffered()]);
        out
    }

    /// A hasher from [`Self::save`]'s bytes, or `None` if they are not such bytes.
    pub fn restore(saved: &[u8]) -> Option<Self> {
        let (words, rest) = saved.split_at_checked(32)?;
        let (length, buffered) = rest.split_at_checked(8)?;
        let length = u64::from_be_bytes(length.try_into().ok()?);
        if buffered.len() as u64 != length % BLOCK as u64 {
            return None;
        }
        let mut hasher = Self::new();
        for (word, bytes) in hasher.state.iter_mut().zip(words.chunks_exact(4)) {
            *word = u32::from_be_bytes(bytes.try_into().ok()?);
        }
        hasher.length = length;
        hasher.buffer[..buffered.len()].copy_from_slice(buffered);
        Some(hasher)
    }
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
