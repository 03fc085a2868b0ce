//! The suite runner: many scripts on one stack, the one runner behind `tcpconf run`, `tcpconf
//! matrix` and `tests/conformance.rs`.
//!
//! [`load`] reads scripts with their ids, metadata and `tcpconf check`'s diagnostics; a
//! [`Target`] is a stack from the registry, checked once for whether it can run here at all and
//! asked once for its capabilities; [`run_script`] runs one script on it — a script with static
//! errors is an `error` at its line and column, a script whose profile the stack cannot select
//! is a `skip` ([`applies`]) — retried as the [`Plan`] says and judged against the stack's
//! [`Expectations`]; [`run_stack`] runs them all on a worker pool, longest first ([`schedule`]).
//! Callers only present the [`StackRun`].

pub mod applies;
pub mod expect;
pub mod load;
mod pool;
pub mod schedule;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use expect::{Deviation, Expectation, Expectations, Expected, Judged, Status, mismatch};
pub use load::SuiteScript;

use crate::engine::{self, RunOptions, RunResult, Verdict};
use crate::stack::{self, StackEntry, StackError, StackInfo, StackOptions, TimeModel};

/// Why a suite cannot run at all (as opposed to a script's verdict).
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no scripts found in {}", display_paths(.0))]
    NoScripts(Vec<PathBuf>),
    #[error("{}: {message}", path.display())]
    Expectations { path: PathBuf, message: String },
    /// The stack name is not in the registry.
    #[error("{0}")]
    UnknownStack(String),
    /// The stack cannot run in this process (not built in, no privileges): said once, not per
    /// script.
    #[error("{reason}")]
    Unavailable { stack: String, reason: String },
    /// The stack could not even be created to ask for its capabilities (the cause is part of
    /// the message, not a separate source, so it is said once).
    #[error("stack `{stack}`: {error}")]
    Stack { stack: String, error: StackError },
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many scripts run at once on a virtual-time stack by default: one per CPU (they compute).
pub fn default_jobs_virtual() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Scripts run at once per CPU on a real-time stack by default: sleeping real-time scripts overlap.
/// A real-time script sleeps almost all of its scripted time, so more jobs than CPUs shorten a
/// column until it takes as long as its longest script. Measured on 2 CPUs (Linux column,
/// `tcpconf matrix --stacks linux --retries 0`): 230 s at 2 jobs, 134–135 s at 8 — the floor,
/// `timers/syn-give-up`, during which Linux retransmits its SYN for 127 s — with 0 errors and
/// identical cells in 3 runs, and again in 3 runs beside two CPU-bound `yes` loops (load 4.5–6.5).
/// That holds because only events that are due spin, and set-up and teardown run off SCHED_RR
/// (`engine::priority`); with either missing, 8 jobs made about one run in a hundred late.
pub const REAL_TIME_JOBS_PER_CPU: usize = 4;

/// The default number of scripts run at once on a stack with `time`.
pub fn default_jobs(time: TimeModel) -> usize {
    match time {
        TimeModel::Virtual => default_jobs_virtual(),
        TimeModel::Real => default_jobs_virtual().saturating_mul(REAL_TIME_JOBS_PER_CPU),
    }
}

/// A stack to run scripts on: its registry entry, the user's `--profile` / `--via`, and the
/// capabilities one instance reported.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub entry: &'static StackEntry,
    pub options: StackOptions,
    pub info: StackInfo,
}

impl Target {
    /// Checks that `name` is a stack, that it can run here, and asks one instance for its
    /// capabilities (an `exec:` program answers `hello`).
    pub fn prepare(name: &str, options: StackOptions) -> Result<Target, SuiteError> {
        let entry =
            stack::check_name(name).map_err(|e| SuiteError::UnknownStack(unknown_message(e)))?;
        if let Some(reason) = entry.unavailable(&options) {
            return Err(SuiteError::Unavailable {
                stack: name.to_string(),
                reason,
            });
        }
        let probe = stack::by_name(name, &options).map_err(|error| SuiteError::Stack {
            stack: name.to_string(),
            error,
        })?;
        let info = probe.info();
        drop(probe);
        Ok(Target {
            name: name.to_string(),
            entry,
            options,
            info,
        })
    }

    /// Whether the stack runs in real time (retries and the job count depend on it).
    pub fn real_time(&self) -> bool {
        self.info.capabilities.time == TimeModel::Real
    }

    /// How to build the stack for a script with `meta`, or why the script does not apply. An
    /// explicit `--profile` is the user's choice and applies to every script.
    pub fn applies(&self, meta: &crate::script::meta::ScriptMeta) -> Result<StackOptions, String> {
        if self.options.profile.is_some() {
            return Ok(self.options.clone());
        }
        let profile = applies::profile_for(&self.name, &self.info.capabilities.profiles, meta)?;
        Ok(StackOptions {
            script_profile: profile,
            ..self.options.clone()
        })
    }
}

