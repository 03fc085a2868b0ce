//! The reference stack's own packet codec: IPv4/IPv6 + TCP headers, parsed and emitted with
//! checksums. It is deliberately independent of the harness's `wire` module so that a codec bug
//! cannot cancel out between the harness and the stack it checks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use super::options::Options;
use super::seq::Seq;

/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// Fixed part of a TCP header.
pub const TCP_HEADER_LEN: usize = 20;
/// IPv4 header without options, as this stack sends it.
pub const IPV4_HEADER_LEN: usize = 20;
/// IPv6 fixed header.
pub const IPV6_HEADER_LEN: usize = 40;

/// Why an inbound packet was not a TCP segment this stack can process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CodecError {
    #[error("packet too short for its headers")]
    Truncated,
    #[error("IP version {0} is neither 4 nor 6")]
    BadVersion(u8),
    #[error("IP header length field is invalid")]
    BadIpHeaderLength,
    #[error("not a TCP packet (protocol {0})")]
    NotTcp(u8),
    #[error("IP fragments are not reassembled")]
    Fragment,
    #[error("TCP data offset is invalid")]
    BadDataOffset,
    #[error("TCP checksum mismatch")]
    BadChecksum,
}

/// TCP control bits (RFC 9293 §3.1, RFC 3168).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(pub u8);

impl Flags {
    pub const FIN: Flags = Flags(0x01);
    pub const SYN: Flags = Flags(0x02);
    pub const RST: Flags = Flags(0x04);
    pub const PSH: Flags = Flags(0x08);
    pub const ACK: Flags = Flags(0x10);
    pub const URG: Flags = Flags(0x20);
    /// ECN-Echo (RFC 3168 §6.1).
    pub const ECE: Flags = Flags(0x40);
    /// Congestion Window Reduced (RFC 3168 §6.1).
    pub const CWR: Flags = Flags(0x80);

    /// Whether every bit of `other` is set.
    pub fn has(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with the bits of `other` cleared.
    pub fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// A TCP header with parsed options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: Seq,
    pub ack: Seq,
    pub flags: Flags,
    pub window: u16,
    pub urgent: u16,
    pub options: Options,
}

/// An inbound TCP segment borrowed from the packet it arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub tcp: TcpHeader,
    pub payload: &'a [u8],
    /// The IP header's ECN field says Congestion Experienced (RFC 3168 §5).
    pub ce: bool,
}

/// One's-complement sum (RFC 1071) of `data` added to `acc`, folded later by [`fold`].
pub(crate) fn sum(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    acc + u64::from(u32::from_be_bytes(tail))
}

/// Folds a sum from [`sum`] into 16 bits; a message whose checksum verifies folds to `0xffff`.
pub(crate) fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The sum of the pseudo-header TCP (and ICMPv6, RFC 4443 §2.3) checksums cover.
pub(crate) fn pseudo_header_sum(src: IpAddr, dst: IpAddr, len: usize, proto: u8) -> u64 {
    let acc = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => sum(sum(0, &s.octets()), &d.octets()),
        (s, d) => {
            let s6 = match s {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            let d6 = match d {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            sum(sum(0, &s6.octets()), &d6.octets())
        }
    };
    acc + len as u64 + u64::from(proto)
}

fn be16(b: &[u8], at: usize) -> Result<u16, CodecError> {
    match b.get(at..at + 2) {
        Some(s) => Ok(u16::from_be_bytes([s[0], s[1]])),
        None => Err(CodecError::Truncated),
    }
}

fn be32(b: &[u8], at: usize) -> Result<u32, CodecError> {
    match b.get(at..at + 4) {
        Some(s) => Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(CodecError::Truncated),
    }
}

/// An IP packet split into addresses, upper-layer protocol and payload.
pub(crate) type IpParts<'a> = (IpAddr, IpAddr, u8, &'a [u8]);

