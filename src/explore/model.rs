//! A case: one prefix (which brings a connection to a chosen state) and the events played after
//! it, each value written relative to the connection's variables (RCV.NXT, SND.UNA, SND.NXT, the
//! receive window), so that the same case means the same thing on every stack and a shrunk case
//! still says which edge it probes.
//!
//! Every choice type lists its values from the simplest to the least simple: shrinking tries them
//! in that order, and the coarse class of a value (`SeqClass`, `AckClass`, …) is what a divergence's
//! signature keeps, so shrinking may replace a value only by another of the same class.

use serde::Serialize;

/// The connection's variables in the script's relative numbers: the peer's ISN is 0 and the
/// stack's is written 0, so the first octet either way is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Vars {
    pub snd_una: u32,
    pub snd_nxt: u32,
    pub rcv_nxt: u32,
    /// Both ISNs are known (SYN-RECEIVED and later); in CLOSED without a TCB, LISTEN and
    /// SYN-SENT the numbers only stand for what an arriving segment carries.
    pub synchronized: bool,
    /// The stack may still send data (no FIN queued).
    pub can_send: bool,
    /// The stack still takes data (no FIN received, no reset).
    pub can_receive: bool,
    /// The connection was opened actively and the peer has not sent a SYN+ACK yet: the engine
    /// then takes the next injected SYN+ACK's seq as the peer's ISN (`engine/conn.rs`), so such a
    /// SYN+ACK carries the ISN, 0.
    pub awaits_syn_ack: bool,
}

impl Vars {
    /// ESTABLISHED with nothing outstanding either way: SND.UNA = SND.NXT = RCV.NXT = 1.
    #[cfg(test)]
    pub const IDLE: Vars = Vars {
        snd_una: 1,
        snd_nxt: 1,
        rcv_nxt: 1,
        synchronized: true,
        can_send: true,
        can_receive: true,
        awaits_syn_ack: false,
    };
}

/// The receive windows the stacks advertised when the prefix ran: `min` is inside every
/// stack's window, `max` outside every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Windows {
    pub min: u32,
    pub max: u32,
}

/// The flag combinations a generated segment carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Flags {
    Ack,
    PshAck,
    FinAck,
    Rst,
    RstAck,
    Syn,
    SynAck,
    Fin,
    None,
    SynFin,
    SynRst,
    FinRstAck,
}

impl Flags {
    pub const ALL: [Flags; 12] = [
        Flags::Ack,
        Flags::PshAck,
        Flags::FinAck,
        Flags::Rst,
        Flags::RstAck,
        Flags::Syn,
        Flags::SynAck,
        Flags::Fin,
        Flags::None,
        Flags::SynFin,
        Flags::SynRst,
        Flags::FinRstAck,
    ];

    /// The flags in the script's notation.
    pub fn text(self) -> &'static str {
        match self {
            Flags::Ack => ".",
            Flags::PshAck => "P.",
            Flags::FinAck => "F.",
            Flags::Rst => "R",
            Flags::RstAck => "R.",
            Flags::Syn => "S",
            Flags::SynAck => "S.",
            Flags::Fin => "F",
            Flags::None => "-",
            Flags::SynFin => "SF",
            Flags::SynRst => "SR",
            Flags::FinRstAck => "FR.",
        }
    }

    /// The AST's flag set.
    pub fn ast(self) -> crate::script::ast::TcpFlags {
        let t = self.text();
        crate::script::ast::TcpFlags {
            syn: t.contains('S'),
            fin: t.contains('F'),
            rst: t.contains('R'),
            psh: t.contains('P'),
            ack: t.contains('.'),
            ..Default::default()
        }
    }

    pub fn ack(self) -> bool {
        self.ast().ack
    }

    pub fn syn(self) -> bool {
        self.ast().syn
    }

    pub fn fin(self) -> bool {
        self.ast().fin
    }

    pub fn rst(self) -> bool {
        self.ast().rst
    }
}

