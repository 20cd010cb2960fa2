//! `repro rebuilderd`: camhub as a rebuilderd distribution. rebuilderd
//! (daemon, workers, rebuildctl) schedules and runs the rebuilds; these
//! subcommands are what it calls (backend) and what feeds it and reads it
//! back (sync, collect, status, key).

pub mod backend;
pub mod collect;
pub mod key;
pub mod status;
pub mod sync;

use std::io::Write;

use anyhow::Result;

use crate::Verdict;
use crate::style::Style;

/// Rebuild releases on independent rebuilderd instances and collect their signed results.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
// In the order of the loop: feed the instances, rebuild, read back.
pub enum Command {
    Sync(sync::Args),
    Backend(backend::Args),
    Collect(collect::Args),
    Status(status::Args),
    Key(key::Args),
}

pub fn run(args: &Args, style: &Style, out: &mut dyn Write) -> Result<Verdict> {
    match &args.command {
        Command::Sync(a) => sync::run(a, out),
        Command::Backend(a) => backend::run(a, out),
        Command::Collect(a) => collect::run(a, style, out),
        Command::Status(a) => status::run(a, style, out),
        Command::Key(a) => key::run(a, out),
    }
}
