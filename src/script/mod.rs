//! The script language: packetdrill's two dialects plus tcpconf's extensions (`docs/language.md`).
//!
//! [`ast`] is the typed tree every other part of tcpconf works with; [`parse()`] builds it from
//! text and [`diag`] reports what is wrong with a script, pointing at the token. Nothing outside
//! this module sees the parser.

pub mod ast;
pub mod check;
pub mod diag;
pub mod meta;
mod parse;
pub mod symbols;

pub use diag::{Diagnostic, Severity};
pub use parse::{parse, parse_event};
pub mod corpus;

/// Parses `source` and, if it parsed, checks it: every finding, in source order.
pub fn check_source(source: &str) -> Vec<Diagnostic> {
    match parse(source) {
        Ok(script) => check::check(&script),
        Err(diagnostic) => vec![diagnostic],
    }
}
