//! Progress on stderr for long work: a bar or spinner only on a terminal,
//! one plain line before each diffoscope run otherwise, nothing with --json;
//! and repro's own analysis of a pair reaches stdout before diffoscope starts.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use repro::cli::explain::ExplainReport;

const SERVER: &str = "server | x86_64-unknown-linux-gnu | camhub-server";
const HUB: &str = "ip_camera_hub | x86_64-unknown-linux-gnu | camhub-ip";

/// A and B with two artifacts whose bytes differ (a time in one, a path in the other).
fn two_differing_pairs(tmp: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (tmp.join("A"), tmp.join("B"));
    build_folder(
        &a,
        &[
            art("ip_camera_hub", X86, "camhub-ip", b"hub built 2026-01-01"),
            art(
                "server",
                X86,
                "camhub-server",
                b"from /home/alice/src/server",
            ),
        ],
    );
    build_folder(
        &b,
        &[
            art("ip_camera_hub", X86, "camhub-ip", b"hub built 2026-02-02"),
            art("server", X86, "camhub-server", b"from /home/bob/src/server"),
        ],
    );
    (a, b)
}

/// A stand-in diffoscope (`--text REPORT ... A B`) whose "report" is what
/// repro had written to `stdout_file` by the time diffoscope was started.
fn snapshotting_diffoscope(tmp: &Path, stdout_file: &Path) -> PathBuf {
    let bin = tmp.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("diffoscope");
    fs::write(
        &fake,
        format!(
            "#!/bin/sh\ncat '{}' > \"$2\"\nexit 1\n",
            stdout_file.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    bin
}

fn path_with(bin: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.to_path_buf()];
    dirs.extend(std::env::split_paths(&rest));
    std::env::join_paths(dirs).unwrap()
}

/// Runs repro with stdout into a file (so the stand-in can read it as it
/// grows) and stderr into a pipe; returns (code, stdout, stderr).
fn run_to_file(mut cmd: Command, stdout_file: &Path) -> (i32, String, String) {
    let out = cmd
        .stdin(Stdio::null())
        .stdout(fs::File::create(stdout_file).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        fs::read_to_string(stdout_file).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn report_of(tmp: &Path, key: &str) -> String {
    let name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    fs::read_to_string(tmp.join(format!("repro-diffoscope/{name}.diffoscope.txt"))).unwrap()
}

fn assert_no_drawing(stderr: &str) {
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b'),
        "nothing drawn (no bar, no spinner): {stderr:?}"
    );
}

#[test]
fn explain_prints_each_pairs_analysis_before_diffoscope_runs_on_it() {
    let (_guard, tmp) = tmp();
    let (a, b) = two_differing_pairs(&tmp);
    let stdout_file = tmp.join("stdout.txt");
    let bin = snapshotting_diffoscope(&tmp, &stdout_file);
    let mut cmd = repro();
    cmd.current_dir(&tmp)
        .env("PATH", path_with(&bin))
        .args(["explain", "--diffoscope"])
        .arg(&a)
        .arg(&b);
    let (code, stdout, stderr) = run_to_file(cmd, &stdout_file);
    assert_eq!(code, 1, "{stdout}{stderr}");

    // When diffoscope started on the first pair (the hub), the hub's analysis
    // was on stdout, cause and fix included, and nothing of the server yet.
    let at_hub = report_of(&tmp, HUB);
    assert!(at_hub.starts_with(&format!("EXPLAIN: {HUB}\n")), "{at_hub}");
    assert!(
        at_hub.contains("likely cause: a date or time is embedded in the binary\n"),
        "{at_hub}"
    );
    assert!(!at_hub.contains(SERVER), "{at_hub}");
    // When it started on the server: the hub's diffoscope line, then the server's analysis.
    let at_server = report_of(&tmp, SERVER);
    let hub_done = at_server.find("  diffoscope: repro-diffoscope/").unwrap();
    let server = at_server.find(&format!("EXPLAIN: {SERVER}\n")).unwrap();
    assert!(hub_done < server, "{at_server}");
    assert!(
        at_server.contains("likely cause: a build path is embedded in the binary\n"),
        "{at_server}"
    );
    // The final output is the same text, with the server's diffoscope line last.
    assert!(stdout.starts_with(&at_server), "{stdout}");
    assert!(stdout.ends_with(".diffoscope.txt\n"), "{stdout}");

    // stderr is not a terminal: one plain line per diffoscope run, nothing drawn.
    assert_eq!(
        stderr,
        format!(
            "running diffoscope on {HUB} (up to 300 s)...\nrunning diffoscope on {SERVER} (up to 300 s)...\n"
        )
    );
    assert_no_drawing(&stderr);
}

#[test]
fn compare_explain_prints_the_verdict_and_analysis_before_diffoscope_and_json_stays_clean() {
    let (_guard, tmp) = tmp();
    let (a, b) = two_differing_pairs(&tmp);
    let stdout_file = tmp.join("stdout.txt");
    let bin = snapshotting_diffoscope(&tmp, &stdout_file);
    let command = |json: bool| {
        let mut cmd = repro();
        cmd.current_dir(&tmp).env("PATH", path_with(&bin)).args([
            "compare",
            "--explain",
            "--diffoscope",
            "--diffoscope-timeout",
            "60",
        ]);
        if json {
            cmd.arg("--json");
        }
        cmd.arg(&a).arg(&b);
        cmd
    };

    let (code, _, stderr) = run_to_file(command(false), &stdout_file);
    assert_eq!(code, 1, "{stderr}");
    let at_hub = report_of(&tmp, HUB);
    let verdict = at_hub.find("Reproducibility check FAILED\n").unwrap();
    let analysis = at_hub.find(&format!("EXPLAIN: {HUB}\n")).unwrap();
    assert!(verdict < analysis, "{at_hub}");
    assert!(at_hub.contains("likely cause: a date or time"), "{at_hub}");
    assert_eq!(
        stderr,
        format!(
            "running diffoscope on {HUB} (up to 60 s)...\nrunning diffoscope on {SERVER} (up to 60 s)...\n"
        )
    );

    // --json: stdout is one document, written at the end; stderr says nothing.
    let (code, stdout, stderr) = run_to_file(command(true), &stdout_file);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr, "");
    let both: ExplainReport = serde_json::from_str(&stdout).unwrap();
    assert_eq!(both.explanations.len(), 2);
    assert!(both.explanations.iter().all(|e| {
        e.diffoscope
            .as_deref()
            .is_some_and(|d| d.ends_with(".diffoscope.txt"))
    }));
    assert_eq!(
        report_of(&tmp, HUB),
        "",
        "nothing on stdout before the document"
    );
}

/// Runs `repro <args>` on a pseudo-terminal (util-linux `script`), stdout and
/// stderr both on it; returns what the terminal got, or None without `script`.
fn on_a_terminal(tmp: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    let script = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("script"))
            .find(|c| c.is_file())
    });
    let Some(script) = script else {
        println!("SKIPPED: no `script` (util-linux) for a pseudo-terminal");
        return None;
    };
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_repro"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let out = Command::new(script)
        .args(["-qefc", &quoted.join(" "), "/dev/null"])
        .current_dir(tmp)
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Some(String::from_utf8(out.stdout).unwrap())
}

