//! Packet → bytes, with correct checksums unless told otherwise.

use etherparse::{
    IpDscp, IpEcn, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, TcpHeader, UdpHeader,
};

use super::options::encode_options;
use super::{Datagram, IcmpMessage, IpHeader, Packet, Segment, TcpFlags, WireError, checksum};

pub(super) const PROTO_ICMP: u8 = 1;
pub(super) const PROTO_TCP: u8 = 6;
pub(super) const PROTO_UDP: u8 = 17;
pub(super) const PROTO_ICMPV6: u8 = 58;

/// What to write into a checksum field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checksum {
    /// The correct checksum.
    #[default]
    Correct,
    /// Some value that is guaranteed not to verify (a receiver must discard the packet, MUST-3).
    Wrong,
    /// Exactly this value.
    Value(u16),
}

impl Checksum {
    fn apply(self, correct: u16) -> u16 {
        match self {
            Checksum::Correct => correct,
            // In ones'-complement arithmetic 0x0000 and 0xFFFF are both zero, so flipping bits of
            // `correct` could still verify; any other value differs from it as a number mod 0xFFFF.
            Checksum::Wrong if correct == 0xBAD0 => 0xBAD1,
            Checksum::Wrong => 0xBAD0,
            Checksum::Value(v) => v,
        }
    }
}

/// Deliberate damage for scripts that test how a stack copes with broken packets. Reserved TCP bits
/// and broken option bytes need no tampering: they are part of [`TcpFlags`] and
/// [`crate::wire::TcpOption::Malformed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tamper {
    /// The IPv4 header checksum (IPv6 has none; ignored there).
    pub ip_checksum: Checksum,
    /// The TCP, UDP or ICMP checksum.
    pub transport_checksum: Checksum,
    /// A TCP data offset (in 32-bit words, low four bits used) to write instead of the true one.
    pub data_offset: Option<u8>,
}

/// The packet's bytes, IP header first, with correct lengths and checksums.
pub fn encode(packet: &Packet) -> Result<Vec<u8>, WireError> {
    encode_with(packet, &Tamper::default())
}

/// The packet's bytes, damaged as `tamper` says.
pub fn encode_with(packet: &Packet, tamper: &Tamper) -> Result<Vec<u8>, WireError> {
    let (protocol, mut transport, checksum_at) = match packet {
        Packet::Tcp(s) => (PROTO_TCP, tcp_bytes(s, tamper)?, 16),
        Packet::Udp(d) => (PROTO_UDP, udp_bytes(d)?, 6),
        Packet::Icmp(m) => {
            let protocol = match m.ip {
                IpHeader::V4(_) => PROTO_ICMP,
                IpHeader::V6(_) => PROTO_ICMPV6,
            };
            (protocol, icmp_bytes(m), 2)
        }
    };
    let ip = packet.ip();
    let correct = match protocol {
        PROTO_ICMP => checksum::plain(&transport),
        _ => checksum::with_pseudo_header(ip, protocol, &transport),
    };
    // RFC 768: a computed UDP checksum of zero is sent as all ones, zero meaning "none".
    let correct = if protocol == PROTO_UDP && correct == 0 {
        0xFFFF
    } else {
        correct
    };
    let value = tamper.transport_checksum.apply(correct).to_be_bytes();
    if let Some(field) = transport.get_mut(checksum_at..checksum_at + 2) {
        field.copy_from_slice(&value);
    }
    let mut out = ip_header_bytes(ip, protocol, transport.len(), tamper.ip_checksum)?;
    out.extend_from_slice(&transport);
    Ok(out)
}

/// The start of `original` as an ICMP error message quotes it: its IP header and the first
/// `transport_len` bytes after it (RFC 792 asks for 8, enough for TCP ports and sequence number;
/// RFC 1812 §4.3.2.3 and Linux quote more).
pub fn quote(original: &Packet, transport_len: usize) -> Result<Vec<u8>, WireError> {
    let mut bytes = encode(original)?;
    let ip_len = match original.ip() {
        IpHeader::V4(_) => Ipv4Header::MIN_LEN,
        IpHeader::V6(_) => Ipv6Header::LEN,
    };
    bytes.truncate(ip_len.saturating_add(transport_len));
    Ok(bytes)
}

