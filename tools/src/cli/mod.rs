//! The command line: one module per subcommand, each with its clap arguments
//! and a `run` that renders to the given output.

pub mod attest;
pub mod build;
pub mod compare;
pub mod explain;
pub mod manifest;
pub mod matrix;
pub mod portable;
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
