//! The results matrix in `conformance-report/`: scripts × stacks, with known deviations, counts per
//! area, measured values and RFC 9293 requirement coverage, as Markdown, JSON and one HTML page.
//!
//! The flow: [`corpus::load`] the scripts, [`corpus::run_column`] per stack, [`column`] judges each
//! result against the stack's [`Expectations`], a [`Report`] holds the columns (merged with those
//! of an earlier `results.json`, so stacks can be run on different machines), and [`render`] turns it
//! into the three files. Nothing rendered depends on wall time or hash order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod corpus;
pub mod expect;
mod html;
mod markdown;
pub mod model;
pub mod rfc9293;

pub use corpus::CorpusScript;
pub use expect::{Deviation, Expectations, Expected};
pub use model::{Cell, Column, Report, SCHEMA_VERSION, ScriptEntry, Status};

use crate::engine::RunResult;
use crate::script::meta::{RequirementKind, RfcRef};
use crate::stack::TimeModel;

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
    #[error("{}: {message}", path.display())]
    Expectations { path: PathBuf, message: String },
    #[error("{}: not a results.json this tcpconf reads: {message}", path.display())]
    Results { path: PathBuf, message: String },
}

/// Judges `cell` of `script` on `stack`: against the stack's expectations file, except that a
/// script whose profile does not apply to the stack is expected to skip.
pub fn judge(cell: &mut Cell, stack: &str, script: &CorpusScript, expectations: &Expectations) {
    match (
        corpus::stack_options(stack, &script.meta),
        expectations.get(&script.id),
    ) {
        (_, Some(d)) => cell.judge(d.verdict, Some((&d.reason, &d.rfc))),
        (Err(reason), None) => {
            cell.judge(Expected::Skip, None);
            cell.expected_reason = Some(reason);
        }
        (Ok(_), None) => cell.judge(Expected::Pass, None),
    }
}

/// The column of `stack` from its runs of `scripts` (same order), judged against `expectations`.
pub fn column(
    stack: &str,
    scripts: &[CorpusScript],
    results: &[RunResult],
    expectations: &Expectations,
) -> Column {
    let mut cells = BTreeMap::new();
    let mut profiles: Vec<String> = Vec::new();
    for (script, result) in scripts.iter().zip(results) {
        if let Some(info) = &result.stack
            && !profiles.contains(&info.profile)
        {
            profiles.push(info.profile.clone());
        }
        let mut cell = Cell::new(result, Expected::Pass, None);
        judge(&mut cell, stack, script, expectations);
        cells.insert(script.id.clone(), cell);
    }
    profiles.sort();
    let info = corpus::stack_info(stack, results);
    Column {
        stack: stack.to_string(),
        version: info
            .as_ref()
            .map_or_else(|| "unknown".into(), |i| i.version.clone()),
        profile: if profiles.is_empty() {
            info.as_ref()
                .map_or_else(String::new, |i| i.profile.clone())
        } else {
            profiles.join(" / ")
        },
        time: info.map_or(TimeModel::Real, |i| i.capabilities.time),
        cells,
    }
}

/// What [`generate`] is asked to do: `tcpconf matrix`'s arguments.
#[derive(Debug, Clone)]
pub struct Generate {
    /// The corpus root (`scripts/`); script ids are paths under it.
    pub scripts: PathBuf,
    /// The report directory (`conformance-report/`), whose `results.json` supplies the columns of
    /// stacks not run now.
    pub out: PathBuf,
    /// Where `<stack>.toml` expectations live (`conformance-report/expectations/`).
    pub expectations: PathBuf,
    /// The stacks to run now.
    pub stacks: Vec<String>,
    /// Scripts run at once per stack.
    pub jobs: usize,
    /// On real-time stacks, how many more times a script whose verdict differs from its expectation
    /// is run again (0: never). Virtual-time runs are deterministic and never repeated.
    pub retries: u32,
}

/// One stack's run, for the caller's summary.
#[derive(Debug)]
pub struct StackRun {
    pub stack: String,
    pub results: Vec<RunResult>,
    /// Wall time of the whole column (never written into the report).
    pub wall: std::time::Duration,
    /// Expectations that name scripts not in the corpus.
    pub unknown_expectations: Vec<String>,
}

