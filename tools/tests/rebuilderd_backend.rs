//! `repro rebuilderd backend`, driven as the rebuilderd worker runs it:
//! `BACKEND inputs/<triple>.json` with REBUILDERD_OUTDIR set.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use repro::hashing::sha256_bytes;
use repro::manifest::{Artifact, BuildInfo, Manifest};
use repro::rebuilderd::input::{self, RebuildInput};

const REV: &str = "0123456789abcdef0123456789abcdef01234567";

fn manifest(rev: Option<&str>, mode: Option<&str>) -> Manifest {
    Manifest {
        build: BuildInfo {
            target: "ipcamera".into(),
            profile: "camerahub".into(),
            run_id: "1".into(),
            timestamp: "2026-01-01T00:00:00Z".into(),
            build_modes: mode
                .map(|m| (X86.to_owned(), m.to_owned()))
                .into_iter()
                .collect(),
            version: Some("0.1.0".into()),
            source_rev: rev.map(str::to_owned),
        },
        artifacts: vec![Artifact {
            package: "ip_camera_hub".into(),
            target: X86.into(),
            bin: "camhub-ip".into(),
            bin_path: format!("{X86}/camhub-ip"),
            sha256: Some(sha256_bytes(b"release")),
            crate_name: "camera_hub".into(),
            version: "0.1.0".into(),
            crate_lock_sha256: LOCK.into(),
            rust_digest: DIGEST.into(),
        }],
    }
}

/// A worker's job folder: inputs/ with the input (and an original binary,
/// which the backend must never need), out/ empty, and a TMPDIR of its own.
struct Job {
    _guard: tempfile::TempDir,
    root: PathBuf,
}

impl Job {
    fn new(input_bytes: &[u8]) -> Job {
        let (guard, root) = tmp();
        for dir in ["inputs", "out", "tmp"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(root.join("inputs").join(format!("{X86}.json")), input_bytes).unwrap();
        fs::write(root.join("inputs/camhub-ip"), b"release").unwrap();
        Job {
            _guard: guard,
            root,
        }
    }

    fn input(&self) -> PathBuf {
        self.root.join("inputs").join(format!("{X86}.json"))
    }

    fn command(&self, source: &str) -> std::process::Command {
        let mut cmd = repro();
        cmd.args(["rebuilderd", "backend"])
            .arg(self.input())
            .args(["--source", source])
            .env("REBUILDERD_OUTDIR", self.root.join("out"))
            .env("TMPDIR", self.root.join("tmp"))
            .env_remove("CAMHUB_REBUILD_SOURCE")
            .env_remove("CAMHUB_REBUILD_WORK_DIR")
            .env_remove("CAMHUB_REBUILD_REPRO");
        cmd
    }

    /// Nothing reached the worker's out folder and no work folder was left.
    fn assert_clean(&self) {
        for dir in ["out", "tmp"] {
            let left: Vec<_> = fs::read_dir(self.root.join(dir)).unwrap().collect();
            assert!(left.is_empty(), "{dir}/ holds {left:?}");
        }
    }
}

fn render(m: &Manifest) -> Vec<u8> {
    input::render(m.to_canonical_json().as_bytes(), X86).unwrap()
}

#[test]
fn unusable_inputs_are_refused_with_the_reason_and_nothing_written() {
    let good = manifest(Some(REV), None);
    let text = good.to_canonical_json();
    let other_schema = serde_json::to_vec(&RebuildInput {
        schema: "camhub-rebuild-input/0".into(),
        triple: X86.into(),
        manifest_sha256: sha256_bytes(text.as_bytes()),
        manifest: text.clone(),
    })
    .unwrap();
    let dirty = manifest(None, None).to_canonical_json();
    let no_rev = serde_json::to_vec(&RebuildInput {
        schema: input::SCHEMA.into(),
        triple: X86.into(),
        manifest_sha256: sha256_bytes(dirty.as_bytes()),
        manifest: dirty,
    })
    .unwrap();
    let edited = String::from_utf8(render(&good))
        .unwrap()
        .replace("camhub-ip", "camhub-XX")
        .into_bytes();
    for (bytes, expect) in [
        (
            b"#!/bin/sh\n".to_vec(),
            "not a camhub rebuild input (camhub-rebuild-input/1)",
        ),
        (
            other_schema,
            "schema `camhub-rebuild-input/0`, but this repro reads camhub-rebuild-input/1",
        ),
        (
            no_rev,
            "the manifest names no source revision (build.source_rev)",
        ),
        (
            edited,
            "manifest_sha256 does not match the manifest it carries",
        ),
    ] {
        let job = Job::new(&bytes);
        let r = run(&mut job.command("/nonexistent"));
        assert_eq!(r.code, 2, "{expect}: {}", r.stderr);
        // Under qemu-user the error follows the backend's subreaper warning.
        let error = r
            .stderr
            .lines()
            .find(|l| !l.starts_with(repro::rebuilderd::SUBREAPER_WARNING))
            .unwrap_or_default();
        assert!(
            error.starts_with(&format!("repro: {}: ", job.input().display())),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains(expect), "{expect}: {}", r.stderr);
        assert_eq!(r.stdout, "");
        job.assert_clean();
    }

    // Larger than any input: refused from its size, not read.
    let job = Job::new(b"");
    fs::File::create(job.input())
        .unwrap()
        .set_len(input::INPUT_LIMIT + 1)
        .unwrap();
    let r = run(&mut job.command("/nonexistent"));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("larger than 16777216 bytes"),
        "{}",
        r.stderr
    );
    job.assert_clean();

