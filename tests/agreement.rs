//! The agreement set (`tests/agreement/*.pkt`, docs/agreement.md): plain packetdrill scripts that
//! packetdrill and tcpconf must judge alike. Each deliberately wrong script names the line that must
//! fail in a `// Failure: <line> <what>` comment; every other script must pass. Checked against
//! `reference` and `smoltcp` always, and against `linux` when the test may create namespaces (CI
//! runs as root).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

mod linux_support;

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a script of the set must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Pass,
    /// Fail at this script line.
    FailAt(u64),
}

/// Scripts on which the `linux` adapter is known to disagree with packetdrill on this kernel, with
/// the line tcpconf fails at and why. Each entry is a bug to fix in the adapter, not in the script:
/// the test fails once the adapter is fixed, so that the entry is removed with the fix.
const LINUX_ADAPTER_DEVIATIONS: &[(&str, u64, &str)] = &[];

fn agreement_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agreement")
}

/// The set's scripts, sorted, each with what it must give.
fn scripts() -> Vec<(PathBuf, Expected)> {
    let mut out: Vec<(PathBuf, Expected)> = std::fs::read_dir(agreement_dir())
        .expect("tests/agreement is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pkt"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("script is readable");
            let expected = expected_of(&text)
                .unwrap_or_else(|e| panic!("{}: bad `// Failure:` comment: {e}", p.display()));
            (p, expected)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Reads the `// Failure: <line> <what>` comment, which must come before the failing line.
fn expected_of(text: &str) -> Result<Expected, String> {
    let mut comments = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("// Failure:"));
    let Some(rest) = comments.next() else {
        return Ok(Expected::Pass);
    };
    if comments.next().is_some() {
        return Err("more than one".into());
    }
    let line: u64 = rest
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or("no line number after `Failure:`")?;
    let lines = u64::try_from(text.lines().count()).map_err(|e| e.to_string())?;
    if line == 0 || line > lines {
        return Err(format!("line {line} is not in the script"));
    }
    Ok(Expected::FailAt(line))
}

/// Runs every script on `stack` and returns (file name, verdict, failing line) per script.
fn run(stack: &str, extra: &[&str], paths: &[PathBuf]) -> Vec<(String, String, Option<u64>)> {
    let out = Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .args(["run", "--format", "json", "--stack", stack])
        .args(extra)
        .args(paths)
        .output()
        .expect("tcpconf runs");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "tcpconf's JSON does not parse ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    doc["results"]
        .as_array()
        .expect("a results array")
        .iter()
        .map(|r| {
            let name = Path::new(r["path"].as_str().expect("a path"))
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let verdict = r["verdict"]["verdict"].as_str().unwrap_or("").to_string();
            let line = r["verdict"]["location"]["line"].as_u64();
            (name, verdict, line)
        })
        .collect()
}

/// Checks every script's result against what it must give; `deviations` lists scripts known to
/// fail at another line on this stack. Returns the mismatches, one line each.
fn check(stack: &str, extra: &[&str], deviations: &[(&str, u64, &str)]) -> Vec<String> {
    let scripts = scripts();
    let paths: Vec<PathBuf> = scripts.iter().map(|(p, _)| p.clone()).collect();
    let results = run(stack, extra, &paths);
    assert_eq!(results.len(), scripts.len(), "one result per script");
    let mut problems = Vec::new();
    for ((path, expected), (name, verdict, line)) in scripts.iter().zip(&results) {
        assert!(path.ends_with(name), "results come in the order given");
        let expected = match deviations.iter().find(|(n, _, _)| n == name) {
            Some((_, at, why)) => {
                println!(
                    "{stack}: {name}: known adapter deviation, expected to fail at line {at}: {why}"
                );
                Expected::FailAt(*at)
            }
            None => *expected,
        };
        let ok = match expected {
            Expected::Pass => verdict == "pass",
            Expected::FailAt(at) => verdict == "fail" && *line == Some(at),
        };
        if !ok {
            problems.push(format!(
                "{stack}: {name}: expected {expected:?}, got {verdict} at line {line:?}"
            ));
        }
    }
    problems
}

fn the_set_has_enough_scripts_and_wrong_ones() {
    let scripts = scripts();
    let wrong = scripts
        .iter()
        .filter(|(_, e)| matches!(e, Expected::FailAt(_)))
        .count();
    assert!(scripts.len() >= 15, "{} scripts", scripts.len());
    assert!(wrong >= 5, "{wrong} deliberately wrong scripts");
}

fn plain_packetdrill_syntax_only() {
    // packetdrill must run the set unchanged: no `//!` metadata and none of tcpconf's extensions
    // (docs/language.md): state assertions, measurements, wildcards, value ranges, unordered options.
    const EXTENSIONS: &[&str] = &[" assert ", " measure ", "win *", "ack *", "<{", " * ecr"];
    for (path, _) in scripts() {
        let text = std::fs::read_to_string(&path).expect("readable");
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), n + 1);
            assert!(!line.starts_with("//!"), "{at}: metadata line");
            if let Some(ext) = EXTENSIONS.iter().find(|e| line.contains(*e)) {
                panic!("{at}: tcpconf extension `{ext}`: {line}");
            }
            // `...` is packetdrill's; `a..b` is a tcpconf value range.
            assert!(
                !line.replace("...", "").contains(".."),
                "{at}: value range: {line}"
            );
        }
    }
}

fn reference_gives_the_expected_verdicts() {
    let problems = check("reference", &[], &[]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn smoltcp_gives_the_expected_verdicts() {
    // The set is generic: an in-process stack in virtual time must judge it like the kernel.
    let problems = check("smoltcp", &[], &[]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn linux_gives_the_expected_verdicts() {
    // A 20 ms tolerance keeps a loaded CI machine from failing a correct script; the deliberate
    // timing error is 100 ms, well outside it.
    let problems = check(
        "linux",
        &["--tolerance_usecs=20000"],
        LINUX_ADAPTER_DEVIATIONS,
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn main() -> std::process::ExitCode {
    linux_support::run_tests(
        &[
            (
                "the_set_has_enough_scripts_and_wrong_ones",
                the_set_has_enough_scripts_and_wrong_ones,
            ),
            (
                "plain_packetdrill_syntax_only",
                plain_packetdrill_syntax_only,
            ),
            (
                "reference_gives_the_expected_verdicts",
                reference_gives_the_expected_verdicts,
            ),
            (
                "smoltcp_gives_the_expected_verdicts",
                smoltcp_gives_the_expected_verdicts,
            ),
        ],
        &[(
            "linux_gives_the_expected_verdicts",
            linux_gives_the_expected_verdicts,
        )],
    )
}
