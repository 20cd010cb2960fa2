use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::Verdict;
use crate::attest::{self, NAMESPACE};

/// Sign what you rebuilt: an in-toto statement of every artifact's SHA-256.
///
/// Writes <out>/<name>.intoto.json (an in-toto Statement v1: subjects
/// <triple>/<bin> with their sha256, hashed now; the manifest's build fields,
/// toolchain digest and build modes), <out>/<name>.intoto.json.sig, an SSH
/// signature (SSHSIG, ed25519, namespace camhub-rebuild-attestation) that
/// `ssh-keygen -Y verify` checks as well as `repro verify`, and
/// <out>/<name>.intoto.jsonl, the same statement in a DSSE envelope signed by
/// the same key, which in-toto's tools check.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The build folder you rebuilt (directly containing manifest.json).
    pub dir: PathBuf,
    /// Your ed25519 OpenSSH private key (not the .pub), without a passphrase.
    #[arg(long)]
    pub key: PathBuf,
    /// Your name as a builder; it names the files.
    #[arg(long)]
    pub name: String,
    /// The folder to write the attestation to.
    #[arg(long, default_value = "attestations")]
    pub out: PathBuf,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let w = attest::attest(&args.dir, &args.key, &args.name, &args.out)?;
    let written = writeln!(out, "wrote {}", w.statement.display())
        .and_then(|()| writeln!(out, "wrote {}", w.signature.display()))
        .and_then(|()| writeln!(out, "wrote {}", w.envelope.display()))
        .and_then(|()| {
            writeln!(
                out,
                "signed with {} (DSSE keyid {}); anyone can check it with:\n  ssh-keygen -Y verify -f allowed_signers -I <your principal> -n {NAMESPACE} -s {} < {}",
                w.key.fingerprint(ssh_key::HashAlg::Sha256),
                w.keyid,
                w.signature.display(),
                w.statement.display()
            )
        });
    super::tolerate_broken_pipe(written)?;
    Ok(Verdict::Passed)
}
