//! `--oracle STACK`: each class's shrunk case and script, run once more on another stack (the
//! host kernel, in real time), to say which side that stack is on.

use std::path::Path;

use crate::engine::{self, RunOptions};
use crate::stack::Stack;

use super::emit::Emitted;
use super::observe::{self, Observation};
use super::summary::OracleResult;
use super::{Class, Explorer, build, signature};

/// What the stack called `name` does with `class` and its script.
pub fn ask(
    explorer: &Explorer,
    stack: &mut dyn Stack,
    name: &str,
    class: &Class,
    emitted: Option<&Emitted>,
) -> OracleResult {
    let script_verdict = emitted.map_or_else(
        || "no script".to_string(),
        |e| {
            let r = engine::run_source(
                Path::new(&e.file_name),
                &e.text,
                stack,
                &RunOptions::default(),
            );
            super::verdict_text(&r.verdict)
        },
    );
    let (Some(prefix), Some(usage)) = (
        explorer.prefixes.get(class.case.prefix),
        explorer.prefix_use.get(class.case.prefix),
    ) else {
        return OracleResult {
            stack: name.into(),
            reaction: "the class's prefix is unknown".into(),
            agrees_with: Vec::new(),
            script_verdict,
        };
    };
    let (script, layout) = build::observation(prefix, &class.case, &usage.windows);
    let k = class.divergence.event;
    let (reaction, agrees_with) =
        match observe::observe(stack, &script, &layout, &class.case.events) {
            Observation::Ran { windows, .. } => match windows.get(k) {
                Some(w) => {
                    let r = w.reaction();
                    let vars = build::vars_along(prefix, &class.case);
                    let kind = match (class.case.events.get(k), vars.get(k)) {
                        (Some(e), Some(v)) => signature::symbolic(&r, e, v, &usage.windows),
                        _ => r.text(),
                    };
                    let like = class
                        .divergence
                        .sides
                        .iter()
                        .filter(|s| s.reaction == r)
                        .flat_map(|s| s.stacks.clone())
                        .collect();
                    (kind, like)
                }
                None => ("no window for the event".into(), Vec::new()),
            },
            Observation::PrefixFailed(m) => (format!("the prefix fails: {m}"), Vec::new()),
            Observation::NotRun(m) => (format!("the case does not run: {m}"), Vec::new()),
        };
    OracleResult {
        stack: name.into(),
        reaction,
        agrees_with,
        script_verdict,
    }
}
