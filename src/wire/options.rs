//! TCP options: the typed model, its encoding, and our own option walker.
//!
//! etherparse's option iterator stops at the first kind it does not know and at the first bad
//! length, losing the options after it; a conformance harness must see them all (RFC 9293 §3.1,
//! MUST-6 and MUST-7), so the walker here is our own.

use super::WireError;

/// Room for options in a TCP header: the 4-bit data offset allows 60 bytes, 20 of them fixed.
pub const MAX_OPTIONS_LEN: usize = 40;

const KIND_EOL: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_MSS: u8 = 2;
const KIND_WSCALE: u8 = 3;
const KIND_SACK_PERMITTED: u8 = 4;
const KIND_SACK: u8 = 5;
const KIND_TIMESTAMP: u8 = 8;
const KIND_MD5: u8 = 19;
const KIND_FAST_OPEN: u8 = 34;
const KIND_EXPERIMENT: u8 = 254;
/// The experiment id (RFC 6994) under which TCP Fast Open ran before it got kind 34 (RFC 7413 §4.1.1).
const FAST_OPEN_MAGIC: [u8; 2] = [0xF9, 0x89];

/// One TCP option, as sent or as found.
///
/// Decoding yields a typed variant only when the length is the one its definition requires;
/// a known kind with another (but walkable) length becomes [`TcpOption::Unknown`], so nothing is lost
/// and the options after it are still read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TcpOption {
    /// End of option list (kind 0). When decoding, the bytes after it are padding and are dropped if
    /// zero (RFC 9293 §3.1, MUST-69); non-zero ones follow as [`TcpOption::Malformed`].
    Eol,
    /// No-operation (kind 1).
    Nop,
    /// Maximum segment size (kind 2, RFC 9293 §3.7.1).
    Mss(u16),
    /// Window scale shift count (kind 3, RFC 7323 §2).
    WindowScale(u8),
    /// SACK permitted (kind 4, RFC 2018).
    SackPermitted,
    /// SACK blocks as (left edge, right edge) (kind 5, RFC 2018).
    Sack(Vec<(u32, u32)>),
    /// Timestamps (kind 8, RFC 7323 §3).
    Timestamp { val: u32, ecr: u32 },
    /// TCP Fast Open cookie, empty for a cookie request (kind 34, RFC 7413).
    FastOpen(Vec<u8>),
    /// TCP Fast Open in the experimental kind 254 with magic 0xF989; holds the cookie only.
    FastOpenExp(Vec<u8>),
    /// TCP MD5 signature (kind 19, RFC 2385); the digest bytes as sent.
    Md5(Vec<u8>),
    /// Any other option with a well-formed length: the kind and the bytes after the length byte.
    Unknown { kind: u8, data: Vec<u8> },
    /// Bytes the walker could not read as options: a length below 2 or running past the end of the
    /// options area (MUST-7), or non-zero bytes after an EOL (MUST-69). Always last when decoded;
    /// when encoding, the bytes are sent as they are, which is how scripts send broken options.
    Malformed { bytes: Vec<u8> },
}

impl TcpOption {
    /// The option's kind byte; for [`TcpOption::Malformed`] the first byte, if any.
    pub fn kind(&self) -> Option<u8> {
        Some(match self {
            TcpOption::Eol => KIND_EOL,
            TcpOption::Nop => KIND_NOP,
            TcpOption::Mss(_) => KIND_MSS,
            TcpOption::WindowScale(_) => KIND_WSCALE,
            TcpOption::SackPermitted => KIND_SACK_PERMITTED,
            TcpOption::Sack(_) => KIND_SACK,
            TcpOption::Timestamp { .. } => KIND_TIMESTAMP,
            TcpOption::FastOpen(_) => KIND_FAST_OPEN,
            TcpOption::FastOpenExp(_) => KIND_EXPERIMENT,
            TcpOption::Md5(_) => KIND_MD5,
            TcpOption::Unknown { kind, .. } => *kind,
            TcpOption::Malformed { bytes } => return bytes.first().copied(),
        })
    }

