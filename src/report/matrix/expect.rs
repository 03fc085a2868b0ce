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
//! Every script not listed is expected to pass. Only real stack deviations belong here: the
//! reference stack must pass every script of its profile, so its file stays empty.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::MatrixError;

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
    pub fn load(dir: &Path, stack: &str) -> Result<Expectations, MatrixError> {
        let path = Self::path(dir, stack);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).map_err(|message| MatrixError::Expectations {
                path: path.clone(),
                message,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Expectations::default()),
            Err(source) => Err(MatrixError::Io { path, source }),
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
}
