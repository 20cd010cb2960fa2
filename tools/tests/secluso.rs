//! Side by side with Secluso's own `compare_runs` (releases/lib/compare.bash):
//! on the same fixtures, the same verdict, and Secluso's key and DIFF lines
//! found verbatim in ours. Secluso's script is not part of this repository:
//! point SECLUSO_RELEASES_LIB at a checkout's `releases/lib` (it needs bash,
//! jq and sha256sum).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Secluso's releases/lib, or why this test cannot run here.
fn secluso_lib() -> Result<PathBuf, String> {
    let lib = std::env::var_os("SECLUSO_RELEASES_LIB").ok_or(
        "SECLUSO_RELEASES_LIB is not set (a Secluso checkout's releases/lib, holding compare.bash and common.bash)",
    )?;
    let lib = PathBuf::from(lib);
    if !lib.join("compare.bash").is_file() {
        return Err(format!("{}/compare.bash is missing", lib.display()));
    }
    for tool in ["bash", "jq", "sha256sum"] {
        let found = Command::new(tool).arg("--version").output().is_ok();
        if !found {
            return Err(format!("{tool} is not installed"));
        }
    }
    Ok(lib)
}

fn secluso(lib: &Path, dir: &Path, a: &str, b: &str) -> Run {
    run(Command::new("bash")
        .arg("-c")
        .arg(r#". "$0/common.bash" && . "$0/compare.bash" && init_sha256_tool && compare_runs "$1" "$2""#)
        .arg(lib)
        .args([a, b])
        .current_dir(dir))
}

/// An artifact in Secluso's layout with its hash recorded, as its pipeline writes it.
fn newer(a: Art) -> Art {
    a.with(|a| {
        a.bin_path = format!("artifacts/{}/{}", a.target, a.bin);
        a.sha256 = a.content.as_deref().map(sha256_hex);
    })
}

fn appimage(content: &[u8]) -> Art {
    let name = "Secluso_0.1.0_amd64.AppImage";
    art("deploy_linux", X86, name, content).with(|a| {
        a.bin_path = format!("artifacts/{X86}/bundle/appimage/{name}");
        a.sha256 = Some(sha256_hex(content));
    })
}

#[test]
fn repro_and_secluso_compare_runs_agree_on_the_same_folders() {
    let lib = match secluso_lib() {
        Ok(lib) => lib,
        Err(why) => {
            println!("SKIPPED: {why}");
            return;
        }
    };
    let full: Vec<Art> = release().into_iter().map(newer).collect();
    let patched = {
        let mut b = full.clone();
        b[2] = newer(art("server", X86, "camhub-server", b"server x86, patched"));
        b
    };
    let renamed = {
        let mut b = full.clone();
        b[0] = b[0].clone().with(|a| {
            a.crate_name = "camera_hub".into();
            a.version = "0.2.0".into();
        });
        b
    };
    let other_keys = vec![
        full[0].clone(),
        newer(art("config_tool", X86, "camhub-config", b"c")),
    ];
    let no_hash = {
        let mut b = full.clone();
        b[1].sha256 = None;
        b
    };
    let cases: Vec<(&str, Vec<Art>, Vec<Art>, bool)> = vec![
        ("identical", full.clone(), full.clone(), true),
        ("a subset", full[1..2].to_vec(), full.clone(), true),
        (
            "deploy layout",
            vec![appimage(b"app")],
            vec![appimage(b"app")],
            true,
        ),
        (
            "deploy layout, other bytes",
            vec![appimage(b"app")],
            vec![appimage(b"app 2")],
            false,
        ),
        ("a differing binary", full.clone(), patched, false),
        ("crate and version differ", full.clone(), renamed, false),
        ("not a superset", other_keys, full[..2].to_vec(), false),
        ("no recorded hash", full.clone(), no_hash, false),
    ];
    for (what, a, b, passes) in cases {
        let (_guard, tmp) = tmp();
        build_folder(&tmp.join("run1"), &a);
        build_folder(&tmp.join("run2"), &b);
        let theirs = secluso(&lib, &tmp, "run1", "run2");
        let ours = run(repro().args(["compare", "run1", "run2"]).current_dir(&tmp));
        let expected = if passes { 0 } else { 1 };
        assert_eq!(
            theirs.code, expected,
            "{what}: Secluso\n{}{}",
            theirs.stdout, theirs.stderr
        );
        assert_eq!(
            ours.code, expected,
            "{what}: repro\n{}{}",
            ours.stdout, ours.stderr
        );
        let verdict = |out: &str| out.lines().last().unwrap_or_default().to_owned();
        let (their_verdict, our_verdict) = (verdict(&theirs.stdout), verdict(&ours.stdout));
        if their_verdict.starts_with("Reproducibility check") {
            assert!(
                our_verdict.starts_with(&their_verdict),
                "{what}: Secluso says {their_verdict:?}, repro {our_verdict:?}"
            );
        }
        // What a Secluso user greps for: OK lines, one-line crate/version
        // DIFFs, the DIFF headline, and listed keys, all verbatim.
        for line in theirs.stdout.lines() {
            let same = line.starts_with("OK   : ")
                || line.starts_with("  - ")
                || (line.starts_with("DIFF: ") && line.contains(" vs "));
            let headline = line
                .strip_prefix("DIFF: binary hash mismatch for ")
                .map(|key| format!("DIFF: binary hash mismatch for {key}:"));
            if same {
                assert!(
                    ours.stdout.contains(&format!("{line}\n")),
                    "{what}: {line:?} not in\n{}",
                    ours.stdout
                );
            }
            if let Some(headline) = headline {
                assert!(
                    ours.stdout.contains(&headline),
                    "{what}: {headline:?} not in\n{}",
                    ours.stdout
                );
            }
        }
    }
}
