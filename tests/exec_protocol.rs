//! The `exec:` protocol end to end: tcpconf's `ExecStack` driving the example adapter
//! (`examples/exec_smoltcp.rs`, built as the binary `tcpconf-exec-smoltcp`) must behave exactly
//! like the in-process smoltcp adapter it wraps; misbehaving programs must give clear errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

mod smoltcp_support;

use std::net::SocketAddrV4;
use std::time::Duration;

use smoltcp_support::*;
use tcpconf::clock::RealClock;
use tcpconf::stack::exec::ExecStack;
use tcpconf::stack::smoltcp::SmoltcpStack;
use tcpconf::stack::{
    Domain, Errno, ShutdownHow, Stack, StackError, StackEvent, Syscall, SyscallOutcome,
    SyscallOutput, SyscallProgress, TcpState, TimeModel,
};

const ADAPTER: &str = env!("CARGO_BIN_EXE_tcpconf-exec-smoltcp");

fn exec() -> ExecStack {
    let mut stack = ExecStack::spawn(ADAPTER).expect("spawn the example adapter");
    stack.setup(&net(), RealClock::start()).expect("setup");
    stack
}

fn in_process() -> SmoltcpStack {
    let mut stack = SmoltcpStack::new();
    stack.setup(&net(), RealClock::start()).expect("setup");
    stack
}

fn done(stack: &mut dyn Stack, now: Duration, call: Syscall) -> SyscallOutcome {
    match stack.syscall(now, &call).expect("syscall") {
        SyscallProgress::Done(outcome) => outcome,
        SyscallProgress::Blocked => panic!("{call:?} blocked"),
    }
}

/// A passive open, data both ways and an active close, recording everything the stack did.
fn scenario(stack: &mut dyn Stack) -> Vec<String> {
    let me = SocketAddrV4::new(STACK_IP, 8080);
    let peer = SocketAddrV4::new(PEER_IP, 40000);
    let mut log = Vec::new();
    let mut record = |what: String| log.push(what);
    let lfd = done(
        stack,
        ms(0),
        Syscall::Socket {
            domain: Domain::Inet,
            nonblocking: false,
        },
    )
    .ret as i32;
    record(format!(
        "{:?}",
        done(
            stack,
            ms(0),
            Syscall::Bind {
                fd: lfd,
                addr: me.into()
            }
        )
    ));
    record(format!(
        "{:?}",
        done(
            stack,
            ms(0),
            Syscall::Listen {
                fd: lfd,
                backlog: 1
            }
        )
    ));
    assert_eq!(
        stack
            .syscall(ms(0), &Syscall::Accept { fd: lfd })
            .expect("accept"),
        SyscallProgress::Blocked
    );
    stack
        .inject(ms(100), &Seg::new(peer, me, SYN, 1000, 0).mss(1460).build())
        .expect("inject");
    let (_, synack) = expect_one(stack, ms(200));
    let snd = synack.seq + 1;
    record(format!("{synack:?}"));
    stack
        .inject(ms(200), &Seg::new(peer, me, ACK, 1001, snd).build())
        .expect("inject");
    let events = all_events(stack, ms(300));
    let accepted = returned(&events).expect("accept returned");
    assert_eq!(accepted.output, SyscallOutput::Peer(peer.into()));
    let fd = accepted.ret as i32;
    record(format!("{events:?}"));
    stack
        .inject(
            ms(300),
            &Seg::new(peer, me, PSH | ACK, 1001, snd)
                .data(b"ping")
                .build(),
        )
        .expect("inject");
    let read = done(
        stack,
        ms(300),
        Syscall::Read {
            fd,
            len: 100,
            peek: false,
        },
    );
    assert_eq!(read.output, SyscallOutput::Data(b"ping".to_vec()));
    record(format!("{read:?}"));
    record(format!(
        "{:?}",
        done(
            stack,
            ms(300),
            Syscall::Write {
                fd,
                data: b"pong".to_vec()
            }
        )
    ));
    record(format!("{:?}", all_events(stack, ms(400))));
    assert_eq!(
        done(
            stack,
            ms(400),
            Syscall::Read {
                fd: 99,
                len: 1,
                peek: false
            }
        )
        .errno,
        Some(Errno::EBADF)
    );
    let shut_rd = stack.syscall(
        ms(400),
        &Syscall::Shutdown {
            fd,
            how: ShutdownHow::Read,
        },
    );
    assert!(
        matches!(shut_rd, Err(StackError::Unsupported(_))),
        "{shut_rd:?}"
    );
    record(format!("{:?}", done(stack, ms(500), Syscall::Close { fd })));
    stack
        .inject(ms(510), &Seg::new(peer, me, ACK, 1005, snd + 5).build())
        .expect("inject");
    stack
        .inject(
            ms(520),
            &Seg::new(peer, me, FIN | ACK, 1005, snd + 5).build(),
        )
        .expect("inject");
    record(format!("{:?}", all_events(stack, ms(600))));
    let conns = stack.connections().expect("connections");
    assert!(
        conns
            .iter()
            .any(|c| c.state == TcpState::TimeWait && c.fd.is_none()),
        "{conns:?}"
    );
    record(format!("{conns:?}"));
    record(format!("{:?}", all_events(stack, ms(20_000))));
    record(format!("{:?}", stack.connections().expect("connections")));
    log
}

