//! The updater against release folders built in the test: it installs only
//! what the manifest, SHA256SUMS and k trusted rebuilders all vouch for, and
//! every step, a failure or a kill between any two, keeps a working binary.
//! The rebuilders' side (refusals, rollback rule, record) is in
//! tests/rebuilders.rs.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use repro::hashing::sha256_bytes;

#[allow(dead_code)]
mod common;
use common::{Device, EXE, TRIPLE, installed, listing, release, update};

#[test]
fn installs_a_verified_binary_and_keeps_the_old_one_for_rollback() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    device.confirmed("rel", b"version 2", "2.0.0");
    let (out, now) = installed(d, "rel");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(now, b"version 2");
    assert_eq!(
        fs::read(d.join("bin/camhub-reset.old")).unwrap(),
        b"version 1"
    );
    assert_eq!(
        fs::metadata(d.join("bin/camhub-reset"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "installed camhub-reset 2.0.0 {} at bin/camhub-reset, confirmed by alice, bob (k = 2)\n\
             recorded in bin/camhub-reset.camhub-release.json\n\
             the previous binary is kept at bin/camhub-reset.old\n",
            sha256_bytes(b"version 2")
        )
    );
    let (out, _) = installed(d, "rel");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "bin/camhub-reset is already camhub-reset 2.0.0 {}\n",
            sha256_bytes(b"version 2")
        )
    );

    let out = update(&["--rollback", "--install", "bin/camhub-reset"], d);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fs::read(d.join("bin/camhub-reset")).unwrap(), b"version 1");
    assert_eq!(
        fs::read(d.join("bin/camhub-reset.old")).unwrap(),
        b"version 2"
    );
    // The record stays: it is the floor later updates are compared with.
    assert!(
        common::stdout(&out).ends_with(
            "bin/camhub-reset.camhub-release.json still records camhub-reset 2.0.0: later updates are compared with that version\n"
        ),
        "{}",
        common::stdout(&out)
    );
    assert_eq!(
        listing(&d.join("bin")),
        [
            "camhub-reset",
            "camhub-reset.camhub-release.json",
            "camhub-reset.old"
        ]
    );
    assert_eq!(common::record(d).unwrap().version, "2.0.0");
    // What runs is not the recorded release, so that release goes in again.
    let (out, now) = installed(d, "rel");
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_eq!(now, b"version 2");
}

#[test]
fn refuses_when_the_manifest_or_sha256sums_disagree_and_leaves_the_install_alone() {
    let lie = Some("00".repeat(32));
    for (in_manifest, in_sums, says) in [
        (lie.clone(), None, "but the manifest says 0000"),
        (None, lie.clone(), "and SHA256SUMS says 0000"),
    ] {
        let device = Device::new();
        let d = device.path();
        fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
        release(
            &d.join("rel"),
            b"tampered",
            Some("2.0.0"),
            in_manifest,
            in_sums,
        );
        device.alice.confirm(&d.join("rel"), b"tampered");
        device.bob.confirm(&d.join("rel"), b"tampered");
        let (out, now) = installed(d, "rel");
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("refused: ") && stderr.contains(says),
            "{stderr}"
        );
        assert_eq!(now, b"version 1");
        assert_eq!(listing(&d.join("bin")), ["camhub-reset"]);
    }
}

