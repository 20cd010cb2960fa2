//! An LD_PRELOAD library that makes rename(2) fail with EIO when the
//! destination ends with $FAIL_RENAME_TO: a fault injected at one step of a
//! program under test. Shared by the update and config_tool tests.
//!
//! The library must be built for the architecture of the program it is
//! loaded into, which is this test's own: under emulation (the aarch64 tests
//! on an x86_64 machine) the machine's `cc` builds for the machine, and the
//! dynamic loader would silently skip the library. Then the cross compiler
//! `<arch>-linux-gnu-gcc` builds it.

use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
int rename(const char *from, const char *to) {
    const char *fail = getenv("FAIL_RENAME_TO");
    size_t n = strlen(to), m = fail ? strlen(fail) : 0;
    if (fail && n >= m && strcmp(to + n - m, fail) == 0) { errno = EIO; return -1; }
    int (*real)(const char *, const char *) = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    return real(from, to);
}
"#;

/// The C compiler that builds for this test's architecture.
fn compiler() -> String {
    let arch = std::env::consts::ARCH;
    let machine = Command::new("cc")
        .arg("-dumpmachine")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if machine.starts_with(arch) {
        "cc".to_owned()
    } else {
        format!("{arch}-linux-gnu-gcc")
    }
}

pub fn rename_fault(dir: &Path) -> PathBuf {
    let source = dir.join("fault.c");
    std::fs::write(&source, SOURCE).unwrap();
    let lib = dir.join("fault.so");
    let cc = compiler();
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&source)
        .arg("-ldl")
        .status()
        .unwrap_or_else(|e| panic!("{cc} builds the fault-injection library: {e}"));
    assert!(status.success(), "{cc} failed");
    lib
}
