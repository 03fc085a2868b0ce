//! Subcommands. Each lives in its own module and calls into the library; this file only routes.

use std::process::ExitCode;

use clap::Parser;

mod check;
mod explore;
mod matrix;
mod run;

/// TCP conformance test harness: packetdrill-style scripts against a TCP stack, per RFC 9293 clause.
#[derive(Debug, Parser)]
#[command(name = "tcpconf", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check scripts (syntax and meaning) without running them.
    Check(check::CheckArgs),
    /// Compare stacks on generated cases and write each disagreement as a shrunk script.
    Explore(Box<explore::ExploreArgs>),
    /// Run the corpus on stacks and write the results matrix (conformance-report/).
    Matrix(matrix::MatrixArgs),
    /// Run scripts against a stack under test and report pass / fail / skip / error.
    Run(Box<run::RunArgs>),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            return ExitCode::from(2);
        }
        Some(Command::Check(args)) => check::run(&args),
        Some(Command::Explore(args)) => explore::run(&args),
        Some(Command::Matrix(args)) => matrix::run(&args),
        Some(Command::Run(args)) => run::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("tcpconf: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
