//! The trust loop with the real rebuilderd 0.28 (daemon, worker and
//! rebuildctl, Debian's packages; no double): a release made by `repro
//! build` is served on 127.0.0.1, synced into two independent instances with
//! their own keys, rebuilt by their workers through `repro rebuilderd
//! backend`, collected into the release, and installed by `camhub-update`
//! with k = 2. A tampered release is BAD on both and refused naming the
//! binary and the instances; one instance's links alone are too few; a
//! worker killed mid-build leaves its job queued, and it finishes after the
//! worker restarts.
//!
//! Skipped (with a line saying so) unless rebuilderd is found: CI installs it
//! with scripts/rebuilderd-root and sets CAMHUB_REBUILDERD_ROOT and
//! CAMHUB_REQUIRE_REBUILDERD=1, so there it cannot be skipped.

#[path = "../../tests/rebuilderd_instance.rs"]
mod rebuilderd_instance;

use rebuilderd_instance::{Instance, Options};

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

const TRIPLE: &str = "x86_64-unknown-linux-gnu";
const BIN: &str = "camhub-ip";
/// The smallest pair of the matrix that runs on this machine without the cross toolchain.
const PAIR: (&str, &str) = ("ipcamera", "camerahub");

fn repro() -> &'static str {
    env!("CARGO_BIN_EXE_repro")
}

fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program).args(args).output().unwrap();
    eprintln!(
        "$ {program} {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Serves `root` read-only over HTTP/1.0 on 127.0.0.1: the release host the
/// workers download binaries and inputs from.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let root = root.clone();
            thread::spawn(move || {
                let mut request = String::new();
                let mut reader = BufReader::new(&stream);
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let file = path
                    .trim_start_matches('/')
                    .split('/')
                    .all(|part| !part.is_empty() && part != "..")
                    .then(|| root.join(path.trim_start_matches('/')))
                    .and_then(|p| fs::read(p).ok());
                let _ = match file {
                    Some(body) => stream
                        .write_all(
                            format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                                .as_bytes(),
                        )
                        .and_then(|()| stream.write_all(&body)),
                    None => {
                        stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    }
                };
            });
        }
    });
    url
}

