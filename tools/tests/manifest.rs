//! `repro manifest`, `repro sums` and `repro matrix` against a small generated
//! workspace, and the real workspace's release matrix.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use repro::matrix::Plan;

/// A workspace with three member crates and a matrix that also names a crate
/// that does not exist yet.
fn workspace(root: &Path) -> PathBuf {
    let ws = root.join("ws");
    for (name, version) in [("hub", "1.2.3"), ("srv", "0.4.0"), ("rst", "0.0.9")] {
        fs::create_dir_all(ws.join(name).join("src")).unwrap();
        fs::write(
            ws.join(name).join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2024\"\n"),
        )
        .unwrap();
        fs::write(ws.join(name).join("src/main.rs"), "fn main() {}\n").unwrap();
    }
    fs::write(
        ws.join("Cargo.toml"),
        format!(
            r#"[workspace]
members = ["hub", "srv", "rst"]
resolver = "3"

[workspace.metadata.repro]
glibc_floor = "2.36"

[workspace.metadata.repro.targets.ipcamera]
triples = ["{X86}", "{ARM}"]
profiles.all = ["ip_camera_hub", "server", "reset"]
profiles.future = ["ip_camera_hub", "update"]

[workspace.metadata.repro.packages.ip_camera_hub]
crate = "hub"
features = ["ip"]
bin = "camhub-ip"

[workspace.metadata.repro.packages.server]
crate = "srv"
features = []
bin = "camhub-server"

[workspace.metadata.repro.packages.reset]
crate = "rst"
features = []
bin = "camhub-reset"
triples = ["{ARM}"]

[workspace.metadata.repro.packages.update]
crate = "upd"
features = []
bin = "camhub-update"
triples = ["{ARM}"]
"#
        ),
    )
    .unwrap();
    fs::write(ws.join("Cargo.lock"), "# a lock file\nversion = 4\n").unwrap();
    ws
}

