//! Which Rust compiler and which C toolchain `repro build` uses for each
//! triple, and the environment its inner cargo gets.
//!
//! The compiler: `RUSTC` when the caller sets it (for every triple), else the
//! one rust-toolchain.toml selects when it has the triple's standard library,
//! else the first of the matrix's `cargo.rustc_fallbacks` that has it (rustup
//! adds a standard library only with internet; Debian's rustc-web ships one
//! for both triples). Each triple's choice does not depend on which other
//! triples are built, so a pair's x86_64 binaries are the same whether or not
//! aarch64 is built too. The manifest records each triple's compiler.
//!
//! A triple that is not the machine's own is linked, and its C compiled, by
//! the cross toolchain `<cargo.cross_prefix.<triple>>gcc`, given to cargo and
//! cc-rs through the variables crane's mkCrossToolchainEnv sets in a Nix cross
//! build (tests/nix compares the names with the real crane's).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use crate::matrix::Reproducible;

/// Where a compiler came from, as the build's report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The caller's `RUSTC`.
    RustcVariable,
    /// What rust-toolchain.toml selects (through rustup, or whatever `rustc` is on PATH).
    ToolchainFile,
    /// One of the matrix's `cargo.rustc_fallbacks`.
    Fallback,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Origin::RustcVariable => "RUSTC",
            Origin::ToolchainFile => "rust-toolchain.toml",
            Origin::Fallback => "cargo.rustc_fallbacks",
        })
    }
}

/// A Rust compiler that runs here.
#[derive(Debug, Clone)]
pub struct Compiler {
    /// What the inner cargo gets as `RUSTC`.
    pub rustc: PathBuf,
    pub origin: Origin,
    /// `rustc -vV`, whose SHA-256 identifies the compiler in the manifest.
    pub version_verbose: String,
    pub sysroot: PathBuf,
}

impl Compiler {
    fn field(&self, key: &str) -> Option<&str> {
        self.version_verbose
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
    }

    /// The triple the compiler runs on.
    pub fn host(&self) -> Option<&str> {
        self.field("host")
    }

    /// `rustc 1.96.0 (ac68faa20 2026-05-25)`: the first line of `-vV`.
    pub fn version(&self) -> &str {
        self.version_verbose.lines().next().unwrap_or_default()
    }

    /// The manifest's `rust_digest`: the release, then the SHA-256 of
    /// `rustc -vV` (which names the commit, the host and LLVM).
    pub fn digest(&self) -> String {
        format!(
            "rustc:{}@sha256:{}",
            self.field("release").unwrap_or("unknown"),
            crate::hashing::sha256_bytes(self.version_verbose.as_bytes())
        )
    }

    /// Whether the compiler's sysroot holds a standard library for `triple`.
    pub fn has_std(&self, triple: &str) -> bool {
        let lib = self.sysroot.join("lib/rustlib").join(triple).join("lib");
        std::fs::read_dir(lib).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("libstd-") && name.ends_with(".rlib")
            })
        })
    }

    /// Runs `rustc` in `dir` (where rust-toolchain.toml applies) and learns
    /// its identity and sysroot, or says why it does not run.
    fn probe(rustc: &Path, origin: Origin, dir: &Path) -> Result<Compiler, String> {
        let run = |args: &[&str]| -> Result<String, String> {
            let out = Command::new(rustc)
                .args(args)
                .current_dir(dir)
                // A caller's `cargo +x` or RUSTUP_TOOLCHAIN must not override the toolchain file.
                .env_remove("RUSTUP_TOOLCHAIN")
                .output()
                .map_err(|e| format!("cannot run it ({e})"))?;
            if !out.status.success() {
                return Err(format!(
                    "`{} {}` failed: {}",
                    rustc.display(),
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            String::from_utf8(out.stdout)
                .map_err(|_| "it printed something that is not UTF-8".into())
        };
        let version_verbose = run(&["-vV"])?;
        let sysroot = PathBuf::from(run(&["--print", "sysroot"])?.trim());
        // rustup's `rustc` is a proxy that chooses by folder and environment;
        // the inner cargo gets the chosen compiler itself.
        let real = sysroot.join("bin/rustc");
        let rustc = if origin == Origin::ToolchainFile && real.is_file() {
            real
        } else {
            rustc.to_owned()
        };
        Ok(Compiler {
            rustc,
            origin,
            version_verbose,
            sysroot,
        })
    }
}

/// The compilers `repro build` may use, in the order it tries them.
pub fn candidates(settings: &Reproducible) -> Vec<(PathBuf, Origin)> {
    match std::env::var_os("RUSTC").filter(|v| !v.is_empty()) {
        Some(rustc) => vec![(PathBuf::from(rustc), Origin::RustcVariable)],
        None => std::iter::once((PathBuf::from("rustc"), Origin::ToolchainFile))
            .chain(
                settings
                    .cargo
                    .rustc_fallbacks
                    .iter()
                    .map(|p| (p.clone(), Origin::Fallback)),
            )
            .collect(),
    }
}

/// What one triple is built with.
#[derive(Debug, Clone)]
pub struct TripleToolchain {
    pub triple: String,
    pub compiler: Compiler,
    /// The cross C toolchain's prefix; `None` for the machine's own triple.
    pub cross_prefix: Option<String>,
}

/// A triple that cannot be built here, and why, with what to install.
#[derive(Debug, Clone)]
pub struct Unbuildable {
    pub triple: String,
    pub reasons: Vec<String>,
    pub fix: String,
}

impl std::fmt::Display for Unbuildable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cannot be built here: {}. {}",
            self.triple,
            self.reasons.join("; "),
            self.fix
        )
    }
}

