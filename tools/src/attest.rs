//! Signed rebuild attestations. `repro attest` writes an in-toto Statement v1
//! for a build folder (every artifact's name and SHA-256, the manifest's build
//! fields, toolchain digest and build modes) and an SSH signature of it
//! (SSHSIG, ed25519, namespace [`NAMESPACE`]), checkable with plain
//! `ssh-keygen -Y verify`. `repro verify` passes a release only when at least
//! N distinct trusted signers attest exactly its hashes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use ssh_key::{HashAlg, LineEnding, PrivateKey, SshSig};

use crate::allowed_signers::{self, AllowedSigner};
use crate::compare::BuildFolder;
use crate::hashing::{self, HashError};
use crate::manifest::BuildInfo;
use crate::style::escape_untrusted;

/// The SSHSIG namespace: a signature made for anything else never counts.
pub const NAMESPACE: &str = "camhub-rebuild-attestation";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "urn:camhub:repro:rebuild:v1";
pub const STATEMENT_SUFFIX: &str = ".intoto.json";
pub const SIGNATURE_SUFFIX: &str = ".intoto.json.sig";
/// Bounds on what is read: a statement for 100,000 artifacts is ~60 MiB,
/// an SSH signature a few KiB, a private key a few KiB.
const STATEMENT_LIMIT: u64 = 256 << 20;
const SIGNATURE_LIMIT: u64 = 64 << 10;
const KEY_LIMIT: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Predicate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// `<triple>/<bin>`.
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    /// The name the builder gave itself; trust comes from the signing key.
    pub builder: String,
    pub build: BuildInfo,
    pub artifacts: Vec<AttestedArtifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestedArtifact {
    pub name: String,
    pub package: String,
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub version: String,
    pub crate_lock_sha256: String,
    pub rust_digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_mode: Option<String>,
}

/// Every artifact of a build folder with the SHA-256 of its file, hashed now.
/// Name: `<triple>/<bin>`. Errors if a file is missing or does not match the
/// hash its own manifest records.
pub fn hashed_artifacts(
    folder: &BuildFolder,
) -> Result<Vec<(String, String, crate::manifest::Artifact)>> {
    let mut out = Vec::new();
    for (artifact, hash) in folder.hash_artifacts(hashing::default_threads())? {
        let hash = hash.map_err(|why| anyhow::anyhow!("{}: {why}", folder.shown.display()))?;
        out.push((
            format!("{}/{}", artifact.target, artifact.bin),
            hash,
            artifact.clone(),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The statement for a build folder.
pub fn statement(folder: &BuildFolder, builder: &str) -> Result<Statement> {
    let hashed = hashed_artifacts(folder)?;
    let modes = &folder.manifest.build.build_modes;
    Ok(Statement {
        statement_type: STATEMENT_TYPE.into(),
        subject: hashed
            .iter()
            .map(|(name, hash, _)| Subject {
                name: name.clone(),
                digest: BTreeMap::from([("sha256".to_owned(), hash.clone())]),
            })
            .collect(),
        predicate_type: PREDICATE_TYPE.into(),
        predicate: Predicate {
            builder: builder.into(),
            build: folder.manifest.build.clone(),
            artifacts: hashed
                .iter()
                .map(|(name, _, a)| AttestedArtifact {
                    name: name.clone(),
                    package: a.package.clone(),
                    crate_name: a.crate_name.clone(),
                    version: a.version.clone(),
                    crate_lock_sha256: a.crate_lock_sha256.clone(),
                    rust_digest: a.rust_digest.clone(),
                    build_mode: modes.get(&a.target).cloned(),
                })
                .collect(),
        },
    })
}

/// Reads an unencrypted ed25519 OpenSSH private key.
pub fn signing_key(path: &Path) -> Result<PrivateKey> {
    let bytes = hashing::read_regular(path, KEY_LIMIT).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}; pass your OpenSSH private key file",
            path.display()
        )
    })?;
    let key = PrivateKey::from_openssh(&bytes).with_context(|| {
        format!(
            "{}: not an OpenSSH private key (create one with ssh-keygen -t ed25519)",
            path.display()
        )
    })?;
    if key.is_encrypted() {
        bail!(
            "{}: the key is protected by a passphrase, which repro cannot ask for; use a key without one for signing attestations (ssh-keygen -t ed25519 -N '')",
            path.display()
        );
    }
    if key.algorithm() != ssh_key::Algorithm::Ed25519 {
        bail!(
            "{}: attestations are signed with ed25519 keys, this is {}",
            path.display(),
            key.algorithm()
        );
    }
    Ok(key)
}

