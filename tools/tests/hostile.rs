//! Unusable and hostile input: each case exits 2 with a message that names the
//! file and the fix, and none can produce PASSED.

mod common;

use std::fs;
use std::path::Path;

use common::*;

fn expect_unusable(tmp: &Path, a: &str, b: &str, says: &str) {
    let r = run(repro().arg("compare").arg(tmp.join(a)).arg(tmp.join(b)));
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("PASSED"));
    let stderr = normalise(&r.stderr, tmp);
    assert!(stderr.starts_with("repro: "), "{stderr}");
    assert!(stderr.contains(says), "expected {says:?} in {stderr:?}");
}

fn with_manifest(tmp: &Path, side: &str, text: &str) {
    build_folder(&tmp.join(side), &release());
    fs::write(tmp.join(side).join("manifest.json"), text).unwrap();
}

#[test]
fn no_such_folder_and_no_manifest_say_what_to_pass() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    expect_unusable(
        &tmp,
        "a",
        "nope",
        "<tmp>/nope: no such build folder; pass the folder that directly contains manifest.json",
    );
    fs::create_dir_all(tmp.join("parent/run1")).unwrap();
    expect_unusable(
        &tmp,
        "a",
        "parent",
        "<tmp>/parent: no manifest.json here; pass the folder that directly contains manifest.json",
    );
    fs::write(tmp.join("file"), b"").unwrap();
    expect_unusable(&tmp, "a", "file", "<tmp>/file: not a folder");
}

#[test]
fn invalid_json_is_reported_with_line_and_column() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    with_manifest(&tmp, "b", "{\n  \"build\": {\n    \"target\": \"all\",,\n");
    expect_unusable(
        &tmp,
        "a",
        "b",
        "<tmp>/b/manifest.json: invalid JSON: key must be a string at line 3 column 21",
    );
}

#[test]
fn a_missing_field_is_named() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    with_manifest(
        &tmp,
        "b",
        r#"{"build":{"target":"all","profile":"release","run_id":"1","timestamp":"t"},"artifacts":[{"package":"server","target":"x","bin":"b","bin_path":"x/b","version":"1","crate_lock_sha256":"l","rust_digest":"d"}]}"#,
    );
    expect_unusable(
        &tmp,
        "a",
        "b",
        "<tmp>/b/manifest.json: not a build manifest: missing field `crate` at line 1 column",
    );
}

#[test]
fn a_field_given_twice_is_refused() {
    // Two parsers could each pick a different one of the two values.
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    with_manifest(
        &tmp,
        "b",
        r#"{"build":{"target":"all","profile":"release","run_id":"1","timestamp":"t"},"artifacts":[{"package":"server","target":"x","bin":"b","bin_path":"x/b","bin_path":"y/b","crate":"c","version":"1","crate_lock_sha256":"l","rust_digest":"d"}]}"#,
    );
    expect_unusable(&tmp, "a", "b", "duplicate field `bin_path`");
}

#[test]
fn the_same_artifact_twice_is_refused() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    let mut b = release();
    b.push(
        b[0].clone()
            .with(|a| a.bin_path = format!("artifacts/{}/{}", a.target, a.bin)),
    );
    build_folder(&tmp.join("b"), &b);
    expect_unusable(
        &tmp,
        "a",
        "b",
        "<tmp>/b/manifest.json: artifacts[0] and artifacts[3] both describe `ip_camera_hub | x86_64-unknown-linux-gnu | camhub-ip`",
    );
}

#[test]
fn bin_paths_that_escape_or_point_elsewhere_are_refused() {
    let cases: [(&str, &str); 4] = [
        (
            "/etc/passwd",
            "unsafe bin_path: bin_path `/etc/passwd` is absolute",
        ),
        (
            "x86_64-unknown-linux-gnu/../../a/x86_64-unknown-linux-gnu/camhub-server",
            "climbs out of the build folder with `..`",
        ),
        // The attack this stops: the manifest vouches for a good copy hidden
        // beside the file people actually install.
        (
            "x86_64-unknown-linux-gnu/.good-copy",
            "does not name the artifact's own file; it must be `x86_64-unknown-linux-gnu/camhub-server`",
        ),
        (
            "x86_64-unknown-linux-gnu/camhub-server/",
            "does not name the artifact's own file",
        ),
    ];
    for (bin_path, says) in cases {
        let (_guard, tmp) = tmp();
        build_folder(&tmp.join("a"), &release());
        let mut b = release();
        b[2].bin_path = bin_path.into();
        b[2].content = None;
        build_folder(&tmp.join("b"), &b);
        expect_unusable(&tmp, "a", "b", says);
        expect_unusable(&tmp, "b", "a", says);
    }
}

