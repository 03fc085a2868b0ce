//! Timing precision of the `linux` stack on this machine: how late injections leave against their
//! schedule, and how far the adapter's packet timestamps lie from the events that caused them.
//!
//! `cargo bench --bench linux_timing [-- SAMPLES]` (needs root; prints a skip line otherwise).
//! Targets: p99 ≤ 100 µs for injection lateness and for outbound timestamps (packetdrill on this kind
//! of VM: 85 µs and 112 µs, `linux-baseline.md` §6).
//!
//! Measured, each over SAMPLES events 2 ms apart on absolute times (so lateness does not add up):
//! - injection lateness: scheduled time → the moment just before the TUN write, when the wait is
//!   the adapter's own `wait(t)` alone (a ppoll: adapters never spin) and when it is what the engine
//!   does, the adapter's `wait` until [`SPIN_WINDOW`] before `t`, then `RealClock::sleep_until(t)`;
//! - immediate ACK: an out-of-order segment is injected (RFC 9293 §3.10.7.4 / RFC 5681 §4.2: the
//!   receiver ACKs at once); its ACK's timestamp − the injection time;
//! - write → segment: `write()` issued at a scheduled time (reached as the engine reaches it); the
//!   data segment's timestamp − schedule.
//!
//! It runs under the scheduling `tcpconf run` uses for real-time stacks (SCHED_RR at the lowest
//! priority, when root and more than one CPU). On a loaded machine an ordinary thread's tails are
//! the scheduler's (a plain sleep-then-spin loop in Python shows the same milliseconds).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

#[path = "../tests/linux_support/mod.rs"]
mod linux_support;

use std::net::SocketAddr;
use std::time::Duration;

use linux_support::*;
use tcpconf::clock::{RealClock, SPIN_WINDOW};
use tcpconf::stack::linux::LinuxStack;
use tcpconf::stack::{Domain, SockOpt, Stack, StackEvent, Syscall, SyscallOutput, SyscallProgress};

const SPACING: Duration = Duration::from_millis(2);

fn summary(name: &str, mut us: Vec<f64>) {
    us.sort_by(f64::total_cmp);
    let pick = |p: f64| us[((us.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name:<56} n={:<5} p50 {:>7.1} µs  p90 {:>7.1}  p99 {:>7.1}  max {:>8.1}",
        us.len(),
        pick(0.5),
        pick(0.9),
        pick(0.99),
        pick(1.0)
    );
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Lets time pass until `t` with the adapter's own wait, keeping whatever was sent meanwhile.
fn wait_until(stack: &mut LinuxStack, t: Duration) -> Vec<StackEvent> {
    let mut seen = Vec::new();
    loop {
        let events = stack.wait(t).expect("wait");
        if events.is_empty() {
            return seen;
        }
        seen.extend(events);
    }
}

/// Reaches `t` as the engine does for an event that is due: the adapter's wait until
/// [`SPIN_WINDOW`] before it, then a spin on the clock.
fn approach(stack: &mut LinuxStack, clock: &RealClock, t: Duration) {
    wait_until(stack, t.saturating_sub(SPIN_WINDOW));
    clock.sleep_until(t);
}

fn done(p: SyscallProgress) -> tcpconf::stack::SyscallOutcome {
    match p {
        SyscallProgress::Done(o) => o,
        SyscallProgress::Blocked => panic!("blocked"),
    }
}

fn main() {
    let Some((n, _scheduling)) = bench_start("linux_timing", 1000) else {
        return;
    };
    let net = net_v4();
    let clock = RealClock::start();
    let mut stack = LinuxStack::new();
    stack.setup(&net, clock).expect("setup");
    let sys =
        |stack: &mut LinuxStack, call: Syscall| done(stack.syscall(clock.now(), &call).unwrap());

    // A connection from a non-blocking listener, with Nagle off so each write leaves at once.
    let lfd = sys(
        &mut stack,
        Syscall::Socket {
            domain: Domain::Inet,
            nonblocking: true,
        },
    )
    .ret as i32;
    let local = SocketAddr::new(net.local_ip, 8080);
    let remote = SocketAddr::new(net.remote_ip, 45000);
    sys(
        &mut stack,
        Syscall::Bind {
            fd: lfd,
            addr: local,
        },
    );
    sys(
        &mut stack,
        Syscall::Listen {
            fd: lfd,
            backlog: 1,
        },
    );
    stack
        .inject(
            clock.now(),
            &Seg::new(remote, local, SYN, 0, 0).mss(1460).build(),
        )
        .unwrap();
    let (_, synack) = expect_segment(&mut stack, &clock, Duration::from_secs(1));
    let iss = synack.seq;
    stack
        .inject(
            clock.now(),
            &Seg::new(remote, local, ACK, 1, iss.wrapping_add(1)).build(),
        )
        .unwrap();
    let accepted = sys(&mut stack, Syscall::Accept { fd: lfd });
    assert!(matches!(accepted.output, SyscallOutput::Peer(_)));
    let fd = accepted.ret as i32;
    sys(
        &mut stack,
        Syscall::SetSockOpt {
            fd,
            opt: SockOpt::NoDelay(true),
        },
    );

    let ooo = Seg::new(remote, local, ACK | PSH, 1001, iss.wrapping_add(1))
        .payload(&[7; 100])
        .build();
    let mut late_wait = Vec::new();
    let mut late_sleep = Vec::new();
    let mut ack_error = Vec::new();
    let mut base = clock.now() + Duration::from_millis(20);
    for k in 0..2 * n {
        let t = base + SPACING * k as u32;
        let use_sleep = k % 2 == 1;
        if use_sleep {
            approach(&mut stack, &clock, t);
        } else {
            wait_until(&mut stack, t);
        }
        let injected = clock.now();
        stack.inject(injected, &ooo).unwrap();
        let lateness = micros(injected - t);
        if use_sleep {
            late_sleep.push(lateness);
        } else {
            late_wait.push(lateness);
        }
        let (at, ack) = expect_segment(&mut stack, &clock, Duration::from_secs(1));
        assert_eq!((ack.flags & ACK, ack.ack), (ACK, 1), "{ack:?}");
        ack_error.push(micros(at.saturating_sub(injected)));
    }

    // Scheduled writes: the data segment's stamp against the schedule.
    let mut write_error = Vec::new();
    let mut call_late = Vec::new();
    let mut snd_nxt = iss.wrapping_add(1);
    base = clock.now() + Duration::from_millis(20);
    for k in 0..n {
        let t = base + SPACING * k as u32;
        approach(&mut stack, &clock, t);
        call_late.push(micros(clock.now() - t));
        let w = sys(
            &mut stack,
            Syscall::Write {
                fd,
                data: vec![1; 10],
            },
        );
        assert_eq!(w.ret, 10);
        let (at, data) = expect_segment(&mut stack, &clock, Duration::from_secs(1));
        assert_eq!((data.seq, data.payload_len), (snd_nxt, 10), "{data:?}");
        write_error.push(micros(at - t));
        snd_nxt = snd_nxt.wrapping_add(10);
        stack
            .inject(
                clock.now(),
                &Seg::new(remote, local, ACK, 1, snd_nxt).build(),
            )
            .unwrap();
    }
    stack.teardown().unwrap();

    println!("linux stack timing, {n} samples per row, events {SPACING:?} apart:");
    summary("injection lateness, adapter wait() alone", late_wait);
    summary(
        "injection lateness, wait() then RealClock::sleep_until",
        late_sleep,
    );
    summary("immediate ACK stamp - injection", ack_error);
    summary("write() call lateness", call_late);
    summary("write() data segment stamp - schedule", write_error);
}
