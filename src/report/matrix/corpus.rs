//! The corpus as the matrix sees it: scripts with ids and metadata, and running one stack's column.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::MatrixError;
use super::model::ScriptEntry;
use crate::engine::{self, RunOptions, RunResult, Verdict};
use crate::script::meta::{Profile, ScriptMeta};
use crate::stack::{self, StackInfo, StackOptions};

/// One script of the corpus.
#[derive(Debug, Clone)]
pub struct CorpusScript {
    /// Path under the corpus root without `.pkt`, with `/` separators: `rst/established-in-window`.
    pub id: String,
    pub path: PathBuf,
    pub source: String,
    /// The metadata (default when the script does not parse; running it then gives `error`).
    pub meta: ScriptMeta,
}

impl CorpusScript {
    /// The row header of this script.
    pub fn entry(&self) -> ScriptEntry {
        ScriptEntry {
            id: self.id.clone(),
            title: self.meta.title.clone().unwrap_or_else(|| self.id.clone()),
            area: self
                .meta
                .area
                .map_or_else(|| "unsorted".to_string(), |a| a.name().to_string()),
            profile: self.meta.profile.map(|p| p.name().to_string()),
            rfc: self.meta.rfc.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Reads every `*.pkt` under `root`, ordered by id.
pub fn load(root: &Path) -> Result<Vec<CorpusScript>, MatrixError> {
    let files = crate::script::corpus::collect_scripts(&[root.to_path_buf()]).map_err(|e| {
        MatrixError::Io {
            path: e.path,
            source: e.source,
        }
    })?;
    let mut scripts = Vec::with_capacity(files.len());
    for path in files {
        let source = std::fs::read_to_string(&path).map_err(|source| MatrixError::Io {
            path: path.clone(),
            source,
        })?;
        let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
        let id = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let meta = match crate::script::parse(&source) {
            Ok(script) => ScriptMeta::from_script(&script).0,
            Err(_) => ScriptMeta::default(),
        };
        scripts.push(CorpusScript {
            id,
            path,
            source,
            meta,
        });
    }
    scripts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(scripts)
}

/// Stacks whose behaviour profile can be chosen per run; every other stack has one fixed
/// behaviour, RFC 9293 with its RFC 5961 mitigations or whatever it implements.
const PROFILE_STACKS: &[&str] = &["reference"];

/// How to build `stack` for a script with `meta`, or why the script does not apply to it: a
/// stack that has one fixed behaviour cannot be asked to behave like RFC 793.
pub fn stack_options(stack: &str, meta: &ScriptMeta) -> Result<StackOptions, String> {
    match meta.profile {
        Some(p) if PROFILE_STACKS.contains(&stack) => Ok(StackOptions {
            script_profile: Some(p.name().to_string()),
            ..StackOptions::default()
        }),
        Some(Profile::Rfc793) => Err(format!(
            "the script tests the rfc793 profile (the original RFC 793 rules); stack `{stack}` has \
             one fixed behaviour, so only rfc9293 scripts apply to it"
        )),
        _ => Ok(StackOptions::default()),
    }
}

/// Runs `script` on a fresh instance of `stack`.
pub fn run_script(stack: &str, script: &CorpusScript, opts: &RunOptions) -> RunResult {
    let not_run = |verdict| RunResult::not_run(script.path.clone(), verdict);
    let options = match stack_options(stack, &script.meta) {
        Ok(o) => o,
        Err(reason) => {
            return not_run(Verdict::Skip {
                reason,
                location: None,
            });
        }
    };
    match stack::by_name(stack, &options) {
        Ok(mut s) => engine::run_source(&script.path, &script.source, s.as_mut(), opts),
        Err(e) => not_run(Verdict::Error {
            message: e.to_string(),
            location: None,
        }),
    }
}

/// Runs every script on `stack` with `jobs` workers; results come back in `scripts`' order.
pub fn run_column(stack: &str, scripts: &[CorpusScript], jobs: usize) -> Vec<RunResult> {
    let opts = RunOptions::default();
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<RunResult>>> = Mutex::new(vec![None; scripts.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, scripts.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(script) = scripts.get(i) else { break };
                    let r = run_script(stack, script, &opts);
                    // A poisoned lock means another worker panicked; its scope re-raises it.
                    if let Ok(mut slots) = slots.lock()
                        && let Some(slot) = slots.get_mut(i)
                    {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    let slots = slots.into_inner().unwrap_or_else(|p| p.into_inner());
    slots
        .into_iter()
        .zip(scripts)
        .map(|(r, s)| {
            r.unwrap_or_else(|| {
                RunResult::not_run(
                    s.path.clone(),
                    Verdict::Error {
                        message: "the worker running this script stopped".into(),
                        location: None,
                    },
                )
            })
        })
        .collect()
}

/// Who the column's stack is: taken from the runs, else from a fresh instance.
pub fn stack_info(stack: &str, results: &[RunResult]) -> Option<StackInfo> {
    results.iter().find_map(|r| r.stack.clone()).or_else(|| {
        stack::by_name(stack, &StackOptions::default())
            .ok()
            .map(|s| s.info())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_apply_per_stack() {
        let meta = ScriptMeta {
            profile: Some(Profile::Rfc793),
            ..ScriptMeta::default()
        };
        let reference = stack_options("reference", &meta);
        assert_eq!(
            reference.ok().and_then(|o| o.script_profile).as_deref(),
            Some("rfc793")
        );
        assert!(stack_options("linux", &meta).is_err());
        assert!(stack_options("linux", &ScriptMeta::default()).is_ok());
    }
}
