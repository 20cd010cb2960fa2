//! What every camhub program's help must show, shared by the programs'
//! tests (`#[path = "../../tests/help_text.rs"] mod help_text;`).

use std::process::Command;

/// `program args... -h`, which must succeed: its help text.
pub fn help(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).arg("-h").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{program} {args:?} -h");
    String::from_utf8(out.stdout).unwrap()
}

/// The commands and arguments a help text lists without a description.
/// clap prints a description after two spaces on the item's line, or (when
/// the items are long) on the lines below it, indented deeper.
pub fn undescribed(help: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let mut in_list = false;
    let mut pending: Option<String> = None;
    for line in help.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if indent == 0 {
            missing.extend(pending.take());
            in_list = matches!(line, "Commands:" | "Arguments:" | "Options:");
            continue;
        }
        if !in_list {
            continue;
        }
        if indent <= 6 {
            missing.extend(pending.take());
            match trimmed.split_once("  ") {
                Some((_, description)) if !description.trim().is_empty() => {}
                _ => pending = Some(trimmed.to_owned()),
            }
        } else {
            pending = None;
        }
    }
    missing.extend(pending);
    missing
}

/// Checks `program args... -h`: every item described; the usage line names
/// `bin` and shows each of `required` without brackets.
pub fn check(program: &str, args: &[&str], bin: &str, required: &[&str]) -> String {
    let text = help(program, args);
    assert_eq!(undescribed(&text), Vec::<String>::new(), "{text}");
    let usage = text
        .lines()
        .find(|l| l.starts_with("Usage: "))
        .unwrap_or_else(|| panic!("no usage line: {text}"));
    assert!(usage.starts_with(&format!("Usage: {bin} ")), "{usage}");
    for arg in required {
        assert!(
            usage.contains(&format!(" {arg}")) && !usage.contains(&format!("[{arg}")),
            "{arg} is not shown as required: {usage}"
        );
    }
    text
}

#[test]
fn an_item_without_a_description_is_found() {
    let help = "Usage: x [OPTIONS]\n\nOptions:\n      --a <A>  Has one\n      --b <B>\n      --c <C>\n          Below\n  -h, --help  Print help\n";
    assert_eq!(undescribed(help), ["--b <B>"]);
    assert_eq!(undescribed("Options:\n      --z\n"), ["--z"]);
}