/// Chooses, for each triple, the compiler and the C toolchain, or says why
/// the triple cannot be built here.
pub fn choose(
    workspace_root: &Path,
    settings: &Reproducible,
    triples: &[String],
) -> Result<(Vec<TripleToolchain>, Vec<Unbuildable>)> {
    let mut probed = Vec::new();
    let mut not_running = Vec::new();
    for (rustc, origin) in candidates(settings) {
        match Compiler::probe(&rustc, origin.clone(), workspace_root) {
            Ok(c) => probed.push(c),
            Err(why) if origin == Origin::Fallback => {
                not_running.push(format!("{} ({origin}): {why}", rustc.display()))
            }
            Err(why) => bail!("{} ({origin}): {why}", rustc.display()),
        }
    }
    let machine = match probed.first().and_then(Compiler::host) {
        Some(host) => host.to_owned(),
        None => bail!("no Rust compiler runs here: {}", not_running.join("; ")),
    };
    let static_libc = settings
        .rustflags
        .iter()
        .any(|f| f.contains("target-feature=+crt-static"));

    let mut chosen = Vec::new();
    let mut unbuildable = Vec::new();
    for triple in triples {
        let mut reasons = Vec::new();
        let compiler = probed.iter().find(|c| c.has_std(triple));
        if compiler.is_none() {
            let tried: Vec<String> = probed
                .iter()
                .map(|c| {
                    format!(
                        "{} ({}, {}) has none",
                        c.rustc.display(),
                        c.origin,
                        c.version()
                    )
                })
                .chain(not_running.iter().cloned())
                .collect();
            reasons.push(format!(
                "no Rust standard library for it: {}",
                tried.join(", ")
            ));
        }
        let cross_prefix = if *triple == machine {
            None
        } else {
            match settings.cargo.cross_prefix.get(triple) {
                None => {
                    reasons.push(format!(
                        "it is not this machine's triple ({machine}) and [workspace.metadata.repro.reproducible] cargo.cross_prefix names no C cross toolchain for it"
                    ));
                    None
                }
                Some(prefix) => Some(prefix.clone()),
            }
        };
        let cc = match &cross_prefix {
            Some(prefix) => format!("{prefix}gcc"),
            None => "cc".to_owned(),
        };
        if (cross_prefix.is_some() || *triple == machine)
            && let Err(why) = check_c_toolchain(&cc, static_libc)
        {
            reasons.push(why);
        }
        match compiler {
            Some(compiler) if reasons.is_empty() => chosen.push(TripleToolchain {
                triple: triple.clone(),
                compiler: compiler.clone(),
                cross_prefix,
            }),
            _ => unbuildable.push(Unbuildable {
                triple: triple.clone(),
                fix: how_to_get(triple, &machine, cross_prefix.as_deref()),
                reasons,
            }),
        }
    }
    Ok((chosen, unbuildable))
}

