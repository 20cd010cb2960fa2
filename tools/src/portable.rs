//! `repro portable DIR`: proves that every binary of a build folder runs on a
//! stock Linux (Debian, Raspberry Pi OS) with no /nix/store: an ELF for its
//! triple's architecture, static or loaded by the system's standard
//! interpreter, no RUNPATH/RPATH, no /nix/store path anywhere in it, and no
//! glibc symbol version newer than the release's glibc floor.

mod elf;
mod glibc;

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::compare::BuildFolder;
use crate::hashing::{self, HashError};
use crate::manifest::Artifact;
use crate::style::{Style, escape_untrusted};

use elf::Facts;
pub use glibc::GlibcVersion;

/// Larger files are not read: no released binary comes near it.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// The string no portable binary may contain: a path only Nix machines have.
pub const NIX_STORE: &[u8] = b"/nix/store/";

/// What a triple's binaries must be: its ELF machine and its loader's path.
struct Rules {
    machine: u16,
    interpreter: &'static str,
}

/// The triples this check knows; any other is reported, never waved through.
const RULES: &[(&str, Rules)] = &[
    (
        "x86_64-unknown-linux-gnu",
        Rules {
            machine: object::elf::EM_X86_64,
            interpreter: "/lib64/ld-linux-x86-64.so.2",
        },
    ),
    (
        "aarch64-unknown-linux-gnu",
        Rules {
            machine: object::elf::EM_AARCH64,
            interpreter: "/lib/ld-linux-aarch64.so.1",
        },
    ),
];

/// Which check an artifact failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Missing, unreadable, too large, or not the file its manifest hashes.
    File,
    /// Not an ELF executable, or a malformed one.
    Format,
    /// Not the triple's machine, class or byte order, or a triple with no rules.
    Architecture,
    /// A loader other than the system's, or libraries with no loader at all.
    Interpreter,
    /// DT_RUNPATH or DT_RPATH.
    Runpath,
    /// The bytes contain /nix/store/.
    NixStore,
    /// A GLIBC_ symbol version newer than the floor, or one that cannot be placed.
    GlibcVersion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub check: Check,
    /// Human words; values from the file are escaped only when rendered.
    pub detail: String,
}

/// How the file is linked, when it is an ELF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Linkage {
    Static,
    StaticPie,
    Dynamic,
}

impl fmt::Display for Linkage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Linkage::Static => "static",
            Linkage::StaticPie => "static-pie",
            Linkage::Dynamic => "dynamic",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactCheck {
    pub key: String,
    pub target: String,
    pub bin: String,
    pub bin_path: String,
    pub portable: bool,
    /// The SHA-256 of the bytes that were checked.
    pub sha256: Option<String>,
    pub linkage: Option<Linkage>,
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    /// The newest GLIBC_ version it needs, if any.
    pub newest_glibc: Option<String>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub dir: String,
    pub glibc_floor: GlibcVersion,
    pub artifacts: Vec<ArtifactCheck>,
    /// Files in the folder that its manifest does not describe (not checked).
    pub undescribed_files: Vec<String>,
    /// Every artifact is portable, and there is at least one.
    pub portable: bool,
}

impl Report {
    pub fn not_portable(&self) -> impl Iterator<Item = &ArtifactCheck> {
        self.artifacts.iter().filter(|a| !a.portable)
    }
}

/// Checks every artifact of the build folder `dir`. Errors mean unusable
/// input (no folder, a bad manifest, an unsafe bin_path).
pub fn check_folder(dir: &Path, floor: &GlibcVersion) -> Result<Report> {
    let folder = BuildFolder::open(dir)?;
    let mut manifest = folder.manifest.clone();
    manifest.sort_artifacts();
    let artifacts: Vec<ArtifactCheck> = manifest
        .artifacts
        .iter()
        .map(|artifact| {
            let read = folder
                .open_artifact(artifact)
                .and_then(|(file, len)| hashing::read_bounded(file, len, MAX_FILE_BYTES));
            match read {
                Err(e) if e.is_unsafe_path() => Err(folder.unsafe_path(artifact, &e)),
                read => Ok(check_artifact(artifact, read, floor)),
            }
        })
        .collect::<Result<_>>()?;
    let portable = !artifacts.is_empty() && artifacts.iter().all(|a| a.portable);
    Ok(Report {
        dir: dir.display().to_string(),
        glibc_floor: floor.clone(),
        undescribed_files: folder.undescribed_files(),
        artifacts,
        portable,
    })
}

