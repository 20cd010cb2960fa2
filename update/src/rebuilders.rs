//! What the rebuilders said about one binary, as the device acts on it: the
//! verdict comes from the verify library (`repro::rebuilderd::confirm`, the
//! code `repro verify` runs); this module only turns a failed one into the
//! refusal people read.

use std::path::Path;

use repro::attest::{ArtifactAgreement, AttestationResult, AttestationStatus};
use repro::rebuilderd::{BAD_SUFFIX, LINK_SUFFIX};

/// At most this many uncounted link files are named in a refusal.
const SHOWN_UNCOUNTED: usize = 4;

/// Why `agreement` does not let the binary in, or `None` when it does.
/// `links` are the library's per-file results, for naming files that were
/// present but did not count; their paths are under `attestations`.
pub fn why_not(
    agreement: &ArtifactAgreement,
    links: &[AttestationResult],
    attestations: &Path,
    k: usize,
) -> Option<String> {
    let file = |rel: &str| attestations.join(rel).display().to_string();
    if agreement.passed {
        return None;
    }
    let confirmed = if agreement.agreed.is_empty() {
        String::new()
    } else {
        format!(" ({})", agreement.agreed.join(", "))
    };
    let mut parts = vec![format!(
        "{k} needed, {} confirmed{confirmed}",
        agreement.agreed.len()
    )];
    if !agreement.missing.is_empty() {
        parts.push(format!("missing: {}", agreement.missing.join(", ")));
    }
    for d in &agreement.disagreed {
        parts.push(if d.sha256 == "BAD" {
            format!("{}: BAD ({})", d.principal, file(&d.file))
        } else {
            format!(
                "{} rebuilt it and got other bytes (sha256 {}, {})",
                d.principal,
                d.sha256,
                file(&d.file)
            )
        });
    }
    // Files that look like this binary's but did not count: the usual
    // reason a rebuilder is "missing" (a link for another release, a key
    // that is not the pinned one). And what was not read as a link at all
    // (a symlinked or too deep folder), which may hold this binary's.
    let (_, bin) = agreement
        .name
        .rsplit_once('/')
        .unwrap_or(("", &agreement.name));
    let uncounted: Vec<String> = links
        .iter()
        .filter(|l| {
            let this_bin = [LINK_SUFFIX, BAD_SUFFIX]
                .iter()
                .any(|suffix| l.file.ends_with(&format!("/{bin}{suffix}")));
            let unread = l.status == AttestationStatus::Malformed
                && ![LINK_SUFFIX, BAD_SUFFIX]
                    .iter()
                    .any(|suffix| l.file.ends_with(suffix));
            !matches!(
                l.status,
                AttestationStatus::Counted | AttestationStatus::Duplicate
            ) && (this_bin || unread)
        })
        .map(|l| format!("{} ({}: {})", file(&l.file), l.status.word(), l.detail))
        .collect();
    if !uncounted.is_empty() {
        let more = uncounted.len().saturating_sub(SHOWN_UNCOUNTED);
        let mut shown = uncounted[..uncounted.len().min(SHOWN_UNCOUNTED)].join(", ");
        if more > 0 {
            shown.push_str(&format!(" and {more} more"));
        }
        parts.push(format!("not counted: {shown}"));
    }
    Some(format!(
        "{} is not confirmed by the trusted rebuilders: {}",
        agreement.name,
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use repro::attest::Disagreement;

    fn agreement(
        agreed: &[&str],
        missing: &[&str],
        disagreed: &[(&str, &str)],
    ) -> ArtifactAgreement {
        ArtifactAgreement {
            name: "x86_64-unknown-linux-gnu/camhub-ip".into(),
            sha256: "ab".repeat(32),
            agreed: agreed.iter().map(|s| s.to_string()).collect(),
            disagreed: disagreed
                .iter()
                .map(|(who, sha)| Disagreement {
                    principal: who.to_string(),
                    sha256: sha.to_string(),
                    file: format!("rebuilderd/{who}/x86_64-unknown-linux-gnu/camhub-ip.link"),
                })
                .collect(),
            missing: missing.iter().map(|s| s.to_string()).collect(),
            passed: false,
        }
    }

    #[test]
    fn says_how_many_who_and_how() {
        let too_few = why_not(
            &agreement(&["alice"], &["bob"], &[]),
            &[],
            Path::new("a"),
            2,
        )
        .unwrap();
        assert_eq!(
            too_few,
            "x86_64-unknown-linux-gnu/camhub-ip is not confirmed by the trusted rebuilders: 2 needed, 1 confirmed (alice); missing: bob"
        );
        let other = why_not(
            &agreement(&["alice"], &[], &[("bob", "cd")]),
            &[],
            Path::new("a"),
            2,
        )
        .unwrap();
        assert!(
            other.ends_with("2 needed, 1 confirmed (alice); bob rebuilt it and got other bytes (sha256 cd, a/rebuilderd/bob/x86_64-unknown-linux-gnu/camhub-ip.link)"),
            "{other}"
        );
        let bad = why_not(
            &agreement(&[], &["alice"], &[("bob", "BAD")]),
            &[],
            Path::new("a"),
            1,
        )
        .unwrap();
        assert!(
            bad.ends_with("1 needed, 0 confirmed; missing: alice; bob: BAD (a/rebuilderd/bob/x86_64-unknown-linux-gnu/camhub-ip.link)"),
            "{bad}"
        );
        let mut passed = agreement(&["alice", "bob"], &[], &[]);
        passed.passed = true;
        assert_eq!(why_not(&passed, &[], Path::new("a"), 2), None);
    }
}
