use std::io::Write;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use repro::cli;
use repro::exit;
use repro::style::{ColorChoice, Style};

/// Writes release manifests and proves that a rebuild matches a release, bit for bit.
#[derive(Debug, Parser)]
#[command(
    name = "repro",
    version,
    after_help = "Exit codes: 0 passed, 1 a check failed (not reproducible or not portable: a DIFF or FAIL), 2 unusable input or error, 128+N `repro build` stopped by signal N (130 Ctrl-C)."
)]
pub struct Cli {
    /// When to colour: auto (on a terminal), always or never; NO_COLOR always turns it off.
    #[arg(
        long,
        value_enum,
        default_value_t = ColorChoice::Auto,
        global = true,
        hide_possible_values = true,
        help_heading = "Global options"
    )]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
// In the order of the work: build, describe, compare, explain, publish, trust.
enum Command {
    Build(cli::build::Args),
    Manifest(cli::manifest::Args),
    Compare(cli::compare::Args),
    Explain(cli::explain::Args),
    Sums(cli::sums::Args),
    Attest(cli::attest::Args),
    Verify(cli::verify::Args),
    Rebuilderd(cli::rebuilderd::Args),
    Matrix(cli::matrix::Args),
    Portable(cli::portable::Args),
    Toolchain(cli::toolchain::Args),
    Completions(cli::generate::CompletionsArgs),
    Man(cli::generate::ManArgs),
}

fn main() {
    let matches = cli::generate::with_matrix_in_help(Cli::command()).get_matches();
    let args = match Cli::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    let style = Style::for_stdout(args.color);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match &args.command {
        Command::Attest(a) => cli::attest::run(a, &mut out),
        Command::Build(a) => cli::build::run(a, &style, &mut out),
        Command::Manifest(a) => cli::manifest::run(a, &mut out),
        Command::Compare(a) => cli::compare::run(a, &style, &mut out),
        Command::Explain(a) => cli::explain::run(a, &style, &mut out),
        Command::Sums(a) => cli::sums::run(a, &mut out),
        Command::Matrix(a) => cli::matrix::run(a, &mut out),
        Command::Portable(a) => cli::portable::run(a, &style, &mut out),
        Command::Toolchain(a) => cli::toolchain::run(a, &mut out),
        Command::Verify(a) => cli::verify::run(a, &style, &mut out),
        Command::Rebuilderd(a) => cli::rebuilderd::run(a, &style, &mut out),
        Command::Completions(a) => cli::generate::completions(a, Cli::command(), &mut out),
        Command::Man(a) => cli::generate::man(a, Cli::command(), &mut out),
    };
    let code = match result {
        Ok(verdict) => verdict.exit_code(),
        Err(e) => {
            let _ = out.flush();
            let code = match e.downcast_ref::<repro::build::interrupt::Interrupted>() {
                Some(stop) => stop.exit_code(),
                None => exit::UNUSABLE_INPUT,
            };
            // Errors quote manifests, file names and attestations: untrusted text.
            eprintln!(
                "repro: {}",
                // A tool's own trailing newline (cargo's) is not part of the message.
                repro::style::escape_untrusted(format!("{e:#}").trim_end())
            );
            code
        }
    };
    let _ = out.flush();
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every subcommand and argument a user can see says what it is.
    #[test]
    fn every_command_and_argument_is_described() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && !arg.is_hide_set() && arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {}", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "repro", &mut missing);
        assert!(missing.is_empty(), "without a description: {missing:?}");
    }

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
