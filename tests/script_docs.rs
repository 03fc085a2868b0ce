//! The examples in `docs/language.md` are valid scripts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use tcpconf::script::{Severity, check_source};

/// The fenced code blocks of a Markdown text that have no language tag.
fn untagged_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_overview_example_checks_clean() {
    let doc = include_str!("../docs/language.md");
    let blocks = untagged_blocks(doc);
    let overview = blocks.first().expect("the overview example");
    let diags = check_source(overview);
    assert!(diags.is_empty(), "{diags:?}");
}

#[test]
fn statement_examples_parse() {
    let doc = include_str!("../docs/language.md");
    let blocks: Vec<_> = untagged_blocks(doc)
        .into_iter()
        .filter(|b| b.starts_with("+0 assert") || b.starts_with("+0 measure"))
        .collect();
    assert_eq!(blocks.len(), 2, "the assert and measure examples");
    for block in &blocks {
        let script = format!("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n{block}");
        let errors: Vec<_> = check_source(&script)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{block}\n{errors:?}");
    }
}
