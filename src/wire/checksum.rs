//! The Internet checksum (RFC 1071) and the pseudo-headers TCP, UDP and ICMPv6 sum over.

use super::IpHeader;

/// Ones'-complement sum of `data` as big-endian 16-bit words, an odd last byte padded with zero,
/// added to `sum` without folding (a u64 cannot overflow on any IP packet).
fn add(mut sum: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(u16::from_be_bytes([*last, 0]));
    }
    sum
}

/// Folds the carries back in and complements.
fn finish(mut sum: u64) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    !(sum as u16)
}

/// The checksum of `data` alone (IPv4 header, ICMPv4).
pub(super) fn plain(data: &[u8]) -> u16 {
    finish(add(0, data))
}

/// The checksum of `data` behind the pseudo-header of `ip` (RFC 9293 §3.1 for IPv4, RFC 8200 §8.1
/// for IPv6) for upper-layer `protocol`. Over a segment whose checksum field holds the correct
/// value, the result is zero.
pub(super) fn with_pseudo_header(ip: &IpHeader, protocol: u8, data: &[u8]) -> u16 {
    let len = data.len() as u64;
    let sum = match ip {
        IpHeader::V4(h) => add(add(0, &h.src.octets()), &h.dst.octets()),
        IpHeader::V6(h) => add(add(0, &h.src.octets()), &h.dst.octets()),
    };
    // The length is 16 bits in IPv4's pseudo-header and 32 in IPv6's; as a sum of words the two
    // agree for any length that fits in an IP packet.
    finish(add(sum, data) + u64::from(protocol) + (len >> 16) + (len & 0xFFFF))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of RFC 1071 §3.
    #[test]
    fn rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(plain(&data), !0xddf2);
        // An odd length pads with a zero byte.
        assert_eq!(plain(&[0x12]), !0x1200);
    }
}