fn binaries(out: &Path) {
    for (path, content) in [
        (format!("{X86}/camhub-ip"), "hub x86"),
        (format!("{ARM}/camhub-ip"), "hub arm"),
        (format!("{X86}/camhub-server"), "server x86"),
        (format!("{ARM}/camhub-server"), "server arm"),
        (format!("{ARM}/camhub-reset"), "reset arm"),
    ] {
        let path = out.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
}

fn manifest_cmd(ws: &Path, out: &Path, profile: &str) -> std::process::Command {
    let mut cmd = repro();
    cmd.arg("manifest")
        .arg(out)
        .args([
            "--target",
            "ipcamera",
            "--profile",
            profile,
            "--rust-digest",
            "rustc-1.95.0-abc",
        ])
        .arg("--workspace")
        .arg(ws)
        .env("SOURCE_DATE_EPOCH", "1700000000");
    cmd
}

#[test]
fn writes_the_secluso_schema_in_a_stable_order_with_hashes() {
    let (_guard, tmp) = tmp();
    let ws = workspace(&tmp);
    let out = tmp.join("out");
    binaries(&out);
    let r = run(manifest_cmd(&ws, &out, "all").args([
        "--build-mode",
        &format!("{ARM}=cargo"),
        "--run-id",
        "7",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        normalise(&r.stdout, &tmp),
        "wrote <tmp>/out/manifest.json (5 artifacts)\n"
    );
    assert_eq!(
        r.stderr,
        format!("SKIP reset for {X86} (built only for {ARM})\n")
    );

    let lock = sha256_hex(b"# a lock file\nversion = 4\n");
    let entry =
        |package: &str, triple: &str, bin: &str, content: &str, krate: &str, version: &str| {
            format!(
                r#"    {{
      "package": "{package}",
      "target": "{triple}",
      "bin": "{bin}",
      "bin_path": "{triple}/{bin}",
      "sha256": "{}",
      "crate": "{krate}",
      "version": "{version}",
      "crate_lock_sha256": "{lock}",
      "rust_digest": "rustc-1.95.0-abc"
    }}"#,
                sha256_hex(content.as_bytes())
            )
        };
    let expected = format!(
        r#"{{
  "build": {{
    "target": "ipcamera",
    "profile": "all",
    "run_id": "7",
    "timestamp": "2023-11-14T22:13:20Z",
    "build_modes": {{
      "{ARM}": "cargo"
    }}
  }},
  "artifacts": [
{},
{},
{},
{},
{}
  ]
}}
"#,
        entry("ip_camera_hub", ARM, "camhub-ip", "hub arm", "hub", "1.2.3"),
        entry("reset", ARM, "camhub-reset", "reset arm", "rst", "0.0.9"),
        entry("server", ARM, "camhub-server", "server arm", "srv", "0.4.0"),
        entry("ip_camera_hub", X86, "camhub-ip", "hub x86", "hub", "1.2.3"),
        entry("server", X86, "camhub-server", "server x86", "srv", "0.4.0"),
    );
    let written = fs::read_to_string(out.join("manifest.json")).unwrap();
    assert_eq!(written, expected);

    // Same inputs, same bytes; and no temporary file is left behind.
    let r = run(manifest_cmd(&ws, &out, "all").args([
        "--build-mode",
        &format!("{ARM}=cargo"),
        "--run-id",
        "7",
    ]));
    assert_eq!(r.code, 0);
    assert_eq!(
        fs::read_to_string(out.join("manifest.json")).unwrap(),
        expected
    );
    let names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn each_triple_records_the_toolchain_that_built_it() {
    let (_guard, tmp) = tmp();
    let ws = workspace(&tmp);
    let out = tmp.join("out");
    binaries(&out);
    // A cross toolchain is another toolchain than the native one: Nix passes
    // one digest per triple, and a bare digest fills the triples left over.
    let mut cmd = repro();
    cmd.arg("manifest")
        .arg(&out)
        .args(["--target", "ipcamera", "--profile", "all"])
        .args(["--rust-digest", &format!("{ARM}=nix:rust-cross@aa")])
        .args(["--rust-digest", "nix:rust-native@bb"])
        .arg("--workspace")
        .arg(&ws)
        .env("SOURCE_DATE_EPOCH", "1700000000");
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let manifest: repro::manifest::Manifest =
        serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let digests: Vec<(String, String)> = manifest
        .artifacts
        .iter()
        .map(|a| (a.bin_path.clone(), a.rust_digest.clone()))
        .collect();
    assert_eq!(
        digests,
        [
            (format!("{ARM}/camhub-ip"), "nix:rust-cross@aa".to_owned()),
            (
                format!("{ARM}/camhub-reset"),
                "nix:rust-cross@aa".to_owned()
            ),
            (
                format!("{ARM}/camhub-server"),
                "nix:rust-cross@aa".to_owned()
            ),
            (format!("{X86}/camhub-ip"), "nix:rust-native@bb".to_owned()),
            (
                format!("{X86}/camhub-server"),
                "nix:rust-native@bb".to_owned()
            ),
        ]
    );

    // A triple without a digest, a digest for a triple not built, or one given
    // twice: refused, and no manifest is written.
    fs::remove_file(out.join("manifest.json")).unwrap();
    for (digests, message) in [
        (
            vec![format!("{ARM}=nix:a")],
            format!(
                "repro: no toolchain digest for {X86}; pass --rust-digest DIGEST, or --rust-digest {X86}=DIGEST for the toolchain that built it\n"
            ),
        ),
        (
            vec![
                "riscv64gc-unknown-linux-gnu=nix:a".to_owned(),
                "nix:b".to_owned(),
            ],
            format!(
                "repro: --rust-digest `riscv64gc-unknown-linux-gnu=nix:a`: `riscv64gc-unknown-linux-gnu` is not a triple of this build (its triples: {X86}, {ARM})\n"
            ),
        ),
        (
            vec!["nix:a".to_owned(), "nix:b".to_owned()],
            "repro: --rust-digest without a triple given twice; name the triple as TRIPLE=DIGEST\n"
                .to_owned(),
        ),
    ] {
        let mut cmd = repro();
        cmd.arg("manifest")
            .arg(&out)
            .args(["--target", "ipcamera", "--profile", "all", "--workspace"])
            .arg(&ws);
        for d in &digests {
            cmd.args(["--rust-digest", d]);
        }
        let r = run(&mut cmd);
        assert_eq!(
            (
                r.code,
                r.stderr.replace(
                    &format!("SKIP reset for {X86} (built only for {ARM})\n"),
                    ""
                )
            ),
            (2, message),
            "{digests:?}"
        );
        assert!(!out.join("manifest.json").exists());
    }
}

