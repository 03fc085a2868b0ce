//! Packets in packetdrill notation for traces and failure messages, on top of
//! [`crate::wire::notation`]: with the live addresses in front, and flag sets on their own.

use crate::wire::notation::Notation;
use crate::wire::{Packet, Segment, TcpFlags, TcpOption};

/// Flag letters as scripts write them, in packetdrill's order (`S.`, `F.`, `P.`, `-` for none);
/// reserved bits, which the language cannot express, as `rsvd=N` (as the wire printer shows them).
pub fn flags_text(flags: TcpFlags) -> String {
    let mut s: String = [
        (TcpFlags::FIN, 'F'),
        (TcpFlags::SYN, 'S'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::ACK, '.'),
        (TcpFlags::URG, 'U'),
        (TcpFlags::ECE, 'E'),
        (TcpFlags::CWR, 'W'),
        (TcpFlags::AE, 'A'),
    ]
    .into_iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, c)| c)
    .collect();
    if flags.reserved() != 0 {
        s.push_str(&format!(" rsvd={}", flags.reserved()));
    }
    if s.is_empty() {
        s.push('-');
    }
    s.trim_start().to_string()
}

/// An option list without the angle brackets.
pub fn options_text(options: &[TcpOption]) -> String {
    options
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A segment as a script line writes it, ports first: `8080>40000 S. 0:0(0) ack 1 win 65535`.
pub fn segment_text(s: &Segment) -> String {
    Notation::segment(s).ports().to_string()
}

/// Any packet with its addresses: `192.0.2.1 > 192.168.0.1 40000>8080 S 0:0(0) win 65535`.
pub fn packet_text(p: &Packet) -> String {
    format!(
        "{} > {} {}",
        p.ip().src(),
        p.ip().dst(),
        Notation::packet(p).ports()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_as_scripts_write_them() {
        assert_eq!(flags_text(TcpFlags::SYN | TcpFlags::ACK), "S.");
        assert_eq!(flags_text(TcpFlags::FIN | TcpFlags::ACK), "F.");
        assert_eq!(flags_text(TcpFlags::EMPTY), "-");
    }
}