#[test]
fn a_target_or_bin_that_is_a_path_is_refused() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    let mut b = release();
    b[2] = b[2].clone().with(|a| {
        a.target = "..".into();
        a.bin_path = "../camhub-server".into();
        a.content = None;
    });
    build_folder(&tmp.join("b"), &b);
    expect_unusable(&tmp, "a", "b", "climbs out");
    let mut b = release();
    b[2] = b[2].clone().with(|a| {
        a.bin = ".hidden".into();
        a.bin_path = format!("{X86}/.hidden");
    });
    build_folder(&tmp.join("c"), &b);
    expect_unusable(&tmp, "a", "c", "bin `.hidden` is not a plain file name");
}

#[test]
fn symlinks_that_leave_the_build_folder_are_refused() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    build_folder(&tmp.join("b"), &release());
    // The file itself points at the other build: the two would trivially match.
    let target = tmp.join("b").join(X86).join("camhub-server");
    fs::remove_file(&target).unwrap();
    std::os::unix::fs::symlink(tmp.join("a").join(X86).join("camhub-server"), &target).unwrap();
    expect_unusable(
        &tmp,
        "a",
        "b",
        "resolves through a symlink to <tmp>/a/x86_64-unknown-linux-gnu/camhub-server, outside the build folder",
    );

    // A folder on the way points outside.
    build_folder(&tmp.join("c"), &release()[..2]);
    fs::remove_dir_all(tmp.join("c").join(ARM)).unwrap();
    std::os::unix::fs::symlink(tmp.join("a").join(ARM), tmp.join("c").join(ARM)).unwrap();
    expect_unusable(&tmp, "a", "c", "outside the build folder");
}

#[test]
fn a_symlink_inside_the_folder_is_followed_to_what_people_install() {
    // Installing <triple>/<bin> through an in-folder symlink gives its target,
    // which is what gets hashed.
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    build_folder(&tmp.join("b"), &release());
    let link = tmp.join("b").join(X86).join("camhub-server");
    fs::rename(&link, tmp.join("b").join("server-real")).unwrap();
    std::os::unix::fs::symlink("../server-real", &link).unwrap();
    let r = run(repro().arg("compare").arg(tmp.join("a")).arg(tmp.join("b")));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn a_binary_flipping_to_a_symlink_outside_never_passes() {
    // B's real file differs from A's; a symlink to A's file would make them
    // match. Swapped back and forth while compare runs, the check and the
    // hash must see the same file: DIFF, FAIL or unusable, never PASSED.
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("a"), &release());
    let mut b = release();
    b[2].content = Some(b"server x86, other".to_vec());
    build_folder(&tmp.join("b"), &b);
    let target = tmp.join("b").join(X86).join("camhub-server");
    let outside = tmp.join("a").join(X86).join("camhub-server");
    fs::write(tmp.join("real"), b"server x86, other").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (stop, tmp, target) = (stop.clone(), tmp.clone(), target.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = fs::remove_file(tmp.join("link"));
                std::os::unix::fs::symlink(&outside, tmp.join("link")).unwrap();
                fs::rename(tmp.join("link"), &target).unwrap();
                let _ = fs::remove_file(tmp.join("copy"));
                fs::hard_link(tmp.join("real"), tmp.join("copy")).unwrap();
                fs::rename(tmp.join("copy"), &target).unwrap();
            }
        })
    };
    let mut codes = std::collections::BTreeMap::new();
    for _ in 0..300 {
        let r = run(repro().arg("compare").arg(tmp.join("a")).arg(tmp.join("b")));
        *codes.entry(r.code).or_insert(0) += 1;
        if r.code == 0 {
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flipper.join().unwrap();
    assert_eq!(codes.get(&0), None, "exit codes seen: {codes:?}");
}
