//! Sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 §3.4).
//!
//! Comparisons are only meaningful between numbers less than 2^31 apart, which the windows TCP
//! uses always are (REC-1: window arithmetic stays in 32 bits). Two numbers exactly 2^31 apart
//! are neither before nor after each other (RFC 1982 §3.2: the comparison is undefined), so
//! `<`, `>`, `<=` and `>=` are all false for them; a signed difference would make both `a < b`
//! and `b < a` true, and a forged ACK 2^31 beyond SND.NXT would pass as new.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A TCP sequence (or acknowledgment) number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Seq(pub u32);

impl Seq {
    /// `self - other` as a signed distance, the basis of every modular comparison.
    pub fn diff(self, other: Seq) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// The larger of two sequence numbers (modular); `self` when they are incomparable.
    pub fn max(self, other: Seq) -> Seq {
        if other > self { other } else { self }
    }

    /// The smaller of two sequence numbers (modular); `self` when they are incomparable.
    pub fn min(self, other: Seq) -> Seq {
        if other < self { other } else { self }
    }

    /// `lo <= self < hi` modulo 2^32 (empty when `lo == hi`).
    pub fn in_range(self, lo: Seq, hi: Seq) -> bool {
        self.0.wrapping_sub(lo.0) < hi.0.wrapping_sub(lo.0)
    }

    /// `lo <= self <= hi` modulo 2^32.
    pub fn in_range_incl(self, lo: Seq, hi: Seq) -> bool {
        self.0.wrapping_sub(lo.0) <= hi.0.wrapping_sub(lo.0)
    }
}

impl PartialOrd for Seq {
    fn partial_cmp(&self, other: &Seq) -> Option<Ordering> {
        match self.diff(*other) {
            i32::MIN => None,
            d => Some(d.cmp(&0)),
        }
    }
}

impl Add<u32> for Seq {
    type Output = Seq;
    fn add(self, rhs: u32) -> Seq {
        Seq(self.0.wrapping_add(rhs))
    }
}

impl AddAssign<u32> for Seq {
    fn add_assign(&mut self, rhs: u32) {
        self.0 = self.0.wrapping_add(rhs);
    }
}

impl Sub<u32> for Seq {
    type Output = Seq;
    fn sub(self, rhs: u32) -> Seq {
        Seq(self.0.wrapping_sub(rhs))
    }
}

/// Distance from `rhs` forward to `self`; callers use it only where `self >= rhs`.
impl Sub<Seq> for Seq {
    type Output = u32;
    fn sub(self, rhs: Seq) -> u32 {
        self.0.wrapping_sub(rhs.0)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_wrap_around_2_pow_32() {
        let a = Seq(u32::MAX - 5);
        let b = a + 10;
        assert_eq!(b, Seq(4));
        assert!(a < b);
        assert!(b > a);
        assert_eq!(b - a, 10);
        assert_eq!(a.diff(b), -10);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
    }

    /// RFC 1982 §3.2: numbers 2^31 apart are incomparable, never both below each other.
    #[test]
    fn numbers_half_the_space_apart_are_incomparable() {
        let a = Seq(7);
        let b = a + (1 << 31);
        assert_eq!(a.partial_cmp(&b), None);
        assert_eq!(b.partial_cmp(&a), None);
        assert!(a != b);
        assert_eq!(a.max(b), a);
        assert!(a < b - 1 && b + 1 < a);
    }

    #[test]
    fn ranges_are_half_open_or_inclusive_modulo() {
        let lo = Seq(u32::MAX - 1);
        let hi = lo + 4;
        assert!(lo.in_range(lo, hi));
        assert!(Seq(1).in_range(lo, hi));
        assert!(!hi.in_range(lo, hi));
        assert!(hi.in_range_incl(lo, hi));
        assert!(!Seq(5).in_range_incl(lo, hi));
        assert!(!lo.in_range(lo, lo));
    }
}
