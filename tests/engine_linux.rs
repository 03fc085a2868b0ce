//! `tcpconf run --stack linux` end to end, when running as root (CI does): the engine's real-time
//! scheduling, translation and state assertions against the host kernel in a private namespace.

use std::path::PathBuf;
use std::process::{Command, Output};

/// CAP_NET_ADMIN (12) and CAP_SYS_ADMIN (21) in the effective set: what a namespace and a TUN
/// device need.
fn privileged() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let hex = s
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))?
                .trim()
                .to_string();
            u64::from_str_radix(&hex, 16).ok()
        })
        .is_some_and(|caps| caps & (1 << 12) != 0 && caps & (1 << 21) != 0)
}

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

#[test]
fn passive_open_data_and_close_into_time_wait() {
    if !privileged() {
        eprintln!("skipped: needs root for a network namespace and a TUN device");
        return;
    }
    let out = run("passive.pkt", PASSIVE);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(verdict_line(&out).starts_with("PASS"), "{text}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_wrong_expectation_fails_at_its_line() {
    if !privileged() {
        eprintln!("skipped: needs root for a network namespace and a TUN device");
        return;
    }
    // Linux acknowledges the FIN: a RST here is wrong.
    let wrong = PASSIVE.replace(
        "+0 > . 102:102(0) ack 2 win * <...>",
        "+0 > R. 102:102(0) ack 2 win * <...>",
    );
    let out = run("wrong.pkt", &wrong);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(verdict_line(&out).starts_with("FAIL"), "{text}");
    assert!(
        text.contains("wrong.pkt:16: outbound packet does not match the script"),
        "{text}"
    );
    assert!(
        text.contains("differs: tcp_flags: expected R. vs actual ."),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn active_open_with_a_blocking_connect() {
    if !privileged() {
        eprintln!("skipped: needs root for a network namespace and a TUN device");
        return;
    }
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