/// Splits an IPv4 packet into addresses, protocol and payload, skipping IP options (MUST-50).
fn parse_ipv4(b: &[u8]) -> Result<IpParts<'_>, CodecError> {
    let ihl = usize::from(b.first().ok_or(CodecError::Truncated)? & 0x0f) * 4;
    if ihl < IPV4_HEADER_LEN {
        return Err(CodecError::BadIpHeaderLength);
    }
    let total = usize::from(be16(b, 2)?);
    if total < ihl || total > b.len() {
        return Err(CodecError::Truncated);
    }
    let frag = be16(b, 6)?;
    if frag & 0x3fff != 0 {
        return Err(CodecError::Fragment);
    }
    let proto = *b.get(9).ok_or(CodecError::Truncated)?;
    let src = Ipv4Addr::from(be32(b, 12)?);
    let dst = Ipv4Addr::from(be32(b, 16)?);
    Ok((src.into(), dst.into(), proto, &b[ihl..total]))
}

/// Splits an IPv6 packet into addresses, upper-layer protocol and payload, walking extension
/// headers.
fn parse_ipv6(b: &[u8]) -> Result<IpParts<'_>, CodecError> {
    if b.len() < IPV6_HEADER_LEN {
        return Err(CodecError::Truncated);
    }
    let payload_len = usize::from(be16(b, 4)?);
    let end = IPV6_HEADER_LEN + payload_len;
    if end > b.len() {
        return Err(CodecError::Truncated);
    }
    let mut src = [0u8; 16];
    src.copy_from_slice(&b[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&b[24..40]);
    let mut next = b[6];
    let mut at = IPV6_HEADER_LEN;
    loop {
        match next {
            // Hop-by-hop, routing, destination options: length in 8-octet units, excluding the first.
            0 | 43 | 60 => {
                let hdr = b.get(at..at + 2).ok_or(CodecError::Truncated)?;
                next = hdr[0];
                at += (usize::from(hdr[1]) + 1) * 8;
                if at > end {
                    return Err(CodecError::Truncated);
                }
            }
            44 => return Err(CodecError::Fragment),
            _ => break,
        }
    }
    Ok((
        Ipv6Addr::from(src).into(),
        Ipv6Addr::from(dst).into(),
        next,
        b.get(at..end).ok_or(CodecError::Truncated)?,
    ))
}

/// Splits an IPv4 or IPv6 packet into addresses, upper-layer protocol and payload.
pub(crate) fn parse_ip(packet: &[u8]) -> Result<IpParts<'_>, CodecError> {
    match packet.first().ok_or(CodecError::Truncated)? >> 4 {
        4 => parse_ipv4(packet),
        6 => parse_ipv6(packet),
        v => Err(CodecError::BadVersion(v)),
    }
}

/// Parses an IP packet carrying TCP and verifies the TCP checksum (MUST-3).
pub fn parse(packet: &[u8]) -> Result<Packet<'_>, CodecError> {
    let (src, dst, proto, t) = parse_ip(packet)?;
    if proto != IPPROTO_TCP {
        return Err(CodecError::NotTcp(proto));
    }
    if t.len() < TCP_HEADER_LEN {
        return Err(CodecError::Truncated);
    }
    let off = usize::from(t[12] >> 4) * 4;
    if off < TCP_HEADER_LEN || off > t.len() {
        return Err(CodecError::BadDataOffset);
    }
    if fold(sum(pseudo_header_sum(src, dst, t.len(), IPPROTO_TCP), t)) != 0xffff {
        return Err(CodecError::BadChecksum);
    }
    let tcp = TcpHeader {
        src_port: be16(t, 0)?,
        dst_port: be16(t, 2)?,
        seq: Seq(be32(t, 4)?),
        ack: Seq(be32(t, 8)?),
        flags: Flags(t[13]),
        window: be16(t, 14)?,
        urgent: be16(t, 18)?,
        options: Options::parse(&t[TCP_HEADER_LEN..off]),
    };
    Ok(Packet {
        src,
        dst,
        tcp,
        payload: &t[off..],
        ce: ecn_field(packet) == ECN_CE,
    })
}

