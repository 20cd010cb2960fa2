//! The updater as the device end of the trust loop: a binary goes in only
//! when k trusted rebuilderd instances signed links for exactly its hash and
//! none disagrees, never backwards without --rollback, and what went in is
//! recorded. Links are signed in the test with keys generated for it, in
//! rebuilderd's own format (tests/common).

use std::fs;
use std::path::Path;

use repro::hashing::sha256_bytes;

#[allow(dead_code)]
mod common;
use common::{
    BIN_PATH, Device, Instance, REV, TRIPLE, installed, listing, record, release, stderr, stdout,
    update,
};

/// Runs the install from `rel`, expects a refusal (exit 1) whose message
/// contains every one of `says`, and checks that nothing changed: the
/// binary, the record and the folder's listing are as before.
fn refused(d: &Path, args: &[&str], says: &[&str]) -> String {
    let before = listing(&d.join("bin"));
    let binary = fs::read(d.join("bin/camhub-reset")).ok();
    let state = fs::read(d.join("bin/camhub-reset.camhub-release.json")).ok();
    let out = update(args, d);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("camhub-update: refused: "), "{err}");
    for s in says {
        assert!(err.contains(s), "{s:?} not in: {err}");
    }
    assert_eq!(stdout(&out), "");
    assert_eq!(listing(&d.join("bin")), before, "{err}");
    assert_eq!(fs::read(d.join("bin/camhub-reset")).ok(), binary);
    assert_eq!(
        fs::read(d.join("bin/camhub-reset.camhub-release.json")).ok(),
        state
    );
    err
}

const INSTALL: [&str; 4] = ["--release", "rel", "--install", "bin/camhub-reset"];

#[test]
fn both_instances_confirming_installs_and_records_what_went_in() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    device.confirmed("rel", b"version 2", "2.1.0");
    let (out, now) = installed(d, "rel");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(now, b"version 2");
    let state = record(d).unwrap();
    assert_eq!(
        state,
        update::state::InstalledRelease {
            schema: "camhub-update-state/1".into(),
            bin: "camhub-reset".into(),
            triple: TRIPLE.into(),
            bin_path: BIN_PATH.into(),
            version: "2.1.0".into(),
            sha256: sha256_bytes(b"version 2"),
            source_rev: REV.into(),
            manifest_sha256: sha256_bytes(&fs::read(d.join("rel/manifest.json")).unwrap()),
            k: 2,
            confirmed_by: vec!["alice".into(), "bob".into()],
        }
    );
    // One line of JSON, as a person or a script on the device reads it.
    let text = fs::read_to_string(d.join("bin/camhub-reset.camhub-release.json")).unwrap();
    assert_eq!(text.lines().count(), 1);
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed["confirmed_by"], serde_json::json!(["alice", "bob"]));
}

#[test]
fn one_instance_of_two_needed_is_refused_and_nothing_changes() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    release(&d.join("rel"), b"version 2", Some("2.0.0"), None, None);
    device.alice.confirm(&d.join("rel"), b"version 2");
    refused(
        d,
        &INSTALL,
        &[&format!(
            "{BIN_PATH} is not confirmed by the trusted rebuilders: 2 needed, 1 confirmed (alice); missing: bob"
        )],
    );
    // With no links at all, both are missing.
    fs::remove_dir_all(d.join("rel/attestations")).unwrap();
    refused(d, &INSTALL, &["2 needed, 0 confirmed; missing: alice, bob"]);
}

