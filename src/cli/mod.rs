//! Subcommands. Each lives in its own module and calls into the library; this file only routes.

use std::process::ExitCode;

use clap::Parser;

/// TCP conformance test harness: packetdrill-style scripts against a TCP stack, per RFC 9293 clause.
#[derive(Debug, Parser)]
#[command(name = "tcpconf", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            ExitCode::from(2)
        }
    }
}
