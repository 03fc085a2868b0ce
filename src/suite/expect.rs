//! A stack's known deviations: `conformance-report/expectations/<stack>.toml`.
//!
//! ```toml
//! [[deviation]]
//! script = "time-wait/duration"          # path under scripts/ without `.pkt`
//! verdict = "fail"                       # or "skip"
//! reason = "TIME-WAIT lasts 60 s (TCP_TIMEWAIT_LEN), not 2×MSL"
//! rfc = "MUST-13, RFC 9293 §3.6.1"
//! ```
//!
//! Every script not listed is expected to pass, except a script whose profile the stack cannot
//! select (`super::applies`), which is expected to skip. Only real stack deviations belong here:
//! the reference stack must pass every script of its profile, so its file stays empty.
//!
//! [`Judged`] is the one place where a verdict and its expectation make a cell's [`Status`]:
//! `tcpconf run --expect`, `tcpconf matrix` and the conformance suite all judge through it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SuiteError;
use crate::engine::Verdict;

/// The verdict a stack is expected to reach on a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    Pass,
    Fail,
    Skip,
}

impl Expected {
    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Expected::Pass => "pass",
            Expected::Fail => "fail",
            Expected::Skip => "skip",
        }
    }
}

/// One known deviation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// The script id: its path under `scripts/` without `.pkt`.
    pub script: String,
    /// `fail` or `skip` (`pass` is the default and never listed).
    pub verdict: Expected,
    /// Why the stack behaves so, in one or two sentences.
    pub reason: String,
    /// The RFC text the behaviour is judged against (`MUST-13, RFC 9293 §3.6.1`).
    pub rfc: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    deviation: Vec<Deviation>,
}

/// The expectations of one stack, by script id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    by_script: BTreeMap<String, Deviation>,
}

impl Expectations {
    /// The file that holds `stack`'s expectations under `dir`.
    pub fn path(dir: &Path, stack: &str) -> PathBuf {
        dir.join(format!("{stack}.toml"))
    }

    /// Reads `stack`'s file under `dir`; a stack without a file is expected to pass everything.
    pub fn load(dir: &Path, stack: &str) -> Result<Expectations, SuiteError> {
        let path = Self::path(dir, stack);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).map_err(|message| SuiteError::Expectations {
                path: path.clone(),
                message,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Expectations::default()),
            Err(source) => Err(SuiteError::Io { path, source }),
        }
    }

    /// Parses the text of an expectations file.
    pub fn parse(text: &str) -> Result<Expectations, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut by_script = BTreeMap::new();
        for d in file.deviation {
            if d.verdict == Expected::Pass {
                return Err(format!(
                    "`{}`: `pass` is the default; list only fail or skip",
                    d.script
                ));
            }
            if d.reason.trim().is_empty() || d.rfc.trim().is_empty() {
                return Err(format!(
                    "`{}`: a deviation needs a reason and an rfc",
                    d.script
                ));
            }
            let script = d.script.clone();
            if by_script.insert(script.clone(), d).is_some() {
                return Err(format!("`{script}` is listed twice"));
            }
        }
        Ok(Expectations { by_script })
    }

    /// The deviation listed for `script`, if any.
    pub fn get(&self, script: &str) -> Option<&Deviation> {
        self.by_script.get(script)
    }

    /// The verdict expected of `script`.
    pub fn expected(&self, script: &str) -> Expected {
        self.get(script).map_or(Expected::Pass, |d| d.verdict)
    }

    /// What is expected of `script` on a stack where `applies` says whether it applies (the
    /// reason it does not): a listed deviation first, then the profile rule, then `pass`.
    pub fn expectation(&self, script: &str, applies: Result<(), &str>) -> Expectation {
        match (self.get(script), applies) {
            (Some(d), _) => Expectation {
                verdict: d.verdict,
                reason: Some(d.reason.clone()),
                rfc: Some(d.rfc.clone()).filter(|r| !r.is_empty()),
                listed: true,
            },
            (None, Err(reason)) => Expectation {
                verdict: Expected::Skip,
                reason: Some(reason.to_string()),
                rfc: None,
                listed: false,
            },
            (None, Ok(())) => Expectation::pass(),
        }
    }

    /// Listed scripts that are not in `ids` (stale entries after a rename or removal).
    pub fn unknown<'a>(&'a self, ids: &[&str]) -> Vec<&'a str> {
        self.by_script
            .keys()
            .map(String::as_str)
            .filter(|k| !ids.contains(k))
            .collect()
    }

    /// How many deviations are listed.
    pub fn len(&self) -> usize {
        self.by_script.len()
    }

    /// Whether none is listed.
    pub fn is_empty(&self) -> bool {
        self.by_script.is_empty()
    }
}

