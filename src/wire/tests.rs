//! Codec tests across encode and decode: round trips, checksums against independent computations,
//! tampering, hostile input, and property tests.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

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

/// IPv4 header checksum and the TCP pseudo-header checksum (v4 and v6), checked against etherparse's
/// own, independent computations.
#[test]
fn checksums_agree_with_etherparse() {
    use etherparse::{IpSlice, Ipv4HeaderSlice, TcpSlice};
    for ip in [v4(), v6()] {
        let bytes = encode(&Packet::Tcp(syn_ack(ip.clone()))).unwrap();
        let slice = IpSlice::from_slice(&bytes).unwrap();
        let tcp = TcpSlice::from_slice(slice.payload().payload).unwrap();
        let expected = match ip {
            IpHeader::V4(f) => {
                let h = Ipv4HeaderSlice::from_slice(&bytes).unwrap();
                assert_eq!(h.header_checksum(), h.to_header().calc_header_checksum());
                tcp.calc_checksum_ipv4(f.src.octets(), f.dst.octets())
                    .unwrap()
            }
            IpHeader::V6(f) => tcp
                .calc_checksum_ipv6(f.src.octets(), f.dst.octets())
                .unwrap(),
        };
        assert_eq!(tcp.checksum(), expected);
    }
}

/// A SYN whose bytes (checksums included) were computed independently, outside this crate.
#[test]
fn known_answer_ipv4_syn() {
    let seg = Segment {
        seq: 0,
        flags: TcpFlags::SYN,
        window: 65535,
        options: vec![TcpOption::Mss(1460)],
        ..Segment::new(v4(), 1234, 8080)
    };
    let bytes = encode(&Packet::Tcp(seg)).unwrap();
    let expected: [u8; 44] = [
        0x45, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x39, 0x21, 192, 0, 2, 1, 192,
        168, 0, 1, 0x04, 0xd2, 0x1f, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0xf1,
        0x19, 0, 0, 0x02, 0x04, 0x05, 0xb4,
    ];
    assert_eq!(bytes, expected);
}

#[test]
fn udp_and_icmp_round_trip() {
    for ip in [v4(), v6()] {
        let udp = Packet::Udp(Datagram {
            ip: ip.clone(),
            src_port: 53,
            dst_port: 5353,
            payload: vec![1, 2, 3],
        });
        let original = Packet::Tcp(syn_ack(ip.reversed()));
        let icmp = Packet::Icmp(IcmpMessage {
            ip: ip.clone(),
            icmp_type: if ip.version() == IpVersion::V4 { 3 } else { 2 },
            code: 4,
            rest: [0, 0, 0x04, 0xb0],
            body: quote(&original, 8).unwrap(),
        });
        for p in [udp, icmp] {
            let d = decode_full(&encode(&p).unwrap()).unwrap();
            assert_eq!(d.packet, p);
            assert!(d.checksums.all_valid(), "{p:?}");
        }
    }
}

#[test]
fn quote_keeps_ip_header_and_ports_and_seq() {
    let q = quote(&Packet::Tcp(syn_ack(v4())), 8).unwrap();
    assert_eq!(q.len(), 28);
    assert_eq!(
        &q[20..28],
        &[0x1f, 0x90, 0x9c, 0x40, 0x12, 0x34, 0x56, 0x78]
    );
    assert_eq!(
        quote(&Packet::Tcp(syn_ack(v6())), 1000).unwrap().len(),
        40 + 20 + 20 + 5
    );
}

/// MUST-3 scripts need packets whose checksums fail on purpose, and a receiver must notice.
#[test]
fn tampered_checksums_are_reported() {
    for ip in [v4(), v6()] {
        let p = Packet::Tcp(syn_ack(ip.clone()));
        let bad_tcp = Tamper {
            transport_checksum: Checksum::Wrong,
            ..Tamper::default()
        };
        let d = decode_full(&encode_with(&p, &bad_tcp).unwrap()).unwrap();
        assert_eq!(d.packet, p, "a bad checksum does not stop decoding");
        assert!(!d.checksums.transport);
        let bad_ip = Tamper {
            ip_checksum: Checksum::Value(0x1234),
            ..Tamper::default()
        };
        let d = decode_full(&encode_with(&p, &bad_ip).unwrap()).unwrap();
        assert!(d.checksums.transport);
        let expected_ip = if ip.version() == IpVersion::V4 {
            Some(false)
        } else {
            None
        };
        assert_eq!(d.checksums.ip, expected_ip);
    }
}

