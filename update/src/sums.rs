//! Reading SHA256SUMS the way `sha256sum -c` (GNU coreutils) reads it, so the
//! updater never accepts a file that `sha256sum -c` would reject, nor the
//! other way round:
//!
//! - lines end at `\n`; the last line may lack it; a `\r` before it is dropped;
//! - lines starting with `#` are comments; blank and malformed lines are skipped
//!   (sha256sum warns about them but still checks the good ones);
//! - leading blanks are skipped; a leading `\` means the name is escaped
//!   (`\\` and `\n`);
//! - `<64 hex>  <name>` (text) or `<64 hex> *<name>` (binary), hex in any case
//!   (a tab may stand for the first space), or the BSD form
//!   `SHA256 (<name>) = <64 hex>`; `<64 hex> <name>` (one blank, the
//!   "reversed BSD" form) only while no line of the two-character form came
//!   first, and once it came first, every later line is read that way;
//! - every line is checked, so a file listed twice with different hashes is
//!   refused: whichever line comes last, one of them fails;
//! - names are opened as paths, so `./x/y` and `x//y` name the file `x/y`.

use std::path::{Component, Path};

const HEX_LEN: usize = 64;

/// What SHA256SUMS says about one file.
#[derive(Debug, PartialEq, Eq)]
pub enum Listed {
    /// Every line for the file gives this (lowercase) hash.
    Hash(String),
    Absent,
    /// Lines (1-based numbers) that give different hashes for the file.
    Conflicting(Vec<(usize, String)>),
}

/// The hash SHA256SUMS gives for `bin_path`, over all its lines.
pub fn listed_sum(sums: &[u8], bin_path: &str) -> Listed {
    let wanted = normalized(Path::new(bin_path));
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut reversed = None;
    for (number, line) in lines(sums) {
        let Some((hex, name)) = parse_line(line, &mut reversed) else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(&name) else {
            continue;
        };
        if normalized(Path::new(name)) == wanted {
            found.push((number, hex));
        }
    }
    match found.first() {
        None => Listed::Absent,
        Some((_, first)) if found.iter().all(|(_, h)| h == first) => Listed::Hash(first.clone()),
        Some(_) => Listed::Conflicting(found),
    }
}

/// The path's components without `.`, so paths naming one file compare equal.
fn normalized(path: &Path) -> Vec<Component<'_>> {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// Lines with their 1-based numbers, without `\n` and a `\r` before it.
fn lines(sums: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let body = sums.strip_suffix(b"\n").unwrap_or(sums);
    body.split(|&b| b == b'\n').enumerate().map(|(i, line)| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        (i + 1, line)
    })
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// (lowercase hex, file name) of one line, or None for a comment or a
/// malformed line. `reversed` is whether the first GNU-style line had one
/// blank after the hash (None before any).
fn parse_line(line: &[u8], reversed: &mut Option<bool>) -> Option<(String, Vec<u8>)> {
    if line.first() == Some(&b'#') {
        return None;
    }
    let mut rest = &line[line.iter().position(|&b| !is_blank(b))?..];
    let escaped = rest.first() == Some(&b'\\');
    if escaped {
        rest = &rest[1..];
    }
    let (hex, name) = if let Some(bsd) = rest.strip_prefix(b"SHA256") {
        bsd_line(bsd)?
    } else {
        gnu_line(rest, reversed)?
    };
    if hex.len() != HEX_LEN || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let name = if escaped {
        unescape(name)?
    } else {
        name.to_vec()
    };
    if name.is_empty() {
        return None;
    }
    Some((String::from_utf8_lossy(hex).to_ascii_lowercase(), name))
}

/// `<hex>  <name>` or `<hex> *<name>`, or `<hex> <name>` (see the module
/// comment for when which).
fn gnu_line<'a>(rest: &'a [u8], reversed: &mut Option<bool>) -> Option<(&'a [u8], &'a [u8])> {
    let hex = rest.get(..HEX_LEN)?;
    if !is_blank(*rest.get(HEX_LEN)?) {
        return None;
    }
    let after = &rest[HEX_LEN + 1..];
    let name = match after {
        [] => return None,
        [b' ' | b'*', name @ ..] if !name.is_empty() && *reversed != Some(true) => {
            *reversed = Some(false);
            name
        }
        _ if *reversed == Some(false) => return None,
        _ => {
            *reversed = Some(true);
            after
        }
    };
    Some((hex, name))
}

/// ` (<name>) = <hex>`, after the `SHA256`; the name ends at the last `)`.
fn bsd_line(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = rest.strip_prefix(b" ").unwrap_or(rest).strip_prefix(b"(")?;
    let close = rest.iter().rposition(|&b| b == b')')?;
    let name = &rest[..close];
    let after = &rest[close + 1..];
    let after = &after[after.iter().position(|&b| !is_blank(b))?..];
    let after = after.strip_prefix(b"=")?;
    let hex = &after[after.iter().position(|&b| !is_blank(b))?..];
    Some((hex, name))
}

/// Undoes sha256sum's escaping of a name: `\\` is `\`, `\n` a newline; any
/// other backslash makes the line malformed.
fn unescape(name: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len());
    let mut bytes = name.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next()? {
            b'\\' => out.push(b'\\'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(c: char) -> String {
        c.to_string().repeat(64)
    }

    #[test]
    fn reads_every_line_form_sha256sum_accepts() {
        let (a, b) = (hex('a'), hex('B'));
        for sums in [
            format!("{a}  x/f\n"),
            format!("{a}  x/f"),
            format!("{a} *x/f\r\n"),
            format!("  {a}  ./x/f\n"),
            format!("{a} x/f\n"),
            format!("{a}\tx/f\n"),
            format!("SHA256(x/f)= {a}\n"),
            format!("\\{a}  x//f\n"),
            format!("# comment\n\nnot a line\nSHA256 (x/f) = {a}\n"),
        ] {
            assert_eq!(
                listed_sum(sums.as_bytes(), "x/f"),
                Listed::Hash(a.clone()),
                "{sums:?}"
            );
        }
        assert_eq!(
            listed_sum(format!("{b}  x/f\n").as_bytes(), "x/f"),
            Listed::Hash(hex('b'))
        );
    }

    #[test]
    fn a_conflicting_line_refuses_whatever_its_place() {
        let (a, b) = (hex('a'), hex('b'));
        let sums = format!("{a}  x/f\n{a}  x/g\n{b}  ./x/f\n");
        assert_eq!(
            listed_sum(sums.as_bytes(), "x/f"),
            Listed::Conflicting(vec![(1, a.clone()), (3, b)])
        );
        assert_eq!(listed_sum(sums.as_bytes(), "x/g"), Listed::Hash(a.clone()));
        // Repeating the same hash is no conflict.
        let sums = format!("{a}  x/f\n{a} *x/f\n");
        assert_eq!(listed_sum(sums.as_bytes(), "x/f"), Listed::Hash(a));
    }

    #[test]
    fn malformed_lines_give_no_hash() {
        for sums in [
            format!("{}  x/f\n", "a".repeat(63)),
            format!("{}  x/g\n{} x/f\n", hex('b'), hex('a')),
            format!("{}  x/f\n", "g".repeat(64)),
            format!("{}  x/f2\n", hex('a')),
            format!("#{}  x/f\n", hex('a')),
            format!("\\{}  x\\qf\n", hex('a')),
        ] {
            assert_eq!(
                listed_sum(sums.as_bytes(), "x/f"),
                Listed::Absent,
                "{sums:?}"
            );
        }
    }
}
