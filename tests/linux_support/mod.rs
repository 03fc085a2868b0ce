//! Shared by the `linux` adapter's integration tests and benchmarks: a privilege check and a tiny
//! IPv4/IPv6 + TCP packet builder and parser (the `wire` module is not used here on purpose, so these
//! tests exercise the adapter alone).

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tcpconf::stack::{NetConfig, Stack, StackEvent};

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// Prints the skip line and returns true when the test cannot run here.
/// Why a root-only test was not run.
pub const NEEDS_ROOT: &str =
    "needs CAP_NET_ADMIN and CAP_SYS_ADMIN for a private network namespace (run as root)";

/// Prints the skip line and returns true when a benchmark cannot run here.
pub fn skip_unprivileged(what: &str) -> bool {
    if tcpconf::stack::linux::has_privileges() {
        return false;
    }
    println!("{what}: skipped: {NEEDS_ROOT}");
    true
}

/// A benchmark's set-up: `None` (after printing the skip line) without the privileges, else the
/// sample count from the command line (default `default_samples`) and the scheduling `tcpconf run`
/// gives real-time stacks (packetdrill's choice too), taken before any set-up so that the
/// adapter's threads inherit it, and printed.
pub fn bench_start(
    what: &str,
    default_samples: usize,
) -> Option<(usize, tcpconf::engine::priority::RealTimeGuard)> {
    if skip_unprivileged(what) {
        return None;
    }
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(default_samples);
    let scheduling = tcpconf::engine::priority::raise();
    println!(
        "scheduling: {}",
        if scheduling.raised() {
            "SCHED_RR at the lowest priority, as tcpconf run uses for real-time stacks"
        } else {
            "the default policy (one CPU, or no CAP_SYS_NICE)"
        }
    );
    Some((n, scheduling))
}

