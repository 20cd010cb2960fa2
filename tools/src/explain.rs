//! `repro explain A B`: for every artifact whose bytes differ, where they
//! differ and probably why. ELF files are compared section by section and
//! segment by segment (the `object` crate); any file gets the first differing
//! offsets and the printable strings only one side has, which is where build
//! paths, times and names show up. Output stays bounded for large binaries.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;
use object::{Object, ObjectSection, ObjectSegment};
use serde::{Deserialize, Serialize};

use crate::compare::{BuildFolder, Report, Status};
use crate::hashing::{self, sha256_bytes};
use crate::progress::Progress;
use crate::style::{Style, counted, escape_untrusted};

/// Files larger than this get only the byte-level summary, read in streams.
const MAX_PARSE_BYTES: u64 = 512 << 20;
/// The shortest run of printable bytes counted as a string (as `strings -n 6`).
const MIN_STRING: usize = 6;
/// At most this many differing places are shown per section (or file).
const MAX_PLACES: usize = 3;
/// At most this many one-sided strings are kept per side.
const MAX_STRINGS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// Offset from the start of the section (or file).
    pub offset: u64,
    pub a_hex: String,
    pub b_hex: String,
    /// The printable string around the offset on each side, if any.
    pub a_text: String,
    pub b_text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// A section name, or `segment #i (flags, vaddr)`.
    pub name: String,
    pub a_size: Option<u64>,
    pub b_size: Option<u64>,
    pub a_sha256: Option<String>,
    pub b_sha256: Option<String>,
    pub places: Vec<Place>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    pub cause: String,
    pub evidence: Vec<String>,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub key: String,
    pub a_size: u64,
    pub b_size: u64,
    /// `ELF` when both files parse as ELF, else `bytes`.
    pub format: String,
    pub first_difference: Option<u64>,
    /// Bytes that differ over the common length, plus the length difference.
    pub differing_bytes: u64,
    pub identical_sections: usize,
    pub differing_sections: Vec<Part>,
    pub identical_segments: usize,
    pub differing_segments: Vec<Part>,
    /// Places in the whole file, for non-ELF files.
    pub places: Vec<Place>,
    pub strings_only_in_a: Vec<String>,
    pub strings_only_in_b: Vec<String>,
    /// How many one-sided strings there were before the cut.
    pub strings_only_in_a_total: usize,
    pub strings_only_in_b_total: usize,
    pub causes: Vec<Cause>,
    /// diffoscope's report file, or why there is none.
    pub diffoscope: Option<String>,
}

/// What to do about diffoscope.
#[derive(Debug, Clone)]
pub struct Diffoscope {
    pub report_dir: PathBuf,
    pub time_limit: Duration,
    pub max_file_bytes: u64,
}

