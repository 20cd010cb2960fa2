use std::io::Write;

use anyhow::{Result, bail};

use crate::Verdict;
use crate::style::Style;

/// (not written yet: issue 15)
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args, _style: &Style, _out: &mut dyn Write) -> Result<Verdict> {
    bail!("repro rebuilderd collect is not written yet")
}