    /// Bytes this option takes in the header, kind and length bytes included (no padding).
    pub fn encoded_len(&self) -> usize {
        match self {
            TcpOption::Eol | TcpOption::Nop => 1,
            TcpOption::SackPermitted => 2,
            TcpOption::WindowScale(_) => 3,
            TcpOption::Mss(_) => 4,
            TcpOption::Timestamp { .. } => 10,
            TcpOption::Sack(blocks) => 2 + 8 * blocks.len(),
            TcpOption::FastOpen(data) | TcpOption::Md5(data) | TcpOption::Unknown { data, .. } => {
                2 + data.len()
            }
            TcpOption::FastOpenExp(cookie) => 4 + cookie.len(),
            TcpOption::Malformed { bytes } => bytes.len(),
        }
    }

    /// Appends the option's bytes to `out`.
    fn write(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        // Only EOL and NOP are a lone kind byte; every other option is kind, length, data (MUST-68).
        let tlv = |out: &mut Vec<u8>, kind: u8, data: &[u8]| {
            let len = 2 + data.len();
            let len_byte = u8::try_from(len).map_err(|_| WireError::OptionTooLong { kind, len })?;
            out.extend_from_slice(&[kind, len_byte]);
            out.extend_from_slice(data);
            Ok(())
        };
        match self {
            TcpOption::Eol => out.push(KIND_EOL),
            TcpOption::Nop => out.push(KIND_NOP),
            TcpOption::Malformed { bytes } => out.extend_from_slice(bytes),
            TcpOption::Mss(mss) => tlv(out, KIND_MSS, &mss.to_be_bytes())?,
            TcpOption::WindowScale(shift) => tlv(out, KIND_WSCALE, &[*shift])?,
            TcpOption::SackPermitted => tlv(out, KIND_SACK_PERMITTED, &[])?,
            TcpOption::Sack(blocks) => {
                let edges = blocks.iter().flat_map(|&(left, right)| [left, right]);
                let data: Vec<u8> = edges.flat_map(u32::to_be_bytes).collect();
                tlv(out, KIND_SACK, &data)?
            }
            TcpOption::Timestamp { val, ecr } => tlv(
                out,
                KIND_TIMESTAMP,
                &[val.to_be_bytes(), ecr.to_be_bytes()].concat(),
            )?,
            TcpOption::FastOpen(cookie) => tlv(out, KIND_FAST_OPEN, cookie)?,
            TcpOption::FastOpenExp(cookie) => tlv(
                out,
                KIND_EXPERIMENT,
                &[&FAST_OPEN_MAGIC[..], cookie].concat(),
            )?,
            TcpOption::Md5(digest) => tlv(out, KIND_MD5, digest)?,
            TcpOption::Unknown { kind, data } => tlv(out, *kind, data)?,
        }
        Ok(())
    }

    /// The typed option for a well-formed `kind, length, data` triple.
    fn from_parts(kind: u8, data: &[u8]) -> TcpOption {
        let be16 = |b: &[u8]| b.try_into().ok().map(u16::from_be_bytes);
        let be32 = |b: &[u8]| b.try_into().ok().map(u32::from_be_bytes);
        let typed = match kind {
            KIND_MSS => be16(data).map(TcpOption::Mss),
            KIND_WSCALE => match data {
                [shift] => Some(TcpOption::WindowScale(*shift)),
                _ => None,
            },
            KIND_SACK_PERMITTED => data.is_empty().then_some(TcpOption::SackPermitted),
            KIND_SACK if data.len().is_multiple_of(8) => Some(TcpOption::Sack(
                data.chunks_exact(8)
                    .filter_map(|b| Some((be32(b.get(..4)?)?, be32(b.get(4..)?)?)))
                    .collect(),
            )),
            KIND_TIMESTAMP => match (data.get(..4).and_then(be32), data.get(4..).and_then(be32)) {
                (Some(val), Some(ecr)) => Some(TcpOption::Timestamp { val, ecr }),
                _ => None,
            },
            KIND_FAST_OPEN => Some(TcpOption::FastOpen(data.to_vec())),
            KIND_MD5 => Some(TcpOption::Md5(data.to_vec())),
            KIND_EXPERIMENT => match data.split_first_chunk::<2>() {
                Some((magic, cookie)) if *magic == FAST_OPEN_MAGIC => {
                    Some(TcpOption::FastOpenExp(cookie.to_vec()))
                }
                _ => None,
            },
            _ => None,
        };
        typed.unwrap_or_else(|| TcpOption::Unknown {
            kind,
            data: data.to_vec(),
        })
    }
}