/// What [`explain_report`] has ready for output, in order: a pair's own
/// analysis as soon as it is made, then diffoscope's outcome for that pair.
pub enum Ready<'a> {
    Analysis(&'a Explanation),
    Diffoscope(&'a str),
}

/// Explanations for every artifact of the report whose binaries differ. Each
/// pair's analysis is handed to `ready` before diffoscope (which may take
/// minutes) runs on it; an error from `ready` stops the work.
pub fn explain_report(
    report: &Report,
    a_dir: &Path,
    b_dir: &Path,
    diffoscope: Option<&Diffoscope>,
    progress: Progress,
    ready: &mut dyn FnMut(Ready<'_>) -> io::Result<()>,
) -> Result<Vec<Explanation>> {
    let a = BuildFolder::open(a_dir)?;
    let b = BuildFolder::open(b_dir)?;
    let mut explanations = Vec::new();
    for result in &report.results {
        if result.status != Status::Diff || !result.diffs.iter().any(|d| d.field == "sha256") {
            continue;
        }
        let key = (
            result.package.as_str(),
            result.target.as_str(),
            result.bin.as_str(),
        );
        let (Some(art_a), Some(art_b)) = (a.find(key), b.find(key)) else {
            continue;
        };
        // Opened once each, beneath their folders, like the hashing was.
        let (Ok(fa), Ok(fb)) = (a.open_artifact(art_a), b.open_artifact(art_b)) else {
            continue;
        };
        let mut explanation = explain_files(&result.key, fa, fb)?;
        ready(Ready::Analysis(&explanation))?;
        if let Some(options) = diffoscope {
            let (pa, pb) = (a.root.join(&art_a.bin_path), b.root.join(&art_b.bin_path));
            let said = run_diffoscope(&result.key, &pa, &pb, options, progress);
            ready(Ready::Diffoscope(&said))?;
            explanation.diffoscope = Some(said);
        }
        explanations.push(explanation);
    }
    Ok(explanations)
}

/// Explains how two files differ, given open handles and their sizes.
pub fn explain_files(
    key: &str,
    (a_file, a_size): (fs::File, u64),
    (b_file, b_size): (fs::File, u64),
) -> Result<Explanation> {
    let mut e = Explanation {
        key: key.to_owned(),
        a_size,
        b_size,
        format: "bytes".into(),
        first_difference: None,
        differing_bytes: 0,
        identical_sections: 0,
        differing_sections: Vec::new(),
        identical_segments: 0,
        differing_segments: Vec::new(),
        places: Vec::new(),
        strings_only_in_a: Vec::new(),
        strings_only_in_b: Vec::new(),
        strings_only_in_a_total: 0,
        strings_only_in_b_total: 0,
        causes: Vec::new(),
        diffoscope: None,
    };
    if a_size > MAX_PARSE_BYTES || b_size > MAX_PARSE_BYTES {
        let (first, count) = streamed_difference(a_file, b_file)?;
        e.first_difference = first;
        e.differing_bytes = count;
        e.causes.push(Cause {
            cause: format!(
                "files over {} MiB are only compared byte by byte",
                MAX_PARSE_BYTES >> 20
            ),
            evidence: Vec::new(),
            fix: "run with --diffoscope for a structural comparison".into(),
        });
        return Ok(e);
    }
    let read = |file, size| {
        hashing::read_bounded(file, size, MAX_PARSE_BYTES)
            .map_err(|why| anyhow::anyhow!("{key}: {why}"))
    };
    let (a, b) = (read(a_file, a_size)?, read(b_file, b_size)?);
    e.first_difference = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .map(|p| p as u64)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len()) as u64));
    e.differing_bytes =
        a.iter().zip(&b).filter(|(x, y)| x != y).count() as u64 + a.len().abs_diff(b.len()) as u64;

    match (object::File::parse(&*a), object::File::parse(&*b)) {
        (Ok(fa), Ok(fb))
            if fa.format() == object::BinaryFormat::Elf
                && fb.format() == object::BinaryFormat::Elf =>
        {
            e.format = "ELF".into();
            compare_sections(&fa, &fb, &mut e);
            compare_segments(&fa, &fb, &mut e);
        }
        _ => e.places = places(&a, &b),
    }

    let sa = strings(&a);
    let sb = strings(&b);
    let only_a: Vec<String> = sa.difference(&sb).cloned().collect();
    let only_b: Vec<String> = sb.difference(&sa).cloned().collect();
    e.strings_only_in_a_total = only_a.len();
    e.strings_only_in_b_total = only_b.len();
    e.causes = causes(&e, &only_a, &only_b);
    e.strings_only_in_a = prioritised(only_a);
    e.strings_only_in_b = prioritised(only_b);
    Ok(e)
}

fn section_part(name: String, a: Option<&[u8]>, b: Option<&[u8]>) -> Part {
    Part {
        name,
        a_size: a.map(|d| d.len() as u64),
        b_size: b.map(|d| d.len() as u64),
        a_sha256: a.map(|d| short(&sha256_bytes(d))),
        b_sha256: b.map(|d| short(&sha256_bytes(d))),
        places: match (a, b) {
            (Some(a), Some(b)) => places(a, b),
            _ => Vec::new(),
        },
    }
}

