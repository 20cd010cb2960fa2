//! The command line: one module per subcommand, each with its clap arguments
//! and a `run` that renders to the given output.

pub mod attest;
pub mod build;
pub mod compare;
pub mod explain;
pub mod generate;
pub mod manifest;
pub mod matrix;
pub mod portable;
pub mod rebuilderd;
pub mod sums;
pub mod toolchain;
pub mod verify;

use std::io::{self, Write};

/// Writes `value` as one pretty JSON document and a newline: every `--json`.
pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)
}

/// Ignores a reader that went away (`repro compare A B | head`): the verdict
/// was decided before the first line was written, so the exit code still says it.
pub fn tolerate_broken_pipe(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// [`tolerate_broken_pipe`] for work that writes as it goes and stops at the
/// first failed write (`repro explain A B | head`).
pub fn tolerate_broken_pipe_in(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// A size given as bytes or with a unit (`256 MiB`, `1GiB`, `64KiB`), shown
/// the same way in help texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u64); 4] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("B", 1),
];

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<ByteSize, String> {
        let text = text.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let unit = unit.trim();
        let scale = match UNITS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(unit))
        {
            Some((_, scale)) => *scale,
            None if unit.is_empty() => 1,
            None => return Err(format!("`{text}`: the unit must be B, KiB, MiB or GiB")),
        };
        number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .map(ByteSize)
            .ok_or_else(|| format!("`{text}` is not a size such as 256 MiB"))
    }
}

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, scale) = UNITS
            .iter()
            .find(|(_, scale)| self.0 >= *scale && self.0.is_multiple_of(*scale))
            .unwrap_or(&("B", 1));
        write!(f, "{} {name}", self.0 / scale)
    }
}

#[cfg(test)]
mod tests {
    use super::ByteSize;

    #[test]
    fn sizes_read_and_print_with_units() {
        for (text, bytes) in [
            ("256 MiB", 256 << 20),
            ("1GiB", 1 << 30),
            ("64kib", 64 << 10),
            ("17", 17),
        ] {
            assert_eq!(text.parse::<ByteSize>(), Ok(ByteSize(bytes)), "{text}");
        }
        assert_eq!(ByteSize(256 << 20).to_string(), "256 MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000 B");
        assert_eq!(ByteSize(0).to_string(), "0 B");
        for bad in ["", "MiB", "1 TB", "-1", "99999999999 GiB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }
}
