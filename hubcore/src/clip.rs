//! A sealed clip: `CAMHUB1\0` ‖ 12-byte nonce ‖ ChaCha20-Poly1305 ciphertext ‖ tag.
//! The camera id and clip name are the associated data, so a sealed clip
//! cannot be passed off as another camera's or another clip.

use anyhow::{Result, bail};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const MAGIC: &[u8; 8] = b"CAMHUB1\0";

fn key(raw: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, raw).expect("32-byte key"))
}

fn aad(camera_id: &str, clip_name: &str) -> Vec<u8> {
    [camera_id.as_bytes(), b"\0", clip_name.as_bytes()].concat()
}

pub fn seal(
    raw_key: &[u8; 32],
    camera_id: &str,
    clip_name: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    seal_parts(raw_key, camera_id, clip_name, [plaintext])
}

/// The sealed size of a clip of `plain_len` bytes.
pub const fn sealed_len(plain_len: u64) -> u64 {
    (MAGIC.len() + NONCE_LEN + TAG_LEN) as u64 + plain_len
}

const TAG_LEN: usize = 16;

/// Seals the concatenation of `parts` (a clip's frames) in one buffer: each
/// part is copied in and then dropped by the caller's iterator, and the
/// cipher works in place, so sealing needs about one clip's worth of memory.
pub fn seal_parts<P: AsRef<[u8]>>(
    raw_key: &[u8; 32],
    camera_id: &str,
    clip_name: &str,
    parts: impl IntoIterator<Item = P>,
) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| anyhow::anyhow!("the system's random number generator failed"))?;
    let mut sealed = Vec::new();
    sealed.extend_from_slice(MAGIC);
    sealed.extend_from_slice(&nonce);
    for part in parts {
        sealed.extend_from_slice(part.as_ref());
    }
    let header = MAGIC.len() + NONCE_LEN;
    let tag = key(raw_key)
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(camera_id, clip_name)),
            &mut sealed[header..],
        )
        .map_err(|_| anyhow::anyhow!("sealing the clip failed"))?;
    sealed.extend_from_slice(tag.as_ref());
    Ok(sealed)
}

pub fn open(
    raw_key: &[u8; 32],
    camera_id: &str,
    clip_name: &str,
    sealed: &[u8],
) -> Result<Vec<u8>> {
    let Some(rest) = sealed.strip_prefix(MAGIC.as_slice()) else {
        bail!("not a sealed camhub clip");
    };
    if rest.len() < NONCE_LEN + CHACHA20_POLY1305.tag_len() {
        bail!("sealed clip is truncated");
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let mut body = body.to_vec();
    let plain = key(raw_key)
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).expect("12 bytes"),
            Aad::from(aad(camera_id, clip_name)),
            &mut body,
        )
        .map_err(|_| {
            anyhow::anyhow!("the clip does not open with this key (wrong key, camera or clip name, or it was altered)")
        })?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_and_every_mismatch_is_refused() {
        let k = [7u8; 32];
        let sealed = seal(&k, "cam1", "clip.mjpeg", b"frames").unwrap();
        assert!(sealed.starts_with(MAGIC));
        assert!(!sealed.windows(6).any(|w| w == b"frames"));
        assert_eq!(open(&k, "cam1", "clip.mjpeg", &sealed).unwrap(), b"frames");
        assert!(open(&[8u8; 32], "cam1", "clip.mjpeg", &sealed).is_err());
        assert!(open(&k, "cam2", "clip.mjpeg", &sealed).is_err());
        assert!(open(&k, "cam1", "other.mjpeg", &sealed).is_err());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(open(&k, "cam1", "clip.mjpeg", &altered).is_err());
        assert!(open(&k, "cam1", "clip.mjpeg", &sealed[..20]).is_err());
        assert_eq!(sealed.len() as u64, sealed_len(6));
        let parts =
            seal_parts(&k, "cam1", "clip.mjpeg", [b"fra".to_vec(), b"mes".to_vec()]).unwrap();
        assert_eq!(open(&k, "cam1", "clip.mjpeg", &parts).unwrap(), b"frames");
        // Two seals of the same clip differ: the nonce is random.
        assert_ne!(
            seal(&k, "cam1", "c", b"x").unwrap(),
            seal(&k, "cam1", "c", b"x").unwrap()
        );
    }
}
