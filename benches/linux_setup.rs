//! Cost of one `linux` run's private namespace + TUN: set-up and teardown, over many runs.
//!
//! `cargo bench --bench linux_setup [-- RUNS [GAP_MS]]` (needs root; prints a skip line otherwise).
//! GAP_MS (default 0: back to back, the worst case) stands for the script's own run time between
//! set-up and teardown; with a realistic gap the background release of each TUN device overlaps
//! the next run completely.
//! Target: median set-up + teardown ≤ 10 ms (packetdrill: 165 ms per script).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

#[path = "../tests/linux_support/mod.rs"]
mod linux_support;

use std::time::{Duration, Instant};

use tcpconf::clock::RealClock;
use tcpconf::stack::Stack;
use tcpconf::stack::linux::LinuxStack;

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pick = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<28} n={:<4} median {:>7.3} ms   p90 {:>7.3} ms   max {:>7.3} ms",
        samples.len(),
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(pick(1.0)),
    );
}

fn main() {
    if linux_support::skip_unprivileged("linux_setup") {
        return;
    }
    let numbers: Vec<u64> = std::env::args().filter_map(|a| a.parse().ok()).collect();
    let runs = numbers.first().map_or(100, |&n| n as usize);
    let gap = Duration::from_millis(numbers.get(1).copied().unwrap_or(0));
    let started = Instant::now();
    let mut setup_v4 = Vec::new();
    let mut setup_v6 = Vec::new();
    let mut setup = Vec::new();
    let mut teardown = Vec::new();
    let mut both = Vec::new();
    let mut ip_commands = Vec::new();
    for (i, net) in [linux_support::net_v4(), linux_support::net_v6()]
        .iter()
        .cycle()
        .take(runs)
        .enumerate()
    {
        let mut stack = LinuxStack::new();
        let t0 = Instant::now();
        stack.setup(net, RealClock::start()).expect("setup");
        let t1 = Instant::now();
        if i % 10 == 0 {
            // What configuring through `ip` instead of netlink would cost: the same four changes.
            let s = Instant::now();
            let ok = stack
                .shell(
                    "ip link set lo up && ip link set tun0 mtu 1500 up && \
                     ip addr add 10.9.9.9/32 dev tun0 && \
                     ip route replace 10.8.0.0/16 dev tun0",
                )
                .expect("shell");
            assert!(ok.success());
            ip_commands.push(s.elapsed());
        }
        std::thread::sleep(gap);
        let t2 = Instant::now();
        stack.teardown().expect("teardown");
        let t3 = Instant::now();
        if net.local_ip.is_ipv4() {
            setup_v4.push(t1 - t0);
        } else {
            setup_v6.push(t1 - t0);
        }
        setup.push(t1 - t0);
        teardown.push(t3 - t2);
        both.push((t1 - t0) + (t3 - t2));
    }
    let total = started.elapsed();
    println!(
        "linux stack, {runs} runs alternating IPv4 / IPv6, {gap:?} between set-up and teardown:"
    );
    summary("set-up (IPv4)", setup_v4);
    summary("set-up (IPv6)", setup_v6);
    summary("set-up", setup);
    summary("teardown", teardown);
    summary("set-up + teardown", both);
    summary("same config via 4x `ip`", ip_commands);
    println!(
        "wall time per run in sequence, less the gap (includes the `ip` runs): {:.3} ms",
        (total.as_secs_f64() / runs as f64 - gap.as_secs_f64()) * 1e3
    );
}