/// Any SGR sequence (`ESC [ ... m`): colour.
fn has_colour(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            r.chars()
                .find(|c| !(c.is_ascii_digit() || *c == ';'))
                .is_some_and(|c| c == 'm')
        })
    })
}

#[test]
fn on_a_terminal_compare_draws_a_bar_and_explain_a_spinner_but_not_with_json() {
    let (_guard, tmp) = tmp();
    let (a, b) = two_differing_pairs(&tmp);
    let stdout_file = tmp.join("unused.txt");
    fs::write(&stdout_file, "").unwrap();
    let bin = snapshotting_diffoscope(&tmp, &stdout_file);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let path = path_with(&bin).into_string().unwrap();
    // NO_COLOR is about colour: the bar stays, and nothing is coloured.
    let env = [("PATH", path.as_str()), ("NO_COLOR", "1")];

    let Some(seen) = on_a_terminal(&tmp, &["compare", a, b], &env) else {
        return;
    };
    assert!(seen.contains("hashing "), "{seen:?}");
    assert!(seen.contains("/4 files"), "{seen:?}");
    assert!(seen.contains("\x1b[2K"), "the bar is cleared: {seen:?}");
    assert!(!has_colour(&seen), "{seen:?}");
    assert!(seen.contains("Reproducibility check FAILED"), "{seen:?}");

    let seen = on_a_terminal(&tmp, &["explain", "--diffoscope", a, b], &env).unwrap();
    assert!(
        seen.contains(&format!("diffoscope on {SERVER}: ")),
        "{seen:?}"
    );
    assert!(seen.contains(" of 300s"), "{seen:?}");
    assert!(!seen.contains("running diffoscope on"), "{seen:?}");
    assert!(!has_colour(&seen), "{seen:?}");

    // With --json the terminal gets the document and nothing drawn around it.
    for args in [
        &["compare", "--json", a, b][..],
        &["explain", "--json", "--diffoscope", a, b],
    ] {
        let seen = on_a_terminal(&tmp, args, &env).unwrap();
        // The terminal turns each \n into \r\n; any other \r or ESC is drawing.
        let text = seen.replace("\r\n", "\n");
        assert_no_drawing(&text);
        serde_json::from_str::<serde_json::Value>(&text).unwrap();
    }
}
