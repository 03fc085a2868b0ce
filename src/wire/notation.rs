//! Packets in packetdrill notation, and the fields in which two segments differ.
//!
//! The printer shows the numbers it is given: translating sequence numbers and timestamps to the
//! script's relative space is the engine's business. A segment prints as
//! `> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>`: direction, IP
//! extras worth showing, optional ports, flags, `start:end(payload length)`, `ack` when the ACK
//! flag is set or the field is not zero, `win`, `urg` when URG is set or the pointer is not zero,
//! options.

use std::fmt;

use super::icmp::{self, FRAG_NEEDED, PACKET_TOO_BIG_V6, UNREACHABLE_V4};
use super::options::encode_options;
use super::{
    Datagram, Ecn, IcmpMessage, IpHeader, IpVersion, Packet, Segment, TcpFlags, TcpOption,
};

/// Which way a packet travels, as the first character of a script line shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `<`: injected by tcpconf, arriving at the stack under test.
    Inbound,
    /// `>`: sent by the stack under test.
    Outbound,
}

impl Direction {
    pub fn symbol(self) -> char {
        match self {
            Direction::Inbound => '<',
            Direction::Outbound => '>',
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Body<'a> {
    Tcp(&'a Segment),
    Udp(&'a Datagram),
    Icmp(&'a IcmpMessage),
}

/// A packet ready to print in packetdrill notation (see the module docs); build it with
/// [`Notation::segment`] or [`Notation::packet`] and print it with `{}`.
#[derive(Debug, Clone, Copy)]
pub struct Notation<'a> {
    body: Body<'a>,
    direction: Option<Direction>,
    ports: bool,
}

impl<'a> Notation<'a> {
    pub fn segment(segment: &'a Segment) -> Notation<'a> {
        Notation {
            body: Body::Tcp(segment),
            direction: None,
            ports: false,
        }
    }

    pub fn packet(packet: &'a Packet) -> Notation<'a> {
        let body = match packet {
            Packet::Tcp(s) => Body::Tcp(s),
            Packet::Udp(d) => Body::Udp(d),
            Packet::Icmp(m) => Body::Icmp(m),
        };
        Notation {
            body,
            direction: None,
            ports: false,
        }
    }

    /// Starts the line with `<` or `>`.
    pub fn direction(mut self, direction: Direction) -> Notation<'a> {
        self.direction = Some(direction);
        self
    }

    /// Shows `sport>dport` before the flags (scripts leave ports out; useful when several flows mix).
    pub fn ports(mut self) -> Notation<'a> {
        self.ports = true;
        self
    }
}

impl fmt::Display for Notation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = self.direction {
            write!(f, "{} ", d.symbol())?;
        }
        let ip = match self.body {
            Body::Tcp(s) => &s.ip,
            Body::Udp(d) => &d.ip,
            Body::Icmp(m) => &m.ip,
        };
        write_ip_info(f, ip)?;
        let ports = match self.body {
            Body::Tcp(s) => Some((s.src_port, s.dst_port)),
            Body::Udp(d) => Some((d.src_port, d.dst_port)),
            Body::Icmp(_) => None,
        };
        if let (true, Some((src, dst))) = (self.ports, ports) {
            write!(f, "{src}>{dst} ")?;
        }
        match self.body {
            Body::Tcp(s) => write_segment(f, s),
            Body::Udp(d) => write!(f, "udp ({})", d.payload.len()),
            Body::Icmp(m) => write_icmp(f, m),
        }
    }
}

/// packetdrill's `ip_info`: ECN codepoint, then TOS and flow label when not zero. TTL and IPv4 id
/// are not shown: matchers ignore them unless a script sets them.
fn write_ip_info(f: &mut fmt::Formatter<'_>, ip: &IpHeader) -> fmt::Result {
    match ip.ecn() {
        Ecn::NotEct => {}
        Ecn::Ect0 => f.write_str("[ect0] ")?,
        Ecn::Ect1 => f.write_str("[ect1] ")?,
        Ecn::Ce => f.write_str("[ce] ")?,
    }
    if ip.tos() >> 2 != 0 {
        write!(f, "(tos {:#04x}) ", ip.tos())?;
    }
    if let IpHeader::V6(h) = ip
        && h.flow_label != 0
    {
        write!(f, "(flowlabel {:#x}) ", h.flow_label)?;
    }
    Ok(())
}

fn write_segment(f: &mut fmt::Formatter<'_>, s: &Segment) -> fmt::Result {
    write_flags(f, s.flags)?;
    let len = u32::try_from(s.payload.len()).unwrap_or(u32::MAX);
    write!(f, " {}:{}({})", s.seq, s.seq.wrapping_add(len), len)?;
    if s.flags.contains(TcpFlags::ACK) || s.ack != 0 {
        write!(f, " ack {}", s.ack)?;
    }
    write!(f, " win {}", s.window)?;
    if s.flags.contains(TcpFlags::URG) || s.urgent != 0 {
        write!(f, " urg {}", s.urgent)?;
    }
    if !s.options.is_empty() {
        f.write_str(" <")?;
        for (i, option) in s.options.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{option}")?;
        }
        f.write_str(">")?;
    }
    Ok(())
}

/// Flags in packetdrill's order (`FSRP.UEWA`), `-` for none. Reserved bits, which the script
/// language cannot express, follow as `rsvd=N`.
fn write_flags(f: &mut fmt::Formatter<'_>, flags: TcpFlags) -> fmt::Result {
    const LETTERS: [(TcpFlags, char); 9] = [
        (TcpFlags::FIN, 'F'),
        (TcpFlags::SYN, 'S'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::ACK, '.'),
        (TcpFlags::URG, 'U'),
        (TcpFlags::ECE, 'E'),
        (TcpFlags::CWR, 'W'),
        (TcpFlags::AE, 'A'),
    ];
    let mut any = false;
    for (flag, letter) in LETTERS {
        if flags.contains(flag) {
            write!(f, "{letter}")?;
            any = true;
        }
    }
    if !any && flags.reserved() == 0 {
        f.write_str("-")?;
    }
    if flags.reserved() != 0 {
        write!(f, "{}rsvd={}", if any { " " } else { "" }, flags.reserved())?;
    }
    Ok(())
}

struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// One option as packetdrill scripts write it: `mss 1460`, `sackOK`, `TS val 1 ecr 0`, `FO abcd`, …
/// Kinds the Google dialect cannot name use the nplab form `gen-<kind> <hex>`; malformed bytes print
/// as `malformed <hex>`, which no dialect parses.
impl fmt::Display for TcpOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `FO`, `md5` etc. without data print without a trailing space.
        let with_hex = |f: &mut fmt::Formatter<'_>, name: &str, data: &[u8]| {
            f.write_str(name)?;
            if data.is_empty() {
                Ok(())
            } else {
                write!(f, " {}", Hex(data))
            }
        };
        match self {
            TcpOption::Eol => f.write_str("eol"),
            TcpOption::Nop => f.write_str("nop"),
            TcpOption::Mss(mss) => write!(f, "mss {mss}"),
            TcpOption::WindowScale(shift) => write!(f, "wscale {shift}"),
            TcpOption::SackPermitted => f.write_str("sackOK"),
            TcpOption::Sack(blocks) => {
                f.write_str("sack")?;
                blocks.iter().try_for_each(|(l, r)| write!(f, " {l}:{r}"))
            }
            TcpOption::Timestamp { val, ecr } => write!(f, "TS val {val} ecr {ecr}"),
            TcpOption::FastOpen(cookie) => with_hex(f, "FO", cookie),
            TcpOption::FastOpenExp(cookie) => with_hex(f, "FOEXP", cookie),
            TcpOption::Md5(digest) => with_hex(f, "md5", digest),
            TcpOption::Unknown { kind, data } => with_hex(f, &format!("gen-{kind}"), data),
            TcpOption::Malformed { bytes } => with_hex(f, "malformed", bytes),
        }
    }
}