/// Total encoded length of `options` before padding, to check against [`MAX_OPTIONS_LEN`].
pub fn options_len(options: &[TcpOption]) -> usize {
    options.iter().map(TcpOption::encoded_len).sum()
}

/// The options area as sent: the options' bytes, zero-padded to a multiple of four (the zeros are
/// EOL bytes, RFC 9293 §3.1), at most [`MAX_OPTIONS_LEN`] bytes.
pub(super) fn encode_options(options: &[TcpOption]) -> Result<Vec<u8>, WireError> {
    let mut out = raw_options(options)?;
    if out.len() > MAX_OPTIONS_LEN {
        return Err(WireError::OptionsTooLong(out.len()));
    }
    out.resize(out.len().next_multiple_of(4), KIND_EOL);
    Ok(out)
}

/// The options' bytes back to back, without padding or length limit.
pub(super) fn raw_options(options: &[TcpOption]) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(MAX_OPTIONS_LEN);
    for option in options {
        option.write(&mut out)?;
    }
    Ok(out)
}

/// Walks an options area (RFC 9293 §3.1): kinds 0 and 1 are one byte, every other option gives its
/// total length in its second byte. Options need not be word-aligned (MUST-64); unknown kinds are
/// skipped by their length (MUST-6); an illegal length ends the walk with the rest of the bytes as
/// [`TcpOption::Malformed`], keeping everything read before it (MUST-7).
pub(super) fn parse_options(mut bytes: &[u8]) -> Vec<TcpOption> {
    let mut options = Vec::new();
    while let Some((&kind, rest)) = bytes.split_first() {
        match kind {
            KIND_EOL => {
                options.push(TcpOption::Eol);
                if rest.iter().any(|&b| b != 0) {
                    options.push(TcpOption::Malformed {
                        bytes: rest.to_vec(),
                    });
                }
                break;
            }
            KIND_NOP => {
                options.push(TcpOption::Nop);
                bytes = rest;
            }
            _ => {
                let len = rest.first().map_or(0, |&l| usize::from(l));
                match bytes.get(2..len).filter(|_| len >= 2) {
                    Some(data) => {
                        options.push(TcpOption::from_parts(kind, data));
                        bytes = bytes.get(len..).unwrap_or_default();
                    }
                    None => {
                        options.push(TcpOption::Malformed {
                            bytes: bytes.to_vec(),
                        });
                        break;
                    }
                }
            }
        }
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<TcpOption> {
        vec![
            TcpOption::Nop,
            TcpOption::Mss(1460),
            TcpOption::WindowScale(7),
            TcpOption::SackPermitted,
            TcpOption::Sack(vec![(1, 2), (0xFFFF_FFF0, 5)]),
            TcpOption::Timestamp {
                val: 100,
                ecr: 0xDEAD_BEEF,
            },
            TcpOption::FastOpen(vec![]),
            TcpOption::FastOpen(vec![1, 2, 3, 4, 5, 6, 7, 8]),
            TcpOption::FastOpenExp(vec![0xAA, 0xBB, 0xCC, 0xDD]),
            TcpOption::Md5(vec![9; 16]),
            TcpOption::Unknown {
                kind: 30,
                data: vec![1, 2, 3],
            },
            TcpOption::Unknown {
                kind: 253,
                data: vec![],
            },
            TcpOption::Eol,
        ]
    }

    /// Each kind alone and after a single NOP (so that nothing is word-aligned, MUST-64).
    #[test]
    fn every_kind_round_trips_at_odd_alignments() {
        for option in every_kind() {
            for prefix in [
                vec![],
                vec![TcpOption::Nop],
                vec![TcpOption::Nop, TcpOption::Nop],
            ] {
                let mut list = prefix.clone();
                list.push(option.clone());
                let bytes = raw_options(&list).unwrap();
                assert_eq!(bytes.len(), options_len(&list));
                assert_eq!(parse_options(&bytes), list, "{bytes:02x?}");
                // Padding to the word boundary is EOL bytes: unaligned lists read back with an EOL.
                let padded = encode_options(&list).unwrap();
                assert_eq!(padded.len() % 4, 0);
                if !bytes.len().is_multiple_of(4) && option != TcpOption::Eol {
                    list.push(TcpOption::Eol);
                }
                assert_eq!(parse_options(&padded), list);
            }
        }
    }

    #[test]
    fn known_kinds_with_wrong_lengths_are_kept_and_skipped() {
        // MSS with length 3, TS with length 6, SACK with a 4-byte block, then a proper wscale.
        let bytes = [2, 3, 9, 8, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0, 1, 3, 3, 7];
        assert_eq!(
            parse_options(&bytes),
            vec![
                TcpOption::Unknown {
                    kind: 2,
                    data: vec![9]
                },
                TcpOption::Unknown {
                    kind: 8,
                    data: vec![1, 2, 3, 4]
                },
                TcpOption::Unknown {
                    kind: 5,
                    data: vec![0, 0, 0, 1]
                },
                TcpOption::WindowScale(7),
            ]
        );
        // Kind 254 without the TFO magic is some other experiment.
        assert_eq!(
            parse_options(&[254, 4, 0x12, 0x34]),
            vec![TcpOption::Unknown {
                kind: 254,
                data: vec![0x12, 0x34]
            }]
        );
    }

    /// MUST-6: an unknown kind is skipped by its length and the MSS after it is still found
    /// (etherparse's iterator loses it).
    #[test]
    fn unknown_kind_then_mss() {
        let bytes = [99, 4, 0xAB, 0xCD, 2, 4, 0x05, 0xB4];
        assert_eq!(
            parse_options(&bytes),
            vec![
                TcpOption::Unknown {
                    kind: 99,
                    data: vec![0xAB, 0xCD]
                },
                TcpOption::Mss(1460)
            ]
        );
    }

    /// MUST-7: lengths 0 and 1 and lengths past the end keep the earlier options.
    #[test]
    fn illegal_lengths_become_malformed() {
        let cases: [&[u8]; 5] = [
            &[1, 2, 4, 5, 180, 30, 0, 1, 1],
            &[1, 2, 4, 5, 180, 30, 1, 1, 1],
            &[1, 2, 4, 5, 180, 30, 9, 1, 1],
            &[1, 2, 4, 5, 180, 30],
            &[1, 2, 4, 5, 180, 2, 4, 5],
        ];
        for bytes in cases {
            let parsed = parse_options(bytes);
            assert_eq!(
                parsed.get(..2),
                Some(&[TcpOption::Nop, TcpOption::Mss(1460)][..])
            );
            assert_eq!(
                parsed.get(2..),
                Some(
                    &[TcpOption::Malformed {
                        bytes: bytes[5..].to_vec()
                    }][..]
                ),
                "{bytes:?}"
            );
        }
    }

    /// MUST-69: zeros after EOL are padding; anything else after it is reported.
    #[test]
    fn eol_then_padding() {
        assert_eq!(
            parse_options(&[2, 4, 5, 180, 0, 0, 0, 0]),
            vec![TcpOption::Mss(1460), TcpOption::Eol]
        );
        assert_eq!(
            parse_options(&[0, 0, 1, 0]),
            vec![
                TcpOption::Eol,
                TcpOption::Malformed {
                    bytes: vec![0, 1, 0]
                }
            ]
        );
    }

    #[test]
    fn encoding_limits() {
        let sack = TcpOption::Sack(vec![(0, 0); 4]);
        let too_long = [TcpOption::Mss(1), TcpOption::SackPermitted, sack.clone()];
        assert_eq!(options_len(&too_long), 40);
        assert!(encode_options(&too_long).is_ok());
        let too_long = [
            TcpOption::Nop,
            TcpOption::Mss(1),
            TcpOption::SackPermitted,
            sack,
        ];
        assert_eq!(
            encode_options(&too_long),
            Err(WireError::OptionsTooLong(41))
        );
        let huge = TcpOption::Unknown {
            kind: 40,
            data: vec![0; 254],
        };
        assert_eq!(
            encode_options(&[huge]),
            Err(WireError::OptionTooLong { kind: 40, len: 256 })
        );
    }
}
