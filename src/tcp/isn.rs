//! Initial sequence numbers per RFC 6528 (RFC 9293 §3.4.1, MUST-8, MUST-9, SHLD-1):
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`, with `M` a clock ticking
//! every 4 µs and `F` SipHash-2-4 keyed by the profile's secret. The clock is the caller's `now`,
//! so a run with the same secret and the same inputs picks the same ISNs.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::seq::Seq;

/// SipHash-2-4 (Aumasson & Bernstein) of `data` under the 128-bit `key`.
pub fn siphash24(key: u128, data: &[u8]) -> u64 {
    let k0 = key as u64;
    let k1 = (key >> 64) as u64;
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let m = u64::from_le_bytes(word);
        v[3] ^= m;
        round(&mut v);
        round(&mut v);
        v[0] ^= m;
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    let m = u64::from_le_bytes(last) | ((data.len() as u64 & 0xff) << 56);
    v[3] ^= m;
    round(&mut v);
    round(&mut v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// Hash of a connection's 4-tuple (plus a domain-separating tag) under `secret`.
pub fn tuple_hash(secret: u128, tag: u8, local: SocketAddr, remote: SocketAddr) -> u64 {
    let mut buf = [0u8; 1 + 2 * (16 + 2)];
    let mut n = 0;
    buf[n] = tag;
    n += 1;
    for addr in [local, remote] {
        let ip = match addr.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        buf[n..n + 16].copy_from_slice(&ip);
        n += 16;
        buf[n..n + 2].copy_from_slice(&addr.port().to_be_bytes());
        n += 2;
    }
    siphash24(secret, &buf[..n])
}

/// RFC 6528's ISN for this 4-tuple at time `now`.
pub fn initial_sequence(secret: u128, now: Duration, local: SocketAddr, remote: SocketAddr) -> Seq {
    // M: a 4 µs timer (RFC 6528 §3), wrapping every ~4.77 hours like the 32-bit space itself.
    let m = (now.as_micros() / 4) as u32;
    let f = tuple_hash(secret, 0, local, remote) as u32;
    Seq(m.wrapping_add(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash_matches_the_reference_vectors() {
        // Test vectors from the SipHash paper's reference implementation: key 00..0f, message 00..n-1.
        let key = u128::from_le_bytes(core::array::from_fn(|i| i as u8));
        assert_eq!(siphash24(key, &[]), 0x726f_db47_dd0e_0e31);
        let msg: Vec<u8> = (0..15).collect();
        assert_eq!(siphash24(key, &msg), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn isn_advances_with_the_4us_clock_and_depends_on_the_tuple() {
        let l: SocketAddr = "192.0.2.1:80".parse().unwrap();
        let r: SocketAddr = "192.0.2.2:40000".parse().unwrap();
        let a = initial_sequence(7, Duration::ZERO, l, r);
        let b = initial_sequence(7, Duration::from_micros(400), l, r);
        assert_eq!(b - a, 100);
        assert_ne!(a, initial_sequence(7, Duration::ZERO, r, l));
        assert_ne!(a, initial_sequence(8, Duration::ZERO, l, r));
    }
}
