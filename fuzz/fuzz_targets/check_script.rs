//! Any bytes, read as a script, are parsed, checked, printed and re-parsed without a panic; a
//! script that parses prints to text that parses to the same tree.
//!
//! `cargo +nightly fuzz run check_script` (from the repository root).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpconf::script::{check_source, parse, print};

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let _ = check_source(&source);
    if let Ok(script) = parse(&source) {
        let text = print(&script);
        match parse(&text) {
            Ok(reparsed) => assert_eq!(reparsed, script, "printed:\n{text}"),
            Err(error) => panic!("printed text does not parse: {error}\n{text}"),
        }
    }
});