    // A folder, or a FIFO the worker never writes, is not an input.
    let job = Job::new(b"");
    fs::remove_file(job.input()).unwrap();
    fs::create_dir(job.input()).unwrap();
    let r = run_within(&mut job.command("/nonexistent"), 20);
    assert_eq!(r.code, 2, "{}", r.stderr);
    job.assert_clean();

    // No out folder from the worker nor the command line.
    let job = Job::new(&render(&good));
    let r = run(job.command("/nonexistent").env_remove("REBUILDERD_OUTDIR"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--out-dir <DIR>"), "{}", r.stderr);
}

#[test]
fn a_release_built_with_nix_needs_nix_on_the_worker() {
    let job = Job::new(&render(&manifest(
        Some(REV),
        Some("nix-native-x86_64-linux"),
    )));
    let empty = job.root.join("empty-path");
    fs::create_dir_all(&empty).unwrap();
    let r = run(job.command("/nonexistent").env("PATH", &empty));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "repro: this release was built with Nix (build mode `nix-native-x86_64-linux` for {X86}), and `nix` is not on this worker's PATH; install Nix (with flakes) on the worker to rebuild it"
        )),
        "{}",
        r.stderr
    );
    job.assert_clean();
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

#[test]
fn a_source_without_the_release_commit_is_named_with_the_rev() {
    let job = Job::new(&render(&manifest(Some(REV), None)));
    let source = job.root.join("source");
    fs::create_dir_all(&source).unwrap();
    if git(&source, &["init", "-q"]).is_none() {
        println!("SKIPPED: git is not installed");
        return;
    }
    fs::write(source.join("README"), "another project\n").unwrap();
    git(&source, &["add", "-A"]).unwrap();
    git(&source, &["commit", "-q", "-m", "one"]).unwrap();
    let r = run(&mut job.command(source.to_str().unwrap()));
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains(&format!(
            "repro: {}: has no commit {REV}, the release's build.source_rev; point --source (or CAMHUB_REBUILD_SOURCE) at a repository that has it",
            source.display()
        )),
        "{}",
        r.stderr
    );
    // The log shows what was tried: the shallow fetch, then all of it.
    assert!(r.stderr.contains("fetching all of it"), "{}", r.stderr);
    job.assert_clean();
}

