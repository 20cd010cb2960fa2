//! What is generated from the command line's own definition: shell
//! completions, the man page, and the release matrix's targets and profiles
//! in the help of the commands that take them.

use std::io::Write;

use anyhow::{Context, Result};
use clap_complete::Shell;

use crate::Verdict;
use crate::matrix::Workspace;

/// Print a shell completion script for repro.
///
/// For example `repro completions bash > ~/.local/share/bash-completion/completions/repro`,
/// or `repro completions zsh > "${fpath[1]}/_repro"`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Print repro's man page (roff), or write every page: repro(1) and one per subcommand.
///
/// `repro man > repro.1` prints the top page; `repro man --out-dir ~/.local/share/man/man1`
/// writes repro.1 and repro-build.1, repro-compare.1, ... (the pages repro.1 refers to).
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write repro.1 and a page per subcommand into this folder instead.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<std::path::PathBuf>,
}

pub fn completions(
    args: &CompletionsArgs,
    mut cli: clap::Command,
    out: &mut dyn Write,
) -> Result<Verdict> {
    let name = cli.get_name().to_owned();
    clap_complete::generate(args.shell, &mut cli, name, out);
    Ok(Verdict::Passed)
}

pub fn man(args: &ManArgs, cli: clap::Command, out: &mut dyn Write) -> Result<Verdict> {
    let Some(dir) = &args.out_dir else {
        super::tolerate_broken_pipe(clap_mangen::Man::new(cli).render(out))?;
        return Ok(Verdict::Passed);
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    // clap_mangen names the pages as repro.1 refers to them: repro-<subcommand>.1.
    clap_mangen::generate_to(cli, dir)
        .with_context(|| format!("{}: cannot write the man pages", dir.display()))?;
    writeln!(
        out,
        "wrote repro.1 and a page per subcommand to {}",
        crate::style::escape_untrusted(&dir.display().to_string())
    )?;
    Ok(Verdict::Passed)
}

/// Adds this workspace's targets and profiles to the help of `--target` and
/// `--profile`, when repro runs inside a workspace with a release matrix;
/// elsewhere the help says where to find them.
pub fn with_matrix_in_help(cli: clap::Command) -> clap::Command {
    let wants_help = std::env::args().any(|a| a == "--help" || a == "-h" || a == "help");
    let Some(workspace) = wants_help.then(|| Workspace::load(None).ok()).flatten() else {
        return cli;
    };
    let matrix = &workspace.matrix;
    let targets: Vec<&str> = matrix.targets.keys().map(String::as_str).collect();
    let profiles: Vec<String> = matrix
        .targets
        .iter()
        .map(|(t, target)| {
            let names: Vec<&str> = target.profiles.keys().map(String::as_str).collect();
            format!("{t}: {}", names.join(", "))
        })
        .collect();
    let target_help = format!("[here: {}]", targets.join(", "));
    let profile_help = format!("[here: {}]", profiles.join("; "));
    let mut cli = cli;
    for sub in ["build", "manifest", "matrix"] {
        cli = cli.mut_subcommand(sub, |c| {
            let described = |c: clap::Command, id: &str, extra: &str| {
                c.mut_arg(id, |a| {
                    let help = a.get_help().map(ToString::to_string).unwrap_or_default();
                    a.help(format!("{help} {extra}"))
                })
            };
            let c = described(c, "target", &target_help);
            described(c, "profile", &profile_help)
        });
    }
    cli
}