/// A clean clone of this repository at HEAD: the source the release is
/// built from and the rebuilders fetch (by commit hash) through their backend.
fn clone_source(dir: &Path) -> (PathBuf, String) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let source = dir.join("camhub.git");
    let out = run(
        "git",
        &[
            "clone",
            "-q",
            "--no-hardlinks",
            workspace.to_str().unwrap(),
            source.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let head = run(
        "git",
        &["-C", source.to_str().unwrap(), "rev-parse", "HEAD"],
    );
    let rev = String::from_utf8(head.stdout).unwrap().trim().to_owned();
    (source, rev)
}

/// The release: `repro build` of the pair for this machine's triple, its
/// SHA256SUMS from `repro sums`, in `<www>/<name>/`.
fn build_release(source: &Path, www: &Path, name: &str) -> PathBuf {
    let builds = www.parent().unwrap().join("builds");
    let started = Instant::now();
    let out = run(
        repro(),
        &[
            "build",
            "--workspace",
            source.to_str().unwrap(),
            "--target",
            PAIR.0,
            "--profile",
            PAIR.1,
            "--triple",
            TRIPLE,
            "--release-version",
            "1.0.0",
            "--out",
            builds.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    eprintln!("release build: {:.1} s", started.elapsed().as_secs_f64());
    let built = fs::read_dir(&builds)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let release = www.join(name);
    fs::create_dir_all(www).unwrap();
    fs::rename(built, &release).unwrap();
    write_sums(&release);
    release
}

fn write_sums(release: &Path) {
    let out = run(repro(), &["sums", release.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    fs::write(release.join("SHA256SUMS"), out.stdout).unwrap();
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A hostile publisher's release: the honest one as version `version`, with
/// one byte of the binary changed and every hash list made to match it, so
/// only a rebuild can tell.
fn tampered_copy(honest: &Path, tampered: &Path, version: &str) {
    fs::create_dir_all(tampered.join(TRIPLE)).unwrap();
    let mut binary = fs::read(honest.join(TRIPLE).join(BIN)).unwrap();
    let middle = binary.len() / 2;
    binary[middle] ^= 0x01;
    fs::write(tampered.join(TRIPLE).join(BIN), &binary).unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(honest.join("manifest.json")).unwrap()).unwrap();
    manifest["build"]["version"] = version.into();
    for artifact in manifest["artifacts"].as_array_mut().unwrap() {
        if artifact["bin"] == BIN {
            artifact["sha256"] = sha256(&binary).into();
        }
    }
    fs::write(
        tampered.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).unwrap() + "\n",
    )
    .unwrap();
    write_sums(tampered);
}

/// Processes whose command line or working folder mentions `needle`: the
/// backend of one instance and everything it started (git, repro build,
/// cargo, rustc all run in its work folder).
fn processes_under(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = fs::read(entry.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        let cwd = fs::read_link(entry.path().join("cwd"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if cmdline.contains(needle) || cwd.starts_with(needle) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// The worker process of an instance: rebuilderd-worker running in `<dir>/worker`.
fn worker_pid(instance: &Instance) -> u32 {
    let wdir = instance.dir.join("worker").display().to_string();
    processes_under(&wdir)
        .into_iter()
        .find(|(_, cmd)| cmd.contains("rebuilderd-worker"))
        .map(|(pid, _)| pid)
        .expect("the worker runs")
}

/// What the operator's worker config points `[backend."camhub"]` at: a
/// wrapper that passes the source and the work folder to repro's backend.
fn backend_wrapper(dir: &Path, source: &Path, work: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(work).unwrap();
    let path = dir.join("camhub-backend");
    fs::write(
        &path,
        format!(
            "#!/bin/sh\nexec '{}' rebuilderd backend --source '{}' --repro '{}' --work-dir '{}' \"$@\"\n",
            repro(),
            source.display(),
            repro(),
            work.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn rebuilders_file(path: &Path, k: usize, instances: &[(&str, &Instance)]) {
    let mut toml = format!("k = {k}\n");
    for (name, instance) in instances {
        let out = run(repro(), &["rebuilderd", "key", &instance.url]);
        assert!(out.status.success(), "{}", text(&out));
        let key = String::from_utf8(out.stdout).unwrap();
        let key = key.lines().next().unwrap_or_default().trim().to_owned();
        assert!(key.starts_with("ed25519:"), "{key}");
        toml.push_str(&format!(
            "[[rebuilder]]\nname = \"{name}\"\nkey = \"{key}\"\nurl = \"{}\"\n",
            instance.url
        ));
    }
    fs::write(path, toml).unwrap();
}

fn collect(release: &Path, rebuilders: &Path) -> Output {
    run(
        repro(),
        &[
            "rebuilderd",
            "collect",
            release.to_str().unwrap(),
            "--rebuilders",
            rebuilders.to_str().unwrap(),
        ],
    )
}

fn update(install: &Path, release: &Path, rebuilders: &Path) -> Output {
    run(
        env!("CARGO_BIN_EXE_camhub-update"),
        &[
            "--install",
            install.to_str().unwrap(),
            "--release",
            release.to_str().unwrap(),
            "--rebuilders",
            rebuilders.to_str().unwrap(),
            "--triple",
            TRIPLE,
        ],
    )
}

#[test]
fn two_independent_rebuilderd_instances_confirm_a_release_and_the_device_installs_only_that() {
    let Some(bins) = rebuilderd_instance::available() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (source, rev) = clone_source(dir);
    let www = dir.join("www");
    let honest = build_release(&source, &www, "camhub-1.0.0");
    let tampered = www.join("camhub-1.0.1");
    tampered_copy(&honest, &tampered, "1.0.1");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(honest.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["build"]["source_rev"], rev.as_str());
    let honest_hash = sha256(&fs::read(honest.join(TRIPLE).join(BIN)).unwrap());

    // The publisher's feed: one PackageReport per (release, triple), both versions.
    let base = serve(www.clone());
    let reports = dir.join("reports");
    let out = run(
        repro(),
        &[
            "rebuilderd",
            "sync",
            "--base-url",
            &base,
            www.to_str().unwrap(),
            "--out",
            reports.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let reports: Vec<String> = fs::read_dir(&reports)
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(reports.len(), 1, "one release name, one triple");

    // Two operators, each with their own daemon key, worker key and work folder.
    let mut instances = Vec::new();
    for name in ["alice", "bob"] {
        let backend = backend_wrapper(&dir.join(name), &source, &dir.join(name).join("work"));
        let mut options = Options::new(&[TRIPLE], &backend);
        // Apart from repro's own real-rebuilderd tests (18480-18489).
        options.ports = Some(18490..=18499);
        let instance = Instance::start(&bins, options);
        for report in &reports {
            instance.sync(report);
        }
        instances.push((name, instance));
    }
    let synced = Instant::now();
    let source_name = format!("camhub-{}-{}", PAIR.0, PAIR.1);

    // alice's worker is killed while her backend builds: the build dies with
    // it, the job stays in her queue, and after a requeue her restarted
    // worker finishes it.
    let (_, alice) = &mut instances[0];
    let alice_work = dir.join("alice").join("work").display().to_string();
    alice.wait_until("alice's backend building", Duration::from_secs(300), |_| {
        let busy = processes_under(&alice_work);
        busy.iter()
            .any(|(_, cmd)| cmd.contains("cargo") || cmd.contains("rustc"))
            .then_some(())
    });
    thread::sleep(Duration::from_secs(5));
    let worker = worker_pid(alice);
    assert!(
        Command::new("kill")
            .args(["-KILL", &worker.to_string()])
            .status()
            .unwrap()
            .success()
    );
    alice.wait_until(
        "alice's backend and its build gone after the worker was killed",
        Duration::from_secs(30),
        |_| processes_under(&alice_work).is_empty().then_some(()),
    );
    alice.kill_worker();
    let queued = alice.queue_ls();
    assert!(
        queued
            .iter()
            .any(|job| job.to_string().contains(&source_name)),
        "the killed worker's job is still in rebuilderd's queue: {queued:?}"
    );
    for version in ["1.0.0", "1.0.1"] {
        alice.requeue(&source_name, version, TRIPLE);
    }
    alice.start_worker();

    // Both instances: the honest release GOOD, the tampered one BAD.
    for (name, instance) in &instances {
        let good = instance.wait_for_verdict(BIN, "1.0.0", TRIPLE, Duration::from_secs(900));
        assert_eq!(good, "GOOD", "{name}: honest release\n{}", instance.logs());
        eprintln!(
            "{name}: 1.0.0 GOOD {:.1} s after the sync",
            synced.elapsed().as_secs_f64()
        );
        let bad = instance.wait_for_verdict(BIN, "1.0.1", TRIPLE, Duration::from_secs(900));
        assert_eq!(bad, "BAD", "{name}: tampered release\n{}", instance.logs());
        eprintln!(
            "{name}: 1.0.1 BAD {:.1} s after the sync; memory {:?}",
            synced.elapsed().as_secs_f64(),
            instance.memory()
        );
    }
    let pairs: Vec<(&str, &Instance)> = instances.iter().map(|(n, i)| (*n, i)).collect();
    let rebuilders = dir.join("rebuilders.toml");
    rebuilders_file(&rebuilders, 2, &pairs);

    let out = run(
        repro(),
        &[
            "rebuilderd",
            "status",
            honest.to_str().unwrap(),
            tampered.to_str().unwrap(),
            "--rebuilders",
            rebuilders.to_str().unwrap(),
        ],
    );
    assert!(
        text(&out).contains("GOOD") && text(&out).contains("BAD"),
        "{}",
        text(&out)
    );

    // The publisher collects the signed links into each release.
    let out = collect(&honest, &rebuilders);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for name in ["alice", "bob"] {
        let link = honest
            .join("attestations/rebuilderd")
            .join(name)
            .join(TRIPLE)
            .join(format!("{BIN}.link"));
        let link: serde_json::Value = serde_json::from_slice(&fs::read(&link).unwrap()).unwrap();
        assert_eq!(
            link["signed"]["products"][BIN]["sha256"],
            honest_hash.as_str()
        );
        assert_eq!(
            link["signatures"].as_array().unwrap().len(),
            2,
            "worker and daemon signed"
        );
    }
    let out = collect(&tampered, &rebuilders);
    assert_eq!(out.status.code(), Some(1), "BAD verdicts: {}", text(&out));

    // repro verify agrees with the device.
    let out = run(
        repro(),
        &[
            "verify",
            honest.to_str().unwrap(),
            "--attestations",
            honest.join("attestations").to_str().unwrap(),
            "--rebuilders",
            rebuilders.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The device, k = 2: the honest release installs.
    let device = dir.join("device");
    fs::create_dir_all(&device).unwrap();
    let install = device.join(BIN);
    let out = update(&install, &honest, &rebuilders);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sha256(&fs::read(&install).unwrap()), honest_hash);

    // The tampered release: BAD on both, refused naming the binary and both
    // instances, and nothing changes.
    let out = update(&install, &tampered, &rebuilders);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    for name in [BIN, "alice", "bob"] {
        assert!(said.contains(name), "the refusal names {name}: {said}");
    }
    assert_eq!(sha256(&fs::read(&install).unwrap()), honest_hash);

    // One instance's links only: k = 2 refuses.
    let only_alice = www.join("camhub-1.0.0-alice-only");
    copy_tree(&honest, &only_alice);
    fs::remove_dir_all(only_alice.join("attestations/rebuilderd/bob")).unwrap();
    let other_device = dir.join("device2");
    fs::create_dir_all(&other_device).unwrap();
    let out = update(&other_device.join(BIN), &only_alice, &rebuilders);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("bob"),
        "names the missing instance: {}",
        text(&out)
    );
    assert!(!other_device.join(BIN).exists());
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        if entry.is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::copy(&entry, &target).unwrap();
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut all = vec![dir.to_owned()];
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            all.extend(walk(&path));
        } else {
            all.push(path);
        }
    }
    all
}
