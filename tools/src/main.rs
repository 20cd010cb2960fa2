use std::io::Write;

use clap::{Parser, Subcommand};

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
    /// When to colour the output; NO_COLOR in the environment always turns it off.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Attest(cli::attest::Args),
    Build(cli::build::Args),
    Manifest(cli::manifest::Args),
    Compare(cli::compare::Args),
    Explain(cli::explain::Args),
    Sums(cli::sums::Args),
    Matrix(cli::matrix::Args),
    Portable(cli::portable::Args),
    Toolchain(cli::toolchain::Args),
    Verify(cli::verify::Args),
}

fn main() {
    let args = Cli::parse();
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
                repro::style::escape_untrusted(&format!("{e:#}"))
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

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
