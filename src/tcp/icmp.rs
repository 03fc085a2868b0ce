//! ICMP and ICMPv6 error messages about this host's TCP segments (RFC 9293 §3.9.2.2): parsing,
//! checksum verification, the quoted segment that names the connection (MUST-54) and the
//! soft/hard classification.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::codec::{self, CodecError, IPPROTO_TCP};
use super::error::Error;
use super::seq::Seq;

const IPPROTO_ICMP: u8 = 1;
const IPPROTO_ICMPV6: u8 = 58;
/// Type, code, checksum and the four type-specific octets before the quoted packet.
const ICMP_HEADER_LEN: usize = 8;
/// RFC 1191 §3: no IPv4 path MTU is below 68 octets.
pub const MIN_MTU_V4: u32 = 68;
/// RFC 8200 §5: every IPv6 link carries 1280 octets.
pub const MIN_MTU_V6: u32 = 1280;

/// What an ICMP error asks of the connection it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpKind {
    /// Source Quench: silently discarded (MUST-55).
    SourceQuench,
    /// A soft error: never aborts (MUST-56), made visible to the application (SHLD-25).
    Soft(Error),
    /// A hard error (Destination Unreachable codes 2–3): aborts the connection (SHLD-26).
    Hard(Error),
    /// Fragmentation needed and DF set (IPv4 Destination Unreachable code 4, RFC 1191) or ICMPv6
    /// Packet Too Big (RFC 8201): the path MTU the router reported. This stack sets DF on every
    /// packet, so the message is path MTU discovery (§3.7.2), not a failure of the peer.
    PacketTooBig(u32),
}

/// An ICMP error message about a TCP segment this host sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpError {
    /// The address the message was sent to (one of ours, if it is for us).
    pub dst: IpAddr,
    pub kind: IcmpKind,
    /// Our end of the connection: the source of the quoted segment.
    pub local: SocketAddr,
    /// The peer's end: the destination of the quoted segment.
    pub remote: SocketAddr,
    /// The sequence number of the quoted segment.
    pub seq: Seq,
}

/// Parses `packet` as an ICMP or ICMPv6 error quoting a TCP segment. `Ok(None)`: a valid
/// message that is no such error (echo, redirect, an error about UDP, …).
pub fn parse(packet: &[u8]) -> Result<Option<IcmpError>, CodecError> {
    let (src, dst, proto, msg) = codec::parse_ip(packet)?;
    let v6 = match (proto, dst) {
        (IPPROTO_ICMP, IpAddr::V4(_)) => false,
        (IPPROTO_ICMPV6, IpAddr::V6(_)) => true,
        (other, _) => return Err(CodecError::NotTcp(other)),
    };
    if msg.len() < ICMP_HEADER_LEN {
        return Err(CodecError::Truncated);
    }
    let acc = if v6 {
        codec::pseudo_header_sum(src, dst, msg.len(), IPPROTO_ICMPV6)
    } else {
        0
    };
    if codec::fold(codec::sum(acc, msg)) != 0xffff {
        return Err(CodecError::BadChecksum);
    }
    let (icmp_type, code) = (msg[0], msg[1]);
    let word = u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]);
    let kind = if v6 {
        classify_v6(icmp_type, code, word)
    } else {
        classify_v4(icmp_type, code, word)
    };
    let Some(kind) = kind else {
        return Ok(None);
    };
    let Some((local, remote, seq)) = quoted_segment(&msg[ICMP_HEADER_LEN..], v6)? else {
        return Ok(None);
    };
    Ok(Some(IcmpError {
        dst,
        kind,
        local,
        remote,
        seq,
    }))
}

/// RFC 9293 §3.9.2.2 for IPv4 (RFC 1122 §4.2.3.9): Destination Unreachable 0, 1, 5, Time
/// Exceeded and Parameter Problem are soft; 2–4 hard, with 4 read as RFC 1191's path MTU
/// signal. Codes the RFC does not classify are taken as soft, since only hard errors abort.
/// The errors are the ones Linux reports for each code.
fn classify_v4(icmp_type: u8, code: u8, word: u32) -> Option<IcmpKind> {
    Some(match (icmp_type, code) {
        (3, 2) => IcmpKind::Hard(Error::NoProtoOpt),
        (3, 3) => IcmpKind::Hard(Error::ConnectionRefused),
        // RFC 1191 §4: the next-hop MTU is the low 16 bits of the word.
        (3, 4) => IcmpKind::PacketTooBig(word & 0xffff),
        (3, 5) => IcmpKind::Soft(Error::NotSupported),
        (3, 0 | 6 | 9 | 11) => IcmpKind::Soft(Error::NetUnreachable),
        (3, _) => IcmpKind::Soft(Error::HostUnreachable),
        (4, _) => IcmpKind::SourceQuench,
        (11, _) => IcmpKind::Soft(Error::HostUnreachable),
        (12, _) => IcmpKind::Soft(Error::ProtocolError),
        _ => return None,
    })
}