/// What RFC 9293 §3.10.7 looks at first in a segment's flags, in the order it checks them: RST,
/// then SYN, then whether the ACK bit is off, then FIN; a segment with none of these is an ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    Rst,
    Syn,
    NoAck,
    Fin,
    Ack,
}

impl Control {
    pub fn of(f: Flags) -> Control {
        Control::of_flags(&f.ast())
    }

    /// The control of a script's flag set.
    pub fn of_flags(f: &crate::script::ast::TcpFlags) -> Control {
        if f.rst {
            Control::Rst
        } else if f.syn {
            Control::Syn
        } else if !f.ack {
            Control::NoAck
        } else if f.fin {
            Control::Fin
        } else {
            Control::Ack
        }
    }

    pub fn text(self, ack: bool) -> &'static str {
        match (self, ack) {
            (Control::Rst, false) => "RST",
            (Control::Rst, true) => "RST+ACK",
            (Control::Syn, false) => "SYN",
            (Control::Syn, true) => "SYN+ACK",
            (Control::NoAck, _) => "segment without ACK",
            (Control::Fin, _) => "FIN+ACK",
            (Control::Ack, _) => "ACK",
        }
    }
}

/// A sequence number relative to RCV.NXT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Seq {
    Nxt,
    NxtPlus1,
    WinLast,
    WinEnd,
    Far,
    NxtMinus1,
}

impl Seq {
    pub const ALL: [Seq; 6] = [
        Seq::Nxt,
        Seq::NxtPlus1,
        Seq::WinLast,
        Seq::WinEnd,
        Seq::Far,
        Seq::NxtMinus1,
    ];

    pub fn value(self, v: &Vars, w: &Windows) -> u32 {
        let r = v.rcv_nxt;
        match self {
            Seq::NxtMinus1 => r.wrapping_sub(1),
            Seq::Nxt => r,
            Seq::NxtPlus1 => r.wrapping_add(1),
            Seq::WinLast => r.wrapping_add(w.min.saturating_sub(1).max(1)),
            Seq::WinEnd => r.wrapping_add(w.max.max(2)),
            Seq::Far => r.wrapping_add(FAR),
        }
    }

    /// The name in the RFC's terms.
    pub fn name(self) -> &'static str {
        match self {
            Seq::NxtMinus1 => "RCV.NXT-1",
            Seq::Nxt => "RCV.NXT",
            Seq::NxtPlus1 => "RCV.NXT+1",
            Seq::WinLast => "RCV.NXT+RCV.WND-1",
            Seq::WinEnd => "RCV.NXT+RCV.WND",
            Seq::Far => "RCV.NXT+10^9",
        }
    }
}

/// How far "far" is from the window: beyond any window, but not a wrap-around.
const FAR: u32 = 1_000_000_000;

/// Where a sequence number falls, as RFC 9293 §3.10.7.4's first check sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeqClass {
    /// Exactly RCV.NXT.
    Exact,
    /// Inside the window, not at its left edge.
    InWindow,
    /// Left of RCV.NXT (old).
    Old,
    /// At or beyond the right edge of the window.
    Beyond,
}

impl SeqClass {
    pub fn of(seq: Seq) -> SeqClass {
        match seq {
            Seq::Nxt => SeqClass::Exact,
            Seq::NxtPlus1 | Seq::WinLast => SeqClass::InWindow,
            Seq::NxtMinus1 => SeqClass::Old,
            Seq::WinEnd | Seq::Far => SeqClass::Beyond,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            SeqClass::Exact => "seq at RCV.NXT",
            SeqClass::InWindow => "seq in window",
            SeqClass::Old => "seq below RCV.NXT",
            SeqClass::Beyond => "seq beyond window",
        }
    }
}

/// An acknowledgment number relative to SND.UNA and SND.NXT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Ack {
    Nxt,
    Una,
    NxtPlus1,
    Far,
    UnaMinus1,
}

