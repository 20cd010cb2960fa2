//! `repro rebuilderd sync`: the build inputs it writes into release folders
//! and the PackageReports it gives rebuildctl, on generated release trees,
//! and the same from those releases served over HTTP (--release-url).

mod common;
#[path = "common/fake_rebuilderd.rs"]
mod fake_rebuilderd;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use fake_rebuilderd::{FakeInstance, Reply};
use repro::hashing::sha256_bytes;
use repro::manifest::{Artifact, BuildInfo, Manifest};
use repro::rebuilderd::input;
use repro::rebuilderd::sync::PackageReport;

const REV: &str = "0123456789abcdef0123456789abcdef01234567";
const BASE: &str = "http://127.0.0.1:8600/releases/";

/// A release folder `root/<folder>` of target/profile with `bins` per
/// triple, as repro build lays it out, its manifest naming `version` and `rev`.
fn release(
    root: &Path,
    folder: &str,
    target_profile: (&str, &str),
    version: Option<&str>,
    rev: Option<&str>,
    bins: &[(&str, &str)],
) -> Vec<u8> {
    let dir = root.join(folder);
    let mut artifacts = Vec::new();
    for (triple, bin) in bins {
        let content = format!("{bin} for {triple} at {version:?}");
        fs::create_dir_all(dir.join(triple)).unwrap();
        fs::write(dir.join(triple).join(bin), &content).unwrap();
        artifacts.push(Artifact {
            package: format!("pkg_{bin}"),
            target: (*triple).to_owned(),
            bin: (*bin).to_owned(),
            bin_path: format!("{triple}/{bin}"),
            sha256: Some(sha256_bytes(content.as_bytes())),
            crate_name: "c".into(),
            version: "0.1.0".into(),
            crate_lock_sha256: LOCK.into(),
            rust_digest: DIGEST.into(),
        });
    }
    let manifest = Manifest {
        build: BuildInfo {
            target: target_profile.0.into(),
            profile: target_profile.1.into(),
            run_id: "1".into(),
            timestamp: "2026-01-01T00:00:00Z".into(),
            build_modes: Default::default(),
            version: version.map(str::to_owned),
            source_rev: rev.map(str::to_owned),
        },
        artifacts,
    };
    manifest.write_atomically(&dir).unwrap();
    fs::read(dir.join("manifest.json")).unwrap()
}

fn sync(root: &Path, extra: &[&str]) -> Run {
    run(repro()
        .args(["rebuilderd", "sync", "--base-url", BASE])
        .arg(root)
        .args(extra))
}

fn reports(stdout: &str) -> Vec<PackageReport> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one report per line"))
        .collect()
}

