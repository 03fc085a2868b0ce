//! tcpconf's own packet model: what the engine injects, what stacks send, and how both look.
//!
//! Everything outside this module speaks these types; the codec underneath (etherparse, pinned to one
//! minor version because its API breaks between minors) stays private to it.
//!
//! - [`Packet`] is one IP packet carrying a TCP [`Segment`], a UDP [`Datagram`] or an ICMP/ICMPv6
//!   [`IcmpMessage`], over an [`IpHeader`] (IPv4 or IPv6 with the extras scripts may set).
//! - [`encode`] builds the raw bytes with correct checksums; [`encode_with`] and [`Tamper`] break them
//!   on purpose (bad checksums, a lying data offset) for scripts that test how a stack copes.
//! - [`decode`] reads raw bytes back. It never panics and never fails on TCP options: option bytes it
//!   cannot read become [`TcpOption::Malformed`]. [`decode_full`] also reports checksum validity.
//! - [`notation`] prints segments the way packetdrill scripts write them and lists the fields in which
//!   two segments differ; [`icmp`] names ICMP types and codes as scripts do; [`pcap`] writes
//!   captures.
//! - Helpers for the engine: [`Segment::seg_len`], [`Segment::flow`] / [`FlowKey::reverse`],
//!   [`TcpOption::encoded_len`] and [`options_len`] against [`MAX_OPTIONS_LEN`].

mod checksum;
mod decode;
mod encode;
mod error;
mod flags;
mod ip;
mod options;
mod packet;

pub mod icmp;
pub mod notation;
pub mod pcap;

#[cfg(test)]
mod tests;

pub use decode::{Checksums, Decoded, decode, decode_full};
pub use encode::{Checksum, Tamper, encode, encode_with, quote};
pub use error::WireError;
pub use flags::TcpFlags;
pub use ip::{Ecn, IpHeader, IpVersion, Ipv4Fields, Ipv6Fields};
pub use options::{MAX_OPTIONS_LEN, TcpOption, options_len};
pub use packet::{Datagram, FlowKey, IcmpMessage, Packet, Segment};
