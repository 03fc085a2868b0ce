//! CI staleness check: regenerates the virtual-time columns of `conformance-report/` (reference,
//! smoltcp and, in a build with the `lwip` feature, lwip — all deterministic) in memory — the other
//! stacks' columns are taken from the committed `results.json`, as `tcpconf matrix` does — and
//! fails if any committed file differs.

use std::path::PathBuf;

use tcpconf::report::matrix::{self, Generate};

/// The columns this build regenerates: the virtual-time stacks it has adapters for.
fn virtual_time_stacks() -> Vec<String> {
    let mut stacks = vec!["reference".to_string(), "smoltcp".to_string()];
    if cfg!(feature = "lwip") {
        stacks.push("lwip".into());
    }
    stacks
}

fn generate(stacks: Vec<String>, jobs: usize) -> Generate {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("conformance-report");
    Generate {
        scripts: root.join("scripts"),
        expectations: out.join("expectations"),
        out,
        stacks,
        jobs,
        retries: 0,
    }
}

#[test]
fn committed_report_is_fresh_for_virtual_time_stacks() {
    let stacks = virtual_time_stacks();
    let g = generate(stacks.clone(), 2);
    let (report, _) = match matrix::generate(&g) {
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
    let stale = matrix::stale_files(&g.out, &report);
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
    let a = matrix::generate(&generate(stacks.clone(), 2)).map(|(r, _)| matrix::render(&r));
    let b = matrix::generate(&generate(stacks.clone(), 1)).map(|(r, _)| matrix::render(&r));
    match (a, b) {
        (Ok(a), Ok(b)) => assert!(
            a == b,
            "two runs of the {} column(s) rendered differently",
            stacks.join(", ")
        ),
        (Err(e), _) | (_, Err(e)) => panic!("cannot regenerate the report: {e}"),
    }
}
