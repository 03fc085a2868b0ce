//! `--pcap FILE`: every injected and observed packet of a run, one script after the other.
//!
//! Every script plays the same addresses, ports and (on the reference stack) initial sequence
//! numbers, so a capture of several scripts would show them as one conversation. Each script
//! after the first therefore gets its own tcpconf-side port: the port of the side tcpconf plays
//! (the source of injected packets, the destination of observed ones) is moved by
//! [`PORT_STRIDE`] per script, with the TCP checksum adjusted to match (RFC 1624), so Wireshark
//! keeps the scripts apart. Times are shifted past the previous script's last packet.

use std::io::{self, Write};
use std::time::Duration;

use crate::suite::Outcome;
use crate::wire::pcap::PcapWriter;

/// How far apart the tcpconf-side ports of consecutive scripts are: a script may open several
/// connections, each on the next port.
pub const PORT_STRIDE: u16 = 16;

/// Writes the packets of `outcomes` to `out` as one pcap (LINKTYPE_RAW).
pub fn write_pcap(outcomes: &[Outcome], out: impl Write) -> io::Result<()> {
    let mut w = PcapWriter::new(out)?;
    let mut offset = Duration::ZERO;
    for (i, o) in outcomes.iter().enumerate() {
        let shift = u16::try_from(i % usize::from(u16::MAX / PORT_STRIDE))
            .unwrap_or(0)
            .wrapping_mul(PORT_STRIDE);
        let mut last = Duration::ZERO;
        for (at, injected, bytes) in o.result.trace.packets() {
            let mut packet = bytes.to_vec();
            shift_peer_port(&mut packet, injected, shift);
            w.write_packet(offset + at, &packet)?;
            last = last.max(at);
        }
        offset += last + Duration::from_secs(1);
    }
    w.into_inner()?.flush()
}

/// Adds `shift` to the port tcpconf plays in a TCP packet (source if `injected`, else
/// destination) and fixes the TCP checksum incrementally; other packets are left as they are.
fn shift_peer_port(packet: &mut [u8], injected: bool, shift: u16) {
    if shift == 0 {
        return;
    }
    let Some(tcp) = tcp_offset(packet) else {
        return;
    };
    let port_at = tcp + if injected { 0 } else { 2 };
    let (Some(port), Some(sum)) = (be16(packet, port_at), be16(packet, tcp + 16)) else {
        return;
    };
    let new = port.wrapping_add(shift);
    // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
    let mut acc = u32::from(!sum) + u32::from(!port) + u32::from(new);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    let fixed = !u16::try_from(acc).unwrap_or(0);
    put16(packet, port_at, new);
    put16(packet, tcp + 16, fixed);
}

/// Where the TCP header starts in a raw IPv4 or IPv6 packet carrying TCP directly.
fn tcp_offset(packet: &[u8]) -> Option<usize> {
    const TCP: u8 = 6;
    let first = *packet.first()?;
    let offset = match first >> 4 {
        4 if *packet.get(9)? == TCP => usize::from(first & 0x0f) * 4,
        6 if *packet.get(6)? == TCP => 40,
        _ => return None,
    };
    (packet.len() >= offset + 20).then_some(offset)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    if let Some(slot) = b.get_mut(at..at + 2) {
        slot.copy_from_slice(&v.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{self, IpHeader, Packet, Segment, TcpFlags};

    #[test]
    fn shifted_ports_keep_a_valid_checksum() {
        let ip = IpHeader::new([192, 0, 2, 1].into(), [192, 168, 0, 1].into());
        let segment = ip.map(|ip| Segment {
            seq: 7,
            flags: TcpFlags::SYN,
            window: 65535,
            payload: b"data".to_vec(),
            ..Segment::new(ip, 40000, 8080)
        });
        let bytes = segment.and_then(|s| wire::encode(&Packet::Tcp(s)));
        let bytes = bytes.unwrap_or_default();
        assert!(!bytes.is_empty());
        for (injected, port_of) in [(true, 0usize), (false, 2)] {
            let mut packet = bytes.clone();
            shift_peer_port(&mut packet, injected, 32);
            let decoded = wire::decode_full(&packet);
            assert!(
                decoded.as_ref().is_ok_and(|d| d.checksums.all_valid()),
                "{decoded:?}"
            );
            let at = tcp_offset(&packet).map(|t| t + port_of);
            let original = at.and_then(|a| be16(&bytes, a));
            assert_eq!(at.and_then(|a| be16(&packet, a)), original.map(|p| p + 32));
        }
    }
}