impl Ack {
    pub const ALL: [Ack; 5] = [Ack::Nxt, Ack::Una, Ack::NxtPlus1, Ack::Far, Ack::UnaMinus1];

    pub fn value(self, v: &Vars) -> u32 {
        match self {
            Ack::UnaMinus1 => v.snd_una.wrapping_sub(1),
            Ack::Una => v.snd_una,
            Ack::Nxt => v.snd_nxt,
            Ack::NxtPlus1 => v.snd_nxt.wrapping_add(1),
            Ack::Far => v.snd_nxt.wrapping_add(FAR),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Ack::UnaMinus1 => "SND.UNA-1",
            Ack::Una => "SND.UNA",
            Ack::Nxt => "SND.NXT",
            Ack::NxtPlus1 => "SND.NXT+1",
            Ack::Far => "SND.NXT+10^9",
        }
    }
}

/// What an acknowledgment number acknowledges (RFC 9293 §3.10.7.4, fifth, check the ACK field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AckClass {
    /// SND.NXT: everything sent.
    Current,
    /// SND.UNA while data is outstanding: a duplicate.
    Duplicate,
    /// Below SND.UNA.
    Old,
    /// Beyond SND.NXT: something not yet sent.
    Future,
}

impl AckClass {
    /// The class of `ack` on a connection with `vars`: by value, so that SND.UNA and SND.NXT
    /// with nothing outstanding are one class.
    pub fn of(ack: Ack, vars: &Vars) -> AckClass {
        let value = ack.value(vars);
        if value == vars.snd_nxt {
            AckClass::Current
        } else if value == vars.snd_una {
            AckClass::Duplicate
        } else if matches!(ack, Ack::UnaMinus1) {
            AckClass::Old
        } else {
            AckClass::Future
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            AckClass::Current => "ack SND.NXT",
            AckClass::Duplicate => "ack SND.UNA (duplicate)",
            AckClass::Old => "ack below SND.UNA",
            AckClass::Future => "ack beyond SND.NXT",
        }
    }
}

/// Payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Len {
    Zero,
    One,
    Ten,
    Mss,
}

impl Len {
    pub const ALL: [Len; 4] = [Len::Zero, Len::One, Len::Ten, Len::Mss];

    pub fn bytes(self) -> u32 {
        match self {
            Len::Zero => 0,
            Len::One => 1,
            Len::Ten => 10,
            // The MSS the peer announced in every prefix (`<mss 1460>`).
            Len::Mss => 1460,
        }
    }
}

/// The window the peer advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Win {
    Large,
    Tiny,
    Zero,
}

impl Win {
    pub const ALL: [Win; 3] = [Win::Large, Win::Tiny, Win::Zero];

    pub fn value(self) -> u64 {
        match self {
            Win::Large => 65535,
            Win::Tiny => 1,
            Win::Zero => 0,
        }
    }
}

/// The options an injected segment carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Opts {
    None,
    Mss,
    Timestamp,
    SackPermitted,
    WindowScale,
    /// MSS (kind 2) with length 3.
    MssShort,
    /// Window scale (kind 3) with length 4.
    WindowScaleLong,
    /// Timestamps (kind 8) with length 8.
    TimestampShort,
    /// Kind 99, which no RFC assigns.
    Unassigned,
}

impl Opts {
    pub const ALL: [Opts; 9] = [
        Opts::None,
        Opts::Mss,
        Opts::Timestamp,
        Opts::SackPermitted,
        Opts::WindowScale,
        Opts::MssShort,
        Opts::WindowScaleLong,
        Opts::TimestampShort,
        Opts::Unassigned,
    ];
}

/// A segment tcpconf injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SegmentEvent {
    pub flags: Flags,
    pub seq: Seq,
    /// Only meaningful with the ACK flag.
    pub ack: Ack,
    pub len: Len,
    pub win: Win,
    pub opts: Opts,
}

