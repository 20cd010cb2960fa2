use std::io::Write;

use anyhow::{Result, bail};

use crate::Verdict;

/// (not written yet: issue 15)
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args, _out: &mut dyn Write) -> Result<Verdict> {
    bail!("repro rebuilderd sync is not written yet")
}