#[test]
fn handshake_reports_the_wrapped_stack() {
    let stack = ExecStack::spawn(ADAPTER).expect("spawn");
    let info = stack.info();
    assert_eq!(info.name, "exec:smoltcp");
    assert_eq!(info.version, tcpconf::stack::smoltcp::SMOLTCP_VERSION);
    assert_eq!(info.capabilities.time, TimeModel::Virtual);
    assert!(
        info.profile.contains("TIME-WAIT fixed 10 s"),
        "{}",
        info.profile
    );
}

#[test]
fn exec_adapter_behaves_exactly_like_the_in_process_one() {
    let mut remote = exec();
    let over_the_pipe = scenario(&mut remote);
    remote.teardown().expect("teardown");
    let direct = scenario(&mut in_process());
    assert_eq!(over_the_pipe, direct);
    assert!(direct.len() > 10);
}

#[test]
fn blocked_calls_return_through_wait_events() {
    let mut s = exec();
    let server = SocketAddrV4::new(PEER_IP, 8080);
    let fd = done(
        &mut s,
        ms(0),
        Syscall::Socket {
            domain: Domain::Inet,
            nonblocking: false,
        },
    )
    .ret as i32;
    assert_eq!(
        s.syscall(
            ms(0),
            &Syscall::Connect {
                fd,
                addr: server.into()
            }
        )
        .expect("connect"),
        SyscallProgress::Blocked
    );
    let (at, syn) = expect_one(&mut s, ms(100));
    assert_eq!(at, ms(0));
    s.inject(
        ms(50),
        &Seg::new(server, syn.src, RST | ACK, 0, syn.seq + 1).build(),
    )
    .expect("inject");
    let events = s.wait(ms(100)).expect("wait");
    assert!(
        matches!(
            events.as_slice(),
            [StackEvent::Returned { at, outcome }] if *at == ms(50) && outcome.errno == Some(Errno::ECONNREFUSED)
        ),
        "{events:?}"
    );
    s.teardown().expect("teardown");
}

// ---- misbehaving programs ----

fn adapter_error(result: Result<ExecStack, StackError>) -> String {
    match result {
        Err(StackError::Adapter(message)) => message,
        Err(other) => panic!("expected an adapter error, got {other:?}"),
        Ok(_) => panic!("expected an adapter error, the program was accepted"),
    }
}