#[test]
fn a_release_without_sha256sums_or_with_a_hostile_manifest_is_refused() {
    let device = Device::new();
    let d = device.path();
    device.confirmed("rel", b"v2", "2.0.0");
    fs::remove_file(d.join("rel/SHA256SUMS")).unwrap();
    fs::write(d.join("bin/camhub-reset"), b"v1").unwrap();
    let (out, now) = installed(d, "rel");
    // Nothing was checked, so nothing "did not match": the folder is
    // incomplete, which is unusable input.
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "camhub-update: rel/SHA256SUMS: SHA256SUMS is missing; a release folder holds it next to manifest.json. \
         Download it with the release (for a folder you built yourself, `repro sums rel` prints it), then run again\n"
    );
    assert_eq!(now, b"v1");
    assert!(!d.join("bin/camhub-reset.old").exists());
    // A SHA256SUMS that is not a file is unusable too, and says what it must be.
    fs::create_dir(d.join("rel/SHA256SUMS")).unwrap();
    let (out, _) = installed(d, "rel");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("rel/SHA256SUMS: ")
            && stderr.contains("a regular file of at most 1024 KiB"),
        "{stderr}"
    );
    fs::remove_dir(d.join("rel/SHA256SUMS")).unwrap();

    let manifest = fs::read_to_string(d.join("rel/manifest.json")).unwrap();
    fs::write(
        d.join("rel/manifest.json"),
        manifest.replace(&format!("\"{TRIPLE}/camhub-reset\""), "\"/etc/passwd\""),
    )
    .unwrap();
    let (out, _) = installed(d, "rel");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unsafe bin_path"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    fs::write(d.join("rel/manifest.json"), manifest).unwrap();
    let out = update(&["--release", "rel", "--install", "bin/camhub-other"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no `camhub-other`"));
    assert_eq!(listing(&d.join("bin")), ["camhub-reset"]);
}

#[test]
fn leftovers_of_interrupted_updates_are_removed_or_finished_at_start() {
    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
    // What killed runs leave: staged copies (of this and older versions of
    // the updater) and an older version's temporary folder.
    fs::write(d.join("bin/.camhub-update-new.camhub-reset"), b"half a bin").unwrap();
    fs::write(d.join("bin/.camhub-update-state.camhub-reset"), b"{\"half").unwrap();
    fs::create_dir_all(d.join("bin/.camhub-update-release.camhub-reset/aarch64")).unwrap();
    fs::write(d.join("bin/.camhub-update-Xa81b2"), vec![0u8; 4096]).unwrap();
    fs::create_dir(d.join("bin/.camhub-update-Qz0k1p")).unwrap();
    fs::write(d.join("bin/.camhub-update-Qz0k1p/link"), b"x").unwrap();
    // Killed before the swap: a second name of the installed binary.
    fs::hard_link(
        d.join("bin/camhub-reset"),
        d.join("bin/.camhub-update-prev.camhub-reset"),
    )
    .unwrap();
    fs::write(d.join("bin/unrelated"), b"kept").unwrap();
    device.confirmed("rel", b"version 2", "2.0.0");
    let (out, now) = installed(d, "rel");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(now, b"version 2");
    assert_eq!(
        listing(&d.join("bin")),
        [
            "camhub-reset",
            "camhub-reset.camhub-release.json",
            "camhub-reset.old",
            "unrelated"
        ]
    );
    assert_eq!(
        fs::read(d.join("bin/camhub-reset.old")).unwrap(),
        b"version 1"
    );
    assert!(
        stdout.contains("removed bin/.camhub-update-Xa81b2, left by an interrupted update"),
        "{stdout}"
    );

    // Killed after the swap: the displaced binary only needs its move to .old.
    fs::write(
        d.join("bin/.camhub-update-prev.camhub-reset"),
        b"version 1.5",
    )
    .unwrap();
    let (out, now) = installed(d, "rel");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(now, b"version 2");
    assert!(
        stdout.contains(
            "finished an interrupted update: the previous binary is kept at bin/camhub-reset.old"
        ),
        "{stdout}"
    );
    assert_eq!(
        fs::read(d.join("bin/camhub-reset.old")).unwrap(),
        b"version 1.5"
    );
    assert_eq!(
        listing(&d.join("bin")),
        [
            "camhub-reset",
            "camhub-reset.camhub-release.json",
            "camhub-reset.old",
            "unrelated"
        ]
    );
}

#[path = "../../tests/rename_fault.rs"]
mod rename_fault;
use rename_fault::rename_fault;

fn update_failing(args: &[&str], dir: &Path, lib: &Path, fail_rename_to: &str) -> Output {
    common::run(
        args,
        dir,
        &[
            ("LD_PRELOAD", lib),
            ("FAIL_RENAME_TO", Path::new(fail_rename_to)),
        ],
    )
}

#[test]
fn a_failed_rename_at_any_step_keeps_a_working_binary_a_rollback_target_and_a_true_record() {
    let faults = tempfile::tempdir().unwrap();
    let lib = rename_fault(faults.path());
    let install = ["--release", "rel-2", "--install", "bin/camhub-reset"];
    let three = [
        "camhub-reset",
        "camhub-reset.camhub-release.json",
        "camhub-reset.old",
    ];

    let device = Device::new();
    let d = device.path();
    fs::write(d.join("bin/camhub-reset"), b"version 0").unwrap();
    device.confirmed("rel-1", b"version 1", "1.0.0");
    device.confirmed("rel-2", b"version 2", "2.0.0");
    let (out, _) = installed(d, "rel-1");
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let record_1 = fs::read(d.join("bin/camhub-reset.camhub-release.json")).unwrap();
    let unchanged = |d: &Path| {
        assert_eq!(fs::read(d.join("bin/camhub-reset")).unwrap(), b"version 1");
        assert_eq!(
            fs::read(d.join("bin/camhub-reset.old")).unwrap(),
            b"version 0"
        );
        assert_eq!(
            fs::read(d.join("bin/camhub-reset.camhub-release.json")).unwrap(),
            record_1
        );
        assert_eq!(listing(&d.join("bin")), three);
    };

    // Recording the release fails: nothing is installed.
    let out = update_failing(&install, d, &lib, "camhub-reset.camhub-release.json");
    let stderr = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "bin/camhub-reset.camhub-release.json: cannot record the release (nothing was installed)"
        ),
        "{stderr}"
    );
    unchanged(d);

    // The binary's rename fails after the record was written: the binary,
    // .old and the record of version 1 stay.
    let out = update_failing(&install, d, &lib, "bin/camhub-reset");
    let stderr = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bin/camhub-reset: cannot install (the installed binary and bin/camhub-reset.old are unchanged)"),
        "{stderr}"
    );
    unchanged(d);

    // Keeping the replaced binary as .old fails: the new one is installed
    // and recorded, the replaced one waits beside it, and the next run files it.
    let out = update_failing(&install, d, &lib, "camhub-reset.old");
    let stderr = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bin/camhub-reset.old: cannot keep the replaced binary there; it is at bin/.camhub-update-prev.camhub-reset"),
        "{stderr}"
    );
    assert_eq!(fs::read(d.join("bin/camhub-reset")).unwrap(), b"version 2");
    assert_eq!(common::record(d).unwrap().version, "2.0.0");
    assert_eq!(
        fs::read(d.join("bin/.camhub-update-prev.camhub-reset")).unwrap(),
        b"version 1"
    );
    let (out, _) = installed(d, "rel-2");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        common::stdout(&out).contains("finished an interrupted update"),
        "{}",
        common::stdout(&out)
    );
    assert_eq!(
        fs::read(d.join("bin/camhub-reset.old")).unwrap(),
        b"version 1"
    );
    assert_eq!(listing(&d.join("bin")), three);

    // A rollback whose last step fails loses neither binary.
    let rollback = ["--rollback", "--install", "bin/camhub-reset"];
    let out = update_failing(&rollback, d, &lib, "camhub-reset.old");
    let stderr = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bin/camhub-reset.old: cannot keep the replaced binary there"),
        "{stderr}"
    );
    assert_eq!(fs::read(d.join("bin/camhub-reset")).unwrap(), b"version 1");
    let contents: Vec<Vec<u8>> = listing(&d.join("bin"))
        .iter()
        .map(|n| fs::read(d.join("bin").join(n)).unwrap())
        .collect();
    assert!(
        contents.contains(&b"version 2".to_vec()),
        "version 2 was lost"
    );
    // A rollback whose first rename fails changes nothing.
    let out = update_failing(&rollback, d, &lib, "bin/camhub-reset");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fs::read(d.join("bin/camhub-reset")).unwrap(), b"version 1");
    assert_eq!(
        fs::read(d.join("bin/camhub-reset.old")).unwrap(),
        b"version 2"
    );
    assert_eq!(listing(&d.join("bin")), three);
}