/// An application call on the socket under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
    /// `read(fd, …, 1000)`.
    Read,
    /// `write(fd, …, n)`.
    Write(u32),
    /// `shutdown(fd, SHUT_WR)`.
    ShutdownWr,
    /// `close(fd)`.
    Close,
    /// SO_LINGER {1, 0} then `close(fd)`: ABORT.
    Abort,
    /// `accept(listener)`.
    Accept,
}

/// What a write may send.
pub const WRITE_LENGTHS: [u32; 4] = [1, 10, 1460, 3000];

impl Call {
    pub fn name(self) -> &'static str {
        match self {
            Call::Read => "read()",
            Call::Write(_) => "write()",
            Call::ShutdownWr => "shutdown(SHUT_WR)",
            Call::Close => "close()",
            Call::Abort => "abort (SO_LINGER 0, close())",
            Call::Accept => "accept()",
        }
    }
}

/// Time jumps: long enough that every stack's first retransmission timeout has passed (lwIP's
/// initial RTO is 3 s), and beyond lwIP's (120 s) and the RFC's (240 s) TIME-WAIT.
pub const WAITS: [u32; 3] = [10, 70, 250];

/// One event after the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    Segment(SegmentEvent),
    Call(Call),
    /// Let this many seconds pass.
    Wait(u32),
}

/// What a divergence's signature keeps of an event: what the RFC's processing turns on, and no
/// more, so that one behaviour is one class (shrinking then picks the simplest values, options
/// and windows of the class).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EventKind {
    Segment {
        control: Control,
        /// The ACK bit, where it changes the rule (RST and SYN; the others say it).
        ack_bit: bool,
        /// Where the sequence number falls; not for SYNs, whose seq the RFC does not check first.
        seq: Option<SeqClass>,
        /// What the ACK acknowledges, where the RFC looks at it.
        ack: Option<AckClass>,
        data: bool,
    },
    Call {
        call: String,
    },
    /// `long` is beyond a minute: what TIME-WAIT and the retransmission give-up need.
    Wait {
        long: bool,
    },
}

impl EventKind {
    /// A short description: `RST, seq in window`.
    pub fn text(&self) -> String {
        match self {
            EventKind::Segment {
                control,
                ack_bit,
                seq,
                ack,
                data,
            } => {
                let mut parts = vec![control.text(*ack_bit).to_string()];
                parts.extend(seq.map(|s| s.text().to_string()));
                parts.extend(ack.map(|a| a.text().to_string()));
                if *data {
                    parts.push("with data".into());
                }
                parts.join(", ")
            }
            EventKind::Call { call } => call.clone(),
            EventKind::Wait { long: false } => "time passes (seconds)".into(),
            EventKind::Wait { long: true } => "time passes (minutes)".into(),
        }
    }
}

impl Event {
    /// The kind of this event on a connection with `vars`.
    pub fn kind(&self, vars: &Vars) -> EventKind {
        match self {
            Event::Segment(s) => {
                let control = Control::of(s.flags);
                // A synchronized connection ignores a RST's or a SYN's acknowledgment (RFC 9293
                // §3.10.7.4 checks the RST and SYN bits before the ACK field); before
                // synchronization it is what decides.
                let ack_matters = s.flags.ack()
                    && (!vars.synchronized || !matches!(control, Control::Rst | Control::Syn));
                EventKind::Segment {
                    control,
                    ack_bit: s.flags.ack(),
                    seq: (control != Control::Syn).then(|| SeqClass::of(s.seq)),
                    ack: ack_matters.then(|| AckClass::of(s.ack, vars)),
                    data: s.len != Len::Zero,
                }
            }
            Event::Call(c) => EventKind::Call {
                call: c.name().into(),
            },
            Event::Wait(secs) => EventKind::Wait { long: *secs > 60 },
        }
    }

