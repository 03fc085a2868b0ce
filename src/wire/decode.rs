//! Bytes → packet. Never panics; reports checksums instead of enforcing them.

use etherparse::IpSlice;

use super::encode::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use super::options::parse_options;
use super::{
    Datagram, IcmpMessage, IpHeader, Ipv4Fields, Ipv6Fields, Packet, Segment, TcpFlags, WireError,
    checksum,
};

/// Whether the checksums of a decoded packet verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksums {
    /// The IPv4 header checksum; `None` for IPv6, which has none.
    pub ip: Option<bool>,
    /// The TCP, UDP or ICMP checksum. A zero UDP checksum over IPv4 means "not computed" and counts
    /// as valid (RFC 768); over IPv6 it is invalid (RFC 8200 §8.1).
    pub transport: bool,
}

impl Checksums {
    /// Every checksum present verifies.
    pub fn all_valid(&self) -> bool {
        self.ip != Some(false) && self.transport
    }
}

/// A decoded packet and what its checksums said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub packet: Packet,
    pub checksums: Checksums,
}

/// Reads one raw IP packet (IPv4 or IPv6, no link-layer header), ignoring its checksums.
pub fn decode(bytes: &[u8]) -> Result<Packet, WireError> {
    decode_full(bytes).map(|d| d.packet)
}

/// Reads one raw IP packet and checks its checksums.
///
/// IPv4 options and IPv6 extension headers are skipped; bytes after the length the IP header gives
/// (link-layer padding) are ignored. Fragments are refused. TCP options never cause an error.
pub fn decode_full(bytes: &[u8]) -> Result<Decoded, WireError> {
    let version = bytes.first().map(|b| b >> 4);
    if !matches!(version, Some(4 | 6)) {
        return match version {
            Some(v) => Err(WireError::IpVersion(v)),
            None => Err(WireError::Truncated {
                layer: "IP",
                need: 1,
                have: 0,
            }),
        };
    }
    let slice = IpSlice::from_slice(bytes).map_err(|e| WireError::IpHeader(e.to_string()))?;
    let (ip, ip_checksum) = match &slice {
        IpSlice::Ipv4(s) => {
            let h = s.header();
            let fields = Ipv4Fields {
                src: h.source_addr(),
                dst: h.destination_addr(),
                ttl: h.ttl(),
                tos: (h.dcp().value() << 2) | h.ecn().value(),
                id: h.identification(),
                dont_fragment: h.dont_fragment(),
            };
            (IpHeader::V4(fields), Some(checksum::plain(h.slice()) == 0))
        }
        IpSlice::Ipv6(s) => {
            let h = s.header();
            let fields = Ipv6Fields {
                src: h.source_addr(),
                dst: h.destination_addr(),
                hop_limit: h.hop_limit(),
                traffic_class: h.traffic_class(),
                flow_label: h.flow_label().value(),
            };
            (IpHeader::V6(fields), None)
        }
    };
    let payload = slice.payload();
    if payload.fragmented {
        return Err(WireError::Fragment);
    }
    let (packet, transport) = match (payload.ip_number.0, &ip) {
        (PROTO_TCP, _) => tcp(ip, payload.payload)?,
        (PROTO_UDP, _) => udp(ip, payload.payload)?,
        (PROTO_ICMP, IpHeader::V4(_)) | (PROTO_ICMPV6, IpHeader::V6(_)) => {
            icmp(ip, payload.payload)?
        }
        (other, _) => return Err(WireError::Protocol(other)),
    };
    Ok(Decoded {
        packet,
        checksums: Checksums {
            ip: ip_checksum,
            transport,
        },
    })
}

/// A TCP segment (RFC 9293 §3.1), read by hand: etherparse exposes neither the reserved bits nor the
/// raw data offset of a segment whose offset lies.
fn tcp(ip: IpHeader, bytes: &[u8]) -> Result<(Packet, bool), WireError> {
    let truncated = || WireError::Truncated {
        layer: "TCP",
        need: 20,
        have: bytes.len(),
    };
    let h: &[u8; 20] = bytes.first_chunk().ok_or_else(truncated)?;
    let be16 = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let offset = h[12] >> 4;
    let header_len = usize::from(offset) * 4;
    let (options, payload) = match (bytes.get(20..header_len), bytes.get(header_len..)) {
        (Some(options), Some(payload)) if offset >= 5 => (options, payload),
        _ => {
            return Err(WireError::DataOffset {
                offset,
                len: bytes.len(),
            });
        }
    };
    let valid = checksum::with_pseudo_header(&ip, PROTO_TCP, bytes) == 0;
    let segment = Segment {
        ip,
        src_port: be16(0),
        dst_port: be16(2),
        seq: be32(4),
        ack: be32(8),
        flags: TcpFlags::from_bits(be16(12)),
        window: be16(14),
        urgent: be16(18),
        options: parse_options(options),
        payload: payload.to_vec(),
    };
    Ok((Packet::Tcp(segment), valid))
}

/// A UDP datagram (RFC 768); its length field bounds the payload.
fn udp(ip: IpHeader, bytes: &[u8]) -> Result<(Packet, bool), WireError> {
    let h: &[u8; 8] = bytes.first_chunk().ok_or(WireError::Truncated {
        layer: "UDP",
        need: 8,
        have: bytes.len(),
    })?;
    let field = u16::from_be_bytes([h[4], h[5]]);
    let datagram = bytes
        .get(..usize::from(field))
        .filter(|_| field >= 8)
        .ok_or(WireError::UdpLength {
            field,
            len: bytes.len(),
        })?;
    let sent = u16::from_be_bytes([h[6], h[7]]);
    let valid = match (&ip, sent) {
        (IpHeader::V4(_), 0) => true,
        _ => checksum::with_pseudo_header(&ip, PROTO_UDP, datagram) == 0,
    };
    let d = Datagram {
        ip,
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        payload: datagram.get(8..).unwrap_or_default().to_vec(),
    };
    Ok((Packet::Udp(d), valid))
}

/// An ICMP (RFC 792) or ICMPv6 (RFC 4443, checksum over a pseudo-header) message, kept raw.
fn icmp(ip: IpHeader, bytes: &[u8]) -> Result<(Packet, bool), WireError> {
    let h: &[u8; 8] = bytes.first_chunk().ok_or(WireError::Truncated {
        layer: "ICMP",
        need: 8,
        have: bytes.len(),
    })?;
    let valid = match ip {
        IpHeader::V4(_) => checksum::plain(bytes) == 0,
        IpHeader::V6(_) => checksum::with_pseudo_header(&ip, PROTO_ICMPV6, bytes) == 0,
    };
    let m = IcmpMessage {
        ip,
        icmp_type: h[0],
        code: h[1],
        rest: [h[4], h[5], h[6], h[7]],
        body: bytes.get(8..).unwrap_or_default().to_vec(),
    };
    Ok((Packet::Icmp(m), valid))
}