/// SHA256SUMS is read as `sha256sum -c` reads it: for each variant, the
/// updater installs exactly when coreutils' check passes.
#[test]
fn sha256sums_is_read_like_sha256sum_check() {
    let good = sha256_bytes(b"version 2");
    let bad = sha256_bytes(b"something else");
    let path = format!("{TRIPLE}/camhub-reset");
    let variants = [
        (format!("{good}  ./{path}\n"), true),
        (format!("{good}  {path}"), true),
        (format!("{good}  {path}\r\n"), true),
        (format!("{good} *{path}\n"), true),
        (format!("{good} {path}\n"), true),
        (format!("# comment\n\n  {good}  {path}\n"), true),
        (format!("\\{good}  {path}\n"), true),
        (format!("SHA256 ({path}) = {good}\n"), true),
        (format!("{}  {path}\n", good.to_uppercase()), true),
        (format!("{good}  {path}\n{good}  ./{path}\n"), true),
        (format!("{good}  {path}\n{bad}  {path}\n"), false),
        (format!("{bad}  {path}\n{good}  {path}\n"), false),
        (format!("{good}  {path}\n{bad}  ./{path}\n"), false),
        (format!("{good}  {path}\nSHA256 ({path}) = {bad}\n"), false),
        (format!("{good} {path}\n{bad}  {path}\n"), true),
        (format!("{good}  {path}\n{bad} {path}\n"), true),
        (format!("{good}  {path} \n"), false),
        (format!("{good}   {path}\n"), false),
        (format!("{bad}  {path}\n"), false),
    ];
    for (sums, expected) in variants {
        let device = Device::new();
        let d = device.path();
        fs::write(d.join("bin/camhub-reset"), b"version 1").unwrap();
        device.confirmed("rel", b"version 2", "2.0.0");
        fs::write(d.join("rel/SHA256SUMS"), &sums).unwrap();
        let coreutils = Command::new("sha256sum")
            .args(["-c", "--ignore-missing", "--status", "SHA256SUMS"])
            .current_dir(d.join("rel"))
            .status()
            .unwrap();
        assert_eq!(coreutils.success(), expected, "sha256sum -c on {sums:?}");
        let (out, now) = installed(d, "rel");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            out.status.code(),
            Some(if expected { 0 } else { 1 }),
            "{sums:?}: {stderr}"
        );
        assert_eq!(
            now,
            if expected {
                &b"version 2"[..]
            } else {
                b"version 1"
            }
        );
    }
}

