//! Comparing one case's observations: the first event at which the stacks react differently, the
//! sides they split into, and the divergence's signature — the state, the event's kind, and each
//! stack's reaction written against the connection's variables — by which divergences are
//! deduplicated into classes and which shrinking must keep.

use serde::Serialize;

use crate::script::ast::TcpState;

use super::model::{Event, EventKind, Vars, Windows};
use super::normalize::{NormPacket, SeqNorm};
use super::observe::{Observation, Reaction};

/// Stacks that reacted alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    pub stacks: Vec<String>,
    pub reaction: Reaction,
    /// The reaction written against the connection's variables (what the signature keeps).
    pub kind: String,
}

/// Where and how a case's stacks part ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The event (index into the case's events) whose reactions differ first.
    pub event: usize,
    pub signature: Signature,
    /// The sides, in the order of their first stack.
    pub sides: Vec<Side>,
}

/// What makes two divergences one class.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Signature {
    /// The state every stack was in when the event came.
    pub state: TcpState,
    pub event: EventKind,
    /// Per side, its stacks and its reaction's kind.
    pub reactions: Vec<(Vec<String>, String)>,
}

impl Signature {
    /// `ESTABLISHED | R. segment, seq in window | reference: sends . …; smoltcp: …`
    pub fn text(&self) -> String {
        let sides: Vec<String> = self
            .reactions
            .iter()
            .map(|(stacks, kind)| format!("{}: {kind}", stacks.join(", ")))
            .collect();
        format!(
            "{} | {} | {}",
            self.state,
            self.event.text(),
            sides.join(" / ")
        )
    }
}

/// The first divergence among `observations` (stack name, observation) of `events`, whose
/// variables before each event are `vars`. Stacks whose run did not get past the prefix, or did
/// not run at all, take no part. Comparison stops after a window in which a stack sent a new SYN
/// (see [`super::observe::Window::new_syn`]).
pub fn diverge(
    observations: &[(String, Observation)],
    events: &[Event],
    vars: &[Vars],
    windows: &Windows,
) -> Option<Divergence> {
    let ran: Vec<(&String, Option<TcpState>, &Vec<super::observe::Window>)> = observations
        .iter()
        .filter_map(|(name, o)| match o {
            Observation::Ran { start, windows } => Some((name, *start, windows)),
            _ => None,
        })
        .collect();
    if ran.len() < 2 {
        return None;
    }
    let mut before = ran.first().and_then(|r| r.1)?;
    if ran.iter().any(|r| r.1 != Some(before)) {
        // The prefix ended in different states: the prefix validation's business, not a class.
        return None;
    }
    for (k, event) in events.iter().enumerate() {
        let reactions: Vec<Reaction> = ran
            .iter()
            .map(|r| r.2.get(k).map(|w| w.reaction()).unwrap_or_default())
            .collect();
        let first = reactions.first()?;
        if reactions.iter().all(|r| r == first) {
            before = first.state?;
            if ran.iter().any(|r| r.2.get(k).is_some_and(|w| w.new_syn)) {
                // Later windows are numbered against an ISN the engine did not learn.
                return None;
            }
            continue;
        }
        let v = vars.get(k).copied()?;
        let mut sides: Vec<Side> = Vec::new();
        for ((name, _, _), reaction) in ran.iter().zip(reactions) {
            match sides.iter_mut().find(|s| s.reaction == reaction) {
                Some(side) => side.stacks.push((*name).clone()),
                None => sides.push(Side {
                    stacks: vec![(*name).clone()],
                    kind: symbolic(&reaction, event, &v, windows),
                    reaction,
                }),
            }
        }
        // Reactions that differ only in what the symbolic form leaves out (lengths of data the
        // stack chose) are told apart by their concrete form.
        if sides.windows(2).all(|w| w[0].kind == w[1].kind) {
            for s in &mut sides {
                s.kind = s.reaction.text();
            }
        }
        let signature = Signature {
            state: before,
            event: event.kind(&v),
            reactions: sides
                .iter()
                .map(|s| (s.stacks.clone(), s.kind.clone()))
                .collect(),
        };
        return Some(Divergence {
            event: k,
            signature,
            sides,
        });
    }
    None
}

/// `reaction` with its numbers written as the variables (and the event's own fields) they equal.
pub fn symbolic(reaction: &Reaction, event: &Event, v: &Vars, windows: &Windows) -> String {
    let (seg_seq, seg_ack, seg_len) = match event {
        Event::Segment(s) => {
            let ctl = u32::from(s.flags.syn()) + u32::from(s.flags.fin());
            (
                Some(super::build::segment_seq(s, v, windows)),
                s.flags.ack().then(|| s.ack.value(v)),
                s.len.bytes() + ctl,
            )
        }
        _ => (None, None, 0),
    };
    let mut parts = Vec::new();
    if reaction.packets.is_empty() {
        parts.push("sends nothing".to_string());
    }
    for p in &reaction.packets {
        parts.push(packet_kind(p, v, seg_seq, seg_ack, seg_len));
    }
    if let Some(r) = &reaction.result {
        parts.push(format!("returns {}", r.text()));
    }
    if let Some(s) = reaction.state {
        parts.push(format!("-> {s}"));
    }
    parts.join("; ")
}

