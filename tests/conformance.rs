//! The conformance suite: one trial per script × stack, named `<script id>::<stack>`
//! (`rst/established-in-window::linux`), so `cargo test --test conformance -- rst/` or
//! `cargo nextest run --test conformance linux` picks what to run.
//!
//! A trial passes when the stack's verdict equals what `conformance-report/expectations/<stack>.toml`
//! expects (pass unless listed). A new failure and a listed deviation that disappears both fail it;
//! an `error` verdict always fails it. Trials that cannot run here are reported as ignored with the
//! reason (no CAP_NET_ADMIN for `linux`, adapter not built, a script for a profile the stack lacks),
//! never as passed.
//!
//! `expectations::<stack>` trials check that each expectations file parses and names only scripts
//! of the corpus, and that the reference stack has no expectations at all: it must pass every script
//! of its profile.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use tcpconf::engine::RunOptions;
use tcpconf::report::matrix::{CorpusScript, Expectations, corpus, model};

/// The stacks the suite knows, in column order. `lwip` runs only in a build with the `lwip` feature
/// (`cargo test --features lwip --test conformance`); otherwise its trials are ignored.
const STACKS: [&str; 4] = ["reference", "linux", "smoltcp", "lwip"];

/// Runs of one trial when the engine reports its own lateness (real-time stacks on a busy machine).
const HARNESS_LATE_ATTEMPTS: u32 = 3;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn expectations_dir() -> PathBuf {
    root().join("conformance-report").join("expectations")
}

/// Why `stack` cannot run here, or `None` when it can.
fn unavailable(stack: &str) -> Option<String> {
    let registered = tcpconf::stack::STACKS.iter().any(|(n, _)| *n == stack);
    if !registered {
        return Some(format!(
            "the {stack} adapter is not registered in this build (stack::STACKS)"
        ));
    }
    // The registry names lwip in every build (to explain a missing feature); only a build with the
    // feature can run it.
    if stack == "lwip" && !cfg!(feature = "lwip") {
        return Some(
            "built without the lwip feature: run `cargo test --features lwip --test conformance` \
             (needs Debian's liblwip-dev)"
                .into(),
        );
    }
    if stack == "linux" && !tcpconf::stack::linux::has_privileges() {
        return Some(
            "no CAP_NET_ADMIN/CAP_SYS_ADMIN: the linux stack runs in a private network namespace; run the suite \
             as root"
                .into(),
        );
    }
    None
}

fn script_trial(
    stack: &'static str,
    script: Arc<CorpusScript>,
    expectations: Arc<Expectations>,
) -> Trial {
    let name = format!("{}::{stack}", script.id);
    let blocked = unavailable(stack);
    Trial::ignorable_test(name, move || {
        if let Some(reason) = blocked {
            return Ok(Completion::ignored_with(reason));
        }
        if let Err(reason) = corpus::stack_options(stack, &script.meta) {
            return Ok(Completion::ignored_with(reason));
        }
        let mut result = corpus::run_script(stack, &script, &RunOptions::default());
        // A real-time run in which the engine itself fell behind schedule says nothing about the
        // stack (the machine was busy): run it again, a bounded number of times. Nothing else is
        // retried, so a flaky stack behaviour still fails the trial.
        let mut attempts = 1;
        while result.verdict.is_harness_late() && attempts < HARNESS_LATE_ATTEMPTS {
            result = corpus::run_script(stack, &script, &RunOptions::default());
            attempts += 1;
        }
        let expected = expectations.expected(&script.id);
        match model::mismatch(&result.verdict, expected) {
            None => Ok(Completion::Completed),
            Some(message) => {
                let mut text = format!("{}: {message}", script.path.display());
                if attempts > 1 {
                    text.push_str(&format!("\n  after {attempts} attempts"));
                }
                if let Some(d) = expectations.get(&script.id) {
                    text.push_str(&format!("\n  listed deviation: {} ({})", d.reason, d.rfc));
                }
                if let tcpconf::engine::Verdict::Fail(f) = &result.verdict {
                    if let Some(e) = &f.expected {
                        text.push_str(&format!("\n  script: {e}"));
                    }
                    if let Some(a) = &f.actual {
                        text.push_str(&format!("\n  stack:  {a}"));
                    }
                }
                Err(Failed::from(text))
            }
        }
    })
    .with_kind(stack)
}

fn expectations_trial(stack: &'static str, ids: Arc<Vec<String>>, dir: &Path) -> Trial {
    let dir = dir.to_path_buf();
    Trial::test(format!("expectations::{stack}"), move || {
        let e = Expectations::load(&dir, stack).map_err(|e| Failed::from(e.to_string()))?;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
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

fn main() {
    let args = Arguments::from_args();
    let scripts = match corpus::load(&root().join("scripts")) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conformance: cannot load scripts/: {e}");
            std::process::exit(2);
        }
    };
    let dir = expectations_dir();
    let ids: Arc<Vec<String>> = Arc::new(scripts.iter().map(|s| s.id.clone()).collect());
    let scripts: Vec<Arc<CorpusScript>> = scripts.into_iter().map(Arc::new).collect();
    let mut trials = Vec::new();
    for stack in STACKS {
        trials.push(expectations_trial(stack, Arc::clone(&ids), &dir));
        if let Some(reason) = unavailable(stack) {
            eprintln!(
                "conformance: {} {stack} trials are reported as ignored: {reason}",
                scripts.len()
            );
        }
        // A broken file fails its `expectations::` trial; the script trials then expect passes.
        let expectations = Arc::new(Expectations::load(&dir, stack).unwrap_or_default());
        for script in &scripts {
            trials.push(script_trial(
                stack,
                Arc::clone(script),
                Arc::clone(&expectations),
            ));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
