//! What a TCP state query costs on the real-time stacks, where it sits on the engine's critical path
//! (issue: a sock_diag dump per `assert state` made the next event late).
//!
//! `cargo bench --bench linux_state [-- SAMPLES]` (needs root; prints a skip line otherwise).
//! Target: p99 ≤ 50 µs for one query and for `assert state` as the engine sees it.
//!
//! Measured:
//! - `Stack::state` on the `linux` adapter, SAMPLES times each: by fd (`TCP_INFO`), by 4-tuple
//!   (an exact sock_diag request) for an ESTABLISHED and a TIME-WAIT connection, for a 4-tuple
//!   nobody has, and for the listener; next to it a full sock_diag dump (`Stack::connections`),
//!   which is what every query cost before;
//! - `assert state` as the engine sees it: a script of SAMPLES `+0 assert state == ESTABLISHED`
//!   lines after a handshake, on `linux`, on `reference --via tun` and (for scale) on the reference
//!   stack in virtual time; each line's cost is the real time between the start of one assertion and
//!   the start of the next (relative times count from when the previous line ended).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

#[path = "../tests/linux_support/mod.rs"]
mod linux_support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use linux_support::*;
use tcpconf::clock::RealClock;
use tcpconf::engine::{RunOptions, TraceKind, Verdict};
use tcpconf::stack::linux::LinuxStack;
use tcpconf::stack::{
    Domain, Endpoint, Stack, StackOptions, Syscall, SyscallOutcome, SyscallProgress, TcpState,
};

fn summary(name: &str, mut us: Vec<f64>) {
    us.sort_by(f64::total_cmp);
    let pick = |p: f64| us[((us.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name:<52} n={:<5} p50 {:>7.1} µs  p99 {:>7.1}  max {:>8.1}",
        us.len(),
        pick(0.5),
        pick(0.99),
        pick(1.0)
    );
}

fn done(p: SyscallProgress) -> SyscallOutcome {
    match p {
        SyscallProgress::Done(o) => o,
        SyscallProgress::Blocked => panic!("blocked"),
    }
}

/// Times `query` `n` times, in microseconds, checking its answer each time.
fn time_queries(
    stack: &mut LinuxStack,
    of: Endpoint,
    want: Option<TcpState>,
    n: usize,
) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let started = Instant::now();
            let got = stack.state(&of).expect("state query");
            let took = started.elapsed();
            assert_eq!(got, want, "{of:?}");
            took.as_secs_f64() * 1e6
        })
        .collect()
}

/// A listener on 8080 and connections from `remote_ports`, handshakes injected through the TUN;
/// returns the listener's fd and the accepted fds.
fn connect(stack: &mut LinuxStack, clock: &RealClock, remotes: &[SocketAddr]) -> (i32, Vec<i32>) {
    let local = SocketAddr::new(net_v4().local_ip, 8080);
    let sys = |stack: &mut LinuxStack, call: Syscall| {
        done(stack.syscall(clock.now(), &call).expect("syscall"))
    };
    let lfd = sys(
        stack,
        Syscall::Socket {
            domain: Domain::Inet,
            nonblocking: true,
        },
    )
    .ret as i32;
    sys(
        stack,
        Syscall::Bind {
            fd: lfd,
            addr: local,
        },
    );
    sys(
        stack,
        Syscall::Listen {
            fd: lfd,
            backlog: 8,
        },
    );
    let mut accepted = Vec::new();
    for &remote in remotes {
        let syn = Seg::new(remote, local, SYN, 0, 0).mss(1460).build();
        stack.inject(clock.now(), &syn).expect("inject");
        let (_, synack) = expect_segment(stack, clock, Duration::from_secs(1));
        let ack = Seg::new(remote, local, ACK, 1, synack.seq.wrapping_add(1)).build();
        stack.inject(clock.now(), &ack).expect("inject");
        accepted.push(sys(stack, Syscall::Accept { fd: lfd }).ret as i32);
    }
    (lfd, accepted)
}

/// Brings the accepted connection `fd` (peer `remote`) to TIME-WAIT: it closes first, the peer
/// ACKs its FIN and sends its own.
fn to_time_wait(stack: &mut LinuxStack, clock: &RealClock, fd: i32, remote: SocketAddr) {
    let local = SocketAddr::new(net_v4().local_ip, 8080);
    done(
        stack
            .syscall(clock.now(), &Syscall::Close { fd })
            .expect("close"),
    );
    let (_, fin) = expect_segment(stack, clock, Duration::from_secs(1));
    assert_ne!(fin.flags & FIN, 0, "{fin:?}");
    let ack_fin = Seg::new(remote, local, ACK | FIN, 1, fin.seq.wrapping_add(1)).build();
    stack.inject(clock.now(), &ack_fin).expect("inject");
    let _ = expect_segment(stack, clock, Duration::from_secs(1));
}

