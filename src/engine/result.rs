//! What one run of one script produced: a [`Verdict`], the [`Trace`] of everything that crossed the
//! stack boundary, and the [`Measurement`]s the script asked for.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::trace::Trace;
use crate::stack::StackInfo;

/// Where in the script something happened: 1-based line and column, plus the line's text so a
/// report can quote it without re-reading the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
    /// The source line, without its trailing newline.
    pub source: String,
}

/// Why a script failed: the stack did something other than the script requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The script line that failed (`None` only for failures after the last line, e.g. a packet
    /// sent during the strict-end quiet period).
    pub location: Option<Location>,
    /// One line saying what went wrong, in packetdrill's words where packetdrill has them
    /// (`timing error: expected outbound packet at 0.210000 sec but happened at …`).
    pub message: String,
    /// What the script expected, in script notation (a packet, a syscall result, a state).
    pub expected: Option<String>,
    /// What the stack did, in the same notation.
    pub actual: Option<String>,
    /// The fields that differ between `expected` and `actual` (`tcp_window: expected 257 vs 256`).
    pub differences: Vec<String>,
    /// Context that helps act on the failure (e.g. that packetdrill would report it elsewhere).
    pub notes: Vec<String>,
}

impl Failure {
    /// A failure with only a message.
    pub fn new(location: Option<Location>, message: impl Into<String>) -> Self {
        Self {
            location,
            message: message.into(),
            expected: None,
            actual: None,
            differences: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds the expected/actual pair.
    pub fn with_expected_actual(mut self, expected: String, actual: String) -> Self {
        self.expected = Some(expected);
        self.actual = Some(actual);
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// The outcome of one script on one stack. The four cases are never mixed up: a harness problem is
/// never a `Fail`, and nothing that did not run is a `Pass`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// Every line ran and the stack did what the script requires.
    Pass,
    /// The stack did something other than the script requires.
    Fail(Failure),
    /// The script cannot run on this stack (missing capability, shell without `--allow-shell`, …).
    Skip {
        reason: String,
        /// The line that needed what is missing, when one line did.
        location: Option<Location>,
    },
    /// The harness or the environment broke (bad script, no privileges, adapter failure).
    Error {
        message: String,
        location: Option<Location>,
    },
}

/// How the message of a [`Verdict::Error`] for the engine's own lateness begins.
pub(crate) const HARNESS_LATE: &str = "tcpconf fell behind its schedule";

impl Verdict {
    /// The verdict's name: `pass`, `fail`, `skip` or `error`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail(_) => "fail",
            Verdict::Skip { .. } => "skip",
            Verdict::Error { .. } => "error",
        }
    }

    /// True only for [`Verdict::Pass`].
    pub fn is_pass(&self) -> bool {
        matches!(self, Verdict::Pass)
    }

    /// True for the error the engine reports when it could not keep its own schedule (an
    /// injection or syscall started past the tolerance): a property of the machine's load, not of
    /// the stack, so running the script again is legitimate.
    pub fn is_harness_late(&self) -> bool {
        matches!(self, Verdict::Error { message, .. } if message.starts_with(HARNESS_LATE))
    }

    /// The script line the verdict points at, if any.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Verdict::Pass => None,
            Verdict::Fail(f) => f.location.as_ref(),
            Verdict::Skip { location, .. } | Verdict::Error { location, .. } => location.as_ref(),
        }
    }
}

/// A number the script measured (`measure NAME until …`), e.g. how long TIME-WAIT lasted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    pub name: String,
    /// The measured duration in seconds.
    pub value_secs: f64,
    /// The script line of the `measure` statement.
    pub line: usize,
}

/// Everything one run produced.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// The script's path as given (empty for scripts run from memory).
    pub path: PathBuf,
    /// The stack the script ran against (`None` when the stack could not even be created).
    pub stack: Option<StackInfo>,
    pub verdict: Verdict,
    pub measurements: Vec<Measurement>,
    pub trace: Trace,
    /// Wall-clock time the run took.
    #[serde(serialize_with = "serialize_secs")]
    pub wall_time: Duration,
}

impl RunResult {
    /// Fills the source text of every location from the script's text.
    pub fn attach_source(&mut self, source: &str) {
        let fill = |loc: &mut Location| {
            loc.source = source
                .lines()
                .nth(loc.line.saturating_sub(1))
                .unwrap_or("")
                .trim_end()
                .to_string();
        };
        match &mut self.verdict {
            Verdict::Pass => {}
            Verdict::Fail(f) => {
                if let Some(l) = &mut f.location {
                    fill(l);
                }
            }
            Verdict::Skip { location, .. } | Verdict::Error { location, .. } => {
                if let Some(l) = location {
                    fill(l);
                }
            }
        }
    }

    /// A result for a script that never reached a stack (unreadable file, parse error, no stack).
    pub fn not_run(path: PathBuf, verdict: Verdict) -> Self {
        Self {
            path,
            stack: None,
            verdict,
            measurements: Vec::new(),
            trace: Trace::default(),
            wall_time: Duration::ZERO,
        }
    }
}

/// Serialises a duration as fractional seconds, the unit every output uses.
pub(crate) fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}
