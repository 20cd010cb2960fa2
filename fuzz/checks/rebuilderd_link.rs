//! repro's check of a rebuilderd instance's signed in-toto link
//! (`rebuilderd::link::check`, what `repro verify --rebuilders` and
//! camhub-update run on each stored `.link`) against pinned daemon keys.
//!
//! The first byte picks how the rest is used. Even: the rest, when it reads
//! as an in-toto link, is signed here by a worker and then by the pinned
//! daemon, as rebuilderd does; it must verify for that daemon, say what was
//! signed, and stop verifying once what was signed is edited. Odd: the rest
//! is the link file, hostile. Whatever is accepted must carry a signature
//! that ed25519-dalek (not in-toto's ring) verifies with the instance's key
//! over in-toto's canonical form of the link, and name the material and
//! product the collector (`collect::check_link`) found in it; a refusal as
//! untrusted or as a bad signature means no trusted key's signature verifies.

// Each check is its own fuzz target, so each includes the keys; only the
// replay test (tools/tests/fuzz_regressions.rs) sees both copies.
#[allow(clippy::duplicate_mod)]
#[path = "rebuilderd_keys.rs"]
mod keys;

use std::collections::BTreeMap;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use in_toto::crypto::HashAlgorithm;
use in_toto::models::{Metablock, MetadataWrapper, TargetDescription, VirtualTargetPath};
use repro::attest::AttestationStatus;
use repro::rebuilderd::collect::check_link;
use repro::rebuilderd::link::{VerifiedLink, check, only_entry, public_key};
use repro::rebuilderd::release::ReleaseArtifact;
use repro::rebuilderd::trust::{TrustConfig, format_key};

fn trust() -> TrustConfig {
    let text = keys::rebuilders(&[
        ("pinned", format_key(&keys::public(&keys::DAEMON))),
        ("real", keys::REAL_DAEMON.to_owned()),
    ]);
    TrustConfig::parse(&text).expect("the check's rebuilders file")
}

/// What rebuilderd's daemon signs: in-toto's canonical JSON of the link as
/// in-toto re-serialises it, with its `\n` quirk.
fn signed_bytes(block: &Metablock) -> Option<Vec<u8>> {
    let canonical = String::from_utf8(block.metadata.to_bytes().ok()?).ok()?;
    Some(canonical.replace("\\n", "\n").into_bytes())
}

/// Whether any of the block's signatures (whatever key id it names)
/// verifies with `key`, by ed25519-dalek.
fn dalek_verifies(block: &Metablock, message: &[u8], key: &[u8; 32], by_id: bool) -> bool {
    let Ok(key_dalek) = VerifyingKey::from_bytes(key) else {
        return false;
    };
    let id = public_key(key);
    block.signatures.iter().any(|sig| {
        (!by_id || sig.key_id() == id.key_id())
            && Signature::from_slice(sig.value().as_bytes())
                .is_ok_and(|s| key_dalek.verify(message, &s).is_ok())
    })
}

fn sha256s(
    entries: &BTreeMap<VirtualTargetPath, TargetDescription>,
) -> BTreeMap<String, Option<String>> {
    entries
        .iter()
        .map(|(path, hashes)| {
            let hex = hashes.get(&HashAlgorithm::Sha256).map(|v| {
                v.value()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            });
            (path.value().to_owned(), hex)
        })
        .collect()
}

/// The accepted link says what its signed part says.
fn says_what_was_signed(checked: &VerifiedLink, block: &Metablock) {
    let MetadataWrapper::Link(link) = &block.metadata else {
        panic!("accepted a layout as a link");
    };
    assert_eq!(checked.materials, sha256s(&link.materials));
    assert_eq!(checked.products, sha256s(&link.products));
}