#[test]
fn a_bad_verdict_or_a_link_for_other_bytes_is_refused_naming_binary_and_instance() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    release(&d.join("rel"), b"version 2", Some("2.0.0"), None, None);
    device.alice.confirm(&d.join("rel"), b"version 2");
    device.bob.bad(&d.join("rel"), "2.0.0");
    refused(
        d,
        &INSTALL,
        &[
            &format!("{BIN_PATH} is not confirmed"),
            "1 confirmed (alice)",
            "bob: BAD (",
            "bob: BAD (rel/attestations/rebuilderd/bob/aarch64-unknown-linux-gnu/camhub-reset.bad.json)",
        ],
    );
    fs::remove_file(
        device
            .bob
            .folder(&d.join("rel/attestations"))
            .join("camhub-reset.bad.json"),
    )
    .unwrap();
    device
        .bob
        .confirm(&d.join("rel"), b"what bob's rebuild gave");
    refused(
        d,
        &INSTALL,
        &[
            &format!("{BIN_PATH} is not confirmed"),
            &format!(
                "bob rebuilt it and got other bytes (sha256 {}",
                sha256_bytes(b"what bob's rebuild gave")
            ),
        ],
    );
    // k confirmations do not outvote a disagreement.
    fs::write(
        d.join("rebuilders.toml"),
        format!("k = 1\n{}{}", device.alice.trusted(), device.bob.trusted()),
    )
    .unwrap();
    refused(
        d,
        &INSTALL,
        &["1 needed, 1 confirmed (alice); bob rebuilt it and got other bytes"],
    );
}

#[test]
fn links_count_for_the_key_that_signed_them_and_for_this_release_only() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    let rel = d.join("rel");
    release(&rel, b"version 2", Some("2.0.0"), None, None);
    device.alice.confirm(&rel, b"version 2");
    // Signed by an instance the device does not trust, filed as bob's.
    let mallory = Instance::new("mallory");
    let folder = device.bob.folder(&rel.join("attestations"));
    fs::create_dir_all(&folder).unwrap();
    fs::write(
        folder.join("camhub-reset.link"),
        mallory.link(&rel, b"version 2"),
    )
    .unwrap();
    refused(
        d,
        &INSTALL,
        &[
            "1 confirmed (alice); missing: bob; not counted: rel/attestations/rebuilderd/bob/aarch64-unknown-linux-gnu/camhub-reset.link (UNTRUSTED",
        ],
    );
    // bob's own link, but for another release with the same binary (its
    // manifest differs in the version): its material is not this release.
    let other = d.join("other");
    release(&other, b"version 2", Some("1.9.0"), None, None);
    fs::write(
        folder.join("camhub-reset.link"),
        device.bob.link(&other, b"version 2"),
    )
    .unwrap();
    refused(d, &INSTALL, &["1 confirmed (alice); missing: bob"]);
    // bob's link for this release, with its signed content altered.
    let link = String::from_utf8(device.bob.link(&rel, b"version 2")).unwrap();
    let altered = link.replace("rebuild camhub-reset", "rebuild camhub-resex");
    assert_ne!(altered, link);
    fs::write(folder.join("camhub-reset.link"), altered).unwrap();
    refused(d, &INSTALL, &["1 confirmed (alice); missing: bob"]);
    // The genuine link counts, from wherever --attestations says they are.
    fs::write(folder.join("camhub-reset.link"), link).unwrap();
    fs::rename(rel.join("attestations"), d.join("links")).unwrap();
    refused(d, &INSTALL, &["0 confirmed"]);
    let out = update(
        &[
            "--release",
            "rel",
            "--attestations",
            "links",
            "--install",
            "bin/camhub-reset",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read(d.join("bin/camhub-reset")).unwrap(), b"version 2");
}

/// A folder the library does not read (a symlink, too deep) may be where a
/// rebuilder's link is: the refusal names it, not only the rebuilder missing.
#[test]
fn a_refusal_names_the_folders_that_were_not_read() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    let rel = d.join("rel");
    release(&rel, b"version 2", Some("2.0.0"), None, None);
    device.alice.confirm(&rel, b"version 2");
    // bob's genuine link, reached through a symlinked folder.
    let elsewhere = d.join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::write(
        elsewhere.join("camhub-reset.link"),
        device.bob.link(&rel, b"version 2"),
    )
    .unwrap();
    let bob = rel.join("attestations/rebuilderd/bob");
    std::os::unix::fs::symlink(&elsewhere, &bob).unwrap();
    refused(
        d,
        &INSTALL,
        &[
            "2 needed, 1 confirmed (alice); missing: bob; not counted: rel/attestations/rebuilderd/bob (MALFORMED: a symlink, not followed)",
        ],
    );
    // The whole rebuilderd/ folder a symlink: named too.
    fs::remove_file(&bob).unwrap();
    let root = rel.join("attestations/rebuilderd");
    fs::rename(&root, d.join("moved")).unwrap();
    std::os::unix::fs::symlink(d.join("moved"), &root).unwrap();
    refused(
        d,
        &INSTALL,
        &[
            "0 confirmed; missing: alice, bob; not counted: rel/attestations/rebuilderd/ (MALFORMED: not a folder (a symlink is not followed))",
        ],
    );
}