fn compare_sections(fa: &object::File, fb: &object::File, e: &mut Explanation) {
    let names: BTreeSet<String> = fa
        .sections()
        .chain(fb.sections())
        .filter_map(|s| s.name().ok().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .collect();
    for name in names {
        let da = fa.section_by_name(&name).and_then(|s| s.data().ok());
        let db = fb.section_by_name(&name).and_then(|s| s.data().ok());
        if da.is_some() && da == db {
            e.identical_sections += 1;
        } else {
            e.differing_sections.push(section_part(name, da, db));
        }
    }
}

fn compare_segments(fa: &object::File, fb: &object::File, e: &mut Explanation) {
    let sa: Vec<_> = fa.segments().collect();
    let sb: Vec<_> = fb.segments().collect();
    for i in 0..sa.len().max(sb.len()) {
        let da = sa.get(i).and_then(|s| s.data().ok());
        let db = sb.get(i).and_then(|s| s.data().ok());
        if da.is_some() && da == db {
            e.identical_segments += 1;
            continue;
        }
        let describe = |s: Option<&object::Segment>| {
            s.map(|s| match s.flags() {
                object::SegmentFlags::Elf { p_flags } => format!(
                    "{}{}{}, vaddr {:#x}",
                    if p_flags & 4 != 0 { 'r' } else { '-' },
                    if p_flags & 2 != 0 { 'w' } else { '-' },
                    if p_flags & 1 != 0 { 'x' } else { '-' },
                    s.address()
                ),
                _ => format!("vaddr {:#x}", s.address()),
            })
            .unwrap_or_else(|| "absent".into())
        };
        e.differing_segments.push(section_part(
            format!("segment #{i} ({})", describe(sa.get(i).or(sb.get(i)))),
            da,
            db,
        ));
    }
}

/// Up to MAX_PLACES runs of differing bytes, each with a little context.
fn places(a: &[u8], b: &[u8]) -> Vec<Place> {
    let mut out = Vec::new();
    let common = a.len().min(b.len());
    let mut i = 0;
    while i < common && out.len() < MAX_PLACES {
        if a[i] == b[i] {
            i += 1;
            continue;
        }
        out.push(Place {
            offset: i as u64,
            a_hex: hex(&a[i..(i + 16).min(a.len())]),
            b_hex: hex(&b[i..(i + 16).min(b.len())]),
            a_text: text_around(a, i),
            b_text: text_around(b, i),
        });
        // Skip to after this run (16 equal bytes end it).
        let mut equal = 0;
        while i < common && equal < 16 {
            equal = if a[i] == b[i] { equal + 1 } else { 0 };
            i += 1;
        }
    }
    // A length difference gets its own place unless the last run shown reaches the end.
    let shown_to = out.last().map_or(0, |p: &Place| p.offset as usize + 16);
    if out.len() < MAX_PLACES && a.len() != b.len() && shown_to < common {
        out.push(Place {
            offset: common as u64,
            a_hex: hex(&a[common..(common + 16).min(a.len())]),
            b_hex: hex(&b[common..(common + 16).min(b.len())]),
            a_text: format!("(A is {})", counted(a.len(), "byte")),
            b_text: format!("(B is {})", counted(b.len(), "byte")),
        });
    }
    out
}

fn printable(b: u8) -> bool {
    b == b'\t' || (0x20..0x7f).contains(&b)
}

/// The printable run containing `at`, at most 80 characters around it; runs
/// shorter than four characters are noise in code, not text, and are left out.
fn text_around(data: &[u8], at: usize) -> String {
    if at >= data.len() || !printable(data[at]) {
        return String::new();
    }
    let run_start = (0..=at)
        .rev()
        .take_while(|&i| printable(data[i]))
        .last()
        .unwrap_or(at);
    let run_end = (at..data.len())
        .take_while(|&i| printable(data[i]))
        .last()
        .unwrap_or(at);
    if run_end - run_start + 1 < 4 {
        return String::new();
    }
    let (start, end) = (run_start.max(at.saturating_sub(40)), run_end.min(at + 40));
    String::from_utf8_lossy(&data[start..=end]).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn short(hash: &str) -> String {
    hash[..16].to_owned()
}

/// Printable runs of at least MIN_STRING bytes.
fn strings(data: &[u8]) -> BTreeSet<String> {
    data.split(|b| !printable(*b))
        .filter(|run| run.len() >= MIN_STRING)
        .map(|run| String::from_utf8_lossy(run).into_owned())
        .collect()
}

/// The strings most likely to matter first (paths, times), then the rest; cut.
fn prioritised(mut strings: Vec<String>) -> Vec<String> {
    strings.sort_by_key(|s| (!(looks_like_path(s) || looks_like_time(s)), s.len()));
    strings.truncate(MAX_STRINGS);
    strings
}

fn looks_like_path(s: &str) -> bool {
    s.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .any(|word| {
            let parts: Vec<&str> = word.split('/').collect();
            word.starts_with('/')
                && parts.len() >= 3
                && parts[1..].iter().filter(|p| !p.is_empty()).count() >= 2
        })
}

fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| {
        from + n <= b.len() && b[from..from + n].iter().all(u8::is_ascii_digit)
    };
    (0..b.len()).any(|i| {
        // 2026-11-22 or 2026/11/22
        (digits(i, 4) && (b[i] == b'1' || b[i] == b'2') && i + 7 < b.len() && (b[i + 4] == b'-' || b[i + 4] == b'/') && digits(i + 5, 2))
            // 03:26:47
            || (digits(i, 2) && i + 7 < b.len() && b[i + 2] == b':' && digits(i + 3, 2) && b[i + 5] == b':' && digits(i + 6, 2))
            // a Unix time in seconds (2001-2033) or nanoseconds: 10 or 19 digits
            || ((i == 0 || !b[i - 1].is_ascii_digit()) && b[i] == b'1' && (digits(i, 19) || (digits(i, 10) && !digits(i, 11))))
    }) || ["Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ", "Jul ", "Aug ", "Sep ", "Oct ", "Nov ", "Dec "]
        .iter()
        .any(|m| s.contains(m) && s.bytes().filter(u8::is_ascii_digit).count() >= 5)
}

fn this_machines_names() -> Vec<String> {
    let mut names = Vec::new();
    for var in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var) {
            names.push(v);
        }
    }
    if let Ok(h) = fs::read_to_string("/etc/hostname") {
        names.push(h.trim().to_owned());
    }
    names.retain(|n| n.len() >= 4 && n != "root");
    names
}

