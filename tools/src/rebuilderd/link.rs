//! A rebuilderd instance's signed in-toto link (legacy in-toto v0.9
//! Metablock), checked against the pinned daemon keys of the rebuilders file.
//!
//! Why the `in-toto` crate (0.4) and not ed25519-dalek with a canonical-JSON
//! crate: rebuilderd signs with exactly this crate. Its workers build the
//! link with `in_toto_run` and its daemon countersigns by parsing the link
//! into in-toto's types and signing their canonical form again. What is
//! signed is therefore in-toto-rs's canonical JSON of its own re-serialised
//! `LinkMetadata` (including its quirk of turning the escape `\n` back into a
//! newline), and the only checker guaranteed to agree with it byte for byte
//! is the same code. Key ids are computed the same way too: the daemon's key
//! with securesystemslib's `keyid_hash_algorithms` ["sha256", "sha512"].
//!
//! The file is untrusted: callers bound its size ([`LINK_LIMIT`]), and
//! nothing here panics on any input (a unit test mutates links at random).

use std::collections::BTreeMap;

use in_toto::crypto::{HashAlgorithm, PublicKey, Signature};
use in_toto::models::{Metablock, MetadataWrapper, TargetDescription};

use crate::attest::{AttestationStatus, Checked};
use crate::rebuilderd::trust::{Rebuilder, TrustConfig};
use crate::style::escape_untrusted;

/// A link larger than this is refused: rebuilderd's name one material and one
/// product, about 1 KiB.
pub const LINK_LIMIT: u64 = 1 << 20;
/// rebuilderd writes two signatures (worker, daemon); more than this is not a
/// rebuilderd link, and each one costs a canonicalisation to check.
const MAX_SIGNATURES: usize = 16;

/// A link whose signature by a trusted instance's pinned key verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLink {
    /// The trusted instance whose key verified (the first in the rebuilders
    /// file when several did: one file speaks for one instance).
    pub instance: String,
    /// Other trusted instances whose keys also signed it (not counted for it).
    pub also_signed_by: Vec<String>,
    /// Material name → its sha256 as lowercase hex, if it lists one.
    pub materials: BTreeMap<String, Option<String>>,
    /// Product name → its sha256 as lowercase hex, if it lists one.
    pub products: BTreeMap<String, Option<String>>,
}

/// The key as rebuilderd's in-toto computes its id (securesystemslib's
/// `keyid_hash_algorithms`, which `PublicKey::from_spki` and
/// `PrivateKey::from_pkcs8` use): the plain `from_ed25519` would give
/// another key id, and no signature would ever be found.
pub fn public_key(raw: &[u8; 32]) -> PublicKey {
    PublicKey::from_ed25519_with_keyid_hash_algorithms(
        raw.to_vec(),
        Some(vec!["sha256".to_owned(), "sha512".to_owned()]),
    )
    .expect("32 bytes are an ed25519 key")
}

