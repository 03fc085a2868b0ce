//! The TCP header's control bits.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// The twelve bits after the data offset in a TCP header (RFC 9293 §3.1, RFC 9768 for AE), laid out
/// as on the wire: bit 0 is FIN, bit 8 is AE, bits 9–11 are the reserved bits. The reserved bits are
/// kept so that scripts can set them and can see a stack set them (RFC 9293 §3.1: sent as zero).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u16);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x001);
    pub const SYN: TcpFlags = TcpFlags(0x002);
    pub const RST: TcpFlags = TcpFlags(0x004);
    pub const PSH: TcpFlags = TcpFlags(0x008);
    pub const ACK: TcpFlags = TcpFlags(0x010);
    pub const URG: TcpFlags = TcpFlags(0x020);
    pub const ECE: TcpFlags = TcpFlags(0x040);
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// Accurate ECN (RFC 9768), formerly the ECN nonce bit NS (RFC 3540, historic).
    pub const AE: TcpFlags = TcpFlags(0x100);
    /// The three bits RFC 9293 §3.1 reserves ("must be zero" when sent, ignored when received).
    pub const RESERVED: TcpFlags = TcpFlags(0xE00);
    /// No bit set.
    pub const EMPTY: TcpFlags = TcpFlags(0);

    const NAMED: [(TcpFlags, &'static str); 9] = [
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"),
        (TcpFlags::CWR, "CWR"),
        (TcpFlags::AE, "AE"),
    ];

    /// The flags from their 12-bit wire value; higher bits (the data offset's) are dropped.
    pub const fn from_bits(bits: u16) -> TcpFlags {
        TcpFlags(bits & 0x0FFF)
    }

    /// The 12-bit wire value.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every bit of `other` is set here.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set here.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }

    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: TcpFlags) {
        self.0 &= !other.0;
    }

    /// No bit set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The reserved bits alone, as a 3-bit number (0–7).
    pub const fn reserved(self) -> u8 {
        (self.0 >> 9) as u8
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for TcpFlags {
    type Output = TcpFlags;
    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

impl Not for TcpFlags {
    type Output = TcpFlags;
    fn not(self) -> TcpFlags {
        TcpFlags(!self.0 & 0x0FFF)
    }
}

/// `SYN|ACK`, `RESERVED(0x2)|FIN`, or `(empty)`.
impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            let s = if first { "" } else { "|" };
            first = false;
            f.write_str(s)
        };
        for (flag, name) in TcpFlags::NAMED {
            if self.contains(flag) {
                sep(f)?;
                f.write_str(name)?;
            }
        }
        if self.reserved() != 0 {
            sep(f)?;
            write!(f, "RESERVED({:#x})", self.reserved())?;
        }
        if self.is_empty() {
            f.write_str("(empty)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_layout_and_debug() {
        let f = TcpFlags::SYN | TcpFlags::ACK;
        assert_eq!(f.bits(), 0x012);
        assert_eq!(format!("{f:?}"), "SYN|ACK");
        assert_eq!(TcpFlags::from_bits(0xF001).bits(), 0x001);
        let r = TcpFlags::from_bits(0x401);
        assert_eq!(r.reserved(), 2);
        assert_eq!(format!("{r:?}"), "FIN|RESERVED(0x2)");
        assert_eq!(format!("{:?}", TcpFlags::EMPTY), "(empty)");
        assert_eq!((!TcpFlags::RESERVED).bits(), 0x1FF);
        let mut m = TcpFlags::FIN | TcpFlags::PSH;
        m.remove(TcpFlags::FIN);
        assert_eq!(m, TcpFlags::PSH);
        assert!(m.intersects(TcpFlags::PSH | TcpFlags::URG));
    }
}
