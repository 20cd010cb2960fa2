//! Fixtures shared by the updater's tests: release folders, the device's
//! rebuilders file, and rebuilderd instances that sign in-toto links exactly
//! as rebuilderd 0.28 serves them (docs/rebuilderd-discovery.md, section 7):
//! a legacy v0.9 Metablock, signed by the instance's worker and countersigned
//! by its daemon, whose key is the one a device pins.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use repro::hashing::sha256_bytes;
use repro::manifest::{Artifact, BuildInfo, Manifest};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

pub const TRIPLE: &str = "aarch64-unknown-linux-gnu";
pub const BIN_PATH: &str = "aarch64-unknown-linux-gnu/camhub-reset";
pub const REV: &str = "0123456789abcdef0123456789abcdef01234567";
pub const EXE: &str = env!("CARGO_BIN_EXE_update");

/// A release holding camhub-reset with `content` at `version`; manifest and
/// SHA256SUMS record the content's hash unless a test makes them lie.
pub fn release(
    dir: &Path,
    content: &[u8],
    version: Option<&str>,
    in_manifest: Option<String>,
    in_sums: Option<String>,
) {
    fs::create_dir_all(dir.join(TRIPLE)).unwrap();
    fs::write(dir.join(BIN_PATH), content).unwrap();
    let hash = sha256_bytes(content);
    let manifest = Manifest {
        build: BuildInfo {
            target: "raspberry".into(),
            profile: "all".into(),
            run_id: "1".into(),
            timestamp: "2026-01-01T00:00:00Z".into(),
            build_modes: Default::default(),
            version: version.map(str::to_owned),
            source_rev: Some(REV.into()),
        },
        artifacts: vec![Artifact {
            package: "reset".into(),
            target: TRIPLE.into(),
            bin: "camhub-reset".into(),
            bin_path: BIN_PATH.into(),
            sha256: Some(in_manifest.unwrap_or_else(|| hash.clone())),
            crate_name: "reset".into(),
            version: "0.1.0".into(),
            crate_lock_sha256: "l".into(),
            rust_digest: "d".into(),
        }],
    };
    fs::write(dir.join("manifest.json"), manifest.to_canonical_json()).unwrap();
    fs::write(
        dir.join("SHA256SUMS"),
        format!("{}  {BIN_PATH}\n", in_sums.unwrap_or(hash)),
    )
    .unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// in-toto's canonical JSON (securesystemslib): keys sorted, no whitespace,
/// strings escaping only `\` and `"`.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            let fields: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{}", canonical(&Value::String(k.clone())), canonical(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        Value::String(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        other => other.to_string(),
    }
}

/// An ed25519 key generated for this test run.
pub struct Key(Ed25519KeyPair);

impl Key {
    pub fn generate() -> Key {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Key(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
    }

    pub fn public_hex(&self) -> String {
        hex(self.0.public_key().as_ref())
    }

    /// in-toto's keyid: sha256 of the canonical JSON of the public key.
    fn keyid(&self) -> String {
        sha256_bytes(
            canonical(&json!({
                "keyid_hash_algorithms": ["sha256", "sha512"],
                "keytype": "ed25519",
                "keyval": {"public": self.public_hex()},
                "scheme": "ed25519",
            }))
            .as_bytes(),
        )
    }

    fn sign(&self, signed: &Value) -> Value {
        let sig = self.0.sign(canonical(signed).as_bytes());
        json!({"keyid": self.keyid(), "sig": hex(sig.as_ref())})
    }
}

/// A rebuilderd instance: its daemon's key (pinned by devices) and a worker's.
pub struct Instance {
    pub name: String,
    pub daemon: Key,
    worker: Key,
}

impl Instance {
    pub fn new(name: &str) -> Instance {
        Instance {
            name: name.into(),
            daemon: Key::generate(),
            worker: Key::generate(),
        }
    }

    /// Its entry in a device's rebuilders file.
    pub fn trusted(&self) -> String {
        format!(
            "[[rebuilder]]\nname = \"{}\"\nkey = \"ed25519:{}\"\n",
            self.name,
            self.daemon.public_hex()
        )
    }

