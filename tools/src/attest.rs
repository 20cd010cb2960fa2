//! Signed rebuild attestations. `repro attest` writes an in-toto Statement v1
//! for a build folder (every artifact's name and SHA-256, the manifest's build
//! fields, toolchain digest and build modes), an SSH signature of it (SSHSIG,
//! ed25519, namespace [`NAMESPACE`]) checkable with plain `ssh-keygen -Y
//! verify`, and the same statement in a DSSE envelope (see [`crate::dsse`])
//! for in-toto's tools. `repro verify` passes a release only when at least N
//! distinct trusted signers attest exactly its hashes, in either form.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use ssh_key::{HashAlg, LineEnding, PrivateKey, SshSig};

use crate::allowed_signers::{self, AllowedSigner};
use crate::compare::BuildFolder;
use crate::dsse::{self, ENVELOPE_SUFFIX};
use crate::hashing::{self, HashError};
use crate::manifest::BuildInfo;
use crate::rebuilderd::trust::TrustConfig;
use crate::style::escape_untrusted;

/// The SSHSIG namespace: a signature made for anything else never counts.
pub const NAMESPACE: &str = "camhub-rebuild-attestation";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "urn:camhub:repro:rebuild:v1";
pub const STATEMENT_SUFFIX: &str = ".intoto.json";
pub const SIGNATURE_SUFFIX: &str = ".intoto.json.sig";
/// Bumped when a field of [`VerifyReport`] changes meaning or goes away;
/// tools/schemas/verify.schema.json describes this version.
pub const VERIFY_SCHEMA_VERSION: u32 = 1;
/// Bounds on what is read: a statement for 100,000 artifacts is ~60 MiB (an
/// envelope a third more, base64), an SSH signature a few KiB, a private key
/// a few KiB.
const STATEMENT_LIMIT: u64 = 256 << 20;
const ENVELOPE_LIMIT: u64 = 384 << 20;
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

/// Reads an unencrypted ed25519 OpenSSH private key. Each way of getting it
/// wrong (no such file, the public half, a key with a passphrase) is named
/// with its fix.
pub fn signing_key(path: &Path) -> Result<PrivateKey> {
    let shown = path.display();
    let bytes = hashing::read_regular(path, KEY_LIMIT).map_err(|e| match e {
        HashError::Missing => anyhow::anyhow!(
            "{shown}: no such file; pass your ed25519 OpenSSH private key (ssh-keygen -t ed25519 -N '' -f {shown} creates one)"
        ),
        e => anyhow::anyhow!("{shown}: {e}; pass your ed25519 OpenSSH private key file"),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    if ssh_key::PublicKey::from_openssh(text.trim()).is_ok() {
        let private = shown.to_string();
        let private = private
            .strip_suffix(".pub")
            .unwrap_or("the file without .pub");
        bail!(
            "{shown}: that is a public key; pass the private key ({private}) with --key, and publish this .pub for allowed_signers"
        );
    }
    // Only the top error: ssh-key's sources repeat it.
    let key = PrivateKey::from_openssh(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{shown}: not an OpenSSH private key ({e}); pass the file ssh-keygen -t ed25519 wrote (it starts with -----BEGIN OPENSSH PRIVATE KEY-----)"
        )
    })?;
    if key.is_encrypted() {
        bail!(
            "{shown}: the key is protected by a passphrase, which repro cannot ask for; use a key without one for signing attestations (ssh-keygen -t ed25519 -N '')"
        );
    }
    if key.algorithm() != ssh_key::Algorithm::Ed25519 {
        bail!(
            "{shown}: attestations are signed with ed25519 keys, this is {}; create one with ssh-keygen -t ed25519 -N ''",
            key.algorithm()
        );
    }
    Ok(key)
}

/// What `repro attest` wrote.
pub struct Written {
    pub statement: PathBuf,
    pub signature: PathBuf,
    pub envelope: PathBuf,
    pub key: PrivateKey,
    /// The DSSE keyid of the key (see [`crate::dsse`]).
    pub keyid: String,
}

