//! `repro portable` on real ELF files compiled here with `cc`: static and
//! standard dynamic binaries pass; each way a binary can need the build
//! machine (a RUNPATH, a foreign interpreter, a /nix/store path, a glibc
//! symbol version newer than the floor, the wrong architecture) is named.

mod common;
#[path = "common/elf_fixtures.rs"]
mod elf_fixtures;

use std::fs;

use common::*;
use elf_fixtures::*;
use repro::portable::{Check, Linkage, Report};

#[test]
fn static_and_standard_dynamic_binaries_pass() {
    if cc_is_nix_wrapper() {
        return;
    }
    let (_guard, tmp) = tmp();
    let t = host();
    let interp = std_interpreter();
    let linker = format!("-Wl,--dynamic-linker={interp}");
    let stat = cc(&tmp, "static", HELLO, &["-static"]);
    let pie = cc(&tmp, "pie", HELLO, &["-static-pie"]);
    let dynamic = cc(&tmp, "dyn", HELLO, &[&linker]);
    let dir = folder(
        &tmp,
        &[
            (&t, "static", &stat),
            (&t, "pie", &pie),
            (&t, "dyn", &dynamic),
        ],
    );
    let r = portable(&dir, "2.36");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stderr, "");
    assert_eq!(line(&r, &t, "static"), format!("ok   {t}/static: static"));
    assert_eq!(line(&r, &t, "pie"), format!("ok   {t}/pie: static-pie"));
    let dyn_line = line(&r, &t, "dyn");
    let expected =
        format!("ok   {t}/dyn: dynamic, interpreter {interp}, needs libc.so.6, newest GLIBC_2.");
    assert!(dyn_line.starts_with(&expected), "{dyn_line}");
    assert_eq!(
        normalise(&r.stdout, &tmp).lines().next().unwrap(),
        "Portability of <tmp>/folder (glibc floor 2.36):"
    );
    assert!(
        r.stdout
            .ends_with("\nPortability check PASSED: 3 of 3 artifacts portable\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_runpath_or_rpath_fails_whatever_it_points_to() {
    if cc_is_nix_wrapper() {
        return;
    }
    let (_guard, tmp) = tmp();
    let t = host();
    let linker = format!("-Wl,--dynamic-linker={}", std_interpreter());
    let runpath = cc(
        &tmp,
        "runpath",
        HELLO,
        &[&linker, "-Wl,--enable-new-dtags,-rpath,/opt/camhub/lib"],
    );
    let rpath = cc(
        &tmp,
        "rpath",
        HELLO,
        &[&linker, "-Wl,--disable-new-dtags,-rpath,/opt/old/lib"],
    );
    let nix_rpath = format!("-Wl,--enable-new-dtags,-rpath,{NIX_GLIBC}");
    let nix = cc(&tmp, "nixrpath", HELLO, &[&linker, &nix_rpath]);
    let dir = folder(
        &tmp,
        &[
            (&t, "runpath", &runpath),
            (&t, "rpath", &rpath),
            (&t, "nixrpath", &nix),
        ],
    );
    let r = portable(&dir, "2.36");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        line(&r, &t, "runpath"),
        format!("FAIL {t}/runpath: RUNPATH /opt/camhub/lib")
    );
    assert_eq!(
        line(&r, &t, "rpath"),
        format!("FAIL {t}/rpath: RPATH /opt/old/lib")
    );
    assert_eq!(
        line(&r, &t, "nixrpath"),
        format!("FAIL {t}/nixrpath: contains {NIX_GLIBC} (1 place); RUNPATH {NIX_GLIBC}")
    );
    assert!(
        r.stdout
            .ends_with("\nPortability check FAILED: 3 of 3 artifacts not portable\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn an_interpreter_other_than_the_systems_fails() {
    if cc_is_nix_wrapper() {
        return;
    }
    let (_guard, tmp) = tmp();
    let t = host();
    let interp = std_interpreter();
    let loader = interp.rsplit('/').next().unwrap();
    let nix_loader = format!("{NIX_GLIBC}/{loader}");
    let nix = cc(
        &tmp,
        "nixinterp",
        HELLO,
        &[&format!("-Wl,--dynamic-linker={nix_loader}")],
    );
    let opt = cc(
        &tmp,
        "optinterp",
        HELLO,
        &["-Wl,--dynamic-linker=/opt/ld.so"],
    );
    // A control character from the file must not reach the terminal raw.
    let esc = cc(
        &tmp,
        "escinterp",
        HELLO,
        &["-Wl,--dynamic-linker=/opt/\x1b[2Jld.so"],
    );
    let dir = folder(
        &tmp,
        &[
            (&t, "nixinterp", &nix),
            (&t, "optinterp", &opt),
            (&t, "escinterp", &esc),
        ],
    );
    let r = portable(&dir, "2.36");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        line(&r, &t, "nixinterp"),
        format!(
            "FAIL {t}/nixinterp: contains {nix_loader} (1 place); interpreter {nix_loader} is not the system's {interp}"
        )
    );
    assert_eq!(
        line(&r, &t, "optinterp"),
        format!("FAIL {t}/optinterp: interpreter /opt/ld.so is not the system's {interp}")
    );
    assert_eq!(
        line(&r, &t, "escinterp"),
        format!(
            "FAIL {t}/escinterp: interpreter /opt/\\u{{1b}}[2Jld.so is not the system's {interp}"
        )
    );
    assert!(!r.stdout.contains('\x1b'), "{:?}", r.stdout);
}

#[test]
fn a_nix_store_path_anywhere_in_the_file_fails() {
    if cc_is_nix_wrapper() {
        return;
    }
    let (_guard, tmp) = tmp();
    let t = host();
    let source = format!(
        "#include <stdio.h>\nconst char *where = \"{NIX_SSL}\";\nint main(void) {{ puts(where); return 0; }}\n"
    );
    let data = cc(&tmp, "nixdata", &source, &["-static"]);
    let dir = folder(&tmp, &[(&t, "nixdata", &data)]);
    let r = portable(&dir, "2.36");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        line(&r, &t, "nixdata"),
        format!("FAIL {t}/nixdata: contains {NIX_SSL} (1 place)")
    );
}

