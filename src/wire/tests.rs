//! Codec tests across encode and decode: round trips, checksums against independent computations,
//! tampering, hostile input, and property tests.

use super::*;

fn v4() -> IpHeader {
    IpHeader::new("192.0.2.1".parse().unwrap(), "192.168.0.1".parse().unwrap()).unwrap()
}

fn v6() -> IpHeader {
    IpHeader::new(
        "2001:db8::1".parse().unwrap(),
        "fd3d:a0b:17d6::1".parse().unwrap(),
    )
    .unwrap()
}

fn syn_ack(ip: IpHeader) -> Segment {
    Segment {
        seq: 0x1234_5678,
        ack: 0x0000_0011,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 65535,
        options: vec![
            TcpOption::Mss(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamp { val: 100, ecr: 0 },
            TcpOption::Nop,
            TcpOption::WindowScale(7),
        ],
        payload: b"hello".to_vec(),
        ..Segment::new(ip, 8080, 40000)
    }
}

#[test]
fn tcp_round_trips_over_both_versions() {
    for ip in [v4(), v6()] {
        let p = Packet::Tcp(syn_ack(ip));
        let bytes = encode(&p).unwrap();
        let d = decode_full(&bytes).unwrap();
        assert_eq!(d.packet, p);
        assert!(d.checksums.all_valid());
    }
}
