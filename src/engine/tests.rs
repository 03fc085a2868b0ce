//! The engine against the scripted fake stack: matching, translation, timing, blocking calls,
//! strict end, verdict mapping and GSO merging, with no real TCP involved.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::fake::{Actions, Fake, Input, from_stack, reply};
use super::{Flag, RunOptions, RunResult, Verdict, run};
use crate::stack::{Connection, Errno, StackError, Syscall, SyscallOutcome, TcpState};
use crate::wire::{Segment, TcpFlags, TcpOption};

const ISN: u32 = 1_000_000;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn run_text(text: &str, fake: &mut Fake, opts: &RunOptions) -> RunResult {
    let script =
        crate::script::parse(text).unwrap_or_else(|d| panic!("test script does not parse: {d:?}"));
    let mut r = run(&script, fake, opts);
    r.attach_source(text);
    r
}

fn fail_message(r: &RunResult) -> String {
    match &r.verdict {
        Verdict::Fail(f) => format!(
            "L{} {}",
            f.location.as_ref().map_or(0, |l| l.line),
            f.message
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
}

const LISTEN: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
";

/// A passive-open stack: answers a SYN with a SYN-ACK (ISN 1000000) after `synack_delay`, with
/// `options`.
fn server(synack_delay: Duration, options: Vec<TcpOption>) -> Fake {
    Fake::new(move |a: &mut Actions, input| {
        if let Input::Inject(seg) = input
            && seg.flags == TcpFlags::SYN
        {
            let s = reply(
                seg,
                TcpFlags::SYN | TcpFlags::ACK,
                ISN,
                seg.seq.wrapping_add(1),
                options.clone(),
                0,
            );
            a.send(synack_delay, s);
        }
    })
}

#[test]
fn passive_open_translates_both_directions() {
    let text = format!(
        "{LISTEN}+.1 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>
+.01 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
"
    );
    let mut fake = server(Duration::ZERO, vec![TcpOption::Mss(1460)]);
    let r = run_text(&text, &mut fake, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    let (at, ack) = fake.injected.get(1).expect("the ACK was injected").clone();
    assert_eq!(at, ms(110));
    assert_eq!(ack.ack, ISN + 1, "inbound ack is relative to the live ISN");
    assert_eq!(ack.seq, 1);
    assert!(fake.torn_down);
    assert!(matches!(
        fake.calls.last(),
        Some((_, Syscall::Accept { fd: 3 }))
    ));
}

#[test]
fn literal_syn_seq_and_absolute_ack_on_syn_packets() {
    let text = format!(
        "{LISTEN}+0 < S 17:17(0) win 65535
+0 > S. 0:0(0) ack 18 win 65535
+0 < . 1:1(0) ack 1 win 65535
"
    );
    let mut fake = server(Duration::ZERO, vec![]);
    let r = run_text(&text, &mut fake, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    assert_eq!(fake.injected[0].1.seq, 17);
    assert_eq!(
        (fake.injected[1].1.seq, fake.injected[1].1.ack),
        (18, ISN + 1)
    );
}

#[test]
fn field_mismatch_names_the_field_and_line() {
    let text = format!("{LISTEN}+0 < S 0:0(0) win 65535\n+0 > S. 0:0(0) ack 1 win 257\n");
    let r = run_text(
        &text,
        &mut server(Duration::ZERO, vec![]),
        &RunOptions::default(),
    );
    let Verdict::Fail(f) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    let loc = f.location.as_ref().expect("line");
    assert_eq!(loc.line, 6);
    assert_eq!(loc.source, "+0 > S. 0:0(0) ack 1 win 257");
    assert_eq!(
        f.differences,
        vec!["tcp_window: expected 257 vs actual 65535".to_string()]
    );
    assert!(
        f.actual
            .as_deref()
            .is_some_and(|a| a.contains("S. 0:0(0) ack 1 win 65535")),
        "{f:?}"
    );
}

#[test]
fn wildcards_and_unordered_options_match() {
    let text = format!(
        "//! title: wildcards\n{LISTEN}+0 < S 0:0(0) win 65535 <mss 1000>
+0 > S. 0:0(0) ack 1 win * <{{mss 536..1460, sackOK, ...}}>
"
    );
    let opts = vec![
        TcpOption::Mss(1460),
        TcpOption::Nop,
        TcpOption::WindowScale(7),
        TcpOption::SackPermitted,
    ];
    let r = run_text(
        &text,
        &mut server(Duration::ZERO, opts.clone()),
        &RunOptions::default(),
    );
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    let strict_list = text.replace(", ...}", "}");
    let r = run_text(
        &strict_list,
        &mut server(Duration::ZERO, opts),
        &RunOptions::default(),
    );
    assert!(
        fail_message(&r).contains("unexpected option(s) wscale 7"),
        "{:?}",
        r.verdict
    );
}

#[test]
fn tolerance_edges() {
    let text = format!("{LISTEN}+0 < S 0:0(0) win 65535\n+0 > S. 0:0(0) ack 1 win 65535\n");
    let on_edge = run_text(
        &text,
        &mut server(Duration::from_micros(4000), vec![]),
        &RunOptions::default(),
    );
    assert_eq!(on_edge.verdict, Verdict::Pass);
    let late = run_text(
        &text,
        &mut server(Duration::from_micros(4001), vec![]),
        &RunOptions::default(),
    );
    assert_eq!(
        fail_message(&late),
        "L6 timing error: expected outbound packet at 0.000000 sec but happened at 0.004001 sec; tolerance 0.004000 sec"
    );
    let opts = RunOptions {
        flags: vec![Flag::new("tolerance_usecs", "10000")],
        ..RunOptions::default()
    };
    let loose = run_text(&text, &mut server(ms(9), vec![]), &opts);
    assert_eq!(loose.verdict, Verdict::Pass);
    // The script's own option line applies unless the command line overrides it.
    let scripted = format!("--tolerance_usecs=10000\n{text}");
    assert_eq!(
        run_text(
            &scripted,
            &mut server(ms(9), vec![]),
            &RunOptions::default()
        )
        .verdict,
        Verdict::Pass
    );
    let overridden = RunOptions {
        flags: vec![Flag::new("tolerance_usecs", "1000")],
        ..RunOptions::default()
    };
    assert!(
        !run_text(&scripted, &mut server(ms(9), vec![]), &overridden)
            .verdict
            .is_pass()
    );
}

#[test]
fn tolerance_grows_with_the_gap() {
    // 12.5 % of a 1 s gap is 125 ms: a packet 100 ms late still matches.
    let text = format!("{LISTEN}+0 < S 0:0(0) win 65535\n+1 > S. 0:0(0) ack 1 win 65535\n");
    let r = run_text(&text, &mut server(ms(1100), vec![]), &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.verdict);
    let r = run_text(&text, &mut server(ms(1130), vec![]), &RunOptions::default());
    assert!(
        fail_message(&r).contains("tolerance 0.125000 sec"),
        "{:?}",
        r.verdict
    );
}

#[test]
fn missing_packet_times_out() {
    let text = format!("{LISTEN}+0 < S 0:0(0) win 65535\n+0 > S. 0:0(0) ack 1 win 65535\n");
    let r = run_text(&text, &mut Fake::new(|_, _| {}), &RunOptions::default());
    assert!(
        fail_message(&r).starts_with("L6 timed out waiting for packet"),
        "{:?}",
        r.verdict
    );
}

#[test]
fn ts_ecr_maps_to_the_live_val() {
    let text = format!(
        "{LISTEN}+0 < S 0:0(0) win 65535 <TS val 5 ecr 0>
+0 > S. 0:0(0) ack 1 <TS val 100 ecr 5>
+0 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 6 ecr 100>
"
    );
    let ts = vec![TcpOption::Timestamp {
        val: 777_777,
        ecr: 5,
    }];
    let mut fake = server(Duration::ZERO, ts.clone());
    let r = run_text(&text, &mut fake, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    let echoed = fake.injected[1].1.options.iter().find_map(|o| match o {
        TcpOption::Timestamp { ecr, .. } => Some(*ecr),
        _ => None,
    });
    assert_eq!(echoed, Some(777_777));
    // An ecr the stack never sent cannot be mapped: a script error, not a stack failure.
    let bad = text.replace("ecr 100>", "ecr 99>");
    let r = run_text(
        &bad,
        &mut server(Duration::ZERO, ts),
        &RunOptions::default(),
    );
    assert!(
        matches!(&r.verdict, Verdict::Error { message, .. } if message.contains("unable to infer live TS ecr")),
        "{:?}",
        r.verdict
    );
}

/// A stack whose accept() blocks until the handshake's ACK arrives, then returns after `extra`.
fn blocking_accept(extra: Duration) -> Fake {
    Fake::new(move |a: &mut Actions, input| match input {
        Input::Inject(seg) if seg.flags == TcpFlags::SYN => {
            a.send(
                Duration::ZERO,
                reply(seg, TcpFlags::SYN | TcpFlags::ACK, ISN, 1, vec![], 0),
            );
        }
        Input::Inject(seg) if seg.flags == TcpFlags::ACK => a.release(extra, SyscallOutcome::ok(4)),
        Input::Call(Syscall::Accept { .. }) => a.block_forever(),
        _ => {}
    })
}

#[test]
fn blocking_call_returns_in_time() {
    let text = format!(
        "{LISTEN}+0...0.200 accept(3, ..., ...) = 4
+.1 < S 0:0(0) win 65535
+0 > S. 0:0(0) ack 1 win 65535
+.1 < . 1:1(0) ack 1 win 65535
+0 close(4) = 0
"
    );
    let r = run_text(
        &text,
        &mut blocking_accept(Duration::ZERO),
        &RunOptions::default(),
    );
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    let late = run_text(&text, &mut blocking_accept(ms(50)), &RunOptions::default());
    assert!(
        fail_message(&late)
            .starts_with("L5 timing error: expected system call return at 0.200000 sec"),
        "{:?}",
        late.verdict
    );
}

#[test]
fn unexpected_block_fails() {
    let text = format!("{LISTEN}+0 accept(3, ..., ...) = 4\n");
    let r = run_text(
        &text,
        &mut blocking_accept(Duration::ZERO),
        &RunOptions::default(),
    );
    assert!(
        fail_message(&r).contains("accept() blocked, but the script expects it to return at once"),
        "{:?}",
        r.verdict
    );
}

#[test]
fn syscall_mismatch_names_the_errno() {
    let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 connect(3, ..., ...) = 0\n";
    let mut fake = Fake::new(|a: &mut Actions, input| {
        if let Input::Call(Syscall::Connect { .. }) = input {
            a.done(SyscallOutcome::err(Errno::ECONNREFUSED));
        }
    });
    let r = run_text(text, &mut fake, &RunOptions::default());
    assert_eq!(
        fail_message(&r),
        "L2 connect: expected result 0 but got -1 ECONNREFUSED (Connection refused)"
    );
    let errno = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 connect(3, ..., ...) = -1 ECONNRESET (reset)\n";
    let r = run_text(errno, &mut fake, &RunOptions::default());
    assert_eq!(
        fail_message(&r),
        "L2 connect: expected errno ECONNRESET but got -1 ECONNREFUSED (Connection refused)"
    );
}

#[test]
fn active_open_learns_port_and_isn_and_maps_fds() {
    let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
+0 fcntl(5, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(5, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
+.01 < S. 0:0(0) ack 1 win 65535
+0 > . 1:1(0) ack 1
+0 getsockopt(5, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
";
    let calls = Rc::new(RefCell::new(Vec::new()));
    let seen = calls.clone();
    let mut fake = Fake::new(move |a: &mut Actions, input| match input {
        Input::Call(call) => {
            seen.borrow_mut().push(call.clone());
            match call {
                Syscall::Socket { .. } => a.done(SyscallOutcome::ok(9)),
                Syscall::Connect { addr, .. } => {
                    assert_eq!(addr.to_string(), "192.0.2.1:8080");
                    a.send(
                        Duration::ZERO,
                        from_stack(51000, 8080, TcpFlags::SYN, 5000, 0),
                    );
                    a.done(SyscallOutcome::err(Errno::EINPROGRESS));
                }
                Syscall::GetSockOpt { .. } => a.done(SyscallOutcome::ok_with(
                    0,
                    crate::stack::SyscallOutput::Int(0),
                )),
                _ => {}
            }
        }
        Input::Inject(seg) => {
            assert_eq!((seg.dst_port, seg.ack), (51000, 5001));
            a.send(
                Duration::ZERO,
                reply(seg, TcpFlags::ACK, 5001, seg.seq.wrapping_add(1), vec![], 0),
            );
        }
    });
    let r = run_text(text, &mut fake, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    // Script fd 5 is live fd 9 everywhere after socket().
    assert!(
        calls.borrow().iter().skip(1).all(|c| c.fd() == Some(9)),
        "{:?}",
        calls.borrow()
    );
}

/// A server that also sends a pure ACK 50 ms after the handshake completes.
fn chatty_server() -> Fake {
    Fake::new(|a: &mut Actions, input| {
        if let Input::Inject(seg) = input {
            if seg.flags == TcpFlags::SYN {
                a.send(
                    Duration::ZERO,
                    reply(seg, TcpFlags::SYN | TcpFlags::ACK, ISN, 1, vec![], 0),
                );
            } else {
                a.send(ms(50), reply(seg, TcpFlags::ACK, ISN + 1, 1, vec![], 0));
            }
        }
    })
}

#[test]
fn strict_end_catches_leftover_packets() {
    let text = format!(
        "{LISTEN}+0 < S 0:0(0) win 65535\n+0 > S. 0:0(0) ack 1 win 65535\n+0 < . 1:1(0) ack 1 win 65535\n"
    );
    let plain = run_text(&text, &mut chatty_server(), &RunOptions::default());
    assert_eq!(
        plain.verdict,
        Verdict::Pass,
        "plain packetdrill scripts are not strict by default"
    );
    let strict = RunOptions {
        strict: Some(true),
        ..RunOptions::default()
    };
    let r = run_text(&text, &mut chatty_server(), &strict);
    let Verdict::Fail(f) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    assert!(f.location.is_none());
    assert!(
        f.message
            .starts_with("strict end: the stack sent 1 packet(s)"),
        "{f:?}"
    );
    // Metadata switches strict mode on; a short quiet period lets the late ACK go unseen.
    let with_meta = format!("//! title: t\n{text}");
    assert!(
        !run_text(&with_meta, &mut chatty_server(), &RunOptions::default())
            .verdict
            .is_pass()
    );
    let quiet = RunOptions {
        quiet_usecs: Some(10_000),
        ..RunOptions::default()
    };
    assert_eq!(
        run_text(&with_meta, &mut chatty_server(), &quiet).verdict,
        Verdict::Pass
    );
}

#[test]
fn skips_and_errors_are_never_passes_or_failures() {
    let text = LISTEN.to_string();
    let mut unsupported = Fake::new(|a: &mut Actions, input| {
        if let Input::Call(Syscall::SetSockOpt { .. }) = input {
            a.block_forever();
        }
    });
    // An adapter that says Unsupported: skip, with its reason and line.
    struct Unsupported;
    impl Unsupported {
        fn fake() -> Fake {
            let mut f = Fake::new(|_, _| {});
            f.setup_error = Some(|| StackError::Unsupported("no SO_REUSEADDR here".into()));
            f
        }
    }
    let r = run_text(&text, &mut Unsupported::fake(), &RunOptions::default());
    assert!(matches!(&r.verdict, Verdict::Skip { reason, .. } if reason == "no SO_REUSEADDR here"));
    let mut env = Fake::new(|_, _| {});
    env.setup_error = Some(|| StackError::Environment("no CAP_NET_ADMIN".into()));
    let r = run_text(&text, &mut env, &RunOptions::default());
    assert!(
        matches!(&r.verdict, Verdict::Error { message, .. } if message.contains("no CAP_NET_ADMIN"))
    );
    let r = run_text(
        &format!("`sysctl -q x=1`\n{text}"),
        &mut unsupported,
        &RunOptions::default(),
    );
    assert!(
        matches!(&r.verdict, Verdict::Skip { reason, .. } if reason.contains("--allow-shell")),
        "{:?}",
        r.verdict
    );
    let shell = RunOptions {
        allow_shell: true,
        ..RunOptions::default()
    };
    let r = run_text(
        &format!("`sysctl -q x=1`\n{text}"),
        &mut unsupported,
        &shell,
    );
    assert!(
        matches!(&r.verdict, Verdict::Skip { reason, .. } if reason.contains("cannot run shell")),
        "{:?}",
        r.verdict
    );
    let r = run_text(
        &format!("{text}+0 %{{ assert tcpi_snd_cwnd == 10 }}%\n"),
        &mut unsupported,
        &RunOptions::default(),
    );
    assert!(
        matches!(&r.verdict, Verdict::Skip { reason, .. } if reason.contains("python")),
        "{:?}",
        r.verdict
    );
    let mut v4only = Fake::new(|_, _| {});
    v4only.caps.ipv6 = false;
    let r = run_text(
        &format!("--ip_version=ipv6\n{text}"),
        &mut v4only,
        &RunOptions::default(),
    );
    assert!(
        matches!(&r.verdict, Verdict::Skip { reason, .. } if reason.contains("IPv6")),
        "{:?}",
        r.verdict
    );
    let r = run_text(
        "// nothing but a comment\n",
        &mut Fake::new(|_, _| {}),
        &RunOptions::default(),
    );
    assert!(
        matches!(&r.verdict, Verdict::Error { message, .. } if message.contains("no events")),
        "{:?}",
        r.verdict
    );
    let mut no_shut_rd = Fake::new(|_, _| {});
    no_shut_rd.caps.shut_rd = false;
    let r = run_text(
        &format!("{text}+0 shutdown(3, SHUT_RD) = 0\n"),
        &mut no_shut_rd,
        &RunOptions::default(),
    );
    assert!(
        matches!(&r.verdict, Verdict::Skip { reason, location } if reason.contains("SHUT_RD") && location.as_ref().is_some_and(|l| l.line == 5)),
        "{:?}",
        r.verdict
    );
    let r = run_text(
        &format!("--no_such_option=1\n{text}"),
        &mut Fake::new(|_, _| {}),
        &RunOptions::default(),
    );
    assert!(
        matches!(&r.verdict, Verdict::Error { message, .. } if message.contains("unknown option --no_such_option"))
    );
    let r = run_text(
        &format!("--non_fatal=packet\n{text}"),
        &mut Fake::new(|_, _| {}),
        &RunOptions::default(),
    );
    assert!(
        matches!(&r.verdict, Verdict::Skip { .. }),
        "{:?}",
        r.verdict
    );
    let r = run_text(
        &format!("--send_omit_free\n{text}"),
        &mut Fake::new(|_, _| {}),
        &RunOptions::default(),
    );
    assert_eq!(r.verdict, Verdict::Pass);
}

/// A server whose write() leaves as two segments of `piece` bytes each.
fn gso_server(piece: usize) -> Fake {
    Fake::new(move |a: &mut Actions, input| match input {
        Input::Inject(seg) if seg.flags == TcpFlags::SYN => {
            a.send(
                Duration::ZERO,
                reply(seg, TcpFlags::SYN | TcpFlags::ACK, ISN, 1, vec![], 0),
            );
        }
        Input::Call(Syscall::Write { data, .. }) => {
            let mut first = from_stack(8080, 40000, TcpFlags::ACK, ISN + 1, 1);
            first.payload = vec![0; piece];
            let mut second = from_stack(
                8080,
                40000,
                TcpFlags::ACK | TcpFlags::PSH,
                ISN + 1 + piece as u32,
                1,
            );
            second.payload = vec![0; data.len() - piece];
            a.send(Duration::ZERO, first);
            a.send(Duration::ZERO, second);
            a.done(SyscallOutcome::ok(data.len() as i64));
        }
        _ => {}
    })
}

#[test]
fn consecutive_segments_merge_into_one_script_packet() {
    let text = format!(
        "{LISTEN}+0 < S 0:0(0) win 65535
+0 > S. 0:0(0) ack 1 win 65535
+0 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 2000) = 2000
+0 > P. 1:2001(2000) ack 1 win 65535
"
    );
    let r = run_text(&text, &mut gso_server(1000), &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    let strict = RunOptions {
        flags: vec![Flag::parse("--strict_segments").expect("flag")],
        ..RunOptions::default()
    };
    let r = run_text(&text, &mut gso_server(1000), &strict);
    assert!(
        fail_message(&r).contains("tcp_payload_len: expected 2000 vs actual 1000"),
        "{:?}",
        r.verdict
    );
    // The other way round: two script lines, one piece each.
    let split = text.replace(
        "+0 > P. 1:2001(2000) ack 1 win 65535\n",
        "+0 > . 1:1001(1000) ack 1 win 65535\n+0 > P. 1001:2001(1000) ack 1 win 65535\n",
    );
    assert_eq!(
        run_text(&split, &mut gso_server(1000), &RunOptions::default()).verdict,
        Verdict::Pass
    );
}

fn conn(state: TcpState, fd: Option<i32>) -> Connection {
    Connection {
        local: "192.168.0.1:8080".parse().expect("addr"),
        remote: Some("192.0.2.1:40000".parse().expect("addr")),
        state,
        fd,
    }
}

#[test]
fn state_assertions_and_measurements() {
    let text = format!(
        "//! title: measure\n{LISTEN}+0 < S 0:0(0) win 65535
+0 > S. 0:0(0) ack 1 win 65535
+0 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 assert state(4) == ESTABLISHED
+1 assert state == TIME_WAIT
+0 measure time_wait until state != TIME_WAIT within 600
+0 assert state == CLOSED
"
    );
    let states = |now: Duration| {
        if now < ms(500) {
            vec![conn(TcpState::Established, Some(4))]
        } else if now < Duration::from_secs(61) {
            vec![conn(TcpState::TimeWait, None)]
        } else {
            vec![]
        }
    };
    let mut fake = server(Duration::ZERO, vec![]).with_states(states);
    let started = std::time::Instant::now();
    let r = run_text(&text, &mut fake, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "virtual time must not sleep"
    );
    let m = r.measurements.first().expect("a measurement");
    assert_eq!(m.name, "time_wait");
    assert!((m.value_secs - 60.0).abs() < 0.1, "{m:?}");
    let wrong = text.replace(
        "+1 assert state == TIME_WAIT",
        "+1 assert state == FIN_WAIT_2",
    );
    let r = run_text(
        &wrong,
        &mut server(Duration::ZERO, vec![]).with_states(states),
        &RunOptions::default(),
    );
    assert!(
        fail_message(&r).contains("expected state == FIN_WAIT_2 but the connection is TIME_WAIT"),
        "{:?}",
        r.verdict
    );
}

/// In real time, an assertion whose answer is already certain fails without sleeping until its
/// line's time: here TIME-WAIT ends 0.6 s in, and a line at 3 s asks for TIME-WAIT. The
/// verdict and line are the ones virtual time gives.
#[test]
fn a_decided_assertion_fails_early_in_real_time() {
    let text = format!(
        "{LISTEN}+0 < S 0:0(0) win 65535
+0 > S. 0:0(0) ack 1 win 65535
+0 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+3 assert state == TIME_WAIT
"
    );
    // (A stack would need segments to get from ESTABLISHED to TIME-WAIT; the fake skips them.)
    let states = |now: Duration| match now.as_millis() {
        0..600 => vec![conn(TcpState::TimeWait, None)],
        _ => vec![],
    };
    let mut real = server(Duration::ZERO, vec![]).with_states(states);
    real.caps.time = crate::stack::TimeModel::Real;
    let started = std::time::Instant::now();
    let r = run_text(&text, &mut real, &RunOptions::default());
    let message = fail_message(&r);
    assert!(message.contains("decided without waiting"), "{message}");
    let waited = started.elapsed();
    assert!(
        waited > ms(600) && waited < Duration::from_secs(2),
        "waited {waited:?}"
    );
    let virtual_run = run_text(
        &text,
        &mut server(Duration::ZERO, vec![]).with_states(states),
        &RunOptions::default(),
    );
    let line = |r: &RunResult| match &r.verdict {
        Verdict::Fail(f) => f.location.as_ref().map(|l| l.line),
        _ => None,
    };
    assert_eq!(line(&r), Some(9));
    assert_eq!(line(&virtual_run), line(&r));
}

#[test]
fn tracing_states_records_the_state_before_each_line_and_judges_nothing() {
    let text = format!(
        "{LISTEN}+0 < S 0:0(0) win 65535
+0 > S. 0:0(0) ack 1 win 65535
+0 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+1 close(4) = ...
+2 close(4) = ...
"
    );
    let script = crate::script::parse(&text).expect("parses");
    let states = |now: Duration| {
        if now < ms(500) {
            vec![conn(TcpState::Established, Some(4))]
        } else {
            vec![conn(TcpState::TimeWait, None)]
        }
    };
    let mut fake = server(Duration::ZERO, vec![]).with_states(states);
    let r = super::run_tracing_states(&script, &mut fake, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    let traced: Vec<(Option<usize>, String)> = r
        .trace
        .entries()
        .iter()
        .filter_map(|e| match &e.kind {
            super::TraceKind::State { query, answer } if query == "state" => {
                Some((e.line, answer.clone()))
            }
            _ => None,
        })
        .collect();
    // None before listen() (no connection under test yet) and none for `>` lines; the fake
    // answers every query with its one connection.
    assert_eq!(
        traced,
        vec![
            (Some(5), "ESTABLISHED".to_string()),
            (Some(7), "ESTABLISHED".to_string()),
            (Some(8), "ESTABLISHED".to_string()),
            (Some(9), "TIME_WAIT".to_string()),
            (Some(10), "TIME_WAIT".to_string()),
        ]
    );
    let plain = run(
        &script,
        &mut server(Duration::ZERO, vec![]).with_states(states),
        &RunOptions::default(),
    );
    assert!(
        !plain
            .trace
            .entries()
            .iter()
            .any(|e| matches!(&e.kind, super::TraceKind::State { .. })),
        "run() traces no states of its own"
    );
}

#[test]
fn trace_records_everything_with_times() {
    let text = format!("{LISTEN}+.1 < S 0:0(0) win 65535\n+0 > S. 0:0(0) ack 1 win 65535\n");
    let r = run_text(&text, &mut server(ms(1), vec![]), &RunOptions::default());
    let kinds: Vec<&str> = r
        .trace
        .entries()
        .iter()
        .map(|e| match &e.kind {
            super::TraceKind::Injected { .. } => "in",
            super::TraceKind::Observed { .. } => "out",
            super::TraceKind::Syscall { .. } => "call",
            super::TraceKind::Returned { .. } => "ret",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "call", "ret", "call", "ret", "call", "ret", "call", "ret", "in", "out"
        ]
    );
    let out = r.trace.entries().last().expect("entry");
    assert_eq!(out.at, ms(101));
    assert_eq!(r.trace.packets().count(), 2);
    let seg: Option<Segment> = r
        .trace
        .packets()
        .next()
        .and_then(|(_, _, b)| crate::wire::decode(b).ok())
        .and_then(|p| p.as_tcp().cloned());
    assert_eq!(seg.map(|s| s.dst_port), Some(8080));
}

#[test]
fn a_stray_packet_from_earlier_is_reported_with_where_it_came_from() {
    let text = format!(
        "{LISTEN}+0 < S 0:0(0) win 65535
+0 > S. 0:0(0) ack 1 win 65535
+.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 100) = 100
+0 > P. 1:101(100) ack 1 win 65535
"
    );
    let mut fake = Fake::new(|a: &mut Actions, input| {
        if let Input::Inject(seg) = input
            && seg.flags == TcpFlags::SYN
        {
            a.send(
                Duration::ZERO,
                reply(seg, TcpFlags::SYN | TcpFlags::ACK, ISN, 1, vec![], 0),
            );
            a.send(ms(1), reply(seg, TcpFlags::ACK, ISN + 1, 1, vec![], 0));
        }
    });
    let r = run_text(&text, &mut fake, &RunOptions::default());
    let Verdict::Fail(f) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    assert_eq!(f.location.as_ref().map(|l| l.line), Some(10));
    assert!(
        f.notes
            .iter()
            .any(|n| n
                .contains("sent at 0.001000 sec, before the previous line's time 0.100000 sec")),
        "{f:?}"
    );
}

#[test]
fn measure_until_packet_leaves_the_packet_for_the_next_line() {
    let text = format!(
        "{LISTEN}+0 < S 0:0(0) win 65535
+0 > S. 0:0(0) ack 1 win 65535
+0 measure synack_rto until packet within 5
+0 > S. 0:0(0) ack 1 win 65535
"
    );
    let mut fake = Fake::new(|a: &mut Actions, input| {
        if let Input::Inject(seg) = input {
            let synack = reply(seg, TcpFlags::SYN | TcpFlags::ACK, ISN, 1, vec![], 0);
            a.send(Duration::ZERO, synack.clone());
            a.send(Duration::from_secs(1), synack);
        }
    });
    let r = run_text(&text, &mut fake, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    assert_eq!(r.measurements.first().map(|m| m.value_secs), Some(1.0));
    let short = text.replace("within 5", "within 0.5");
    let r = run_text(
        &short,
        &mut server(Duration::ZERO, vec![]),
        &RunOptions::default(),
    );
    assert!(
        fail_message(&r)
            .contains("measurement synack_rto: condition not reached within 0.500000 sec"),
        "{:?}",
        r.verdict
    );
}

#[test]
fn real_time_stacks_are_waited_for() {
    let text = format!(
        "{LISTEN}+.02 < S 0:0(0) win 65535
+0 > S. 0:0(0) ack 1 win 65535
+.02 < . 1:1(0) ack 1 win 65535
"
    );
    let mut fake = server(Duration::ZERO, vec![]);
    fake.caps.time = crate::stack::TimeModel::Real;
    let started = std::time::Instant::now();
    let r = run_text(&text, &mut fake, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    assert!(
        started.elapsed() >= ms(40),
        "real time must pass: {:?}",
        started.elapsed()
    );
    let (at, _) = fake.injected[1];
    assert!(at >= ms(40) && at < ms(500), "the ACK left at {at:?}");
}

#[test]
fn shell_commands_run_in_the_script_directory_with_packetdrill_env() {
    let text = format!("`../common/defaults.sh`\n{LISTEN}+0 `sysctl -q net.ipv4.tcp_sack=0`\n");
    let script = crate::script::parse(&text).expect("parses");
    let mut fake = Fake::new(|_, _| {});
    fake.caps.shell = true;
    let opts = RunOptions {
        allow_shell: true,
        ..RunOptions::default()
    };
    let path = std::path::Path::new("/nonexistent/dir/s.pkt");
    let r = super::run_source(path, &text, &mut fake, &opts);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    assert_eq!(fake.commands.len(), 2);
    for c in &fake.commands {
        assert!(
            c.starts_with("cd '/nonexistent/dir' || exit 1\nexport PACKETDRILL_PID="),
            "{c}"
        );
    }
    assert!(fake.commands[0].ends_with("../common/defaults.sh"));
    // A failing init command is the environment's problem; a failing timed one is a failure.
    fake.shell_exit = 1;
    let r = run(&script, &mut fake, &opts);
    assert!(
        matches!(&r.verdict, Verdict::Error { message, .. } if message.starts_with("init command failed")),
        "{:?}",
        r.verdict
    );
    let timed_only = format!("{LISTEN}+0 `false`\n");
    let r = run_text(&timed_only, &mut fake, &opts);
    assert!(
        fail_message(&r).starts_with("L5 shell command failed"),
        "{:?}",
        r.verdict
    );
}

#[test]
fn icmp_errors_quote_a_segment_in_live_numbers() {
    let text = format!(
        "{LISTEN}+0 < S 0:0(0) win 65535
+0 > S. 0:0(0) ack 1 win 65535
+0 < . 1:1(0) ack 1 win 65535
+0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]
"
    );
    let mut fake = server(Duration::ZERO, vec![]);
    let r = run_text(&text, &mut fake, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    let Some(crate::wire::Packet::Icmp(m)) = fake.other_injected.first() else {
        panic!("no ICMP injected: {:?}", fake.other_injected)
    };
    assert_eq!((m.icmp_type, m.code, m.rest), (3, 4, [0, 0, 0x04, 0xb0]));
    assert_eq!(m.ip.src().to_string(), "192.0.2.1");
    // The quote: an IPv4 header from the stack to tcpconf, then ports and the live seq.
    assert_eq!(m.body.len(), 28);
    assert_eq!(&m.body[12..16], &[192, 168, 0, 1]);
    assert_eq!(&m.body[20..22], &8080u16.to_be_bytes());
    assert_eq!(&m.body[22..24], &40000u16.to_be_bytes());
    assert_eq!(&m.body[24..28], &(ISN + 1).to_be_bytes());
}

#[test]
fn outbound_ip_header_checksum_is_checked() {
    let text = format!("{LISTEN}+0 < S 0:0(0) win 65535\n+0 > S. 0:0(0) ack 1 win 65535\n");
    let mut fake = Fake::new(|a: &mut Actions, input| {
        if let Input::Inject(seg) = input {
            a.send_bad_ip_checksum(
                Duration::ZERO,
                reply(seg, TcpFlags::SYN | TcpFlags::ACK, ISN, 1, vec![], 0),
            );
        }
    });
    let r = run_text(&text, &mut fake, &RunOptions::default());
    let Verdict::Fail(f) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    assert_eq!(
        f.differences,
        vec!["ip_checksum: bad outbound IP checksum".to_string()]
    );
}

#[test]
fn icmpv6_packet_too_big_carries_a_32_bit_mtu() {
    let text = format!(
        "--ip_version=ipv6\n{LISTEN}+0 < S 0:0(0) win 65535
+0 > S. 0:0(0) ack 1 win 65535
+0 < . 1:1(0) ack 1 win 65535
+0 < icmp packet_too_big mtu 1280 [1:1001(1000)]
"
    );
    let mut fake = server(Duration::ZERO, vec![]);
    let r = run_text(&text, &mut fake, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.verdict);
    let Some(crate::wire::Packet::Icmp(m)) = fake.other_injected.first() else {
        panic!("no ICMPv6 injected: {:?}", fake.other_injected)
    };
    assert_eq!((m.icmp_type, m.code, m.rest), (2, 0, 1280u32.to_be_bytes()));
    assert_eq!(m.body.len(), 48, "IPv6 header and 8 bytes of TCP");
    assert_eq!(&m.body[44..48], &(ISN + 1).to_be_bytes());
}

/// When the engine itself cannot keep a real-time schedule (here: an adapter that takes 30 ms of
/// real time to take an injected packet, in a run of inbound packets, which stays anchored to
/// script time), the late start of the next event is the harness's failure — an `error` that
/// names the step that made it late — never a `fail` of the stack.
#[test]
fn the_engines_own_lateness_is_an_error_not_a_failure() {
    let mut slow = Fake::new(|_, input| {
        if let Input::Inject(seg) = input
            && seg.flags == TcpFlags::RST
        {
            std::thread::sleep(Duration::from_millis(30));
        }
    });
    slow.caps.time = crate::stack::TimeModel::Real;
    let script = format!("{LISTEN}+0 < R 0:0(0) win 0\n+.01 < R 0:0(0) win 0\n");
    let r = run_text(&script, &mut slow, &RunOptions::default());
    assert!(r.verdict.is_harness_late(), "{:?}", r.verdict);
    let Verdict::Error { message, location } = &r.verdict else {
        unreachable!("is_harness_late holds only for errors");
    };
    assert_eq!(location.as_ref().map(|l| l.line), Some(6));
    assert!(message.contains("inbound packet"), "{message}");
    assert!(message.contains("line 5 finished at"), "{message}");
    assert!(
        message.contains("says nothing about the stack"),
        "{message}"
    );
}

/// packetdrill's timing rule: a relative time counts from when the previous event really ended,
/// so a call that takes 30 ms of real time does not make the next line late.
#[test]
fn relative_times_count_from_the_end_of_a_slow_call() {
    let mut slow = Fake::new(|_, input| {
        if let Input::Call(Syscall::Bind { .. }) = input {
            std::thread::sleep(Duration::from_millis(30));
        }
    });
    slow.caps.time = crate::stack::TimeModel::Real;
    let r = run_text(LISTEN, &mut slow, &RunOptions::default());
    assert_eq!(r.verdict, Verdict::Pass);
}