/// Runs the stacks and builds the report, keeping the other stacks' columns from the existing
/// `results.json` (re-judged against their current expectations files). Writes nothing.
pub fn generate(g: &Generate) -> Result<(Report, Vec<StackRun>), MatrixError> {
    let scripts = corpus::load(&g.scripts)?;
    let ids: Vec<&str> = scripts.iter().map(|s| s.id.as_str()).collect();
    let mut columns = Vec::new();
    let mut runs = Vec::new();
    for stack in &g.stacks {
        let expectations = Expectations::load(&g.expectations, stack)?;
        let started = std::time::Instant::now();
        let mut results = corpus::run_column(stack, &scripts, g.jobs);
        let attempts = retry(stack, &scripts, &mut results, &expectations, g);
        let wall = started.elapsed();
        let mut col = column(stack, &scripts, &results, &expectations);
        for (script, n) in scripts.iter().zip(attempts) {
            if let Some(cell) = col.cells.get_mut(&script.id) {
                cell.attempts = n;
            }
        }
        columns.push(col);
        runs.push(StackRun {
            stack: stack.clone(),
            unknown_expectations: expectations
                .unknown(&ids)
                .into_iter()
                .map(String::from)
                .collect(),
            results,
            wall,
        });
    }
    let mut report = Report::new(scripts.iter().map(CorpusScript::entry).collect(), columns);
    if let Some(mut previous) = read_results(&g.out)? {
        for column in &mut previous.stacks {
            if g.stacks.contains(&column.stack) {
                continue;
            }
            let expectations = Expectations::load(&g.expectations, &column.stack)?;
            for script in &scripts {
                if let Some(cell) = column.cells.get_mut(&script.id) {
                    judge(cell, &column.stack, script, &expectations);
                }
            }
        }
        report.keep_columns_from(previous);
    }
    Ok((report, runs))
}

/// Runs again, up to `g.retries` times, the scripts of a real-time stack whose verdict differs
/// from the expectation: on a loaded machine the harness itself can be late (an injection or a
/// syscall past the timing tolerance), which the engine reports as an error. Each script keeps its
/// last run; the returned attempt counts are shown in the report, so a flaky cell stays visible.
fn retry(
    stack: &str,
    scripts: &[CorpusScript],
    results: &mut [RunResult],
    expectations: &Expectations,
    g: &Generate,
) -> Vec<u32> {
    let mut attempts = vec![1u32; scripts.len()];
    let real =
        corpus::stack_info(stack, results).is_some_and(|i| i.capabilities.time == TimeModel::Real);
    if !real {
        return attempts;
    }
    for _ in 0..g.retries {
        let again: Vec<usize> = scripts
            .iter()
            .zip(results.iter())
            .enumerate()
            .filter(|(_, (s, r))| {
                corpus::stack_options(stack, &s.meta).is_ok()
                    && model::mismatch(&r.verdict, expectations.expected(&s.id)).is_some()
            })
            .map(|(i, _)| i)
            .collect();
        if again.is_empty() {
            break;
        }
        let subset: Vec<CorpusScript> = again
            .iter()
            .filter_map(|&i| scripts.get(i).cloned())
            .collect();
        for (&i, r) in again.iter().zip(corpus::run_column(stack, &subset, g.jobs)) {
            if let (Some(slot), Some(n)) = (results.get_mut(i), attempts.get_mut(i)) {
                *slot = r;
                *n += 1;
            }
        }
    }
    attempts
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
            .zip(&results)
            .map(|(id, r)| {
                let cell = match expectations.get(id) {
                    Some(d) => Cell::new(r, d.verdict, Some((&d.reason, &d.rfc))),
                    None => Cell::new(r, Expected::Pass, None),
                };
                ((*id).to_string(), cell)
            })
            .collect();
        let column = Column {
            stack: "linux".into(),
            version: "6.1".into(),
            profile: "tcp_rfc1337=0".into(),
            time: TimeModel::Real,
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
