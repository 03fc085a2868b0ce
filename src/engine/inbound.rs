//! Building the packets tcpconf injects: a script's `<` line, translated into live numbers.

use crate::script::ast::{
    self, AccEcnOrder, IcmpEchoed, IcmpPacket, IpField, Md5Signature, OptionSpec, Pattern,
    PatternKind, SeqSpec, Spanned, TcpOptionKind, TcpPacket,
};
use crate::wire::{
    self, Ecn, IcmpMessage, IpHeader, IpVersion, Packet, Segment, TcpFlags, TcpOption,
};

use super::conn::{Conn, UnknownEcr};

/// Why an inbound line cannot be turned into a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The line is not valid as an inbound packet (a wildcard, no window, …): a script error.
    #[error("{0}")]
    Invalid(String),
    /// tcpconf cannot build this (yet): the script is skipped.
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Ecr(#[from] UnknownEcr),
    #[error("cannot build packet: {0}")]
    Wire(String),
}

/// The wire flags a script's flag letters stand for.
pub fn wire_flags(f: &ast::TcpFlags) -> TcpFlags {
    let mut out = TcpFlags::EMPTY;
    for (set, flag) in [
        (f.fin, TcpFlags::FIN),
        (f.syn, TcpFlags::SYN),
        (f.rst, TcpFlags::RST),
        (f.psh, TcpFlags::PSH),
        (f.ack, TcpFlags::ACK),
        (f.urg, TcpFlags::URG),
        (f.ece, TcpFlags::ECE),
        (f.cwr, TcpFlags::CWR),
        (f.ae, TcpFlags::AE),
    ] {
        if set {
            out |= flag;
        }
    }
    // The AccECN ACE field is AE·CWR·ECE read as a 3-bit number (RFC 9768 §3.2.2).
    if let Some(ace) = f.ace {
        for (bit, flag) in [(4, TcpFlags::AE), (2, TcpFlags::CWR), (1, TcpFlags::ECE)] {
            if ace & bit != 0 {
                out |= flag;
            }
        }
    }
    out
}

/// The 32-bit value of a script number (scripts may write numbers wider than the field; the
/// checker reports those, here they wrap like packetdrill's C arithmetic).
pub fn u32_of(v: u64) -> u32 {
    (v & 0xFFFF_FFFF) as u32
}

fn exact(p: &Pattern, what: &str) -> Result<u64, BuildError> {
    match p.node {
        PatternKind::Exact(v) => Ok(v),
        _ => Err(BuildError::Invalid(format!(
            "{what}: wildcards and ranges are only allowed in outbound packets"
        ))),
    }
}

/// Decodes a hex string as scripts write cookies and signatures (`aabb01`, optional `0x`).
pub fn hex_bytes(text: &str) -> Result<Vec<u8>, BuildError> {
    let t = text.trim_start_matches("0x").trim_start_matches("0X");
    if !t.len().is_multiple_of(2) {
        return Err(BuildError::Invalid(format!(
            "hex string `{text}` has an odd length"
        )));
    }
    (0..t.len())
        .step_by(2)
        .map(|i| {
            t.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| BuildError::Invalid(format!("`{text}` is not a hex string")))
        })
        .collect()
}

fn opt_hex(ident: &Option<ast::Ident>) -> Result<Vec<u8>, BuildError> {
    ident
        .as_ref()
        .map_or(Ok(Vec::new()), |i| hex_bytes(&i.node))
}

/// An AccECN option's bytes: 24-bit counters in the written order (kind 172 if e0b comes first,
/// 174 if e1b does).
pub fn accecn_option(o: &ast::AccEcnOption) -> TcpOption {
    let (kind, fields) = match o.order {
        AccEcnOrder::E0bFirst => (172, [&o.e0b, &o.ceb, &o.e1b]),
        AccEcnOrder::E1bFirst => (174, [&o.e1b, &o.ceb, &o.e0b]),
    };
    let mut data = Vec::new();
    for v in fields.into_iter().map_while(|f| f.as_ref()) {
        data.extend_from_slice(&u32_of(v.node).to_be_bytes()[1..]);
    }
    TcpOption::Unknown { kind, data }
}