/// Writes `<out>/<name>.intoto.json`, its `.sig` and `<out>/<name>.intoto.jsonl`.
pub fn attest(dir: &Path, key_path: &Path, name: &str, out: &Path) -> Result<Written> {
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
    let keypair = key
        .key_data()
        .ed25519()
        .context("the key is not an ed25519 key")?;
    let dalek = ed25519_dalek::SigningKey::try_from(keypair)
        .map_err(|e| anyhow::anyhow!("{}: unusable ed25519 key: {e}", key_path.display()))?;
    let envelope = dsse::sign(&dalek, &bytes);
    fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let written = Written {
        statement: out.join(format!("{name}{STATEMENT_SUFFIX}")),
        signature: out.join(format!("{name}{SIGNATURE_SUFFIX}")),
        envelope: out.join(format!("{name}{ENVELOPE_SUFFIX}")),
        keyid: dsse::keyid(dalek.verifying_key().as_bytes()),
        key,
    };
    crate::atomic::write(&written.statement, &bytes, 0o644)?;
    crate::atomic::write(&written.signature, pem.as_bytes(), 0o644)?;
    crate::atomic::write(&written.envelope, &envelope, 0o644)?;
    Ok(written)
}

/// What became of one attestation file. The human output shows each as its
/// [`AttestationStatus::word`]; README lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationStatus {
    /// Signed by a trusted key, for this release: counted.
    Counted,
    /// Signed by a trusted key whose principal was already counted (the
    /// other form of the same attestation, or a second one); still checked
    /// for disagreement.
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

impl AttestationStatus {
    /// The word the human output starts the file's line with.
    pub fn word(self) -> &'static str {
        match self {
            AttestationStatus::Counted => "COUNTED",
            AttestationStatus::Duplicate => "DUPLICATE",
            AttestationStatus::OtherRelease => "OTHER RELEASE",
            AttestationStatus::Untrusted => "UNTRUSTED",
            AttestationStatus::BadSignature => "BAD SIGNATURE",
            AttestationStatus::UnsupportedKeyType => "UNSUPPORTED KEY",
            AttestationStatus::Malformed => "MALFORMED",
        }
    }
}