/// ECN codepoints of the IP header (RFC 3168 §5).
const ECN_ECT0: u8 = 0b10;
const ECN_CE: u8 = 0b11;

/// The two ECN bits of an IPv4 TOS or IPv6 Traffic Class field.
fn ecn_field(packet: &[u8]) -> u8 {
    match (packet.first().map(|b| b >> 4), packet.get(1)) {
        (Some(4), Some(tos)) => tos & 0b11,
        // The Traffic Class straddles the first two octets; its ECN bits are bits 4–5 of the
        // second.
        (Some(6), Some(b)) => (b >> 4) & 0b11,
        _ => 0,
    }
}

/// Marks an emitted packet ECN-capable, ECT(0) (RFC 3168 §5), fixing the IPv4 header checksum.
pub fn set_ect0(packet: &mut [u8]) {
    match packet.first().map(|b| b >> 4) {
        Some(4) if packet.len() >= IPV4_HEADER_LEN => {
            packet[1] = (packet[1] & !0b11) | ECN_ECT0;
            let ihl = (usize::from(packet[0] & 0x0f) * 4).clamp(IPV4_HEADER_LEN, packet.len());
            packet[10..12].copy_from_slice(&[0, 0]);
            let csum = !fold(sum(0, &packet[..ihl]));
            packet[10..12].copy_from_slice(&csum.to_be_bytes());
        }
        Some(6) if packet.len() >= IPV6_HEADER_LEN => {
            packet[1] = (packet[1] & !0x30) | (ECN_ECT0 << 4);
        }
        _ => {}
    }
}

/// Length of the IP header this codec emits for `addr`'s family.
pub fn ip_header_len(addr: IpAddr) -> usize {
    match addr {
        IpAddr::V4(_) => IPV4_HEADER_LEN,
        IpAddr::V6(_) => IPV6_HEADER_LEN,
    }
}

