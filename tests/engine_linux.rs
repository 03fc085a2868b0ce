//! `tcpconf run --stack linux` end to end, when running as root (CI does): the engine's real-time
//! scheduling, translation and state assertions against the host kernel in a private namespace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

mod linux_support;

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(name: &str, script: &str) -> Output {
    let dir = std::env::temp_dir().join(format!("tcpconf-engine-linux-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, script).expect("write");
    Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .args(["run", "--stack", "linux", "--tolerance_usecs=50000"])
        .arg(&path)
        .output()
        .expect("tcpconf runs")
}

const PASSIVE: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+.05 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 win * <{mss 1460, sackOK, TS val * ecr 100, wscale *}>
+.05 < . 1:1(0) ack 1 win 1000 <nop,nop,TS val 110 ecr 1000>
+0 accept(3, ..., ...) = 4
+0 assert state(4) == ESTABLISHED
+0 write(4, ..., 100) = 100
+0 > P. 1:101(100) ack 1 win * <nop,nop,TS val * ecr 110>
+.05 < . 1:1(0) ack 101 win 1000 <nop,nop,TS val 120 ecr 1000>
+0 close(4) = 0
+0 > F. 101:101(0) ack 1 win * <...>
+.05 < F. 1:1(0) ack 102 win 1000 <nop,nop,TS val 130 ecr 1000>
+0 > . 102:102(0) ack 2 win * <...>
+0 assert state == TIME_WAIT
";

fn verdict_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

fn passive_open_data_and_close_into_time_wait() {
    let out = run("passive.pkt", PASSIVE);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(verdict_line(&out).starts_with("PASS"), "{text}");
    assert_eq!(out.status.code(), Some(0));
}

fn a_wrong_expectation_fails_at_its_line() {
    // Linux acknowledges the FIN: a RST here is wrong.
    let wrong = PASSIVE.replace(
        "+0 > . 102:102(0) ack 2 win * <...>",
        "+0 > R. 102:102(0) ack 2 win * <...>",
    );
    let out = run("wrong.pkt", &wrong);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(verdict_line(&out).starts_with("FAIL"), "{text}");
    assert!(
        text.contains("wrong.pkt:16:1: outbound packet does not match the script"),
        "{text}"
    );
    assert!(
        text.contains("differs: tcp_flags: expected R. vs actual ."),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
}

fn active_open_with_a_blocking_connect() {
    let script = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0...0.05 connect(3, ..., ...) = 0
+0 > S 0:0(0) win * <...>
+.05 < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0 > . 1:1(0) ack 1 win *
+0 assert state(3) == ESTABLISHED
+0 close(3) = 0
+0 > F. 1:1(0) ack 1 win *
";
    let out = run("active.pkt", script);
    assert!(
        verdict_line(&out).starts_with("PASS"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn main() -> std::process::ExitCode {
    linux_support::run_tests(
        &[],
        &[
            (
                "passive_open_data_and_close_into_time_wait",
                passive_open_data_and_close_into_time_wait,
            ),
            (
                "a_wrong_expectation_fails_at_its_line",
                a_wrong_expectation_fails_at_its_line,
            ),
            (
                "active_open_with_a_blocking_connect",
                active_open_with_a_blocking_connect,
            ),
        ],
    )
}
