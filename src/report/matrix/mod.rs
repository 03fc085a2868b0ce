//! The results matrix in `conformance-report/`: scripts × stacks, with known deviations, counts per
//! area, measured values and RFC 9293 requirement coverage, as Markdown, JSON and one HTML page.
//!
//! This module runs nothing: the suite runner (`crate::suite`) runs each stack's column and judges
//! it; [`column`] turns a [`StackRun`] into a [`Column`], and [`assemble`] builds the [`Report`]
//! from the fresh columns and those of an earlier `results.json` (so stacks can be run on
//! different machines) — a fresh column replaces a committed one only when its run is complete.
//! [`render`] turns the report into the three files. Nothing rendered depends on wall time or hash
//! order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod html;
mod markdown;
pub mod model;
pub mod rfc9293;

pub use model::{Cell, Column, Report, SCHEMA_VERSION, ScriptEntry, Status};

use crate::script::meta::{RequirementKind, RfcRef};
use crate::suite::{Expectations, StackRun, SuiteError, SuiteScript, applies};

/// The files of a report directory, in the order [`render`] returns them.
pub const FILES: [&str; 3] = ["README.md", "results.json", "index.html"];

/// A problem reading or writing the report's files.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Suite(#[from] SuiteError),
    #[error("{}: not a results.json this tcpconf reads: {message}", path.display())]
    Results { path: PathBuf, message: String },
}

/// The row header of `script`.
pub fn entry(script: &SuiteScript) -> ScriptEntry {
    ScriptEntry {
        id: script.id.clone(),
        title: script
            .meta
            .title
            .clone()
            .unwrap_or_else(|| script.id.clone()),
        area: script
            .meta
            .area
            .map_or_else(|| "unsorted".to_string(), |a| a.name().to_string()),
        profile: script.meta.profile.map(|p| p.name().to_string()),
        rfc: script.meta.rfc.iter().map(ToString::to_string).collect(),
    }
}

/// The column of one stack's run (its outcomes judged by the suite).
pub fn column(run: &StackRun) -> Column {
    let mut cells = BTreeMap::new();
    let mut profiles: Vec<String> = Vec::new();
    for outcome in &run.outcomes {
        if let Some(info) = &outcome.result.stack
            && !profiles.contains(&info.profile)
        {
            profiles.push(info.profile.clone());
        }
        cells.insert(outcome.id.clone(), Cell::new(outcome));
    }
    profiles.sort();
    let info = &run.target.info;
    Column {
        stack: run.target.name.clone(),
        version: info.version.clone(),
        profile: if profiles.is_empty() {
            info.profile.clone()
        } else {
            profiles.join(" / ")
        },
        time: info.capabilities.time,
        cells,
    }
}

/// A stack whose fresh column did not replace the committed one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub stack: String,
    pub reason: String,
}

/// Builds the report of `scripts` from the fresh `runs` and the columns of `previous` (the
/// committed `results.json`), re-judging kept columns against their current expectations in
/// `expectations`. A run with harness errors does not replace its stack's committed column unless
/// `force`; the stacks whose committed column was kept for that reason are returned with it.
pub fn assemble(
    scripts: &[SuiteScript],
    runs: &[StackRun],
    previous: Option<Report>,
    expectations: &Path,
    force: bool,
) -> Result<(Report, Vec<Kept>), MatrixError> {
    let mut columns = Vec::new();
    let mut kept = Vec::new();
    for run in runs {
        if run.complete() || force {
            columns.push(column(run));
        } else {
            let errors = run.errors().count();
            let first = run
                .errors()
                .next()
                .map(|o| match &o.result.verdict {
                    crate::engine::Verdict::Error { message, .. } => {
                        format!(" (first: {}: {message})", o.id)
                    }
                    _ => String::new(),
                })
                .unwrap_or_default();
            kept.push(Kept {
                stack: run.target.name.clone(),
                reason: format!(
                    "{errors} script(s) ended in a harness error{first}; the committed column is \
                     kept (rerun, or pass --force to write this run anyway)"
                ),
            });
        }
    }
    let mut report = Report::new(scripts.iter().map(entry).collect(), columns);
    if let Some(mut previous) = previous {
        for column in &mut previous.stacks {
            if report.column(&column.stack).is_some() {
                continue;
            }
            rejudge(column, scripts, expectations)?;
        }
        report.keep_columns_from(previous);
    }
    Ok((report, kept))
}