/// The C compiler must run, and with a static libc its `libc.a` must be there
/// (glibc's static archive comes in its own package).
fn check_c_toolchain(cc: &str, static_libc: bool) -> Result<(), String> {
    // Under qemu-user a program that is not there can look started and
    // exit 127, so a failed run counts as missing too.
    let out = match Command::new(cc).arg("-print-file-name=libc.a").output() {
        Ok(out) if out.status.success() => out,
        _ => {
            return Err(format!(
                "its C compiler `{cc}` is not on PATH or does not run"
            ));
        }
    };
    let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    // gcc prints the bare name when it has no such file.
    if static_libc && !Path::new(&found).is_absolute() {
        return Err(format!(
            "`{cc}` has no static C library (libc.a), which +crt-static links"
        ));
    }
    Ok(())
}

/// What to run to be able to build `triple` here.
fn how_to_get(triple: &str, machine: &str, cross_prefix: Option<&str>) -> String {
    let arch = |t: &str| {
        match t.split('-').next() {
            Some("aarch64") => "arm64",
            Some("x86_64") => "amd64",
            Some(other) => other,
            None => t,
        }
        .to_owned()
    };
    let mut debian = vec![format!("libstd-rust-web-dev:{}", arch(triple))];
    match cross_prefix {
        Some(prefix) => {
            let gnu = prefix.trim_end_matches('-');
            debian.push(format!("gcc-{}", gnu.replace('_', "-")));
            debian.push(format!("libc6-dev-{}-cross", arch(triple)));
        }
        None => debian.push("libc6-dev".into()),
    }
    let add_arch = if triple == machine {
        String::new()
    } else {
        format!("dpkg --add-architecture {} && ", arch(triple))
    };
    format!(
        "To get it: on Debian bookworm, `{add_arch}apt-get update && apt-get install rustc-web {}` (README: \"Cross-building aarch64\"); with rustup and internet, `rustup target add {triple}` and a C cross compiler; or pass --skip-missing-targets to build only the other triples",
        debian.join(" ")
    )
}

/// Variables of the caller's environment that would change what the inner
/// cargo builds, or with what: compilers, flags, cargo's own settings and
/// the variables `cargo run` sets for the program it runs. The inner build
/// gets only what [`toolchain_env`] and the reproducible flags give it.
pub fn is_inherited_build_variable(name: &str) -> bool {
    const TOOLS: [&str; 8] = [
        "CC", "CXX", "AR", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "ARFLAGS", "LDFLAGS",
    ];
    const EXACT: [&str; 11] = [
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTUP_TOOLCHAIN",
        "CARGO",
        "OUT_DIR",
        "TARGET",
    ];
    // What stays: where cargo keeps its registry and how it reaches it.
    const CARGO_KEPT: [&str; 6] = [
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_TERM_",
    ];
    let tool = |rest: &str| {
        TOOLS
            .iter()
            .any(|t| rest == *t || rest.strip_prefix(t).is_some_and(|s| s.starts_with('_')))
    };
    EXACT.contains(&name)
        || tool(name)
        || name.strip_prefix("HOST_").is_some_and(tool)
        || name.strip_prefix("TARGET_").is_some_and(tool)
        || (name.starts_with("CARGO_") && !CARGO_KEPT.iter().any(|k| name.starts_with(k)))
}