/// The two signed forms of an attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationFormat {
    /// `<name>.intoto.json` with `<name>.intoto.json.sig`.
    Sshsig,
    /// `<name>.intoto.jsonl`.
    Dsse,
    /// `rebuilderd/<instance>/<triple>/<bin>.link`: a rebuilderd instance's
    /// signed in-toto link (see [`crate::rebuilderd::link`]).
    RebuilderdLink,
    /// `rebuilderd/<instance>/<triple>/<bin>.bad.json`: an instance's BAD
    /// verdict, unsigned: it can only make a release fail.
    RebuilderdVerdict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationResult {
    pub file: String,
    pub format: AttestationFormat,
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

/// `repro verify --json`: tools/schemas/verify.schema.json describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// [`VERIFY_SCHEMA_VERSION`].
    pub schema_version: u32,
    pub passed: bool,
    /// The verdict in words, as the human output's last line says it.
    pub summary: String,
    pub min: usize,
    /// The attestations folder as given.
    pub attestations_dir: String,
    pub warnings: Vec<String>,
    pub attestations: Vec<AttestationResult>,
    pub artifacts: Vec<ArtifactAgreement>,
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

pub type Checked<T> = std::result::Result<T, (AttestationStatus, String)>;

/// Checks an SSHSIG attestation (`.intoto.json` and its `.sig`): the trusted
/// principal and the signed bytes.
fn check_sshsig(
    path: &Path,
    bytes: Vec<u8>,
    signers: &[AllowedSigner],
) -> Checked<(String, Vec<u8>)> {
    use AttestationStatus::*;
    let sig_path = PathBuf::from(format!("{}.sig", path.display()));
    let pem = hashing::read_regular(&sig_path, SIGNATURE_LIMIT).map_err(|e| match e {
        HashError::Missing => (
            Malformed,
            format!("no signature file {}", sig_path.display()),
        ),
        e => (Malformed, format!("cannot read the signature file: {e}")),
    })?;
    let principal = verify_sshsig(&bytes, &pem, signers)?;
    Ok((principal, bytes))
}

/// Checks an SSHSIG signature (`pem`) over `bytes`: the trusted principal.
fn verify_sshsig(bytes: &[u8], pem: &[u8], signers: &[AllowedSigner]) -> Checked<String> {
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
    Ok(signer.principal.clone())
}

/// What `verify` does with an SSHSIG attestation once its two files are
/// read: the signature over `bytes`, then the statement (the fuzz target's entry).
pub fn check_attestation(
    bytes: &[u8],
    pem: &[u8],
    signers: &[AllowedSigner],
) -> Checked<(String, Statement)> {
    let principal = verify_sshsig(bytes, pem, signers)?;
    Ok((principal, parse_statement(bytes)?))
}

/// Checks a DSSE envelope (`.intoto.jsonl`): the trusted principal and the
/// payload. Only ed25519 keys sign envelopes (`repro attest` makes no other).
fn check_dsse(bytes: &[u8], signers: &[AllowedSigner]) -> Checked<(String, Vec<u8>)> {
    use AttestationStatus::*;
    let envelope = dsse::open(bytes).map_err(|why| (Malformed, why))?;
    let ed25519 = signers.iter().filter_map(|s| {
        let key = s.key.key_data().ed25519()?;
        Some((s, ed25519_dalek::VerifyingKey::try_from(key).ok()?))
    });
    let mut named_trusted_key = false;
    for (signer, key) in ed25519 {
        if envelope.signed_by(&key) {
            return Ok((signer.principal.clone(), envelope.payload));
        }
        named_trusted_key |= envelope
            .keyids()
            .contains(&dsse::keyid(key.as_bytes()).as_str());
    }
    if named_trusted_key {
        return Err((
            BadSignature,
            "the envelope's signature does not verify: the payload or its signature was altered"
                .to_owned(),
        ));
    }
    Err((
        Untrusted,
        format!(
            "no signature by a key in the allowed-signers file (keyid {})",
            envelope.keyids().join(", ")
        ),
    ))
}

/// Checks one attestation file; on success, the trusted principal and statement.
fn check_one(
    path: &Path,
    format: AttestationFormat,
    signers: &[AllowedSigner],
) -> Checked<(String, Statement)> {
    use AttestationStatus::*;
    let sshsig = match format {
        AttestationFormat::Sshsig => true,
        AttestationFormat::Dsse => false,
        // Only crate::rebuilderd::confirm reads these.
        AttestationFormat::RebuilderdLink | AttestationFormat::RebuilderdVerdict => {
            return Err((Malformed, "not an SSH or DSSE attestation".to_owned()));
        }
    };
    let limit = if sshsig {
        STATEMENT_LIMIT
    } else {
        ENVELOPE_LIMIT
    };
    let bytes =
        hashing::read_regular(path, limit).map_err(|e| (Malformed, format!("cannot read: {e}")))?;
    let (principal, signed) = if sshsig {
        check_sshsig(path, bytes, signers)?
    } else {
        check_dsse(&bytes, signers)?
    };
    Ok((principal, parse_statement(&signed)?))
}

/// The signed bytes as a rebuild statement, refusing other types and an
/// artifact named twice.
fn parse_statement(signed: &[u8]) -> Checked<Statement> {
    use AttestationStatus::*;
    let statement: Statement = serde_json::from_slice(signed).map_err(|e| {
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
    Ok(statement)
}

/// Verifies a release folder against the attestations in `attestations`:
/// the SSH and DSSE ones with `allowed` (none are read without it), the
/// rebuilderd links under `rebuilderd/` with `rebuilders`, whose instances
/// count as `rebuilderd:<name>` beside the SSH principals.
pub fn verify(
    dir: &Path,
    attestations: &Path,
    allowed: Option<&Path>,
    rebuilders: Option<&TrustConfig>,
    min: usize,
) -> Result<VerifyReport> {
    if min == 0 {
        bail!("--min must be at least 1: zero signers prove nothing");
    }
    let (signers, warnings) = match allowed {
        Some(allowed) => allowed_signers::read(allowed)?,
        None => (Vec::new(), Vec::new()),
    };
    let folder = BuildFolder::open(dir)?;
    let hashed = hashed_artifacts(&folder)?;
    let release: BTreeMap<&str, &crate::manifest::Artifact> =
        hashed.iter().map(|(n, _, a)| (n.as_str(), a)).collect();
    let hashes: BTreeMap<&str, &str> = hashed
        .iter()
        .map(|(n, h, _)| (n.as_str(), h.as_str()))
        .collect();
    let mut files: Vec<(PathBuf, AttestationFormat)> = fs::read_dir(attestations)
        .with_context(|| {
            format!(
                "{}: no such attestations folder; pass the folder holding the rebuilders' <name>{STATEMENT_SUFFIX}, .sig and <name>{ENVELOPE_SUFFIX} files",
                attestations.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|_| allowed.is_some())
        .filter_map(|p| {
            let name = p.to_string_lossy();
            let format = if name.ends_with(STATEMENT_SUFFIX) {
                AttestationFormat::Sshsig
            } else if name.ends_with(ENVELOPE_SUFFIX) {
                AttestationFormat::Dsse
            } else {
                return None;
            };
            Some((p, format))
        })
        .collect();
    files.sort();

    let mut results = Vec::new();
    // Principal → (the file it was counted for, its statement).
    let mut counted: BTreeMap<String, (String, Statement)> = BTreeMap::new();
    // Artifact name → trusted statements of other bytes for this release,
    // from every trusted file: counted, duplicate or not.
    let mut disagreements: BTreeMap<String, Vec<Disagreement>> = BTreeMap::new();
    for (path, format) in files {
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let checked = check_one(&path, format, &signers);
        if let Ok((principal, statement)) = &checked {
            for (name, theirs) in disagreeing(statement, &release, &hashes) {
                let known = disagreements.entry(name).or_default();
                // Both forms of one attestation say it once.
                if known
                    .iter()
                    .any(|d| d.principal == *principal && d.sha256 == theirs)
                {
                    continue;
                }
                known.push(Disagreement {
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
                } else if let Some((first, _)) = counted.get(&principal) {
                    let detail =
                        format!("this signer is already counted (from {first}); counted once");
                    (AttestationStatus::Duplicate, Some(principal), detail)
                } else {
                    counted.insert(principal.clone(), (file.clone(), statement));
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
            format,
            status,
            principal,
            detail,
        });
    }

    let rebuilderd = rebuilders
        .map(|trust| crate::rebuilderd::confirm::for_verify(&folder, &hashed, attestations, trust))
        .transpose()?;
    if let Some(r) = &rebuilderd {
        results.extend(r.links.iter().cloned());
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
        for (principal, (_, statement)) in &counted {
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
        if let Some(theirs) = rebuilderd
            .as_ref()
            .and_then(|r| r.artifacts.iter().find(|a| &a.name == name))
        {
            // One name is one confirmer: an SSH principal called
            // `rebuilderd:<name>` does not make that instance count twice.
            for name in &theirs.agreed {
                if !agreement.agreed.contains(name) {
                    agreement.agreed.push(name.clone());
                }
            }
            agreement.disagreed.extend(theirs.disagreed.iter().cloned());
            agreement.missing.extend(
                theirs
                    .missing
                    .iter()
                    .filter(|name| !agreement.agreed.contains(name))
                    .cloned(),
            );
        }
        agreement.passed = agreement.agreed.len() >= min && agreement.disagreed.is_empty();
        artifacts.push(agreement);
    }
    let passed = !artifacts.is_empty() && artifacts.iter().all(|a| a.passed);
    let mut report = VerifyReport {
        schema_version: VERIFY_SCHEMA_VERSION,
        passed,
        summary: String::new(),
        min,
        attestations_dir: attestations.display().to_string(),
        warnings,
        attestations: results,
        artifacts,
    };
    report.summary = summary(&report, rebuilders.is_some());
    Ok(report)
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

/// "1 trusted rebuilder agrees", "2 trusted rebuilders agree".
fn rebuilders(n: usize, verb: &str) -> String {
    let (noun, verb) = if n == 1 {
        ("rebuilder", format!("{verb}s"))
    } else {
        ("rebuilders", verb.to_owned())
    };
    format!("{n} trusted {noun} {verb}")
}

/// Up to three names, then how many more.
fn some_of(names: &[&str]) -> String {
    let mut shown = names.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 3 {
        shown.push_str(&format!(" and {} more", names.len() - 3));
    }
    shown
}

/// The verdict in words: what passed, or the first reason it did not.
fn summary(report: &VerifyReport, rebuilderd: bool) -> String {
    let min = report.min;
    let artifacts = &report.artifacts;
    if report.passed {
        let least = artifacts.iter().map(|a| a.agreed.len()).min().unwrap_or(0);
        let all_same = artifacts.iter().all(|a| a.agreed.len() == least);
        let count = if all_same {
            rebuilders(least, "agree")
        } else {
            format!("at least {}", rebuilders(least, "agree"))
        };
        let what = match artifacts.len() {
            1 => "the release's 1 artifact".to_owned(),
            n => format!("all {n} artifacts"),
        };
        return format!("PASSED: {count} on {what}, {min} needed");
    }
    if artifacts.is_empty() {
        return "FAILED: the release lists no artifacts, so there is nothing to verify".into();
    }
    // Disagreement first: it is what verify exists to catch. Per principal:
    // the artifacts it attests other hashes for, then those it found BAD.
    let mut disagreeing: BTreeMap<&str, [Vec<&str>; 2]> = BTreeMap::new();
    for a in artifacts {
        for d in &a.disagreed {
            let bad = usize::from(d.sha256 == crate::rebuilderd::confirm::BAD);
            let names = &mut disagreeing.entry(d.principal.as_str()).or_default()[bad];
            if !names.contains(&a.name.as_str()) {
                names.push(a.name.as_str());
            }
        }
    }
    if !disagreeing.is_empty() {
        let who: Vec<String> = disagreeing
            .iter()
            .map(|(principal, [other, bad])| {
                let mut said = Vec::new();
                if !other.is_empty() {
                    said.push(format!("{} sha256 differs", some_of(other)));
                }
                if !bad.is_empty() {
                    said.push(format!("{} rebuilt to other bytes (BAD)", some_of(bad)));
                }
                format!("{principal}: {}", said.join(", "))
            })
            .collect();
        return format!(
            "FAILED: {} with the release ({})",
            rebuilders(disagreeing.len(), "disagree"),
            who.join("; ")
        );
    }
    let dir = &report.attestations_dir;
    if report.attestations.is_empty() {
        let collect = if rebuilderd {
            format!(
                ", and `repro rebuilderd collect` stores rebuilderd instances' links in {dir}/rebuilderd/"
            )
        } else {
            String::new()
        };
        return format!(
            "FAILED: no attestations in {dir}; rebuilders publish them with `repro attest` (<name>{STATEMENT_SUFFIX} with its .sig, and <name>{ENVELOPE_SUFFIX}){collect}: put those published with the release in {dir}"
        );
    }
    if !report
        .attestations
        .iter()
        .any(|a| a.status == AttestationStatus::Counted)
    {
        let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &report.attestations {
            *by_status.entry(a.status.word()).or_default() += 1;
        }
        let why: Vec<String> = by_status
            .iter()
            .map(|(word, n)| format!("{n} {}", word.to_lowercase()))
            .collect();
        let files = match report.attestations.len() {
            1 => "the 1 attestation".to_owned(),
            n => format!("none of the {n} attestations"),
        };
        let verb = if report.attestations.len() == 1 {
            "does not count"
        } else {
            "counts"
        };
        return format!(
            "FAILED: {files} in {dir} {verb} ({}); {min} needed from trusted rebuilders for this release",
            why.join(", ")
        );
    }
    let short: Vec<&ArtifactAgreement> = artifacts.iter().filter(|a| !a.passed).collect();
    let least = short.iter().map(|a| a.agreed.len()).min().unwrap_or(0);
    let which = if short.len() == artifacts.len() && short.iter().all(|a| a.agreed.len() == least) {
        String::new()
    } else {
        let names: Vec<&str> = short
            .iter()
            .filter(|a| a.agreed.len() == least)
            .map(|a| a.name.as_str())
            .collect();
        format!(" on {}", some_of(&names))
    };
    if least == 0 {
        let which = if which.is_empty() {
            " any artifact".to_owned()
        } else {
            which
        };
        return format!("FAILED: no trusted rebuilder attests{which}, {min} needed");
    }
    format!(
        "FAILED: only {}{which}, {min} needed",
        rebuilders(least, "agree")
    )
}