#[test]
fn a_symlink_as_install_replaces_the_binary_it_points_to_and_stays_a_link() {
    let device = Device::new();
    let d = device.path();
    fs::create_dir_all(d.join("opt")).unwrap();
    fs::write(d.join("opt/camhub-reset-real"), b"version 1").unwrap();
    std::os::unix::fs::symlink("../opt/camhub-reset-real", d.join("bin/camhub-reset")).unwrap();
    device.confirmed("rel", b"version 2", "2.0.0");
    let (out, now) = installed(d, "rel");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(now, b"version 2");
    assert!(
        fs::symlink_metadata(d.join("bin/camhub-reset"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read(d.join("opt/camhub-reset-real")).unwrap(),
        b"version 2"
    );
    assert_eq!(
        fs::read(d.join("opt/camhub-reset-real.old")).unwrap(),
        b"version 1"
    );
    // The record sits beside the binary it describes, not beside the link.
    assert_eq!(listing(&d.join("bin")), ["camhub-reset"]);
    assert_eq!(
        listing(&d.join("opt")),
        [
            "camhub-reset-real",
            "camhub-reset-real.camhub-release.json",
            "camhub-reset-real.old"
        ]
    );
    assert!(stdout.contains("/opt/camhub-reset-real.old"), "{stdout}");

    let out = update(&["--rollback", "--install", "bin/camhub-reset"], d);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        fs::read(d.join("opt/camhub-reset-real")).unwrap(),
        b"version 1"
    );

    let help = update(&["--help"], d);
    assert!(
        String::from_utf8(help.stdout)
            .unwrap()
            .contains("If it is a symbolic link, the binary the link points to is replaced")
    );

    // A link to nothing is refused with its name, and nothing is created.
    std::os::unix::fs::symlink("../opt/absent", d.join("bin/dangling")).unwrap();
    let out = update(
        &[
            "--release",
            "rel",
            "--bin",
            "camhub-reset",
            "--install",
            "bin/dangling",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("bin/dangling: a symbolic link to nothing usable")
    );
    assert!(!d.join("opt/absent").exists());
}

#[test]
fn control_characters_in_paths_are_escaped_in_the_output() {
    let device = Device::new();
    let d = device.path();
    let bin = "bin\x1b[2J\n";
    fs::create_dir(d.join(bin)).unwrap();
    fs::write(d.join(bin).join("camhub-reset"), b"version 1").unwrap();
    device.confirmed("rel", b"version 2", "2.0.0");
    let install = format!("{bin}/camhub-reset");
    let out = update(&["--release", "rel", "--install", &install], d);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains('\x1b') && stdout.lines().count() == 3,
        "{stdout:?}"
    );
    assert!(
        stdout.contains("at bin\\u{1b}[2J\\n/camhub-reset, confirmed by alice, bob (k = 2)\n"),
        "{stdout:?}"
    );
    let out = update(&["--release", "rel\x1b[31m", "--install", &install], d);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !stderr.contains('\x1b') && stderr.contains("rel\\u{1b}[31m"),
        "{stderr:?}"
    );
}

/// A whole version of the installed binary: distinct, and large enough that
/// a kill can land while it is copied.
fn version_bytes(version: u8) -> Vec<u8> {
    let mut bytes = format!("version {version}\n").into_bytes();
    bytes.resize(1 << 20, b'0' + version);
    bytes
}