/// Judges a kept column's cells against `stack`'s current expectations and profile rule, as a
/// fresh run would be judged.
fn rejudge(column: &mut Column, scripts: &[SuiteScript], dir: &Path) -> Result<(), MatrixError> {
    let expectations = Expectations::load(dir, &column.stack)?;
    let profiles: Vec<String> = crate::stack::find(&column.stack)
        .map(|e| e.profiles.iter().map(|p| (*p).to_string()).collect())
        .unwrap_or_default();
    for script in scripts {
        if let Some(cell) = column.cells.get_mut(&script.id) {
            let applies = applies::profile_for(&column.stack, &profiles, &script.meta);
            let e = expectations.expectation(
                &script.id,
                applies.as_ref().map(|_| ()).map_err(String::as_str),
            );
            cell.judge(&e);
        }
    }
    Ok(())
}

/// Reads `results.json` from `dir`; `None` when there is none yet.
pub fn read_results(dir: &Path) -> Result<Option<Report>, MatrixError> {
    let path = dir.join("results.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(MatrixError::Io { path, source }),
    };
    let results = |message: String| MatrixError::Results {
        path: path.clone(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| results(e.to_string()))?;
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(SCHEMA_VERSION)) {
        return Err(results(format!(
            "schema_version {} (this tcpconf writes {SCHEMA_VERSION}); regenerate every column",
            version.map_or_else(|| "missing".into(), |v| v.to_string())
        )));
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| results(e.to_string()))
}

/// The three files of the report, as (name, contents), in [`FILES`] order.
pub fn render(report: &Report) -> Vec<(&'static str, String)> {
    let json = serde_json::to_string_pretty(report).map_or_else(
        // Serialising plain data into a string cannot fail; keep the error visible if it ever does.
        |e| format!("{{\"error\": \"{e}\"}}"),
        |mut s| {
            s.push('\n');
            s
        },
    );
    vec![
        ("README.md", markdown::render(report)),
        ("results.json", json.clone()),
        ("index.html", html::render(report, &json)),
    ]
}

/// Writes the rendered files into `dir` (created if needed).
pub fn write(dir: &Path, report: &Report) -> Result<(), MatrixError> {
    std::fs::create_dir_all(dir).map_err(|source| MatrixError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for (name, text) in render(report) {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| MatrixError::Io { path, source })?;
    }
    Ok(())
}

/// Files in `dir` that differ from what `report` renders to (missing files count as different).
pub fn stale_files(dir: &Path, report: &Report) -> Vec<&'static str> {
    render(report)
        .into_iter()
        .filter(|(name, text)| std::fs::read_to_string(dir.join(name)).ok().as_ref() != Some(text))
        .map(|(name, _)| name)
        .collect()
}

