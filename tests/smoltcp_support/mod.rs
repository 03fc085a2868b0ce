//! Test-only IPv4 + TCP packets for driving stack adapters by hand: a minimal builder and
//! decoder, written independently of smoltcp's own codec so a test does not check smoltcp
//! against itself.

#![allow(dead_code)] // each test binary uses a different part of it

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use tcpconf::stack::{NetConfig, Outbound, Stack, StackEvent, SyscallOutcome};

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

pub const STACK_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// packetdrill's default addresses.
pub fn net() -> NetConfig {
    NetConfig {
        local_ip: STACK_IP.into(),
        remote_ip: PEER_IP.into(),
        gateway_ip: Ipv4Addr::new(192, 168, 0, 2).into(),
        prefix_len: 16,
        mtu: 1500,
        ipv4_mapped_ipv6: false,
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// One TCP segment from the peer's point of view.
#[derive(Debug, Clone)]
pub struct Seg {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    pub mss: Option<u16>,
    pub sack_perm: bool,
    /// SACK blocks (left, right) to send, or those received.
    pub sack: Vec<(u32, u32)>,
    pub payload: Vec<u8>,
}

impl Seg {
    pub fn new(src: SocketAddrV4, dst: SocketAddrV4, flags: u8, seq: u32, ack: u32) -> Self {
        Self {
            src,
            dst,
            flags,
            seq,
            ack,
            win: 65535,
            mss: None,
            sack_perm: false,
            sack: Vec::new(),
            payload: Vec::new(),
        }
    }

    pub fn sack_perm(mut self) -> Self {
        self.sack_perm = true;
        self
    }

    pub fn sack(mut self, left: u32, right: u32) -> Self {
        self.sack.push((left, right));
        self
    }

    pub fn mss(mut self, mss: u16) -> Self {
        self.mss = Some(mss);
        self
    }

    pub fn data(mut self, payload: &[u8]) -> Self {
        self.payload = payload.to_vec();
        self
    }

    pub fn has(&self, flags: u8) -> bool {
        self.flags & flags == flags
    }

    /// The raw IPv4 packet.
    pub fn build(&self) -> Vec<u8> {
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&self.src.port().to_be_bytes());
        tcp.extend_from_slice(&self.dst.port().to_be_bytes());
        tcp.extend_from_slice(&self.seq.to_be_bytes());
        tcp.extend_from_slice(&self.ack.to_be_bytes());
        let mut opts: Vec<u8> = Vec::new();
        if let Some(mss) = self.mss {
            opts.extend_from_slice(&[2, 4]);
            opts.extend_from_slice(&mss.to_be_bytes());
        }
        if self.sack_perm {
            opts.extend_from_slice(&[1, 1, 4, 2]);
        }
        if !self.sack.is_empty() {
            opts.extend_from_slice(&[1, 1, 5, 2 + 8 * self.sack.len() as u8]);
            for (l, r) in &self.sack {
                opts.extend_from_slice(&l.to_be_bytes());
                opts.extend_from_slice(&r.to_be_bytes());
            }
        }
        tcp.push((((20 + opts.len()) / 4) << 4) as u8);
        tcp.push(self.flags);
        tcp.extend_from_slice(&self.win.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        tcp.extend_from_slice(&opts);
        tcp.extend_from_slice(&self.payload);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&self.src.ip().octets());
        pseudo.extend_from_slice(&self.dst.ip().octets());
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(&tcp);
        let sum = checksum(&pseudo);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());

        let total = (20 + tcp.len()) as u16;
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&self.src.ip().octets());
        ip.extend_from_slice(&self.dst.ip().octets());
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        ip.extend_from_slice(&tcp);
        ip
    }

    /// Decodes an IPv4 TCP packet (panics on anything else: test input only).
    pub fn parse(packet: &[u8]) -> Seg {
        assert_eq!(packet[0] >> 4, 4, "not IPv4: {packet:02x?}");
        assert_eq!(packet[9], 6, "not TCP");
        let ihl = usize::from(packet[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
        let ip = |o: usize| Ipv4Addr::new(packet[o], packet[o + 1], packet[o + 2], packet[o + 3]);
        let t = &packet[ihl..total];
        let u16_at = |o: usize| u16::from_be_bytes([t[o], t[o + 1]]);
        let u32_at = |o: usize| u32::from_be_bytes([t[o], t[o + 1], t[o + 2], t[o + 3]]);
        let doff = usize::from(t[12] >> 4) * 4;
        let mut mss = None;
        let mut sack_perm = false;
        let mut sack = Vec::new();
        let mut i = 20;
        while i < doff {
            match t[i] {
                0 => break,
                1 => i += 1,
                kind => {
                    let len = usize::from(t[i + 1]).max(2);
                    match kind {
                        2 => mss = Some(u16_at(i + 2)),
                        4 => sack_perm = true,
                        5 => {
                            for b in (i + 2..i + len).step_by(8) {
                                sack.push((u32_at(b), u32_at(b + 4)));
                            }
                        }
                        _ => {}
                    }
                    i += len;
                }
            }
        }
        Seg {
            src: SocketAddrV4::new(ip(12), u16_at(0)),
            dst: SocketAddrV4::new(ip(16), u16_at(2)),
            flags: t[13],
            seq: u32_at(4),
            ack: u32_at(8),
            win: u16_at(14),
            mss,
            sack_perm,
            sack,
            payload: t[doff..].to_vec(),
        }
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Waits until `until` and returns the packets sent in the first batch, with their times.
pub fn sent(stack: &mut dyn Stack, until: Duration) -> Vec<(Duration, Seg)> {
    stack
        .wait(until)
        .expect("wait")
        .into_iter()
        .filter_map(|e| match e {
            StackEvent::Sent(Outbound { at, packet }) => Some((at, Seg::parse(&packet))),
            StackEvent::Returned { .. } => None,
        })
        .collect()
}

/// Every event up to `until`, in order.
pub fn all_events(stack: &mut dyn Stack, until: Duration) -> Vec<StackEvent> {
    let mut out = Vec::new();
    loop {
        let batch = stack.wait(until).expect("wait");
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

/// The single segment sent next before `until`.
pub fn expect_one(stack: &mut dyn Stack, until: Duration) -> (Duration, Seg) {
    let mut got = sent(stack, until);
    assert_eq!(got.len(), 1, "expected one segment, got {got:?}");
    got.remove(0)
}

/// Asserts nothing at all happens before `until`.
pub fn expect_quiet(stack: &mut dyn Stack, until: Duration) {
    let events = stack.wait(until).expect("wait");
    assert!(
        events.is_empty(),
        "expected silence until {until:?}, got {events:?}"
    );
}

/// The outcome of the blocked call that returned in the next batch.
pub fn returned(events: &[StackEvent]) -> Option<SyscallOutcome> {
    events.iter().find_map(|e| match e {
        StackEvent::Returned { outcome, .. } => Some(outcome.clone()),
        StackEvent::Sent(_) => None,
    })
}