/// `Checksum::Wrong` must fail whatever the correct value is, including the two zeros of
/// ones'-complement arithmetic.
#[test]
fn wrong_checksum_never_verifies() {
    // Force every correct value through `Wrong` via the UDP payload: the sum shifts by one per step.
    let mut udp = Datagram {
        ip: v4(),
        src_port: 1,
        dst_port: 2,
        payload: vec![0, 0],
    };
    for step in 0..=u16::MAX {
        udp.payload = step.to_be_bytes().to_vec();
        let p = Packet::Udp(udp.clone());
        let tamper = Tamper {
            transport_checksum: Checksum::Wrong,
            ..Tamper::default()
        };
        let d = decode_full(&encode_with(&p, &tamper).unwrap()).unwrap();
        assert!(!d.checksums.transport, "payload {step:#x}");
    }
}

#[test]
fn reserved_bits_and_ae_round_trip() {
    let mut s = syn_ack(v6());
    s.flags = TcpFlags::from_bits(0xFFF);
    let bytes = encode(&Packet::Tcp(s.clone())).unwrap();
    assert_eq!(bytes[40 + 12] & 0x0F, 0x0F);
    let d = decode_full(&bytes).unwrap();
    assert_eq!(d.packet, Packet::Tcp(s));
    assert!(
        d.checksums.all_valid(),
        "reserved bits are covered by the checksum"
    );
}

#[test]
fn lying_data_offset() {
    let p = Packet::Tcp(syn_ack(v4()));
    for (offset, ok) in [
        (0, false),
        (4, false),
        (5, true),
        (6, true),
        (12, false),
        (15, false),
    ] {
        let tamper = Tamper {
            data_offset: Some(offset),
            ..Tamper::default()
        };
        let bytes = encode_with(&p, &tamper).unwrap();
        assert_eq!(bytes[32] >> 4, offset);
        match decode_full(&bytes) {
            Ok(d) => {
                assert!(ok, "offset {offset}");
                assert!(d.checksums.transport, "the checksum covers the lie");
            }
            Err(e) => {
                assert!(!ok, "offset {offset}");
                assert_eq!(e, WireError::DataOffset { offset, len: 45 });
            }
        }
    }
    // Offset 6 reads the MSS as the only option and the rest of the options as payload.
    let bytes = encode_with(
        &p,
        &Tamper {
            data_offset: Some(6),
            ..Tamper::default()
        },
    )
    .unwrap();
    let Ok(Packet::Tcp(s)) = decode(&bytes) else {
        panic!("offset 6 decodes")
    };
    assert_eq!(s.options, vec![TcpOption::Mss(1460)]);
    assert_eq!(s.payload.len(), 16 + 5);
}

#[test]
fn ipv6_extension_headers_are_skipped() {
    let s = syn_ack(v6());
    let mut bytes = encode(&Packet::Tcp(s.clone())).unwrap();
    // Hop-by-hop options header: next header TCP, length 0 (8 bytes), one PadN option.
    let hbh = [6, 0, 1, 4, 0, 0, 0, 0];
    bytes.splice(40..40, hbh);
    bytes[6] = 0;
    let payload_len = u16::from_be_bytes([bytes[4], bytes[5]]) + 8;
    bytes[4..6].copy_from_slice(&payload_len.to_be_bytes());
    let d = decode_full(&bytes).unwrap();
    assert_eq!(d.packet, Packet::Tcp(s));
    assert!(d.checksums.all_valid());
}

#[test]
fn ipv4_options_and_link_padding_are_skipped() {
    let s = syn_ack(v4());
    let mut bytes = encode(&Packet::Tcp(s.clone())).unwrap();
    bytes.splice(20..20, [1, 1, 1, 0]);
    bytes[0] = 0x46;
    let total = u16::from_be_bytes([bytes[2], bytes[3]]) + 4;
    bytes[2..4].copy_from_slice(&total.to_be_bytes());
    bytes[10..12].copy_from_slice(&[0, 0]);
    let csum = etherparse::Ipv4HeaderSlice::from_slice(&bytes[..24])
        .unwrap()
        .to_header()
        .calc_header_checksum();
    bytes[10..12].copy_from_slice(&csum.to_be_bytes());
    bytes.extend_from_slice(&[0xEE; 6]);
    let d = decode_full(&bytes).unwrap();
    assert_eq!(d.packet, Packet::Tcp(s));
    assert!(d.checksums.all_valid());
}

