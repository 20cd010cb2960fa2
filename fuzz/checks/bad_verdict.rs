//! A `.bad.json` verdict under a release's attestations/rebuilderd/, judged
//! by `rebuilderd::confirm::check_release` (what `repro verify --rebuilders`
//! and camhub-update run) in a release whose two binaries are confirmed by a
//! signed link each from `alice` (k = 1; `bob` is trusted too).
//!
//! The first byte picks how the rest is used. Even: the rest is the verdict
//! file. Odd: the rest, split at 0xFF bytes, gives the instance, release,
//! version, triple, bin and status (an empty part: this release's own) of a
//! verdict as `repro rebuilderd collect` writes it. An unsigned verdict can
//! only make a binary fail: it counts as a disagreement only when it says
//! BAD, names a trusted instance, this release, version and one of its
//! binaries (one the collector wrote: exactly then), and then that binary
//! fails and the other passes.

// Each check is its own fuzz target, so each includes the keys; only the
// replay test (tools/tests/fuzz_regressions.rs) sees both copies.
#[allow(clippy::duplicate_mod)]
#[path = "rebuilderd_keys.rs"]
mod keys;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use in_toto::crypto::{HashAlgorithm, HashValue};
use in_toto::models::{LinkMetadataBuilder, Metablock, MetadataWrapper, VirtualTargetPath};
use repro::attest::{AttestationFormat, AttestationStatus};
use repro::hashing::sha256_bytes;
use repro::rebuilderd::collect::BadVerdict;
use repro::rebuilderd::confirm::{BAD, check_release};
use repro::rebuilderd::input::render;
use repro::rebuilderd::trust::{TrustConfig, format_key};

const RELEASE: &str = "ipcamera-camerahub";
const VERSION: &str = "0.2.0";
const BIN: &str = "camhub-ip";
const TRIPLES: [&str; 2] = ["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"];
const VERDICT: &str = "rebuilderd/bob/x86_64-unknown-linux-gnu/camhub-ip.bad.json";

/// The release folder with alice's links, made once: each run only
/// rewrites the verdict (a folder made and removed per run is slow).
struct Release {
    _dir: tempfile::TempDir,
    folder: PathBuf,
    trust: TrustConfig,
}

fn binary(triple: &str) -> Vec<u8> {
    format!("camhub-ip built for {triple}").into_bytes()
}

fn release() -> &'static Release {
    static RELEASE_FILES: OnceLock<Release> = OnceLock::new();
    RELEASE_FILES.get_or_init(|| {
        let artifacts: Vec<_> = TRIPLES
            .iter()
            .map(|t| {
                serde_json::json!({"package": "ip_camera_hub", "target": t, "bin": BIN,
                    "bin_path": format!("{t}/{BIN}"), "crate": "camera_hub", "version": "0.1.0",
                    "crate_lock_sha256": "00", "rust_digest": "rustc 1.95.0"})
            })
            .collect();
        let manifest = serde_json::to_vec_pretty(&serde_json::json!({
            "build": {"target": "ipcamera", "profile": "camerahub", "run_id": "1",
                      "timestamp": "2026-01-01T00:00:00Z", "version": VERSION,
                      "source_rev": "0123456789abcdef0123456789abcdef01234567"},
            "artifacts": artifacts
        }))
        .expect("a manifest serialises");
        let sha256 = |bytes: &[u8]| {
            let hex = sha256_bytes(bytes);
            let raw = (0..64)
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            HashMap::from([(HashAlgorithm::Sha256, HashValue::new(raw))])
        };
        let (worker, alice) = (keys::key(&keys::WORKER), keys::key(&keys::DAEMON));
        let links: Vec<(String, Vec<u8>)> = TRIPLES
            .iter()
            .map(|t| {
                let input = render(&manifest, t).expect("the manifest is rebuildable");
                let meta = LinkMetadataBuilder::new()
                    .name(format!("rebuild {BIN}"))
                    .materials(
                        [(
                            VirtualTargetPath::from(format!("{t}.json").as_str()),
                            sha256(&input),
                        )]
                        .into(),
                    )
                    .products([(VirtualTargetPath::from(BIN), sha256(&binary(t)))].into())
                    .build()
                    .expect("a link");
                let block = Metablock::new(MetadataWrapper::Link(meta), &[&worker, &alice])
                    .expect("signing works");
                let bytes = serde_json::to_vec(&block).expect("a link serialises");
                (format!("rebuilderd/alice/{t}/{BIN}.link"), bytes)
            })
            .collect();
        let trust = TrustConfig::parse(&keys::rebuilders(&[
            ("alice", format_key(&keys::public(&keys::DAEMON))),
            ("bob", format_key(&keys::public(&keys::OTHER_DAEMON))),
        ]))
        .expect("the check's rebuilders file");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let folder = dir.path().join("release");
        write(&folder.join("manifest.json"), &manifest);
        for t in TRIPLES {
            write(&folder.join(t).join(BIN), &binary(t));
        }
        for (path, bytes) in &links {
            write(&folder.join("attestations").join(path), bytes);
        }
        Release {
            _dir: dir,
            folder,
            trust,
        }
    })
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
    std::fs::write(path, bytes).expect("a file");
}