    /// The same event with simpler values of the same class, simplest first (shrinking's
    /// candidates; the event itself is not among them).
    pub fn simpler(&self, vars: &Vars) -> Vec<Event> {
        let mut out = Vec::new();
        match *self {
            Event::Segment(s) => {
                let kind = self.kind(vars);
                let mut push = |e: SegmentEvent| {
                    let ev = Event::Segment(e);
                    if e != s && ev.kind(vars) == kind {
                        out.push(ev);
                    }
                };
                for flags in Flags::ALL.into_iter().take_while(|v| *v != s.flags) {
                    push(SegmentEvent { flags, ..s });
                }
                for seq in Seq::ALL.into_iter().take_while(|v| *v != s.seq) {
                    push(SegmentEvent { seq, ..s });
                }
                for ack in Ack::ALL.into_iter().take_while(|v| *v != s.ack) {
                    push(SegmentEvent { ack, ..s });
                }
                for len in Len::ALL.into_iter().take_while(|v| *v != s.len) {
                    push(SegmentEvent { len, ..s });
                }
                for win in Win::ALL.into_iter().take_while(|v| *v != s.win) {
                    push(SegmentEvent { win, ..s });
                }
                for opts in Opts::ALL.into_iter().take_while(|v| *v != s.opts) {
                    push(SegmentEvent { opts, ..s });
                }
            }
            Event::Call(Call::Write(n)) => out.extend(
                WRITE_LENGTHS
                    .into_iter()
                    .take_while(|v| *v != n)
                    .map(|v| Event::Call(Call::Write(v))),
            ),
            Event::Call(_) => {}
            Event::Wait(secs) => out.extend(
                WAITS
                    .into_iter()
                    .take_while(|v| *v != secs)
                    .filter(|v| (*v > 60) == (secs > 60))
                    .map(Event::Wait),
            ),
        }
        out
    }

    /// What the connection's variables become, as far as the peer can predict them: in-order data
    /// and FINs advance RCV.NXT, acceptable ACKs SND.UNA, writes and closes SND.NXT. Later events'
    /// values are written against the prediction.
    pub fn predict(&self, vars: &Vars) -> Vars {
        let mut v = *vars;
        match *self {
            Event::Segment(s) => {
                let f = s.flags;
                if f.rst() {
                    v.can_receive = false;
                    v.can_send = false;
                    return v;
                }
                if f.syn() && f.ack() {
                    v.awaits_syn_ack = false;
                }
                if f.syn() && !v.synchronized {
                    // A SYN to a listener (or crossing ours) takes the peer's ISN 0; a SYN-ACK of
                    // ours also makes our SYN acknowledged.
                    v.rcv_nxt = 1;
                    v.snd_nxt = v.snd_nxt.max(1);
                    if f.ack() && s.ack.value(vars) == v.snd_nxt {
                        v.snd_una = v.snd_nxt;
                    }
                    v.synchronized = true;
                    return v;
                }
                if !v.synchronized || !f.ack() || f.syn() {
                    return v;
                }
                let ack = s.ack.value(vars);
                if ack.wrapping_sub(v.snd_una) as i32 > 0 && ack.wrapping_sub(v.snd_nxt) as i32 <= 0
                {
                    v.snd_una = ack;
                }
                if s.seq.value(vars, &UNKNOWN_WINDOWS) == v.rcv_nxt && v.can_receive {
                    v.can_receive = !f.fin();
                    v.rcv_nxt = v
                        .rcv_nxt
                        .wrapping_add(s.len.bytes())
                        .wrapping_add(u32::from(f.fin()));
                }
            }
            Event::Call(Call::Write(n)) if v.can_send && v.synchronized => {
                v.snd_nxt = v.snd_nxt.wrapping_add(n);
            }
            Event::Call(Call::ShutdownWr | Call::Close) if v.can_send && v.synchronized => {
                v.snd_nxt = v.snd_nxt.wrapping_add(1);
                v.can_send = false;
            }
            Event::Call(_) | Event::Wait(_) => {}
        }
        v
    }
}