/// What one script is expected to do on one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub verdict: Expected,
    /// The expectations file's reason, or the profile rule's.
    pub reason: Option<String>,
    /// The expectations file's RFC reference.
    pub rfc: Option<String>,
    /// Whether the expectations file lists the script (a known deviation) rather than the
    /// profile rule or the default predicting the verdict.
    pub listed: bool,
}

impl Expectation {
    /// The default: the script passes.
    pub fn pass() -> Expectation {
        Expectation {
            verdict: Expected::Pass,
            reason: None,
            rfc: None,
            listed: false,
        }
    }
}

/// What one cell shows: a verdict judged against its expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Passed, as expected.
    Pass,
    /// Failed or skipped as the stack's expectations say: a known deviation.
    Deviation,
    /// Skipped for a reason that needs no expectation (a script for a profile the stack lacks).
    Skip,
    /// Failed or skipped where it should have passed: a regression or a new finding.
    Fail,
    /// Passed although the expectations list a deviation: the expectation is stale.
    Fixed,
    /// The harness or the environment broke.
    Error,
}

impl Status {
    /// Every status, in the order reports list them.
    pub const ALL: [Status; 6] = [
        Status::Pass,
        Status::Deviation,
        Status::Skip,
        Status::Fail,
        Status::Fixed,
        Status::Error,
    ];

    /// The name in files and on pages.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Deviation => "deviation",
            Status::Skip => "skip",
            Status::Fail => "fail",
            Status::Fixed => "fixed",
            Status::Error => "error",
        }
    }

    /// Whether the cell is what the expectations (or the profile rule) predicted.
    pub fn as_expected(self) -> bool {
        matches!(self, Status::Pass | Status::Deviation | Status::Skip)
    }

    /// The status of a verdict (by its name: `pass`, `fail`, `skip`, `error`) against `e`. An
    /// expected skip that no expectations file lists is a plain `skip` (the script does not
    /// apply) rather than a deviation; an `error` is never expected.
    pub fn of(verdict: &str, e: &Expectation) -> Status {
        match (verdict, e.verdict) {
            ("pass", Expected::Pass) => Status::Pass,
            ("pass", _) => Status::Fixed,
            ("skip", Expected::Skip) if !e.listed => Status::Skip,
            ("fail", Expected::Fail) | ("skip", Expected::Skip) => Status::Deviation,
            ("fail" | "skip", _) => Status::Fail,
            _ => Status::Error,
        }
    }
}

/// A verdict judged against its expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub expectation: Expectation,
    pub status: Status,
}

impl Judged {
    /// Judges `verdict` against `expectation`.
    pub fn new(verdict: &Verdict, expectation: Expectation) -> Judged {
        Judged {
            status: Status::of(verdict.name(), &expectation),
            expectation,
        }
    }
}