/// RFC 9293 §3.9.2.2 for ICMPv6: Destination Unreachable 0 and 3, Time Exceeded and Parameter
/// Problem are soft. The RFC names no ICMPv6 hard error; Port Unreachable (code 4, RFC 4443
/// §3.1) is the counterpart of IPv4's code 3 and is taken as hard like it, the other codes as
/// soft.
fn classify_v6(icmp_type: u8, code: u8, word: u32) -> Option<IcmpKind> {
    Some(match (icmp_type, code) {
        (1, 0) => IcmpKind::Soft(Error::NetUnreachable),
        (1, 4) => IcmpKind::Hard(Error::ConnectionRefused),
        (1, _) => IcmpKind::Soft(Error::HostUnreachable),
        (2, _) => IcmpKind::PacketTooBig(word),
        (3, _) => IcmpKind::Soft(Error::HostUnreachable),
        (4, _) => IcmpKind::Soft(Error::ProtocolError),
        _ => return None,
    })
}

/// The 4-tuple and sequence number of the TCP segment an ICMP error quotes: its IP header and
/// at least the first 8 octets of TCP (RFC 792). The quote is usually cut short, so the quoted
/// IP length fields are not checked against it. `None` if it does not quote TCP.
fn quoted_segment(
    quote: &[u8],
    v6: bool,
) -> Result<Option<(SocketAddr, SocketAddr, Seq)>, CodecError> {
    let (src, dst, proto, tcp): (IpAddr, IpAddr, u8, &[u8]) = if v6 {
        let hdr = quote
            .get(..codec::IPV6_HEADER_LEN)
            .ok_or(CodecError::Truncated)?;
        let mut src = [0u8; 16];
        src.copy_from_slice(&hdr[8..24]);
        let mut dst = [0u8; 16];
        dst.copy_from_slice(&hdr[24..40]);
        (
            Ipv6Addr::from(src).into(),
            Ipv6Addr::from(dst).into(),
            hdr[6],
            &quote[codec::IPV6_HEADER_LEN..],
        )
    } else {
        let first = *quote.first().ok_or(CodecError::Truncated)?;
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < codec::IPV4_HEADER_LEN {
            return Err(CodecError::BadIpHeaderLength);
        }
        let hdr = quote.get(..ihl).ok_or(CodecError::Truncated)?;
        let addr = |at: usize| Ipv4Addr::new(hdr[at], hdr[at + 1], hdr[at + 2], hdr[at + 3]);
        (addr(12).into(), addr(16).into(), hdr[9], &quote[ihl..])
    };
    if proto != IPPROTO_TCP {
        return Ok(None);
    }
    let t = tcp.get(..8).ok_or(CodecError::Truncated)?;
    let src_port = u16::from_be_bytes([t[0], t[1]]);
    let dst_port = u16::from_be_bytes([t[2], t[3]]);
    let seq = Seq(u32::from_be_bytes([t[4], t[5], t[6], t[7]]));
    Ok(Some((
        SocketAddr::new(src, src_port),
        SocketAddr::new(dst, dst_port),
        seq,
    )))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tcp::codec::{Flags, TcpHeader};

    /// An ICMP (or ICMPv6) error from `router` to `to`, quoting the first `quote_len` octets of
    /// `original`'s TCP header.
    pub(crate) fn icmp_error(
        router: IpAddr,
        to: IpAddr,
        icmp_type: u8,
        code: u8,
        word: u32,
        original: &[u8],
        quote_len: usize,
    ) -> Vec<u8> {
        let ip_len = codec::ip_header_len(to);
        let quoted = &original[..(ip_len + quote_len).min(original.len())];
        let mut msg = vec![icmp_type, code, 0, 0];
        msg.extend_from_slice(&word.to_be_bytes());
        msg.extend_from_slice(quoted);
        let v6 = to.is_ipv6();
        let acc = if v6 {
            codec::pseudo_header_sum(router, to, msg.len(), IPPROTO_ICMPV6)
        } else {
            0
        };
        let csum = !codec::fold(codec::sum(acc, &msg));
        msg[2..4].copy_from_slice(&csum.to_be_bytes());
        let mut out = Vec::new();
        match (router, to) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let total = (20 + msg.len()) as u16;
                let mut ip = [0u8; 20];
                ip[0] = 0x45;
                ip[2..4].copy_from_slice(&total.to_be_bytes());
                ip[8] = 64;
                ip[9] = IPPROTO_ICMP;
                ip[12..16].copy_from_slice(&s.octets());
                ip[16..20].copy_from_slice(&d.octets());
                let c = !codec::fold(codec::sum(0, &ip));
                ip[10..12].copy_from_slice(&c.to_be_bytes());
                out.extend_from_slice(&ip);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut ip = [0u8; 40];
                ip[0] = 0x60;
                ip[4..6].copy_from_slice(&(msg.len() as u16).to_be_bytes());
                ip[6] = IPPROTO_ICMPV6;
                ip[7] = 64;
                ip[8..24].copy_from_slice(&s.octets());
                ip[24..40].copy_from_slice(&d.octets());
                out.extend_from_slice(&ip);
            }
            _ => panic!("mixed address families"),
        }
        out.extend_from_slice(&msg);
        out
    }

    fn segment(src: IpAddr, dst: IpAddr, seq: u32) -> Vec<u8> {
        let hdr = TcpHeader {
            src_port: 8080,
            dst_port: 40000,
            seq: Seq(seq),
            flags: Flags::ACK,
            ..TcpHeader::default()
        };
        codec::emit(src, dst, &hdr, [b"data", b""], 1)
    }

    #[test]
    fn ipv4_port_unreachable_quoting_eight_octets() {
        let (us, peer, router) = (
            "192.0.2.1".parse().unwrap(),
            "198.51.100.2".parse().unwrap(),
            "203.0.113.9".parse().unwrap(),
        );
        let original = segment(us, peer, 7);
        let pkt = icmp_error(router, us, 3, 3, 0, &original, 8);
        let e = parse(&pkt).unwrap().unwrap();
        assert_eq!(e.kind, IcmpKind::Hard(Error::ConnectionRefused));
        assert_eq!(e.dst, us);
        assert_eq!(e.local, SocketAddr::new(us, 8080));
        assert_eq!(e.remote, SocketAddr::new(peer, 40000));
        assert_eq!(e.seq, Seq(7));
    }

    #[test]
    fn classification_follows_rfc_9293() {
        use IcmpKind::*;
        assert_eq!(classify_v4(3, 0, 0), Some(Soft(Error::NetUnreachable)));
        assert_eq!(classify_v4(3, 1, 0), Some(Soft(Error::HostUnreachable)));
        assert_eq!(classify_v4(3, 2, 0), Some(Hard(Error::NoProtoOpt)));
        assert_eq!(classify_v4(3, 3, 0), Some(Hard(Error::ConnectionRefused)));
        assert_eq!(classify_v4(3, 4, 1400), Some(PacketTooBig(1400)));
        assert_eq!(classify_v4(3, 5, 0), Some(Soft(Error::NotSupported)));
        assert_eq!(classify_v4(4, 0, 0), Some(SourceQuench));
        assert_eq!(classify_v4(11, 1, 0), Some(Soft(Error::HostUnreachable)));
        assert_eq!(classify_v4(12, 0, 0), Some(Soft(Error::ProtocolError)));
        assert_eq!(classify_v4(8, 0, 0), None);
        assert_eq!(classify_v6(1, 0, 0), Some(Soft(Error::NetUnreachable)));
        assert_eq!(classify_v6(1, 3, 0), Some(Soft(Error::HostUnreachable)));
        assert_eq!(classify_v6(1, 4, 0), Some(Hard(Error::ConnectionRefused)));
        assert_eq!(classify_v6(2, 0, 1280), Some(PacketTooBig(1280)));
        assert_eq!(classify_v6(4, 2, 0), Some(Soft(Error::ProtocolError)));
        assert_eq!(classify_v6(128, 0, 0), None);
    }

    #[test]
    fn ipv6_packet_too_big_with_checksum_over_pseudo_header() {
        let (us, peer, router): (IpAddr, IpAddr, IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
            "2001:db8::fe".parse().unwrap(),
        );
        let original = segment(us, peer, 99);
        let mut pkt = icmp_error(router, us, 2, 0, 1280, &original, 20);
        let e = parse(&pkt).unwrap().unwrap();
        assert_eq!(e.kind, IcmpKind::PacketTooBig(1280));
        assert_eq!((e.local.port(), e.seq), (8080, Seq(99)));
        let last = pkt.len() - 1;
        pkt[last] ^= 0x40;
        assert_eq!(parse(&pkt), Err(CodecError::BadChecksum));
    }

    #[test]
    fn short_or_foreign_messages_are_errors_or_ignored_never_panics() {
        let us: IpAddr = "192.0.2.1".parse().unwrap();
        let router: IpAddr = "203.0.113.9".parse().unwrap();
        let original = segment(us, "198.51.100.2".parse().unwrap(), 1);
        let full = icmp_error(router, us, 3, 3, 0, &original, 8);
        for n in 0..full.len() {
            let mut cut = full[..n].to_vec();
            if cut.len() >= 4 {
                cut[2..4].copy_from_slice(&(n as u16).to_be_bytes());
            }
            let _ = parse(&cut);
        }
        // Quoting fewer than 8 TCP octets: no sequence number to check.
        let short = icmp_error(router, us, 3, 3, 0, &original, 4);
        assert_eq!(parse(&short), Err(CodecError::Truncated));
        // Echo request: valid, not an error.
        let echo = icmp_error(router, us, 8, 0, 0, &original, 8);
        assert_eq!(parse(&echo), Ok(None));
    }
}
