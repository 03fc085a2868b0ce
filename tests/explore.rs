//! `tcpconf explore` end to end: every class it writes reproduces its divergence when its script is
//! run with `tcpconf run` on each stack (passes on the script's side, fails on the others), one
//! seed gives byte-identical outputs, and stacks it cannot use are refused with the reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The virtual-time stacks of this build.
fn stacks() -> &'static str {
    if cfg!(feature = "lwip") {
        "reference,smoltcp,lwip"
    } else {
        "reference,smoltcp"
    }
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpconf-explore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn tcpconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .args(args)
        .output()
        .expect("tcpconf runs")
}

fn explore(out: &Path, seed: &str, cases: &str) -> serde_json::Value {
    let o = tcpconf(&[
        "explore",
        "--stacks",
        stacks(),
        "--seed",
        seed,
        "--cases",
        cases,
        "--quiet",
        "--out",
        out.to_str().expect("utf-8 path"),
        "--expectations",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/conformance-report/expectations"
        ),
        "--corpus",
        concat!(env!("CARGO_MANIFEST_DIR"), "/scripts"),
    ]);
    assert!(
        o.status.success(),
        "explore failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

fn list<'a>(v: &'a serde_json::Value, key: &str) -> &'a Vec<serde_json::Value> {
    v.get(key)
        .and_then(|x| x.as_array())
        .unwrap_or_else(|| panic!("`{key}` is a list in {v}"))
}

fn text<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(|x| x.as_str())
        .unwrap_or_else(|| panic!("`{key}` is a string in {v}"))
}

#[test]
fn each_class_script_reproduces_its_divergence_with_tcpconf_run() {
    let out = out_dir("reproduce");
    let summary = explore(&out, "3", "300");
    let classes = list(&summary, "classes");
    assert!(classes.len() >= 10, "300 cases find classes: {summary}");
    let mut reproduced = 0;
    for class in classes {
        let verified = class.get("verified").and_then(|v| v.as_bool()) == Some(true);
        let script = out.join("classes").join(text(class, "script"));
        assert!(script.is_file(), "{} is written", script.display());
        if !verified {
            continue;
        }
        for check in list(class, "checks") {
            let stack = text(check, "stack");
            let should_pass = check.get("should_pass").and_then(|v| v.as_bool());
            let o = tcpconf(&[
                "run",
                "--stack",
                stack,
                script.to_str().expect("utf-8 path"),
            ]);
            let code = o.status.code();
            let report = String::from_utf8_lossy(&o.stdout);
            match should_pass {
                Some(true) => assert_eq!(
                    code,
                    Some(0),
                    "{stack} passes {}:\n{report}",
                    script.display()
                ),
                _ => {
                    assert_eq!(
                        code,
                        Some(1),
                        "{stack} fails {}:\n{report}",
                        script.display()
                    );
                    assert!(report.contains("FAIL"), "{report}");
                }
            }
        }
        reproduced += 1;
    }
    // The scripts of a few classes pass on the stack they were written from but not on another
    // stack of the same side (timer-driven packets differ); nearly all verify.
    assert!(
        reproduced * 10 >= classes.len() * 9,
        "{reproduced} of {} classes verified",
        classes.len()
    );
    let md = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(
        md.contains("## Themes") && md.contains("RFC 9293 §3.10.7"),
        "{md}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn one_seed_gives_identical_outputs() {
    let (a, b) = (out_dir("seed-a"), out_dir("seed-b"));
    let first = explore(&a, "11", "150");
    let second = explore(&b, "11", "150");
    assert_eq!(first, second);
    let names = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d.join("classes"))
            .expect("classes/")
            .map(|e| e.expect("entry").file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&a), names(&b));
    for name in names(&a) {
        let read = |d: &Path| std::fs::read(d.join("classes").join(&name)).expect("script");
        assert_eq!(read(&a), read(&b), "{name:?} differs");
    }
    let other = explore(&out_dir("seed-c"), "12", "150");
    assert_ne!(first, other, "another seed explores other cases");
    for d in [a, b, out_dir("seed-c")] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn stacks_that_cannot_take_part_are_refused_with_the_reason() {
    let out = out_dir("refused");
    let path = out.to_str().expect("utf-8 path");
    let alone = tcpconf(&[
        "explore",
        "--stacks",
        "reference",
        "--cases",
        "1",
        "--out",
        path,
    ]);
    assert_eq!(alone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&alone.stderr).contains("at least two"));
    if !cfg!(feature = "lwip") {
        let o = tcpconf(&[
            "explore",
            "--stacks",
            "reference,lwip",
            "--cases",
            "1",
            "--out",
            path,
        ]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("without the lwip feature"), "{err}");
    }
    let unknown = tcpconf(&[
        "explore",
        "--stacks",
        "reference,bsd",
        "--cases",
        "1",
        "--out",
        path,
    ]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown stack `bsd`"));
}

/// Three cases explore found that ended the whole process on lwIP 2.1.3 (two assertions, a
/// double free); the adapter now copes, and these keep it so.
#[cfg(feature = "lwip")]
#[test]
fn lwip_survives_the_cases_that_crashed_it() {
    const PASSIVE: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
";
    const ACCEPTED: &str = "+0 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 win * <{mss *, ...}>
+.01 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
";
    let dir = out_dir("lwip-crashes");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // Reading the end of the stream in LAST-ACK, then the ACK of our FIN: lwIP freed the PCB
    // without telling the netconn, and closing the socket freed it again.
    let last_ack = dir.join("last-ack-read-eof.pkt");
    std::fs::write(
        &last_ack,
        format!(
            "{PASSIVE}{ACCEPTED}+.01 < F. 1:1(0) ack 1 win 65535
+0~+0.5 > . 1:1(0) ack 2 win *
+.01 shutdown(4, SHUT_WR) = 0
+0 > F. 1:1(0) ack 2 win *
+.5 read(4, ..., 1000) = 0
+.5 < . 2:2(0) ack 2 win 65535
+.5 assert state == CLOSED
+0 close(4) = 0
"
        ),
    )
    .expect("write");
    // SO_LINGER {1, 0} on a listener, then close(): lwIP's tcp_abandon asserted.
    let listener = dir.join("abort-listener.pkt");
    std::fs::write(
        &listener,
        format!("{PASSIVE}+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {{onoff=1, linger=0}}, 8) = 0\n+0 close(3) = 0\n"),
    )
    .expect("write");
    // A zero window starts the persist timer; an ACK of everything at a far seq empties the
    // queue without stopping it, and tcp_slowtmr asserted.
    let persist = dir.join("persist-with-nothing-to-send.pkt");
    std::fs::write(
        &persist,
        format!(
            "{PASSIVE}{ACCEPTED}+.01 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1 win *
+.01 < P. 65536:65536(0) ack 0 win 0
+10.3 < P. 1000000001:1000000001(0) ack 11 win 1
+.3 assert state == ESTABLISHED
"
        ),
    )
    .expect("write");
    let o = tcpconf(&["run", "--stack", "lwip", persist.to_str().expect("path")]);
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(
        report.contains("1 passed") || report.contains("FAIL"),
        "the run ends with a verdict: {report}"
    );
    let o = tcpconf(&["run", "--stack", "lwip", last_ack.to_str().expect("path")]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = tcpconf(&["run", "--stack", "lwip", listener.to_str().expect("path")]);
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(
        report.contains("SKIP") && report.contains("tcp.c:576"),
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