fn causes(e: &Explanation, only_a: &[String], only_b: &[String]) -> Vec<Cause> {
    let mut causes = Vec::new();
    let one_sided = || only_a.iter().chain(only_b);
    let evidence = |pred: &dyn Fn(&str) -> bool| -> Vec<String> {
        let mut found: Vec<String> = one_sided().filter(|s| pred(s)).cloned().collect();
        found.sort_by_key(|s| s.len());
        found.truncate(4);
        found
    };
    let paths = evidence(&looks_like_path);
    if !paths.is_empty() {
        causes.push(Cause {
            cause: "a build path is embedded in the binary".into(),
            evidence: paths,
            fix: "map build paths to fixed ones: --remap-path-prefix=<dir>=/build/source for rustc (also for CARGO_HOME and the target dir), -ffile-prefix-map for C; repro build and the flake set these. A path from env!(\"CARGO_MANIFEST_DIR\") or OUT_DIR as a string is not remapped: do not embed it".into(),
        });
    }
    let times = evidence(&looks_like_time);
    if !times.is_empty() {
        causes.push(Cause {
            cause: "a date or time is embedded in the binary".into(),
            evidence: times,
            fix: "take build times from SOURCE_DATE_EPOCH (set to the commit's time), or leave them out; check build scripts for SystemTime::now()".into(),
        });
    }
    let names = this_machines_names();
    let named = evidence(&|s: &str| names.iter().any(|n| s.contains(n.as_str())));
    if !named.is_empty() {
        causes.push(Cause {
            cause: "a user or host name is embedded in the binary".into(),
            evidence: named,
            fix: "do not embed env!(\"USER\"), the host name or similar; build in a clean environment (Nix does)".into(),
        });
    }
    let build_id = e
        .differing_sections
        .iter()
        .any(|s| s.name == ".note.gnu.build-id");
    if build_id {
        causes.push(Cause {
            cause: "the GNU build-id note differs".into(),
            evidence: vec![".note.gnu.build-id".into()],
            fix: "-C link-arg=-Wl,--build-id=none; a build-id is a hash of the rest of the link, so it also changes whenever anything else does".into(),
        });
    }
    let code_or_data = e
        .differing_sections
        .iter()
        .filter(|s| s.name != ".note.gnu.build-id")
        .map(|s| s.name.clone())
        .collect::<Vec<_>>();
    if causes.iter().all(|c| c.cause.contains("build-id")) && !code_or_data.is_empty() {
        causes.push(Cause {
            cause: "code or data differs with no path, time or name in it".into(),
            evidence: code_or_data.into_iter().take(4).collect(),
            fix: "typical of codegen split across parallel units or of iteration order: codegen-units = 1 in the release profile, and a sorted map (BTreeMap, or sort before emitting) in build scripts and proc macros that generate code".into(),
        });
    }
    if causes.is_empty() {
        causes.push(Cause {
            cause: "no known pattern; see the differing places".into(),
            evidence: Vec::new(),
            fix: "run with --diffoscope for a deeper, format-aware comparison".into(),
        });
    }
    causes
}