/// The record is written before the binary is renamed: whatever point a
/// kill hits, the record never names a release older than the binary that a
/// release run put in place, so no later run accepts going back to it.
#[test]
fn kills_at_points_spread_over_a_run_leave_a_working_binary_a_rollback_target_and_no_way_back() {
    let device = Device::new();
    let d = device.path();
    let versions: Vec<Vec<u8>> = (0..3).map(version_bytes).collect();
    for (name, version) in [("camhub-reset", 1), ("camhub-reset.old", 0)] {
        fs::write(d.join("bin").join(name), &versions[version]).unwrap();
        fs::set_permissions(d.join("bin").join(name), fs::Permissions::from_mode(0o755)).unwrap();
    }
    device.confirmed("rel-1", &versions[1], "1.0.0");
    device.confirmed("rel-2", &versions[2], "2.0.0");
    let which = |name: &str| {
        let path = d.join("bin").join(name);
        let meta = fs::symlink_metadata(&path).ok()?;
        let content = fs::read(&path).ok()?;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0)
            .then(|| versions.iter().position(|v| *v == content))
            .flatten()
    };
    let forward = ["--release", "rel-2", "--install", "bin/camhub-reset"];
    let back = [
        "--rollback",
        "--release",
        "rel-1",
        "--install",
        "bin/camhub-reset",
    ];
    let started = std::time::Instant::now();
    let first = update(&forward, d);
    assert_eq!(first.status.code(), Some(0), "{}", common::stderr(&first));
    let whole_run = started.elapsed();
    const KILLS: u32 = 20;
    for round in 0..KILLS as usize {
        let out = update(&back, d);
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let swap = round % 4 == 3;
        let args: &[&str] = if swap {
            &["--rollback", "--install", "bin/camhub-reset"]
        } else {
            &forward
        };
        let mut command = Command::new(EXE);
        command.args(args).args(["--triple", TRIPLE]);
        if !swap {
            command.args(["--rebuilders", "rebuilders.toml"]);
        }
        let mut child = command
            .current_dir(d)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // From the start of a run to its end, one point after another.
        let after = whole_run * round as u32 / KILLS;
        std::thread::sleep(after);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let installed = which("camhub-reset");
        // Killed between a swap's two renames, the replaced binary still
        // waits under its work name, and every next run first files it as .old.
        let old = which("camhub-reset.old").or_else(|| which(".camhub-update-prev.camhub-reset"));
        let recorded = common::record(d).expect("a record, whole").version;
        assert!(
            installed.is_some() && old.is_some(),
            "killed {args:?} after {after:?}: installed {installed:?}, rollback target {old:?}, in {:?}",
            listing(&d.join("bin"))
        );
        if !swap && installed == Some(2) {
            assert_eq!(recorded, "2.0.0", "killed {args:?} after {after:?}");
        }
        // Going back without --rollback is refused exactly when version 2
        // was recorded, and then changes nothing.
        let out = update(&["--release", "rel-1", "--install", "bin/camhub-reset"], d);
        if recorded == "2.0.0" {
            assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
            assert!(common::stderr(&out).contains("older than 2.0.0"));
            assert_eq!(which("camhub-reset"), installed);
        } else {
            assert_eq!(recorded, "1.0.0");
            assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        }
        // The next run with --rollback finishes the job and leaves no work file.
        let out = update(&back, d);
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        assert_eq!(which("camhub-reset"), Some(1));
        assert!(which("camhub-reset.old").is_some());
        assert_eq!(common::record(d).unwrap().version, "1.0.0");
        assert_eq!(
            listing(&d.join("bin")),
            [
                "camhub-reset",
                "camhub-reset.camhub-release.json",
                "camhub-reset.old"
            ]
        );
    }
}

#[path = "../../tests/help_text.rs"]
mod help_text;

#[test]
fn every_argument_is_described_under_the_program_name() {
    let help = help_text::check(EXE, &[], "camhub-update", &["--install <INSTALL>"]);
    assert!(help.contains("required unless --rollback"), "{help}");
    let long = Command::new(EXE).arg("--help").output().unwrap();
    let long = String::from_utf8(long.stdout).unwrap();
    for says in [
        "2 unusable input or error (no SHA256SUMS",
        "fewer than k rebuilders confirm the binary",
        "[default: /etc/camhub/rebuilders.toml]",
        "With --release: allow a release older than the installed one, still fully verified",
        "<install>.camhub-release.json",
    ] {
        assert!(long.contains(says), "{says}: {long}");
    }
}
