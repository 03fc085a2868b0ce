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
        let results = corpus::run_column(stack, &scripts, g.jobs);
        let wall = started.elapsed();
        columns.push(column(stack, &scripts, &results, &expectations));
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