#[test]
fn a_hung_program_times_out() {
    let started = std::time::Instant::now();
    let message = adapter_error(ExecStack::spawn_with_timeout("sleep 30", ms(300)));
    assert!(message.contains("did not answer within"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the hung program was killed, not awaited"
    );
}

#[test]
fn a_program_printing_garbage_is_reported() {
    let message = adapter_error(ExecStack::spawn("echo this-is-not-json"));
    assert!(message.contains("malformed line"), "{message}");
    assert!(message.contains("this-is-not-json"), "{message}");
}

#[test]
fn a_program_that_exits_is_reported_with_its_status() {
    let message = adapter_error(ExecStack::spawn("false"));
    assert!(message.contains("closed its stdout"), "{message}");
    assert!(message.contains("exit status: 1"), "{message}");
}

#[test]
fn a_program_speaking_another_version_is_refused() {
    let message = adapter_error(ExecStack::spawn(r#"echo {"ok":true,"protocol":2}"#));
    assert!(message.contains("protocol Some(2)"), "{message}");
}

#[test]
fn a_missing_program_is_an_environment_error() {
    let got = ExecStack::spawn("/nonexistent/tcpconf-no-such-program");
    assert!(
        matches!(got, Err(StackError::Environment(_))),
        "{:?}",
        got.err()
    );
    assert!(matches!(
        ExecStack::spawn("   "),
        Err(StackError::Adapter(_))
    ));
}

#[test]
fn a_virtual_program_reporting_events_past_the_wait_is_refused() {
    let dir = std::env::temp_dir().join(format!("tcpconf-exec-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = dir.join("future.sh");
    let hello = r#"{"ok":true,"protocol":1,"name":"fake","version":"0","profile":"canned answers","capabilities":{"time":"virtual","ipv4":true,"ipv6":false,"ipv4_mapped_ipv6":false,"shell":false,"fdless_states":false,"accept_backlog":false,"shut_rd":false}}"#;
    let events = r#"{"ok":true,"events":[{"event":"sent","at_us":5000000,"packet_b64":"RQA="}]}"#;
    std::fs::write(
        &script,
        format!("#!/bin/sh\nread l; echo '{hello}'\nread l; echo '{{\"ok\":true}}'\nread l; echo '{events}'\nread l\n"),
    )
    .expect("write script");
    let mut perms = std::fs::metadata(&script).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).expect("chmod");

    let mut stack = ExecStack::spawn(script.to_str().expect("utf-8 path")).expect("spawn");
    assert_eq!(stack.info().name, "exec:fake");
    stack.setup(&net(), RealClock::start()).expect("setup");
    let got = stack.wait(ms(1000));
    assert!(
        matches!(&got, Err(StackError::Adapter(m)) if m.contains("after the end of the wait")),
        "{got:?}"
    );
    drop(stack);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- misbehaving programs under `tcpconf run`: bounded time and memory ----

const HELLO: &str = r#"{"ok":true,"protocol":1,"name":"fake","version":"0","profile":"canned answers","capabilities":{"time":"virtual","ipv4":true,"ipv6":false,"ipv4_mapped_ipv6":false,"shell":false,"fdless_states":false,"accept_backlog":false,"shut_rd":false}}"#;

/// A script that opens a socket and closes it a second later: the second in between is where a
/// misbehaving program's `wait` answers arrive.
const ONE_SECOND: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+1 close(3) = 0\n";

/// A directory with an executable shell program answering `hello` with [`HELLO`], every `wait`
/// with `wait_answer`, syscalls with ret 3 and anything else with ok; `before_hello` runs first.
fn program(name: &str, before_hello: &str, wait_answer: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpconf-exec-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("stack.sh");
    let text = format!(
        "#!/bin/sh\n{before_hello}\nwhile read -r l; do\n  case \"$l\" in\n    \
         *'\"op\":\"hello\"'*) echo '{HELLO}' ;;\n    \
         *'\"op\":\"wait\"'*) echo '{wait_answer}' ;;\n    \
         *'\"op\":\"syscall\"'*) echo '{{\"ok\":true,\"outcome\":{{\"ret\":3}}}}' ;;\n    \
         *'\"op\":\"connections\"'*) echo '{{\"ok\":true,\"connections\":[]}}' ;;\n    \
         *) echo '{{\"ok\":true}}' ;;\n  esac\ndone\n"
    );
    std::fs::write(&path, text).expect("write program");
    let mut perms = std::fs::metadata(&path).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).expect("chmod");
    std::fs::write(dir.join("one-second.pkt"), ONE_SECOND).expect("write script");
    dir
}

/// `tcpconf run ARGS` of the one-second script on the program in `dir`: its output, how long it
/// took and the largest resident size (KiB) of any child so far.
fn tcpconf_on(dir: &std::path::Path, args: &[&str]) -> (std::process::Output, Duration, i64) {
    let started = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tcpconf"))
        .arg("run")
        .arg(format!("--stack=exec:{}", dir.join("stack.sh").display()))
        .args(args)
        .arg(dir.join("one-second.pkt"))
        .output()
        .expect("tcpconf runs");
    let took = started.elapsed();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN);
    (out, took, usage.map_or(0, |u| u.max_rss()))
}

/// [`tcpconf_on`] with `--format json`: the verdict, its message, the time and the memory.
fn run_on(dir: &std::path::Path) -> (String, String, Duration, i64) {
    let (out, took, max_rss_kib) = tcpconf_on(dir, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    let verdict = &v["results"][0]["verdict"];
    let text = |key: &str| verdict[key].as_str().unwrap_or("").to_string();
    let message = [text("message"), text("reason")].concat();
    (text("verdict"), message, took, max_rss_kib)
}

/// One TCP segment of a connection no line is about, as hex.
fn unrelated_segment_hex() -> String {
    let seg = Seg::new(
        SocketAddrV4::new(STACK_IP, 9),
        SocketAddrV4::new(PEER_IP, 9),
        ACK,
        1,
        1,
    );
    seg.build().iter().map(|b| format!("{b:02x}")).collect()
}

/// Memory a run may take, in KiB: tcpconf's own size plus a bounded trace, far from the hundreds
/// of MB a storm or an endless stderr line took before they were bounded.
const RSS_BOUND_KIB: i64 = 120 * 1024;

#[test]
fn an_event_storm_ends_as_an_error_in_bounded_time_and_memory() {
    let event = format!(
        r#"{{"event":"sent","at_us":0,"packet":"{}"}}"#,
        unrelated_segment_hex()
    );
    let storm = format!(
        r#"{{"ok":true,"events":[{}]}}"#,
        vec![event.as_str(); 1000].join(",")
    );
    let dir = program("storm", "", &storm);
    let (verdict, message, took, rss) = run_on(&dir);
    assert_eq!(verdict, "error", "{message}");
    assert!(message.contains("event storm"), "{message}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(rss < RSS_BOUND_KIB, "max RSS {rss} KiB");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stack_that_lets_no_time_pass_ends_as_an_error() {
    let answer = format!(
        r#"{{"ok":true,"events":[{{"event":"sent","at_us":0,"packet":"{}"}}]}}"#,
        unrelated_segment_hex()
    );
    let dir = program("stall", "", &answer);
    let (verdict, message, took, _) = run_on(&dir);
    assert_eq!(verdict, "error", "{message}");
    assert!(message.contains("no progress in virtual time"), "{message}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_endless_stderr_line_is_cut_not_buffered() {
    // 300 MiB without a newline, then the program exits before answering hello: `tcpconf run`
    // cannot even ask the stack for its capabilities and says why, once.
    let flood = r"head -c 314572800 /dev/zero | tr '\0' x >&2; exit 3";
    let dir = program("stderr", flood, r#"{"ok":true,"events":[]}"#);
    let (out, took, rss) = tcpconf_on(&dir, &[]);
    let message = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{message}");
    assert!(message.contains("exit status: 3"), "{message}");
    assert!(
        message.contains("its stderr ends with:\n  xxxx"),
        "{message}"
    );
    assert!(
        message.len() < 2000,
        "the stderr line was not cut: {} bytes",
        message.len()
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(rss < RSS_BOUND_KIB, "max RSS {rss} KiB");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_undecodable_packet_is_named() {
    let answer = r#"{"ok":true,"events":[{"event":"sent","at_us":0,"packet":"4500001c"}]}"#;
    let dir = program("garbage", "", answer);
    let (verdict, message, _, _) = run_on(&dir);
    assert_eq!(verdict, "fail", "{message}");
    assert!(message.contains("malformed packet"), "{message}");
    assert!(message.contains("4500001c"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
