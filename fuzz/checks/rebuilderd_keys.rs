//! Fixed keys for the rebuilderd checks (included by them): daemon keys
//! pinned in a rebuilders file and a worker key nobody pins, made from
//! constant seeds so every run, and the committed seeds, use the same keys.

#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use in_toto::crypto::{PrivateKey, SignatureScheme};

/// The daemon key pinned as `pinned` (and as `alice` by bad_verdict).
pub const DAEMON: [u8; 32] = [0x5a; 32];
/// A second pinned daemon key.
pub const OTHER_DAEMON: [u8; 32] = [0x3c; 32];
/// A worker's key: it signs first, as rebuilderd's workers do, and is trusted by no one.
pub const WORKER: [u8; 32] = [0xa5; 32];

/// The daemon key of the real rebuilderd 0.28 whose link is a seed
/// (tools/src/rebuilderd/link.rs, `REAL_LINK`), pinned as `real`.
pub const REAL_DAEMON: &str =
    "ed25519:867dc5fa00e57f491308d14da6a7d8639006261ccd405954e5fb96723bb096d3";

/// The public key of a seed.
pub fn public(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// The in-toto key of a seed, loaded from PKCS#8 v2 as rebuilderd loads its
/// own, so its key id is the one rebuilderd's signatures carry.
pub fn key(seed: &[u8; 32]) -> PrivateKey {
    const HEAD: [u8; 16] = [
        0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    const PUBLIC: [u8; 5] = [0xa1, 0x23, 0x03, 0x21, 0x00];
    let der = [&HEAD[..], seed, &PUBLIC, &public(seed)].concat();
    PrivateKey::from_pkcs8(&der, SignatureScheme::Ed25519).expect("a PKCS#8 v2 ed25519 key")
}

/// A rebuilders file pinning `instances` (name, `ed25519:<hex>`), k = 1.
pub fn rebuilders(instances: &[(&str, String)]) -> String {
    let mut text = "k = 1\n".to_owned();
    for (name, key) in instances {
        text.push_str(&format!(
            "[[rebuilder]]\nname = \"{name}\"\nkey = \"{key}\"\n"
        ));
    }
    text
}