/// Writes `<out>/<name>.intoto.json` and its `.sig`; returns both paths.
pub fn attest(
    dir: &Path,
    key_path: &Path,
    name: &str,
    out: &Path,
) -> Result<(PathBuf, PathBuf, PrivateKey)> {
    if !crate::matrix::is_plain_name(name) || name.chars().any(char::is_control) {
        bail!(
            "--name `{}` must be a plain file name without control characters (it names the attestation files)",
            escape_untrusted(name)
        );
    }
    let key = signing_key(key_path)?;
    let folder = BuildFolder::open(dir)?;
    let statement = statement(&folder, name)?;
    let mut bytes = serde_json::to_vec_pretty(&statement)?;
    bytes.push(b'\n');
    let signature = key
        .sign(NAMESPACE, HashAlg::Sha512, &bytes)
        .map_err(|e| anyhow::anyhow!("signing failed: {e}"))?;
    let pem = signature
        .to_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding the signature failed: {e}"))?;
    fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let statement_path = out.join(format!("{name}{STATEMENT_SUFFIX}"));
    let signature_path = out.join(format!("{name}{SIGNATURE_SUFFIX}"));
    crate::atomic::write(&statement_path, &bytes, 0o644)?;
    crate::atomic::write(&signature_path, pem.as_bytes(), 0o644)?;
    Ok((statement_path, signature_path, key))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationStatus {
    /// Signed by a trusted key, for this release: counted.
    Counted,
    /// Signed by a trusted key whose principal was already counted; still
    /// checked for disagreement.
    Duplicate,
    /// Trusted, but about other crate versions or another Cargo.lock.
    OtherRelease,
    /// The key is not in the allowed-signers file.
    Untrusted,
    /// The signature does not verify (tampered statement or signature).
    BadSignature,
    /// Trusted, but a key type repro cannot check (never counted).
    UnsupportedKeyType,
    /// Not an attestation: unreadable, unparsable, or without its signature.
    Malformed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationResult {
    pub file: String,
    pub status: AttestationStatus,
    pub principal: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disagreement {
    pub principal: String,
    pub sha256: String,
    /// The attestation file that says so.
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactAgreement {
    pub name: String,
    pub sha256: String,
    pub agreed: Vec<String>,
    pub disagreed: Vec<Disagreement>,
    pub missing: Vec<String>,
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub min: usize,
    pub warnings: Vec<String>,
    pub attestations: Vec<AttestationResult>,
    pub artifacts: Vec<ArtifactAgreement>,
    pub passed: bool,
}

fn fingerprint(key: &ssh_key::public::KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Key types whose signatures repro can check (ssh-key's features).
fn supported(algorithm: ssh_key::Algorithm) -> bool {
    use ssh_key::{Algorithm, EcdsaCurve};
    matches!(
        algorithm,
        Algorithm::Ed25519
            | Algorithm::SkEd25519
            | Algorithm::SkEcdsaSha2NistP256
            | Algorithm::Rsa { .. }
            | Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256 | EcdsaCurve::NistP384 | EcdsaCurve::NistP521
            }
    )
}

/// Checks one attestation file; on success, the trusted principal and statement.
fn check_one(
    path: &Path,
    signers: &[AllowedSigner],
) -> std::result::Result<(String, Statement), (AttestationStatus, String)> {
    use AttestationStatus::*;
    let bytes = hashing::read_regular(path, STATEMENT_LIMIT)
        .map_err(|e| (Malformed, format!("cannot read: {e}")))?;
    let sig_path = PathBuf::from(format!("{}.sig", path.display()));
    let pem = hashing::read_regular(&sig_path, SIGNATURE_LIMIT).map_err(|e| match e {
        HashError::Missing => (
            Malformed,
            format!("no signature file {}", sig_path.display()),
        ),
        e => (Malformed, format!("cannot read the signature file: {e}")),
    })?;
    check_attestation(&bytes, &pem, signers)
}

/// Checks an attestation given as bytes (the statement and its `.sig`):
/// signature, trust, type, and that no artifact is named twice. On success,
/// the trusted principal and the statement.
pub fn check_attestation(
    bytes: &[u8],
    pem: &[u8],
    signers: &[AllowedSigner],
) -> std::result::Result<(String, Statement), (AttestationStatus, String)> {
    use AttestationStatus::*;
    let sig = SshSig::from_pem(pem).map_err(|e| {
        (
            Malformed,
            format!("the signature file is not an SSH signature: {e}"),
        )
    })?;
    if sig.namespace() != NAMESPACE {
        return Err((
            BadSignature,
            format!(
                "signed for namespace `{}`, not `{NAMESPACE}`",
                sig.namespace()
            ),
        ));
    }
    let Some(signer) = signers
        .iter()
        .find(|s| s.key.key_data() == sig.public_key())
    else {
        return Err((
            Untrusted,
            format!(
                "key {} is not in the allowed-signers file",
                fingerprint(sig.public_key())
            ),
        ));
    };
    if !supported(signer.key.algorithm()) {
        return Err((
            UnsupportedKeyType,
            format!(
                "unsupported key type {}: repro checks ed25519, RSA and ECDSA signatures",
                signer.key.algorithm()
            ),
        ));
    }
    signer.key.verify(NAMESPACE, bytes, &sig).map_err(|_| {
        (
            BadSignature,
            "the signature does not verify: the statement or its signature was altered".to_owned(),
        )
    })?;
    let statement: Statement = serde_json::from_slice(bytes).map_err(|e| {
        (
            Malformed,
            format!("signed, but not a rebuild attestation: {e}"),
        )
    })?;
    if statement.statement_type != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        return Err((
            Malformed,
            format!(
                "signed, but of type {} / {}",
                statement.statement_type, statement.predicate_type
            ),
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    if statement
        .subject
        .iter()
        .any(|s| !names.insert(s.name.as_str()))
    {
        return Err((Malformed, "signed, but names an artifact twice".to_owned()));
    }
    Ok((signer.principal.clone(), statement))
}

/// Verifies a release folder against the attestations in `attestations`.
pub fn verify(dir: &Path, attestations: &Path, allowed: &Path, min: usize) -> Result<VerifyReport> {
    if min == 0 {
        bail!("--min must be at least 1: zero signers prove nothing");
    }
    let (signers, warnings) = allowed_signers::read(allowed)?;
    let folder = BuildFolder::open(dir)?;
    let hashed = hashed_artifacts(&folder)?;
    let release: BTreeMap<&str, &crate::manifest::Artifact> =
        hashed.iter().map(|(n, _, a)| (n.as_str(), a)).collect();
    let hashes: BTreeMap<&str, &str> = hashed
        .iter()
        .map(|(n, h, _)| (n.as_str(), h.as_str()))
        .collect();
    let mut files: Vec<PathBuf> = fs::read_dir(attestations)
        .with_context(|| format!("{}: no such attestations folder", attestations.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(STATEMENT_SUFFIX))
        .collect();
    files.sort();

    let mut results = Vec::new();
    let mut counted: BTreeMap<String, Statement> = BTreeMap::new();
    // Artifact name → trusted statements of other bytes for this release,
    // from every trusted file: counted, duplicate or not.
    let mut disagreements: BTreeMap<String, Vec<Disagreement>> = BTreeMap::new();
    for path in files {
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let checked = check_one(&path, &signers);
        if let Ok((principal, statement)) = &checked {
            for (name, theirs) in disagreeing(statement, &release, &hashes) {
                disagreements.entry(name).or_default().push(Disagreement {
                    principal: principal.clone(),
                    sha256: theirs,
                    file: file.clone(),
                });
            }
        }
        let (status, principal, detail) = match checked {
            Err((status, detail)) => (status, None, detail),
            Ok((principal, statement)) => {
                // For this release: every attested artifact it shares with the
                // release was built from the same crate version and lock.
                let shared: Vec<&AttestedArtifact> = statement
                    .predicate
                    .artifacts
                    .iter()
                    .filter(|a| release.contains_key(a.name.as_str()))
                    .collect();
                let other = shared.iter().find(|a| {
                    let ours = release[a.name.as_str()];
                    a.version != ours.version || a.crate_lock_sha256 != ours.crate_lock_sha256
                });
                if shared.is_empty() {
                    (
                        AttestationStatus::OtherRelease,
                        Some(principal),
                        "attests none of this release's artifacts".to_owned(),
                    )
                } else if let Some(a) = other {
                    let ours = release[a.name.as_str()];
                    (
                        AttestationStatus::OtherRelease,
                        Some(principal),
                        format!(
                            "for a different release: {} {} (lock {}), this release has {} (lock {})",
                            a.name,
                            a.version,
                            short(&a.crate_lock_sha256),
                            ours.version,
                            short(&ours.crate_lock_sha256)
                        ),
                    )
                } else if counted.contains_key(&principal) {
                    (
                        AttestationStatus::Duplicate,
                        Some(principal),
                        "this signer is already counted; counted once".to_owned(),
                    )
                } else {
                    counted.insert(principal.clone(), statement);
                    (
                        AttestationStatus::Counted,
                        Some(principal),
                        "trusted signature, this release".to_owned(),
                    )
                }
            }
        };
        results.push(AttestationResult {
            file,
            status,
            principal,
            detail,
        });
    }

    let mut artifacts = Vec::new();
    for (name, hash, _) in &hashed {
        let mut agreement = ArtifactAgreement {
            name: name.clone(),
            sha256: hash.clone(),
            agreed: Vec::new(),
            disagreed: disagreements.remove(name).unwrap_or_default(),
            missing: Vec::new(),
            passed: false,
        };
        for (principal, statement) in &counted {
            match statement
                .subject
                .iter()
                .find(|s| &s.name == name)
                .and_then(|s| s.digest.get("sha256"))
            {
                Some(theirs) if theirs.eq_ignore_ascii_case(hash) => {
                    agreement.agreed.push(principal.clone())
                }
                // Recorded in `disagreements` with every other trusted file's.
                Some(_) => {}
                None => agreement.missing.push(principal.clone()),
            }
        }
        agreement.passed = agreement.agreed.len() >= min && agreement.disagreed.is_empty();
        artifacts.push(agreement);
    }
    let passed = !artifacts.is_empty() && artifacts.iter().all(|a| a.passed);
    Ok(VerifyReport {
        min,
        warnings,
        attestations: results,
        artifacts,
        passed,
    })
}

/// The release artifacts a trusted statement attests other bytes for:
/// (name, its sha256). A statement about another release (other version or
/// Cargo.lock for that artifact) is not a disagreement.
fn disagreeing(
    statement: &Statement,
    release: &BTreeMap<&str, &crate::manifest::Artifact>,
    hashes: &BTreeMap<&str, &str>,
) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for subject in &statement.subject {
        let Some(ours) = release.get(subject.name.as_str()) else {
            continue;
        };
        let other_release = statement
            .predicate
            .artifacts
            .iter()
            .filter(|a| a.name == subject.name)
            .any(|a| a.version != ours.version || a.crate_lock_sha256 != ours.crate_lock_sha256);
        if other_release {
            continue;
        }
        let hash = hashes[subject.name.as_str()];
        match subject.digest.get("sha256") {
            Some(theirs) if theirs.eq_ignore_ascii_case(hash) => {}
            Some(theirs) => found.push((subject.name.clone(), theirs.clone())),
            None => {}
        }
    }
    found
}

/// The first 12 characters (not bytes: the text is untrusted and may not be hex).
fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

/// The human rendering of a verification.
pub fn render(
    report: &VerifyReport,
    style: &crate::style::Style,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let e = escape_untrusted;
    for w in &report.warnings {
        writeln!(out, "{} {}", style.info("WARN :"), e(w))?;
    }
    for a in &report.attestations {
        let who = a
            .principal
            .as_deref()
            .map(|p| format!(" ({})", e(p)))
            .unwrap_or_default();
        match a.status {
            AttestationStatus::Counted => writeln!(
                out,
                "{} {}{who}: {}",
                style.ok("TRUST:"),
                e(&a.file),
                e(&a.detail)
            )?,
            _ => writeln!(
                out,
                "{} {}{who}: not counted: {}",
                style.fail("NOPE :"),
                e(&a.file),
                e(&a.detail)
            )?,
        }
    }
    for a in &report.artifacts {
        for d in &a.disagreed {
            writeln!(
                out,
                "{} {}: {} attested {} but the file hashes to {}",
                style.fail("DISAGREE:"),
                e(&a.name),
                e(&d.principal),
                e(&d.sha256),
                a.sha256
            )?;
        }
        let agreed = if a.agreed.is_empty() {
            "nobody".to_owned()
        } else {
            e(&a.agreed.join(", "))
        };
        let missing = if a.missing.is_empty() {
            String::new()
        } else {
            format!("; not attested by {}", e(&a.missing.join(", ")))
        };
        let tag = if a.passed {
            style.ok("OK   :")
        } else {
            style.fail("FAIL :")
        };
        writeln!(
            out,
            "{tag} {} sha={}: agreed by {agreed} ({} of {} needed){missing}",
            e(&a.name),
            a.sha256,
            a.agreed.len(),
            report.min
        )?;
    }
    writeln!(out)?;
    if report.passed {
        writeln!(out, "{}", style.ok("Verification PASSED"))
    } else {
        writeln!(out, "{}", style.fail("Verification FAILED"))
    }
}