/// A release in Secluso's layout (artifacts/<triple>/.../<bin>) is a valid
/// release folder: judged like any other (the links name the binary by
/// triple and bin), refused while unconfirmed, installed once k confirm it.
#[test]
fn a_release_in_another_layout_is_judged_like_any_other() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    let rel = d.join("rel");
    release(&rel, b"version 2", Some("2.0.0"), None, None);
    let nested = format!("artifacts/{TRIPLE}/bundle/camhub-reset");
    fs::create_dir_all(rel.join(format!("artifacts/{TRIPLE}/bundle"))).unwrap();
    fs::rename(rel.join(BIN_PATH), rel.join(&nested)).unwrap();
    for file in ["manifest.json", "SHA256SUMS"] {
        let text = fs::read_to_string(rel.join(file)).unwrap();
        assert!(text.contains(BIN_PATH));
        fs::write(rel.join(file), text.replace(BIN_PATH, &nested)).unwrap();
    }
    refused(
        d,
        &INSTALL,
        &[&format!(
            "refused: {TRIPLE}/camhub-reset is not confirmed by the trusted rebuilders: 2 needed, 0 confirmed; missing: alice, bob"
        )],
    );
    device.alice.confirm(&rel, b"version 2");
    device.bob.confirm(&rel, b"version 2");
    let (out, now) = installed(d, "rel");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(now, b"version 2");
    assert_eq!(record(d).unwrap().bin_path, nested);
}

#[test]
fn an_older_release_is_refused_unless_rollback_with_release() {
    let device = Device::new();
    let d = device.path();
    device.confirmed("rel-1", b"version 1", "1.0.0");
    device.confirmed("rel-2", b"version 2", "1.10.0");
    device.confirmed("rel-2b", b"version 2 rebuilt", "1.10.0");
    let (out, now) = installed(d, "rel-2");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(now, b"version 2");
    // First install: nothing was there to keep.
    assert_eq!(
        listing(&d.join("bin")),
        ["camhub-reset", "camhub-reset.camhub-release.json"]
    );

    let back = ["--release", "rel-1", "--install", "bin/camhub-reset"];
    refused(
        d,
        &back,
        &[
            "the release is camhub-reset 1.0.0, older than 1.10.0 recorded as installed in bin/camhub-reset.camhub-release.json; going backwards needs --rollback",
        ],
    );
    // The same version with other bytes is not an update either.
    refused(
        d,
        &["--release", "rel-2b", "--install", "bin/camhub-reset"],
        &[
            "the release is camhub-reset 1.10.0, the version recorded as installed",
            "other bytes",
        ],
    );

    let out = update(
        &[
            "--rollback",
            "--release",
            "rel-1",
            "--install",
            "bin/camhub-reset",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("installed camhub-reset 1.0.0 ")
            && stdout(&out)
                .contains("it is older than 1.10.0 installed before: allowed by --rollback"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fs::read(d.join("bin/camhub-reset")).unwrap(), b"version 1");
    assert_eq!(record(d).unwrap().version, "1.0.0");
    assert_eq!(record(d).unwrap().sha256, sha256_bytes(b"version 1"));

    // --rollback does not skip a single check.
    fs::remove_dir_all(d.join("rel-2/attestations/rebuilderd/bob")).unwrap();
    refused(
        d,
        &[
            "--rollback",
            "--release",
            "rel-2",
            "--install",
            "bin/camhub-reset",
        ],
        &["2 needed, 1 confirmed (alice); missing: bob"],
    );
    // Forward again, and the same release again is already current.
    let (out, now) = installed(d, "rel-2b");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(now, b"version 2 rebuilt");
    let (out, _) = installed(d, "rel-2b");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "bin/camhub-reset is already camhub-reset 1.10.0 {}\n",
            sha256_bytes(b"version 2 rebuilt")
        )
    );
}