/// Runs a test binary's tests under libtest-mimic. The `root_only` ones run with the privileges,
/// and without them each is reported `ignored` with the reason, so that a root-only test never
/// shows as passed without having run. A panic fails a test, as under libtest.
pub fn run_tests(
    anyone: &[(&'static str, fn())],
    root_only: &[(&'static str, fn())],
) -> std::process::ExitCode {
    use libtest_mimic::{Arguments, Completion, Trial};
    let privileged = tcpconf::stack::linux::has_privileges();
    let trial = |&(name, test): &(&'static str, fn()), needs_root: bool| {
        Trial::ignorable_test(name, move || {
            if needs_root && !privileged {
                return Ok(Completion::ignored_with(NEEDS_ROOT));
            }
            test();
            Ok(Completion::Completed)
        })
    };
    let trials = anyone
        .iter()
        .map(|t| trial(t, false))
        .chain(root_only.iter().map(|t| trial(t, true)))
        .collect();
    libtest_mimic::run(&Arguments::from_args(), trials).exit_code()
}

/// packetdrill's default IPv4 addresses.
pub fn net_v4() -> NetConfig {
    NetConfig {
        local_ip: "192.168.0.1".parse().unwrap(),
        remote_ip: "192.0.2.1".parse().unwrap(),
        gateway_ip: "192.168.0.2".parse().unwrap(),
        prefix_len: 16,
        mtu: 1500,
        ipv4_mapped_ipv6: false,
    }
}

/// packetdrill's default IPv6 addresses.
pub fn net_v6() -> NetConfig {
    NetConfig {
        local_ip: "fd3d:fa7b:d17d::1".parse().unwrap(),
        remote_ip: "fd3d:0a0b:17d6::1".parse().unwrap(),
        gateway_ip: "fd3d:fa7b:d17d:8888::1".parse().unwrap(),
        prefix_len: 64,
        mtu: 1520,
        ipv4_mapped_ipv6: false,
    }
}

/// One TCP segment to build.
#[derive(Debug, Clone)]
pub struct Seg {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub options: Vec<u8>,
    pub payload: Vec<u8>,
}

impl Seg {
    pub fn new(src: SocketAddr, dst: SocketAddr, flags: u8, seq: u32, ack: u32) -> Seg {
        Seg {
            src,
            dst,
            seq,
            ack,
            flags,
            window: 65535,
            options: Vec::new(),
            payload: Vec::new(),
        }
    }

    /// MSS option (kind 2).
    pub fn mss(mut self, mss: u16) -> Seg {
        self.options.extend_from_slice(&[2, 4]);
        self.options.extend_from_slice(&mss.to_be_bytes());
        self
    }

    pub fn payload(mut self, data: &[u8]) -> Seg {
        self.payload = data.to_vec();
        self
    }

    /// The IP packet, checksums included.
    pub fn build(&self) -> Vec<u8> {
        let mut opts = self.options.clone();
        opts.resize(opts.len().div_ceil(4) * 4, 0);
        let tcp_len = 20 + opts.len() + self.payload.len();
        let mut tcp = Vec::with_capacity(tcp_len);
        tcp.extend_from_slice(&self.src.port().to_be_bytes());
        tcp.extend_from_slice(&self.dst.port().to_be_bytes());
        tcp.extend_from_slice(&self.seq.to_be_bytes());
        tcp.extend_from_slice(&self.ack.to_be_bytes());
        tcp.push((((20 + opts.len()) / 4) as u8) << 4);
        tcp.push(self.flags);
        tcp.extend_from_slice(&self.window.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]);
        tcp.extend_from_slice(&opts);
        tcp.extend_from_slice(&self.payload);
        let mut pseudo = Vec::new();
        let mut packet = Vec::new();
        match (self.src.ip(), self.dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                pseudo.extend_from_slice(&s.octets());
                pseudo.extend_from_slice(&d.octets());
                pseudo.extend_from_slice(&[0, 6]);
                pseudo.extend_from_slice(&(tcp_len as u16).to_be_bytes());
                let total = (20 + tcp_len) as u16;
                packet.extend_from_slice(&[0x45, 0]);
                packet.extend_from_slice(&total.to_be_bytes());
                packet.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
                packet.extend_from_slice(&s.octets());
                packet.extend_from_slice(&d.octets());
                let c = checksum(&[&packet]);
                packet[10..12].copy_from_slice(&c.to_be_bytes());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                pseudo.extend_from_slice(&s.octets());
                pseudo.extend_from_slice(&d.octets());
                pseudo.extend_from_slice(&(tcp_len as u32).to_be_bytes());
                pseudo.extend_from_slice(&[0, 0, 0, 6]);
                packet.extend_from_slice(&[0x60, 0, 0, 0]);
                packet.extend_from_slice(&(tcp_len as u16).to_be_bytes());
                packet.extend_from_slice(&[6, 64]);
                packet.extend_from_slice(&s.octets());
                packet.extend_from_slice(&d.octets());
            }
            _ => panic!("mixed address families in a test segment"),
        }
        let c = checksum(&[&pseudo, &tcp]);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        packet.extend_from_slice(&tcp);
        packet
    }
}

/// The Internet checksum (RFC 1071) over the concatenation of `parts`.
fn checksum(parts: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = parts.concat();
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The fields of a TCP segment the kernel sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload_len: usize,
}

/// Decodes an IPv4 or IPv6 TCP packet (None for anything else).
pub fn parse(packet: &[u8]) -> Option<Parsed> {
    let (src, dst, tcp) = match packet.first()? >> 4 {
        4 => {
            let ihl = usize::from(packet[0] & 0xf) * 4;
            if *packet.get(9)? != 6 {
                return None;
            }
            let s: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            (IpAddr::from(s), IpAddr::from(d), packet.get(ihl..)?)
        }
        6 => {
            if *packet.get(6)? != 6 {
                return None;
            }
            let s: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            (IpAddr::from(s), IpAddr::from(d), packet.get(40..)?)
        }
        _ => return None,
    };
    let off = usize::from(tcp.get(12)? >> 4) * 4;
    Some(Parsed {
        src: SocketAddr::new(src, u16::from_be_bytes([tcp[0], tcp[1]])),
        dst: SocketAddr::new(dst, u16::from_be_bytes([tcp[2], tcp[3]])),
        seq: u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?),
        ack: u32::from_be_bytes(tcp.get(8..12)?.try_into().ok()?),
        flags: *tcp.get(13)?,
        payload_len: tcp.len().checked_sub(off)?,
    })
}

/// Waits (up to `timeout` from now on the run's clock) for the next event, skipping nothing.
pub fn next_event(
    stack: &mut dyn Stack,
    clock: &tcpconf::clock::RealClock,
    timeout: Duration,
) -> Vec<StackEvent> {
    let until = clock.now() + timeout;
    stack.wait(until).expect("wait")
}

/// Waits for the next TCP segment the kernel sends (failing the test after `timeout`).
pub fn expect_segment(
    stack: &mut dyn Stack,
    clock: &tcpconf::clock::RealClock,
    timeout: Duration,
) -> (Duration, Parsed) {
    let until = clock.now() + timeout;
    loop {
        let events = stack.wait(until).expect("wait");
        assert!(!events.is_empty(), "no segment within {timeout:?}");
        for e in events {
            if let StackEvent::Sent(o) = e
                && let Some(p) = parse(&o.packet)
            {
                return (o.at, p);
            }
        }
    }
}

/// Gathers every event until `done` holds for what was gathered (failing after `timeout`).
pub fn gather_until(
    stack: &mut dyn Stack,
    clock: &tcpconf::clock::RealClock,
    timeout: Duration,
    done: impl Fn(&[StackEvent]) -> bool,
) -> Vec<StackEvent> {
    let until = clock.now() + timeout;
    let mut all = Vec::new();
    while !done(&all) {
        let events = stack.wait(until).expect("wait");
        assert!(
            !events.is_empty(),
            "timed out after {timeout:?}; got {all:?}"
        );
        all.extend(events);
    }
    all
}

/// The TCP segments among `events`.
pub fn segments(events: &[StackEvent]) -> Vec<Parsed> {
    events
        .iter()
        .filter_map(|e| match e {
            StackEvent::Sent(o) => parse(&o.packet),
            StackEvent::Returned { .. } => None,
        })
        .collect()
}
