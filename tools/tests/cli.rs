//! The command line itself, through the real binary: help in the order of
//! the work, every argument described, short global options, the matrix's
//! targets and profiles in the help, completions and the man page.

mod common;

use common::*;

fn help(args: &[&str]) -> String {
    let r = run(repro().args(args).current_dir(env!("CARGO_MANIFEST_DIR")));
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    r.stdout
}

const SUBCOMMANDS: [&str; 13] = [
    "build",
    "manifest",
    "compare",
    "explain",
    "sums",
    "attest",
    "verify",
    "rebuilderd",
    "matrix",
    "portable",
    "toolchain",
    "completions",
    "man",
];

#[test]
fn commands_are_listed_in_the_order_of_the_work() {
    let text = help(&["--help"]);
    let listed: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert_eq!(listed, SUBCOMMANDS);
}

#[test]
fn every_subcommand_describes_its_arguments_and_keeps_the_colour_option_short() {
    for sub in SUBCOMMANDS {
        let text = help(&[sub, "--help"]);
        assert!(!text.contains("Possible values"), "{sub}: {text}");
        let global = text
            .lines()
            .skip_while(|l| *l != "Global options:")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .count();
        assert!(global <= 4, "{sub}: the colour option takes {global} lines");
        // An argument line followed directly by a blank line or the next argument has no description.
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let is_arg = line.starts_with("  <")
                || line.trim_start().starts_with("--") && line.starts_with("      ");
            if is_arg && line.trim().split("  ").count() == 1 {
                let next = lines.get(i + 1).copied().unwrap_or("");
                assert!(
                    next.starts_with("          ") && !next.trim().is_empty(),
                    "{sub}: `{}` has no description",
                    line.trim()
                );
            }
        }
    }
}

#[test]
fn target_and_profile_help_lists_the_workspaces_matrix() {
    let text = help(&["build", "--help"]);
    assert!(text.contains("[here: all, ipcamera, raspberry]"), "{text}");
    assert!(
        text.contains(
            "[here: all: all, release; ipcamera: all, camerahub; raspberry: all, camerahub, core]"
        ),
        "{text}"
    );
}

#[test]
fn sizes_are_given_and_shown_with_units() {
    let text = help(&["explain", "--help"]);
    assert!(text.contains("[default: \"256 MiB\"]"), "{text}");
    let r = run(repro().args(["explain", "a", "b", "--diffoscope-max-bytes", "1 TB"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("the unit must be B, KiB, MiB or GiB"),
        "{}",
        r.stderr
    );
}

#[test]
fn completions_and_the_man_page_are_generated_from_the_command_line() {
    let bash = help(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("repro.bash");
    std::fs::write(&script, &bash).unwrap();
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    for sub in SUBCOMMANDS {
        assert!(bash.contains(sub), "bash completion lacks {sub}");
    }
    assert!(help(&["completions", "zsh"]).starts_with("#compdef repro"));
    let man = help(&["man"]);
    assert!(
        man.contains(".TH repro 1"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(
        man.contains("Writes release manifests"),
        "the man page has the description"
    );
}

#[test]
fn every_page_the_man_page_refers_to_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let r = run(repro().arg("man").arg("--out-dir").arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let top = std::fs::read_to_string(out.join("repro.1")).unwrap();
    for sub in SUBCOMMANDS {
        assert!(
            top.contains(&format!("repro\\-{sub}(1)")),
            "repro.1 refers to repro-{sub}(1)"
        );
        let page = std::fs::read_to_string(out.join(format!("repro-{sub}.1")))
            .unwrap_or_else(|e| panic!("repro-{sub}.1: {e}"));
        assert!(page.contains(".TH repro-"), "{sub}");
    }
    let build = std::fs::read_to_string(out.join("repro-build.1")).unwrap();
    assert!(
        build.contains("test\\-reproduce"),
        "the build page lists its options"
    );
}

#[test]
fn an_error_quoting_a_tools_output_ends_without_an_escaped_newline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let r = run(repro().args(["portable", "empty"]).current_dir(dir.path()));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains("\\n"), "{:?}", r.stderr);
    assert!(
        r.stderr.ends_with('\n') && !r.stderr.ends_with("\n\n"),
        "{:?}",
        r.stderr
    );
}
