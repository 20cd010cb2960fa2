//! STAND-IN for branch i15-verify's `check_release`, with the spec's exact
//! signature, so that camhub-update can be written and tested before that
//! branch lands. Removed again before i15-verify is merged.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::Value;

use crate::attest::{ArtifactAgreement, AttestationResult, Disagreement};
use crate::hashing::{read_regular, sha256_bytes, sha256_file};
use crate::manifest::Manifest;
use crate::rebuilderd::trust::TrustConfig;
use crate::rebuilderd::{ATTESTATIONS_SUBDIR, BAD_SUFFIX, LINK_SUFFIX, input};

pub struct RebuilderdReport {
    pub links: Vec<AttestationResult>,
    pub artifacts: Vec<ArtifactAgreement>,
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<_, _> = m.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(&Value::String(k.clone()), out);
                out.push(':');
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        Value::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn hex(bytes: &[u8]) -> Option<Vec<u8>> {
    (0..bytes.len() / 2)
        .map(|i| u8::from_str_radix(std::str::from_utf8(&bytes[2 * i..2 * i + 2]).ok()?, 16).ok())
        .collect()
}

/// (instance, material sha256, product name, product sha256) of a link signed by a trusted key.
fn read_link(bytes: &[u8], trust: &TrustConfig) -> Option<(String, String, String, String)> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let signed = v.get("signed")?;
    let mut text = String::new();
    canonical(signed, &mut text);
    let instance = v.get("signatures")?.as_array()?.iter().find_map(|s| {
        let sig = hex(s.get("sig")?.as_str()?.as_bytes())?;
        let sig = Signature::from_slice(&sig).ok()?;
        trust.rebuilders.iter().find(|r| {
            VerifyingKey::from_bytes(&r.key_bytes())
                .is_ok_and(|k| k.verify(text.as_bytes(), &sig).is_ok())
        })
    })?;
    if signed.get("_type")?.as_str()? != "link" {
        return None;
    }
    let one = |field: &str| -> Option<(String, String)> {
        let map = signed.get(field)?.as_object()?;
        if map.len() != 1 {
            return None;
        }
        let (name, hashes) = map.iter().next()?;
        Some((name.clone(), hashes.get("sha256")?.as_str()?.to_owned()))
    };
    let (_, material) = one("materials")?;
    let (product, sha) = one("products")?;
    Some((instance.name.clone(), material, product, sha))
}

pub fn check_release(
    release: &Path,
    attestations: &Path,
    trust: &TrustConfig,
    only: Option<(&str, &str)>,
) -> Result<RebuilderdReport> {
    let manifest_bytes = read_regular(&release.join("manifest.json"), 1 << 28)
        .map_err(|e| anyhow::anyhow!("manifest.json: {e}"))?;
    let manifest = Manifest::parse(&manifest_bytes)?;
    let mut artifacts = Vec::new();
    for a in &manifest.artifacts {
        if only.is_some_and(|(t, b)| (t, b) != (a.target.as_str(), a.bin.as_str())) {
            continue;
        }
        let material = sha256_bytes(&input::render(&manifest_bytes, &a.target)?);
        let sha = sha256_file(&release.join(&a.bin_path))
            .map_err(|e| anyhow::anyhow!("{}: {e}", a.bin_path))?;
        let mut agreed = Vec::new();
        let mut disagreed = Vec::new();
        for r in &trust.rebuilders {
            let dir = attestations
                .join(ATTESTATIONS_SUBDIR)
                .join(&r.name)
                .join(&a.target);
            let link = dir.join(format!("{}{LINK_SUFFIX}", a.bin));
            if let Ok(bytes) = read_regular(&link, 1 << 20)
                && let Some((who, m, p, s)) = read_link(&bytes, trust)
                && m == material
                && p == a.bin
            {
                if s == sha {
                    agreed.push(who);
                } else {
                    disagreed.push(Disagreement {
                        principal: who,
                        sha256: s,
                        file: link.display().to_string(),
                    });
                }
            }
            let bad = dir.join(format!("{}{BAD_SUFFIX}", a.bin));
            if let Ok(bytes) = read_regular(&bad, 1 << 20) {
                let v: Value = serde_json::from_slice(&bytes).context("bad.json")?;
                if v["instance"] == r.name.as_str() && v["status"] == "BAD" {
                    disagreed.push(Disagreement {
                        principal: r.name.clone(),
                        sha256: "BAD".into(),
                        file: bad.display().to_string(),
                    });
                }
            }
        }
        let missing = trust
            .rebuilders
            .iter()
            .map(|r| r.name.clone())
            .filter(|n| !agreed.contains(n) && !disagreed.iter().any(|d| &d.principal == n))
            .collect();
        artifacts.push(ArtifactAgreement {
            name: a.bin_path.clone(),
            sha256: sha,
            passed: agreed.len() >= trust.k && disagreed.is_empty(),
            agreed,
            disagreed,
            missing,
        });
    }
    Ok(RebuilderdReport {
        links: Vec::new(),
        artifacts,
    })
}