/// First differing offset and differing byte count, reading in 1 MiB blocks.
fn streamed_difference(mut fa: fs::File, mut fb: fs::File) -> io::Result<(Option<u64>, u64)> {
    use std::io::Read;
    let (len_a, len_b) = (fa.metadata()?.len(), fb.metadata()?.len());
    let common = len_a.min(len_b);
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let (mut offset, mut first, mut count) = (0u64, None, 0u64);
    while offset < common {
        let n = (common - offset).min(1 << 20) as usize;
        fa.read_exact(&mut ba[..n])?;
        fb.read_exact(&mut bb[..n])?;
        for i in 0..n {
            if ba[i] != bb[i] {
                first.get_or_insert(offset + i as u64);
                count += 1;
            }
        }
        offset += n as u64;
    }
    if len_a != len_b {
        first.get_or_insert(common);
        count += len_a.abs_diff(len_b);
    }
    Ok((first, count))
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Runs diffoscope on the pair with a time limit and a size cap; returns the
/// report's path or why there is none. Never fails the explanation. While it
/// runs, `progress` shows that it does.
pub fn run_diffoscope(
    key: &str,
    a: &Path,
    b: &Path,
    options: &Diffoscope,
    progress: Progress,
) -> String {
    let Some(program) = find_in_path("diffoscope") else {
        return "diffoscope is not installed; install it with `apt-get install diffoscope` (Debian, Ubuntu) or `pip install diffoscope`".into();
    };
    let too_big = [a, b]
        .iter()
        .any(|p| fs::metadata(p).map_or(true, |m| m.len() > options.max_file_bytes));
    if too_big {
        return format!(
            "diffoscope skipped: a file is over {} bytes (--diffoscope-max-bytes)",
            options.max_file_bytes
        );
    }
    if let Err(e) = fs::create_dir_all(&options.report_dir) {
        return format!(
            "diffoscope skipped: cannot create {}: {e}",
            options.report_dir.display()
        );
    }
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
    let report = options.report_dir.join(format!("{name}.diffoscope.txt"));
    let log_path = options.report_dir.join(format!("{name}.diffoscope.log"));
    let Ok(log) = fs::File::create(&log_path) else {
        return format!("diffoscope skipped: cannot write {}", log_path.display());
    };
    let child = Command::new(program)
        .arg("--text")
        .arg(&report)
        .args(["--max-text-report-size", "4000000"])
        .arg(a)
        .arg(b)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return format!("diffoscope could not start: {e}"),
    };
    // Cleared when this function returns, whichever way.
    let _waiting = progress.diffoscope(key, options.time_limit);
    let deadline = Instant::now() + options.time_limit;
    loop {
        match child.try_wait() {
            // diffoscope exits 1 when the files differ, which they do.
            Ok(Some(status)) if status.code() == Some(0) || status.code() == Some(1) => {
                return report.display().to_string();
            }
            Ok(Some(status)) => {
                return format!("diffoscope failed ({status}); see {}", log_path.display());
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return format!(
                    "diffoscope stopped after the {} s time limit (--diffoscope-timeout)",
                    options.time_limit.as_secs()
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return format!("diffoscope: {e}"),
        }
    }
}

/// The human rendering, bounded.
pub fn render(explanations: &[Explanation], style: &Style, out: &mut dyn Write) -> io::Result<()> {
    for e in explanations {
        render_analysis(e, style, out)?;
        if let Some(d) = &e.diffoscope {
            render_diffoscope(d, out)?;
        }
    }
    Ok(())
}

/// Renders what [`explain_report`] has ready and flushes it, so it is seen
/// before diffoscope starts on the pair.
pub fn render_ready(ready: Ready<'_>, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    match ready {
        Ready::Analysis(e) => render_analysis(e, style, out)?,
        Ready::Diffoscope(said) => render_diffoscope(said, out)?,
    }
    out.flush()
}

fn render_diffoscope(said: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "  diffoscope: {}", escape_untrusted(said))
}