/// `icmp unreachable frag_needed mtu 1200 [1:1461(1460)]`, as scripts write ICMP errors; types and
/// codes without a name print as `type_N` / `code_N`.
fn write_icmp(f: &mut fmt::Formatter<'_>, m: &IcmpMessage) -> fmt::Result {
    let version = m.ip.version();
    f.write_str("icmp ")?;
    match icmp::type_name(version, m.icmp_type) {
        Some(name) => f.write_str(name)?,
        None => write!(f, "type_{}", m.icmp_type)?,
    }
    match icmp::code_name(version, m.icmp_type, m.code) {
        Some(name) => write!(f, " {name}")?,
        None if m.code != 0 => write!(f, " code_{}", m.code)?,
        None => {}
    }
    let [a, b, c, d] = m.rest;
    match (version, m.icmp_type, m.code) {
        (IpVersion::V4, UNREACHABLE_V4, FRAG_NEEDED) => {
            write!(f, " mtu {}", u16::from_be_bytes([c, d]))?
        }
        (IpVersion::V6, PACKET_TOO_BIG_V6, _) => {
            write!(f, " mtu {}", u32::from_be_bytes([a, b, c, d]))?
        }
        _ => {}
    }
    write_quoted(f, version, &m.body)
}

/// The quoted original's transport part: `[seq:end(len)]` for TCP, `[udp (len)]` for UDP, where
/// `len` is the payload length the quoted IP header claims (the quote itself is cut short).
fn write_quoted(f: &mut fmt::Formatter<'_>, version: IpVersion, quote: &[u8]) -> fmt::Result {
    let (ip_len, total, protocol) = match version {
        IpVersion::V4 => {
            let ihl = quote.first().map_or(0, |b| usize::from(b & 0x0F) * 4);
            let total = quote
                .get(2..4)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
            (ihl, total, quote.get(9))
        }
        IpVersion::V6 => {
            let payload = quote
                .get(4..6)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
            (40, payload.map(|p| p + 40), quote.get(6))
        }
    };
    let (Some(total), Some(&protocol)) = (total, protocol) else {
        return Ok(());
    };
    let transport = quote.get(ip_len..).unwrap_or_default();
    match protocol {
        6 => {
            let Some(seq) = transport.get(4..8) else {
                return Ok(());
            };
            let seq = u32::from_be_bytes([seq[0], seq[1], seq[2], seq[3]]);
            // RFC 792 quotes only 8 bytes of TCP, without the data offset: assume no options then.
            let header = transport.get(12).map_or(20, |b| usize::from(b >> 4) * 4);
            let len = total.saturating_sub(ip_len + header);
            let len32 = u32::try_from(len).unwrap_or(u32::MAX);
            write!(f, " [{seq}:{}({len})]", seq.wrapping_add(len32))
        }
        17 => write!(f, " [udp ({})]", total.saturating_sub(ip_len + 8)),
        _ => Ok(()),
    }
}

