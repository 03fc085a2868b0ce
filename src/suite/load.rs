//! Loading scripts: files under paths, each with its id, metadata, the static checks of `tcpconf
//! check` and its scripted duration.
//!
//! A script's id is its path under the corpus root without `.pkt`, with `/` separators
//! (`rst/established-in-window`): the key of expectations files and of the report's rows. Scripts
//! outside the root are named by their path under the directory they were found in, or, given as a
//! file, by their file name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::SuiteError;
use crate::script::corpus::collect_scripts;
use crate::script::diag::{Diagnostic, Severity};
use crate::script::meta::ScriptMeta;

/// One script to run.
#[derive(Debug, Clone)]
pub struct SuiteScript {
    /// The id (see the module documentation).
    pub id: String,
    pub path: PathBuf,
    pub source: String,
    /// The metadata (default when the script does not parse; running it then gives `error`).
    pub meta: ScriptMeta,
    /// What `tcpconf check` says about the script, errors and warnings, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// How long the script runs by its own times ([`super::schedule::scripted_duration`]).
    pub estimate: Duration,
}

impl SuiteScript {
    /// Reads `path`, naming it `id`, and checks it as `tcpconf check -D …` would with `defines`.
    pub fn read(
        id: String,
        path: PathBuf,
        defines: &BTreeMap<String, String>,
    ) -> Result<SuiteScript, SuiteError> {
        let bytes = std::fs::read(&path).map_err(|source| SuiteError::Io {
            path: path.clone(),
            source,
        })?;
        let source = String::from_utf8_lossy(&bytes).into_owned();
        Ok(SuiteScript::from_source(id, path, source, defines))
    }

    /// A script from its text.
    pub fn from_source(
        id: String,
        path: PathBuf,
        source: String,
        defines: &BTreeMap<String, String>,
    ) -> SuiteScript {
        // One parse for the checks, the metadata and the estimate (`check_source_with_defines`
        // would parse again).
        let (diagnostics, meta, estimate) = match crate::script::parse(&source) {
            Ok(script) => (
                crate::script::check::check_with_defines(&script, defines),
                ScriptMeta::from_script(&script).0,
                super::schedule::scripted_duration(&script),
            ),
            Err(d) => (vec![d], ScriptMeta::default(), Duration::ZERO),
        };
        SuiteScript {
            id,
            path,
            source,
            meta,
            diagnostics,
            estimate,
        }
    }

    /// The first error the static checks found: the script cannot run as written.
    pub fn first_error(&self) -> Option<&Diagnostic> {
        self.diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
    }
}

/// Every `*.pkt` under `root`, ordered by id. No script at all is an error: a mistyped path must
/// not look like a clean run.
pub fn corpus(
    root: &Path,
    defines: &BTreeMap<String, String>,
) -> Result<Vec<SuiteScript>, SuiteError> {
    paths(&[root.to_path_buf()], Some(root), defines)
}

/// The scripts at `paths` (files as given, directories searched for `*.pkt`), ordered by id and
/// without repeats; ids are taken under `root` where a script lies under it.
pub fn paths(
    paths: &[PathBuf],
    root: Option<&Path>,
    defines: &BTreeMap<String, String>,
) -> Result<Vec<SuiteScript>, SuiteError> {
    let root = root.and_then(|r| std::fs::canonicalize(r).ok());
    let mut scripts: Vec<SuiteScript> = Vec::new();
    for arg in paths {
        let files = collect_scripts(std::slice::from_ref(arg)).map_err(|e| SuiteError::Io {
            path: e.path,
            source: e.source,
        })?;
        let dir = arg.is_dir().then_some(arg.as_path());
        for path in files {
            let id = id_of(&path, root.as_deref(), dir);
            if scripts.iter().any(|s| s.path == path) {
                continue;
            }
            scripts.push(SuiteScript::read(id, path, defines)?);
        }
    }
    if scripts.is_empty() {
        return Err(SuiteError::NoScripts(paths.to_vec()));
    }
    scripts.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.path.cmp(&b.path)));
    Ok(scripts)
}

/// The id of the script at `path`: under `root` if it lies there, else under `dir` (the directory
/// it was found in), else its file name.
fn id_of(path: &Path, root: Option<&Path>, dir: Option<&Path>) -> String {
    let canonical = std::fs::canonicalize(path).ok();
    let under_root = root
        .zip(canonical.as_deref())
        .and_then(|(r, p)| p.strip_prefix(r).ok());
    let under_dir = dir.and_then(|d| path.strip_prefix(d).ok());
    let rel = under_root
        .or(under_dir)
        .or_else(|| path.file_name().map(Path::new))
        .unwrap_or(path);
    rel.with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The `-D NAME=VALUE` defines among run flags, as the static checks take them.
pub fn defines(flags: &[crate::engine::Flag]) -> BTreeMap<String, String> {
    flags
        .iter()
        .filter(|f| f.name == "define")
        .filter_map(|f| f.value.as_deref())
        .map(|d| match d.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => (d.to_string(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_taken_under_the_root_else_the_directory_else_the_file_name() {
        let dir = std::env::temp_dir().join(format!("tcpconf-load-{}", std::process::id()));
        let nested = dir.join("corpus").join("rst");
        assert!(std::fs::create_dir_all(&nested).is_ok());
        let script = nested.join("x.pkt");
        assert!(std::fs::write(&script, "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n").is_ok());
        let root = std::fs::canonicalize(dir.join("corpus")).ok();
        assert_eq!(id_of(&script, root.as_deref(), None), "rst/x");
        assert_eq!(id_of(&script, None, Some(&dir)), "corpus/rst/x");
        assert_eq!(id_of(&script, None, None), "x");
        let empty = dir.join("empty");
        assert!(std::fs::create_dir_all(&empty).is_ok());
        let none = super::paths(&[empty], None, &BTreeMap::new());
        assert!(matches!(none, Err(SuiteError::NoScripts(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