#[test]
fn hostile_input_gives_errors() {
    assert_eq!(
        decode(&[]),
        Err(WireError::Truncated {
            layer: "IP",
            need: 1,
            have: 0
        })
    );
    assert_eq!(decode(&[0x15, 0]), Err(WireError::IpVersion(1)));
    assert!(matches!(decode(&[0x45]), Err(WireError::IpHeader(_))));
    // Every prefix of a valid packet is either an error or (never here) a packet; none panics.
    for ip in [v4(), v6()] {
        let bytes = encode(&Packet::Tcp(syn_ack(ip))).unwrap();
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "prefix of {len} bytes");
        }
    }
    // A TCP header cut short while the IP lengths agree with it.
    let mut short = encode(&Packet::Tcp(syn_ack(v4()))).unwrap();
    short.truncate(30);
    short[2..4].copy_from_slice(&30u16.to_be_bytes());
    assert_eq!(
        decode(&short),
        Err(WireError::Truncated {
            layer: "TCP",
            need: 20,
            have: 10
        })
    );
    // A UDP length field larger than the datagram.
    let udp = Packet::Udp(Datagram {
        ip: v6(),
        src_port: 1,
        dst_port: 2,
        payload: vec![7; 4],
    });
    let mut bytes = encode(&udp).unwrap();
    bytes[44..46].copy_from_slice(&13u16.to_be_bytes());
    assert_eq!(
        decode(&bytes),
        Err(WireError::UdpLength { field: 13, len: 12 })
    );
    // Protocols we do not model, and ICMP over the wrong IP version.
    let mut gre = encode(&Packet::Tcp(syn_ack(v4()))).unwrap();
    gre[9] = 47;
    assert_eq!(decode(&gre), Err(WireError::Protocol(47)));
    let mut icmp_in_v6 = encode(&Packet::Tcp(syn_ack(v6()))).unwrap();
    icmp_in_v6[6] = 1;
    assert_eq!(decode(&icmp_in_v6), Err(WireError::Protocol(1)));
}

#[test]
fn fragments_are_refused() {
    let mut bytes = encode(&Packet::Tcp(syn_ack(v4()))).unwrap();
    bytes[6] = 0x20; // more fragments
    assert_eq!(decode(&bytes), Err(WireError::Fragment));
}

#[test]
fn encode_errors() {
    let mut s = syn_ack(v6());
    if let IpHeader::V6(f) = &mut s.ip {
        f.flow_label = 0x10_0000;
    }
    assert_eq!(
        encode(&Packet::Tcp(s)),
        Err(WireError::FlowLabel(0x10_0000))
    );
    let mut s = syn_ack(v4());
    s.payload = vec![0; 65535 - 20 - 20];
    assert_eq!(encode(&Packet::Tcp(s)), Err(WireError::TooLong(65535)));
    let mut s = syn_ack(v4());
    s.options.push(TcpOption::Sack(vec![(1, 2); 3]));
    assert_eq!(encode(&Packet::Tcp(s)), Err(WireError::OptionsTooLong(46)));
}

/// Options a decoder reads back unchanged: no EOL except last, nothing malformed, at most 40 bytes.
/// An unaligned list comes back with the EOL its padding starts with.
fn arb_options() -> impl Strategy<Value = Vec<TcpOption>> {
    let known = [0u8, 1, 2, 3, 4, 5, 8, 19, 34, 254];
    let option = prop_oneof![
        Just(TcpOption::Nop),
        any::<u16>().prop_map(TcpOption::Mss),
        any::<u8>().prop_map(TcpOption::WindowScale),
        Just(TcpOption::SackPermitted),
        prop::collection::vec(any::<(u32, u32)>(), 0..4).prop_map(TcpOption::Sack),
        any::<(u32, u32)>().prop_map(|(val, ecr)| TcpOption::Timestamp { val, ecr }),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(TcpOption::FastOpen),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(TcpOption::FastOpenExp),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(TcpOption::Md5),
        (
            any::<u8>().prop_filter("unknown kind", move |k| !known.contains(k)),
            prop::collection::vec(any::<u8>(), 0..12)
        )
            .prop_map(|(kind, data)| TcpOption::Unknown { kind, data }),
    ];
    (prop::collection::vec(option, 0..8), any::<bool>()).prop_map(|(mut list, eol)| {
        while options_len(&list) + usize::from(eol) > MAX_OPTIONS_LEN {
            list.pop();
        }
        if eol || !options_len(&list).is_multiple_of(4) {
            list.push(TcpOption::Eol);
        }
        list
    })
}

