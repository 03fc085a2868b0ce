//! `tcpconf check PATH…`: syntax and semantic checks of scripts, without running them.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tcpconf::script::corpus;

/// Arguments of `tcpconf check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Script files, or directories searched recursively for `*.pkt`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// A define the scripts will run with, as packetdrill's `-D NAME=VALUE` (names it defines are
    /// not reported as unknown).
    #[arg(short = 'D', long = "define", value_name = "NAME[=VALUE]")]
    defines: Vec<String>,
}

/// Exit 0 if every script is fine, 1 if any has errors, 2 on a usage or I/O error.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let defines: BTreeMap<String, String> = args
        .defines
        .iter()
        .map(|d| match d.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => (d.clone(), String::new()),
        })
        .collect();
    let files = corpus::collect_scripts(&args.paths)?;
    let color = std::io::stderr().is_terminal();
    let mut failed = 0usize;
    let mut warned = 0usize;
    let mut stderr = std::io::stderr().lock();
    for path in &files {
        let report = corpus::check_file(path, &defines)?;
        if report.has_errors() {
            failed += 1;
        } else if !report.diagnostics.is_empty() {
            warned += 1;
        }
        stderr.write_all(report.render(color).as_bytes())?;
    }
    let ok = files.len() - failed;
    writeln!(
        stderr,
        "checked {} script(s): {ok} ok ({warned} with warnings), {failed} with errors",
        files.len()
    )?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