#[test]
fn a_crate_the_workspace_does_not_have_yet_is_named_and_nothing_is_written() {
    let (_guard, tmp) = tmp();
    let ws = workspace(&tmp);
    let out = tmp.join("out");
    binaries(&out);
    let r = run(&mut manifest_cmd(&ws, &out, "future"));
    assert_eq!(r.code, 2);
    assert_eq!(
        normalise(&r.stderr, &tmp),
        format!(
            "SKIP update for {X86} (built only for {ARM})\nrepro: <tmp>/ws/Cargo.toml: package `update` of the release matrix is built from crate `upd`, which is not a member of this workspace; add the crate to [workspace] members, or choose a target and profile that do not ship `update`\n"
        )
    );
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn a_missing_binary_leaves_an_existing_manifest_untouched() {
    let (_guard, tmp) = tmp();
    let ws = workspace(&tmp);
    let out = tmp.join("out");
    binaries(&out);
    fs::write(out.join("manifest.json"), "previous").unwrap();
    fs::remove_file(out.join(ARM).join("camhub-server")).unwrap();
    let r = run(&mut manifest_cmd(&ws, &out, "all"));
    assert_eq!(r.code, 2);
    assert!(
        normalise(&r.stderr, &tmp).contains(&format!(
            "repro: <tmp>/out/{ARM}/camhub-server: the binary of `server` for {ARM} is not there; build it first"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(
        fs::read_to_string(out.join("manifest.json")).unwrap(),
        "previous"
    );
}

#[test]
fn symlinked_binaries_bad_pairs_bad_modes_and_bad_epochs_are_refused() {
    let (_guard, tmp) = tmp();
    let ws = workspace(&tmp);
    let out = tmp.join("out");
    binaries(&out);
    // (extra arguments, SOURCE_DATE_EPOCH, what stderr must say)
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &[],
            "1700000000",
            "not a regular file; copy the binary itself into the build folder",
        ),
        (
            &[],
            "yesterday",
            "SOURCE_DATE_EPOCH=`yesterday` is not a whole number",
        ),
        // The first second of the year 10000, and a value past SystemTime's range.
        (
            &[],
            "253402300800",
            "SOURCE_DATE_EPOCH=`253402300800` is after 9999-12-31T23:59:59Z",
        ),
        (
            &[],
            "18446744073709551615",
            "SOURCE_DATE_EPOCH=`18446744073709551615` is after 9999-12-31T23:59:59Z",
        ),
        (
            &["--build-mode", "riscv64gc-unknown-linux-gnu=cargo"],
            "1700000000",
            "build mode given for `riscv64gc-unknown-linux-gnu`, which ipcamera-all does not build",
        ),
        (
            &["--build-mode", "nonsense"],
            "1700000000",
            "--build-mode `nonsense` is not TRIPLE=MODE",
        ),
    ];
    let link = out.join(X86).join("camhub-server");
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(out.join(ARM).join("camhub-server"), &link).unwrap();
    for (i, (args, epoch, says)) in cases.iter().enumerate() {
        if i == 1 {
            fs::remove_file(&link).unwrap();
            fs::write(&link, "server x86").unwrap();
        }
        let r = run(manifest_cmd(&ws, &out, "all")
            .args(*args)
            .env("SOURCE_DATE_EPOCH", epoch));
        assert_eq!(r.code, 2, "{says}");
        assert!(r.stderr.contains(says), "expected {says:?} in {}", r.stderr);
        assert!(!out.join("manifest.json").exists());
    }
    let r = run(&mut manifest_cmd(&ws, &out, "core"));
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "repro: `ipcamera` with profile `core` is not in the release matrix; valid target-profile pairs: ipcamera-all, ipcamera-future\n"
    );
}

#[test]
fn a_written_manifest_compares_and_sums_like_any_build() {
    let (_guard, tmp) = tmp();
    let ws = workspace(&tmp);
    let out = tmp.join("out");
    binaries(&out);
    assert_eq!(run(&mut manifest_cmd(&ws, &out, "all")).code, 0);
    let copy = tmp.join("copy");
    binaries(&copy);
    fs::copy(out.join("manifest.json"), copy.join("manifest.json")).unwrap();
    let r = run(repro().arg("compare").arg(&out).arg(&copy));
    assert!(
        r.stdout
            .contains("5 OK, 0 DIFF, 0 FAIL, 0 missing, 0 extra\nReproducibility check PASSED: 5 of 5 artifacts of "),
        "{}",
        r.stdout
    );

    let r = run(repro().arg("sums").arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 5);
    assert!(
        r.stdout
            .starts_with(&format!("{}  {ARM}/camhub-ip\n", sha256_hex(b"hub arm"))),
        "{}",
        r.stdout
    );
    // The lines are what sha256sum itself accepts.
    fs::write(tmp.join("SHA256SUMS"), &r.stdout).unwrap();
    let check = std::process::Command::new("sha256sum")
        .args(["--check", "--strict"])
        .arg(tmp.join("SHA256SUMS"))
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // A file changed after the manifest was written: sums says so and prints nothing.
    fs::write(out.join(X86).join("camhub-server"), "tampered").unwrap();
    let r = run(repro().arg("sums").arg(&out));
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains(&format!(
            "{X86}/camhub-server: manifest sha256 {} does not match the file",
            sha256_hex(b"server x86")
        )),
        "{}",
        r.stderr
    );
}

