//! The conformance suite: one trial per script × stack, named `<script id>::<stack>`
//! (`rst/established-in-window::linux`), so `cargo test --test conformance -- rst/` or
//! `cargo nextest run --test conformance linux` picks what to run. The stacks are the registry's
//! (`tcpconf::stack::STACKS`), each trial runs through the suite runner (`tcpconf::suite`) that
//! `tcpconf run` and `tcpconf matrix` use, so all three give the same cell for a script.
//!
//! A trial passes when the stack's cell is as expected: the verdict equals what
//! `conformance-report/expectations/<stack>.toml` expects (pass unless listed). A new failure and a
//! listed deviation that disappears both fail it; an `error` verdict always fails it. Nothing is
//! retried unless `TCPCONF_RETRIES=N` says so (real-time stacks only); the suite then says how many
//! trials needed a retry.
//!
//! Trials that cannot run here are marked ignored when the suite is listed — no CAP_NET_ADMIN for
//! `linux`, an adapter not built in, a script for a profile the stack lacks — so `cargo test` and
//! `cargo nextest` show them as ignored/skipped, never as passed. Forced to run (`--ignored`),
//! such a trial fails with the reason: it was asked to run and could not.
//!
//! `expectations::<stack>` trials check that each expectations file parses and names only scripts
//! of the corpus, and that the reference stack has no expectations at all. `agreement::smoltcp`
//! checks that `tcpconf run --expect`, `tcpconf matrix` and these trials give every script the same
//! cell; `listing::complete` checks the listing nextest partitions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use libtest_mimic::{Arguments, Failed, Trial};
use tcpconf::engine::Verdict;
use tcpconf::stack::StackOptions;
use tcpconf::suite::{self, Expectations, Plan, Status, SuiteScript, Target};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn expectations_dir() -> PathBuf {
    root().join("conformance-report").join("expectations")
}