/// Which scripts name each RFC 9293 requirement id: (kind, number) → script ids.
pub fn coverage(report: &Report) -> BTreeMap<(RequirementKind, u32), Vec<&str>> {
    let mut map: BTreeMap<(RequirementKind, u32), Vec<&str>> = BTreeMap::new();
    for s in &report.scripts {
        for r in &s.rfc {
            if let Some(RfcRef::Requirement { kind, number }) = RfcRef::parse(r) {
                let scripts = map.entry((kind, number)).or_default();
                if !scripts.contains(&s.id.as_str()) {
                    scripts.push(&s.id);
                }
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report of the four sample results on one stack, with one listed deviation.
    fn sample() -> Report {
        let results = crate::report::sample::results();
        let ids = ["a/pass", "b/fail", "c/skip", "d/error"];
        let scripts: Vec<ScriptEntry> = ids
            .iter()
            .map(|id| ScriptEntry {
                id: (*id).into(),
                title: format!("title of {id}"),
                area: "time-wait".into(),
                profile: Some("rfc9293".into()),
                rfc: vec!["MUST-13".into(), "RFC 9293 §3.6.1".into()],
            })
            .collect();
        let expectations = Expectations::parse(
            "[[deviation]]\nscript = \"b/fail\"\nverdict = \"fail\"\nreason = \"60 s\"\nrfc = \"MUST-13\"\n",
        )
        .unwrap_or_default();
        let cells = ids
            .iter()
            .zip(results)
            .map(|(id, result)| {
                let expectation = expectations.expectation(id, Ok(()));
                let outcome = crate::suite::Outcome {
                    id: (*id).into(),
                    judged: Some(crate::suite::Judged::new(&result.verdict, expectation)),
                    result,
                    attempts: 1,
                };
                ((*id).to_string(), Cell::new(&outcome))
            })
            .collect();
        let column = Column {
            stack: "linux".into(),
            version: "6.1".into(),
            profile: "tcp_rfc1337=0".into(),
            time: crate::stack::TimeModel::Real,
            cells,
        };
        Report::new(scripts, vec![column])
    }

    #[test]
    fn renders_every_part() {
        let report = sample();
        let files = render(&report);
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, FILES);
        let readme = &files[0].1;
        for part in [
            "## Stacks",
            "## Counts per area",
            "### time-wait",
            "deviation[^",
            "**FAIL**[^",
            "**ERROR**[^",
            "## Measured values",
            "| `time_wait` | [a/pass](../scripts/a/pass.pkt) | 2×MSL = 240 s",
            "60.000",
            "## RFC 9293 requirement coverage",
            "| MUST-13 | 3.6.1 |",
            "### Not covered",
            "- **MUST-2**",
            "expected fail: 60 s (MUST-13)",
        ] {
            assert!(readme.contains(part), "README lacks {part:?}:\n{readme}");
        }
        let back: Report = serde_json::from_str(&files[1].1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, report);
        assert!(files[2].1.contains("<table id=\"matrix\">"));
    }

    /// A run of `reference` over scripts `a` and `b`, whose `b` ended as `b_verdict`.
    fn run_with(b_verdict: crate::engine::Verdict) -> Option<(Vec<SuiteScript>, StackRun)> {
        use crate::engine::{RunResult, Verdict};
        let target =
            crate::suite::Target::prepare("reference", crate::stack::StackOptions::default())
                .ok()?;
        let scripts: Vec<SuiteScript> = ["a", "b"]
            .iter()
            .map(|id| {
                SuiteScript::from_source(
                    (*id).into(),
                    format!("{id}.pkt").into(),
                    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n".into(),
                    &BTreeMap::new(),
                )
            })
            .collect();
        let outcome = |id: &str, verdict: Verdict| {
            let mut result = RunResult::not_run(format!("{id}.pkt").into(), verdict);
            result.stack = Some(target.info.clone());
            crate::suite::Outcome {
                id: id.into(),
                judged: Some(crate::suite::Judged::new(
                    &result.verdict,
                    crate::suite::Expectation::pass(),
                )),
                result,
                attempts: 1,
            }
        };
        let outcomes = vec![outcome("a", Verdict::Pass), outcome("b", b_verdict)];
        Some((
            scripts,
            StackRun {
                target,
                outcomes,
                wall: std::time::Duration::ZERO,
                jobs: 1,
            },
        ))
    }

    #[test]
    fn a_run_with_harness_errors_keeps_the_committed_column_unless_forced() {
        let error = crate::engine::Verdict::Error {
            message: "no tun".into(),
            location: None,
        };
        let (Some((scripts, good)), Some((_, broken))) =
            (run_with(crate::engine::Verdict::Pass), run_with(error))
        else {
            panic!("the reference stack is always there");
        };
        let dir = Path::new("/nonexistent-expectations");
        let committed = assemble(&scripts, &[good], None, dir, false)
            .map(|(r, _)| r)
            .ok();
        let assembled = assemble(
            &scripts,
            std::slice::from_ref(&broken),
            committed.clone(),
            dir,
            false,
        );
        let Ok((kept_report, kept)) = assembled else {
            panic!("assembling failed");
        };
        assert_eq!(Some(&kept_report), committed.as_ref(), "column kept");
        assert!(kept.first().is_some_and(|k| {
            k.reason
                .contains("1 script(s) ended in a harness error (first: b: no tun)")
        }));
        let forced = assemble(&scripts, &[broken], committed, dir, true);
        let Ok((forced, none_kept)) = forced else {
            panic!("assembling failed");
        };
        assert!(none_kept.is_empty());
        let cell = forced.column("reference").and_then(|c| c.cells.get("b"));
        assert_eq!(cell.map(|c| c.status), Some(Status::Error));
    }

    #[test]
    fn stale_files_and_merge_through_results_json() {
        let dir = std::env::temp_dir().join(format!("tcpconf-matrix-{}", std::process::id()));
        let report = sample();
        assert!(write(&dir, &report).is_ok());
        assert!(stale_files(&dir, &report).is_empty());
        let read = read_results(&dir).ok().flatten();
        assert_eq!(read.as_ref(), Some(&report));
        let mut fresh = Report::new(report.scripts.clone(), vec![]);
        fresh.keep_columns_from(report.clone());
        assert!(stale_files(&dir, &fresh).is_empty());
        let empty = Report::new(report.scripts.clone(), vec![]);
        assert_eq!(stale_files(&dir, &empty), FILES);
        let _ = std::fs::write(dir.join("results.json"), "{\"schema_version\": 99}");
        assert!(read_results(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