/// Emits an IP packet carrying `hdr` (its options included) and the payload `data` (given as up to
/// two slices, as a ring buffer hands them out), with correct checksums (MUST-2). `ip_id` is the IPv4
/// identification. Addresses of mixed families are a caller bug and yield an IPv6 header.
pub fn emit(src: IpAddr, dst: IpAddr, hdr: &TcpHeader, data: [&[u8]; 2], ip_id: u16) -> Vec<u8> {
    let mut opts = [0u8; 40];
    let opt_len = hdr.options.emit(&mut opts);
    let tcp_len = TCP_HEADER_LEN + opt_len + data[0].len() + data[1].len();
    let ip_len = ip_header_len(src);
    let mut out = Vec::with_capacity(ip_len + tcp_len);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (ip_len + tcp_len) as u16;
            let mut ip = [0u8; IPV4_HEADER_LEN];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            ip[4..6].copy_from_slice(&ip_id.to_be_bytes());
            ip[6] = 0x40; // DF: this stack does not fragment.
            ip[8] = 64;
            ip[9] = IPPROTO_TCP;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let csum = !fold(sum(0, &ip));
            ip[10..12].copy_from_slice(&csum.to_be_bytes());
            out.extend_from_slice(&ip);
        }
        (s, d) => {
            let to6 = |a: IpAddr| match a {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            let mut ip = [0u8; IPV6_HEADER_LEN];
            ip[0] = 0x60;
            ip[4..6].copy_from_slice(&(tcp_len as u16).to_be_bytes());
            ip[6] = IPPROTO_TCP;
            ip[7] = 64;
            ip[8..24].copy_from_slice(&to6(s).octets());
            ip[24..40].copy_from_slice(&to6(d).octets());
            out.extend_from_slice(&ip);
        }
    }
    let start = out.len();
    out.extend_from_slice(&hdr.src_port.to_be_bytes());
    out.extend_from_slice(&hdr.dst_port.to_be_bytes());
    out.extend_from_slice(&hdr.seq.0.to_be_bytes());
    out.extend_from_slice(&hdr.ack.0.to_be_bytes());
    out.push((((TCP_HEADER_LEN + opt_len) / 4) as u8) << 4);
    out.push(hdr.flags.0);
    out.extend_from_slice(&hdr.window.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&hdr.urgent.to_be_bytes());
    out.extend_from_slice(&opts[..opt_len]);
    out.extend_from_slice(data[0]);
    out.extend_from_slice(data[1]);
    let csum = !fold(sum(
        pseudo_header_sum(src, dst, tcp_len, IPPROTO_TCP),
        &out[start..],
    ));
    out[start + 16..start + 18].copy_from_slice(&csum.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> TcpHeader {
        TcpHeader {
            src_port: 8080,
            dst_port: 40000,
            seq: Seq(1000),
            ack: Seq(2000),
            flags: Flags::ACK | Flags::PSH,
            window: 512,
            urgent: 0,
            options: Options {
                timestamps: Some((5, 6)),
                ..Options::default()
            },
        }
    }

    #[test]
    fn ipv4_round_trip_with_checksums() {
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let dst: IpAddr = "192.0.2.2".parse().unwrap();
        let pkt = emit(src, dst, &header(), [b"hel", b"lo"], 7);
        let p = parse(&pkt).unwrap();
        assert_eq!((p.src, p.dst), (src, dst));
        assert_eq!(p.tcp, header());
        assert_eq!(p.payload, b"hello");
        // The IPv4 header checksum verifies.
        assert_eq!(fold(sum(0, &pkt[..20])), 0xffff);
    }

    /// RFC 3168 §5: ECT(0) set on emission, CE recognised on arrival, in both IP versions.
    #[test]
    fn ecn_codepoints() {
        for (src, dst) in [("192.0.2.1", "192.0.2.2"), ("2001:db8::1", "2001:db8::2")] {
            let (src, dst): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
            let mut pkt = emit(src, dst, &header(), [b"x", b""], 7);
            assert_eq!(ecn_field(&pkt), 0);
            set_ect0(&mut pkt);
            assert_eq!(ecn_field(&pkt), ECN_ECT0);
            assert!(!parse(&pkt).unwrap().ce);
            if src.is_ipv4() {
                assert_eq!(fold(sum(0, &pkt[..20])), 0xffff);
                pkt[1] |= ECN_CE;
            } else {
                pkt[1] |= ECN_CE << 4;
            }
            assert!(parse(&pkt).unwrap().ce);
        }
    }

    #[test]
    fn ipv6_round_trip_with_extension_header() {
        let src: IpAddr = "2001:db8::1".parse().unwrap();
        let dst: IpAddr = "2001:db8::2".parse().unwrap();
        let pkt = emit(src, dst, &header(), [b"odd", b""], 0);
        assert_eq!(parse(&pkt).unwrap().payload, b"odd");
        // Insert an 8-byte destination-options header in front of TCP.
        let mut ext = pkt[..40].to_vec();
        ext[6] = 60;
        let len = u16::from_be_bytes([ext[4], ext[5]]) + 8;
        ext[4..6].copy_from_slice(&len.to_be_bytes());
        ext.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
        ext.extend_from_slice(&pkt[40..]);
        assert_eq!(parse(&ext).unwrap().payload, b"odd");
    }

    /// MUST-3: a segment with a bad checksum is rejected.
    #[test]
    fn bad_checksum_and_garbage_are_errors_not_panics() {
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let dst: IpAddr = "192.0.2.2".parse().unwrap();
        let mut pkt = emit(src, dst, &header(), [b"x", b""], 0);
        let last = pkt.len() - 1;
        pkt[last] ^= 1;
        assert_eq!(parse(&pkt), Err(CodecError::BadChecksum));
        for n in 0..pkt.len() {
            let _ = parse(&pkt[..n]);
        }
        assert_eq!(parse(&[0x75]), Err(CodecError::BadVersion(7)));
    }
}
