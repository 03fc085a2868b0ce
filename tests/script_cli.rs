//! `tcpconf check`: exit codes and output, run as the binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tcpconf-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn tcpconf(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = 0\n";
const BAD: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < Q 0:0(0) win 1\n";

#[test]
fn good_scripts_exit_0() {
    let dir = TempDir::new("good");
    fs::write(dir.0.join("a.pkt"), GOOD).expect("write");
    fs::write(dir.0.join("sub/b.pkt"), GOOD).expect("write");
    fs::write(dir.0.join("sub/notes.txt"), "not a script").expect("write");
    let (code, err) = tcpconf(&["check", dir.0.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("checked 2 script(s): 2 ok"), "{err}");
}

#[test]
fn script_errors_exit_1_with_location_and_caret() {
    let dir = TempDir::new("bad");
    let bad = dir.0.join("sub/bad.pkt");
    fs::write(dir.0.join("a.pkt"), GOOD).expect("write");
    fs::write(&bad, BAD).expect("write");
    let (code, err) = tcpconf(&["check", dir.0.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{err}");
    let location = format!("{}:2:6: error: expected TCP flags", bad.display());
    assert!(err.contains(&location), "{err}");
    assert!(
        err.contains("2 | +0 < Q 0:0(0) win 1\n  |      ^\n"),
        "{err}"
    );
    assert!(
        !err.contains('\x1b'),
        "no colour when not a terminal: {err}"
    );
}

#[test]
fn missing_paths_exit_2() {
    let (code, err) = tcpconf(&["check", "/nonexistent/tcpconf/path"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot read /nonexistent/tcpconf/path"),
        "{err}"
    );
    let (code, _) = tcpconf(&["check"]);
    assert_eq!(code, 2);
}

#[test]
fn defines_silence_unknown_names() {
    let dir = TempDir::new("defines");
    let script = dir.0.join("d.pkt");
    fs::write(&script, "0 setsockopt(3, SOL_SOCKET, MY_OPT, [1], 4) = 0\n").expect("write");
    let path = script.to_str().expect("utf-8");
    let (code, err) = tcpconf(&["check", path]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: `MY_OPT`"), "{err}");
    let (code, err) = tcpconf(&["check", "-D", "MY_OPT=5", path]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning:"), "{err}");
}
