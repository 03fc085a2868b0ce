//! The matrix as data: what `results.json` holds (schema in `docs/results-schema.md`) and what the
//! Markdown and HTML pages are rendered from.
//!
//! Everything here is ordered (vectors and `BTreeMap`s) and free of wall-clock times, so the same
//! runs on a virtual-time stack give byte-identical files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::Verdict;
use crate::stack::TimeModel;
pub use crate::suite::Status;
use crate::suite::{Expectation, Expected, Outcome};

/// The version of the `results.json` layout. Bump it when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// Every script of the corpus, ordered by id.
    pub scripts: Vec<ScriptEntry>,
    /// One column per stack, in the stack registry's order (`reference`, `linux`, `smoltcp`,
    /// `lwip`), then the others by name.
    pub stacks: Vec<Column>,
}

/// A script's row header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptEntry {
    /// Path under `scripts/` without `.pkt`: `rst/established-in-window`.
    pub id: String,
    pub title: String,
    /// The metadata `area` (`unsorted` when missing).
    pub area: String,
    /// The metadata `profile`, if given.
    pub profile: Option<String>,
    /// The metadata `rfc` references as written (`MUST-13`, `RFC 9293 §3.6.1`).
    pub rfc: Vec<String>,
}

/// One stack's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub stack: String,
    pub version: String,
    /// The profile(s) the stack ran with (the reference stack runs each script with its own).
    pub profile: String,
    pub time: TimeModel,
    /// Cells by script id.
    pub cells: BTreeMap<String, Cell>,
}

/// One script on one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub status: Status,
    /// The engine's verdict: `pass`, `fail`, `skip` or `error`.
    pub verdict: String,
    /// The verdict the expectations predict.
    pub expected: Expected,
    /// The expectation's (or the profile rule's) reason, when not `pass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_reason: Option<String>,
    /// The expectation's RFC reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_rfc: Option<String>,
    /// The script line the verdict points at, and its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The failure message, skip reason or error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What the script expected and what the stack did, in script notation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wanted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<MeasuredValue>,
    /// How many times the script ran on a real-time stack before this verdict (absent when once);
    /// see `tcpconf matrix --retries`.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub attempts: u32,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// A `measure` statement's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredValue {
    pub name: String,
    pub seconds: f64,
    pub line: usize,
}

impl Cell {
    /// The cell of `outcome`: its verdict judged against its expectation (`pass` when the run
    /// judged nothing).
    pub fn new(outcome: &Outcome) -> Cell {
        let result = &outcome.result;
        let v = &result.verdict;
        let (message, wanted, actual, differences) = match v {
            Verdict::Pass => (None, None, None, Vec::new()),
            Verdict::Fail(f) => (
                Some(f.message.clone()),
                f.expected.clone(),
                f.actual.clone(),
                f.differences.clone(),
            ),
            Verdict::Skip { reason, .. } => (Some(reason.clone()), None, None, Vec::new()),
            Verdict::Error { message, .. } => (Some(message.clone()), None, None, Vec::new()),
        };
        let mut cell = Cell {
            status: Status::Error,
            verdict: v.name().to_string(),
            expected: Expected::Pass,
            expected_reason: None,
            expected_rfc: None,
            line: v.location().map(|l| l.line),
            source: v.location().map(|l| l.source.clone()),
            message,
            wanted,
            actual,
            differences,
            measurements: result
                .measurements
                .iter()
                .map(|m| MeasuredValue {
                    name: m.name.clone(),
                    seconds: m.value_secs,
                    line: m.line,
                })
                .collect(),
            attempts: outcome.attempts,
        };
        match &outcome.judged {
            Some(j) => cell.judge(&j.expectation),
            None => cell.judge(&Expectation::pass()),
        }
        cell
    }

    /// Sets the expectation and the status that follows from it and the verdict
    /// ([`Status::of`], the one rule every runner judges by).
    pub fn judge(&mut self, e: &Expectation) {
        self.status = Status::of(&self.verdict, e);
        self.expected = e.verdict;
        self.expected_reason = e.reason.clone();
        self.expected_rfc = e.rfc.clone();
    }
}

/// The order of columns: the registry's order, then other stacks by name.
fn column_rank(stack: &str) -> (usize, &str) {
    (crate::stack::rank(stack), stack)
}