/// One pair's analysis, without diffoscope's outcome.
fn render_analysis(e: &Explanation, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} {}",
        style.diff("EXPLAIN:"),
        escape_untrusted(&e.key)
    )?;
    let first = e
        .first_difference
        .map_or("none".into(), |o| format!("{o:#x}"));
    writeln!(
        out,
        "  {}: A {}, B {}; first difference at offset {first}; {} {}",
        e.format,
        counted(e.a_size as usize, "byte"),
        counted(e.b_size as usize, "byte"),
        counted(e.differing_bytes as usize, "byte"),
        if e.differing_bytes == 1 {
            "differs"
        } else {
            "differ"
        }
    )?;
    let parts =
        |out: &mut dyn Write, what: &str, identical: usize, parts: &[Part]| -> io::Result<()> {
            if parts.is_empty() && identical == 0 {
                return Ok(());
            }
            writeln!(
                out,
                "  {what}: {identical} identical, {} differ",
                parts.len()
            )?;
            for p in parts {
                let size = |s: Option<u64>| s.map_or("absent".into(), |s| s.to_string());
                let hash = |h: &Option<String>| h.clone().unwrap_or_else(|| "-".into());
                writeln!(
                    out,
                    "    {:<24} A {:>9} B {:>9}  sha256 A {} B {}",
                    escape_untrusted(&p.name),
                    size(p.a_size),
                    size(p.b_size),
                    hash(&p.a_sha256),
                    hash(&p.b_sha256)
                )?;
                for place in &p.places {
                    render_place(out, place, "      ")?;
                }
            }
            Ok(())
        };
    parts(out, "sections", e.identical_sections, &e.differing_sections)?;
    parts(out, "segments", e.identical_segments, &e.differing_segments)?;
    for place in &e.places {
        render_place(out, place, "  ")?;
    }
    for (side, shown, total) in [
        ("A", &e.strings_only_in_a, e.strings_only_in_a_total),
        ("B", &e.strings_only_in_b, e.strings_only_in_b_total),
    ] {
        if total > 0 {
            writeln!(
                out,
                "  strings only in {side} ({total}, showing {}):",
                shown.len()
            )?;
            for s in shown {
                let s: String = s.chars().take(120).collect();
                writeln!(out, "    {s:?}")?;
            }
        }
    }
    for c in &e.causes {
        writeln!(
            out,
            "  {} {}",
            style.info("likely cause:"),
            escape_untrusted(&c.cause)
        )?;
        for ev in &c.evidence {
            let ev: String = ev.chars().take(120).collect();
            writeln!(out, "    evidence: {ev:?}")?;
        }
        writeln!(out, "    fix: {}", c.fix)?;
    }
    Ok(())
}

