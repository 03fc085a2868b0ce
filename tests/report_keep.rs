//! `tcpconf matrix` never loses data: a stack that cannot run here (not built in, a program that
//! does not start) leaves its committed column untouched, says why, and exits 1, while the other
//! stacks' columns are regenerated.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the committed report (results.json and expectations) in a fresh directory.
fn copy_report(name: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("tcpconf-keep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let expectations = out.join("expectations");
    std::fs::create_dir_all(&expectations).expect("mkdir");
    let committed = root().join("conformance-report");
    std::fs::copy(committed.join("results.json"), out.join("results.json")).expect("copy");
    for entry in std::fs::read_dir(committed.join("expectations")).expect("expectations") {
        let path = entry.expect("entry").path();
        if let Some(file) = path.file_name() {
            std::fs::copy(&path, expectations.join(file)).expect("copy");
        }
    }
    out
}

fn column(results: &Path, stack: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(results.join("results.json")).expect("results.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["stacks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["stack"] == stack)
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_stack_that_cannot_run_keeps_its_committed_column() {
    let out = copy_report("unavailable");
    // Without the lwip feature the lwip adapter is not built in; a program that does not exist
    // cannot start in any build.
    let mut stacks = vec!["smoltcp", "exec:/nonexistent/tcpconf-stack"];
    if !cfg!(feature = "lwip") {
        stacks.push("lwip");
    }
    let lwip_before = column(&out, "lwip");
    let run = Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .current_dir(root())
        .arg("matrix")
        .arg(format!("--stacks={}", stacks.join(",")))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("tcpconf runs");
    let text = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{text}");
    assert!(
        text.contains("exec:/nonexistent/tcpconf-stack: not run:")
            && text.contains("the committed column is kept"),
        "{text}"
    );
    // smoltcp, which can run, did run: its summary line counts what passed.
    assert!(
        text.lines()
            .any(|l| l.starts_with("smoltcp: ") && l.contains(" passed, ")),
        "{text}"
    );
    assert!(
        column(&out, "exec:/nonexistent/tcpconf-stack").is_null(),
        "no column of errors was written"
    );
    if !cfg!(feature = "lwip") {
        assert!(text.contains("lwip: not run:"), "{text}");
        assert_eq!(column(&out, "lwip"), lwip_before, "lwip column untouched");
        assert!(
            !lwip_before.is_null(),
            "the committed report has an lwip column"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