/// Parses a link and checks its signatures against `trust`: which trusted
/// instance signed it, and what it says. Malformed: not a link; Untrusted: no
/// signature names a trusted key; BadSignature: one does, but none verifies.
pub fn check(bytes: &[u8], trust: &TrustConfig) -> Checked<VerifiedLink> {
    use AttestationStatus::*;
    let raw: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| (Malformed, format!("not JSON: {e}")))?;
    // in-toto re-serialises `_type` as "link" whatever the file says, so a
    // signature never covers it: insist on it here.
    if raw.pointer("/signed/_type").and_then(|t| t.as_str()) != Some("link") {
        return Err((
            Malformed,
            "not an in-toto link (signed._type is not \"link\")".to_owned(),
        ));
    }
    let block: Metablock = serde_json::from_value(raw).map_err(|e| {
        (
            Malformed,
            format!("not an in-toto link: {}", escape_untrusted(&e.to_string())),
        )
    })?;
    let MetadataWrapper::Link(link) = &block.metadata else {
        return Err((Malformed, "an in-toto layout, not a link".to_owned()));
    };
    if block.signatures.is_empty() {
        return Err((Malformed, "the link carries no signature".to_owned()));
    }
    if block.signatures.len() > MAX_SIGNATURES {
        return Err((
            Malformed,
            format!(
                "{} signatures; a rebuilderd link has two (worker and daemon)",
                block.signatures.len()
            ),
        ));
    }
    let mut signed_by: Vec<&Rebuilder> = Vec::new();
    let mut named_trusted_key = Vec::new();
    for rebuilder in &trust.rebuilders {
        let key = public_key(&rebuilder.key_bytes());
        let theirs: Vec<&Signature> = block
            .signatures
            .iter()
            .filter(|s| s.key_id() == key.key_id())
            .collect();
        if theirs.is_empty() {
            continue;
        }
        named_trusted_key.push(rebuilder.name.as_str());
        if theirs.into_iter().any(|sig| verifies(&block, sig, &key)) {
            signed_by.push(rebuilder);
        }
    }
    let Some((first, others)) = signed_by.split_first() else {
        if named_trusted_key.is_empty() {
            return Err((
                Untrusted,
                "no signature by a key in the rebuilders file".to_owned(),
            ));
        }
        return Err((
            BadSignature,
            format!(
                "the signature by {}'s key does not verify: the link was altered",
                escape_untrusted(&named_trusted_key.join(", "))
            ),
        ));
    };
    Ok(VerifiedLink {
        instance: first.name.clone(),
        also_signed_by: others.iter().map(|r| r.name.clone()).collect(),
        materials: sha256s(&link.materials),
        products: sha256s(&link.products),
    })
}

/// One signature by one key, through in-toto's own `Metablock::verify`, so
/// the bytes checked are exactly the ones rebuilderd signed. Each signature
/// on its own: in-toto keeps only one signature per key id.
fn verifies(block: &Metablock, sig: &Signature, key: &PublicKey) -> bool {
    let single = Metablock {
        signatures: vec![sig.clone()],
        metadata: block.metadata.clone(),
    };
    single.verify(1, [key]).is_ok()
}

