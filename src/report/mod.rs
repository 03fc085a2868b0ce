//! Outputs of `tcpconf run`: the suite's [`Outcome`]s turned into text for people (human),
//! programs (JSON), CI systems (JUnit XML), kselftest-style TAP and pcap files.
//!
//! Every format shows the four verdicts apart; a harness `error` is never folded into `fail`.
//! Where the run judged its verdicts against expectations (`tcpconf run --expect`), the human and
//! JSON outputs show each script's matrix cell too.

use std::io;

use crate::engine::{RunResult, Verdict};
use crate::suite::Outcome;

mod human;
mod json;
mod junit;
pub mod matrix;
pub mod pcap;
mod tap;

pub use human::{HumanOptions, write_human, write_result, write_summary};
pub use json::write_json;
pub use junit::write_junit;
pub use tap::write_tap;

/// Which output `--format` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text (colour on a terminal).
    Human,
    /// One JSON document: every result with verdict, failing line, trace and measurements.
    Json,
    /// JUnit XML, one test case per script.
    Junit,
    /// TAP version 13 (kselftest style).
    Tap,
}

/// How many results ended with each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
}

impl Counts {
    /// Counts `results`.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a RunResult>) -> Counts {
        let mut c = Counts::default();
        for r in results {
            match r.verdict {
                Verdict::Pass => c.passed += 1,
                Verdict::Fail(_) => c.failed += 1,
                Verdict::Skip { .. } => c.skipped += 1,
                Verdict::Error { .. } => c.errors += 1,
            }
        }
        c
    }

    /// Whether every script passed (the exit status of `tcpconf run`).
    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.skipped == 0 && self.errors == 0
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped, {} errors",
            self.passed, self.failed, self.skipped, self.errors
        )
    }
}

/// Writes `outcomes` in `format`.
pub fn write(
    format: Format,
    outcomes: &[Outcome],
    human: &HumanOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Human => write_human(outcomes, human, out),
        Format::Json => write_json(outcomes, out),
        Format::Junit => write_junit(outcomes, out),
        Format::Tap => write_tap(outcomes, out),
    }
}

/// A result's display name: its path, or `<script>` for one run from memory.
fn display_path(r: &RunResult) -> String {
    if r.path.as_os_str().is_empty() {
        "<script>".into()
    } else {
        r.path.display().to_string()
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! Results of every verdict, for the format tests.
    use std::path::PathBuf;
    use std::time::Duration;

    use crate::engine::{Failure, Location, Measurement, RunResult, Trace, TraceKind, Verdict};
    use crate::suite::Outcome;

    /// [`results`] as outcomes of one run each, judged by nothing.
    pub fn outcomes() -> Vec<Outcome> {
        results()
            .into_iter()
            .map(|result| Outcome {
                id: result.path.with_extension("").display().to_string(),
                result,
                attempts: 1,
                judged: None,
            })
            .collect()
    }

    pub fn results() -> Vec<RunResult> {
        let loc = |line| {
            Some(Location {
                line,
                column: 1,
                source: "+0 > S. 0:0(0) ack 1 win 257".into(),
            })
        };
        let mut pass = RunResult::not_run(PathBuf::from("a/pass.pkt"), Verdict::Pass);
        pass.measurements.push(Measurement {
            name: "time_wait".into(),
            value_secs: 60.0,
            line: 9,
        });
        let mut trace = Trace::default();
        trace.push(
            Duration::from_millis(100),
            Some(6),
            TraceKind::Observed {
                text: "192.168.0.1:8080 > 192.0.2.1:40000 S. 0:0(0) ack 1 win 65535".into(),
                bytes: vec![],
            },
        );
        pass.trace = trace;
        let mut f = Failure::new(
            loc(6),
            "outbound packet does not match the script (tcp_window: expected 257 vs actual 65535)",
        );
        f.actual = Some("0.100000 8080>40000 S. 0:0(0) ack 1 win 65535".into());
        f.differences = vec!["tcp_window: expected 257 vs actual 65535".into()];
        f.notes = vec!["a note".into()];
        vec![
            pass,
            RunResult::not_run(PathBuf::from("b/fail.pkt"), Verdict::Fail(f)),
            RunResult::not_run(
                PathBuf::from("c/skip.pkt"),
                Verdict::Skip {
                    reason: "needs --allow-shell".into(),
                    location: loc(2),
                },
            ),
            RunResult::not_run(
                PathBuf::from("d/error.pkt"),
                Verdict::Error {
                    message: "no CAP_NET_ADMIN <&>".into(),
                    location: None,
                },
            ),
        ]
    }
}