/// The variables that give the inner cargo `toolchain`: the compiler, and
/// for a cross triple its C toolchain under the names crane's
/// mkCrossToolchainEnv uses. The inner build gets these, the reproducible
/// flags, and the caller's environment minus [`is_inherited_build_variable`].
pub fn toolchain_env(toolchain: &TripleToolchain) -> BTreeMap<String, OsString> {
    let mut env = BTreeMap::new();
    env.insert(
        "RUSTC".into(),
        toolchain.compiler.rustc.clone().into_os_string(),
    );
    // Doc tests (`cargo test`) for the triple need the same toolchain's rustdoc.
    let rustdoc = toolchain.compiler.rustc.with_file_name("rustdoc");
    if rustdoc.is_file() {
        env.insert("RUSTDOC".into(), rustdoc.into_os_string());
    }
    if let Some(prefix) = &toolchain.cross_prefix {
        // The target's tools, and the build machine's (for build scripts and
        // proc macros), each under its triple's name and its role's.
        let sides = [
            (
                "TARGET",
                toolchain.triple.as_str(),
                prefix.as_str(),
                "gcc",
                "g++",
            ),
            (
                "HOST",
                toolchain.compiler.host().unwrap_or_default(),
                "",
                "cc",
                "c++",
            ),
        ];
        for (role, triple, prefix, cc, cxx) in sides {
            let upper = triple.to_uppercase().replace(['-', '.'], "_");
            let tool = |t: &str| OsString::from(format!("{prefix}{t}"));
            env.insert(format!("CARGO_TARGET_{upper}_LINKER"), tool(cc));
            for (var, t) in [("CC", cc), ("CXX", cxx), ("AR", "ar")] {
                env.insert(format!("{var}_{upper}"), tool(t));
                env.insert(format!("{role}_{var}"), tool(t));
            }
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_toolchain_and_cargo_variables_are_not_inherited() {
        for name in [
            "CC",
            "CFLAGS",
            "CFLAGS_aarch64-unknown-linux-gnu",
            "CC_aarch64_unknown_linux_gnu",
            "TARGET_CC",
            "HOST_CFLAGS",
            "RUSTC",
            "RUSTFLAGS",
            "RUSTUP_TOOLCHAIN",
            "CARGO_BUILD_TARGET",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_PROFILE_RELEASE_LTO",
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO",
        ] {
            assert!(is_inherited_build_variable(name), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "CARGO_HOME",
            "CARGO_NET_OFFLINE",
            "CARGO_HTTP_CAINFO",
            "CCACHE_DIR",
            "ARCH",
            "RUSTUP_HOME",
            "TMPDIR",
        ] {
            assert!(!is_inherited_build_variable(name), "{name}");
        }
    }

    fn toolchain(triple: &str, cross_prefix: Option<&str>) -> TripleToolchain {
        TripleToolchain {
            triple: triple.into(),
            compiler: Compiler {
                rustc: "/nonexistent/bin/rustc".into(),
                origin: Origin::Fallback,
                version_verbose: "rustc 1.96.0 (ac68faa20 2026-05-25)\nhost: x86_64-unknown-linux-gnu\nrelease: 1.96.0\n".into(),
                sysroot: "/usr".into(),
            },
            cross_prefix: cross_prefix.map(Into::into),
        }
    }

    #[test]
    fn a_cross_triple_gets_its_c_toolchain_under_cranes_names() {
        let env = toolchain_env(&toolchain(
            "aarch64-unknown-linux-gnu",
            Some("aarch64-linux-gnu-"),
        ));
        let got: Vec<(&str, &str)> = env
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("AR_AARCH64_UNKNOWN_LINUX_GNU", "aarch64-linux-gnu-ar"),
                ("AR_X86_64_UNKNOWN_LINUX_GNU", "ar"),
                (
                    "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
                    "aarch64-linux-gnu-gcc"
                ),
                ("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER", "cc"),
                ("CC_AARCH64_UNKNOWN_LINUX_GNU", "aarch64-linux-gnu-gcc"),
                ("CC_X86_64_UNKNOWN_LINUX_GNU", "cc"),
                ("CXX_AARCH64_UNKNOWN_LINUX_GNU", "aarch64-linux-gnu-g++"),
                ("CXX_X86_64_UNKNOWN_LINUX_GNU", "c++"),
                ("HOST_AR", "ar"),
                ("HOST_CC", "cc"),
                ("HOST_CXX", "c++"),
                ("RUSTC", "/nonexistent/bin/rustc"),
                ("TARGET_AR", "aarch64-linux-gnu-ar"),
                ("TARGET_CC", "aarch64-linux-gnu-gcc"),
                ("TARGET_CXX", "aarch64-linux-gnu-g++"),
            ]
        );
        let native = toolchain_env(&toolchain("x86_64-unknown-linux-gnu", None));
        assert_eq!(native.keys().collect::<Vec<_>>(), ["RUSTC"]);
        // The compiler's own rustdoc, when it has one beside it.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rustc"), "").unwrap();
        std::fs::write(dir.path().join("rustdoc"), "").unwrap();
        let mut with_rustdoc = toolchain("x86_64-unknown-linux-gnu", None);
        with_rustdoc.compiler.rustc = dir.path().join("rustc");
        assert_eq!(
            toolchain_env(&with_rustdoc).get("RUSTDOC"),
            Some(&dir.path().join("rustdoc").into_os_string())
        );
    }

    #[test]
    fn the_digest_names_the_release_and_hashes_the_whole_version_text() {
        let t = toolchain("x86_64-unknown-linux-gnu", None);
        assert_eq!(
            t.compiler.digest(),
            format!(
                "rustc:1.96.0@sha256:{}",
                crate::hashing::sha256_bytes(t.compiler.version_verbose.as_bytes())
            )
        );
        assert_eq!(t.compiler.host(), Some("x86_64-unknown-linux-gnu"));
        assert_eq!(t.compiler.version(), "rustc 1.96.0 (ac68faa20 2026-05-25)");
    }
}
