//! CI staleness check: regenerates the virtual-time columns of `conformance-report/` (reference and
//! smoltcp, which are deterministic) in memory — the other stacks' columns are taken from the
//! committed `results.json`, as `tcpconf matrix` does — and fails if any committed file differs.

use std::path::PathBuf;

use tcpconf::report::matrix::{self, Generate};

#[test]
fn committed_report_is_fresh_for_virtual_time_stacks() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("conformance-report");
    let g = Generate {
        scripts: root.join("scripts"),
        out: out.clone(),
        expectations: out.join("expectations"),
        stacks: vec!["reference".into(), "smoltcp".into()],
        jobs: 2,
        retries: 0,
    };
    let (report, _) = match matrix::generate(&g) {
        Ok(r) => r,
        Err(e) => panic!("cannot regenerate the report: {e}"),
    };
    assert!(
        report
            .column("reference")
            .is_some_and(|c| c.cells.len() == report.scripts.len()),
        "the regenerated reference column does not cover every script"
    );
    let stale = matrix::stale_files(&out, &report);
    assert!(
        stale.is_empty(),
        "conformance-report/ is stale for the reference or smoltcp column ({} differ from a fresh \
         run). Regenerate it from the repository root with:\n\n    cargo run --release -- matrix --stacks reference,smoltcp\n\n\
         and commit the result (other stacks' columns in results.json are kept).",
        stale.join(", ")
    );
}

#[test]
fn regenerating_twice_gives_identical_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("conformance-report");
    let g = Generate {
        scripts: root.join("scripts"),
        out: out.clone(),
        expectations: out.join("expectations"),
        stacks: vec!["reference".into()],
        jobs: 2,
        retries: 0,
    };
    let a = matrix::generate(&g).map(|(r, _)| matrix::render(&r));
    let b = matrix::generate(&Generate { jobs: 1, ..g }).map(|(r, _)| matrix::render(&r));
    match (a, b) {
        (Ok(a), Ok(b)) => assert!(
            a == b,
            "two runs of the reference column rendered differently"
        ),
        (Err(e), _) | (_, Err(e)) => panic!("cannot regenerate the report: {e}"),
    }
}