fn adapter_queries(n: usize) {
    let clock = RealClock::start();
    let mut stack = LinuxStack::new();
    stack.setup(&net_v4(), clock).expect("setup");
    let remote = |port| SocketAddr::new(net_v4().remote_ip, port);
    let local = SocketAddr::new(net_v4().local_ip, 8080);
    let (lfd, fds) = connect(&mut stack, &clock, &[remote(45000), remote(45001)]);
    to_time_wait(&mut stack, &clock, fds[1], remote(45001));
    let tuple = |port| Endpoint::Tuple {
        local,
        remote: remote(port),
    };
    let est = Some(TcpState::Established);
    println!("linux adapter, one Stack::state query:");
    summary(
        "by fd (TCP_INFO)",
        time_queries(&mut stack, Endpoint::Fd(fds[0]), est, n),
    );
    summary(
        "by 4-tuple, ESTABLISHED (exact sock_diag)",
        time_queries(&mut stack, tuple(45000), est, n),
    );
    summary(
        "by 4-tuple, TIME-WAIT (exact sock_diag)",
        time_queries(&mut stack, tuple(45001), Some(TcpState::TimeWait), n),
    );
    summary(
        "by 4-tuple, no such connection",
        time_queries(&mut stack, tuple(45002), None, n),
    );
    summary(
        "listener",
        time_queries(
            &mut stack,
            Endpoint::Listener { local },
            Some(TcpState::Listen),
            n,
        ),
    );
    let _ = lfd;
    let dumps = (0..n.min(500))
        .map(|_| {
            let started = Instant::now();
            let all = stack.connections().expect("dump");
            assert!(all.len() >= 3, "{all:?}");
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    summary("for comparison: a full dump (Stack::connections)", dumps);
    stack.teardown().expect("teardown");
}

/// A handshake, then `n` assertions one after the other.
fn assertion_script(n: usize) -> String {
    let mut text = String::from(
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 win * <{mss *, ...}>
+.01 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
",
    );
    for k in 0..n {
        text.push_str(if k % 2 == 0 {
            "+0 assert state == ESTABLISHED\n"
        } else {
            "+0 assert state(4) == ESTABLISHED\n"
        });
    }
    text
}

/// `assert state` as the engine sees it on the stack `name`.
fn engine_assertions(name: &str, opts: &StackOptions, n: usize) {
    let mut stack = tcpconf::stack::by_name(name, opts).expect("stack");
    let text = assertion_script(n);
    let r = tcpconf::engine::run_source(
        Path::new("assertions.pkt"),
        &text,
        stack.as_mut(),
        &RunOptions::default(),
    );
    assert_eq!(r.verdict, Verdict::Pass, "{name}: {:?}", r.verdict);
    let starts: Vec<Duration> = r
        .trace
        .entries()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::State { .. }))
        .map(|e| e.at)
        .collect();
    let costs = starts
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1e6)
        .collect();
    let label = match &opts.via {
        Some(via) => format!("`assert state` in the engine, {name} --via {via}"),
        None => format!("`assert state` in the engine, {name}"),
    };
    summary(&label, costs);
}

fn main() {
    let Some((n, _scheduling)) = bench_start("linux_state", 2000) else {
        return;
    };
    adapter_queries(n);
    engine_assertions("linux", &StackOptions::default(), n);
    let via_tun = StackOptions {
        via: Some("tun".into()),
        ..StackOptions::default()
    };
    engine_assertions("reference", &via_tun, n);
    println!("(virtual time, for scale: the trace's times do not move, so only wall time says)");
    let started = Instant::now();
    engine_assertions_wall("reference", n);
    println!(
        "{:<52} n={n:<5} {:>7.1} µs per line (wall time of the whole run / lines)",
        "`assert state` in the engine, reference (virtual)",
        started.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}

/// Runs the assertion script on a virtual-time stack (whose trace times stand still).
fn engine_assertions_wall(name: &str, n: usize) {
    let mut stack = tcpconf::stack::by_name(name, &StackOptions::default()).expect("stack");
    let r = tcpconf::engine::run_source(
        Path::new("assertions.pkt"),
        &assertion_script(n),
        stack.as_mut(),
        &RunOptions::default(),
    );
    assert_eq!(r.verdict, Verdict::Pass, "{name}: {:?}", r.verdict);
}
