//! `repro rebuilderd key`, `collect` and `status` against a real rebuilderd
//! 0.28 daemon and worker (tests/rebuilderd_instance.rs), with a stand-in
//! backend that copies the release's binary: this exercises the real API,
//! not a rebuild (the end-to-end test runs the real backend). Skipped
//! (SKIPPED on stderr) unless CAMHUB_REBUILDERD_ROOT or
//! CAMHUB_REBUILDERD_BIN_DIR names the binaries.

mod common;
#[path = "common/fake_rebuilderd.rs"]
mod fake_rebuilderd;
#[path = "../../tests/rebuilderd_instance.rs"]
mod rebuilderd_instance;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::*;
use fake_rebuilderd::*;
use repro::cli::rebuilderd::collect::CollectReport;
use repro::cli::rebuilderd::status::StatusReport;
use repro::rebuilderd::status::State;
use serde_json::json;

/// The release's build inputs, `rebuilderd/<triple>.json`, as sync writes them.
fn write_inputs(release: &Path, triples: &[&str]) {
    let inputs = release.join("rebuilderd");
    fs::create_dir_all(&inputs).unwrap();
    let manifest = fs::read(release.join("manifest.json")).unwrap();
    for triple in triples {
        fs::write(
            inputs.join(format!("{triple}.json")),
            repro::rebuilderd::input::render(&manifest, triple).unwrap(),
        )
        .unwrap();
    }
}

/// An executable shell script.
fn script(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// The PackageReport of one triple (distribution camhub, component main),
/// the release served under `base`.
fn report(base: &str, triple: &str) -> String {
    json!({
        "distribution": "camhub", "release": RELEASE, "architecture": triple,
        "packages": [{
            "name": SOURCE, "version": VERSION,
            "url": format!("{base}/rebuilderd/{triple}.json"),
            "artifacts": [{"name": BIN, "version": VERSION, "component": "main",
                           "architecture": triple, "url": format!("{base}/{triple}/{BIN}")}]
        }]
    })
    .to_string()
}

/// in-toto's keyid of an ed25519 key given as 64 hex: sha256 of the
/// canonical JSON of its key object.
fn keyid(hex: &str) -> String {
    sha256_hex(
        format!(
            r#"{{"keyid_hash_algorithms":["sha256","sha512"],"keytype":"ed25519","keyval":{{"public":"{hex}"}},"scheme":"ed25519"}}"#
        )
        .as_bytes(),
    )
}

#[test]
fn key_collect_and_status_against_a_real_rebuilderd() {
    let Some(bins) = rebuilderd_instance::available() else {
        return;
    };
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    write_inputs(&release, &[X86, ARM]);
    // The stand-in "rebuild": the triple from the input's name, the release's binary copied.
    let backend = tmp.join("backend.sh");
    script(
        &backend,
        &format!(
            "#!/bin/sh\nset -e\ntriple=$(basename \"$1\" .json)\ncp \"{}/$triple/{BIN}\" \"$REBUILDERD_OUTDIR/{BIN}\"\n",
            release.display()
        ),
    );
    let files = FileServer::start(tmp.clone());
    let mut options = rebuilderd_instance::Options::new(&[X86, ARM], &backend);
    options.ports = Some(18480..=18489);
    let inst = rebuilderd_instance::Instance::start(&bins, options);
    let base = format!("{}/release", files.url);
    for triple in [X86, ARM] {
        inst.sync(&report(&base, triple));
    }
    for triple in [X86, ARM] {
        let verdict = inst.wait_for_verdict(BIN, VERSION, triple, Duration::from_secs(120));
        assert_eq!(verdict, "GOOD", "{}", inst.logs());
    }
    eprintln!("rebuilderd memory after two rebuilds: {:?}", inst.memory());

    let r = run_within(repro().args(["rebuilderd", "key", &inst.url]), 60);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let key = r.stdout.trim().to_owned();
    assert!(repro::rebuilderd::trust::parse_key(&key).is_some(), "{key}");

    let rebuilders = tmp.join("rebuilders.toml");
    fs::write(
        &rebuilders,
        format!(
            "k = 1\n[[rebuilder]]\nname = \"alice\"\nkey = \"{key}\"\nurl = \"{}\"\n",
            inst.url
        ),
    )
    .unwrap();
    let r = run_within(
        repro()
            .args(["rebuilderd", "collect", "--json", "--rebuilders"])
            .arg(&rebuilders)
            .arg(&release),
        60,
    );
    assert_eq!(r.code, 0, "{}{}\n{}", r.stdout, r.stderr, inst.logs());
    let report: CollectReport = serde_json::from_str(&r.stdout).unwrap();
    assert!(report.complete);
    assert_eq!(report.results.len(), 2);
    for triple in [X86, ARM] {
        let path = release
            .join("attestations/rebuilderd/alice")
            .join(triple)
            .join(format!("{BIN}.link"));
        let link: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        assert_eq!(
            link["signed"]["products"][BIN]["sha256"],
            json!(binary_sha(&release, triple))
        );
        assert_eq!(
            link["signed"]["materials"][format!("{triple}.json")]["sha256"],
            json!(input_sha(&release, triple))
        );
        // The worker's signature, and the daemon's, made with the key `key` printed.
        let ids: Vec<&str> = link["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["keyid"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 2, "{link}");
        assert!(
            ids.contains(&keyid(key.trim_start_matches("ed25519:")).as_str()),
            "{ids:?} {key}"
        );
    }
    eprintln!("rebuilderd memory after collect: {:?}", inst.memory());

    // Collecting again changes nothing: the daemon countersigned on the first fetch.
    let links: Vec<Vec<u8>> = [X86, ARM]
        .iter()
        .map(|t| {
            fs::read(release.join(format!("attestations/rebuilderd/alice/{t}/{BIN}.link"))).unwrap()
        })
        .collect();
    let r = run_within(
        repro()
            .args(["rebuilderd", "collect", "--rebuilders"])
            .arg(&rebuilders)
            .arg(&release),
        60,
    );
    eprintln!("{}", r.stdout);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with("COLLECTED  alice"))
            .count(),
        2
    );
    for (t, before) in [X86, ARM].iter().zip(links) {
        let now = fs::read(release.join(format!("attestations/rebuilderd/alice/{t}/{BIN}.link")))
            .unwrap();
        assert_eq!(now, before);
    }

    let mut status = repro();
    status
        .args(["rebuilderd", "status", "--rebuilders"])
        .arg(&rebuilders)
        .arg(&release);
    let r = run_within(&mut status, 60);
    eprintln!("{}", r.stdout);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for triple in [X86, ARM] {
        let line = r.stdout.lines().find(|l| l.contains(triple)).unwrap();
        assert!(line.ends_with("  GOOD"), "{line}");
    }
    let r = run_within(status.arg("--json"), 60);
    let report: StatusReport = serde_json::from_str(&r.stdout).unwrap();
    assert!(report.all_good);
    assert!(
        report.releases[0]
            .artifacts
            .iter()
            .all(|a| { a.instances[0].state == State::Good && a.instances[0].build_id.is_some() })
    );
}