#[test]
fn a_glibc_symbol_version_newer_than_the_floor_fails() {
    if cc_is_nix_wrapper() {
        return;
    }
    let (_guard, tmp) = tmp();
    let t = host();
    let linker = format!("-Wl,--dynamic-linker={}", std_interpreter());
    let fake = fake_libc(&tmp);
    let fake = fake.to_str().unwrap();
    // No C runtime: the fake is the only libc.so.6 the link sees.
    let newer = cc(
        &tmp,
        "newer",
        "int from_the_future(void);\nvoid _start(void) { from_the_future(); for (;;) {} }\n",
        &["-nostdlib", &linker, fake],
    );
    let private = cc(
        &tmp,
        "private",
        "int internal(void);\nvoid _start(void) { internal(); for (;;) {} }\n",
        &["-nostdlib", &linker, fake],
    );
    let dynamic = cc(&tmp, "dyn", HELLO, &[&linker]);
    let dir = folder(
        &tmp,
        &[
            (&t, "newer", &newer),
            (&t, "private", &private),
            (&t, "dyn", &dynamic),
        ],
    );
    let r = portable(&dir, "2.36");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        line(&r, &t, "newer"),
        format!("FAIL {t}/newer: needs GLIBC_2.99 from libc.so.6, newer than glibc 2.36")
    );
    assert_eq!(
        line(&r, &t, "private"),
        format!(
            "FAIL {t}/private: needs GLIBC_PRIVATE from libc.so.6, which no glibc release number places"
        )
    );
    assert!(line(&r, &t, "dyn").starts_with(&format!("ok   {t}/dyn: dynamic")));

    // The same real binary against an older floor: its own glibc's versions are too new.
    let r = portable(&dir, "2.2");
    let dyn_line = line(&r, &t, "dyn");
    assert!(
        dyn_line.starts_with(&format!("FAIL {t}/dyn: needs GLIBC_2.")),
        "{dyn_line}"
    );
    assert!(
        dyn_line.contains(" from libc.so.6, newer than glibc 2.2"),
        "{dyn_line}"
    );
}