fn render_place(out: &mut dyn Write, p: &Place, indent: &str) -> io::Result<()> {
    writeln!(out, "{indent}at +{:#x}: A {}", p.offset, p.a_hex)?;
    writeln!(
        out,
        "{indent}{:width$} B {}",
        "",
        p.b_hex,
        width = format!("at +{:#x}:", p.offset).len()
    )?;
    if !p.a_text.is_empty() || !p.b_text.is_empty() {
        writeln!(out, "{indent}  text A {:?}", p.a_text)?;
        writeln!(out, "{indent}  text B {:?}", p.b_text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_paths_and_times() {
        assert!(looks_like_path("/tmp/build-a/src/main.rs"));
        assert!(looks_like_path("panicked at /home/me/x/lib.rs:3:5"));
        assert!(!looks_like_path("a/b/c"));
        assert!(!looks_like_path("/dev"));
        for t in [
            "built 2026-11-22",
            "at 03:26:47",
            "1795316829",
            "1763782007123456789",
            "Nov 22 2026",
        ] {
            assert!(looks_like_time(t), "{t}");
        }
        for t in ["version 1.2.3", "12345", "17953168291"] {
            assert!(!looks_like_time(t), "{t}");
        }
    }

    #[test]
    fn places_are_bounded_and_carry_context() {
        let a = b"hello /tmp/aaaa/src world".repeat(20);
        let b = b"hello /tmp/bbbb/src world".repeat(20);
        let p = places(&a, &b);
        assert_eq!(p.len(), MAX_PLACES);
        assert_eq!(p[0].offset, 11);
        // From the run's start (11 back) to 40 past the offset.
        assert_eq!(
            p[0].a_text,
            "hello /tmp/aaaa/src worldhello /tmp/aaaa/src worldhe"
        );
        assert!(p[0].a_hex.starts_with("61 61 61 61"));
        let longer = places(b"same", b"same+");
        assert_eq!(longer[0].offset, 4);
    }

    #[test]
    fn streamed_difference_counts_like_the_in_memory_one() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let mut da = vec![7u8; (3 << 20) + 5];
        let db = {
            let mut d = da.clone();
            d[(1 << 20) + 3] = 8;
            d.extend([1, 2, 3]);
            d
        };
        fs::write(&a, &da).unwrap();
        fs::write(&b, &db).unwrap();
        assert_eq!(
            streamed_difference(fs::File::open(&a).unwrap(), fs::File::open(&b).unwrap()).unwrap(),
            (Some((1 << 20) + 3), 4)
        );
        da[0] = 0;
        fs::write(&a, &da).unwrap();
        assert_eq!(
            streamed_difference(fs::File::open(&a).unwrap(), fs::File::open(&b).unwrap())
                .unwrap()
                .0,
            Some(0)
        );
    }
}