/// One inbound option, translated: SACK edges like acks, the TS ecr through the TS map.
fn inbound_option(
    kind: &TcpOptionKind,
    conn: &Conn,
    syn: bool,
    ack_flag: bool,
    ts_ecr_scaled: bool,
) -> Result<TcpOption, BuildError> {
    Ok(match kind {
        TcpOptionKind::Nop => TcpOption::Nop,
        TcpOptionKind::Eol => TcpOption::Eol,
        TcpOptionKind::Mss(p) => TcpOption::Mss(exact(p, "mss")? as u16),
        TcpOptionKind::WindowScale(p) => TcpOption::WindowScale(exact(p, "wscale")? as u8),
        TcpOptionKind::SackPermitted => TcpOption::SackPermitted,
        TcpOptionKind::Sack(blocks) => TcpOption::Sack(
            blocks
                .iter()
                .map(|b| {
                    let (l, r) = (u32_of(b.node.left), u32_of(b.node.right));
                    if ack_flag {
                        (conn.inbound_ack(l, syn), conn.inbound_ack(r, syn))
                    } else {
                        (l, r)
                    }
                })
                .collect(),
        ),
        TcpOptionKind::Timestamp {
            val,
            ecr,
            ecr_absolute,
        } => {
            let val = u32_of(exact(val, "TS val")?);
            let ecr = u32_of(exact(ecr, "TS ecr")?);
            // packetdrill maps the echo only on ACK-flagged packets (`map_inbound_packet`).
            let ecr = if ack_flag && !ecr_absolute {
                conn.inbound_ecr(ecr, ts_ecr_scaled)?
            } else {
                ecr
            };
            TcpOption::Timestamp { val, ecr }
        }
        TcpOptionKind::FastOpen { cookie } => TcpOption::FastOpen(opt_hex(cookie)?),
        TcpOptionKind::FastOpenExp { cookie } => TcpOption::FastOpenExp(opt_hex(cookie)?),
        TcpOptionKind::Md5(Md5Signature::Zero) => TcpOption::Md5(vec![0; 16]),
        TcpOptionKind::Md5(Md5Signature::Hex(h)) => TcpOption::Md5(hex_bytes(&h.node)?),
        TcpOptionKind::Md5(Md5Signature::Valid) => {
            return Err(BuildError::Unsupported(
                "`md5 valid` (signatures computed from --tcp_md5_secret) is not supported".into(),
            ));
        }
        TcpOptionKind::AccEcn(o) => accecn_option(o),
        TcpOptionKind::Generic { kind, data } => TcpOption::Unknown {
            kind: (*kind & 0xFF) as u8,
            data: opt_hex(data)?,
        },
        TcpOptionKind::Experimental { magic, data } => {
            let mut bytes = ((*magic & 0xFFFF) as u16).to_be_bytes().to_vec();
            bytes.extend(opt_hex(data)?);
            TcpOption::Unknown {
                kind: 254,
                data: bytes,
            }
        }
        TcpOptionKind::Raw { bytes } => TcpOption::Malformed {
            bytes: hex_bytes(&bytes.node)?,
        },
        TcpOptionKind::Unknown { name, .. } => {
            return Err(BuildError::Invalid(format!(
                "unknown TCP option `{}`",
                name.node
            )));
        }
    })
}

