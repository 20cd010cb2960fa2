use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::Verdict;
use crate::hashing;
use crate::style::escape_untrusted;

/// Print SHA256SUMS lines for every artifact in a build folder.
///
/// The hashes are computed now from the files. The output is checkable with
/// `sha256sum -c` from inside the folder. When a file is missing or does not
/// match the hash its manifest records, nothing is printed on standard output,
/// the reasons go to standard error, and the exit code is 1.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The build folder that directly contains manifest.json.
    pub dir: PathBuf,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    match crate::sums::sums(&args.dir, hashing::default_threads())? {
        Ok(lines) => {
            let written = lines.iter().try_for_each(|line| writeln!(out, "{line}"));
            super::tolerate_broken_pipe(written)?;
            Ok(Verdict::Passed)
        }
        Err(problems) => {
            for problem in problems {
                eprintln!(
                    "repro: {}: {}",
                    escape_untrusted(&args.dir.display().to_string()),
                    escape_untrusted(&problem)
                );
            }
            Ok(Verdict::NotReproducible)
        }
    }
}
