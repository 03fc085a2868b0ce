//! What a stack sent, with what conformant stacks may legitimately choose differently taken out,
//! so that packets from two stacks compare equal when they mean the same:
//!
//! - sequence numbers relative to the stack's ISN (a SYN's own seq is just "its ISN"; a RST with
//!   sequence number 0, as RFC 9293 §3.10.7.1 sends without an ACK to go by, stays 0);
//! - a RST's window not at all;
//! - acknowledgment numbers as they are (the peer's ISN is the script's 0), and only with ACK;
//! - the window only as zero or not (its size is the stack's choice);
//! - options as the set of their kinds, NOP and EOL padding and order ignored (values such as the
//!   MSS and timestamps are the stack's choice);
//! - PSH ignored (RFC 9293 §3.9.1.2 leaves its setting on sends to the implementation).
//!
//! Timer values are compared by the window a packet falls in (`observe.rs`), and timer-driven
//! retransmissions outside time jumps are left out there.

use serde::Serialize;

use crate::wire::{Segment, TcpFlags, TcpOption};

/// A sequence number as the comparison sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeqNorm {
    /// Relative to the stack's ISN.
    Rel(u32),
    /// A SYN: the stack's (new) ISN.
    Isn,
    /// Absolute 0 (RFC 9293 §3.10.7.1's `<SEQ=0>`).
    Zero,
    /// No ISN to relate it to (no SYN of the stack's seen yet): as on the wire.
    Raw(u32),
}

/// A segment the stack sent, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NormPacket {
    /// The flags without PSH, in the script's notation (`R.`, `F.`, `S.`).
    pub flags: String,
    pub seq: SeqNorm,
    pub ack: Option<u32>,
    pub len: usize,
    pub zero_window: bool,
    /// Option kinds, sorted, without NOP and EOL.
    pub options: Vec<u8>,
}

impl NormPacket {
    /// One line: `R. seq 1 ack 1`, `S. ack 1 len 0 <2,4>`.
    pub fn text(&self) -> String {
        let mut s = self.flags.clone();
        match self.seq {
            SeqNorm::Rel(v) => s.push_str(&format!(
                " {v}:{}({})",
                v as u64 + self.len as u64,
                self.len
            )),
            SeqNorm::Isn => s.push_str(" ISN"),
            SeqNorm::Zero => s.push_str(" 0 (absolute)"),
            SeqNorm::Raw(v) => s.push_str(&format!(" {v} (absolute)")),
        }
        if let Some(a) = self.ack {
            s.push_str(&format!(" ack {a}"));
        }
        if self.zero_window {
            s.push_str(" win 0");
        }
        if !self.options.is_empty() {
            let kinds: Vec<String> = self.options.iter().map(|k| option_name(*k)).collect();
            s.push_str(&format!(" <{}>", kinds.join(",")));
        }
        s
    }

    /// Whether the packet occupies sequence space (data, SYN or FIN): only those are retransmitted.
    pub fn occupies_sequence_space(&self) -> bool {
        self.len > 0 || self.flags.contains('S') || self.flags.contains('F')
    }
}

fn option_name(kind: u8) -> String {
    match kind {
        2 => "mss".into(),
        3 => "wscale".into(),
        4 => "sackOK".into(),
        5 => "sack".into(),
        8 => "TS".into(),
        k => format!("kind {k}"),
    }
}

/// The notation of a flag set without PSH, as the script writes it.
pub fn flags_text(flags: TcpFlags) -> String {
    let mut f = flags;
    f.remove(TcpFlags::PSH);
    crate::engine::notation::flags_text(f)
}

/// Normalizes the packets of one connection, in the order the stack sent them.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    isn: Option<u32>,
    /// One past the highest relative sequence number sent so far.
    snd_max: Option<u32>,
}

impl Normalizer {
    /// The ISN learned so far.
    pub fn isn(&self) -> Option<u32> {
        self.isn
    }

