//! `tcpconf run` end to end against the reference stack: verdicts, exit codes, output formats,
//! pcap, and parallel runs giving the same verdicts as serial ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HANDSHAKE: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+.1 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 win * <mss 1460>
+.01 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
";

/// A fresh directory with these scripts in it.
fn corpus(name: &str, scripts: &[(String, String)]) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tcpconf-engine-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (file, text) in scripts {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write script");
    }
    dir
}

fn tcpconf(args: &[&str], paths: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .arg("run")
        .args(args)
        .args(paths)
        .output()
        .expect("tcpconf runs")
}

fn scripts() -> Vec<(String, String)> {
    [
        (
            "a/pass.pkt",
            format!(
                "{HANDSHAKE}+0 close(4) = 0
+0 > F. 1:1(0) ack 1 win *
+.01 < F. 1:1(0) ack 2 win 65535
+0 > . 2:2(0) ack 2 win *
+0 assert state == TIME_WAIT
+0 measure time_wait until state != TIME_WAIT within 600
"
            ),
        ),
        (
            "b/fail.pkt",
            format!("{HANDSHAKE}+0 close(4) = 0\n+0 > R. 1:1(0) ack 1 win *\n"),
        ),
        (
            "b/skip.pkt",
            format!("`sysctl -q net.ipv4.tcp_sack=0`\n{HANDSHAKE}"),
        ),
        (
            "c/error.pkt",
            "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bogus line here\n".into(),
        ),
    ]
    .into_iter()
    .map(|(name, text)| (name.to_string(), text))
    .collect()
}