fn arb_ip() -> impl Strategy<Value = IpHeader> {
    prop_oneof![
        (
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
            any::<(u8, u8, u16, bool)>()
        )
            .prop_map(|(src, dst, (ttl, tos, id, dont_fragment))| {
                IpHeader::V4(Ipv4Fields {
                    src: Ipv4Addr::from(src),
                    dst: Ipv4Addr::from(dst),
                    ttl,
                    tos,
                    id,
                    dont_fragment,
                })
            }),
        (
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<(u8, u8)>(),
            0u32..0x10_0000
        )
            .prop_map(|(src, dst, (hop_limit, traffic_class), flow_label)| {
                IpHeader::V6(Ipv6Fields {
                    src: Ipv6Addr::from(src),
                    dst: Ipv6Addr::from(dst),
                    hop_limit,
                    traffic_class,
                    flow_label,
                })
            }),
    ]
}

fn arb_segment() -> impl Strategy<Value = Segment> {
    (
        arb_ip(),
        any::<(u16, u16, u32, u32)>(),
        (0u16..0x1000, any::<u16>(), any::<u16>()),
        arb_options(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(
            |(ip, (sp, dp, seq, ack), (flags, window, urgent), options, payload)| Segment {
                ip,
                src_port: sp,
                dst_port: dp,
                seq,
                ack,
                flags: TcpFlags::from_bits(flags),
                window,
                urgent,
                options,
                payload,
            },
        )
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        4 => arb_segment().prop_map(Packet::Tcp),
        1 => (arb_ip(), any::<(u16, u16)>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(
            |(ip, (src_port, dst_port), payload)| {
                Packet::Udp(Datagram { ip, src_port, dst_port, payload })
            }
        ),
        1 => (arb_ip(), any::<(u8, u8, [u8; 4])>(), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(ip, (icmp_type, code, rest), body)| {
                Packet::Icmp(IcmpMessage { ip, icmp_type, code, rest, body })
            }),
    ]
}

/// Whatever `bytes` decode to is a fixed point of the model: encoding it and decoding again gives
/// the same packet (IPv4 options, IPv6 extension headers and padding after EOL are not modelled, so
/// the bytes themselves may differ).
fn assert_decode_is_stable(bytes: &[u8]) {
    if let Ok(p) = decode(bytes)
        && let Ok(again) = encode(&p)
    {
        assert_eq!(decode(&again), Ok(p));
    }
}

proptest! {
    #[test]
    fn decode_inverts_encode(p in arb_packet()) {
        let bytes = encode(&p).unwrap();
        let d = decode_full(&bytes).unwrap();
        prop_assert_eq!(d.packet, p);
        prop_assert!(d.checksums.all_valid());
    }

    #[test]
    fn decode_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        assert_decode_is_stable(&bytes);
    }

    /// Random bytes rarely get past the IP header; damaged valid packets reach every layer.
    #[test]
    fn decode_never_panics_on_damaged_packets(
        p in arb_packet(),
        damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = encode(&p).unwrap();
        for (at, value) in damage {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        assert_decode_is_stable(&bytes);
        bytes.truncate(cut.index(bytes.len() + 1));
        assert_decode_is_stable(&bytes);
    }

    /// The option walker alone, on any bytes: never panics and loses nothing: writing back what it
    /// read gives the input, except for the zero padding after an EOL.
    #[test]
    fn option_walker_is_lossless(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        let options = options::parse_options(&bytes);
        let again = options::raw_options(&options).unwrap();
        prop_assert_eq!(&bytes[..again.len()], &again[..]);
        prop_assert!(bytes[again.len()..].iter().all(|&b| b == 0));
    }
}