/// A field of a [`Segment`] that a matcher may compare, named as failure output shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    IpVersion,
    SrcAddr,
    DstAddr,
    /// TTL or hop limit.
    Ttl,
    /// The DSCP part of TOS / traffic class.
    Dscp,
    Ecn,
    /// IPv4 identification (compared only when both are IPv4).
    IpId,
    /// IPv4 DF (compared only when both are IPv4).
    DontFragment,
    /// IPv6 flow label (compared only when both are IPv6).
    FlowLabel,
    SrcPort,
    DstPort,
    Seq,
    /// The acknowledgment field, compared whether or not ACK is set (as packetdrill does).
    Ack,
    /// All twelve control bits, reserved bits included.
    Flags,
    Window,
    Urgent,
    /// Compared as the bytes they occupy on the wire, padding included, so an explicit trailing
    /// EOL equals the padding that would stand in its place.
    Options,
    Payload,
}

impl Field {
    /// The word failure output uses: packetdrill's keyword where it has one (`ack`, `win`, `urg`).
    pub fn name(self) -> &'static str {
        match self {
            Field::IpVersion => "ip version",
            Field::SrcAddr => "source address",
            Field::DstAddr => "destination address",
            Field::Ttl => "ttl",
            Field::Dscp => "dscp",
            Field::Ecn => "ecn",
            Field::IpId => "ip id",
            Field::DontFragment => "df",
            Field::FlowLabel => "flowlabel",
            Field::SrcPort => "source port",
            Field::DstPort => "destination port",
            Field::Seq => "seq",
            Field::Ack => "ack",
            Field::Flags => "flags",
            Field::Window => "win",
            Field::Urgent => "urg",
            Field::Options => "options",
            Field::Payload => "payload",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fields in which an actual segment differs from an expected one, in header order. Neutral:
/// it knows no wildcards; the engine drops the fields a script leaves open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentDiff {
    fields: Vec<Field>,
}

impl SegmentDiff {
    pub fn between(expected: &Segment, actual: &Segment) -> SegmentDiff {
        let (e, a) = (&expected.ip, &actual.ip);
        let mut fields = Vec::new();
        let mut check = |field, differs: bool| {
            if differs {
                fields.push(field);
            }
        };
        check(Field::IpVersion, e.version() != a.version());
        check(Field::SrcAddr, e.src() != a.src());
        check(Field::DstAddr, e.dst() != a.dst());
        check(Field::Ttl, e.ttl() != a.ttl());
        check(Field::Dscp, e.tos() >> 2 != a.tos() >> 2);
        check(Field::Ecn, e.ecn() != a.ecn());
        match (e, a) {
            (IpHeader::V4(e), IpHeader::V4(a)) => {
                check(Field::IpId, e.id != a.id);
                check(Field::DontFragment, e.dont_fragment != a.dont_fragment);
            }
            (IpHeader::V6(e), IpHeader::V6(a)) => {
                check(Field::FlowLabel, e.flow_label != a.flow_label)
            }
            _ => {}
        }
        check(Field::SrcPort, expected.src_port != actual.src_port);
        check(Field::DstPort, expected.dst_port != actual.dst_port);
        check(Field::Seq, expected.seq != actual.seq);
        check(Field::Ack, expected.ack != actual.ack);
        check(Field::Flags, expected.flags != actual.flags);
        check(Field::Window, expected.window != actual.window);
        check(Field::Urgent, expected.urgent != actual.urgent);
        check(
            Field::Options,
            !same_options(&expected.options, &actual.options),
        );
        check(Field::Payload, expected.payload != actual.payload);
        SegmentDiff { fields }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn contains(&self, field: Field) -> bool {
        self.fields.contains(&field)
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The difference without the fields the caller does not care about.
    pub fn ignoring(mut self, ignored: &[Field]) -> SegmentDiff {
        self.fields.retain(|f| !ignored.contains(f));
        self
    }
}

/// Lists the differing fields: `seq, win, options`, or `none`.
impl fmt::Display for SegmentDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.fields.is_empty() {
            return f.write_str("none");
        }
        for (i, field) in self.fields.iter().enumerate() {
            write!(f, "{}{field}", if i > 0 { ", " } else { "" })?;
        }
        Ok(())
    }
}

/// Options are the same if they put the same bytes on the wire; lists too long to encode compare
/// element by element.
fn same_options(expected: &[TcpOption], actual: &[TcpOption]) -> bool {
    match (encode_options(expected), encode_options(actual)) {
        (Ok(e), Ok(a)) => e == a,
        _ => expected == actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::quote;

    fn syn_ack() -> Segment {
        let ip =
            IpHeader::new("192.168.0.1".parse().unwrap(), "192.0.2.1".parse().unwrap()).unwrap();
        Segment {
            ack: 1,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: 65535,
            options: vec![
                TcpOption::Mss(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamp { val: 100, ecr: 0 },
                TcpOption::Nop,
                TcpOption::WindowScale(7),
            ],
            ..Segment::new(ip, 8080, 40000)
        }
    }

    #[test]
    fn prints_like_packetdrill() {
        let s = syn_ack();
        assert_eq!(
            Notation::segment(&s)
                .direction(Direction::Outbound)
                .to_string(),
            "> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>"
        );
        let data = Segment {
            seq: 1,
            flags: TcpFlags::PSH | TcpFlags::ACK | TcpFlags::FIN,
            payload: vec![0; 1000],
            options: vec![],
            window: 257,
            ..s.clone()
        };
        assert_eq!(
            Notation::segment(&data).to_string(),
            "FP. 1:1001(1000) ack 1 win 257"
        );
        let mut odd = Segment {
            flags: TcpFlags::EMPTY,
            ack: 0,
            options: vec![],
            ..s.clone()
        };
        assert_eq!(
            Notation::segment(&odd).ports().to_string(),
            "8080>40000 - 0:0(0) win 65535"
        );
        odd.flags = TcpFlags::from_bits(0x400 | 0x020) | TcpFlags::AE;
        odd.urgent = 3;
        odd.ip.set_ecn(Ecn::Ce);
        assert_eq!(
            Notation::segment(&odd)
                .direction(Direction::Inbound)
                .to_string(),
            "< [ce] UA rsvd=2 0:0(0) win 65535 urg 3"
        );
        // Sequence numbers wrap.
        let wrap = Segment {
            seq: u32::MAX,
            payload: vec![0; 2],
            ..odd
        };
        assert!(
            Notation::segment(&wrap)
                .to_string()
                .contains(" 4294967295:1(2)")
        );
    }

    #[test]
    fn every_option_prints() {
        let options = [
            (TcpOption::Eol, "eol"),
            (TcpOption::Sack(vec![(1, 2), (5, 9)]), "sack 1:2 5:9"),
            (TcpOption::FastOpen(vec![]), "FO"),
            (TcpOption::FastOpen(vec![0xab, 0x01]), "FO ab01"),
            (TcpOption::FastOpenExp(vec![0xff]), "FOEXP ff"),
            (TcpOption::Md5(vec![0; 2]), "md5 0000"),
            (
                TcpOption::Unknown {
                    kind: 30,
                    data: vec![1],
                },
                "gen-30 01",
            ),
            (TcpOption::Malformed { bytes: vec![8, 0] }, "malformed 0800"),
        ];
        for (option, text) in options {
            assert_eq!(option.to_string(), text);
        }
    }

    #[test]
    fn prints_udp_and_icmp() {
        let s = Segment {
            seq: 1,
            payload: vec![0; 1460],
            options: vec![],
            ..syn_ack()
        };
        let udp = Packet::Udp(Datagram {
            ip: s.ip.clone(),
            src_port: 1,
            dst_port: 2,
            payload: vec![0; 9],
        });
        assert_eq!(Notation::packet(&udp).ports().to_string(), "1>2 udp (9)");
        let icmp = Packet::Icmp(IcmpMessage {
            ip: s.ip.reversed(),
            icmp_type: 3,
            code: 4,
            rest: [0, 0, 0x04, 0xb0],
            body: quote(&Packet::Tcp(s.clone()), 8).unwrap(),
        });
        assert_eq!(
            Notation::packet(&icmp)
                .direction(Direction::Inbound)
                .to_string(),
            "< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]"
        );
        // A longer quote shows the data offset, so options are not counted as payload.
        let with_options = Packet::Tcp(Segment {
            options: vec![TcpOption::Nop; 12],
            ..s.clone()
        });
        let Packet::Icmp(mut m) = icmp else {
            unreachable!()
        };
        m.body = quote(&with_options, 20).unwrap();
        assert!(
            Notation::packet(&Packet::Icmp(m))
                .to_string()
                .ends_with("[1:1461(1460)]")
        );
        let v6 = IpHeader::new("::1".parse().unwrap(), "::2".parse().unwrap()).unwrap();
        let too_big = Packet::Icmp(IcmpMessage {
            ip: v6,
            icmp_type: 2,
            code: 0,
            rest: [0, 0, 5, 0],
            body: vec![],
        });
        assert_eq!(
            Notation::packet(&too_big).to_string(),
            "icmp packet_too_big mtu 1280"
        );
    }

    #[test]
    fn diff_lists_fields_in_header_order() {
        let expected = syn_ack();
        assert!(SegmentDiff::between(&expected, &expected).is_empty());
        let mut actual = expected.clone();
        actual.window = 29200;
        actual.ack = 2;
        actual.options.swap(0, 1);
        actual.ip.set_ecn(Ecn::Ect0);
        let diff = SegmentDiff::between(&expected, &actual);
        assert_eq!(
            diff.fields(),
            &[Field::Ecn, Field::Ack, Field::Window, Field::Options]
        );
        assert_eq!(diff.to_string(), "ecn, ack, win, options");
        assert!(diff.contains(Field::Window));
        let rest = diff.ignoring(&[Field::Window, Field::Ecn]);
        assert_eq!(rest.to_string(), "ack, options");
        assert_eq!(SegmentDiff::default().to_string(), "none");
    }

    #[test]
    fn diff_compares_options_on_the_wire_and_versions() {
        let mut expected = syn_ack();
        expected.options = vec![TcpOption::Mss(1460), TcpOption::SackPermitted];
        let mut actual = expected.clone();
        actual.options.push(TcpOption::Eol);
        assert!(SegmentDiff::between(&expected, &actual).is_empty());
        actual.options.push(TcpOption::Nop);
        assert_eq!(
            SegmentDiff::between(&expected, &actual).fields(),
            &[Field::Options]
        );
        let mut v6 = expected.clone();
        v6.ip = IpHeader::new("::1".parse().unwrap(), "::2".parse().unwrap()).unwrap();
        let diff = SegmentDiff::between(&expected, &v6);
        assert_eq!(
            diff.fields(),
            &[Field::IpVersion, Field::SrcAddr, Field::DstAddr]
        );
    }
}