/// RCV.NXT itself does not depend on the window; `predict` only compares against it.
const UNKNOWN_WINDOWS: Windows = Windows { min: 1, max: 2 };

/// A whole case: a prefix (by its index in the prefix table) and the events after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Case {
    pub prefix: usize,
    pub events: Vec<Event>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EST: Vars = Vars {
        snd_una: 1,
        snd_nxt: 11,
        rcv_nxt: 1,
        synchronized: true,
        can_send: true,
        can_receive: true,
        awaits_syn_ack: false,
    };
    const WIN: Windows = Windows {
        min: 65535,
        max: 131072,
    };

    fn seg(flags: Flags, seq: Seq, ack: Ack) -> SegmentEvent {
        SegmentEvent {
            flags,
            seq,
            ack,
            len: Len::Zero,
            win: Win::Large,
            opts: Opts::None,
        }
    }

    #[test]
    fn values_follow_the_variables() {
        assert_eq!(Seq::NxtMinus1.value(&EST, &WIN), 0);
        assert_eq!(Seq::WinLast.value(&EST, &WIN), 65535);
        assert_eq!(Seq::WinEnd.value(&EST, &WIN), 131073);
        assert_eq!(Ack::Una.value(&EST), 1);
        assert_eq!(Ack::NxtPlus1.value(&EST), 12);
        assert_eq!(AckClass::of(Ack::Una, &EST), AckClass::Duplicate);
        let idle = Vars { snd_nxt: 1, ..EST };
        assert_eq!(AckClass::of(Ack::Una, &idle), AckClass::Current);
        assert_eq!(AckClass::of(Ack::UnaMinus1, &idle), AckClass::Old);
    }

    #[test]
    fn simpler_values_keep_the_class() {
        let e = Event::Segment(SegmentEvent {
            len: Len::Mss,
            ..seg(Flags::RstAck, Seq::WinLast, Ack::Far)
        });
        let simpler = e.simpler(&EST);
        assert!(!simpler.is_empty());
        for s in &simpler {
            assert_eq!(s.kind(&EST), e.kind(&EST), "{s:?}");
        }
        assert!(simpler.contains(&Event::Segment(SegmentEvent {
            len: Len::Mss,
            ..seg(Flags::RstAck, Seq::NxtPlus1, Ack::Far)
        })));
        assert!(simpler.contains(&Event::Segment(SegmentEvent {
            len: Len::One,
            ..seg(Flags::RstAck, Seq::WinLast, Ack::Far)
        })));
        assert_eq!(Event::Wait(250).simpler(&EST), vec![Event::Wait(70)]);
        assert_eq!(Event::Wait(10).simpler(&EST), vec![]);
        assert!(Event::Call(Call::Close).simpler(&EST).is_empty());
    }

    #[test]
    fn predictions_advance_the_right_variable() {
        let data = Event::Segment(SegmentEvent {
            len: Len::Ten,
            ..seg(Flags::PshAck, Seq::Nxt, Ack::Nxt)
        });
        let v = data.predict(&EST);
        assert_eq!((v.rcv_nxt, v.snd_una), (11, 11));
        let old = Event::Segment(SegmentEvent {
            len: Len::Ten,
            ..seg(Flags::PshAck, Seq::NxtPlus1, Ack::Una)
        });
        assert_eq!(old.predict(&EST), EST);
        let fin = Event::Call(Call::Close).predict(&EST);
        assert_eq!((fin.snd_nxt, fin.can_send), (12, false));
        let listen = Vars {
            snd_una: 0,
            snd_nxt: 0,
            rcv_nxt: 0,
            synchronized: false,
            can_send: true,
            can_receive: true,
            awaits_syn_ack: false,
        };
        let syn = Event::Segment(seg(Flags::Syn, Seq::Nxt, Ack::Nxt)).predict(&listen);
        assert_eq!((syn.rcv_nxt, syn.snd_nxt, syn.synchronized), (1, 1, true));
    }
}