    /// The link this instance serves after rebuilding camhub-reset of the
    /// release at `release` and getting `rebuilt`: the material is the build
    /// input rendered from the release's manifest.json.
    pub fn link(&self, release: &Path, rebuilt: &[u8]) -> Vec<u8> {
        let manifest = fs::read(release.join("manifest.json")).unwrap();
        let input = repro::rebuilderd::input::render(&manifest, TRIPLE).unwrap();
        let hashes = |bytes: &[u8]| json!({"sha256": sha256_bytes(bytes), "sha512": hex(&Sha512::digest(bytes))});
        let signed = json!({
            "_type": "link",
            "name": "rebuild camhub-reset",
            "materials": {format!("{TRIPLE}.json"): hashes(&input)},
            "products": {"camhub-reset": hashes(rebuilt)},
            "environment": null,
            "byproducts": {},
            "command": [],
        });
        let link = json!({
            "signatures": [self.worker.sign(&signed), self.daemon.sign(&signed)],
            "signed": signed,
        });
        serde_json::to_vec_pretty(&link).unwrap()
    }

    /// Where the collector stores this instance's files for camhub-reset.
    pub fn folder(&self, attestations: &Path) -> PathBuf {
        attestations
            .join("rebuilderd")
            .join(&self.name)
            .join(TRIPLE)
    }

    /// Stores the link for `rebuilt` in the release's attestations/.
    pub fn confirm(&self, release: &Path, rebuilt: &[u8]) {
        let folder = self.folder(&release.join("attestations"));
        fs::create_dir_all(&folder).unwrap();
        fs::write(
            folder.join("camhub-reset.link"),
            self.link(release, rebuilt),
        )
        .unwrap();
    }

    /// Stores this instance's BAD verdict on camhub-reset of the release.
    pub fn bad(&self, release: &Path, version: &str) {
        let folder = self.folder(&release.join("attestations"));
        fs::create_dir_all(&folder).unwrap();
        let verdict = json!({
            "instance": self.name, "url": "http://127.0.0.1:1", "release": "raspberry-all",
            "version": version, "triple": TRIPLE, "bin": "camhub-reset", "status": "BAD", "build_id": 7,
        });
        fs::write(
            folder.join("camhub-reset.bad.json"),
            serde_json::to_vec(&verdict).unwrap(),
        )
        .unwrap();
    }
}

/// A device folder `d` with `bin/`, a rebuilders file trusting alice and bob
/// with k = 2, and those two instances.
pub struct Device {
    pub dir: tempfile::TempDir,
    pub alice: Instance,
    pub bob: Instance,
}

impl Device {
    pub fn new() -> Device {
        let device = Device {
            dir: tempfile::tempdir().unwrap(),
            alice: Instance::new("alice"),
            bob: Instance::new("bob"),
        };
        fs::create_dir(device.path().join("bin")).unwrap();
        fs::write(
            device.path().join("rebuilders.toml"),
            format!("k = 2\n{}{}", device.alice.trusted(), device.bob.trusted()),
        )
        .unwrap();
        device
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A release at `name` that both instances confirmed.
    pub fn confirmed(&self, name: &str, content: &[u8], version: &str) {
        let rel = self.path().join(name);
        release(&rel, content, Some(version), None, None);
        self.alice.confirm(&rel, content);
        self.bob.confirm(&rel, content);
    }
}

/// Runs the updater in `dir`. A run with --release and no --rebuilders gets
/// the device's `rebuilders.toml`, as a device's /etc/camhub would give it.
pub fn update(args: &[&str], dir: &Path) -> Output {
    run(args, dir, &[])
}

pub fn run(args: &[&str], dir: &Path, env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(EXE);
    command
        .args(args)
        .args(["--triple", TRIPLE])
        .current_dir(dir);
    if args.contains(&"--release") && !args.contains(&"--rebuilders") {
        command.args(["--rebuilders", "rebuilders.toml"]);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// Installs from `rel` to bin/camhub-reset; returns the run and what is installed.
pub fn installed(dir: &Path, rel: &str) -> (Output, Vec<u8>) {
    let out = update(&["--release", rel, "--install", "bin/camhub-reset"], dir);
    (
        out,
        fs::read(dir.join("bin/camhub-reset")).unwrap_or_default(),
    )
}

/// Entries of a folder, sorted, for checking that nothing was left behind.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The record of what is installed at bin/camhub-reset, parsed back.
pub fn record(dir: &Path) -> Option<update::state::InstalledRelease> {
    update::state::InstalledRelease::load(&dir.join("bin/camhub-reset.camhub-release.json"))
        .unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