fn unknown_message(e: StackError) -> String {
    match e {
        StackError::Environment(m) => m,
        other => other.to_string(),
    }
}

/// How to run each script.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The engine's options (packetdrill flags, strict end, shell).
    pub run_options: RunOptions,
    /// Scripts run at once.
    pub jobs: usize,
    /// On a real-time stack, how many more times a script whose outcome is not the expected one
    /// runs (0: never). The last run counts and its attempts are reported. Virtual-time runs are
    /// deterministic and never repeated.
    pub retries: u32,
    /// The stack's expectations; `None` judges nothing (plain verdicts).
    pub expectations: Option<Arc<Expectations>>,
}

/// One script's outcome on one stack.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The script's id.
    pub id: String,
    pub result: RunResult,
    /// How many runs it took (more than 1 only with retries on a real-time stack).
    pub attempts: u32,
    /// The verdict judged against the expectations, when the plan has them.
    pub judged: Option<Judged>,
}

impl Outcome {
    /// Whether the outcome is the one predicted: as expected when judged, else a pass.
    pub fn as_expected(&self) -> bool {
        match &self.judged {
            Some(j) => j.status.as_expected(),
            None => self.result.verdict.is_pass(),
        }
    }
}

/// Runs `script` on `target` as `plan` says (the plan's `jobs` does not matter here).
pub fn run_script(target: &Target, script: &SuiteScript, plan: &Plan) -> Outcome {
    let applies = target.applies(&script.meta);
    let expectation = plan.expectations.as_ref().map(|e| {
        e.expectation(
            &script.id,
            applies.as_ref().map(|_| ()).map_err(String::as_str),
        )
    });
    let mut attempts = 1;
    let mut result = run_once(target, script, &applies, &plan.run_options);
    let retry = |r: &RunResult| match &expectation {
        Some(e) => !Status::of(r.verdict.name(), e).as_expected(),
        None => !r.verdict.is_pass(),
    };
    while target.real_time() && attempts <= plan.retries && applies.is_ok() && retry(&result) {
        result = run_once(target, script, &applies, &plan.run_options);
        attempts += 1;
    }
    Outcome {
        id: script.id.clone(),
        judged: expectation.map(|e| Judged::new(&result.verdict, e)),
        result,
        attempts,
    }
}

/// One run: static errors and non-applicable profiles stop it before a stack is built.
fn run_once(
    target: &Target,
    script: &SuiteScript,
    applies: &Result<StackOptions, String>,
    opts: &RunOptions,
) -> RunResult {
    let not_run = |verdict| {
        let mut r = RunResult::not_run(script.path.clone(), verdict);
        r.stack = Some(target.info.clone());
        r.attach_source(&script.source);
        r
    };
    if let Some(d) = script.first_error() {
        let help = d
            .help
            .as_ref()
            .map(|h| format!(" (help: {h})"))
            .unwrap_or_default();
        return not_run(Verdict::Error {
            message: format!("script error: {}{help}", d.message),
            location: Some(engine::Location {
                line: d.span.line as usize,
                column: d.span.col as usize,
                source: String::new(),
            }),
        });
    }
    let options = match applies {
        Ok(o) => o,
        Err(reason) => {
            return not_run(Verdict::Skip {
                reason: reason.clone(),
                location: None,
            });
        }
    };
    // An adapter that panics (a bug in it or in the library it wraps) ends this script as an
    // error instead of taking the whole suite down.
    let run = catch_unwind(AssertUnwindSafe(|| {
        match stack::by_name(&target.name, options) {
            Ok(mut s) => engine::run_source(&script.path, &script.source, s.as_mut(), opts),
            Err(e) => RunResult::not_run(
                script.path.clone(),
                Verdict::Error {
                    message: e.to_string(),
                    location: None,
                },
            ),
        }
    }));
    run.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "no message".into());
        not_run(Verdict::Error {
            message: format!("the stack adapter panicked: {what}"),
            location: None,
        })
    })
}

/// Every script's outcome on one stack.
#[derive(Debug)]
pub struct StackRun {
    pub target: Target,
    /// In the order of the scripts given.
    pub outcomes: Vec<Outcome>,
    /// Wall time of the whole run (never written into the report).
    pub wall: Duration,
    /// Scripts run at once.
    pub jobs: usize,
}

impl StackRun {
    /// The outcomes that took more than one run.
    pub fn retried(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.attempts > 1)
    }

    /// The outcomes whose verdict is a harness or environment error.
    pub fn errors(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.result.verdict, Verdict::Error { .. }))
    }

    /// Whether every script reached a verdict about the stack (no `error`): only such a run may
    /// replace a column of the committed report.
    pub fn complete(&self) -> bool {
        self.errors().next().is_none()
    }

    /// The results, in script order.
    pub fn results(&self) -> Vec<RunResult> {
        self.outcomes.iter().map(|o| o.result.clone()).collect()
    }
}

