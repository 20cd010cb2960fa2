//! Signers with real ssh-keygen keys, a release, and `repro attest` /
//! `repro verify` run on them: shared by the attestation tests.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use repro::attest::{AttestationStatus, VerifyReport};

pub struct Signer {
    pub key: PathBuf,
    pub public: String,
}

pub fn keygen(dir: &Path, name: &str) -> Signer {
    let key = dir.join(format!("{name}_ed25519"));
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen is installed");
    assert!(status.success());
    let public = fs::read_to_string(key.with_extension("pub"))
        .unwrap_or_else(|_| fs::read_to_string(format!("{}.pub", key.display())).unwrap());
    Signer {
        key,
        public: public
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

pub struct World {
    _guard: tempfile::TempDir,
    pub tmp: PathBuf,
    pub signers: Vec<(&'static str, Signer)>,
}

impl World {
    /// alice, bob and carol are trusted; eve is not.
    pub fn new() -> World {
        let (guard, tmp) = tmp();
        let signers: Vec<(&'static str, Signer)> = ["alice", "bob", "carol", "eve"]
            .into_iter()
            .map(|n| (n, keygen(&tmp, n)))
            .collect();
        let allowed: String = signers
            .iter()
            .filter(|(n, _)| *n != "eve")
            .map(|(n, s)| format!("{n}@example.org {}\n", s.public))
            .collect();
        fs::write(tmp.join("allowed_signers"), allowed).unwrap();
        build_folder(&tmp.join("release"), &release());
        World {
            _guard: guard,
            tmp,
            signers,
        }
    }

    pub fn key(&self, who: &str) -> &Path {
        &self.signers.iter().find(|(n, _)| *n == who).unwrap().1.key
    }

    /// `who` rebuilds (a folder with `arts`) and attests it as `name`.
    pub fn attest(&self, who: &str, name: &str, arts: &[Art]) -> Run {
        let folder = self.tmp.join(format!("rebuild-{name}"));
        build_folder(&folder, arts);
        run(repro()
            .arg("attest")
            .arg(&folder)
            .arg("--key")
            .arg(self.key(who))
            .args(["--name", name, "--out"])
            .arg(self.tmp.join("atts")))
    }

    /// Leaves only the SSHSIG form of every attestation (for tests of it alone).
    pub fn sshsig_only(&self) {
        for entry in fs::read_dir(self.tmp.join("atts")).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with(".intoto.jsonl") {
                fs::remove_file(path).unwrap();
            }
        }
    }

    pub fn verify(&self, min: usize) -> (Run, VerifyReport) {
        let text = run(&mut self.verify_cmd(min, false));
        let json = run(&mut self.verify_cmd(min, true));
        assert_eq!(text.code, json.code);
        let report: VerifyReport = serde_json::from_str(&json.stdout).unwrap();
        (text, report)
    }

    pub fn verify_cmd(&self, min: usize, json: bool) -> Command {
        let mut cmd = repro();
        cmd.arg("verify")
            .arg(self.tmp.join("release"))
            .arg("--attestations")
            .arg(self.tmp.join("atts"))
            .arg("--allowed-signers")
            .arg(self.tmp.join("allowed_signers"))
            .args(["--min", &min.to_string()]);
        if json {
            cmd.arg("--json");
        }
        cmd
    }
}

pub fn status_of(report: &VerifyReport, file: &str) -> AttestationStatus {
    report
        .attestations
        .iter()
        .find(|a| a.file == file)
        .unwrap_or_else(|| panic!("{file} not reported"))
        .status
}

pub fn statuses(report: &VerifyReport) -> Vec<(String, AttestationStatus)> {
    report
        .attestations
        .iter()
        .map(|a| (a.file.clone(), a.status))
        .collect()
}