    /// `seg` normalized, and whether it only resends sequence space sent before.
    pub fn push(&mut self, seg: &Segment) -> (NormPacket, bool) {
        let syn = seg.flags.contains(TcpFlags::SYN);
        // A SYN with the ISN already in use is a retransmission; another starts a new incarnation.
        let syn_resend = syn && self.isn == Some(seg.seq);
        if syn {
            self.isn = Some(seg.seq);
        }
        let seq = match self.isn {
            _ if syn => SeqNorm::Isn,
            None => SeqNorm::Raw(seg.seq),
            Some(isn) => {
                let rel = seg.seq.wrapping_sub(isn);
                // A RST's absolute 0 is the one number not derived from the ISN (or from an
                // injected ack, which the script writes relative to it too).
                if seg.seq == 0 && seg.flags.contains(TcpFlags::RST) && rel != 0 {
                    SeqNorm::Zero
                } else {
                    SeqNorm::Rel(rel)
                }
            }
        };
        let mut options: Vec<u8> = seg
            .options
            .iter()
            .filter(|o| !matches!(o, TcpOption::Nop | TcpOption::Eol))
            .filter_map(TcpOption::kind)
            .collect();
        options.sort_unstable();
        options.dedup();
        let packet = NormPacket {
            flags: flags_text(seg.flags),
            seq,
            ack: seg.flags.contains(TcpFlags::ACK).then_some(seg.ack),
            len: seg.payload.len(),
            // A RST's window means nothing (RFC 9293 §3.10.7.1 sends <SEQ=...><CTL=RST> only).
            zero_window: seg.window == 0 && !seg.flags.contains(TcpFlags::RST),
            options,
        };
        let mut resend = syn_resend;
        if let (SeqNorm::Rel(start), true) = (seq, packet.occupies_sequence_space()) {
            let end = start
                .wrapping_add(packet.len as u32)
                .wrapping_add(u32::from(seg.flags.contains(TcpFlags::FIN)));
            match self.snd_max {
                Some(max) if end.wrapping_sub(max) as i32 <= 0 => resend = true,
                _ => self.snd_max = Some(end),
            }
        } else if syn {
            // A SYN takes ISN..ISN+1.
            self.snd_max = Some(1);
        }
        (packet, resend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::IpHeader;
    use std::net::{IpAddr, Ipv4Addr};

    fn seg(flags: TcpFlags, seq: u32, ack: u32, len: usize) -> Segment {
        let ip = IpHeader::new(
            IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        )
        .expect("header");
        let mut s = Segment::new(ip, 8080, 40000);
        s.flags = flags;
        s.seq = seq;
        s.ack = ack;
        s.window = 1000;
        s.payload = vec![0; len];
        s
    }

    #[test]
    fn numbers_are_relative_to_the_isn_and_resends_are_marked() {
        let mut n = Normalizer::default();
        let (syn, _) = n.push(&seg(TcpFlags::SYN | TcpFlags::ACK, 5000, 1, 0));
        assert_eq!(
            (syn.seq, syn.ack, syn.flags.as_str()),
            (SeqNorm::Isn, Some(1), "S.")
        );
        let (data, resend) = n.push(&seg(TcpFlags::PSH | TcpFlags::ACK, 5001, 1, 10));
        assert_eq!(
            (data.seq, data.flags.as_str(), resend),
            (SeqNorm::Rel(1), ".", false)
        );
        let (again, resend) = n.push(&seg(TcpFlags::ACK, 5001, 1, 10));
        assert_eq!((again, resend), (data, true));
        let (ack, resend) = n.push(&seg(TcpFlags::ACK, 5011, 1, 0));
        assert!(!resend && ack.seq == SeqNorm::Rel(11));
        let (rst, _) = n.push(&seg(TcpFlags::RST | TcpFlags::ACK, 0, 7, 0));
        assert_eq!(rst.seq, SeqNorm::Zero);
        assert_eq!(rst.text(), "R. 0 (absolute) ack 7");
        let (syn2, resend) = n.push(&seg(TcpFlags::SYN | TcpFlags::ACK, 5000, 1, 0));
        assert!(
            resend && syn2 == syn,
            "the same SYN again is a retransmission"
        );
        let mut fresh = Normalizer::default();
        let (raw, _) = fresh.push(&seg(TcpFlags::RST, 77, 0, 0));
        assert_eq!((raw.seq, raw.ack), (SeqNorm::Raw(77), None));
    }
}