/// Why a verdict differs from its expectation, for test and CLI messages; `None` when it does not.
pub fn mismatch(verdict: &Verdict, expected: Expected) -> Option<String> {
    let (name, detail) = match verdict {
        Verdict::Pass => ("pass", String::new()),
        Verdict::Fail(f) => ("fail", f.message.clone()),
        Verdict::Skip { reason, .. } => ("skip", reason.clone()),
        Verdict::Error { message, .. } => {
            return Some(format!("harness error (never expected): {message}"));
        }
    };
    let at = verdict
        .location()
        .map(|l| format!(" at line {}: `{}`", l.line, l.source.trim()))
        .unwrap_or_default();
    match (expected, name) {
        (Expected::Pass, "pass") | (Expected::Fail, "fail") | (Expected::Skip, "skip") => None,
        (Expected::Pass, _) => Some(format!(
            "new {name}{at}: {detail} (not listed in the stack's expectations)"
        )),
        (_, "pass") => Some(format!(
            "the known deviation disappeared: expected {} but the script passed; remove it from the \
             stack's expectations file",
            expected.name()
        )),
        (_, _) => Some(format!(
            "expected {} but got {name}{at}: {detail}",
            expected.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks() {
        let e = Expectations::parse(
            "[[deviation]]\nscript = \"time-wait/duration\"\nverdict = \"fail\"\nreason = \"60 s\"\nrfc = \"MUST-13\"\n",
        )
        .unwrap_or_default();
        assert_eq!(e.expected("time-wait/duration"), Expected::Fail);
        assert_eq!(e.expected("other"), Expected::Pass);
        assert_eq!(e.unknown(&["other"]), vec!["time-wait/duration"]);
        assert!(Expectations::parse("").is_ok_and(|e| e.is_empty()));
    }

    #[test]
    fn rejects_bad_files() {
        let one =
            "[[deviation]]\nscript = \"a\"\nverdict = \"fail\"\nreason = \"r\"\nrfc = \"MUST-1\"\n";
        assert!(Expectations::parse(&format!("{one}{one}")).is_err());
        assert!(Expectations::parse(&one.replace("fail", "pass")).is_err());
        assert!(Expectations::parse(&one.replace("fail", "error")).is_err());
        assert!(Expectations::parse(&one.replace("\"r\"", "\"\"")).is_err());
        assert!(Expectations::parse(&format!("{one}colour = 1\n")).is_err());
    }

    fn judged(verdict: &str, e: &Expectation) -> Status {
        Status::of(verdict, e)
    }

    #[test]
    fn statuses() {
        let listed = |verdict| Expectation {
            verdict,
            reason: Some("r".into()),
            rfc: Some("MUST-1".into()),
            listed: true,
        };
        let pass = Expectation::pass();
        assert_eq!(judged("pass", &pass), Status::Pass);
        assert_eq!(judged("pass", &listed(Expected::Fail)), Status::Fixed);
        assert_eq!(judged("fail", &pass), Status::Fail);
        assert_eq!(judged("fail", &listed(Expected::Fail)), Status::Deviation);
        let profile = Expectations::default().expectation("x", Err("profile"));
        assert_eq!(judged("skip", &profile), Status::Skip);
        assert_eq!(judged("skip", &listed(Expected::Skip)), Status::Deviation);
        assert_eq!(judged("skip", &pass), Status::Fail);
        assert_eq!(judged("error", &listed(Expected::Fail)), Status::Error);
    }

    #[test]
    fn mismatch_messages_say_which() {
        assert!(mismatch(&Verdict::Pass, Expected::Pass).is_none());
        assert!(
            mismatch(&Verdict::Pass, Expected::Fail)
                .is_some_and(|m| m.contains("deviation disappeared"))
        );
        let fail = Verdict::Fail(crate::engine::Failure::new(None, "boom"));
        assert!(mismatch(&fail, Expected::Pass).is_some_and(|m| m.contains("new fail")));
        let err = Verdict::Error {
            message: "no tun".into(),
            location: None,
        };
        assert!(mismatch(&err, Expected::Fail).is_some_and(|m| m.contains("harness error")));
    }
}