fn check_artifact(
    artifact: &Artifact,
    read: Result<Vec<u8>, HashError>,
    floor: &GlibcVersion,
) -> ArtifactCheck {
    let mut check = ArtifactCheck {
        key: artifact.display_key(),
        target: artifact.target.clone(),
        bin: artifact.bin.clone(),
        bin_path: artifact.bin_path.clone(),
        portable: false,
        sha256: None,
        linkage: None,
        interpreter: None,
        needed: Vec::new(),
        newest_glibc: None,
        problems: Vec::new(),
    };
    match read {
        Ok(bytes) => {
            let sha = hashing::sha256_bytes(&bytes);
            if let Some(why) = artifact.recorded_mismatch(&sha) {
                check.problem(Check::File, why);
            }
            check.sha256 = Some(sha);
            check_bytes(&bytes, &artifact.target, floor, &mut check);
        }
        Err(e) => check.problem(Check::File, e.to_string()),
    }
    check.portable = check.problems.is_empty();
    check
}

impl ArtifactCheck {
    fn problem(&mut self, check: Check, detail: String) {
        self.problems.push(Problem { check, detail });
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs every check on a file's bytes, recording each problem found.
fn check_bytes(bytes: &[u8], triple: &str, floor: &GlibcVersion, check: &mut ArtifactCheck) {
    let live = store_paths(bytes);
    if let Some(&at) = live.first() {
        let count = live.len();
        let places = if count == 1 { "place" } else { "places" };
        check.problem(
            Check::NixStore,
            format!("contains {} ({count} {places})", string_at(bytes, at)),
        );
    }
    let facts = match elf::inspect(bytes) {
        Ok(Some(facts)) => facts,
        Ok(None) => return check.problem(Check::Format, "not an ELF file".into()),
        Err(why) => return check.problem(Check::Format, why),
    };
    let Some((_, rules)) = RULES.iter().find(|(t, _)| *t == triple) else {
        let known: Vec<&str> = RULES.iter().map(|(t, _)| *t).collect();
        return check.problem(
            Check::Architecture,
            format!(
                "no portability rules for triple {triple}; known: {}",
                known.join(", ")
            ),
        );
    };
    if facts.machine != rules.machine || !facts.is_64 || !facts.little_endian {
        let class = if facts.is_64 { 64 } else { 32 };
        let order = if facts.little_endian { "LE" } else { "BE" };
        check.problem(
            Check::Architecture,
            format!(
                "ELF for {} ({class}-bit {order}), not for {triple}",
                elf::machine_name(facts.machine)
            ),
        );
    }
    check.needed = facts.needed.iter().map(|n| text(n)).collect();
    check.interpreter = facts.interpreter.as_deref().map(text);
    if !matches!(facts.file_type, object::elf::ET_EXEC | object::elf::ET_DYN) {
        return check.problem(
            Check::Format,
            format!("not an executable (ELF type {})", facts.file_type),
        );
    }
    check.linkage = Some(if facts.interpreter.is_some() || !facts.needed.is_empty() {
        Linkage::Dynamic
    } else if facts.file_type == object::elf::ET_EXEC {
        Linkage::Static
    } else {
        Linkage::StaticPie
    });
    match &facts.interpreter {
        Some(interp) if interp != rules.interpreter.as_bytes() => check.problem(
            Check::Interpreter,
            format!(
                "interpreter {} is not the system's {}",
                text(interp),
                rules.interpreter
            ),
        ),
        None if !facts.needed.is_empty() => check.problem(
            Check::Interpreter,
            format!(
                "needs {} but has no interpreter to load it",
                check.needed.join(", ")
            ),
        ),
        _ => {}
    }
    for (name, paths) in [("RPATH", &facts.rpath), ("RUNPATH", &facts.runpath)] {
        for path in paths {
            check.problem(Check::Runpath, format!("{name} {}", text(path)));
        }
    }
    check_glibc_versions(&facts, floor, check);
}

fn check_glibc_versions(facts: &Facts, floor: &GlibcVersion, check: &mut ArtifactCheck) {
    let mut newest: Option<(GlibcVersion, String)> = None;
    let mut too_new: Vec<(GlibcVersion, String)> = Vec::new();
    for need in &facts.version_needs {
        let name = text(&need.version);
        let Some(rest) = name.strip_prefix("GLIBC_") else {
            continue;
        };
        let from = format!("{name} from {}", text(&need.file));
        // glibc's ABI markers are versions too; DT_RELR support came in 2.36.
        let number = if rest == "ABI_DT_RELR" { "2.36" } else { rest };
        let Ok(v) = number.parse::<GlibcVersion>() else {
            check.problem(
                Check::GlibcVersion,
                format!("needs {from}, which no glibc release number places"),
            );
            continue;
        };
        if v > *floor && !too_new.iter().any(|(_, f)| *f == from) {
            too_new.push((v.clone(), from));
        }
        if newest.as_ref().is_none_or(|(n, _)| v > *n) {
            newest = Some((v, name));
        }
    }
    if !too_new.is_empty() {
        too_new.sort();
        let names: Vec<String> = too_new.into_iter().map(|(_, from)| from).collect();
        check.problem(
            Check::GlibcVersion,
            format!("needs {}, newer than glibc {floor}", names.join(", ")),
        );
    }
    check.newest_glibc = newest.map(|(_, name)| name);
}

/// Where the file names a store path, leaving out paths neutered by nixpkgs'
/// remove-references-to (the hash replaced by 32 `e`s): they point nowhere
/// and are no reference, which is how a static glibc's own folders are left.
fn store_paths(bytes: &[u8]) -> Vec<usize> {
    const NEUTERED: &[u8] = b"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-";
    bytes
        .windows(NIX_STORE.len())
        .enumerate()
        .filter(|(at, w)| *w == NIX_STORE && !bytes[at + NIX_STORE.len()..].starts_with(NEUTERED))
        .map(|(at, _)| at)
        .collect()
}

/// The printable run of bytes starting at `at`, at most 120 long.
fn string_at(bytes: &[u8], at: usize) -> String {
    let run: Vec<u8> = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_graphic())
        .take(120)
        .copied()
        .collect();
    text(&run)
}

impl ArtifactCheck {
    /// What the human line says after the name.
    fn summary(&self) -> String {
        if !self.portable {
            let details: Vec<&str> = self.problems.iter().map(|p| p.detail.as_str()).collect();
            return details.join("; ");
        }
        let mut words = self.linkage.map_or_else(String::new, |l| l.to_string());
        if let Some(interp) = &self.interpreter {
            words.push_str(&format!(", interpreter {interp}"));
        }
        if !self.needed.is_empty() {
            words.push_str(&format!(", needs {}", self.needed.join(" ")));
        }
        if let Some(newest) = &self.newest_glibc {
            words.push_str(&format!(", newest {newest}"));
        }
        words
    }
}

/// The human rendering: one line per artifact, then the verdict.
pub fn render(report: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Portability of {} (glibc floor {}):",
        escape_untrusted(&report.dir),
        report.glibc_floor
    )?;
    for a in &report.artifacts {
        let name = escape_untrusted(&format!("{}/{}", a.target, a.bin));
        let summary = escape_untrusted(&a.summary());
        let mark = if a.portable {
            style.ok("ok  ")
        } else {
            style.fail("FAIL")
        };
        writeln!(out, "{mark} {name}: {summary}")?;
    }
    if report.artifacts.is_empty() {
        writeln!(
            out,
            "{} nothing to check: the manifest lists no artifacts",
            style.fail("FAIL")
        )?;
    }
    if !report.undescribed_files.is_empty() {
        writeln!(
            out,
            "{} files its manifest does not describe (not checked):",
            style.info("INFO")
        )?;
        for file in &report.undescribed_files {
            writeln!(out, "  - {}", escape_untrusted(file))?;
        }
    }
    let bad = report.not_portable().count();
    let total = report.artifacts.len();
    if report.portable {
        writeln!(
            out,
            "{}: {total} of {} portable",
            style.ok("Portability check PASSED"),
            crate::style::counted(total, "artifact")
        )
    } else if total == 0 {
        writeln!(
            out,
            "{}: nothing was checked",
            style.fail("Portability check FAILED")
        )
    } else {
        writeln!(
            out,
            "{}: {bad} of {} not portable",
            style.fail("Portability check FAILED"),
            crate::style::counted(total, "artifact")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_neutered_store_path_is_no_reference_but_a_live_one_is() {
        let neutered = b"x/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-glibc-2.42/lib/gconv\0";
        assert_eq!(store_paths(neutered), Vec::<usize>::new());
        let both = b"/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-glibc\0/nix/store/0123456789abcdfghijklmnpqrsvwxyz-glibc";
        assert_eq!(store_paths(both), vec![50]);
        // 31 e's and another character is a real hash
        let almost = b"/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeea-glibc";
        assert_eq!(store_paths(almost), vec![0]);
    }

    #[test]
    fn nix_store_strings_are_found_counted_and_cut_at_the_first_non_printable() {
        let data = b"xx/nix/store/abc-glibc/lib\0yy/nix/store/\x01";
        assert_eq!(store_paths(data), vec![2, 29]);
        assert_eq!(string_at(data, 2), "/nix/store/abc-glibc/lib");
    }
}