/// A verdict as the collector writes it, from the parts of `rest`.
fn collected(rest: &[u8]) -> (Vec<u8>, BadVerdict) {
    let mut parts = rest.split(|&b| b == 0xFF).map(String::from_utf8_lossy);
    let mut field = |own: &str| match parts.next() {
        Some(part) if !part.is_empty() => part.into_owned(),
        _ => own.to_owned(),
    };
    let verdict = BadVerdict {
        instance: field("bob"),
        url: "http://127.0.0.1:1".to_owned(),
        release: field(RELEASE),
        version: field(VERSION),
        triple: field(TRIPLES[1]),
        bin: field(BIN),
        status: field(BAD),
        build_id: 7,
    };
    let mut bytes = serde_json::to_vec_pretty(&verdict).expect("a verdict serialises");
    bytes.push(b'\n');
    (bytes, verdict)
}

pub fn run(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let (file, written) = if mode % 2 == 0 {
        (rest.to_vec(), None)
    } else {
        let (bytes, verdict) = collected(rest);
        (bytes, Some(verdict))
    };
    let r = release();
    let attestations = r.folder.join("attestations");
    write(&attestations.join(VERDICT), &file);

    let report = check_release(&r.folder, &attestations, &r.trust, None)
        .expect("a verdict never makes the release unusable");
    assert_eq!(report.links.len(), 3, "{:?}", report.links);
    for link in report.links.iter().filter(|l| l.file.ends_with(".link")) {
        assert_eq!(link.status, AttestationStatus::Counted, "{link:?}");
    }
    let verdict = report
        .links
        .iter()
        .find(|l| l.file == VERDICT)
        .expect("the verdict is judged");
    assert_eq!(verdict.format, AttestationFormat::RebuilderdVerdict);
    let counted = verdict.status == AttestationStatus::Counted;
    assert!(
        !matches!(
            verdict.status,
            AttestationStatus::BadSignature | AttestationStatus::Duplicate
        ),
        "{verdict:?}"
    );

    // What the file says, read here on its own.
    let says: serde_json::Value = serde_json::from_slice(&file).unwrap_or_default();
    let field = |name: &str| says.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    let about = format!("{}/{}", field("triple"), field("bin"));
    if counted {
        let instance = verdict
            .principal
            .as_deref()
            .expect("a counted verdict's instance");
        assert!(r.trust.by_name(instance).is_some());
        assert_eq!(field("instance"), instance);
        assert_eq!(field("status"), BAD);
        assert_eq!((field("release"), field("version")), (RELEASE, VERSION));
    }
    if let Some(verdict) = &written {
        let should = r.trust.by_name(&verdict.instance).is_some()
            && verdict.status == BAD
            && (verdict.release.as_str(), verdict.version.as_str()) == (RELEASE, VERSION)
            && TRIPLES.contains(&verdict.triple.as_str())
            && verdict.bin == BIN;
        assert_eq!(counted, should, "{verdict:?} judged {:?}", report.links[2]);
    }
    for artifact in &report.artifacts {
        assert_eq!(artifact.agreed, ["alice"], "{artifact:?}");
        if counted && artifact.name == about {
            assert!(!artifact.passed, "{artifact:?}");
            assert_eq!(artifact.disagreed.len(), 1);
            assert_eq!(artifact.disagreed[0].sha256, BAD);
            assert_eq!(
                Some(&artifact.disagreed[0].principal),
                verdict.principal.as_ref()
            );
        } else {
            assert!(
                artifact.passed && artifact.disagreed.is_empty(),
                "{artifact:?}"
            );
        }
    }
    if counted {
        assert!(report.artifacts.iter().any(|a| a.name == about), "{about}");
    }
}