#[test]
fn the_wrong_architecture_a_non_elf_file_and_a_bad_file_fail() {
    if cc_is_nix_wrapper() {
        return;
    }
    let (_guard, tmp) = tmp();
    let t = host();
    let other = other_triple();
    let stat = cc(&tmp, "static", HELLO, &["-static"]);
    let bytes = fs::read(&stat).unwrap();
    let arch = t.split('-').next().unwrap();
    let lib = cc(
        &tmp,
        "lib.so",
        "#include <stdio.h>\nint f(void) { return puts(\"lib\"); }\n",
        &["-shared", "-fPIC"],
    );
    let object = cc(&tmp, "object.o", "int g(void) { return 2; }\n", &["-c"]);
    let arts = vec![
        art("script", &t, "script", b"#!/bin/sh\necho hi\n"),
        art("static", other, "static", &bytes),
        art("static", "riscv64gc-unknown-linux-gnu", "static", &bytes),
        art("lib", &t, "lib", &fs::read(&lib).unwrap()),
        art("object", &t, "object", &fs::read(&object).unwrap()),
        art("gone", &t, "gone", b"").with(|a| a.content = None),
        art("tampered", &t, "tampered", &bytes).with(|a| a.sha256 = Some(sha256_hex(b"other"))),
    ];
    build_folder(&tmp.join("folder"), &arts);
    let r = portable(&tmp.join("folder"), "2.36");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        line(&r, &t, "script"),
        format!("FAIL {t}/script: not an ELF file")
    );
    assert_eq!(
        line(&r, other, "static"),
        format!("FAIL {other}/static: ELF for {arch} (64-bit LE), not for {other}")
    );
    assert_eq!(
        line(&r, "riscv64gc-unknown-linux-gnu", "static"),
        "FAIL riscv64gc-unknown-linux-gnu/static: no portability rules for triple riscv64gc-unknown-linux-gnu; known: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu"
    );
    assert_eq!(
        line(&r, &t, "lib"),
        format!("FAIL {t}/lib: needs libc.so.6 but has no interpreter to load it")
    );
    assert_eq!(
        line(&r, &t, "object"),
        format!("FAIL {t}/object: not an executable (ELF type 1)")
    );
    assert_eq!(
        line(&r, &t, "gone"),
        format!("FAIL {t}/gone: file is missing")
    );
    assert_eq!(
        line(&r, &t, "tampered"),
        format!(
            "FAIL {t}/tampered: manifest sha256 {} does not match the file, which hashes to {}",
            sha256_hex(b"other"),
            sha256_hex(&bytes)
        )
    );
}

