//! The IP header fields tcpconf models.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::WireError;

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpVersion {
    V4,
    V6,
}

/// The ECN field: the low two bits of the IPv4 TOS / IPv6 traffic class (RFC 3168 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecn {
    NotEct = 0,
    Ect1 = 1,
    Ect0 = 2,
    Ce = 3,
}

impl Ecn {
    /// The ECN codepoint in the low two bits of `tos`.
    pub fn from_tos(tos: u8) -> Ecn {
        match tos & 3 {
            0 => Ecn::NotEct,
            1 => Ecn::Ect1,
            2 => Ecn::Ect0,
            _ => Ecn::Ce,
        }
    }
}

/// The IPv4 header fields a script can set or a matcher may look at. Fragmentation fields other than
/// DF are not modelled: tcpconf neither sends nor reassembles fragments. IPv4 options are skipped when
/// decoding and never sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ipv4Fields {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    /// DSCP (high six bits) and ECN (low two bits).
    pub tos: u8,
    pub id: u16,
    pub dont_fragment: bool,
}

/// The IPv6 header fields a script can set or a matcher may look at. Extension headers are skipped
/// when decoding and never sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ipv6Fields {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    /// DSCP (high six bits) and ECN (low two bits).
    pub traffic_class: u8,
    /// 20 bits; encoding a wider value is an error.
    pub flow_label: u32,
}

/// The IP layer of a [`crate::wire::Packet`]; the variant is the IP version, so addresses of mixed
/// versions cannot be expressed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IpHeader {
    V4(Ipv4Fields),
    V6(Ipv6Fields),
}

/// What packetdrill gives injected packets: TTL / hop limit 255, everything else zero.
const DEFAULT_TTL: u8 = 255;

impl IpHeader {
    /// A header from `src` to `dst` with packetdrill's defaults for injected packets (TTL or hop
    /// limit 255, TOS 0, id 0, DF clear, flow label 0).
    pub fn new(src: IpAddr, dst: IpAddr) -> Result<IpHeader, WireError> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Ok(IpHeader::V4(Ipv4Fields {
                src,
                dst,
                ttl: DEFAULT_TTL,
                tos: 0,
                id: 0,
                dont_fragment: false,
            })),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Ok(IpHeader::V6(Ipv6Fields {
                src,
                dst,
                hop_limit: DEFAULT_TTL,
                traffic_class: 0,
                flow_label: 0,
            })),
            _ => Err(WireError::MixedVersions { src, dst }),
        }
    }

    pub fn version(&self) -> IpVersion {
        match self {
            IpHeader::V4(_) => IpVersion::V4,
            IpHeader::V6(_) => IpVersion::V6,
        }
    }

    pub fn src(&self) -> IpAddr {
        match self {
            IpHeader::V4(h) => IpAddr::V4(h.src),
            IpHeader::V6(h) => IpAddr::V6(h.src),
        }
    }

    pub fn dst(&self) -> IpAddr {
        match self {
            IpHeader::V4(h) => IpAddr::V4(h.dst),
            IpHeader::V6(h) => IpAddr::V6(h.dst),
        }
    }

    /// TTL (IPv4) or hop limit (IPv6).
    pub fn ttl(&self) -> u8 {
        match self {
            IpHeader::V4(h) => h.ttl,
            IpHeader::V6(h) => h.hop_limit,
        }
    }

    /// TOS (IPv4) or traffic class (IPv6), ECN bits included.
    pub fn tos(&self) -> u8 {
        match self {
            IpHeader::V4(h) => h.tos,
            IpHeader::V6(h) => h.traffic_class,
        }
    }

    pub fn ecn(&self) -> Ecn {
        Ecn::from_tos(self.tos())
    }

    /// Replaces the ECN bits, keeping the DSCP.
    pub fn set_ecn(&mut self, ecn: Ecn) {
        let tos = match self {
            IpHeader::V4(h) => &mut h.tos,
            IpHeader::V6(h) => &mut h.traffic_class,
        };
        *tos = (*tos & !3) | ecn as u8;
    }

    /// The same header with source and destination swapped (the other direction of a flow).
    pub fn reversed(&self) -> IpHeader {
        let mut h = self.clone();
        match &mut h {
            IpHeader::V4(h) => std::mem::swap(&mut h.src, &mut h.dst),
            IpHeader::V6(h) => std::mem::swap(&mut h.src, &mut h.dst),
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_defaults_and_mixed_versions() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.168.0.1".parse().unwrap();
        let h = IpHeader::new(a, b).unwrap();
        assert_eq!(
            (h.version(), h.src(), h.dst(), h.ttl()),
            (IpVersion::V4, a, b, 255)
        );
        assert_eq!(h.reversed().src(), b);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            IpHeader::new(a, v6),
            Err(WireError::MixedVersions { src: a, dst: v6 })
        );
    }

    #[test]
    fn ecn_keeps_dscp() {
        let mut h = IpHeader::new("::1".parse().unwrap(), "::2".parse().unwrap()).unwrap();
        if let IpHeader::V6(f) = &mut h {
            f.traffic_class = 0xb8;
        }
        h.set_ecn(Ecn::Ce);
        assert_eq!((h.tos(), h.ecn()), (0xbb, Ecn::Ce));
        h.set_ecn(Ecn::Ect0);
        assert_eq!(h.tos(), 0xba);
    }
}