impl Report {
    /// A report of `scripts` with `columns` (sorted into column order).
    pub fn new(scripts: Vec<ScriptEntry>, columns: Vec<Column>) -> Report {
        let mut r = Report {
            schema_version: SCHEMA_VERSION,
            scripts,
            stacks: Vec::new(),
        };
        r.scripts.sort_by(|a, b| a.id.cmp(&b.id));
        for c in columns {
            r.set_column(c);
        }
        r
    }

    /// Adds `column`, replacing a column of the same stack, and keeps the column order.
    pub fn set_column(&mut self, column: Column) {
        self.stacks.retain(|c| c.stack != column.stack);
        self.stacks.push(column);
        self.stacks
            .sort_by(|a, b| column_rank(&a.stack).cmp(&column_rank(&b.stack)));
    }

    /// Takes the columns of `previous` that `self` lacks (results of other stacks kept across a
    /// run of only some stacks), dropping their cells for scripts no longer in the corpus.
    pub fn keep_columns_from(&mut self, previous: Report) {
        for mut column in previous.stacks {
            if self.stacks.iter().any(|c| c.stack == column.stack) {
                continue;
            }
            column
                .cells
                .retain(|id, _| self.scripts.iter().any(|s| &s.id == id));
            self.set_column(column);
        }
    }

    /// The column of `stack`.
    pub fn column(&self, stack: &str) -> Option<&Column> {
        self.stacks.iter().find(|c| c.stack == stack)
    }

    /// The areas present, in matrix order (metadata areas first, `unsorted` last).
    pub fn areas(&self) -> Vec<String> {
        let mut names: Vec<String> = crate::script::meta::Area::ALL
            .iter()
            .map(|a| a.name().to_string())
            .filter(|a| self.scripts.iter().any(|s| &s.area == a))
            .collect();
        let mut others: Vec<String> = self
            .scripts
            .iter()
            .map(|s| s.area.clone())
            .filter(|a| !names.contains(a))
            .collect();
        others.sort();
        others.dedup();
        names.extend(others);
        names
    }
}

impl Column {
    /// How many of `ids`' cells have each status (cells missing from the column are not counted).
    pub fn counts<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> BTreeMap<Status, usize> {
        let mut counts = BTreeMap::new();
        for id in ids {
            if let Some(c) = self.cells.get(id) {
                *counts.entry(c.status).or_insert(0) += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::engine::{Failure, RunResult};

    fn outcome(verdict: Verdict, attempts: u32) -> Outcome {
        Outcome {
            id: "x".into(),
            result: RunResult::not_run(PathBuf::from("x.pkt"), verdict),
            attempts,
            judged: None,
        }
    }

    fn fail() -> Outcome {
        outcome(Verdict::Fail(Failure::new(None, "boom")), 1)
    }

    #[test]
    fn cells_judge_and_keep_attempts() {
        let listed = Expectation {
            verdict: Expected::Fail,
            reason: Some("r".into()),
            rfc: Some("MUST-1".into()),
            listed: true,
        };
        let mut cell = Cell::new(&fail());
        assert_eq!(cell.status, Status::Fail);
        cell.judge(&listed);
        assert_eq!(cell.status, Status::Deviation);
        assert_eq!(cell.expected_rfc.as_deref(), Some("MUST-1"));
        let retried = Cell::new(&outcome(Verdict::Pass, 3));
        assert_eq!((retried.status, retried.attempts), (Status::Pass, 3));
    }

    #[test]
    fn merging_keeps_other_columns_in_order() {
        let col = |stack: &str| Column {
            stack: stack.into(),
            version: "1".into(),
            profile: "p".into(),
            time: TimeModel::Virtual,
            cells: BTreeMap::from([
                ("a".to_string(), Cell::new(&fail())),
                ("gone".to_string(), Cell::new(&fail())),
            ]),
        };
        let entry = ScriptEntry {
            id: "a".into(),
            title: "t".into(),
            area: "rst".into(),
            profile: None,
            rfc: vec![],
        };
        let previous = Report::new(vec![entry.clone()], vec![col("linux"), col("reference")]);
        let mut fresh = Report::new(vec![entry], vec![col("smoltcp"), col("reference")]);
        fresh.keep_columns_from(previous);
        let names: Vec<&str> = fresh.stacks.iter().map(|c| c.stack.as_str()).collect();
        assert_eq!(names, ["reference", "linux", "smoltcp"]);
        assert!(fresh.column("linux").is_some_and(|c| c.cells.len() == 1));
    }
}
