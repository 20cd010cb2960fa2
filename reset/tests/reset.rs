use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn hub(dir: &Path) {
    fs::write(
        dir.join("hub.json"),
        r#"{"camera_id":"porch","server_url":"http://127.0.0.1:9","token":"t","key":"k","clip_dir":"clips"}"#,
    )
    .unwrap();
    for sub in ["pending", "sent"] {
        fs::create_dir_all(dir.join("clips").join(sub)).unwrap();
        fs::write(dir.join("clips").join(sub).join("clip-1.mjpeg"), b"sealed").unwrap();
    }
    fs::write(dir.join("clips/notes.txt"), b"not the hub's").unwrap();
}

fn reset(dir: &Path, args: &[&str], answer: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reset"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn wipes_after_typed_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    hub(dir.path());
    let (code, stdout) = reset(dir.path(), &[], "reset\n");
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "This deletes hub.json (the hub's upload token and clip key) and 2 recorded clips in clips.\nType 'reset' to confirm: wiped; create new credentials with `camhub-config new`\n"
    );
    assert!(!dir.path().join("hub.json").exists());
    assert!(!dir.path().join("clips/pending").exists() && !dir.path().join("clips/sent").exists());
    assert!(
        dir.path().join("clips/notes.txt").exists(),
        "only the hub's own folders go"
    );
}

#[test]
fn anything_but_reset_deletes_nothing() {
    for answer in ["no\n", "", "RESET please\n"] {
        let dir = tempfile::tempdir().unwrap();
        hub(dir.path());
        let (code, stdout) = reset(dir.path(), &[], answer);
        assert_eq!(code, 1, "{answer:?}");
        assert!(stdout.ends_with("not confirmed; nothing was deleted\n"));
        assert!(dir.path().join("hub.json").exists());
        assert!(dir.path().join("clips/sent/clip-1.mjpeg").exists());
    }
}

#[test]
fn yes_skips_the_question_and_a_missing_config_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    hub(dir.path());
    let (code, stdout) = reset(dir.path(), &["--yes"], "");
    assert_eq!(code, 0);
    assert!(!stdout.contains("Type 'reset'"));
    assert!(!dir.path().join("hub.json").exists());
    let (code, _) = reset(dir.path(), &["--yes"], "");
    assert_eq!(code, 2);
}

#[test]
fn one_clip_is_counted_in_the_singular() {
    let dir = tempfile::tempdir().unwrap();
    hub(dir.path());
    fs::remove_file(dir.path().join("clips/sent/clip-1.mjpeg")).unwrap();
    let (code, stdout) = reset(dir.path(), &[], "no\n");
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with(
            "This deletes hub.json (the hub's upload token and clip key) and 1 recorded clip in clips.\n"
        ),
        "{stdout}"
    );
}

#[path = "../../tests/help_text.rs"]
mod help_text;

#[test]
fn every_argument_is_described_under_the_program_name() {
    help_text::check(env!("CARGO_BIN_EXE_reset"), &[], "camhub-reset", &[]);
}
