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
pub mod print;
pub mod symbols;
mod tokens;

pub use diag::{Diagnostic, Severity};
pub use parse::{parse, parse_event};
pub use print::print;
pub mod corpus;

/// Parses `source` and, if it parsed, checks it: every finding, in source order.
pub fn check_source(source: &str) -> Vec<Diagnostic> {
    check_source_with_defines(source, &std::collections::BTreeMap::new())
}

/// [`check_source`] knowing the `-D` defines the script will run with.
pub fn check_source_with_defines(
    source: &str,
    defines: &std::collections::BTreeMap<String, String>,
) -> Vec<Diagnostic> {
    match parse(source) {
        Ok(script) => check::check_with_defines(&script, defines),
        Err(diagnostic) => vec![diagnostic],
    }
}