fn packet_kind(
    p: &NormPacket,
    v: &Vars,
    seg_seq: Option<u32>,
    seg_ack: Option<u32>,
    seg_len: u32,
) -> String {
    // A number that is none of the variables is "other": the peer's prediction of the variables
    // after earlier events can be off, and shrinking changes the values it would be offset from.
    let named = |value: u32, names: &[(&str, Option<u32>)]| {
        names
            .iter()
            .find(|(_, n)| *n == Some(value))
            .map_or("other", |(name, _)| name)
            .to_string()
    };
    let seq = match p.seq {
        SeqNorm::Rel(s) => named(
            s,
            &[
                ("SND.NXT", Some(v.snd_nxt)),
                ("SND.UNA", Some(v.snd_una)),
                ("SEG.ACK", seg_ack),
            ],
        ),
        SeqNorm::Isn => "ISN".into(),
        SeqNorm::Zero => "0".into(),
        SeqNorm::Raw(s) => named(s, &[("SEG.ACK", seg_ack)]),
    };
    let mut s = format!("{} seq={seq}", p.flags);
    if let Some(a) = p.ack {
        let ack = named(
            a,
            &[
                ("RCV.NXT", Some(v.rcv_nxt)),
                ("SEG.SEQ+SEG.LEN", seg_seq.map(|q| q.wrapping_add(seg_len))),
                // A SYN's data is not acknowledged until the connection is established.
                ("SEG.SEQ+1", seg_seq.map(|q| q.wrapping_add(1))),
            ],
        );
        s.push_str(&format!(" ack={ack}"));
    }
    if p.len > 0 {
        s.push_str(" +data");
    }
    if p.zero_window {
        s.push_str(" win=0");
    }
    if !p.options.is_empty() {
        s.push_str(" +options");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::model::{Ack, Flags, Len, Opts, SegmentEvent, Seq, Win};
    use super::super::observe::{CallResult, Window};
    use super::*;

    fn window(packets: Vec<NormPacket>, state: TcpState) -> Window {
        Window {
            packets,
            state: Some(state),
            ..Window::default()
        }
    }

    fn ack(seq: u32, ack: u32) -> NormPacket {
        NormPacket {
            flags: ".".into(),
            seq: SeqNorm::Rel(seq),
            ack: Some(ack),
            len: 0,
            zero_window: false,
            options: Vec::new(),
        }
    }

    #[test]
    fn the_first_differing_event_names_the_class() {
        let v = Vars::IDLE;
        let w = Windows {
            min: 1000,
            max: 2000,
        };
        let rst = Event::Segment(SegmentEvent {
            flags: Flags::Rst,
            seq: Seq::NxtPlus1,
            ack: Ack::Nxt,
            len: Len::Zero,
            win: Win::Large,
            opts: Opts::None,
        });
        let read = Event::Call(super::super::model::Call::Read);
        let est = TcpState::Established;
        let obs = |second: Window| Observation::Ran {
            start: Some(est),
            windows: vec![
                Window {
                    result: Some(CallResult::Failed("EAGAIN".into())),
                    ..window(vec![], est)
                },
                second,
            ],
        };
        let observations = vec![
            ("reference".to_string(), obs(window(vec![ack(1, 1)], est))),
            ("smoltcp".to_string(), obs(window(vec![], TcpState::Closed))),
            ("lwip".to_string(), obs(window(vec![ack(1, 1)], est))),
        ];
        let d = diverge(&observations, &[read, rst], &[v, v, v], &w).expect("divergence");
        assert_eq!(d.event, 1);
        assert_eq!(d.sides.len(), 2);
        assert_eq!(d.sides[0].stacks, vec!["reference", "lwip"]);
        assert_eq!(d.sides[0].kind, ". seq=SND.NXT ack=RCV.NXT; -> ESTABLISHED");
        assert_eq!(d.sides[1].kind, "sends nothing; -> CLOSED");
        assert_eq!(d.signature.state, est);
        assert!(
            d.signature.text().contains("RST, seq in window"),
            "{}",
            d.signature.text()
        );
        let same = vec![observations[0].clone(), observations[2].clone()];
        assert!(diverge(&same, &[read, rst], &[v, v, v], &w).is_none());
    }
}