/// The harness's worker controls, as the end-to-end test needs them: a
/// worker killed mid-build takes its backend with it, the job it held is
/// freed by drop + push, and a restarted worker (same key) finishes it.
#[test]
fn a_job_held_by_a_killed_worker_is_freed_and_finished() {
    let Some(bins) = rebuilderd_instance::available() else {
        return;
    };
    let (_t, tmp) = tmp();
    let release = release_dir(&tmp);
    write_inputs(&release, &[X86]);
    let stall = tmp.join("stall");
    let pidfile = tmp.join("backend.pid");
    fs::write(&stall, "").unwrap();
    // While `stall` exists the backend records its pid and hangs, like a long build.
    let backend = tmp.join("backend.sh");
    script(
        &backend,
        &format!(
            "#!/bin/sh\nset -e\nif [ -e \"$STALL\" ]; then echo $$ > \"$PIDFILE\"; exec sleep 600; fi\ncp \"{}/{X86}/{BIN}\" \"$REBUILDERD_OUTDIR/{BIN}\"\n",
            release.display()
        ),
    );
    let files = FileServer::start(tmp.clone());
    let mut options = rebuilderd_instance::Options::new(&[X86], &backend);
    options.ports = Some(18480..=18489);
    options.env = vec![
        ("STALL".into(), stall.display().to_string()),
        ("PIDFILE".into(), pidfile.display().to_string()),
    ];
    let mut inst = rebuilderd_instance::Instance::start(&bins, options);
    inst.sync(&report(&format!("{}/release", files.url), X86));
    let pid: u32 = inst.wait_until("the backend to start", Duration::from_secs(60), |_| {
        fs::read_to_string(&pidfile).ok()?.trim().parse().ok()
    });
    let jobs = inst.queue_ls();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(jobs[0]["started_at"].is_string(), "{jobs:?}");

    inst.kill_worker();
    let alive = |pid: u32| {
        fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            !s.lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
        })
    };
    inst.wait_until(
        "the backend to die with its worker",
        Duration::from_secs(10),
        |_| (!alive(pid)).then_some(()),
    );
    fs::remove_file(&stall).unwrap();
    inst.requeue(SOURCE, VERSION, X86);
    inst.start_worker();
    let verdict = inst.wait_for_verdict(BIN, VERSION, X86, Duration::from_secs(60));
    assert_eq!(verdict, "GOOD", "{}", inst.logs());
    assert!(inst.queue_ls().is_empty());
    eprintln!("rebuilderd memory: {:?}", inst.memory());
}
