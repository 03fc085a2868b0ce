//! An external stack for `tcpconf --stack exec:CMD`: smoltcp (through tcpconf's in-process
//! adapter) serving the JSON-lines protocol of `docs/external-stack.md` on stdin/stdout.
//!
//! It is built as the binary `tcpconf-exec-smoltcp` (see `Cargo.toml`), so `cargo build` makes
//! `target/debug/tcpconf-exec-smoltcp` and the integration tests can start it. Try:
//!
//! ```text
//! tcpconf run --stack exec:target/debug/tcpconf-exec-smoltcp script.pkt
//! ```
//!
//! A program in another language does the same job by answering the requests the document
//! describes; this one is the reference for what the answers look like.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::io::{self, BufWriter};
use std::process::ExitCode;

use tcpconf::stack::exec::serve;
use tcpconf::stack::smoltcp::SmoltcpStack;

fn main() -> ExitCode {
    let mut stack = SmoltcpStack::new();
    // Logs, if any, belong on stderr: stdout carries nothing but protocol lines.
    match serve(
        &mut stack,
        io::stdin().lock(),
        BufWriter::new(io::stdout().lock()),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcpconf-exec-smoltcp: {e}");
            ExitCode::FAILURE
        }
    }
}
