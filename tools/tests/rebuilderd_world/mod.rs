//! A release with version and source_rev, rebuilderd instances whose signed
//! in-toto links are made here with the in-toto crate exactly as rebuilderd's
//! worker signs and its daemon countersigns them, stored where `repro
//! rebuilderd collect` stores them; and `repro verify --rebuilders` on it.
//! Shared by the rebuilderd verify tests and the schema test.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use in_toto::crypto::{HashAlgorithm, HashValue, KeyType, PrivateKey, SignatureScheme};
use in_toto::models::{LinkMetadataBuilder, Metablock, MetadataWrapper, VirtualTargetPath};
use repro::attest::VerifyReport;
use sha2::{Digest, Sha256, Sha512};

pub const REV: &str = "0123456789abcdef0123456789abcdef01234567";

pub fn key() -> PrivateKey {
    let pkcs8 = PrivateKey::new(KeyType::Ed25519).unwrap();
    PrivateKey::from_pkcs8(&pkcs8, SignatureScheme::Ed25519).unwrap()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A rebuilderd instance: its daemon key (pinned) and its worker's.
pub struct Instance {
    pub daemon: PrivateKey,
    pub worker: PrivateKey,
}

impl Instance {
    pub fn new() -> Instance {
        Instance {
            daemon: key(),
            worker: key(),
        }
    }

    pub fn pinned(&self) -> String {
        format!("ed25519:{}", hex(self.daemon.public().as_bytes()))
    }

    /// The link as the instance serves it: the worker's `in_toto_run`
    /// (material the input, product the rebuilt binary, both hashed sha512
    /// and sha256), then the daemon's countersignature.
    pub fn link(&self, input_name: &str, input: &[u8], bin: &str, rebuilt: &[u8]) -> Vec<u8> {
        let hashes = |bytes: &[u8]| {
            HashMap::from([
                (
                    HashAlgorithm::Sha256,
                    HashValue::new(Sha256::digest(bytes).to_vec()),
                ),
                (
                    HashAlgorithm::Sha512,
                    HashValue::new(Sha512::digest(bytes).to_vec()),
                ),
            ])
        };
        let meta = LinkMetadataBuilder::new()
            .name(format!("rebuild {bin}"))
            .materials(BTreeMap::from([(
                VirtualTargetPath::from(input_name),
                hashes(input),
            )]))
            .products(BTreeMap::from([(
                VirtualTargetPath::from(bin),
                hashes(rebuilt),
            )]))
            .build()
            .unwrap();
        let mut block = Metablock::new(MetadataWrapper::Link(meta), &[&self.worker]).unwrap();
        let daemon = Metablock::new(block.metadata.clone(), &[&self.daemon]).unwrap();
        block.signatures.extend(daemon.signatures);
        serde_json::to_vec(&block).unwrap()
    }
}

/// A release with version and source_rev, two trusted instances (alice,
/// bob: k = 2) and one nobody trusts (mallory).
pub struct World {
    _guard: tempfile::TempDir,
    pub tmp: PathBuf,
    pub alice: Instance,
    pub bob: Instance,
    pub mallory: Instance,
}

/// A release folder of `arts` whose manifest names `version` and a source revision.
pub fn release_folder(dir: &Path, arts: &[Art], version: &str) {
    build_folder(dir, arts);
    let path = dir.join("manifest.json");
    let text = fs::read_to_string(&path).unwrap().replace(
        "\"timestamp\": \"2026-01-02T03:04:05Z\"",
        &format!(
            "\"timestamp\": \"2026-01-02T03:04:05Z\",\n    \"version\": \"{version}\",\n    \"source_rev\": \"{REV}\""
        ),
    );
    fs::write(&path, text).unwrap();
}

impl World {
    pub fn new() -> World {
        let (guard, tmp) = tmp();
        release_folder(&tmp.join("release"), &release(), "0.2.0");
        fs::create_dir(tmp.join("release/attestations")).unwrap();
        let w = World {
            _guard: guard,
            tmp,
            alice: Instance::new(),
            bob: Instance::new(),
            mallory: Instance::new(),
        };
        fs::write(
            w.tmp.join("rebuilders.toml"),
            format!(
                "k = 2\n[[rebuilder]]\nname = \"alice\"\nkey = \"{}\"\n[[rebuilder]]\nname = \"bob\"\nkey = \"{}\"\nurl = \"http://127.0.0.1:1\"\n",
                w.alice.pinned(),
                w.bob.pinned()
            ),
        )
        .unwrap();
        w
    }

    pub fn atts(&self) -> PathBuf {
        self.tmp.join("release/attestations")
    }

    /// The build input of `release`'s `triple`, as `repro rebuilderd sync` writes it.
    pub fn input(release: &Path, triple: &str) -> Vec<u8> {
        let manifest = fs::read(release.join("manifest.json")).unwrap();
        repro::rebuilderd::input::render(&manifest, triple).unwrap()
    }

    /// `instance`'s link for `triple`/`bin` of `release`, claiming `rebuilt`.
    pub fn link_of(&self, instance: &Instance, release: &Path, a: &Art, rebuilt: &[u8]) -> Vec<u8> {
        let input = World::input(release, &a.target);
        instance.link(&format!("{}.json", a.target), &input, &a.bin, rebuilt)
    }

    /// Stores a file where the collector does: rebuilderd/<folder>/<triple>/<name>.
    pub fn store(&self, folder: &str, triple: &str, name: &str, bytes: &[u8]) -> PathBuf {
        let dir = self.atts().join("rebuilderd").join(folder).join(triple);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    /// `instance` confirmed every artifact of the release (stored in `folder`).
    pub fn confirm_all(&self, instance: &Instance, folder: &str) {
        for a in release() {
            let link = self.link_of(
                instance,
                &self.tmp.join("release"),
                &a,
                a.content.as_ref().unwrap(),
            );
            self.store(folder, &a.target, &format!("{}.link", a.bin), &link);
        }
    }

    pub fn bad(&self, instance: &str, a: &Art) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "instance": instance, "url": "http://127.0.0.1:1", "release": "all-release",
            "version": "0.2.0", "triple": a.target, "bin": a.bin, "status": "BAD", "build_id": 7
        }))
        .unwrap()
    }

    pub fn cmd(&self, json: bool) -> Command {
        let mut cmd = repro();
        cmd.arg("verify")
            .arg(self.tmp.join("release"))
            .arg("--attestations")
            .arg(self.atts())
            .arg("--rebuilders")
            .arg(self.tmp.join("rebuilders.toml"));
        if json {
            cmd.arg("--json");
        }
        cmd
    }

    /// The human run and the --json run, which must agree, the JSON parsed back.
    pub fn verify(&self) -> (Run, VerifyReport) {
        let text = run(&mut self.cmd(false));
        let json = run(&mut self.cmd(true));
        assert_eq!(text.code, json.code, "{}{}", text.stdout, text.stderr);
        assert!(text.code == 0 || text.code == 1, "{}", text.stderr);
        assert_eq!(text.stderr, "");
        let report: VerifyReport = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(report.passed, text.code == 0);
        assert!(
            text.stdout.ends_with(&format!("\n{}\n", report.summary)),
            "{}",
            text.stdout
        );
        (text, report)
    }
}
