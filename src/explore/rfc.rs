//! Which part of RFC 9293 governs an event in a state: the §3.10.7 step of SEGMENT ARRIVES (in the
//! order the RFC checks a segment), the user call of §3.10.2–§3.10.5, or the timeouts of §3.10.8;
//! with the words of the RFC that decide, and the corpus area the behaviour belongs to.

use serde::Serialize;

use crate::script::ast::TcpState;
use crate::script::meta::Area;

use super::model::{AckClass, Control, EventKind, SeqClass};

/// The rule that governs an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `RFC 9293 §3.10.7.4`: a reference the script language's `//! rfc:` accepts.
    pub section: String,
    /// The step within the section (`second, check the RST bit`), if the section has steps.
    pub step: Option<&'static str>,
    /// What the RFC says there, in its words (shortened).
    pub says: &'static str,
}

/// The rule for `event` arriving in `state`.
pub fn step(state: TcpState, event: &EventKind) -> Step {
    let section = |s: &str| format!("RFC 9293 §{s}");
    match event {
        EventKind::Call { call } => {
            let (s, says) = match call.as_str() {
                "read()" => (
                    "3.10.3",
                    "RECEIVE call: if insufficient incoming segments are queued, the request is queued; \
                     in CLOSE-WAIT, with no text awaiting delivery, return \"error: connection closing\"",
                ),
                "write()" => (
                    "3.10.2",
                    "SEND call: in ESTABLISHED and CLOSE-WAIT, segmentize the buffer and send it; in \
                     FIN-WAIT-1/2, CLOSING, LAST-ACK and TIME-WAIT return \"error: connection closing\"",
                ),
                "shutdown(SHUT_WR)" | "close()" => (
                    "3.10.4",
                    "CLOSE call: in ESTABLISHED, queue until all preceding SENDs have been \
                     segmentized, then form a FIN segment and send it; in CLOSE-WAIT, send a FIN and \
                     enter LAST-ACK",
                ),
                "accept()" => (
                    "3.10.1",
                    "OPEN call (passive): the connection is handed over once it is established",
                ),
                _ => (
                    "3.10.5",
                    "ABORT call: in synchronized states send a reset segment <SEQ=SND.NXT><CTL=RST>, \
                     flush all queues, enter CLOSED and delete the TCB",
                ),
            };
            Step {
                section: section(s),
                step: None,
                says,
            }
        }
        EventKind::Wait { .. } => Step {
            section: section("3.10.8"),
            step: None,
            says: "TIMEOUTS: retransmission timeout — send the segment at the front of the \
                   retransmission queue again; TIME-WAIT timeout — delete the TCB and enter CLOSED; \
                   user timeout — flush the queues and delete the TCB",
        },
        EventKind::Segment {
            control,
            ack_bit,
            seq,
            ack,
            data,
        } => match state {
            TcpState::Closed => Step {
                section: section("3.10.7.1"),
                step: None,
                says: "An incoming segment containing a RST is discarded. An incoming segment not \
                       containing a RST causes a RST to be sent in response: <SEQ=SEG.ACK><CTL=RST> \
                       if the ACK bit is on, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>",
            },
            TcpState::Listen => Step {
                section: section("3.10.7.2"),
                step: Some(if *control == Control::Rst {
                    "first, check for a RST"
                } else if *ack_bit {
                    "second, check for an ACK"
                } else if *control == Control::Syn {
                    "third, check for a SYN"
                } else {
                    "fourth, other text or control"
                }),
                says: "An incoming RST is ignored. Any acknowledgment is bad: send <SEQ=SEG.ACK><CTL=RST>. \
                       On a SYN, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and enter SYN-RECEIVED. \
                       Any other control or text-bearing segment: drop it",
            },
            TcpState::SynSent => Step {
                section: section("3.10.7.3"),
                step: Some(
                    if *ack_bit && *control != Control::Rst && *ack != Some(AckClass::Current) {
                        "first, check the ACK bit"
                    } else if *control == Control::Rst {
                        "second, check the RST bit"
                    } else if *control == Control::Syn {
                        "fourth, check the SYN bit"
                    } else {
                        "fifth, if neither SYN nor RST is set"
                    },
                ),
                says: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset <SEQ=SEG.ACK><CTL=RST> (unless \
                       the RST bit is set) and discard the segment. If the ACK was acceptable, a RST \
                       signals \"connection reset\" and enters CLOSED; else drop it. A SYN with an \
                       acceptable ACK enters ESTABLISHED and sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; \
                       without one, enter SYN-RECEIVED and send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. \
                       Neither SYN nor RST: drop the segment",
            },
            _ => {
                let unacceptable = matches!(seq, Some(SeqClass::Old | SeqClass::Beyond));
                let (step, says) = if unacceptable && *control != Control::Rst {
                    (
                        "first, check sequence number",
                        "If an incoming segment is not acceptable, an acknowledgment should be sent in \
                         reply (unless the RST bit is set), <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and \
                         the unacceptable segment dropped",
                    )
                } else if *control == Control::Rst {
                    (
                        "second, check the RST bit",
                        "If the RST bit is set and the sequence number is outside the window, silently \
                         drop it; if it exactly matches RCV.NXT, reset the connection (SYN-RECEIVED \
                         from a passive OPEN returns to LISTEN; CLOSING, LAST-ACK and TIME-WAIT enter \
                         CLOSED); otherwise send a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>",
                    )
                } else if *control == Control::Syn {
                    (
                        "fourth, check the SYN bit",
                        "If the SYN bit is set in a synchronized state, irrespective of the sequence \
                         number, TCP endpoints must send a challenge ACK to the remote peer \
                         <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and drop the segment (RFC 5961 §4)",
                    )
                } else if *control == Control::NoAck {
                    (
                        "fifth, check the ACK field",
                        "If the ACK bit is off, drop the segment and return",
                    )
                } else if *ack != Some(AckClass::Current) && *ack != Some(AckClass::Duplicate)
                    || !*data && *control != Control::Fin
                {
                    (
                        "fifth, check the ACK field",
                        "If SND.UNA < SEG.ACK =< SND.NXT, set SND.UNA <- SEG.ACK. If the ACK is a \
                         duplicate (SEG.ACK =< SND.UNA), it can be ignored. If the ACK acknowledges \
                         something not yet sent (SEG.ACK > SND.NXT), send an ACK, drop the segment, \
                         and return",
                    )
                } else if *data {
                    (
                        "seventh, process the segment text",
                        "In ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2, deliver the text to the user \
                         receive buffers and acknowledge it <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; in \
                         CLOSE-WAIT, CLOSING, LAST-ACK and TIME-WAIT this should not occur, since a FIN \
                         has been received from the remote side: ignore the segment text",
                    )
                } else {
                    (
                        "eighth, check the FIN bit",
                        "If the FIN bit is set, signal the user \"connection closing\", advance RCV.NXT \
                         over the FIN and send an acknowledgment for it (ESTABLISHED enters CLOSE-WAIT, \
                         FIN-WAIT-1 CLOSING or TIME-WAIT, FIN-WAIT-2 TIME-WAIT; TIME-WAIT restarts the \
                         2 MSL time-wait timeout)",
                    )
                };
                Step {
                    section: section("3.10.7.4"),
                    step: Some(step),
                    says,
                }
            }
        },
    }
}