#[test]
fn verdicts_exit_code_and_human_output() {
    let dir = corpus("human", &scripts());
    let out = tcpconf(&[], &[&dir]);
    assert_eq!(out.status.code(), Some(1), "not every script passed");
    let text = String::from_utf8_lossy(&out.stdout);
    let order: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
    assert!(
        order[0].starts_with("PASS  ") && order[0].contains("a/pass.pkt"),
        "{text}"
    );
    assert!(
        order[1].starts_with("FAIL  ") && order[1].contains("b/fail.pkt"),
        "{text}"
    );
    assert!(
        order[2].starts_with("SKIP  ") && order[2].contains("b/skip.pkt"),
        "{text}"
    );
    assert!(
        order[3].starts_with("ERROR ") && order[3].contains("c/error.pkt"),
        "{text}"
    );
    assert!(
        text.contains("fail.pkt:10:1: outbound packet does not match the script"),
        "{text}"
    );
    assert!(
        text.contains("    script: +0 > R. 1:1(0) ack 1 win *"),
        "{text}"
    );
    assert!(
        text.contains("differs: tcp_flags: expected R. vs actual F."),
        "{text}"
    );
    assert!(text.contains("measured time_wait = 240."), "{text}");
    assert!(
        text.contains("1 passed, 1 failed, 1 skipped, 1 errors"),
        "{text}"
    );

    let pass_only = dir.join("a/pass.pkt");
    let out = tcpconf(&[], &[&pass_only]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn machine_formats() {
    let dir = corpus("formats", &scripts());
    let out = tcpconf(&["--format", "json"], &[&dir]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["summary"]["passed"], 1);
    assert_eq!(v["results"][1]["verdict"]["verdict"], "fail");
    assert_eq!(v["results"][1]["verdict"]["location"]["line"], 10);
    assert_eq!(v["results"][0]["measurements"][0]["name"], "time_wait");
    assert!(
        v["results"][0]["trace"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(v["results"][0]["stack"]["name"], "reference");

    let out = tcpconf(&["--format", "junit"], &[&dir]);
    let xml = String::from_utf8_lossy(&out.stdout);
    assert!(
        xml.contains("<testsuite name=\"tcpconf\" tests=\"4\""),
        "{xml}"
    );

    let out = tcpconf(&["--format", "tap"], &[&dir]);
    let tap = String::from_utf8_lossy(&out.stdout);
    assert!(tap.starts_with("TAP version 13\n1..4\nok 1 "), "{tap}");
    assert!(tap.contains("# SKIP "), "{tap}");
}

#[test]
fn parallel_runs_give_the_serial_verdicts_in_the_same_order() {
    let mut many = scripts();
    for i in 0..6 {
        many.push((
            format!("d/p{i}.pkt"),
            format!("{HANDSHAKE}+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1 win *\n"),
        ));
    }
    let dir = corpus("parallel", &many);
    let serial = tcpconf(&["--format", "tap", "-j", "1"], &[&dir]);
    let parallel = tcpconf(&["--format", "tap", "-j", "3"], &[&dir]);
    assert_eq!(serial.stdout, parallel.stdout);
    assert_eq!(serial.status.code(), parallel.status.code());
}

#[test]
fn pcap_holds_every_packet() {
    let dir = corpus("pcap", &scripts()[..1]);
    let pcap = dir.join("out.pcap");
    let out = tcpconf(
        &["--pcap", pcap.to_str().expect("utf8")],
        &[&dir.join("a/pass.pkt")],
    );
    assert_eq!(out.status.code(), Some(0));
    let bytes = std::fs::read(&pcap).expect("pcap written");
    // Classic pcap, microsecond magic, LINKTYPE_RAW (101).
    assert_eq!(&bytes[..4], &0xa1b2c3d4u32.to_le_bytes());
    assert_eq!(&bytes[20..24], &101u32.to_le_bytes());
    // SYN, SYN-ACK, ACK, FIN, FIN, ACK: counted from the record headers.
    let mut at = 24;
    let mut packets = 0;
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes")) as usize;
        at += 16 + len;
        packets += 1;
    }
    assert_eq!(packets, 6);
}

#[test]
fn packetdrill_flags_override_script_options() {
    let late = format!(
        "--tolerance_usecs=1000\n{HANDSHAKE}+0 close(4) = 0\n+.1 > F. 1:1(0) ack 1 win *\n"
    );
    let dir = corpus("flags", &[("late.pkt".to_string(), late)]);
    let script = dir.join("late.pkt");
    assert_eq!(
        tcpconf(&[], &[&script]).status.code(),
        Some(1),
        "the FIN leaves at once, 100 ms early"
    );
    let out = tcpconf(&["--tolerance_usecs=200000"], &[&script]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unknown_stack_is_a_usage_error() {
    let dir = corpus("unknown", &scripts()[..1]);
    let out = tcpconf(&["--stack", "nonesuch"], &[&dir]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown stack `nonesuch`; known stacks: reference"),
        "{err}"
    );
}

#[test]
fn no_scripts_is_an_error_not_a_clean_run() {
    let dir = corpus("empty", &[]);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let out = tcpconf(&[], &[&dir]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no scripts found in"), "{err}");
}

#[test]
fn zero_jobs_and_an_unwritable_pcap_are_refused_before_running() {
    let dir = corpus("refused", &scripts()[..1]);
    let out = tcpconf(&["-j", "0"], &[&dir]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
    let out = tcpconf(&["--pcap", "/nonexistent/dir/x.pcap"], &[&dir]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing ran");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dir/x.pcap"));
}

#[test]
fn help_lists_every_registered_stack() {
    let out = Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .args(["run", "--help"])
        .output()
        .expect("tcpconf runs");
    let help = String::from_utf8_lossy(&out.stdout);
    for entry in tcpconf::stack::STACKS {
        assert!(help.contains(entry.name), "{} missing:\n{help}", entry.name);
    }
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let many: Vec<(String, String)> = (0..40)
        .map(|i| (format!("p{i:02}.pkt"), HANDSHAKE.to_string()))
        .collect();
    let dir = corpus("pipe", &many);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .args(["run", "-j", "1"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tcpconf runs");
    // Read one line, then close the pipe as `head -1` would.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    let _ = std::io::Read::read(&mut stdout, &mut first);
    drop(stdout);
    let out = child.wait_with_output().expect("tcpconf ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("Broken pipe") && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(141), "{err}");
}

#[test]
fn script_mistakes_are_script_errors_with_line_column_and_caret() {
    let back = format!("{HANDSHAKE}0.05 close(4) = 0\n");
    let lisen = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 lisen(3, 1) = 0\n".to_string();
    let dir = corpus(
        "mistakes",
        &[
            ("back.pkt".to_string(), back),
            ("lisen.pkt".to_string(), lisen),
        ],
    );
    let out = tcpconf(&[], &[&dir]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("back.pkt:9:1: script error: time goes backwards"),
        "{text}"
    );
    assert!(
        text.contains("lisen.pkt:2:4: script error: unknown syscall `lisen`"),
        "{text}"
    );
    assert!(
        text.contains("    2 | +0 lisen(3, 1) = 0\n      |    ^\n"),
        "{text}"
    );
    assert!(
        !text.contains("fell behind") && !text.contains("SKIP"),
        "{text}"
    );
    assert!(
        text.contains("0 passed, 0 failed, 0 skipped, 2 errors"),
        "{text}"
    );
    // The same diagnostics `tcpconf check` prints, on stderr.
    let check = Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .arg("check")
        .arg(&dir)
        .output()
        .expect("tcpconf check runs");
    let check = String::from_utf8_lossy(&check.stderr);
    let diagnostics: String = check
        .lines()
        .filter(|l| !l.starts_with("checked "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(err.contains(&diagnostics), "run:\n{err}\ncheck:\n{check}");
}

#[test]
fn a_pcap_of_several_scripts_gives_each_its_own_ports() {
    let dir = corpus("pcap-ports", &scripts()[..2]);
    let pcap = dir.join("out.pcap");
    let _ = tcpconf(&["--pcap", pcap.to_str().expect("utf8")], &[&dir]);
    let bytes = std::fs::read(&pcap).expect("pcap written");
    // The tcpconf-side port of each packet: the source port of packets to the stack (192.168.0.1).
    let mut ports = std::collections::BTreeSet::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes")) as usize;
        let p = &bytes[at + 16..at + 16 + len];
        let to_stack = p[16..20] == [192, 168, 0, 1];
        let port_at = 20 + if to_stack { 0 } else { 2 };
        ports.insert(u16::from_be_bytes([p[port_at], p[port_at + 1]]));
        let decoded = tcpconf::wire::decode_full(p).expect("decodes");
        assert!(decoded.checksums.all_valid(), "checksums stay valid");
        at += 16 + len;
    }
    assert_eq!(
        ports.len(),
        2,
        "one tcpconf-side port per script: {ports:?}"
    );
}
