//! Scripts on disk: finding `*.pkt` files under paths and checking each one.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::diag::{Diagnostic, Severity};

/// An I/O failure while looking for or reading scripts, with the path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}", path.display())]
pub struct CorpusError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Expands `paths` into script files: a file is taken as given (whatever its extension), a
/// directory is searched recursively for `*.pkt`. The result is sorted within each directory so
/// that output is stable.
pub fn collect_scripts(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CorpusError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|source| CorpusError {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk(path, &mut out)?;
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
    let error = |source| CorpusError {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = fs::read_dir(dir)
        .map_err(error)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(error)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "pkt") {
            out.push(path);
        }
    }
    Ok(())
}

/// What checking one script found.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: PathBuf,
    /// The script text (for rendering the diagnostics); lossily decoded if not UTF-8.
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    /// Whether any diagnostic is an error (warnings alone leave a script acceptable).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// All diagnostics rendered one after the other.
    pub fn render(&self, color: bool) -> String {
        let path = self.path.display().to_string();
        self.diagnostics
            .iter()
            .map(|d| d.render(&path, &self.source, color))
            .collect()
    }
}

/// Reads and checks one script: syntax first, then (if it parsed) the semantic checks, knowing
/// the `-D` defines it will run with.
pub fn check_file(
    path: &Path,
    defines: &BTreeMap<String, String>,
) -> Result<FileReport, CorpusError> {
    let bytes = fs::read(path).map_err(|source| CorpusError {
        path: path.to_path_buf(),
        source,
    })?;
    let source = String::from_utf8_lossy(&bytes).into_owned();
    let diagnostics = super::check_source_with_defines(&source, defines);
    Ok(FileReport {
        path: path.to_path_buf(),
        source,
        diagnostics,
    })
}