/// The corpus area a class's script belongs in; `options` says whether the event needs its
/// options to diverge.
pub fn area(state: TcpState, event: &EventKind, options: bool) -> Area {
    match event {
        EventKind::Wait { .. } if state == TcpState::TimeWait => Area::TimeWait,
        EventKind::Wait { .. } => Area::Timers,
        EventKind::Segment {
            control: Control::Rst,
            ..
        } => Area::Rst,
        EventKind::Segment { .. } if options => Area::Options,
        _ => match state {
            TcpState::Closed | TcpState::Listen | TcpState::SynSent | TcpState::SynReceived => {
                Area::Handshake
            }
            TcpState::Established => Area::Data,
            TcpState::CloseWait | TcpState::FinWait2 => Area::HalfClose,
            TcpState::FinWait1 | TcpState::LastAck => Area::Close,
            TcpState::Closing => Area::SimultaneousClose,
            TcpState::TimeWait => Area::TimeWait,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{Ack, Event, Flags, Len, Opts, SegmentEvent, Seq, Vars, Win};
    use super::*;

    fn seg(flags: Flags, seq: Seq) -> EventKind {
        let v = Vars::IDLE;
        Event::Segment(SegmentEvent {
            flags,
            seq,
            ack: Ack::Nxt,
            len: Len::Zero,
            win: Win::Large,
            opts: Opts::None,
        })
        .kind(&v)
    }

    #[test]
    fn steps_follow_the_rfc_order_of_checks() {
        let est = TcpState::Established;
        let rst = step(est, &seg(Flags::Rst, Seq::NxtPlus1));
        assert_eq!(rst.section, "RFC 9293 §3.10.7.4");
        assert_eq!(rst.step, Some("second, check the RST bit"));
        let old = step(est, &seg(Flags::Ack, Seq::NxtMinus1));
        assert_eq!(old.step, Some("first, check sequence number"));
        let syn = step(est, &seg(Flags::Syn, Seq::Nxt));
        assert_eq!(syn.step, Some("fourth, check the SYN bit"));
        let fin = step(est, &seg(Flags::FinAck, Seq::Nxt));
        assert_eq!(fin.step, Some("eighth, check the FIN bit"));
        assert_eq!(
            step(TcpState::Closed, &seg(Flags::Ack, Seq::Nxt)).section,
            "RFC 9293 §3.10.7.1"
        );
        assert!(crate::script::meta::RfcRef::parse(&rst.section).is_some());
        assert_eq!(area(est, &seg(Flags::Rst, Seq::Nxt), true), Area::Rst);
        assert_eq!(area(est, &seg(Flags::Ack, Seq::Nxt), true), Area::Options);
        assert_eq!(
            area(TcpState::TimeWait, &EventKind::Wait { long: true }, false),
            Area::TimeWait
        );
    }
}
