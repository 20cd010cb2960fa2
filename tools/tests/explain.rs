//! `repro explain` and `compare --explain` on real ELF binaries built in the
//! test, differing in known ways, and on plain files.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use repro::cli::explain::ExplainReport;

/// Compiles `source` with rustc from `dir/main.rs` (an absolute path, as cargo
/// gives for dependencies) into an ELF executable, with `env` set for env!().
fn compile(dir: &Path, source: &str, env: &[(&str, &str)]) -> Vec<u8> {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("main.rs"), source).unwrap();
    let out = dir.join("main");
    let status = std::process::Command::new("rustc")
        .args(["--edition", "2021", "-C", "opt-level=1", "-o"])
        .arg(&out)
        .arg(dir.join("main.rs"))
        .envs(env.iter().copied())
        .status()
        .unwrap();
    assert!(status.success());
    fs::read(out).unwrap()
}

/// Where `program` is on this process's PATH.
fn on_path(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

fn folders(tmp: &Path, a: Vec<u8>, b: Vec<u8>) -> (PathBuf, PathBuf) {
    let (fa, fb) = (tmp.join("A"), tmp.join("B"));
    build_folder(&fa, &[art("server", X86, "camhub-server", &a)]);
    build_folder(&fb, &[art("server", X86, "camhub-server", &b)]);
    (fa, fb)
}

fn explain(a: &Path, b: &Path, extra: &[&str]) -> Run {
    run(repro().arg("explain").args(extra).arg(a).arg(b))
}

const PANICS_WITH_ITS_PATH: &str =
    "fn main() { if std::env::args().count() > 5 { panic!(\"too many\"); } }\n";

#[test]
fn the_same_program_built_in_two_paths_is_explained_as_a_build_path() {
    let (_guard, tmp) = tmp();
    let a = compile(&tmp.join("checkout-one/src"), PANICS_WITH_ITS_PATH, &[]);
    let b = compile(&tmp.join("checkout-two/src"), PANICS_WITH_ITS_PATH, &[]);
    assert_ne!(a, b, "the fixture must differ");
    let (fa, fb) = folders(&tmp, a, b);
    let r = explain(&fa, &fb, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let out = normalise(&r.stdout, &tmp);
    assert!(
        out.starts_with("EXPLAIN: server | x86_64-unknown-linux-gnu | camhub-server\n  ELF: A "),
        "{out}"
    );
    assert!(
        out.contains("  likely cause: a build path is embedded in the binary\n"),
        "{out}"
    );
    assert!(
        out.contains("    evidence: \"<tmp>/checkout-one/src/main.rs\"")
            || out.contains("<tmp>/checkout-one/src/main.rs"),
        "{out}"
    );
    assert!(
        out.contains("    fix: map build paths to fixed ones: --remap-path-prefix="),
        "{out}"
    );
    assert!(out.contains("  sections: "), "{out}");
    assert!(
        out.contains("    .rodata "),
        "the path lives in .rodata: {out}"
    );
    assert!(out.contains("  strings only in A ("), "{out}");
}

#[test]
fn an_embedded_build_time_is_explained_as_such() {
    let (_guard, tmp) = tmp();
    let source = "fn main() { println!(\"built {}\", env!(\"STAMP\")); }\n";
    let a = compile(
        &tmp.join("same/src"),
        source,
        &[("STAMP", "2026-11-22T03:26:47Z")],
    );
    let b = compile(
        &tmp.join("same/src"),
        source,
        &[("STAMP", "2026-11-22T03:29:02Z")],
    );
    let (fa, fb) = folders(&tmp, a, b);
    let r = explain(&fa, &fb, &["--json"]);
    assert_eq!(r.code, 1);
    let parsed: ExplainReport = serde_json::from_str(&r.stdout).unwrap();
    assert!(!parsed.report.passed);
    let e = &parsed.explanations[0];
    assert_eq!(e.format, "ELF");
    let causes: Vec<&str> = e.causes.iter().map(|c| c.cause.as_str()).collect();
    // Where the linker adds a build-id (Debian's does), it is a hash of the
    // rest and follows the time; it is named exactly when its section differs.
    let build_id = e
        .differing_sections
        .iter()
        .any(|s| s.name == ".note.gnu.build-id");
    let mut expected = vec!["a date or time is embedded in the binary"];
    if build_id {
        expected.push("the GNU build-id note differs");
    }
    assert_eq!(causes, expected, "{:#?}", e.causes);
    assert_eq!(
        e.causes[0].evidence,
        ["built 2026-11-22T03:26:47Z", "built 2026-11-22T03:29:02Z"]
    );
    assert!(e.causes[0].fix.contains("SOURCE_DATE_EPOCH"));
    assert_eq!(e.strings_only_in_a, ["built 2026-11-22T03:26:47Z"]);
    let rodata = e
        .differing_sections
        .iter()
        .find(|s| s.name == ".rodata")
        .expect(".rodata differs");
    assert_eq!(rodata.a_size, rodata.b_size);
    assert_eq!(rodata.places[0].a_text, "built 2026-11-22T03:26:47Z");
    assert_eq!(rodata.places[0].b_text, "built 2026-11-22T03:29:02Z");
    assert!(e.identical_sections > 5, "most sections are the same");
}

#[test]
fn plain_files_get_offsets_and_strings() {
    let (_guard, tmp) = tmp();
    let (fa, fb) = folders(
        &tmp,
        b"#!/bin/sh\necho built on host alpha\n".to_vec(),
        b"#!/bin/sh\necho built on host gamma-ray\n".to_vec(),
    );
    let r = explain(&fa, &fb, &[]);
    assert_eq!(r.code, 1);
    let expected = "EXPLAIN: server | x86_64-unknown-linux-gnu | camhub-server
  bytes: A 35 bytes, B 39 bytes; first difference at offset 0x1d; 9 bytes differ
  at +0x1d: A 61 6c 70 68 61 0a
            B 67 61 6d 6d 61 2d 72 61 79 0a
    text A \"echo built on host alpha\"
    text B \"echo built on host gamma-ray\"
  strings only in A (1, showing 1):
    \"echo built on host alpha\"
  strings only in B (1, showing 1):
    \"echo built on host gamma-ray\"
  likely cause: no known pattern; see the differing places
    fix: run with --diffoscope for a deeper, format-aware comparison
";
    assert_eq!(r.stdout, expected);
}

#[test]
fn identical_folders_have_nothing_to_explain_and_compare_can_explain_inline() {
    let (_guard, tmp) = tmp();
    build_folder(&tmp.join("A"), &release());
    build_folder(&tmp.join("B"), &release());
    let r = explain(&tmp.join("A"), &tmp.join("B"), &[]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            0,
            "nothing to explain: no artifact in both folders has differing bytes\n"
        )
    );

    let mut b = release();
    b[2].content = Some(b"server built 2026-01-01".to_vec());
    build_folder(&tmp.join("C"), &b);
    let r = run(repro()
        .args(["compare", "--explain"])
        .arg(tmp.join("A"))
        .arg(tmp.join("C")));
    assert_eq!(r.code, 1);
    let verdict = r.stdout.find("Reproducibility check FAILED\n").unwrap();
    let explained = r
        .stdout
        .find("EXPLAIN: server | x86_64-unknown-linux-gnu | camhub-server\n")
        .unwrap();
    assert!(
        verdict < explained,
        "the explanation follows the comparison"
    );
    assert!(
        r.stdout
            .contains("likely cause: a date or time is embedded in the binary")
    );

    // With --json, one document holds the comparison and its explanations.
    let r = run(repro()
        .args(["compare", "--explain", "--json"])
        .arg(tmp.join("A"))
        .arg(tmp.join("C")));
    assert_eq!(r.code, 1);
    let both: ExplainReport = serde_json::from_str(&r.stdout).unwrap();
    assert!(!both.report.passed);
    let keys: Vec<&str> = both.explanations.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["server | x86_64-unknown-linux-gnu | camhub-server"]);
    assert_eq!(
        both.explanations[0].causes[0].cause,
        "a date or time is embedded in the binary"
    );

    // --diffoscope reaches the JSON too (here: not installed, so the hint).
    fs::create_dir_all(tmp.join("empty-path")).unwrap();
    let r = run(repro()
        .env("PATH", tmp.join("empty-path"))
        .args(["compare", "--explain", "--json", "--diffoscope"])
        .arg(tmp.join("A"))
        .arg(tmp.join("C")));
    let both: ExplainReport = serde_json::from_str(&r.stdout).unwrap();
    let said = both.explanations[0]
        .diffoscope
        .as_deref()
        .unwrap_or_default();
    assert!(said.starts_with("diffoscope is not installed"), "{said:?}");
}