fn sha256s(
    entries: &BTreeMap<in_toto::models::VirtualTargetPath, TargetDescription>,
) -> BTreeMap<String, Option<String>> {
    entries
        .iter()
        .map(|(path, hashes)| {
            let sha256 = hashes.get(&HashAlgorithm::Sha256).map(|v| hex(v.value()));
            (path.value().to_owned(), sha256)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The link's one material or product, when it has exactly one.
pub fn only_entry(entries: &BTreeMap<String, Option<String>>) -> Option<(&str, Option<&str>)> {
    match entries.len() {
        1 => entries
            .iter()
            .next()
            .map(|(name, sha)| (name.as_str(), sha.as_deref())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use in_toto::crypto::{HashValue, KeyType, PrivateKey, SignatureScheme};
    use in_toto::models::{LinkMetadataBuilder, VirtualTargetPath};
    use std::collections::HashMap;

    fn key() -> PrivateKey {
        let pkcs8 = PrivateKey::new(KeyType::Ed25519).unwrap();
        PrivateKey::from_pkcs8(&pkcs8, SignatureScheme::Ed25519).unwrap()
    }

    fn raw(key: &PrivateKey) -> [u8; 32] {
        key.public().as_bytes().try_into().unwrap()
    }

    fn trust(keys: &[(&str, &PrivateKey)]) -> TrustConfig {
        let mut text = "k = 1\n".to_owned();
        for (name, key) in keys {
            text.push_str(&format!(
                "[[rebuilder]]\nname = \"{name}\"\nkey = \"{}\"\n",
                crate::rebuilderd::trust::format_key(&raw(key))
            ));
        }
        TrustConfig::parse(&text).unwrap()
    }

    fn description(sha256: [u8; 32]) -> TargetDescription {
        HashMap::from([
            (HashAlgorithm::Sha256, HashValue::new(sha256.to_vec())),
            (HashAlgorithm::Sha512, HashValue::new(vec![7; 64])),
        ])
    }

    /// A link as rebuilderd writes it: signed by the worker, then the daemon.
    fn link(worker: &PrivateKey, daemon: &PrivateKey) -> Vec<u8> {
        let meta = LinkMetadataBuilder::new()
            .name("rebuild camhub-ip".into())
            .materials(BTreeMap::from([(
                VirtualTargetPath::from("x86_64-unknown-linux-gnu.json"),
                description([1; 32]),
            )]))
            .products(BTreeMap::from([(
                VirtualTargetPath::from("camhub-ip"),
                description([2; 32]),
            )]))
            .build()
            .unwrap();
        let block = Metablock::new(MetadataWrapper::Link(meta), &[worker, daemon]).unwrap();
        serde_json::to_vec(&block).unwrap()
    }

    /// Served by a real rebuilderd 0.28 (Debian sid packages: daemon, worker,
    /// stand-in backend) on 2026-12-06: the worker's signature, then the
    /// daemon's; the daemon key from its /api/v1/meta/public-keys PEM.
    const REAL_LINK: &str = r#"{"signatures":[{"keyid":"5f1c91e583fd04e9dade11168b146c0b567c5aeecdf5ea64bdc7e75640853057","sig":"fee6aeb0da084d6e688fcb1f665cc187972c2cf7751d6bbee095c142b9e859c5aa80285adbd43c586025ec28c645c0c45e8fad178b4c6f7b67861ac518411102"},{"keyid":"b52ab716a330efe17669239d529ea9c80aa49693f2ecee822c3a96447c4087f0","sig":"0c1b237b3ce5862f2d4177e5b691a876c2efdc24a74b17cf08c3561dcb5a706b7d870828bf165d26c8102a639d24b83cc412c9a1c34967877497ce293a22c704"}],"signed":{"_type":"link","name":"rebuild camhub-ip","materials":{"x86_64-unknown-linux-gnu.json":{"sha512":"41910ca1f61f796841b0303f741c1c79dd8d74730c3957183758c09d379ad346ede2d1ddf006dba5fcea662c697e1a52dcd2903e1d262b78569a1d4a69203f14","sha256":"7438c41abfd73a4651de1bf598764bfde9d50a49a85d92c4bdcc0f206ed6b043"}},"products":{"camhub-ip":{"sha256":"33b88cf313cdd0c4347010d4aac7bdb17b76a1db5eaf960f17cf085c30c191ec","sha512":"3a97192a6efab7ef1752094969be3aef26a007453ed62650133df52c8bc78cc93db7030bff369ecf68f6826ab83962e8c26e82f850becd07d243450c2fe5157e"}},"environment":null,"byproducts":{},"command":[]}}"#;
    const REAL_DAEMON_KEY: &str =
        "ed25519:867dc5fa00e57f491308d14da6a7d8639006261ccd405954e5fb96723bb096d3";

    #[test]
    fn a_link_from_a_real_rebuilderd_verifies_with_its_daemon_key() {
        let t = TrustConfig::parse(&format!(
            "k = 1\n[[rebuilder]]\nname = \"real\"\nkey = \"{REAL_DAEMON_KEY}\"\n"
        ))
        .unwrap();
        let checked = check(REAL_LINK.as_bytes(), &t).unwrap();
        assert_eq!(checked.instance, "real");
        assert_eq!(
            only_entry(&checked.products),
            Some((
                "camhub-ip",
                Some("33b88cf313cdd0c4347010d4aac7bdb17b76a1db5eaf960f17cf085c30c191ec")
            ))
        );
        let edited = REAL_LINK.replace(
            "\"camhub-ip\":{\"sha256\":\"33",
            "\"camhub-ip\":{\"sha256\":\"34",
        );
        assert_ne!(edited, REAL_LINK);
        let (status, _) = check(edited.as_bytes(), &t).unwrap_err();
        assert_eq!(status, AttestationStatus::BadSignature);
    }

    #[test]
    fn the_key_id_is_rebuilderds() {
        let daemon = key();
        assert_eq!(public_key(&raw(&daemon)).key_id(), daemon.key_id());
    }

    #[test]
    fn a_link_signed_by_a_trusted_daemon_verifies() {
        let (worker, daemon, other) = (key(), key(), key());
        let bytes = link(&worker, &daemon);
        let checked = check(&bytes, &trust(&[("other", &other), ("alice", &daemon)])).unwrap();
        assert_eq!(checked.instance, "alice");
        assert!(checked.also_signed_by.is_empty());
        let (name, sha) = only_entry(&checked.products).unwrap();
        assert_eq!((name, sha), ("camhub-ip", Some(&*"02".repeat(32))));
        let (name, sha) = only_entry(&checked.materials).unwrap();
        assert_eq!(name, "x86_64-unknown-linux-gnu.json");
        assert_eq!(sha, Some(&*"01".repeat(32)));
    }

    #[test]
    fn an_edited_product_hash_is_a_bad_signature() {
        let (worker, daemon) = (key(), key());
        let text = String::from_utf8(link(&worker, &daemon)).unwrap();
        let edited = text.replacen(&"02".repeat(32), &format!("03{}", "02".repeat(31)), 1);
        assert_ne!(text, edited);
        let (status, detail) = check(edited.as_bytes(), &trust(&[("alice", &daemon)])).unwrap_err();
        assert_eq!(status, AttestationStatus::BadSignature, "{detail}");
        assert!(detail.contains("alice"), "{detail}");
    }

    #[test]
    fn another_key_is_untrusted() {
        let (worker, daemon, other) = (key(), key(), key());
        let (status, _) = check(&link(&worker, &daemon), &trust(&[("bob", &other)])).unwrap_err();
        assert_eq!(status, AttestationStatus::Untrusted);
    }

    #[test]
    fn garbage_and_other_documents_are_malformed() {
        let daemon = key();
        let t = trust(&[("alice", &daemon)]);
        for bytes in [
            &b""[..],
            b"garbage",
            b"{}",
            b"[]",
            br#"{"signatures":[],"signed":{"_type":"link"}}"#,
            br#"{"signatures":[{"keyid":"x","sig":"00"}],"signed":{"_type":"layout","name":"x","materials":{},"products":{},"environment":null,"byproducts":{},"command":[]}}"#,
        ] {
            let (status, _) = check(bytes, &t).unwrap_err();
            assert_eq!(status, AttestationStatus::Malformed, "{bytes:?}");
        }
    }

    #[test]
    fn no_mutation_of_a_link_panics() {
        let (worker, daemon) = (key(), key());
        let t = trust(&[("alice", &daemon)]);
        let good = link(&worker, &daemon);
        let original = check(&good, &t).unwrap();
        // A small deterministic generator: the same mutations on every run.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut verified = 0;
        for _ in 0..3000 {
            let mut bytes = good.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % bytes.len() as u64) as usize;
                match next() % 4 {
                    0 => bytes[at] = next() as u8,
                    1 => {
                        bytes.remove(at);
                    }
                    2 => bytes.insert(at, b"{}[]\",:\\0123456789abcdef"[(next() % 24) as usize]),
                    _ => bytes.truncate(at),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            // Whatever still verifies says exactly what was signed: a
            // mutation may only hit what the signature does not cover (the
            // worker's signature, or JSON that parses to the same link).
            if let Ok(checked) = check(&bytes, &t) {
                assert_eq!(checked, original, "{}", String::from_utf8_lossy(&bytes));
                verified += 1;
            }
        }
        assert!(verified < 3000, "{verified}");
    }
}