/// `TCPCONF_RETRIES`: reruns of a real-time trial whose cell is not as expected (default 0).
fn retries() -> u32 {
    std::env::var("TCPCONF_RETRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A trial that is listed as ignored for `reason`, and fails with it if forced to run.
fn cannot_run(name: String, stack: &str, reason: String) -> Trial {
    Trial::test(name, move || {
        Err(format!("cannot run here (run without --ignored to skip it): {reason}").into())
    })
    .with_kind(stack)
    .with_ignored_flag(true)
}

/// The trial of `script` on `target`.
fn script_trial(
    target: &Arc<Target>,
    script: &Arc<SuiteScript>,
    plan: &Arc<Plan>,
    retried: &Arc<AtomicUsize>,
) -> Trial {
    let name = format!("{}::{}", script.id, target.name);
    if let Err(reason) = target.applies(&script.meta) {
        return cannot_run(name, &target.name, reason);
    }
    let (target, script, plan, retried) = (
        Arc::clone(target),
        Arc::clone(script),
        Arc::clone(plan),
        Arc::clone(retried),
    );
    let kind = target.name.clone();
    Trial::test(name, move || {
        let outcome = suite::run_script(&target, &script, &plan);
        if outcome.attempts > 1 {
            retried.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.as_expected() {
            return Ok(());
        }
        let expected = outcome
            .judged
            .as_ref()
            .map_or(suite::Expected::Pass, |j| j.expectation.verdict);
        let message = suite::mismatch(&outcome.result.verdict, expected).unwrap_or_default();
        let mut text = format!("{}: {message}", script.path.display());
        if outcome.attempts > 1 {
            text.push_str(&format!("\n  after {} attempts", outcome.attempts));
        }
        if let Some(j) = outcome.judged.as_ref().filter(|j| j.expectation.listed) {
            text.push_str(&format!(
                "\n  listed deviation: {} ({})",
                j.expectation.reason.as_deref().unwrap_or(""),
                j.expectation.rfc.as_deref().unwrap_or("")
            ));
        }
        if let Verdict::Fail(f) = &outcome.result.verdict {
            if let Some(e) = &f.expected {
                text.push_str(&format!("\n  script: {e}"));
            }
            if let Some(a) = &f.actual {
                text.push_str(&format!("\n  stack:  {a}"));
            }
        }
        Err(Failed::from(text))
    })
    .with_kind(kind)
}

/// The whole corpus (loaded in the trials that need it: see [`corpus_for`]).
fn corpus() -> Result<Vec<SuiteScript>, Failed> {
    suite::load::corpus(&root().join("scripts"), &Default::default())
        .map_err(|e| Failed::from(format!("cannot load scripts/: {e}")))
}

fn expectations_trial(stack: &'static str, dir: &Path) -> Trial {
    let dir = dir.to_path_buf();
    Trial::test(format!("expectations::{stack}"), move || {
        let e = Expectations::load(&dir, stack).map_err(|e| Failed::from(e.to_string()))?;
        let scripts = corpus()?;
        let ids: Vec<&str> = scripts.iter().map(|s| s.id.as_str()).collect();
        let unknown = e.unknown(&ids);
        if !unknown.is_empty() {
            return Err(format!(
                "{} lists scripts that are not in scripts/: {}",
                Expectations::path(&dir, stack).display(),
                unknown.join(", ")
            )
            .into());
        }
        if stack == "reference" && !e.is_empty() {
            return Err(format!(
                "{} lists {} deviation(s): the reference stack must pass every script of its \
                 profile; a reference failure is a bug to fix, not an expectation",
                Expectations::path(&dir, stack).display(),
                e.len()
            )
            .into());
        }
        Ok(())
    })
}

/// The cells by script id of `tcpconf` output: `run --format json`'s `cell.status`, or a
/// `results.json` column's `status`.
fn cells_of(json: &serde_json::Value, stack: Option<&str>) -> Vec<(String, String)> {
    let status = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_string();
    match stack {
        None => json["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| (status(&r["id"]), status(&r["cell"]["status"])))
            .collect(),
        Some(stack) => json["stacks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["stack"] == stack)
            .flat_map(|c| c["cells"].as_object().into_iter().flatten())
            .map(|(id, cell)| (id.clone(), status(&cell["status"])))
            .collect(),
    }
}

fn tcpconf(args: &[&str]) -> Result<Vec<u8>, Failed> {
    let out = Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .current_dir(root())
        .args(args)
        .output()
        .map_err(|e| format!("cannot start tcpconf: {e}"))?;
    if out.status.code() == Some(2) {
        return Err(format!(
            "tcpconf {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(out.stdout)
}

/// `tcpconf run --expect`, `tcpconf matrix` and the suite's trials give every script of the corpus
/// the same cell on smoltcp.
fn agreement_trial(target: Arc<Target>, plan: Arc<Plan>) -> Trial {
    Trial::test(format!("agreement::{}", target.name), move || {
        let stack = target.name.as_str();
        let scripts = corpus()?;
        let trials: Vec<(String, String)> = scripts
            .iter()
            .map(|s| {
                let o = suite::run_script(&target, s, &plan);
                let status = o.judged.map_or(Status::Error, |j| j.status);
                (s.id.clone(), status.name().to_string())
            })
            .collect();
        let dir = expectations_dir();
        let dir = dir.to_string_lossy();
        let run = tcpconf(&[
            "run", "--stack", stack, "--expect", &dir, "--format", "json", "scripts",
        ])?;
        let run: serde_json::Value =
            serde_json::from_slice(&run).map_err(|e| format!("run --format json: {e}"))?;
        let out = std::env::temp_dir().join(format!("tcpconf-agreement-{}", std::process::id()));
        let out_arg = out.to_string_lossy().into_owned();
        tcpconf(&[
            "matrix",
            "--stacks",
            stack,
            "--out",
            &out_arg,
            "--expectations",
            &dir,
            "scripts",
        ])?;
        let results = std::fs::read_to_string(out.join("results.json"))
            .map_err(|e| format!("matrix wrote no results.json: {e}"))?;
        let _ = std::fs::remove_dir_all(&out);
        let matrix: serde_json::Value =
            serde_json::from_str(&results).map_err(|e| format!("results.json: {e}"))?;
        let mut from_run = cells_of(&run, None);
        from_run.sort();
        let mut from_matrix = cells_of(&matrix, Some(stack));
        from_matrix.sort();
        if trials.len() != scripts.len() || from_run != trials || from_matrix != trials {
            let differ: Vec<String> = trials
                .iter()
                .filter(|t| !from_run.contains(t) || !from_matrix.contains(t))
                .map(|(id, s)| format!("{id}: trial {s}"))
                .collect();
            return Err(format!(
                "run --expect ({} cells), matrix ({} cells) and the trials ({}) disagree: {}",
                from_run.len(),
                from_matrix.len(),
                trials.len(),
                differ.join("; ")
            )
            .into());
        }
        Ok(())
    })
}

/// The listing nextest runs from: every trial once, ignored trials a subset of all, the same
/// listing twice (so `--partition count:K/N` shards union to exactly the full run), and the
/// trials of stacks that cannot run here listed as ignored.
fn listing_trial(blocked: Vec<String>) -> Trial {
    Trial::test("listing::complete", move || {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let list = |extra: &[&str]| -> Result<Vec<String>, Failed> {
            let out = Command::new(&exe)
                .args(["--list", "--format", "terse"])
                .args(extra)
                .output()
                .map_err(|e| e.to_string())?;
            Ok(String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.strip_suffix(": test"))
                .map(String::from)
                .collect())
        };
        let all = list(&[])?;
        let again = list(&[])?;
        let ignored = list(&["--ignored"])?;
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != all.len() || all != again {
            return Err("the listing repeats a trial or changes between listings".into());
        }
        if let Some(stray) = ignored.iter().find(|t| !all.contains(t)) {
            return Err(format!("`{stray}` is listed as ignored but not among all trials").into());
        }
        for stack in &blocked {
            let suffix = format!("::{stack}");
            let trials: Vec<&String> = all
                .iter()
                .filter(|t| t.ends_with(&suffix) && !t.starts_with("expectations::"))
                .collect();
            if trials.is_empty() {
                return Err(format!("no {stack} trial is listed").into());
            }
            if let Some(t) = trials.iter().find(|t| !ignored.contains(t)) {
                return Err(format!("`{t}` cannot run here but is not listed as ignored").into());
            }
        }
        Ok(())
    })
}

/// The scripts whose trials this process lists: all of them, except when it is asked for one
/// trial by its exact name, as nextest runs each trial in a process of its own (naming it as
/// listed, `[kind] <id>::<stack>`) — then only that trial's script is read and checked, not the
/// whole corpus.
fn corpus_for(args: &Arguments) -> Result<Vec<SuiteScript>, Failed> {
    let scripts = root().join("scripts");
    let single = args
        .filter
        .as_deref()
        .filter(|_| args.exact && !args.list)
        .map(|name| name.split_once("] ").map_or(name, |(_, rest)| rest))
        .and_then(|name| name.rsplit_once("::"))
        .map(|(id, _)| scripts.join(format!("{id}.pkt")))
        .filter(|path| path.is_file());
    match single {
        Some(path) => suite::load::paths(&[path], Some(&scripts), &Default::default())
            .map_err(|e| Failed::from(e.to_string())),
        None => corpus(),
    }
}

fn main() {
    let mut args = Arguments::from_args();
    let scripts = match corpus_for(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "conformance: {}",
                e.message().unwrap_or("cannot load scripts/")
            );
            std::process::exit(2);
        }
    };
    let dir = expectations_dir();
    let scripts: Arc<Vec<Arc<SuiteScript>>> = Arc::new(scripts.into_iter().map(Arc::new).collect());
    let retried = Arc::new(AtomicUsize::new(0));
    let mut blocked = Vec::new();
    let mut trials = Vec::new();
    // Real-time trials sleep through their scripted time: they start first, longest first, and
    // as many at once as `tcpconf run` would run them, so the Linux column takes about as long as
    // its longest script (as in `suite::run_stack`); virtual-time trials fill the gaps.
    let mut real_time = Vec::new();
    // `exec:CMD` is a family of stacks, not one: its trials run through tests/exec_protocol.rs.
    for entry in tcpconf::stack::STACKS
        .iter()
        .filter(|e| !e.name.starts_with("exec:"))
    {
        let stack = entry.name;
        trials.push(expectations_trial(stack, &dir));
        let target = match Target::prepare(stack, StackOptions::default()) {
            Ok(t) => Arc::new(t),
            Err(e) => {
                if !args.list {
                    eprintln!(
                        "conformance: {} {stack} trials are listed as ignored: {e}",
                        scripts.len()
                    );
                }
                blocked.push(stack.to_string());
                for script in scripts.iter() {
                    let name = format!("{}::{stack}", script.id);
                    trials.push(cannot_run(name, stack, e.to_string()));
                }
                continue;
            }
        };
        // A broken file fails its `expectations::` trial; the script trials then expect passes.
        let plan = Arc::new(Plan {
            run_options: Default::default(),
            jobs: 1,
            retries: retries(),
            expectations: Some(Arc::new(
                Expectations::load(&dir, stack).unwrap_or_default(),
            )),
        });
        if target.real_time() {
            let order = suite::schedule::longest_first(
                &scripts.iter().map(|s| s.estimate).collect::<Vec<_>>(),
            );
            real_time.extend(
                order
                    .into_iter()
                    .filter_map(|i| scripts.get(i))
                    .map(|script| script_trial(&target, script, &plan, &retried)),
            );
        } else {
            for script in scripts.iter() {
                trials.push(script_trial(&target, script, &plan, &retried));
            }
        }
        if stack == "smoltcp" {
            trials.push(agreement_trial(Arc::clone(&target), Arc::clone(&plan)));
        }
    }
    trials.push(listing_trial(blocked));
    if !real_time.is_empty() && args.test_threads.is_none() {
        args.test_threads = Some(suite::default_jobs(tcpconf::stack::TimeModel::Real));
    }
    real_time.append(&mut trials);
    let conclusion = libtest_mimic::run(&args, real_time);
    let retried = retried.load(Ordering::Relaxed);
    if retried > 0 {
        eprintln!("conformance: {retried} trial(s) needed a retry (TCPCONF_RETRIES)");
    }
    conclusion.exit();
}