#[test]
fn diffoscope_is_optional_time_limited_and_its_report_kept() {
    let (_guard, tmp) = tmp();
    let (fa, fb) = folders(&tmp, b"one".to_vec(), b"two".to_vec());
    let bin = tmp.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let with_path = |path: &Path| {
        let mut cmd = repro();
        cmd.current_dir(&tmp)
            .env("PATH", path)
            .args(["explain", "--diffoscope", "--diffoscope-timeout", "1"])
            .arg(&fa)
            .arg(&fb);
        run(&mut cmd)
    };

    let r = with_path(&bin);
    assert!(r.stdout.contains("  diffoscope: diffoscope is not installed; install it with `apt-get install diffoscope`"), "{}", r.stdout);
    assert_eq!(r.code, 1);

    // A stand-in with diffoscope's interface: `--text REPORT ... A B`, exit 1 when they differ.
    let fake = bin.join("diffoscope");
    fs::write(
        &fake,
        "#!/bin/sh\nprintf 'stand-in report for %s and %s\\n' \"$4\" \"$5\" > \"$2\"\nexit 1\n",
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut fs::metadata(&fake).unwrap().permissions(),
        0o755,
    );
    fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let r = with_path(&bin);
    let report = tmp
        .join("repro-diffoscope/server___x86_64-unknown-linux-gnu___camhub-server.diffoscope.txt");
    assert!(r.stdout.contains("  diffoscope: repro-diffoscope/server___x86_64-unknown-linux-gnu___camhub-server.diffoscope.txt\n"), "{}", r.stdout);
    assert!(
        fs::read_to_string(&report)
            .unwrap()
            .starts_with("stand-in report for ")
    );

    // sleep by the absolute path this test's PATH gives: the stand-in runs with
    // PATH=bin, and Nix's build sandbox has no /bin/sleep (only /bin/sh).
    let sleep = on_path("sleep");
    fs::write(&fake, format!("#!/bin/sh\nexec '{}' 30\n", sleep.display())).unwrap();
    let started = std::time::Instant::now();
    let r = with_path(&bin);
    assert!(
        r.stdout
            .contains("  diffoscope: diffoscope stopped after the 1 s time limit"),
        "{}",
        r.stdout
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}
