//! Writing an exploration's results: one script per class under `classes/`, `summary.md` and
//! `summary.json`, after checking each script on the stacks, locating the listed deviations and
//! asking the oracle stack if there is one.

use std::path::{Path, PathBuf};

use super::emit::{self, Emitted};
use super::summary::{self, StackSummary, Summary};
use super::{Class, ExploreError, Explorer, known, oracle};

/// Where the outputs go and what to compare with.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub dir: PathBuf,
    /// `conformance-report/expectations`, when classes are to be matched with listed deviations.
    pub expectations: Option<PathBuf>,
    /// The corpus the expectations name scripts of.
    pub corpus: Option<PathBuf>,
    /// A stack each class is run on once more (`linux`).
    pub oracle: Option<String>,
}

fn io(path: &Path, e: std::io::Error) -> ExploreError {
    ExploreError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Emits, checks and writes every class; returns the summary written.
pub fn write(explorer: &mut Explorer, out: &Outputs) -> Result<Summary, ExploreError> {
    let classes_dir = out.dir.join("classes");
    std::fs::create_dir_all(&classes_dir).map_err(|e| io(&classes_dir, e))?;
    // Scripts of an earlier run in the same directory would look like this run's.
    for entry in std::fs::read_dir(&classes_dir).map_err(|e| io(&classes_dir, e))? {
        let path = entry.map_err(|e| io(&classes_dir, e))?.path();
        if path.extension().is_some_and(|x| x == "pkt") {
            std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
        }
    }
    let classes: Vec<Class> = explorer.classes.clone();
    let mut emitted: Vec<(Class, Option<Emitted>)> = Vec::with_capacity(classes.len());
    for class in classes {
        let e = emit::emit(explorer, &class);
        if let Some(e) = &e {
            let path = classes_dir.join(&e.file_name);
            std::fs::write(&path, &e.text).map_err(|err| io(&path, err))?;
        }
        emitted.push((class, e));
    }
    let located = match (&out.expectations, &out.corpus) {
        (Some(dir), Some(corpus)) if dir.is_dir() && corpus.is_dir() => {
            known::locate(explorer, dir, corpus)
        }
        _ => Vec::new(),
    };
    let mut oracles = Vec::new();
    if let Some(name) = &out.oracle {
        let mut stack = Explorer::fresh_stack(name)?;
        for (class, e) in &emitted {
            oracles.push(Some(oracle::ask(
                explorer,
                stack.as_mut(),
                name,
                class,
                e.as_ref(),
            )));
        }
    }
    let infos = explorer
        .stack_names()
        .to_vec()
        .into_iter()
        .filter_map(|n| {
            let info = explorer.stack_mut(&n)?.info();
            Some(StackSummary {
                name: info.name,
                version: info.version,
                profile: info.profile,
            })
        })
        .collect();
    let summary = summary::build(explorer, &emitted, &located, &oracles, infos);
    let md = out.dir.join("summary.md");
    std::fs::write(&md, summary::markdown(&summary)).map_err(|e| io(&md, e))?;
    let json = out.dir.join("summary.json");
    let text =
        serde_json::to_string_pretty(&summary).map_err(|e| ExploreError::Json(e.to_string()))?;
    std::fs::write(&json, text + "\n").map_err(|e| io(&json, e))?;
    Ok(summary)
}
