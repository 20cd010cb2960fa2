use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::Verdict;
use crate::attest::{self, AttestationFormat, AttestationStatus, VerifyReport};
use crate::rebuilderd::confirm::BAD;
use crate::rebuilderd::trust::TrustConfig;
use crate::style::{Style, escape_untrusted};

/// Check that at least N independent, trusted rebuilders got exactly these bytes.
///
/// Hashes the folder's artifacts, reads every attestation in the attestations
/// folder (<name>.intoto.json with its .sig, and <name>.intoto.jsonl DSSE
/// envelopes) and checks each signature against the allowed-signers file
/// (OpenSSH format); with --rebuilders, also every rebuilderd instance's
/// signed in-toto link and BAD verdict under <attestations>/rebuilderd/
/// (`repro rebuilderd collect` stores them there), against the instances'
/// pinned keys. Passes only when at least --min distinct trusted confirmers
/// attest exactly these hashes for every artifact and none disagrees: no
/// trusted signer attests different ones, no trusted instance rebuilt other
/// bytes or reported BAD. SSH principals and rebuilderd instances count
/// together, each instance as `rebuilderd:<name>`, so an instance named like
/// a principal is a confirmer of its own. Untrusted, malformed, mis-signed and
/// other releases' attestations are reported and never counted; a confirmer
/// is counted once however many attestations it signed.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("trust")
        .args(["allowed_signers", "rebuilders"])
        .required(true)
        .multiple(true)
))]
pub struct Args {
    /// The release folder (directly containing manifest.json).
    pub dir: PathBuf,
    /// The folder of attestations.
    #[arg(long)]
    pub attestations: PathBuf,
    /// Trusted SSH keys, in OpenSSH's allowed-signers format; without it the
    /// SSH and DSSE attestations are not read.
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// Trusted rebuilderd instances: the rebuilders TOML file (k, and each
    /// instance's name and pinned key); checks <attestations>/rebuilderd/.
    #[arg(long, value_name = "FILE")]
    pub rebuilders: Option<PathBuf>,
    /// How many distinct trusted confirmers (SSH principals and rebuilderd
    /// instances together) must agree on every artifact; defaults to the
    /// rebuilders file's k, required without --rebuilders.
    #[arg(long, required_unless_present = "rebuilders")]
    pub min: Option<usize>,
    /// Print one JSON document instead of lines (schema: tools/schemas/verify.schema.json).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args, style: &Style, out: &mut dyn Write) -> Result<Verdict> {
    let trust = args
        .rebuilders
        .as_deref()
        .map(TrustConfig::load)
        .transpose()?;
    let min = match (args.min, &trust) {
        (Some(min), _) => min,
        (None, Some(trust)) => trust.k,
        (None, None) => anyhow::bail!("--min is required without --rebuilders"),
    };
    let report = attest::verify(
        &args.dir,
        &args.attestations,
        args.allowed_signers.as_deref(),
        trust.as_ref(),
        min,
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
        // Said as REBUILT DIFFERENT with its binary below.
        if a.format == AttestationFormat::RebuilderdVerdict
            && a.status == AttestationStatus::Counted
        {
            continue;
        }
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
        for d in a.disagreed.iter().filter(|d| d.sha256 == BAD) {
            writeln!(
                out,
                "{} {} rebuilt {} and got other bytes (BAD): {}",
                style.fail("REBUILT DIFFERENT:"),
                e(&d.principal),
                e(&a.name),
                e(&d.file)
            )?;
        }
        for d in a.disagreed.iter().filter(|d| d.sha256 != BAD) {
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
