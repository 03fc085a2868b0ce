//! Packets in packetdrill notation, for traces and failure messages.

use crate::wire::{Packet, Segment, TcpFlags, TcpOption};

/// Flag letters as scripts write them: `S.`, `F.`, `P.`, `R`, `-` for none; reserved bits as
/// `[rsv 0x1]`.
pub fn flags_text(f: TcpFlags) -> String {
    let mut s = String::new();
    for (flag, c) in [
        (TcpFlags::SYN, 'S'),
        (TcpFlags::FIN, 'F'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::ACK, '.'),
        (TcpFlags::URG, 'U'),
        (TcpFlags::ECE, 'E'),
        (TcpFlags::CWR, 'W'),
        (TcpFlags::AE, 'A'),
    ] {
        if f.contains(flag) {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push('-');
    }
    if f.reserved() != 0 {
        s.push_str(&format!("[rsv {:#x}]", f.reserved()));
    }
    s
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One option as scripts write it.
pub fn option_text(o: &TcpOption) -> String {
    match o {
        TcpOption::Eol => "eol".into(),
        TcpOption::Nop => "nop".into(),
        TcpOption::Mss(v) => format!("mss {v}"),
        TcpOption::WindowScale(v) => format!("wscale {v}"),
        TcpOption::SackPermitted => "sackOK".into(),
        TcpOption::Sack(blocks) => {
            let b: Vec<String> = blocks.iter().map(|(l, r)| format!("{l}:{r}")).collect();
            format!("sack {}", b.join(" "))
        }
        TcpOption::Timestamp { val, ecr } => format!("TS val {val} ecr {ecr}"),
        TcpOption::FastOpen(c) if c.is_empty() => "FO".into(),
        TcpOption::FastOpen(c) => format!("FO {}", hex(c)),
        TcpOption::FastOpenExp(c) if c.is_empty() => "FOEXP".into(),
        TcpOption::FastOpenExp(c) => format!("FOEXP {}", hex(c)),
        TcpOption::Md5(d) => format!("md5 {}", hex(d)),
        TcpOption::Unknown { kind, data } if data.is_empty() => format!("gen-{kind}"),
        TcpOption::Unknown { kind, data } => format!("gen-{kind} {}", hex(data)),
        TcpOption::Malformed { bytes } => format!("malformed {}", hex(bytes)),
    }
}

/// An option list without the angle brackets.
pub fn options_text(options: &[TcpOption]) -> String {
    options
        .iter()
        .map(option_text)
        .collect::<Vec<_>>()
        .join(",")
}

/// A segment as a script line would write it (without direction and time), ports first:
/// `8080>40000 S. 0:0(0) ack 1 win 65535 <mss 1460>`.
pub fn segment_text(s: &Segment) -> String {
    let len = s.payload.len();
    let mut out = format!(
        "{}>{} {} {}:{}({len})",
        s.src_port,
        s.dst_port,
        flags_text(s.flags),
        s.seq,
        s.seq.wrapping_add(len as u32),
    );
    if s.flags.contains(TcpFlags::ACK) || s.ack != 0 {
        out.push_str(&format!(" ack {}", s.ack));
    }
    out.push_str(&format!(" win {}", s.window));
    if s.urgent != 0 {
        out.push_str(&format!(" urg {}", s.urgent));
    }
    if !s.options.is_empty() {
        out.push_str(&format!(" <{}>", options_text(&s.options)));
    }
    out
}

/// Any packet, with addresses: `192.0.2.1:40000 > 192.168.0.1:8080 S 0:0(0) win 65535`.
pub fn packet_text(p: &Packet) -> String {
    match p {
        Packet::Tcp(s) => format!("{} > {} {}", s.ip.src(), s.ip.dst(), segment_text(s)),
        Packet::Udp(d) => format!(
            "{}:{} > {}:{} udp ({})",
            d.ip.src(),
            d.src_port,
            d.ip.dst(),
            d.dst_port,
            d.payload.len()
        ),
        Packet::Icmp(m) => format!(
            "{} > {} icmp type {} code {}",
            m.ip.src(),
            m.ip.dst(),
            m.icmp_type,
            m.code
        ),
    }
}

/// Raw bytes as a trace shows them: decoded if possible.
pub fn bytes_text(bytes: &[u8]) -> String {
    match crate::wire::decode(bytes) {
        Ok(p) => packet_text(&p),
        Err(e) => format!("undecodable packet of {} bytes ({e})", bytes.len()),
    }
}
