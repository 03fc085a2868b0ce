//! The script language: packetdrill's two dialects plus tcpconf's extensions (`docs/language.md`).
//!
//! [`ast`] is the typed tree every other part of tcpconf works with; nothing outside this module
//! sees the parser.

pub mod ast;
