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

/// `--help` text of `--stack`: every stack of the registry, one per line.
fn stacks_help() -> String {
    format!("The stack under test, one of:\n{}", tcpconf::stack::help())
}

/// `-j N`: at least one job (0 would run nothing and report nothing).
fn jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Replaces the progress line on stderr (an empty `text` clears it). Progress is decoration:
/// a failed write to stderr is ignored.
fn progress(text: &str) {
    use std::io::Write;
    let _ = write!(std::io::stderr(), "\r\x1b[K{text}");
}

/// Whether `error` comes from writing to a pipe whose reader has gone (`tcpconf … | head`).
fn broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
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
        // The reader stopped reading: nothing left to say, and no one to say it to. Exit as a
        // program killed by SIGPIPE would (128 + 13), without an error message.
        Err(error) if broken_pipe(&error) => ExitCode::from(141),
        Err(error) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "tcpconf: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
