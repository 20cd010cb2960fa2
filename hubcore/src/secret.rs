//! Random tokens and keys, and comparing secrets without leaking timing.

use anyhow::{Result, bail};
use ring::rand::{SecureRandom, SystemRandom};

/// 32 random bytes as 64 hex digits: an upload or viewing token, or an AEAD key.
pub fn random_hex32() -> Result<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system's random number generator failed"))?;
    Ok(to_hex(&bytes))
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes exactly 32 bytes of hex (a key).
pub fn key_from_hex(hex: &str) -> Result<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("a key must be 64 hex digits (32 bytes); create one with `camhub-config new`");
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex");
    }
    Ok(key)
}

/// Equal in time independent of where the inputs first differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_keys_round_trip() {
        let a = random_hex32().unwrap();
        let b = random_hex32().unwrap();
        assert_ne!(a, b);
        assert_eq!(to_hex(&key_from_hex(&a).unwrap()), a);
        assert!(key_from_hex("abc").is_err());
        assert!(key_from_hex(&"zz".repeat(32)).is_err());
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"sama"));
        assert!(!constant_time_eq(b"same", b"same!"));
    }
}
