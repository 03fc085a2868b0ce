//! CI staleness check: regenerates the virtual-time columns of `conformance-report/` (reference,
//! smoltcp and, in a build with the `lwip` feature, lwip — all deterministic) in memory — the other
//! stacks' columns are taken from the committed `results.json`, as `tcpconf matrix` does — and
//! fails if any committed file differs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::path::PathBuf;
use std::sync::Arc;

use tcpconf::report::matrix::{self, Report};
use tcpconf::stack::StackOptions;
use tcpconf::suite::{self, Expectations, Plan, Target};

/// The columns this build regenerates: the virtual-time stacks it has adapters for.
fn virtual_time_stacks() -> Vec<String> {
    let mut stacks = vec!["reference".to_string(), "smoltcp".to_string()];
    if cfg!(feature = "lwip") {
        stacks.push("lwip".into());
    }
    stacks
}

fn out() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance-report")
}

/// What `tcpconf matrix --stacks STACKS -j JOBS` would write, built in memory.
fn generate(stacks: &[String], jobs: usize) -> Result<Report, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = out().join("expectations");
    let scripts = suite::load::corpus(&root.join("scripts"), &Default::default())
        .map_err(|e| e.to_string())?;
    let mut runs = Vec::new();
    for stack in stacks {
        let target = Target::prepare(stack, StackOptions::default()).map_err(|e| e.to_string())?;
        let plan = Plan {
            run_options: Default::default(),
            jobs,
            retries: 0,
            expectations: Some(Arc::new(
                Expectations::load(&dir, stack).map_err(|e| e.to_string())?,
            )),
        };
        runs.push(suite::run_stack(target, &scripts, &plan, |_, _| {}));
    }
    let previous = matrix::read_results(&out()).map_err(|e| e.to_string())?;
    let (report, kept) =
        matrix::assemble(&scripts, &runs, previous, &dir, false).map_err(|e| e.to_string())?;
    match kept.first() {
        Some(k) => Err(format!("{}: {}", k.stack, k.reason)),
        None => Ok(report),
    }
}

#[test]
fn committed_report_is_fresh_for_virtual_time_stacks() {
    let stacks = virtual_time_stacks();
    let report = match generate(&stacks, 2) {
        Ok(r) => r,
        Err(e) => panic!("cannot regenerate the report: {e}"),
    };
    for stack in &stacks {
        assert!(
            report
                .column(stack)
                .is_some_and(|c| c.cells.len() == report.scripts.len()),
            "the regenerated {stack} column does not cover every script"
        );
    }
    let stale = matrix::stale_files(&out(), &report);
    assert!(
        stale.is_empty(),
        "conformance-report/ is stale for the {} column(s) ({} differ from a fresh run). Regenerate \
         it from the repository root with:\n\n    cargo run --release{} -- matrix --stacks {}\n\nand \
         commit the result (other stacks' columns in results.json are kept).",
        stacks.join(", "),
        stale.join(", "),
        if cfg!(feature = "lwip") {
            " --features lwip"
        } else {
            ""
        },
        stacks.join(",")
    );
}

/// Each virtual-time column renders the same whether its scripts run on one thread or two: nothing
/// in a run depends on the runs before it or on their order (lwIP, one library per process, runs
/// its scripts one after another in whatever order the workers take them).
#[test]
fn regenerating_twice_gives_identical_files() {
    let mut stacks = vec!["reference".to_string()];
    if cfg!(feature = "lwip") {
        stacks.push("lwip".into());
    }
    let a = generate(&stacks, 2).map(|r| matrix::render(&r));
    let b = generate(&stacks, 1).map(|r| matrix::render(&r));
    match (a, b) {
        (Ok(a), Ok(b)) => assert!(
            a == b,
            "two runs of the {} column(s) rendered differently",
            stacks.join(", ")
        ),
        (Err(e), _) | (_, Err(e)) => panic!("cannot regenerate the report: {e}"),
    }
}
