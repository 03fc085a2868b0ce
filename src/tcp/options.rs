//! TCP options (RFC 9293 §3.1–3.2, RFC 7323, RFC 2018): a walker that never fails and an emitter.
//!
//! The walker accepts options on any segment (MUST-5) and at any alignment (MUST-64), skips unknown
//! kinds by their length byte (MUST-6, MUST-68), stops at EOL (MUST-69) and survives illegal lengths
//! (MUST-7) by keeping what it parsed before the bad option and marking the list malformed.

/// Option kinds this stack understands.
pub mod kind {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WSCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
}

/// Largest shift RFC 7323 §2.3 allows; larger values are clamped to it.
pub const MAX_WSCALE: u8 = 14;

/// The options of one segment, as far as this stack uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Maximum segment size (kind 2). Only meaningful on SYNs (MUST-65).
    pub mss: Option<u16>,
    /// Window scale shift (kind 3), as received (possibly > 14).
    pub wscale: Option<u8>,
    /// SACK permitted (kind 4).
    pub sack_permitted: bool,
    /// Timestamps (kind 8): `(TSval, TSecr)`.
    pub timestamps: Option<(u32, u32)>,
    /// Number of SACK blocks received (kind 5); the blocks themselves are not used.
    pub sack_blocks: u8,
    /// An option had an illegal length; options after it were not read.
    pub malformed: bool,
}

impl Options {
    /// Walks the option bytes of a TCP header.
    pub fn parse(mut bytes: &[u8]) -> Options {
        let mut opts = Options::default();
        while let Some((&k, rest)) = bytes.split_first() {
            match k {
                kind::EOL => break,
                kind::NOP => {
                    bytes = rest;
                    continue;
                }
                _ => {}
            }
            let len = match rest.first() {
                Some(&l) if l >= 2 && usize::from(l) <= bytes.len() => usize::from(l),
                _ => {
                    opts.malformed = true;
                    break;
                }
            };
            let body = &bytes[2..len];
            match (k, body.len()) {
                (kind::MSS, 2) => opts.mss = Some(u16::from_be_bytes([body[0], body[1]])),
                (kind::WSCALE, 1) => opts.wscale = Some(body[0]),
                (kind::SACK_PERMITTED, 0) => opts.sack_permitted = true,
                (kind::TIMESTAMPS, 8) => {
                    let val = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    let ecr = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                    opts.timestamps = Some((val, ecr));
                }
                (kind::SACK, n) if n % 8 == 0 => opts.sack_blocks = (n / 8) as u8,
                // A known kind with the wrong length is ignored like an unknown one: the length byte
                // still tells where the next option starts.
                _ => {}
            }
            bytes = &bytes[len..];
        }
        opts
    }

    /// Bytes [`Options::emit`] writes for these options (a multiple of 4).
    pub fn emitted_len(&self) -> usize {
        let mut raw = [0u8; 40];
        self.emit(&mut raw)
    }

    /// Writes the options in Linux's order (`mss, sackOK, TS, nop, wscale`, NOP-padded to a
    /// 32-bit boundary) into `out` and returns the length written.
    pub fn emit(&self, out: &mut [u8; 40]) -> usize {
        let mut n = 0;
        let mut put = |bytes: &[u8], n: &mut usize| {
            out[*n..*n + bytes.len()].copy_from_slice(bytes);
            *n += bytes.len();
        };
        if let Some(mss) = self.mss {
            let m = mss.to_be_bytes();
            put(&[kind::MSS, 4, m[0], m[1]], &mut n);
        }
        match (self.sack_permitted, self.timestamps) {
            (true, Some(_)) => put(&[kind::SACK_PERMITTED, 2], &mut n),
            (true, None) => put(&[kind::NOP, kind::NOP, kind::SACK_PERMITTED, 2], &mut n),
            (false, Some(_)) => put(&[kind::NOP, kind::NOP], &mut n),
            (false, None) => {}
        }
        if let Some((val, ecr)) = self.timestamps {
            let v = val.to_be_bytes();
            let e = ecr.to_be_bytes();
            put(
                &[
                    kind::TIMESTAMPS,
                    10,
                    v[0],
                    v[1],
                    v[2],
                    v[3],
                    e[0],
                    e[1],
                    e[2],
                    e[3],
                ],
                &mut n,
            );
        }
        if let Some(ws) = self.wscale {
            put(&[kind::NOP, kind::WSCALE, 3, ws], &mut n);
        }
        while n % 4 != 0 {
            put(&[kind::NOP], &mut n);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9293 §3.1 MUST-4/MUST-14: EOL, NOP and MSS are understood; the SYN set round-trips.
    #[test]
    fn syn_options_round_trip_in_linux_order() {
        let opts = Options {
            mss: Some(1460),
            wscale: Some(7),
            sack_permitted: true,
            timestamps: Some((1, 0)),
            ..Options::default()
        };
        let mut raw = [0u8; 40];
        let n = opts.emit(&mut raw);
        assert_eq!(n, 20);
        assert_eq!(&raw[..4], &[2, 4, 0x05, 0xb4]);
        assert_eq!(&raw[4..6], &[4, 2]);
        assert_eq!(raw[6], 8);
        assert_eq!(&raw[16..20], &[1, 3, 3, 7]);
        assert_eq!(Options::parse(&raw[..n]), opts);
    }

    /// MUST-6 and MUST-64: unknown options are skipped by length, at any alignment.
    #[test]
    fn unknown_and_unaligned_options_are_skipped() {
        let raw = [1, 99, 5, 0xaa, 0xbb, 0xcc, 2, 4, 0x02, 0x18, 3, 3, 2];
        let opts = Options::parse(&raw);
        assert_eq!(opts.mss, Some(536));
        assert_eq!(opts.wscale, Some(2));
        assert!(!opts.malformed);
    }

    /// MUST-7: a zero or overlong length ends the walk without panicking; earlier options stay.
    #[test]
    fn illegal_lengths_are_survived() {
        let opts = Options::parse(&[2, 4, 0x05, 0xb4, 99, 0]);
        assert_eq!(opts.mss, Some(1460));
        assert!(opts.malformed);
        assert!(Options::parse(&[8, 40, 1, 2]).malformed);
        assert!(Options::parse(&[3]).malformed);
        assert!(Options::parse(&[3, 1]).malformed);
    }

    /// MUST-69: bytes after EOL are padding and are not read as options.
    #[test]
    fn eol_ends_the_list() {
        let opts = Options::parse(&[0, 2, 4, 0x05, 0xb4]);
        assert_eq!(opts, Options::default());
    }

    #[test]
    fn wrong_length_for_known_kind_is_skipped() {
        let opts = Options::parse(&[2, 3, 0, 2, 4, 1, 0]);
        assert_eq!(opts.mss, Some(256));
    }
}
