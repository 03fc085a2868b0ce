//! Errors of the packet codec.

use std::net::IpAddr;

/// Why a packet could not be built or read.
///
/// Decoding errors concern the IP and transport headers only: TCP option bytes never cause one
/// (see [`crate::wire::TcpOption::Malformed`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The source and destination addresses are of different IP versions.
    #[error("source {src} and destination {dst} are not of the same IP version")]
    MixedVersions { src: IpAddr, dst: IpAddr },
    /// An IPv6 flow label wider than its 20 bits.
    #[error("flow label {0:#x} does not fit in 20 bits")]
    FlowLabel(u32),
    /// The TCP options take more room than the 4-bit data offset can describe.
    #[error("TCP options take {0} bytes, but at most 40 fit in a TCP header")]
    OptionsTooLong(usize),
    /// One option's length does not fit in its one-byte length field.
    #[error("TCP option kind {kind} would be {len} bytes long, more than its length byte can say")]
    OptionTooLong { kind: u8, len: usize },
    /// The packet is longer than the IP length field can describe.
    #[error("packet payload of {0} bytes does not fit in an IP length field")]
    TooLong(usize),
    /// Not an IPv4 or IPv6 packet (the version nibble is given).
    #[error("not an IP packet (version nibble {0})")]
    IpVersion(u8),
    /// The IP header or its extension headers are inconsistent or cut short.
    #[error("bad IP header: {0}")]
    IpHeader(String),
    /// The packet is an IP fragment; tcpconf does not reassemble.
    #[error("IP fragments are not supported")]
    Fragment,
    /// The IP payload is neither TCP, UDP nor ICMP/ICMPv6.
    #[error("unsupported IP protocol {0}")]
    Protocol(u8),
    /// A transport header is shorter than its fixed part.
    #[error("{layer} header truncated: {have} of {need} bytes")]
    Truncated {
        layer: &'static str,
        need: usize,
        have: usize,
    },
    /// The TCP data offset points before the end of the fixed header or past the end of the segment.
    #[error("TCP data offset {offset} (words) is impossible in a {len}-byte segment")]
    DataOffset { offset: u8, len: usize },
    /// The UDP length field disagrees with the IP payload.
    #[error("UDP length field {field} is impossible in a {len}-byte payload")]
    UdpLength { field: u16, len: usize },
}
