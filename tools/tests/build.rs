//! `repro build --test-reproduce` on small generated workspaces: it must catch
//! a build that embeds the time or the build path, and pass one whose only
//! path-dependence is what the deterministic flags remap.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

/// The real workspace's deterministic-flags table, so fixtures are built with
/// exactly the flags releases are.
fn reproducible_table() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let text = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let start = text
        .find("[workspace.metadata.repro.reproducible]")
        .expect("the table exists");
    let rest = &text[start..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 1);
    rest[..end].to_owned()
}

/// A one-crate workspace whose binary prints something derived from `main_rs`
/// and, optionally, a build script.
fn fixture(root: &Path, triple: &str, main_rs: &str, build_rs: Option<&str>) -> PathBuf {
    fixture_with_table(root, triple, main_rs, build_rs, &reproducible_table())
}

/// [`fixture`] with another [workspace.metadata.repro.reproducible] table.
fn fixture_with_table(
    root: &Path,
    triple: &str,
    main_rs: &str,
    build_rs: Option<&str>,
    table: &str,
) -> PathBuf {
    let ws = root.join("fixture");
    fs::create_dir_all(ws.join("stamp/src")).unwrap();
    fs::write(
        ws.join("Cargo.toml"),
        format!(
            r#"[workspace]
members = ["stamp"]
resolver = "3"

[profile.release]
codegen-units = 1
incremental = false

[workspace.metadata.repro]
glibc_floor = "2.36"

{}
[workspace.metadata.repro.targets.host]
triples = ["{triple}"]
profiles.all = ["stamp"]

[workspace.metadata.repro.packages.stamp]
crate = "stamp"
features = []
bin = "stamp-bin"
"#,
            table
        ),
    )
    .unwrap();
    fs::write(
        ws.join("stamp/Cargo.toml"),
        "[package]\nname = \"stamp\"\nversion = \"0.3.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    fs::write(ws.join("stamp/src/main.rs"), main_rs).unwrap();
    if let Some(build_rs) = build_rs {
        fs::write(ws.join("stamp/build.rs"), build_rs).unwrap();
    }
    let lock = std::process::Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(&ws)
        .output()
        .unwrap();
    assert!(
        lock.status.success(),
        "{}",
        String::from_utf8_lossy(&lock.stderr)
    );
    ws
}

fn build(ws: &Path, out: &Path, extra: &[&str]) -> Run {
    build_without_retest(ws, out, &[&["--test-reproduce"], extra].concat())
}

/// `repro build` of the fixture's host-all, without the self-test unless `extra` asks.
fn build_without_retest(ws: &Path, out: &Path, extra: &[&str]) -> Run {
    run(build_command(ws, out).args(extra))
}

/// The `repro build` command of the fixture's host-all, to add to.
fn build_command(ws: &Path, out: &Path) -> std::process::Command {
    let mut cmd = repro();
    cmd.args(["build", "--target", "host", "--profile", "all"])
        .arg("--workspace")
        .arg(ws)
        .arg("--out")
        .arg(out)
        .env("SOURCE_DATE_EPOCH", "1700000000");
    cmd
}

/// The one build folder `repro build` left in `builds`.
fn only_folder(builds: &Path) -> PathBuf {
    let mut folders: Vec<PathBuf> = fs::read_dir(builds)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    folders.remove(0)
}

/// The triple of this machine: the fixtures build for it, so the tests also
/// run on aarch64 (in the flake's checks there).
fn host() -> String {
    let out = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

fn diff_line() -> String {
    format!(
        "DIFF: binary hash mismatch for stamp | {} | stamp-bin:
",
        host()
    )
}

#[test]
fn a_build_script_that_embeds_the_time_fails_the_self_test() {
    let (_guard, tmp) = tmp();
    let ws = fixture(
        &tmp,
        &host(),
        "fn main() { println!(\"built at {}\", env!(\"BUILT_AT\")); }\n",
        Some(
            "fn main() {\n    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();\n    println!(\"cargo:rustc-env=BUILT_AT={}\", t.as_nanos());\n}\n",
        ),
    );
    let r = build(&ws, &tmp.join("builds"), &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&diff_line()), "{}", r.stdout);
    assert!(
        r.stdout
            .ends_with("0 OK, 1 DIFF, 0 FAIL, 0 missing, 0 extra\nReproducibility check FAILED\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_binary_that_embeds_the_build_path_fails_the_self_test() {
    let (_guard, tmp) = tmp();
    // CARGO_MANIFEST_DIR is a plain string to rustc: no path remapping applies.
    let ws = fixture(
        &tmp,
        &host(),
        "fn main() { println!(\"{}\", env!(\"CARGO_MANIFEST_DIR\")); }\n",
        None,
    );
    let r = build(&ws, &tmp.join("builds"), &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&diff_line()), "{}", r.stdout);
}

#[test]
fn generated_code_in_the_target_dir_is_remapped_so_it_still_reproduces() {
    let (_guard, tmp) = tmp();
    // Code generated into OUT_DIR (as bindgen or prost do) has an absolute
    // path inside the target dir, which differs between the two runs; only
    // the {target_dir} remapping makes it reproduce.
    let ws = fixture(
        &tmp,
        &host(),
        "include!(concat!(env!(\"OUT_DIR\"), \"/generated.rs\"));\nfn main() { println!(\"{}\", generated_at()); }\n",
        Some(
            "fn main() {\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    std::fs::write(format!(\"{out}/generated.rs\"), \"pub fn generated_at() -> &'static str { file!() }\\n\").unwrap();\n}\n",
        ),
    );
    let r = build(&ws, &tmp.join("builds"), &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("run1: 1 artifact in "), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(", TZ=Asia/Kolkata, LC_ALL=fr_FR.UTF-8, umask 077, -j "),
        "{}",
        r.stdout
    );
    // Both runs are checked for portability: +crt-static from the
    // reproducible flags makes the binary a static PIE.
    let ok_line = format!("ok   {}/stamp-bin: static-pie\n", host());
    assert_eq!(r.stdout.matches(&ok_line).count(), 2, "{}", r.stdout);
    assert_eq!(
        r.stdout
            .matches("Portability check PASSED: 1 of 1 artifact portable\n")
            .count(),
        2,
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("1 OK, 0 DIFF, 0 FAIL, 0 missing, 0 extra\nReproducibility check PASSED: 1 of 1 artifact of ")
            && r.stdout.ends_with(" checked, all identical\n"),
        "{}",
        r.stdout
    );

    // The layout is the Nix result's: run1/ and run2/ each with manifest.json + <triple>/<bin>.
    let builds: Vec<_> = fs::read_dir(tmp.join("builds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(builds.len(), 1, "no partial folder is left: {builds:?}");
    let run1 = builds[0].join("run1");
    let manifest = repro::manifest::Manifest::load(&run1).unwrap().1;
    assert_eq!(
        manifest.build.build_modes.get(&host()).map(String::as_str),
        Some("cargo-native")
    );
    assert_eq!(manifest.build.timestamp, "2023-11-14T22:13:20Z");
    let artifact = &manifest.artifacts[0];
    assert_eq!(
        (artifact.crate_name.as_str(), artifact.version.as_str()),
        ("stamp", "0.3.0")
    );
    assert!(
        artifact.rust_digest.starts_with("rustc:1.") && artifact.rust_digest.contains("@sha256:"),
        "{}",
        artifact.rust_digest
    );
    let binary = fs::read(run1.join(host()).join("stamp-bin")).unwrap();
    let text = String::from_utf8_lossy(&binary);
    let shown: Vec<&str> = text
        .split(['\0', '\n'])
        .filter(|s| s.contains("generated.rs"))
        .collect();
    assert!(
        text.contains(&format!("/build/target/{}/release/build/stamp-", host())),
        "the OUT_DIR path is remapped: {shown:?}"
    );
    assert!(
        !text.contains(&tmp.display().to_string()),
        "no build path remains"
    );
}

#[test]
fn a_binary_that_is_not_portable_fails_the_build_and_is_named() {
    let (_guard, tmp) = tmp();
    let store = "/nix/store/cccccccccccccccccccccccccccccccc-cacert/etc/ssl/certs";
    let ws = fixture(
        &tmp,
        &host(),
        &format!("fn main() {{ println!(\"{store}\"); }}\n"),
        None,
    );
    let r = build(&ws, &tmp.join("builds"), &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let fail = format!("FAIL {}/stamp-bin: contains {store} (1 place)\n", host());
    assert_eq!(r.stdout.matches(&fail).count(), 2, "{}", r.stdout);
    // Reproducible all the same, but the last line says the build failed and names the binary.
    assert!(
        r.stdout
            .contains("Reproducibility check PASSED: 1 of 1 artifact of "),
        "{}",
        r.stdout
    );
    let last = r.stdout.lines().last().unwrap();
    let builds = tmp.join("builds");
    let stamp = fs::read_dir(&builds)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        last,
        format!(
            "repro build FAILED: not portable: {0}/run1/{1}/stamp-bin, {0}/run2/{1}/stamp-bin",
            stamp.display(),
            host()
        )
    );

    // Without --test-reproduce the one build is checked the same way.
    let r = build_without_retest(&ws, &tmp.join("single"), &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&fail), "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("repro build FAILED: not portable: "),
        "{}",
        r.stdout
    );
}

#[test]
fn a_triple_without_its_standard_library_is_named_with_the_fix_or_skipped() {
    let (_guard, tmp) = tmp();
    // A triple no machine here has the standard library for.
    let triple = "sparc64-unknown-linux-gnu";
    let ws = fixture(&tmp, triple, "fn main() {}\n", None);
    let r = build(&ws, &tmp.join("builds"), &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {triple} cannot be built here: no Rust standard library for it: "
        )),
        "{}",
        r.stderr
    );
    for part in [
        " (rust-toolchain.toml, rustc 1.",
        ") has none",
        "cargo.cross_prefix names no C cross toolchain for it",
        &format!("`rustup target add {triple}`"),
        "apt-get install rustc-web libstd-rust-web-dev:sparc64",
        "or pass --skip-missing-targets to build only the other triples\n",
    ] {
        assert!(r.stderr.contains(part), "{part:?} in {}", r.stderr);
    }
    let r = build(&ws, &tmp.join("builds"), &["--skip-missing-targets"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout
            .starts_with(&format!("SKIP {triple} cannot be built here: ")),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("nothing to build: every triple of host-all was skipped"),
        "{}",
        r.stderr
    );
    assert!(!tmp.join("builds").exists(), "nothing is half-written");
}

/// The other architecture of the release matrix, which this machine can only cross-build.
fn other_triple() -> &'static str {
    if host().starts_with("aarch64") {
        "x86_64-unknown-linux-gnu"
    } else {
        "aarch64-unknown-linux-gnu"
    }
}

#[test]
fn a_cross_triple_without_its_c_toolchain_is_named_with_the_fix() {
    let (_guard, tmp) = tmp();
    let triple = other_triple();
    let prefix = format!("{}-linux-gnu-", &triple[..triple.find('-').unwrap()]);
    let table = reproducible_table().replace(
        &format!("{triple} = \"{prefix}\""),
        &format!("{triple} = \"camhub-no-such-\""),
    );
    assert_ne!(table, reproducible_table(), "the matrix names {prefix}");
    let ws = fixture_with_table(&tmp, triple, "fn main() {}\n", None, &table);
    let r = build(&ws, &tmp.join("builds"), &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .starts_with(&format!("repro: {triple} cannot be built here: ")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("its C compiler `camhub-no-such-gcc` is not on PATH or does not run"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("dpkg --add-architecture "),
        "{}",
        r.stderr
    );
    assert!(!tmp.join("builds").exists(), "nothing is half-written");
}

/// A stand-in `rustc` that runs the real one but says something else about
/// itself, or has no standard library: what `repro build` records and checks
/// must come from it, not from the `rustc` on PATH.
fn rustc_wrapper(dir: &Path, on_version: &str, on_sysroot: &str) -> PathBuf {
    let real = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let real = Path::new(String::from_utf8(real.stdout).unwrap().trim()).join("bin/rustc");
    let script = dir.join("my-rustc");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$1 $2\" in\n  '-vV ') {on_version} ;;\n  '--print sysroot') {on_sysroot} ;;\n  *) exec {real} \"$@\" ;;\nesac\n",
            real = real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn rustc_from_the_environment_is_the_compiler_checked_used_and_recorded() {
    let (_guard, tmp) = tmp();
    let real = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .unwrap()
        .stdout;
    let sysroot = String::from_utf8(
        std::process::Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let wrapper = rustc_wrapper(
        &tmp,
        &format!(
            "printf '%s' '{}'; echo 'note: a wrapped compiler'",
            String::from_utf8(real.clone()).unwrap()
        ),
        &format!("echo '{}'", sysroot.trim()),
    );
    let ws = fixture(&tmp, &host(), "fn main() {}\n", None);
    let r = run(build_command(&ws, &tmp.join("builds")).env("RUSTC", &wrapper));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(&format!("(RUSTC, {})", wrapper.display())),
        "{}",
        r.stdout
    );
    let folder = only_folder(&tmp.join("builds"));
    let manifest = repro::manifest::Manifest::load(&folder).unwrap().1;
    let release = String::from_utf8(real.clone())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("release: ").map(str::to_owned))
        .unwrap();
    let said = [real.as_slice(), b"note: a wrapped compiler\n"].concat();
    assert_eq!(
        manifest.artifacts[0].rust_digest,
        format!(
            "rustc:{release}@sha256:{}",
            repro::hashing::sha256_bytes(&said)
        )
    );

    // A RUSTC without the triple's standard library is refused, not replaced.
    let bare = tmp.join("bare");
    fs::create_dir_all(&bare).unwrap();
    fs::create_dir_all(tmp.join("bare-sysroot")).unwrap();
    let wrapper = rustc_wrapper(
        &bare,
        &format!("printf '%s' '{}'", String::from_utf8(real).unwrap()),
        &format!("echo '{}'", tmp.join("bare-sysroot").display()),
    );
    let r = run(build_command(&ws, &tmp.join("builds2")).env("RUSTC", &wrapper));
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "no Rust standard library for it: {} (RUSTC, rustc 1.",
            wrapper.display()
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn the_callers_compilers_flags_and_cargo_settings_do_not_reach_the_inner_build() {
    let (_guard, tmp) = tmp();
    // The build script reports what it was given; the binary prints it.
    let ws = fixture(
        &tmp,
        &host(),
        "fn main() { println!(\"{}\", env!(\"SEEN\")); }\n",
        Some(
            "fn main() {\n    let seen: Vec<String> = [\"CC\", \"TARGET_CFLAGS\", \"CARGO_PKG_DESCRIPTION\", \"OPT_LEVEL\"].iter().map(|v| format!(\"{v}={:?}\", std::env::var(v).ok())).collect();\n    println!(\"cargo:rustc-env=SEEN={}\", seen.join(\" \"));\n}\n",
        ),
    );
    let r = run(build_command(&ws, &tmp.join("builds"))
        .env("CC", "/no/such/cc")
        .env("TARGET_CFLAGS", "-DLEAKED")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env("CARGO_PKG_DESCRIPTION", "from cargo run")
        .env("RUSTUP_TOOLCHAIN", "no-such-toolchain"));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let folder = only_folder(&tmp.join("builds"));
    let out = std::process::Command::new(folder.join(host()).join("stamp-bin"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "CC=None TARGET_CFLAGS=None CARGO_PKG_DESCRIPTION=Some(\"\") OPT_LEVEL=Some(\"3\")\n"
    );
}

/// Git, to make the commit whose date a build must carry; the Nix-like
/// sandbox has none.
fn git(ws: &Path, args: &[&str]) -> Option<()> {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(args)
        .current_dir(ws)
        .env("GIT_COMMITTER_DATE", "@1600000000 +0000")
        .env("GIT_AUTHOR_DATE", "@1500000000 +0000")
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

#[test]
fn the_manifest_carries_the_commits_date_not_the_time_of_the_build() {
    let (_guard, tmp) = tmp();
    let ws = fixture(&tmp, &host(), "fn main() {}\n", None);
    if git(&ws, &["init", "-q"]).is_none() {
        println!("SKIPPED: git is not installed");
        return;
    }
    git(&ws, &["add", "-A"]).unwrap();
    git(&ws, &["commit", "-q", "-m", "fixture"]).unwrap();
    let builds = tmp.join("builds");
    let r = run(build_command(&ws, &builds).env_remove("SOURCE_DATE_EPOCH"));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let manifest = repro::manifest::Manifest::load(&only_folder(&builds))
        .unwrap()
        .1;
    // The committer date (%ct), as git log -1 --format=%ct gives it.
    assert_eq!(manifest.build.timestamp, "2020-09-13T12:26:40Z");
}

#[test]
fn a_signal_mid_build_stops_cargo_and_leaves_no_partial_folder() {
    use std::os::unix::process::ExitStatusExt;
    for (signal, code, name) in [
        (libc::SIGINT, 130, "SIGINT"),
        (libc::SIGTERM, 143, "SIGTERM"),
    ] {
        let (_guard, tmp) = tmp();
        let pid_file = tmp.join("build-script.pid");
        // A build script that says it runs, then takes its time.
        let ws = fixture(
            &tmp,
            &host(),
            "fn main() {}\n",
            Some(&format!(
                "fn main() {{\n    std::fs::write({:?}, std::process::id().to_string()).unwrap();\n    std::thread::sleep(std::time::Duration::from_secs(300));\n}}\n",
                pid_file.display().to_string()
            )),
        );
        let builds = tmp.join("builds");
        let stderr = fs::File::create(tmp.join("stderr")).unwrap();
        let mut child = build_command(&ws, &builds)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        while !pid_file.exists() || fs::read_to_string(&pid_file).unwrap().is_empty() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "{}",
                fs::read_to_string(tmp.join("stderr")).unwrap()
            );
            assert!(
                std::time::Instant::now() < deadline,
                "the build script never ran"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let script: i32 = fs::read_to_string(&pid_file).unwrap().parse().unwrap();
        let partial: Vec<_> = fs::read_dir(&builds)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            partial.len(),
            1,
            "the build is under way in a .partial folder: {partial:?}"
        );

        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{name}: repro still runs 60 s after the signal");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let stderr = fs::read_to_string(tmp.join("stderr")).unwrap();
        assert_eq!(
            (status.code(), status.signal()),
            (Some(code), None),
            "{name}: exits with 128+signal after cleaning up\n{stderr}"
        );
        assert!(
            stderr.ends_with(&format!("repro: interrupted ({name}): cargo was stopped and the unfinished build folder removed\n")),
            "{stderr}"
        );
        let left: Vec<_> = fs::read_dir(&builds)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            left.is_empty(),
            "{name}: nothing is left in builds/: {left:?}"
        );
        // Cargo's build script was stopped too, not left running.
        let gone = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Path::new(&format!("/proc/{script}")).exists()
            && !fs::read_to_string(format!("/proc/{script}/stat")).is_ok_and(|s| s.contains(") Z "))
        {
            assert!(
                std::time::Instant::now() < gone,
                "{name}: the build script {script} still runs"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

#[test]
fn each_artifacts_line_on_stderr_counts_where_the_build_is() {
    let (_guard, tmp) = tmp();
    let ws = fixture(&tmp, &host(), "fn main() {}\n", None);
    // The same crate released under a second name: two artifacts, one compile.
    let manifest = fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    let manifest = manifest.replace(
        "profiles.all = [\"stamp\"]",
        "profiles.all = [\"stamp\", \"stamp_again\"]",
    ) + "\n[workspace.metadata.repro.packages.stamp_again]\ncrate = \"stamp\"\nfeatures = []\nbin = \"stamp-again\"\n";
    fs::write(ws.join("Cargo.toml"), manifest).unwrap();
    let r = build_without_retest(&ws, &tmp.join("builds"), &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let ours: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with("==> ")).collect();
    let host = host();
    assert_eq!(
        ours,
        [
            format!("==> [run 1] stamp for {host} (1 of 2) (crate=stamp bin=stamp-bin)"),
            format!("==> [run 1] stamp_again for {host} (2 of 2) (crate=stamp bin=stamp-again)"),
        ],
        "{}",
        r.stderr
    );
}

fn git_head(ws: &Path) -> String {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(ws)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_manifest_names_the_release_and_the_commit_it_was_built_from() {
    let (_guard, tmp) = tmp();
    let unbuildable = "sparc64-unknown-linux-gnu";
    // Two triples, one of which nothing here can build: --triple picks the other.
    let ws = fixture(
        &tmp,
        &format!("{}\", \"{unbuildable}", host()),
        "fn main() {}\n",
        None,
    );
    fs::write(ws.join(".gitignore"), "/target/\n").unwrap();
    if git(&ws, &["init", "-q"]).is_none() {
        println!("SKIPPED: git is not installed");
        return;
    }
    git(&ws, &["add", "-A"]).unwrap();
    git(&ws, &["commit", "-q", "-m", "fixture"]).unwrap();
    let head = git_head(&ws);
    let builds = tmp.join("builds");

    let r = build(&ws, &builds, &["--triple", "nope-linux"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        format!(
            "repro: --triple `nope-linux` is not a triple of host-all (its triples: {}, {unbuildable})\n",
            host()
        )
    );
    let r = build(&ws, &builds, &["--release-version", "1.2"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("repro: --release-version: `1.2` is not a semantic version"),
        "{}",
        r.stderr
    );
    assert!(!builds.exists(), "nothing is half-written");

    let r = build(
        &ws,
        &builds,
        &["--triple", &host(), "--release-version", "1.2.3"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let folder = only_folder(&builds);
    // Run 2 builds a copy without .git: it still names the original's commit.
    for run in ["run1", "run2"] {
        let m = repro::manifest::Manifest::load(&folder.join(run))
            .unwrap()
            .1;
        assert_eq!(m.build.version.as_deref(), Some("1.2.3"), "{run}");
        assert_eq!(m.build.source_rev.as_deref(), Some(head.as_str()), "{run}");
        assert_eq!(m.build.build_modes.keys().collect::<Vec<_>>(), [&host()]);
        assert!(m.artifacts.iter().all(|a| a.target == host()), "{run}");
    }
    fs::remove_dir_all(&builds).unwrap();

    // An untracked file is a change: its build cannot be checked out again.
    fs::write(ws.join("notes.txt"), "uncommitted\n").unwrap();
    let r = build_without_retest(&ws, &builds, &["--triple", &host()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let expected = format!(
        "warning: {} has uncommitted changes (1 path, first: `?? notes.txt`): the manifest names no source revision (build.source_rev), so rebuilders cannot rebuild this release; commit first, then build\n",
        ws.display()
    );
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("has no [workspace.package] version and no --release-version was given"),
        "{}",
        r.stderr
    );
    let m = repro::manifest::Manifest::load(&only_folder(&builds))
        .unwrap()
        .1;
    assert_eq!((m.build.version, m.build.source_rev), (None, None));
}
