//! Packets: a TCP segment, a UDP datagram or an ICMP message over an IP header.

use std::net::SocketAddr;

use super::{IpHeader, TcpFlags, TcpOption, WireError};

/// One TCP segment with its IP header, as injected or as sent by a stack.
///
/// The checksums and the data offset are not stored: [`crate::wire::encode`] computes them, and
/// [`crate::wire::Tamper`] falsifies them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Segment {
    pub ip: IpHeader,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    /// The acknowledgment field, whether or not ACK is set (a stack may leave junk in it).
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    pub options: Vec<TcpOption>,
    pub payload: Vec<u8>,
}

impl Segment {
    /// A segment with no flags, options or payload and zero numbers, over `ip`.
    pub fn new(ip: IpHeader, src_port: u16, dst_port: u16) -> Segment {
        Segment {
            ip,
            src_port,
            dst_port,
            seq: 0,
            ack: 0,
            flags: TcpFlags::EMPTY,
            window: 0,
            urgent: 0,
            options: Vec::new(),
            payload: Vec::new(),
        }
    }

    /// A segment like [`Segment::new`] travelling along `flow`, with packetdrill's IP defaults for
    /// injected packets ([`IpHeader::new`]). Fails if the two addresses are of different versions.
    pub fn for_flow(flow: FlowKey) -> Result<Segment, WireError> {
        let ip = IpHeader::new(flow.src.ip(), flow.dst.ip())?;
        Ok(Segment::new(ip, flow.src.port(), flow.dst.port()))
    }

    /// SEG.LEN: the sequence space the segment occupies, payload plus one each for SYN and FIN
    /// (RFC 9293 §3.4).
    pub fn seg_len(&self) -> u32 {
        // A payload fits in an IP packet, so its length fits in u32.
        let payload = u32::try_from(self.payload.len()).unwrap_or(u32::MAX);
        let syn = u32::from(self.flags.contains(TcpFlags::SYN));
        let fin = u32::from(self.flags.contains(TcpFlags::FIN));
        payload.wrapping_add(syn).wrapping_add(fin)
    }

    /// The connection's 4-tuple as seen by the sender of this segment.
    pub fn flow(&self) -> FlowKey {
        FlowKey {
            src: SocketAddr::new(self.ip.src(), self.src_port),
            dst: SocketAddr::new(self.ip.dst(), self.dst_port),
        }
    }
}

/// A UDP datagram with its IP header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Datagram {
    pub ip: IpHeader,
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: Vec<u8>,
}

/// An ICMP (over IPv4) or ICMPv6 (over IPv6) message; which one follows from the IP version.
///
/// Kept raw so that every type can be carried: `rest` is the four bytes after the checksum whose
/// meaning depends on the type (unused, next-hop MTU, pointer, echo id and sequence), and `body` is
/// what follows, for error messages the quoted start of the offending packet (see
/// [`crate::wire::quote`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IcmpMessage {
    pub ip: IpHeader,
    pub icmp_type: u8,
    pub code: u8,
    pub rest: [u8; 4],
    pub body: Vec<u8>,
}

/// One IP packet tcpconf can build or read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Packet {
    Tcp(Segment),
    Udp(Datagram),
    Icmp(IcmpMessage),
}

impl Packet {
    pub fn ip(&self) -> &IpHeader {
        match self {
            Packet::Tcp(s) => &s.ip,
            Packet::Udp(d) => &d.ip,
            Packet::Icmp(m) => &m.ip,
        }
    }

    /// The 4-tuple of a TCP or UDP packet, as seen by its sender; ICMP has none.
    pub fn flow(&self) -> Option<FlowKey> {
        match self {
            Packet::Tcp(s) => Some(s.flow()),
            Packet::Udp(d) => Some(FlowKey {
                src: SocketAddr::new(d.ip.src(), d.src_port),
                dst: SocketAddr::new(d.ip.dst(), d.dst_port),
            }),
            Packet::Icmp(_) => None,
        }
    }

    /// The TCP segment, if this is one.
    pub fn as_tcp(&self) -> Option<&Segment> {
        match self {
            Packet::Tcp(s) => Some(s),
            _ => None,
        }
    }
}

impl From<Segment> for Packet {
    fn from(s: Segment) -> Packet {
        Packet::Tcp(s)
    }
}

/// A connection's 4-tuple in one direction: from `src` to `dst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

impl FlowKey {
    /// The same connection seen from the other end.
    pub fn reverse(self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seg_len_counts_syn_and_fin() {
        let ip =
            IpHeader::new("192.0.2.1".parse().unwrap(), "192.168.0.1".parse().unwrap()).unwrap();
        let mut s = Segment::new(ip, 1234, 8080);
        assert_eq!(s.seg_len(), 0);
        s.flags = TcpFlags::SYN | TcpFlags::FIN | TcpFlags::ACK;
        s.payload = vec![0; 10];
        assert_eq!(s.seg_len(), 12);
        let flow = s.flow();
        assert_eq!(flow.src.to_string(), "192.0.2.1:1234");
        assert_eq!(flow.reverse().src.to_string(), "192.168.0.1:8080");
        assert_eq!(flow.reverse().reverse(), flow);
        assert_eq!(
            Segment::for_flow(flow.reverse()).unwrap().flow(),
            flow.reverse()
        );
        assert_eq!(Packet::from(s).flow(), Some(flow));
        let mixed = FlowKey {
            src: "[::1]:1".parse().unwrap(),
            dst: flow.dst,
        };
        assert!(matches!(
            Segment::for_flow(mixed),
            Err(WireError::MixedVersions { .. })
        ));
    }
}
