//! The human rendering of a compare [`Report`]: Secluso's line formats (so
//! its users can grep ours the same way), plus the reasons and counts.

use std::io::{self, Write};

use super::{Report, Status};
use crate::style::{Style, counted, escape_untrusted};

/// The human rendering: Secluso's line formats, plus the reasons.
pub fn render(report: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    let e = escape_untrusted;
    // The sides are named as the user passed them.
    let (a, b) = (e(&report.a.dir), e(&report.b.dir));
    writeln!(out, "A: {a} ({})", counted(report.a.artifacts, "artifact"))?;
    writeln!(out, "B: {b} ({})", counted(report.b.artifacts, "artifact"))?;
    let (smaller, larger) = if report.smaller == "A" {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if !report.missing.is_empty() {
        writeln!(
            out,
            "{} {larger} does not contain all artifacts of {smaller}:",
            style.fail("FAIL:"),
        )?;
        for key in &report.missing {
            writeln!(out, "  - {}", e(key))?;
        }
    }
    if report.results.is_empty() {
        writeln!(
            out,
            "{} nothing to compare: no artifact is in both manifests",
            style.fail("FAIL:")
        )?;
    }
    for r in &report.results {
        match r.status {
            Status::Ok => writeln!(
                out,
                "{} {} (crate={} v{}, sha={})",
                style.ok("OK   :"),
                e(&r.key),
                e(&r.crate_name),
                e(&r.version),
                e(r.a_sha256.as_deref().unwrap_or_default())
            )?,
            Status::Diff => {
                for d in &r.diffs {
                    // Secluso prints these on one line: `DIFF: crate mismatch for KEY: X vs Y`.
                    if matches!(d.field.as_str(), "crate" | "version") {
                        writeln!(
                            out,
                            "{} {} mismatch for {}: {} vs {}",
                            style.diff("DIFF:"),
                            d.field,
                            e(&r.key),
                            e(&d.a),
                            e(&d.b)
                        )?;
                        continue;
                    }
                    let what = match d.field.as_str() {
                        "sha256" => "binary hash",
                        "crate_lock_sha256" => "Cargo.lock SHA",
                        "rust_digest" => "toolchain digest",
                        "build_mode" => "build mode",
                        "source_rev" => "source revision",
                        other => other,
                    };
                    writeln!(
                        out,
                        "{} {} mismatch for {}:",
                        style.diff("DIFF:"),
                        e(what),
                        e(&r.key)
                    )?;
                    writeln!(out, "  A: {}", e(&d.a))?;
                    writeln!(out, "  B: {}", e(&d.b))?;
                }
                if r.diffs.iter().any(|d| d.field != "sha256") {
                    writeln!(out, "  (binaries not compared: their build inputs differ)")?;
                }
            }
            Status::Fail => {
                writeln!(out, "{} cannot check {}:", style.fail("FAIL:"), e(&r.key))?;
                for f in &r.failures {
                    writeln!(out, "  {}", e(f))?;
                }
            }
        }
    }
    if !report.extras.is_empty() {
        writeln!(
            out,
            "{} Extra artifacts present only in {larger}:",
            style.info("INFO :")
        )?;
        for key in &report.extras {
            writeln!(out, "  - {}", e(key))?;
        }
    }
    for (side, summary) in [(&a, &report.a), (&b, &report.b)] {
        if !summary.undescribed_files.is_empty() {
            writeln!(
                out,
                "{} files in {side} that its manifest does not describe (not checked):",
                style.info("INFO :")
            )?;
            for file in &summary.undescribed_files {
                writeln!(out, "  - {}", e(file))?;
            }
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} OK, {} DIFF, {} FAIL, {} missing, {} extra",
        report.count(Status::Ok),
        report.count(Status::Diff),
        report.count(Status::Fail),
        report.missing.len(),
        report.extras.len()
    )?;
    if report.passed {
        writeln!(
            out,
            "{}",
            style.ok(&format!(
                "Reproducibility check PASSED: {}",
                checked(report)
            ))
        )
    } else {
        writeln!(out, "{}", style.fail("Reproducibility check FAILED"))
    }
}

/// How much of each side a pass rests on: the superset rule lets one side
/// hold artifacts the other lacks, and a verdict must not hide that.
fn checked(report: &Report) -> String {
    let e = escape_untrusted;
    let side = |s: &super::SideSummary| {
        format!(
            "{} of {} of {}",
            s.compared,
            counted(s.artifacts, "artifact"),
            e(&s.dir)
        )
    };
    let mut line = format!(
        "{} and {} checked, all identical",
        side(&report.a),
        side(&report.b)
    );
    for s in [&report.a, &report.b] {
        if s.not_compared > 0 {
            line.push_str(&format!(
                "; {} only in {}, not checked",
                s.not_compared,
                e(&s.dir)
            ));
        }
    }
    line
}
