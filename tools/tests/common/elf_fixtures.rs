//! ELF fixtures for `repro portable`'s tests: tiny C programs compiled with
//! the machine's `cc`, build folders around them, and a workspace to read a
//! glibc floor from.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

pub const NIX_GLIBC: &str = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-glibc-2.40/lib";
pub const NIX_SSL: &str = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-openssl/etc/ssl";

/// The machine's triple: `cc` builds for it.
pub fn host() -> String {
    let out = Command::new("rustc").arg("-vV").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

/// The system's dynamic loader for the host. From the machine's triple, not
/// the test's own architecture: under emulation (the aarch64 tests on x86_64)
/// `cc` still builds for the machine.
pub fn std_interpreter() -> &'static str {
    match host().split('-').next() {
        Some("x86_64") => "/lib64/ld-linux-x86-64.so.2",
        Some("aarch64") => "/lib/ld-linux-aarch64.so.1",
        other => panic!("no standard interpreter known for {other:?}"),
    }
}

/// A triple of another architecture than the machine's.
pub fn other_triple() -> &'static str {
    if host().starts_with("x86_64") {
        ARM
    } else {
        X86
    }
}

/// Inside a Nix build, `cc` is Nix's cc-wrapper (NIX_CC names it), which adds
/// a store RUNPATH and interpreter to everything it links, and static glibc
/// names its own store path: store-free fixtures cannot be made there.
pub fn cc_is_nix_wrapper() -> bool {
    let nix = std::env::var_os("NIX_CC").is_some();
    if nix {
        eprintln!("SKIPPED: cc here is Nix's cc-wrapper, which cannot link store-free fixtures");
    }
    nix
}

/// Compiles `source` with `cc` and the given arguments into `dir/name`.
pub fn cc(dir: &Path, name: &str, source: &str, args: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    fs::write(&src, source).unwrap();
    let out = dir.join(name);
    let result = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .args(args)
        .output()
        .expect("cc is installed");
    assert!(
        result.status.success(),
        "cc {name}: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    out
}

pub const HELLO: &str = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n";

/// A build folder holding the given (triple, bin, file) artifacts.
pub fn folder(dir: &Path, files: &[(&str, &str, &Path)]) -> PathBuf {
    let arts: Vec<Art> = files
        .iter()
        .map(|(triple, bin, path)| art(bin, triple, bin, &fs::read(path).unwrap()))
        .collect();
    let out = dir.join("folder");
    build_folder(&out, &arts);
    out
}

pub fn portable(folder: &Path, floor: &str) -> Run {
    run(repro()
        .arg("portable")
        .arg(folder)
        .args(["--glibc-floor", floor]))
}

/// The line `repro portable` prints for `<triple>/<bin>`.
pub fn line<'a>(r: &'a Run, triple: &str, bin: &str) -> &'a str {
    let name = format!(" {triple}/{bin}: ");
    r.stdout
        .lines()
        .find(|l| l.contains(&name))
        .unwrap_or_else(|| panic!("no line for {triple}/{bin} in:\n{}", r.stdout))
}

/// A stand-in for glibc: soname libc.so.6, with a symbol at GLIBC_2.99 (a
/// glibc from the future) and one at GLIBC_PRIVATE (glibc's internals).
pub fn fake_libc(dir: &Path) -> PathBuf {
    let map = dir.join("fake.map");
    fs::write(
        &map,
        "GLIBC_2.99 { global: from_the_future; local: *; };\nGLIBC_PRIVATE { global: internal; };\n",
    )
    .unwrap();
    cc(
        dir,
        "libfakec.so",
        "int from_the_future(void) { return 0; }\nint internal(void) { return 1; }\n",
        &[
            "-shared",
            "-fPIC",
            "-Wl,-soname,libc.so.6",
            &format!("-Wl,--version-script={}", map.display()),
        ],
    )
}

/// A workspace whose [workspace.metadata.repro] has `extra` in it.
pub fn workspace(dir: &Path, extra: &str) -> PathBuf {
    let ws = dir.join("ws");
    fs::create_dir_all(ws.join("one/src")).unwrap();
    fs::write(
        ws.join("Cargo.toml"),
        format!(
            "[workspace]\nmembers = [\"one\"]\nresolver = \"3\"\n\n[workspace.metadata.repro]\n{extra}\n[workspace.metadata.repro.targets.t]\ntriples = [\"{X86}\"]\nprofiles.all = [\"one\"]\n\n[workspace.metadata.repro.packages.one]\ncrate = \"one\"\nfeatures = []\nbin = \"one\"\n"
        ),
    )
    .unwrap();
    fs::write(
        ws.join("one/Cargo.toml"),
        "[package]\nname = \"one\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    fs::write(ws.join("one/src/main.rs"), "fn main() {}\n").unwrap();
    ws
}
