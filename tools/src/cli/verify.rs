use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::Verdict;
use crate::attest::{self, AttestationStatus, VerifyReport};
use crate::style::{Style, escape_untrusted};

/// Check that at least N independent, trusted rebuilders got exactly these bytes.
///
/// Hashes the folder's artifacts, reads every attestation in the attestations
/// folder (<name>.intoto.json with its .sig, and <name>.intoto.jsonl DSSE
/// envelopes), checks each signature against the allowed-signers file
/// (OpenSSH format), and passes only when at least --min distinct trusted
/// signers attest exactly these hashes for every artifact and no trusted
/// signer attests different ones. Untrusted, malformed, mis-signed and other
/// releases' attestations are reported and never counted; a signer is counted
/// once however many attestations it signed.
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
    /// Print one JSON document instead of lines (schema: tools/schemas/verify.schema.json).
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
        render(&report, style, out)
    };
    super::tolerate_broken_pipe(written)?;
    Ok(Verdict::from_passed(report.passed))
}

/// "alice", "alice, bob".
fn names(list: &[String]) -> String {
    escape_untrusted(&list.join(", "))
}

/// The human rendering: one line per attestation file and per artifact, each
/// starting with a word README explains, then the verdict in words.
pub fn render(report: &VerifyReport, style: &Style, out: &mut dyn Write) -> std::io::Result<()> {
    let e = escape_untrusted;
    for w in &report.warnings {
        writeln!(out, "{} {}", style.info("WARNING:"), e(w))?;
    }
    for a in &report.attestations {
        let who = a
            .principal
            .as_deref()
            .map(|p| format!(" ({})", e(p)))
            .unwrap_or_default();
        let word = format!("{}:", a.status.word());
        let (word, counted) = match a.status {
            AttestationStatus::Counted => (style.ok(&word), ""),
            AttestationStatus::Duplicate => (style.info(&word), ""),
            AttestationStatus::OtherRelease => (style.info(&word), "not counted: "),
            _ => (style.fail(&word), "not counted: "),
        };
        writeln!(out, "{word} {}{who}: {counted}{}", e(&a.file), e(&a.detail))?;
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
        let agreed = match a.agreed.len() {
            0 => "no trusted rebuilder agrees".to_owned(),
            1 => format!("1 trusted rebuilder agrees ({})", names(&a.agreed)),
            n => format!("{n} trusted rebuilders agree ({})", names(&a.agreed)),
        };
        let mut disagreeing: Vec<String> =
            a.disagreed.iter().map(|d| d.principal.clone()).collect();
        disagreeing.sort();
        disagreeing.dedup();
        let disputed = match disagreeing.len() {
            0 => String::new(),
            n => format!(
                ", {n} disagree{} ({})",
                if n == 1 { "s" } else { "" },
                names(&disagreeing)
            ),
        };
        let missing = if a.missing.is_empty() {
            String::new()
        } else {
            format!("; not attested by {}", names(&a.missing))
        };
        let tag = if a.passed {
            style.ok("AGREED:")
        } else if a.disagreed.is_empty() {
            style.fail("TOO FEW:")
        } else {
            style.fail("DISPUTED:")
        };
        writeln!(
            out,
            "{tag} {} sha256 {}: {agreed}{disputed}, {} needed{missing}",
            e(&a.name),
            a.sha256,
            report.min
        )?;
    }
    writeln!(out)?;
    let summary = e(&report.summary);
    if report.passed {
        writeln!(out, "{}", style.ok(&summary))
    } else {
        writeln!(out, "{}", style.fail(&summary))
    }
}