#[test]
fn a_release_without_a_version_is_refused_with_the_fix() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    release(&d.join("rel"), b"version 2", None, None, None);
    refused(
        d,
        &INSTALL,
        &[
            "manifest.json has no build.version, so there is nothing to compare with the installed release",
            "repro manifest --release-version",
        ],
    );
    release(&d.join("rel"), b"version 2", Some("two"), None, None);
    refused(d, &INSTALL, &["build.version `two` is not semver"]);
    // A version but no source revision: nobody can have rebuilt it.
    release(&d.join("rel"), b"version 2", Some("2.0.0"), None, None);
    let path = d.join("rel/manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    manifest["build"]
        .as_object_mut()
        .unwrap()
        .remove("source_rev")
        .unwrap();
    fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    refused(
        d,
        &INSTALL,
        &[
            "no source revision (build.source_rev)",
            "commit, then build the release again",
        ],
    );
}

#[test]
fn a_missing_or_invalid_rebuilders_file_is_unusable_input() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    device.confirmed("rel", b"version 2", "2.0.0");
    for (file, content, says) in [
        (
            "absent.toml",
            None,
            "--rebuilders: absent.toml: no such rebuilders file; write one naming the rebuilderd instances you trust",
        ),
        (
            "zero.toml",
            Some(format!("k = 0\n{}", device.alice.trusted())),
            "--rebuilders: zero.toml: k = 0: zero rebuilders prove nothing",
        ),
        (
            "garbage.toml",
            Some("[[rebuilder]\n".to_owned()),
            "--rebuilders: garbage.toml: not a rebuilders file",
        ),
    ] {
        if let Some(content) = content {
            fs::write(d.join(file), content).unwrap();
        }
        let mut args = INSTALL.to_vec();
        args.extend(["--rebuilders", file]);
        let out = update(&args, d);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{says}: {}", stderr(&out));
        assert_eq!(fs::read(d.join("bin/camhub-reset")).unwrap(), b"version 1");
        assert_eq!(listing(&d.join("bin")), ["camhub-reset"]);
    }
    // Without --rebuilders the device's own file is read (absent here).
    if !Path::new("/etc/camhub/rebuilders.toml").exists() {
        let out = std::process::Command::new(common::EXE)
            .args(INSTALL)
            .args(["--triple", TRIPLE])
            .current_dir(d)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out)
                .contains("--rebuilders: /etc/camhub/rebuilders.toml: no such rebuilders file"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_damaged_record_stops_the_update_naming_the_file() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    fs::write(
        d.join("bin/camhub-reset.camhub-release.json"),
        b"{\"schema\":",
    )
    .unwrap();
    device.confirmed("rel", b"version 2", "2.0.0");
    let out = update(&INSTALL, d);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("bin/camhub-reset.camhub-release.json: not a camhub-update-state/1 record"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(d.join("bin/camhub-reset")).unwrap(), b"version 1");
    assert_eq!(
        listing(&d.join("bin")),
        ["camhub-reset", "camhub-reset.camhub-release.json"]
    );
}

/// What a kill between writing the record and renaming the binary leaves:
/// the old binary under the new release's record. The record is the floor,
/// so the old release is refused and the new one goes in again.
#[test]
fn a_record_ahead_of_the_binary_refuses_going_back_and_takes_the_recorded_release() {
    let device = Device::new();
    let d = device.path();
    device.confirmed("rel-1", b"version 1", "1.0.0");
    device.confirmed("rel-2", b"version 2", "2.0.0");
    let (out, _) = installed(d, "rel-1");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut ahead = record(d).unwrap();
    ahead.version = "2.0.0".into();
    ahead.sha256 = sha256_bytes(b"version 2");
    fs::write(
        d.join("bin/camhub-reset.camhub-release.json"),
        ahead.to_bytes(),
    )
    .unwrap();
    refused(
        d,
        &["--release", "rel-1", "--install", "bin/camhub-reset"],
        &["older than 2.0.0"],
    );
    let (out, now) = installed(d, "rel-2");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(now, b"version 2");
    assert_eq!(record(d).unwrap().sha256, sha256_bytes(b"version 2"));
}