/// The release matrix of this very workspace, as the issue that defines it says.
#[test]
fn the_real_release_matrix_is_the_one_we_ship() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let r = run(repro().args(["matrix", "--json", "--workspace"]).arg(root));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plans: Vec<Plan> = serde_json::from_str(&r.stdout).unwrap();
    let summary: Vec<(String, Vec<String>)> = plans
        .iter()
        .map(|p| {
            let arts = p
                .artifacts
                .iter()
                .map(|a| format!("{}:{}", a.package, a.bin_path()))
                .collect();
            (format!("{}-{}", p.target, p.profile), arts)
        })
        .collect();
    let a = |pkg: &str, triple: &str, bin: &str| format!("{pkg}:{triple}/{bin}");
    let (hub_r, hub_i, cfg, srv, upd, rst) = (
        ("raspberry_camera_hub", "camhub-raspberry"),
        ("ip_camera_hub", "camhub-ip"),
        ("config_tool", "camhub-config"),
        ("server", "camhub-server"),
        ("update", "camhub-update"),
        ("reset", "camhub-reset"),
    );
    let on = |triple: &str, pkgs: &[(&str, &str)]| -> Vec<String> {
        pkgs.iter().map(|(p, b)| a(p, triple, b)).collect()
    };
    let expected: Vec<(String, Vec<String>)> = vec![
        (
            "all-all".into(),
            [
                on(X86, &[hub_i, cfg, srv]),
                on(ARM, &[upd, rst, hub_r, hub_i, cfg, srv]),
            ]
            .concat(),
        ),
        (
            "all-release".into(),
            [
                on(X86, &[hub_i, cfg, srv]),
                on(ARM, &[hub_r, hub_i, cfg, srv]),
            ]
            .concat(),
        ),
        (
            "ipcamera-all".into(),
            [on(X86, &[hub_i, cfg, srv]), on(ARM, &[hub_i, cfg, srv])].concat(),
        ),
        (
            "ipcamera-camerahub".into(),
            [on(X86, &[hub_i]), on(ARM, &[hub_i])].concat(),
        ),
        ("raspberry-all".into(), on(ARM, &[upd, rst, hub_r, cfg])),
        ("raspberry-camerahub".into(), on(ARM, &[hub_r])),
        ("raspberry-core".into(), on(ARM, &[hub_r, rst, upd])),
    ];
    assert_eq!(summary, expected);

    let hub = plans[0]
        .artifacts
        .iter()
        .find(|a| a.package == "raspberry_camera_hub")
        .unwrap();
    assert_eq!(
        (hub.crate_name.as_str(), hub.features.as_slice()),
        ("camera_hub", &["raspberry".to_owned()][..])
    );
    let hub = plans[0]
        .artifacts
        .iter()
        .find(|a| a.package == "ip_camera_hub")
        .unwrap();
    assert_eq!(
        (hub.crate_name.as_str(), hub.features.as_slice()),
        ("camera_hub", &["ip".to_owned()][..])
    );
    // all-all ships every package there is.
    let skipped: Vec<String> = plans[0].skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        skipped,
        ["update", "reset", "raspberry_camera_hub"]
            .map(|p| format!("SKIP {p} for {X86} (built only for {ARM})"))
    );
}

