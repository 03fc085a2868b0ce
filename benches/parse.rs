//! Parsing speed over a corpus of scripts: `TCPCONF_BENCH_CORPUS=dir[:dir…] cargo bench --bench parse`.
//!
//! Reads every `*.pkt` under the given directories into memory, then times parsing alone and
//! parsing plus checking, on one thread, best of several rounds. Skips with a message when the
//! variable is unset (the public corpora are not part of this repository).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tcpconf::script::{check_source, corpus, parse};

const ROUNDS: usize = 10;

fn best_of(rounds: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut result = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        result = f();
        best = best.min(start.elapsed());
    }
    (best, result)
}

fn main() {
    let Ok(dirs) = std::env::var("TCPCONF_BENCH_CORPUS") else {
        eprintln!(
            "TCPCONF_BENCH_CORPUS is not set (colon-separated directories of *.pkt); skipping"
        );
        return;
    };
    let paths: Vec<PathBuf> = dirs.split(':').map(PathBuf::from).collect();
    let files = match corpus::collect_scripts(&paths) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("cannot read the corpus: {error}");
            std::process::exit(2);
        }
    };
    let sources: Vec<String> = files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    let bytes: usize = sources.iter().map(String::len).sum();

    let (parse_time, parsed) = best_of(ROUNDS, || {
        sources.iter().filter(|s| parse(s).is_ok()).count()
    });
    let (check_time, clean) = best_of(ROUNDS, || {
        sources
            .iter()
            .filter(|s| {
                check_source(s)
                    .iter()
                    .all(|d| d.severity != tcpconf::script::Severity::Error)
            })
            .count()
    });
    let mib = bytes as f64 / (1024.0 * 1024.0);
    println!(
        "corpus: {} scripts, {:.2} MiB; {parsed} parse, {clean} pass the checks",
        sources.len(),
        mib
    );
    println!(
        "parse:         {:>8.1} ms  ({:.1} MiB/s, {:.1} µs/script)",
        parse_time.as_secs_f64() * 1e3,
        mib / parse_time.as_secs_f64(),
        parse_time.as_secs_f64() * 1e6 / sources.len().max(1) as f64
    );
    println!("parse + check: {:>8.1} ms", check_time.as_secs_f64() * 1e3);
}