#[test]
fn one_report_per_release_and_triple_lists_every_live_version() {
    let (_guard, tmp) = tmp();
    let root = tmp.join("www");
    let ip = ("ipcamera", "camerahub");
    let both = [(X86, "camhub-ip"), (ARM, "camhub-ip")];
    let old = release(&root, "v0.10.0", ip, Some("0.10.0"), Some(REV), &both);
    // 0.9.0 sorts after 0.10.0 by name, before it by version.
    let new = release(&root, "v0.9.0", ip, Some("0.9.0"), Some(REV), &both);
    let pi = release(
        &root,
        "pi core",
        ("raspberry", "core"),
        Some("1.0.0-rc.1"),
        Some(REV),
        &[(ARM, "camhub-raspberry"), (ARM, "camhub-update")],
    );
    // Not releases: no manifest, hidden, a symlink to one.
    fs::create_dir_all(root.join("incoming")).unwrap();
    fs::create_dir_all(root.join(".v0.11.0.partial")).unwrap();
    fs::write(root.join(".v0.11.0.partial/manifest.json"), "{").unwrap();
    std::os::unix::fs::symlink(root.join("v0.9.0"), root.join("latest")).unwrap();

    let r = sync(&root, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = reports(&r.stdout);
    let names: Vec<(String, String)> = got
        .iter()
        .map(|r| (r.release.clone().unwrap(), r.architecture.clone()))
        .collect();
    assert_eq!(
        names,
        [
            ("ipcamera-camerahub".into(), ARM.into()),
            ("ipcamera-camerahub".into(), X86.into()),
            ("raspberry-core".into(), ARM.into()),
        ]
    );
    let x86 = &got[1];
    assert_eq!(x86.distribution, "camhub");
    let versions: Vec<&str> = x86.packages.iter().map(|p| p.version.as_str()).collect();
    assert_eq!(versions, ["0.9.0", "0.10.0"]);
    let p = &x86.packages[0];
    assert_eq!(p.name, "camhub-ipcamera-camerahub");
    assert_eq!(
        p.url,
        format!("http://127.0.0.1:8600/releases/v0.9.0/rebuilderd/{X86}.json")
    );
    assert_eq!(p.artifacts.len(), 1);
    let a = &p.artifacts[0];
    assert_eq!(
        (a.name.as_str(), a.version.as_str(), a.component.as_deref()),
        ("camhub-ip", "0.9.0", Some("main"))
    );
    assert_eq!(a.architecture, X86);
    assert_eq!(
        a.url,
        format!("http://127.0.0.1:8600/releases/v0.9.0/{X86}/camhub-ip")
    );
    // A folder name is one URL segment, whatever it holds.
    let pi_report = &got[2];
    assert_eq!(
        pi_report.packages[0].url,
        format!("http://127.0.0.1:8600/releases/pi%20core/rebuilderd/{ARM}.json")
    );
    let bins: Vec<&str> = pi_report.packages[0]
        .artifacts
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(bins, ["camhub-raspberry", "camhub-update"]);

    // The inputs are exactly input::render of each release's manifest.
    for (folder, manifest, triples) in [
        ("v0.10.0", &old, &[X86, ARM][..]),
        ("v0.9.0", &new, &[X86, ARM][..]),
        ("pi core", &pi, &[ARM][..]),
    ] {
        for triple in triples {
            let path = root
                .join(folder)
                .join("rebuilderd")
                .join(format!("{triple}.json"));
            assert_eq!(
                fs::read(&path).unwrap(),
                input::render(manifest, triple).unwrap(),
                "{}",
                path.display()
            );
        }
    }
    assert!(
        !root
            .join("pi core/rebuilderd")
            .join(format!("{X86}.json"))
            .exists()
    );
    assert!(!root.join("incoming/rebuilderd").exists());
    assert!(
        r.stderr.ends_with(
            "3 release folders, 3 reports: 5 build inputs written, 0 already up to date\n"
        ),
        "{}",
        r.stderr
    );

    // Again: the same reports, and the inputs are left alone.
    let input = root.join("v0.9.0/rebuilderd").join(format!("{X86}.json"));
    let before = fs::metadata(&input).unwrap().modified().unwrap();
    let again = sync(&root, &[]);
    assert_eq!(again.code, 0);
    assert_eq!(again.stdout, r.stdout);
    assert_eq!(
        again.stderr,
        "3 release folders, 3 reports: 0 build inputs written, 5 already up to date\n"
    );
    assert_eq!(fs::metadata(&input).unwrap().modified().unwrap(), before);

    // --out: one file per report, named for rebuildctl's one-report calls.
    let out = tmp.join("reports");
    let r = sync(&root, &["--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut files: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            format!("camhub-ipcamera-camerahub-{ARM}.json"),
            format!("camhub-ipcamera-camerahub-{X86}.json"),
            format!("camhub-raspberry-core-{ARM}.json"),
        ]
    );
    let written: PackageReport = serde_json::from_slice(
        &fs::read(out.join(format!("camhub-ipcamera-camerahub-{X86}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(&written, x86);
}

#[test]
fn a_release_nobody_can_rebuild_is_named_with_the_fix() {
    let (_guard, tmp) = tmp();
    let root = tmp.join("www");
    let ip = ("ipcamera", "camerahub");
    release(
        &root,
        "good",
        ip,
        Some("0.1.0"),
        Some(REV),
        &[(X86, "camhub-ip")],
    );
    release(
        &root,
        "dirty",
        ip,
        Some("0.2.0"),
        None,
        &[(X86, "camhub-ip")],
    );
    let r = sync(&root, &[]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {}: the manifest names no source revision (build.source_rev)",
            root.join("dirty/manifest.json").display()
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("commit, build the release again, or move the folder out of")
    );
    assert!(!root.join("good/rebuilderd").exists(), "nothing written");

    fs::remove_dir_all(root.join("dirty")).unwrap();
    release(&root, "old", ip, None, Some(REV), &[(X86, "camhub-ip")]);
    let r = sync(&root, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!(
            "{}: the manifest names no release version (build.version)",
            root.join("old/manifest.json").display()
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn two_folders_claiming_one_version_are_both_named() {
    let (_guard, tmp) = tmp();
    let root = tmp.join("www");
    let ip = ("ipcamera", "camerahub");
    release(
        &root,
        "a",
        ip,
        Some("0.1.0"),
        Some(REV),
        &[(X86, "camhub-ip")],
    );
    release(
        &root,
        "b",
        ip,
        Some("0.1.0"),
        Some(REV),
        &[(X86, "camhub-ip"), (ARM, "camhub-ip")],
    );
    let r = sync(&root, &[]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        format!(
            "repro: {} and {} are both version 0.1.0 of ipcamera-camerahub but their manifests differ; a version names one release: remove one folder, or build the other with another --release-version\n",
            root.join("a").display(),
            root.join("b").display()
        )
    );
    assert!(!root.join("a/rebuilderd").exists(), "nothing written");

    // The same release served from two folders is listed once.
    fs::remove_dir_all(root.join("b")).unwrap();
    fs::create_dir_all(root.join("b")).unwrap();
    for entry in walk(&root.join("a")) {
        let to = root
            .join("b")
            .join(entry.strip_prefix(root.join("a")).unwrap());
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(&entry, &to).unwrap();
    }
    let r = sync(&root, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = reports(&r.stdout);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].packages.len(), 1);
    assert!(got[0].packages[0].url.contains("/a/"));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn hostile_release_trees_are_refused_before_anything_is_written() {
    let (_guard, tmp) = tmp();
    let ip = ("ipcamera", "camerahub");

    // A control character in a folder name would reach terminals and URLs.
    let root = tmp.join("control");
    release(
        &root,
        "ok",
        ip,
        Some("0.1.0"),
        Some(REV),
        &[(X86, "camhub-ip")],
    );
    release(
        &root,
        "evil\x1b[2J",
        ip,
        Some("0.2.0"),
        Some(REV),
        &[(X86, "camhub-ip")],
    );
    let r = sync(&root, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("evil\\u{1b}[2J"), "{}", r.stderr);
    assert!(r.stderr.contains("contains a control character; rename it"));
    assert!(!r.stderr.contains('\x1b'));
    assert!(!root.join("ok/rebuilderd").exists());

    // manifest.json must be a regular file, not a link to anything.
    let root = tmp.join("symlink");
    release(
        &root,
        "ok",
        ip,
        Some("0.1.0"),
        Some(REV),
        &[(X86, "camhub-ip")],
    );
    fs::create_dir_all(root.join("linked")).unwrap();
    std::os::unix::fs::symlink(
        root.join("ok/manifest.json"),
        root.join("linked/manifest.json"),
    )
    .unwrap();
    let r = sync(&root, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!(
            "{}: not a regular file",
            root.join("linked/manifest.json").display()
        )),
        "{}",
        r.stderr
    );

    // Not a manifest at all.
    let root = tmp.join("garbage");
    fs::create_dir_all(root.join("rel")).unwrap();
    fs::write(root.join("rel/manifest.json"), "not json").unwrap();
    let r = sync(&root, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {}: invalid JSON",
            root.join("rel/manifest.json").display()
        )),
        "{}",
        r.stderr
    );

    // A bin_path off the <triple>/<bin> layout: its URL would not end in its name.
    let root = tmp.join("layout");
    let bytes = release(
        &root,
        "rel",
        ip,
        Some("0.1.0"),
        Some(REV),
        &[(X86, "camhub-ip")],
    );
    let text = String::from_utf8(bytes)
        .unwrap()
        .replace(&format!("\"{X86}/camhub-ip\""), "\"artifacts/camhub-ip\"");
    fs::write(root.join("rel/manifest.json"), text).unwrap();
    let r = sync(&root, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("a rebuilderd release needs <triple>/<bin>"),
        "{}",
        r.stderr
    );

    // Only http(s) base URLs.
    let root = tmp.join("control");
    let r = run(repro()
        .args(["rebuilderd", "sync", "--base-url", "file:///etc"])
        .arg(&root));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not an http:// or https:// URL"),
        "{}",
        r.stderr
    );

    let r = sync(&tmp.join("missing"), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot read the folder"), "{}", r.stderr);
}

#[test]
fn sync_help_says_rebuildctl_takes_one_report_per_call() {
    let r = run(repro().args(["rebuilderd", "sync", "--help"]));
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("ONE report per call"), "{}", r.stdout);
    for arg in [
        "[ROOT]",
        "--base-url <URL>",
        "--release-url <URL>",
        "--out <DIR>",
        "--timeout <SECS>",
        "--retries <N>",
    ] {
        let line = r
            .stdout
            .lines()
            .position(|l| l.trim_start().starts_with(arg));
        let next = line.and_then(|i| r.stdout.lines().nth(i + 1)).unwrap_or("");
        assert!(
            !next.trim().is_empty(),
            "{arg} has a description: {}",
            r.stdout
        );
    }
}

/// A release host: serves the files under `root` at `<url>/releases/`,
/// read at each request (so a test can change them between runs).
fn release_host(root: PathBuf) -> FakeInstance {
    FakeInstance::start(move |path, _| {
        let Some(rel) = path.strip_prefix("/releases/") else {
            return Reply::Status(404);
        };
        let rel = rel.replace("%20", " ");
        if rel.split('/').any(|p| p == ".." || p.is_empty()) {
            return Reply::Status(404);
        }
        match fs::read(root.join(rel)) {
            Ok(bytes) => Reply::Bytes(bytes),
            Err(_) => Reply::Status(404),
        }
    })
}

fn sync_urls(urls: &[String], extra: &[&str]) -> Run {
    let mut cmd = repro();
    cmd.args(["rebuilderd", "sync"]);
    for url in urls {
        cmd.arg("--release-url").arg(url);
    }
    run_within(cmd.args(extra), 60)
}

/// Three live releases under `root`, their inputs written by the folder
/// mode, whose reports are returned.
fn published(root: &Path) -> Vec<PackageReport> {
    let ip = ("ipcamera", "camerahub");
    let both = [(X86, "camhub-ip"), (ARM, "camhub-ip")];
    release(root, "v0.10.0", ip, Some("0.10.0"), Some(REV), &both);
    release(root, "v0.9.0", ip, Some("0.9.0"), Some(REV), &both);
    release(
        root,
        "pi core",
        ("raspberry", "core"),
        Some("1.0.0-rc.1"),
        Some(REV),
        &[(ARM, "camhub-raspberry"), (ARM, "camhub-update")],
    );
    let r = sync(root, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    reports(&r.stdout)
}

#[test]
fn release_urls_give_the_reports_their_folders_give() {
    let (_guard, tmp) = tmp();
    let root = tmp.join("www");
    let from_folders = published(&root);
    assert_eq!(from_folders.len(), 3);
    let host = release_host(root.clone());
    let served = format!("{}/releases", host.url);
    let urls = [
        format!("{served}/v0.10.0"),
        // A trailing slash names the same folder; a folder name as its URL spells it.
        format!("{served}/v0.9.0/"),
        format!("{served}/pi%20core"),
    ];
    let before: Vec<(PathBuf, Vec<u8>)> = walk(&root)
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();

    let r = sync_urls(&urls, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "3 release folders, 3 reports: 5 build inputs served exactly as their manifests make them\n"
    );
    // The same reports, every URL under the release's own URL instead of the mirror's.
    let mirror = BASE.trim_end_matches('/');
    let expected: Vec<PackageReport> = from_folders
        .into_iter()
        .map(|mut report| {
            for package in &mut report.packages {
                assert!(package.url.starts_with(mirror), "{}", package.url);
                package.url = package.url.replacen(mirror, &served, 1);
                for artifact in &mut package.artifacts {
                    artifact.url = artifact.url.replacen(mirror, &served, 1);
                }
            }
            report
        })
        .collect();
    assert_eq!(reports(&r.stdout), expected);
    let x86 = &expected[1];
    assert_eq!(
        x86.packages[0].artifacts[0].url,
        format!("{served}/v0.9.0/{X86}/camhub-ip")
    );
    assert_eq!(
        x86.packages[0].url,
        format!("{served}/v0.9.0/rebuilderd/{X86}.json")
    );
    // Nothing written anywhere: the release host is not ours.
    for (path, bytes) in &before {
        assert_eq!(&fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    assert_eq!(walk(&root).len(), before.len());

    // A release given twice is listed once, as the folder mode lists a copy once.
    let mut twice = urls.to_vec();
    twice.push(format!("{served}/v0.9.0"));
    let again = sync_urls(&twice, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, r.stdout);

    // --out: the files the folder mode writes, with these reports.
    let out = tmp.join("reports");
    let r = sync_urls(&urls, &["--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let written: PackageReport = serde_json::from_slice(
        &fs::read(out.join(format!("camhub-ipcamera-camerahub-{X86}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(&written, x86);
}

#[test]
fn a_missing_or_stale_served_input_is_named_with_the_fix() {
    let (_guard, tmp) = tmp();
    let root = tmp.join("www");
    published(&root);
    let host = release_host(root.clone());
    let served = format!("{}/releases", host.url);
    let url = format!("{served}/v0.9.0");
    let input = root.join("v0.9.0/rebuilderd").join(format!("{X86}.json"));
    let fix = "the publisher runs `repro rebuilderd sync` on the release folder, which writes it";

    let good = fs::read(&input).unwrap();
    fs::remove_file(&input).unwrap();
    let r = sync_urls(std::slice::from_ref(&url), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {url}/rebuilderd/{X86}.json: not found (HTTP 404): the release serves no build input for {X86}; {fix}"
        )),
        "{}",
        r.stderr
    );

    // An input of another manifest (the release was built again, its input left stale).
    fs::copy(
        root.join("v0.10.0/rebuilderd").join(format!("{X86}.json")),
        &input,
    )
    .unwrap();
    let r = sync_urls(std::slice::from_ref(&url), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {url}/rebuilderd/{X86}.json: not the build input of the manifest.json served beside it"
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(fix), "{}", r.stderr);

    // One byte off is as wrong.
    let mut edited = good.clone();
    edited.insert(edited.len() - 1, b' ');
    fs::write(&input, &edited).unwrap();
    let r = sync_urls(std::slice::from_ref(&url), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not the build input"), "{}", r.stderr);
    fs::write(&input, &good).unwrap();
    assert_eq!(sync_urls(std::slice::from_ref(&url), &[]).code, 0);

    // Two URLs claiming one version with different manifests: both named.
    let other = tmp.join("other");
    release(
        &other,
        "v0.9.0",
        ("ipcamera", "camerahub"),
        Some("0.9.0"),
        Some("89abcdef0123456789abcdef0123456789abcdef"),
        &[(X86, "camhub-ip")],
    );
    assert_eq!(sync(&other, &[]).code, 0);
    let other_host = release_host(other);
    let other_url = format!("{}/releases/v0.9.0", other_host.url);
    let r = sync_urls(&[url.clone(), other_url.clone()], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {url} and {other_url} are both version 0.9.0 of ipcamera-camerahub but their manifests differ; a version names one release: give only one of the URLs"
        )),
        "{}",
        r.stderr
    );

    // A release nobody can rebuild, served: named with its URL and the way out.
    release(
        &root,
        "dirty",
        ("ipcamera", "camerahub"),
        Some("0.11.0"),
        None,
        &[(X86, "camhub-ip")],
    );
    let r = sync_urls(&[format!("{served}/dirty")], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {served}/dirty/manifest.json: the manifest names no source revision"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("or leave out its --release-url"),
        "{}",
        r.stderr
    );
}

#[test]
fn unusable_release_hosts_are_refused() {
    // Unreachable: a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/releases/v1");
    let r = sync_urls(std::slice::from_ref(&url), &["--retries", "0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {url}/manifest.json: unreachable after 1 try ("
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("check the --release-url and that the release host is up")
    );

    // A manifest larger than any build input could hold, without a length up front.
    let limit = repro::rebuilderd::sync::SERVED_MANIFEST_LIMIT;
    assert!(limit <= repro::rebuilderd::input::INPUT_LIMIT);
    let host = FakeInstance::start(move |path, _| match path {
        "/huge/manifest.json" => Reply::Endless(limit as usize + 1),
        "/gone/manifest.json" => Reply::Status(404),
        _ => Reply::Status(403),
    });
    let r = sync_urls(&[format!("{}/huge", host.url)], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {}/huge/manifest.json: larger than {} KiB",
            host.url,
            limit >> 10
        )),
        "{}",
        r.stderr
    );

    // Not a release folder.
    let r = sync_urls(&[format!("{}/gone", host.url)], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with(&format!(
            "repro: {}/gone/manifest.json: not found (HTTP 404); give the URL of a published release folder",
            host.url
        )),
        "{}",
        r.stderr
    );
    let r = sync_urls(&[format!("{}/private", host.url)], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("/private/manifest.json: the release host answered HTTP 403"),
        "{}",
        r.stderr
    );

    // Only http(s), and never with the folder mode's arguments.
    let r = sync_urls(&["file:///etc".to_owned()], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--release-url `file:///etc` is not an http:// or https:// URL"),
        "{}",
        r.stderr
    );
    let r = sync_urls(&[format!("{}/x", host.url)], &["--base-url", BASE]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
    let r = run(repro().args(["rebuilderd", "sync"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("<ROOT|--release-url <URL>>"),
        "{}",
        r.stderr
    );
}