fn ip_header_bytes(
    ip: &IpHeader,
    protocol: u8,
    payload_len: usize,
    ip_checksum: Checksum,
) -> Result<Vec<u8>, WireError> {
    let len = u16::try_from(payload_len).map_err(|_| WireError::TooLong(payload_len))?;
    match ip {
        IpHeader::V4(f) => {
            let mut h = Ipv4Header::new(
                len,
                f.ttl,
                IpNumber(protocol),
                f.src.octets(),
                f.dst.octets(),
            )
            .map_err(|_| WireError::TooLong(payload_len))?;
            // Both shifts leave values in range, so the fallbacks are never taken.
            h.dscp = IpDscp::try_new(f.tos >> 2).unwrap_or_default();
            h.ecn = IpEcn::try_new(f.tos & 3).unwrap_or_default();
            h.identification = f.id;
            h.dont_fragment = f.dont_fragment;
            h.header_checksum = ip_checksum.apply(h.calc_header_checksum());
            Ok(h.to_bytes().to_vec())
        }
        IpHeader::V6(f) => {
            let h = Ipv6Header {
                traffic_class: f.traffic_class,
                flow_label: Ipv6FlowLabel::try_new(f.flow_label)
                    .map_err(|_| WireError::FlowLabel(f.flow_label))?,
                payload_length: len,
                next_header: IpNumber(protocol),
                hop_limit: f.hop_limit,
                source: f.src.octets(),
                destination: f.dst.octets(),
            };
            Ok(h.to_bytes().to_vec())
        }
    }
}

/// The TCP header and payload, checksum field zero.
fn tcp_bytes(s: &Segment, tamper: &Tamper) -> Result<Vec<u8>, WireError> {
    let options = encode_options(&s.options)?;
    let mut h = TcpHeader::new(s.src_port, s.dst_port, s.seq, s.window);
    h.acknowledgment_number = s.ack;
    h.fin = s.flags.contains(TcpFlags::FIN);
    h.syn = s.flags.contains(TcpFlags::SYN);
    h.rst = s.flags.contains(TcpFlags::RST);
    h.psh = s.flags.contains(TcpFlags::PSH);
    h.ack = s.flags.contains(TcpFlags::ACK);
    h.urg = s.flags.contains(TcpFlags::URG);
    h.ece = s.flags.contains(TcpFlags::ECE);
    h.cwr = s.flags.contains(TcpFlags::CWR);
    h.ns = s.flags.contains(TcpFlags::AE);
    h.urgent_pointer = s.urgent;
    h.set_options_raw(&options)
        .map_err(|_| WireError::OptionsTooLong(options.len()))?;
    let mut out = h.to_bytes().to_vec();
    // etherparse has no field for the reserved bits and derives the data offset from the options:
    // byte 12 is data offset (high nibble), reserved bits and AE (low nibble).
    if let Some(b12) = out.get_mut(12) {
        let offset = tamper.data_offset.unwrap_or(*b12 >> 4) & 0x0F;
        *b12 = (offset << 4) | (*b12 & 0x01) | (s.flags.reserved() << 1);
    }
    out.extend_from_slice(&s.payload);
    Ok(out)
}

/// The UDP header and payload, checksum field zero.
fn udp_bytes(d: &Datagram) -> Result<Vec<u8>, WireError> {
    let total = d.payload.len() + UdpHeader::LEN;
    let h = UdpHeader {
        source_port: d.src_port,
        destination_port: d.dst_port,
        length: u16::try_from(total).map_err(|_| WireError::TooLong(total))?,
        checksum: 0,
    };
    let mut out = h.to_bytes().to_vec();
    out.extend_from_slice(&d.payload);
    Ok(out)
}

/// The ICMP header and body, checksum field zero. Built by hand: etherparse's ICMP types reinterpret
/// the bytes after the checksum per type, and a harness must be able to send any of them.
fn icmp_bytes(m: &IcmpMessage) -> Vec<u8> {
    let mut out = vec![m.icmp_type, m.code, 0, 0];
    out.extend_from_slice(&m.rest);
    out.extend_from_slice(&m.body);
    out
}