fn signed(rest: &[u8]) {
    let Ok(parsed) = serde_json::from_slice::<Metablock>(rest) else {
        return;
    };
    if !matches!(parsed.metadata, MetadataWrapper::Link(_)) {
        return;
    }
    let (worker, daemon) = (keys::key(&keys::WORKER), keys::key(&keys::DAEMON));
    let (Ok(mut block), Ok(countersigned)) = (
        Metablock::new(parsed.metadata.clone(), &[&worker]),
        Metablock::new(parsed.metadata.clone(), &[&daemon]),
    ) else {
        return;
    };
    block.signatures.extend(countersigned.signatures);
    let bytes = serde_json::to_vec(&block).expect("a link serialises");
    let trust = trust();
    let checked = check(&bytes, &trust).unwrap_or_else(|(status, detail)| {
        panic!("a link the pinned daemon signed was refused: {status:?}: {detail}")
    });
    assert_eq!(checked.instance, "pinned");
    assert!(checked.also_signed_by.is_empty());
    says_what_was_signed(&checked, &block);

    // The same signatures over an edited name, product or material.
    let mut edited: serde_json::Value = serde_json::from_slice(&bytes).expect("its own JSON");
    let signed_part = &mut edited["signed"];
    let name = signed_part["name"].as_str().unwrap_or_default();
    signed_part["name"] = format!("{name} edited").into();
    let edited = serde_json::to_vec(&edited).expect("JSON serialises");
    match check(&edited, &trust) {
        Err((AttestationStatus::BadSignature, _)) => {}
        other => panic!("an edited link was not a bad signature: {other:?}"),
    }
}

/// The collector (`rebuilderd::collect::check_link`) stores a link only when
/// it names this artifact's input and hash; the verifier must then read the
/// same from it (the seeds' link names these).
fn collector_and_verifier_agree(bytes: &[u8], checked: &VerifiedLink) {
    let (input_sha256, sha256) = ("01".repeat(32), "03".repeat(32));
    let artifact = ReleaseArtifact {
        triple: "x86_64-unknown-linux-gnu".to_owned(),
        bin: "camhub-ip".to_owned(),
        bin_path: "x86_64-unknown-linux-gnu/camhub-ip".to_owned(),
        input_sha256: input_sha256.clone(),
    };
    if check_link(bytes, &artifact, &sha256).is_ok() {
        assert_eq!(
            only_entry(&checked.products),
            Some(("camhub-ip", Some(sha256.as_str())))
        );
        assert_eq!(
            only_entry(&checked.materials),
            Some(("x86_64-unknown-linux-gnu.json", Some(input_sha256.as_str())))
        );
    }
}

fn hostile(bytes: &[u8]) {
    let trust = trust();
    let key = |name: &str| {
        trust
            .by_name(name)
            .expect("a name the check returned")
            .key_bytes()
    };
    match check(bytes, &trust) {
        Ok(checked) => {
            let raw: serde_json::Value = serde_json::from_slice(bytes).expect("JSON");
            let block: Metablock =
                serde_json::from_value(raw.clone()).expect("an accepted link is a Metablock");
            assert_eq!(raw["signed"]["_type"], "link");
            let message = signed_bytes(&block).expect("an accepted link canonicalises");
            for name in std::iter::once(&checked.instance).chain(&checked.also_signed_by) {
                assert!(
                    dalek_verifies(&block, &message, &key(name), false),
                    "accepted for {name}, but no signature verifies with {name}'s key"
                );
            }
            let first = trust
                .rebuilders
                .iter()
                .find(|r| dalek_verifies(&block, &message, &r.key_bytes(), true))
                .expect("some trusted key verifies");
            assert_eq!(
                first.name, checked.instance,
                "counted for the wrong instance"
            );
            says_what_was_signed(&checked, &block);
            collector_and_verifier_agree(bytes, &checked);
        }
        Err((status, detail)) => {
            assert!(!detail.is_empty());
            if !matches!(
                status,
                AttestationStatus::Untrusted | AttestationStatus::BadSignature
            ) {
                assert_eq!(status, AttestationStatus::Malformed);
                return;
            }
            // As check reads it: through a JSON value (the last of duplicate keys).
            let raw: serde_json::Value = serde_json::from_slice(bytes).expect("JSON");
            let block: Metablock = serde_json::from_value(raw).expect("it parsed");
            let message = signed_bytes(&block).expect("it canonicalises");
            for r in &trust.rebuilders {
                assert!(
                    !dalek_verifies(&block, &message, &r.key_bytes(), true),
                    "refused ({status:?}), but {}'s signature verifies",
                    r.name
                );
            }
        }
    }
}

pub fn run(data: &[u8]) {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 0 => signed(rest),
        Some((_, rest)) => hostile(rest),
        None => {}
    }
}