#[test]
fn json_output_carries_the_same_facts_typed() {
    if cc_is_nix_wrapper() {
        return;
    }
    let (_guard, tmp) = tmp();
    let t = host();
    let stat = cc(&tmp, "static", HELLO, &["-static"]);
    let linker = format!("-Wl,--dynamic-linker={}", std_interpreter());
    let runpath = cc(
        &tmp,
        "runpath",
        HELLO,
        &[&linker, "-Wl,-rpath,/opt/camhub/lib"],
    );
    let dir = folder(&tmp, &[(&t, "static", &stat), (&t, "runpath", &runpath)]);
    let r = run(repro()
        .arg("portable")
        .arg(&dir)
        .args(["--glibc-floor", "2.36", "--json"]));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let report: Report = serde_json::from_str(&r.stdout).unwrap();
    assert!(!report.portable);
    assert_eq!(report.glibc_floor.to_string(), "2.36");
    let by_bin = |bin: &str| report.artifacts.iter().find(|a| a.bin == bin).unwrap();
    let s = by_bin("static");
    assert!(s.portable && s.problems.is_empty());
    assert_eq!(s.linkage, Some(Linkage::Static));
    assert_eq!(
        s.sha256.as_deref(),
        Some(sha256_hex(&fs::read(&stat).unwrap()).as_str())
    );
    let rp = by_bin("runpath");
    assert_eq!(rp.linkage, Some(Linkage::Dynamic));
    assert_eq!(rp.needed, ["libc.so.6"]);
    assert_eq!(rp.problems.len(), 1);
    assert_eq!(rp.problems[0].check, Check::Runpath);
    assert_eq!(rp.problems[0].detail, "RUNPATH /opt/camhub/lib");
    let raw: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(raw["artifacts"][0]["problems"][0]["check"], "runpath");
    assert_eq!(raw["artifacts"][1]["linkage"], "static");
}

#[test]
fn the_floor_comes_from_the_workspace_unless_given() {
    if cc_is_nix_wrapper() {
        return;
    }
    let (_guard, tmp) = tmp();
    let t = host();
    let linker = format!("-Wl,--dynamic-linker={}", std_interpreter());
    let dynamic = cc(&tmp, "dyn", HELLO, &[&linker]);
    let dir = folder(&tmp, &[(&t, "dyn", &dynamic)]);
    let ws = workspace(&tmp, "glibc_floor = \"2.2\"\n");
    let from_ws = |extra: &[&str]| {
        run(repro()
            .arg("portable")
            .arg(&dir)
            .arg("--workspace")
            .arg(&ws)
            .args(extra))
    };
    let r = from_ws(&[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with(&format!(
        "Portability of {} (glibc floor 2.2):\n",
        dir.display()
    )));
    assert!(
        line(&r, &t, "dyn").contains("newer than glibc 2.2"),
        "{}",
        r.stdout
    );
    // --glibc-floor wins over the workspace.
    let r = from_ws(&["--glibc-floor", "2.36"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    let ws = workspace(&tmp.join("no-floor"), "");
    let r = run(repro()
        .arg("portable")
        .arg(&dir)
        .arg("--workspace")
        .arg(&ws));
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains(
            "Cargo.toml: [workspace.metadata.repro] has no glibc_floor; add the oldest glibc the released binaries must run on, e.g. glibc_floor = \"2.36\"\n"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn unusable_input_exits_2_and_an_empty_manifest_never_passes() {
    let (_guard, tmp) = tmp();
    let r = portable(&tmp.join("nope"), "2.36");
    assert_eq!(r.code, 2);
    assert!(
        normalise(&r.stderr, &tmp).starts_with(
            "repro: <tmp>/nope: no such build folder; pass the folder that directly contains manifest.json"
        ),
        "{}",
        r.stderr
    );
    build_folder(&tmp.join("a"), &release());
    let r = portable(&tmp.join("a"), "2.x");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("invalid value '2.x' for '--glibc-floor <X.Y>': `2.x` is not a glibc version such as 2.36"),
        "{}",
        r.stderr
    );
    let unsafe_path = vec![art("a", X86, "a", b"x").with(|a| {
        a.bin_path = "../a".into();
        a.content = None;
    })];
    build_folder(&tmp.join("b"), &unsafe_path);
    let r = portable(&tmp.join("b"), "2.36");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unsafe bin_path"), "{}", r.stderr);

    build_folder(&tmp.join("empty"), &[]);
    let r = portable(&tmp.join("empty"), "2.36");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        normalise(&r.stdout, &tmp),
        "Portability of <tmp>/empty (glibc floor 2.36):\nFAIL nothing to check: the manifest lists no artifacts\nPortability check FAILED: nothing was checked\n"
    );
}