/// Whether the process is gone (a zombie nobody reaps counts as gone).
fn gone(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_backend_and_its_build_die_with_the_worker() {
    let job = Job::new(&render(&manifest(Some(REV), None)));
    // A git that hangs, as a fetch from a stalled remote would, and says who it is.
    let bin = job.root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let git_pid = job.root.join("git.pid");
    // It also starts a process in a session of its own, which no signal to
    // git's process group reaches: what a build leaves behind.
    let orphan_pid = job.root.join("orphan.pid");
    fs::write(
        bin.join("git"),
        format!(
            "#!/bin/sh\nsetsid sh -c 'echo $$ > {1}.tmp && mv {1}.tmp {1}; exec sleep 300' &\necho $$ > {0}.tmp && mv {0}.tmp {0}\nexec sleep 300\n",
            git_pid.display(),
            orphan_pid.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(bin.join("git"), fs::Permissions::from_mode(0o755)).unwrap();
    let backend_pid = job.root.join("backend.pid");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());

    // The worker: a parent that starts the backend and is then killed.
    let mut backend = job.command("/nonexistent");
    backend.env("PATH", &path);
    let program = backend.get_program().to_owned();
    let args: Vec<_> = backend.get_args().map(|a| a.to_owned()).collect();
    let mut worker = std::process::Command::new("/bin/sh");
    worker
        .arg("-c")
        .arg(format!(
            "\"$@\" & echo $! > {}; wait",
            backend_pid.display()
        ))
        .arg("worker")
        .arg(program)
        .args(args)
        .envs(backend.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(job.root.join("backend.log")).unwrap());
    let mut worker = worker.spawn().unwrap();
    wait_for("the backend to start git", 30, || {
        git_pid.exists() && orphan_pid.exists()
    });
    let backend: i32 = fs::read_to_string(&backend_pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let git: i32 = fs::read_to_string(&git_pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let orphan: i32 = fs::read_to_string(&orphan_pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!gone(backend) && !gone(git) && !gone(orphan));
    let work: Vec<_> = fs::read_dir(job.root.join("tmp")).unwrap().collect();
    assert_eq!(
        work.len(),
        1,
        "the backend's work folder exists while it runs"
    );

    worker.kill().unwrap();
    worker.wait().unwrap();
    wait_for("the backend to die with its parent", 20, || gone(backend));
    wait_for("its git to die with it", 20, || gone(git));
    let log = fs::read_to_string(job.root.join("backend.log")).unwrap();
    if log.contains(repro::rebuilderd::SUBREAPER_WARNING) {
        // qemu-user before 8.0 (the aarch64 tests here) cannot make the
        // backend a subreaper; it said so, and the orphan is not its to stop.
        eprintln!("no subreaper here, as the backend said: {log}");
        // SAFETY: kill(2) on a pid this test started.
        unsafe { libc::kill(orphan, libc::SIGKILL) };
    } else {
        wait_for("what git left running to be stopped", 20, || gone(orphan));
    }
    // It stopped on SIGTERM, so it removed its work folder on the way out.
    job.assert_clean();
}

/// The happy path on this workspace's own repository: a release of
/// ipcamera-camerahub for x86_64 built from a clean clone at HEAD, then
/// rebuilt by the backend from that repository in the same work folder (so
/// cargo's cache is warm and the test stays short; the bytes are the
/// release's either way). A real release build takes minutes, and CI already
/// runs the same rebuild through the real rebuilderd worker
/// (e2e/tests/rebuilderd.rs), so this one runs on request:
/// `cargo test -p repro --test rebuilderd_backend -- --ignored`.
#[test]
#[ignore = "a real release build (minutes); e2e/tests/rebuilderd.rs runs it in CI through the real worker"]
fn rebuilds_a_release_of_this_workspace_from_its_commit() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let Some(head) = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&repo)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned())
    else {
        println!(
            "SKIPPED: the workspace is not a git checkout (the Nix build's source has no .git)"
        );
        return;
    };
    if host_triple() != X86 {
        println!("SKIPPED: the release built here is x86_64's");
        return;
    }
    let (_guard, tmp) = tmp();
    let work = tmp.join("work");
    let checkout = work.join("checkout");
    fs::create_dir_all(&work).unwrap();
    git(
        &work,
        &[
            "clone",
            "-q",
            "--no-checkout",
            repo.to_str().unwrap(),
            "checkout",
        ],
    )
    .unwrap();
    git(&checkout, &["checkout", "-q", "--detach", &head]).unwrap();
    let www = tmp.join("www");
    let r = run(repro()
        .args(["build", "--target", "ipcamera", "--profile", "camerahub"])
        .args(["--triple", X86, "--workspace"])
        .arg(&checkout)
        .arg("--out")
        .arg(&www));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let release = fs::read_dir(&www).unwrap().next().unwrap().unwrap().path();
    let manifest_bytes = fs::read(release.join("manifest.json")).unwrap();
    let manifest = Manifest::parse(&manifest_bytes).unwrap();
    assert_eq!(manifest.build.source_rev.as_deref(), Some(head.as_str()));

    let job = Job::new(&input::render(&manifest_bytes, X86).unwrap());
    let r = run(job
        .command(repo.to_str().unwrap())
        .arg("--work-dir")
        .arg(&work)
        .arg("--repro")
        .arg(env!("CARGO_BIN_EXE_repro")));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let release_hash = sha256_bytes(&fs::read(release.join(X86).join("camhub-ip")).unwrap());
    assert_eq!(
        r.stdout,
        format!("camhub-ip: sha256 {release_hash} equals the release's\n")
    );
    assert_eq!(
        sha256_bytes(&fs::read(job.root.join("out/camhub-ip")).unwrap()),
        release_hash
    );
    for line in [
        format!(
            "+ git -C {} fetch -q --no-tags --depth 1 -- ",
            checkout.display()
        ),
        format!(
            "==> building with the given repro {}",
            env!("CARGO_BIN_EXE_repro")
        ),
        format!("==> {X86} was built with cargo (cargo-native): repro build --triple {X86}"),
        format!(
            "==> the rebuild's manifest names the same release: version {}, source_rev {head}",
            manifest.build.version.as_deref().unwrap()
        ),
    ] {
        assert!(r.stderr.contains(&line), "{line}\n{}", r.stderr);
    }
    // Only the out folder got the binary; the given work folder is kept.
    let out: Vec<_> = fs::read_dir(job.root.join("out")).unwrap().collect();
    assert_eq!(out.len(), 1);
    assert!(checkout.join(".git").exists());
}

fn host_triple() -> String {
    let out = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap()
        .to_owned()
}

/// Two workers on one machine run the same backend script, so they share its
/// --work-dir: the second waits for the first instead of checking out
/// another revision under its build.
#[test]
fn two_backends_with_one_work_dir_take_turns() {
    let (a, b) = (
        Job::new(&render(&manifest(Some(REV), None))),
        Job::new(&render(&manifest(Some(REV), None))),
    );
    let work = a.root.join("work");
    // A git whose fetch hangs, as from a stalled remote, and says when it started.
    let bin = a.root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let fetches = a.root.join("fetches");
    fs::write(
        bin.join("git"),
        format!(
            "#!/bin/sh\ncase \"$3\" in init) exit 0;; esac\necho $$ >> {}\nexec sleep 300\n",
            fetches.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(bin.join("git"), fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let started = |n: usize| {
        fs::read_to_string(&fetches)
            .map(|t| t.lines().count() >= n)
            .unwrap_or(false)
    };
    let spawn = |job: &Job| {
        let log = fs::File::create(job.root.join("log")).unwrap();
        job.command("/nonexistent")
            .arg("--work-dir")
            .arg(&work)
            .env("PATH", &path)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    };
    let log = |job: &Job| fs::read_to_string(job.root.join("log")).unwrap_or_default();
    let stop = |child: &mut std::process::Child| {
        // SAFETY: a signal to a child this test started and has not reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().unwrap()
    };

    let mut first = spawn(&a);
    wait_for("the first backend's fetch", 30, || started(1));
    let mut second = spawn(&b);
    wait_for("the second backend to wait for the work folder", 30, || {
        log(&b).contains(&format!(
            "==> waiting for {}: another rebuild is using this work folder",
            work.display()
        ))
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !started(2),
        "the second fetched while the first had the work folder"
    );
    assert!(second.try_wait().unwrap().is_none(), "{}", log(&b));
    // The first stops (its worker died): the second goes on.
    let status = stop(&mut first);
    assert!(!status.success(), "{}", log(&a));
    wait_for("the second backend's fetch", 30, || started(2));
    let status = stop(&mut second);
    assert!(!status.success(), "{}", log(&b));
    // A stopped backend stops its git too.
    for pid in fs::read_to_string(&fetches).unwrap().lines() {
        let pid: i32 = pid.parse().unwrap();
        wait_for("a hanging git to be stopped", 20, || gone(pid));
    }
}
