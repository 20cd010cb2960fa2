use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::Verdict;
use crate::attest;
use crate::style::Style;

/// Check that at least N independent, trusted rebuilders got exactly these bytes.
///
/// Hashes the folder's artifacts, reads every <name>.intoto.json (with its
/// .sig) in the attestations folder, checks each signature against the
/// allowed-signers file (OpenSSH format), and passes only when at least --min
/// distinct trusted signers attest exactly these hashes for every artifact and
/// no trusted signer attests different ones. Untrusted, malformed, mis-signed
/// and other releases' attestations are reported and never counted; a signer
/// is counted once however many attestations it signed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The release folder (directly containing manifest.json).
    pub dir: PathBuf,
    /// The folder of attestations.
    #[arg(long)]
    pub attestations: PathBuf,
    /// Trusted keys, in OpenSSH's allowed-signers format.
    #[arg(long)]
    pub allowed_signers: PathBuf,
    /// How many distinct trusted signers must agree on every artifact.
    #[arg(long)]
    pub min: usize,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args, style: &Style, out: &mut dyn Write) -> Result<Verdict> {
    let report = attest::verify(
        &args.dir,
        &args.attestations,
        &args.allowed_signers,
        args.min,
    )?;
    let written = if args.json {
        super::write_json(out, &report)
    } else {
        attest::render(&report, style, out)
    };
    super::tolerate_broken_pipe(written)?;
    Ok(Verdict::from_passed(report.passed))
}