/// Applies a line's `[ect0]` / `(tos …)` / `(ttl …)` … to a header.
pub fn apply_ip_info(ip: &mut IpHeader, info: &[Spanned<IpField>]) -> Result<(), BuildError> {
    for field in info {
        match (field.node, &mut *ip) {
            (IpField::Ecn(ast::Ecn::Ect01), _) => {
                return Err(BuildError::Invalid(
                    "`ect01` is only allowed on outbound packets".into(),
                ));
            }
            (IpField::Ecn(e), ip) => ip.set_ecn(wire_ecn(e).unwrap_or(Ecn::NotEct)),
            (IpField::Tos(v), IpHeader::V4(h)) => h.tos = v as u8,
            (IpField::TrafficClass(v), IpHeader::V6(h)) => h.traffic_class = v as u8,
            (IpField::Tos(v), IpHeader::V6(h)) => h.traffic_class = v as u8,
            (IpField::Ttl(v), IpHeader::V4(h)) => h.ttl = v as u8,
            (IpField::HopLimit(v) | IpField::Ttl(v), IpHeader::V6(h)) => h.hop_limit = v as u8,
            (IpField::FlowLabel(v), IpHeader::V6(h)) => h.flow_label = (v & 0xF_FFFF) as u32,
            (
                IpField::HopLimit(_) | IpField::FlowLabel(_) | IpField::TrafficClass(_),
                IpHeader::V4(_),
            ) => {
                return Err(BuildError::Invalid(
                    "IPv6 header field on an IPv4 packet".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The wire ECN codepoint of a script's (`None` for `ect01`, which means either ECT).
pub fn wire_ecn(e: ast::Ecn) -> Option<Ecn> {
    match e {
        ast::Ecn::NotEct => Some(Ecn::NotEct),
        ast::Ecn::Ect0 => Some(Ecn::Ect0),
        ast::Ecn::Ect1 => Some(Ecn::Ect1),
        ast::Ecn::Ce => Some(Ecn::Ce),
        ast::Ecn::Ect01 => None,
    }
}

/// Builds the live segment for an inbound TCP line on `conn`.
pub fn build_segment(
    tcp: &TcpPacket,
    ip_info: &[Spanned<IpField>],
    conn: &Conn,
    ts_ecr_scaled: bool,
) -> Result<Segment, BuildError> {
    if tcp.psp_spi.is_some() {
        return Err(BuildError::Unsupported(
            "PSP encapsulation is not supported".into(),
        ));
    }
    if tcp.udp_encap.is_some() {
        return Err(BuildError::Unsupported(
            "TCP-over-UDP encapsulation is not supported".into(),
        ));
    }
    let local_port = conn.local_port.ok_or_else(|| {
        BuildError::Invalid(
            "inbound packet before the stack's port is known (no SYN seen yet)".into(),
        )
    })?;
    let mut ip =
        IpHeader::new(conn.remote, conn.local).map_err(|e| BuildError::Wire(e.to_string()))?;
    apply_ip_info(&mut ip, ip_info)?;
    let (src_port, dst_port) = match &tcp.ports {
        Some(p) => ((p.node.src & 0xFFFF) as u16, (p.node.dst & 0xFFFF) as u16),
        None => (conn.remote_port, local_port),
    };
    let mut seg = Segment::new(ip, src_port, dst_port);
    seg.flags = wire_flags(&tcp.flags.node);
    let syn = tcp.flags.node.syn;
    let ack_flag = tcp.flags.node.ack;
    let len = match tcp.seq.node {
        SeqSpec::Range {
            start,
            len,
            absolute,
            ..
        } => {
            seg.seq = if absolute {
                u32_of(start)
            } else {
                conn.inbound_seq(u32_of(start), syn)
            };
            len
        }
        SeqSpec::Any { .. } => {
            return Err(BuildError::Invalid(
                "`...` sequence numbers are only allowed in outbound packets".into(),
            ));
        }
    };
    seg.ack = match &tcp.ack {
        None => 0,
        Some(p) => {
            let a = u32_of(exact(p, "ack")?);
            if ack_flag {
                conn.inbound_ack(a, syn)
            } else {
                a
            }
        }
    };
    seg.window = match &tcp.win {
        Some(p) => (exact(p, "win")? & 0xFFFF) as u16,
        None => {
            return Err(BuildError::Invalid(
                "an inbound packet needs a `win` value".into(),
            ));
        }
    };
    seg.urgent = tcp.urg.as_ref().map_or(0, |u| (u.node & 0xFFFF) as u16);
    seg.options = match &tcp.options {
        None => Vec::new(),
        Some(OptionSpec::Ordered { options, .. }) => options
            .iter()
            .map(|o| inbound_option(&o.kind, conn, syn, ack_flag, ts_ecr_scaled))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(BuildError::Invalid(
                "`<...>` and unordered option lists are only allowed in outbound packets".into(),
            ));
        }
    };
    let len = usize::try_from(len).map_err(|_| BuildError::Invalid("payload too long".into()))?;
    if len > usize::from(u16::MAX) {
        return Err(BuildError::Invalid(format!(
            "payload of {len} bytes does not fit an IP packet"
        )));
    }
    seg.payload = vec![0; len];
    Ok(seg)
}

/// Builds an inbound ICMP error about the connection under test: `< icmp unreachable frag_needed
/// mtu 1200 [1:1461(1460)]` quotes a segment the stack sent — its IP header and first 8 bytes
/// (RFC 792), with the seq in live numbers — as packetdrill's `icmp_packet.c` does.
pub fn build_icmp(
    icmp: &IcmpPacket,
    ip_info: &[Spanned<IpField>],
    conn: &Conn,
) -> Result<IcmpMessage, BuildError> {
    let mut ip =
        IpHeader::new(conn.remote, conn.local).map_err(|e| BuildError::Wire(e.to_string()))?;
    apply_ip_info(&mut ip, ip_info)?;
    let version = ip.version();
    let icmp_type = wire::icmp::type_by_name(version, &icmp.icmp_type.node).ok_or_else(|| {
        BuildError::Invalid(format!("unknown ICMP type `{}`", icmp.icmp_type.node))
    })?;
    let code = match &icmp.code {
        None => 0,
        Some(c) => wire::icmp::code_by_name(version, icmp_type, &c.node)
            .ok_or_else(|| BuildError::Invalid(format!("unknown ICMP code `{}`", c.node)))?,
    };
    let mut rest = [0u8; 4];
    if let Some(mtu) = &icmp.mtu {
        // Next-hop MTU: the low 16 bits of the word in ICMPv4 (RFC 1191), all 32 in ICMPv6 (RFC 8201).
        rest = match version {
            IpVersion::V4 => {
                let m = ((mtu.node & 0xFFFF) as u16).to_be_bytes();
                [0, 0, m[0], m[1]]
            }
            IpVersion::V6 => u32_of(mtu.node).to_be_bytes(),
        };
    }
    if let Some(id) = &icmp.id {
        let id = ((id.node & 0xFFFF) as u16).to_be_bytes();
        rest[0] = id[0];
        rest[1] = id[1];
    }
    let body = match icmp.echoed.as_ref().map(|e| e.node) {
        None => Vec::new(),
        Some(IcmpEchoed::Tcp {
            start,
            len,
            udp_encap: None,
            ..
        }) => {
            let local_port = conn.local_port.ok_or_else(|| {
                BuildError::Invalid("ICMP message before the stack's port is known".into())
            })?;
            let original_ip = IpHeader::new(conn.local, conn.remote)
                .map_err(|e| BuildError::Wire(e.to_string()))?;
            let mut original = Segment::new(original_ip, local_port, conn.remote_port);
            original.seq = conn.inbound_ack(u32_of(start), false);
            original.payload = vec![
                0;
                usize::try_from(len)
                    .unwrap_or(0)
                    .min(usize::from(u16::MAX) - 60)
            ];
            wire::quote(&Packet::Tcp(original), 8).map_err(|e| BuildError::Wire(e.to_string()))?
        }
        Some(_) => {
            return Err(BuildError::Unsupported(
                "ICMP messages quoting UDP, raw or encapsulated packets are not supported".into(),
            ));
        }
    };
    Ok(IcmpMessage {
        ip,
        icmp_type,
        code,
        rest,
        body,
    })
}

/// The damage an inbound TCP line asks for: `bad_csum` breaks the TCP checksum (MUST-3).
pub fn tamper(tcp: &TcpPacket) -> wire::Tamper {
    wire::Tamper {
        transport_checksum: if tcp.bad_csum {
            wire::Checksum::Wrong
        } else {
            wire::Checksum::Correct
        },
        ..wire::Tamper::default()
    }
}

/// Encodes a built packet, damaged as `tamper` says.
pub fn encode(packet: &wire::Packet, tamper: &wire::Tamper) -> Result<Vec<u8>, BuildError> {
    wire::encode_with(packet, tamper).map_err(|e| BuildError::Wire(e.to_string()))
}

/// A built packet in packetdrill notation, with `bad_csum` when its checksum was broken.
pub fn packet_text(packet: &wire::Packet, tamper: &wire::Tamper) -> String {
    let text = crate::engine::notation::packet_text(packet);
    if tamper.transport_checksum == wire::Checksum::Correct {
        text
    } else {
        format!("{text} bad_csum")
    }
}