#[test]
fn a_folder_with_only_some_triples_is_described_with_triple() {
    // What `repro build --skip-missing-targets` leaves on an x86_64 machine.
    let (_guard, tmp) = tmp();
    let ws = workspace(&tmp);
    let out = tmp.join("out");
    binaries(&out);
    fs::remove_dir_all(out.join(ARM)).unwrap();

    let r = run(&mut manifest_cmd(&ws, &out, "all"));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!(
            "the folder has no {ARM}/ at all: to describe only the triples it holds, pass --triple for each"
        )),
        "{}",
        r.stderr
    );
    assert!(!out.join("manifest.json").exists());

    let r = run(manifest_cmd(&ws, &out, "all").args(["--triple", X86]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        normalise(&r.stdout, &tmp),
        "wrote <tmp>/out/manifest.json (2 artifacts)\n"
    );
    assert_eq!(
        r.stderr,
        format!("SKIP reset for {X86} (built only for {ARM})\n")
    );
    let manifest = repro::manifest::Manifest::load(&out).unwrap().1;
    let described: Vec<(&str, &str)> = manifest
        .artifacts
        .iter()
        .map(|a| (a.target.as_str(), a.bin.as_str()))
        .collect();
    assert_eq!(described, [(X86, "camhub-ip"), (X86, "camhub-server")]);
    assert_eq!(
        (
            manifest.build.target.as_str(),
            manifest.build.profile.as_str()
        ),
        ("ipcamera", "all")
    );

    // It compares against the full build as any subset does.
    let full = tmp.join("full");
    binaries(&full);
    assert_eq!(run(&mut manifest_cmd(&ws, &full, "all")).code, 0);
    let r = run(repro().arg("compare").arg(&out).arg(&full));
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("2 OK, 0 DIFF, 0 FAIL, 0 missing, 3 extra\n"),
        "{}",
        r.stdout
    );

    // A triple the target does not build is named, with the ones it does.
    let r = run(manifest_cmd(&ws, &out, "all").args(["--triple", "riscv64gc-unknown-linux-gnu"]));
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        format!(
            "repro: --triple `riscv64gc-unknown-linux-gnu` is not a triple of ipcamera-all (its triples: {X86}, {ARM})\n"
        )
    );
}

#[test]
fn records_the_release_version_and_source_revision_it_is_given() {
    let (_guard, tmp) = tmp();
    let ws = workspace(&tmp);
    let out = tmp.join("out");
    binaries(&out);
    let rev = "0123456789abcdef0123456789abcdef01234567";
    let load = || repro::manifest::Manifest::load(&out).unwrap().1.build;

    // This fixture has no [workspace.package] version: none unless given.
    let r = run(&mut manifest_cmd(&ws, &out, "all"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!((load().version, load().source_rev), (None, None));

    let r = run(manifest_cmd(&ws, &out, "all").args([
        "--release-version",
        "1.4.0-rc.1",
        "--source-rev",
        rev,
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let build = load();
    assert_eq!(build.version.as_deref(), Some("1.4.0-rc.1"));
    assert_eq!(build.source_rev.as_deref(), Some(rev));

    // The workspace's own version, which every member inherits, by default.
    let toml = fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    fs::write(
        ws.join("Cargo.toml"),
        toml.replacen(
            "[workspace]\n",
            "[workspace.package]\nversion = \"2.0.1\"\n\n[workspace]\n",
            1,
        ),
    )
    .unwrap();
    let r = run(&mut manifest_cmd(&ws, &out, "all"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(load().version.as_deref(), Some("2.0.1"));

    for (flag, value, expect) in [
        (
            "--release-version",
            "v1.2",
            "`v1.2` is not a semantic version",
        ),
        (
            "--source-rev",
            "HEAD",
            "`HEAD` is not a full git commit hash",
        ),
        ("--source-rev", &rev[..12], "is not a full git commit hash"),
        ("--source-rev", &rev.to_uppercase(), "lowercase hex"),
    ] {
        let before = fs::read(out.join("manifest.json")).unwrap();
        let r = run(manifest_cmd(&ws, &out, "all").args([flag, value]));
        assert_eq!(r.code, 2, "{flag} {value}: {}", r.stderr);
        assert!(r.stderr.contains(flag), "{}", r.stderr);
        assert!(r.stderr.contains(expect), "{}", r.stderr);
        assert_eq!(fs::read(out.join("manifest.json")).unwrap(), before);
    }
}