/// Runs every script of `scripts` on `target`, `plan.jobs` at once, longest first; `done` sees
/// each outcome (with its index in `scripts`) on the calling thread as it finishes.
pub fn run_stack(
    target: Target,
    scripts: &[SuiteScript],
    plan: &Plan,
    mut done: impl FnMut(usize, &Outcome),
) -> StackRun {
    let started = Instant::now();
    let estimates: Vec<Duration> = scripts.iter().map(|s| s.estimate).collect();
    let order = schedule::longest_first(&estimates);
    let mut slots: Vec<Option<Outcome>> = vec![None; scripts.len()];
    let jobs = plan.jobs.max(1);
    pool::run(
        scripts,
        &order,
        jobs,
        |script| run_script(&target, script, plan),
        |i, outcome| {
            done(i, &outcome);
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(outcome);
            }
        },
    );
    let outcomes = slots
        .into_iter()
        .zip(scripts)
        .map(|(o, s)| {
            o.unwrap_or_else(|| Outcome {
                id: s.id.clone(),
                result: RunResult::not_run(
                    s.path.clone(),
                    Verdict::Error {
                        message: "the worker running this script stopped".into(),
                        location: None,
                    },
                ),
                attempts: 1,
                judged: None,
            })
        })
        .collect();
    StackRun {
        target,
        outcomes,
        wall: started.elapsed(),
        jobs,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const SOCKET: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";

    fn script(id: &str, text: String) -> SuiteScript {
        SuiteScript::from_source(
            id.into(),
            format!("{id}.pkt").into(),
            text,
            &BTreeMap::new(),
        )
    }

    fn target(name: &str) -> Option<Target> {
        Target::prepare(name, StackOptions::default()).ok()
    }

    #[test]
    fn static_errors_and_profiles_stop_a_script_before_it_runs() {
        let (Some(reference), Some(smoltcp)) = (target("reference"), target("smoltcp")) else {
            panic!("in-process stacks are always there");
        };
        let plan = Plan::default();
        let typo = script("typo", format!("{SOCKET}+0 lisen(3, 1) = 0\n"));
        let o = run_script(&reference, &typo, &plan);
        match &o.result.verdict {
            Verdict::Error { message, location } => {
                assert!(
                    message.starts_with("script error: unknown syscall"),
                    "{message}"
                );
                assert_eq!(location.as_ref().map(|l| (l.line, l.column)), Some((2, 4)));
                assert_eq!(
                    location.as_ref().map(|l| l.source.as_str()),
                    Some("+0 lisen(3, 1) = 0")
                );
            }
            other => panic!("{other:?}"),
        }
        let rfc793 = script("old", format!("//! profile: rfc793\n{SOCKET}"));
        assert!(matches!(
            run_script(&smoltcp, &rfc793, &plan).result.verdict,
            Verdict::Skip { .. }
        ));
        let ran = run_script(&reference, &rfc793, &plan);
        assert_eq!(ran.result.verdict, Verdict::Pass);
        assert_eq!(
            ran.result.stack.map(|s| s.profile).as_deref(),
            Some("rfc793"),
            "the reference stack selects the script's profile"
        );
    }

    #[test]
    fn virtual_time_runs_are_never_retried_and_judged_when_expected() {
        let Some(reference) = target("reference") else {
            panic!("the reference stack is always there");
        };
        let fails = script("fails", format!("{SOCKET}+0 close(3) = -1\n"));
        let plan = Plan {
            retries: 5,
            expectations: Some(Arc::new(Expectations::default())),
            ..Plan::default()
        };
        let o = run_script(&reference, &fails, &plan);
        assert_eq!(o.attempts, 1);
        assert_eq!(o.judged.map(|j| j.status), Some(Status::Fail));
        assert!(!run_script(&reference, &fails, &Plan::default()).as_expected());
    }

    #[test]
    fn a_stack_run_keeps_script_order_and_says_when_it_is_complete() {
        let Some(reference) = target("reference") else {
            panic!("the reference stack is always there");
        };
        let scripts = vec![
            script("a", SOCKET.into()),
            script("b", format!("{SOCKET}+1 close(3) = 0\n")),
            script("c", format!("{SOCKET}+0 bogus\n")),
        ];
        let plan = Plan {
            jobs: 2,
            ..Plan::default()
        };
        let mut seen = 0;
        let run = run_stack(reference, &scripts, &plan, |_, _| seen += 1);
        assert_eq!(seen, 3);
        let ids: Vec<&str> = run.outcomes.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(!run.complete(), "c does not parse: a harness error");
        assert_eq!(run.errors().count(), 1);
        assert!(matches!(
            Target::prepare("nonesuch", StackOptions::default()),
            Err(SuiteError::UnknownStack(_))
        ));
    }
}
