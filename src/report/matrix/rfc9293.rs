//! RFC 9293 Appendix B (the requirement summary) as data, for the matrix's coverage section.
//!
//! Transcribed from `shared/reference/rfc9293.md` §1: every one of the 119 ids, with the section that
//! tags it, a paraphrase, whether a packet script can test it, and the area the notes put it in.

use crate::script::meta::{Area, RequirementKind, RfcRef};

/// How a requirement can be observed by a script (the notes' "packet-script testable?" column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Testability {
    /// Segments alone suffice (the note says what else helps, if anything).
    Wire,
    /// The application must be driven through the socket API, which scripts do.
    SocketApi,
    /// Intervals must be measured, which scripts do with `measure` (in virtual time for free).
    Timing,
    /// Internal behaviour that no script can see.
    NotObservable,
}

impl Testability {
    /// The notes' wording.
    pub fn name(self) -> &'static str {
        match self {
            Testability::Wire => "segments",
            Testability::SocketApi => "socket API",
            Testability::Timing => "timing",
            Testability::NotObservable => "not observable",
        }
    }
}

/// The area the reference notes give a requirement; finer than the script [`Area`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableArea {
    Handshake,
    DataAck,
    Window,
    HalfClose,
    Rst,
    TimeWait,
    Options,
    Timers,
    Security,
    Api,
    Urgent,
}

impl TableArea {
    /// The matrix area a requirement belongs to, `None` for areas the corpus does not cover
    /// (security, API, urgent data). Window rules are data transfer (RFC 9293 §3.8.6).
    pub fn matrix_area(self) -> Option<Area> {
        match self {
            TableArea::Handshake => Some(Area::Handshake),
            TableArea::DataAck | TableArea::Window => Some(Area::Data),
            TableArea::HalfClose => Some(Area::HalfClose),
            TableArea::Rst => Some(Area::Rst),
            TableArea::TimeWait => Some(Area::TimeWait),
            TableArea::Options => Some(Area::Options),
            TableArea::Timers => Some(Area::Timers),
            TableArea::Security | TableArea::Api | TableArea::Urgent => None,
        }
    }
}

/// One row of Appendix B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub kind: RequirementKind,
    pub number: u32,
    /// The section whose text tags the id (`3.8.3*` marks MUST-22's untagged sentence).
    pub section: &'static str,
    /// A one-line paraphrase (not the RFC's words).
    pub text: &'static str,
    pub testable: Testability,
    /// What else a `Wire` test needs (`+API to reach TW`), and for an id that no packet script
    /// can observe portably, why; or empty.
    pub note: &'static str,
    pub area: TableArea,
}

impl Requirement {
    /// The id as scripts write it: `MUST-13`, `SHLD-3`.
    pub fn id(&self) -> String {
        self.reference().to_string()
    }

    /// The id as a script reference.
    pub fn reference(&self) -> RfcRef {
        RfcRef::Requirement {
            kind: self.kind,
            number: self.number,
        }
    }

    /// Whether the matrix must cover it: a MUST or SHLD that a script can observe, in one of the
    /// corpus's areas.
    pub fn in_scope(&self) -> bool {
        matches!(self.kind, RequirementKind::Must | RequirementKind::Should)
            && self.testable != Testability::NotObservable
            && self.area.matrix_area().is_some()
    }
}

/// Looks a requirement up by kind and number.
pub fn find(kind: RequirementKind, number: u32) -> Option<&'static Requirement> {
    REQUIREMENTS
        .iter()
        .find(|r| r.kind == kind && r.number == number)
}

/// All 119 ids: MUST-1..69, SHLD-1..31, MAY-1..18, REC-1, in that order.
#[rustfmt::skip]
pub static REQUIREMENTS: &[Requirement] = &[
    Requirement { kind: RequirementKind::Must, number: 1, section: "3.1", text: "Window field is unsigned (no negative windows)", testable: Testability::Wire, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Must, number: 2, section: "3.1", text: "Sender always fills in the checksum", testable: Testability::Wire, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Must, number: 3, section: "3.1", text: "Receiver verifies the checksum (bad ones are discarded)", testable: Testability::Wire, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Must, number: 4, section: "3.1", text: "Support EOL, NOP and MSS options", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 5, section: "3.1", text: "Accept a TCP option on any segment", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 6, section: "3.1", text: "Skip unknown options that carry a length, without error", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 7, section: "3.1", text: "Survive an illegal option length (e.g. 0); reset+log suggested", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 8, section: "3.4.1", text: "ISN selection includes a clock-driven component", testable: Testability::Timing, note: "", area: TableArea::Security },
    Requirement { kind: RequirementKind::Must, number: 9, section: "3.4.1", text: "ISN PRF must not be computable by an outsider", testable: Testability::NotObservable, note: "", area: TableArea::Security },
    Requirement { kind: RequirementKind::Must, number: 10, section: "3.5", text: "Support simultaneous open", testable: Testability::SocketApi, note: "", area: TableArea::Handshake },
    Requirement { kind: RequirementKind::Must, number: 11, section: "3.5", text: "SYN-RECEIVED remembers whether it came from passive or active OPEN", testable: Testability::Wire, note: "+API for active case", area: TableArea::Handshake },
    Requirement { kind: RequirementKind::Must, number: 12, section: "3.6", text: "Tell the application whether a peer close was a FIN or an abort", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 13, section: "3.6.1", text: "Active closer lingers in TIME-WAIT for 2*MSL", testable: Testability::Timing, note: "", area: TableArea::TimeWait },
    Requirement { kind: RequirementKind::Must, number: 14, section: "3.1, 3.7.1", text: "Implement sending and receiving the MSS option", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 15, section: "3.7.1", text: "No MSS received => assume 536 (IPv4) / 1220 (IPv6)", testable: Testability::SocketApi, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 16, section: "3.7.1", text: "Effective send MSS = min(peer MSS+20, MMS_S) minus headers", testable: Testability::SocketApi, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 17, section: "3.7.4", text: "Application can turn Nagle off per connection", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 18, section: "3.8.1", text: "RTO per RFC 6298 incl. Karn's algorithm", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Must, number: 19, section: "3.8.2", text: "Implement slow start, congestion avoidance, RTO backoff", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Must, number: 20, section: "3.8.3", text: "R1/R2 excessive-retransmission procedure (advise IP at R1, close at R2)", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Must, number: 21, section: "3.8.3", text: "Application can set R2 per connection", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 22, section: "3.8.3*", text: "SYN retransmission handled like data retransmission", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Must, number: 23, section: "3.8.3", text: "R2 for SYN allows at least 3 minutes of retransmission", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Must, number: 24, section: "3.8.4", text: "If keep-alives exist, app can switch them per connection", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 25, section: "3.8.4", text: "Keep-alives default to off", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Must, number: 26, section: "3.8.4", text: "Keep-alive only after an idle interval with nothing outstanding", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Must, number: 27, section: "3.8.4", text: "Keep-alive interval is configurable", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 28, section: "3.8.4", text: "Keep-alive interval defaults to >= 2 hours", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Must, number: 29, section: "3.8.4", text: "One unanswered keep-alive is not a dead connection", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Must, number: 30, section: "3.8.5", text: "Urgent mechanism must still be supported", testable: Testability::Wire, note: "+API", area: TableArea::Urgent },
    Requirement { kind: RequirementKind::Must, number: 31, section: "3.8.5", text: "Urgent data of any length supported", testable: Testability::SocketApi, note: "", area: TableArea::Urgent },
    Requirement { kind: RequirementKind::Must, number: 32, section: "3.8.5", text: "Asynchronously notify app of new/advancing urgent pointer", testable: Testability::SocketApi, note: "", area: TableArea::Urgent },
    Requirement { kind: RequirementKind::Must, number: 33, section: "3.8.5", text: "App can learn whether/how much urgent data is queued", testable: Testability::SocketApi, note: "", area: TableArea::Urgent },
    Requirement { kind: RequirementKind::Must, number: 34, section: "3.8.6", text: "Sender robust to the peer shrinking its window", testable: Testability::SocketApi, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Must, number: 35, section: "3.8.6", text: "Window shrunk to zero => probe in the standard way", testable: Testability::Timing, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Must, number: 36, section: "3.8.6.1", text: "Support zero-window probing", testable: Testability::Timing, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Must, number: 37, section: "3.8.6.1", text: "Keep connection while probes keep being ACKed, however long", testable: Testability::Timing, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Must, number: 38, section: "3.8.6.2.1", text: "Sender-side silly-window-syndrome avoidance", testable: Testability::SocketApi, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Must, number: 39, section: "3.8.6.2.2", text: "Receiver-side SWS avoidance (window-update rule)", testable: Testability::SocketApi, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Must, number: 40, section: "3.8.6.3", text: "A delayed ACK is delayed by less than 0.5 s", testable: Testability::Timing, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Must, number: 41, section: "3.9.1.1", text: "A passive OPEN never disturbs existing connection records", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 42, section: "3.9.1.1", text: "Can LISTEN on a port that also has SYN-SENT/SYN-RCVD blocks", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 43, section: "3.9.1.1", text: "OPEN accepts an optional local IP address", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 44, section: "3.9.1.1", text: "Multihomed, unbound active OPEN: ask IP for source before first SYN", testable: Testability::NotObservable, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 45, section: "3.9.1.1", text: "Afterwards keep using the same local address", testable: Testability::Wire, note: "multihomed SUT", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 46, section: "3.9.1.1", text: "Reject OPEN to broadcast/multicast remote address", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 47, section: "3.9.1.8", text: "Mechanism to report soft errors to the app", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 48, section: "3.9.1.9", text: "App can set the Diffserv field", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 49, section: "3.9.2", text: "TTL of sent segments is configurable", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Must, number: 50, section: "3.9.2", text: "Ignore IP options TCP does not understand", testable: Testability::Wire, note: "no script can send IP options: the language has no syntax for them, as packetdrill's has none", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 51, section: "3.9.2.1", text: "App may supply a source route on active OPEN", testable: Testability::SocketApi, note: "no script can send IP options (source routes): the language has no syntax for them, and the socket API has no source-route call", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 52, section: "3.9.2.1", text: "App-supplied source route beats a received one", testable: Testability::SocketApi, note: "no script can send IP options (source routes): the language has no syntax for them, and the socket API has no source-route call", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 53, section: "3.9.2.1", text: "Passive side saves and uses received return route", testable: Testability::Wire, note: "no script can send IP options (source routes): the language has no syntax for them, and the socket API has no source-route call", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 54, section: "3.9.2.2", text: "Act on ICMP errors, demultiplexed to the right connection", testable: Testability::Wire, note: "", area: TableArea::Rst },
    Requirement { kind: RequirementKind::Must, number: 55, section: "3.9.2.2", text: "Silently discard ICMP Source Quench", testable: Testability::Wire, note: "", area: TableArea::Security },
    Requirement { kind: RequirementKind::Must, number: 56, section: "3.9.2.2", text: "Do not abort on soft ICMP errors (unreach 0,1,5; time exceeded; param problem)", testable: Testability::Wire, note: "", area: TableArea::Rst },
    Requirement { kind: RequirementKind::Must, number: 57, section: "3.9.2.3", text: "Silently discard SYN sent to broadcast/multicast", testable: Testability::Wire, note: "", area: TableArea::Security },
    Requirement { kind: RequirementKind::Must, number: 58, section: "3.10.7.4", text: "Aggregate ACKs when processing received segments", testable: Testability::Wire, note: "timing-sensitive", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Must, number: 59, section: "3.10.7.4", text: "Process all queued segments before sending an ACK", testable: Testability::NotObservable, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Must, number: 60, section: "3.9.1.2", text: "Without a PUSH API, never buffer data indefinitely", testable: Testability::Timing, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Must, number: 61, section: "3.9.1.2", text: "Without a PUSH API, set PSH on the last buffered segment", testable: Testability::SocketApi, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Must, number: 62, section: "3.8.5", text: "Urgent pointer = sequence number after the last urgent octet", testable: Testability::SocketApi, note: "", area: TableArea::Urgent },
    Requirement { kind: RequirementKind::Must, number: 63, section: "3.9.2.3", text: "Ignore SYN with invalid source address", testable: Testability::Wire, note: "", area: TableArea::Security },
    Requirement { kind: RequirementKind::Must, number: 64, section: "3.2", text: "Parse options that are not word-aligned", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 65, section: "3.2", text: "MSS option only in SYN segments", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 66, section: "3.4", text: "Process RST and URG even when receive window is 0", testable: Testability::Wire, note: "+API to close window; no portable script: closing a stack's receive window at a known RCV.NXT needs its buffer arithmetic (how SO_RCVBUF sizes the window differs per stack); the reference stack's unit test zero_window_still_accepts_ack_and_rst covers it", area: TableArea::Rst },
    Requirement { kind: RequirementKind::Must, number: 67, section: "3.7.1", text: "Advertised MSS <= MMS_R - 20", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 68, section: "3.1", text: "Every option except EOL/NOP has a length byte", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Must, number: 69, section: "3.1", text: "Header bytes after EOL are zero padding", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Should, number: 1, section: "3.4.1", text: "ISN = clock + keyed PRF(4-tuple, secret) (RFC 6528)", testable: Testability::NotObservable, note: "", area: TableArea::Security },
    Requirement { kind: RequirementKind::Should, number: 2, section: "3.5.3", text: "Accept a RST that carries data", testable: Testability::Wire, note: "", area: TableArea::Rst },
    Requirement { kind: RequirementKind::Should, number: 3, section: "3.6.1", text: "Half-duplex close: RST if data pending at CLOSE or arriving after", testable: Testability::SocketApi, note: "", area: TableArea::HalfClose },
    Requirement { kind: RequirementKind::Should, number: 4, section: "3.6.1", text: "Use timestamps to shorten TIME-WAIT (RFC 6191)", testable: Testability::Wire, note: "+API to reach TW", area: TableArea::TimeWait },
    Requirement { kind: RequirementKind::Should, number: 5, section: "3.7.1", text: "Send MSS option in SYN when not 536/1220", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Should, number: 6, section: "3.7.3", text: "Variable-MTU link: advertise MSS from smallest MTU", testable: Testability::NotObservable, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::Should, number: 7, section: "3.7.4", text: "Implement Nagle", testable: Testability::SocketApi, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Should, number: 8, section: "3.8.2", text: "Implement ECN (RFC 3168)", testable: Testability::Wire, note: "", area: TableArea::Handshake },
    Requirement { kind: RequirementKind::Should, number: 9, section: "3.8.3", text: "Tell app about delivery trouble between R1 and R2", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Should, number: 10, section: "3.8.3", text: "R1 >= 3 retransmissions", testable: Testability::NotObservable, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Should, number: 11, section: "3.8.3", text: "R2 >= 100 s", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Should, number: 12, section: "3.8.4", text: "Keep-alive carries no data", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Should, number: 13, section: "3.8.5, 3.9.1.2", text: "New applications should not use urgent data (app guidance)", testable: Testability::NotObservable, note: "", area: TableArea::Urgent },
    Requirement { kind: RequirementKind::Should, number: 14, section: "3.8.6", text: "Receiver should not shrink the window", testable: Testability::Wire, note: "no portable script: a packet line compares a window field with a constant, never two fields with each other (W2 >= W1 - n), and the values are each stack's choice; tests/tcp_proptest.rs checks the reference stack's right edge never moves left", area: TableArea::Window },
    Requirement { kind: RequirementKind::Should, number: 15, section: "3.8.6", text: "After a shrink, do not send new data", testable: Testability::SocketApi, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Should, number: 16, section: "3.8.6", text: "After a shrink, keep retransmitting in-window old data", testable: Testability::Timing, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Should, number: 17, section: "3.8.6", text: "Do not time out for data beyond right edge being unACKed", testable: Testability::Timing, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Should, number: 18, section: "3.8.6.3", text: "Implement delayed ACK", testable: Testability::Timing, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Should, number: 19, section: "3.8.6.3", text: "ACK at least every 2nd full-size segment (2*RMSS)", testable: Testability::Wire, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Should, number: 20, section: "3.9.1.8", text: "App can disable error reports", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Should, number: 21, section: "3.9.1.9", text: "App can change Diffserv mid-connection", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Should, number: 22, section: "3.9.1.9", text: "Pass Diffserv value unchanged to IP", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Should, number: 23, section: "3.9.2", text: "Apps should generally not change Diffserv mid-connection", testable: Testability::NotObservable, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Should, number: 24, section: "3.9.2.1", text: "A later received source route overrides an earlier one", testable: Testability::Wire, note: "no script can send IP options (source routes): the language has no syntax for them, and the socket API has no source-route call", area: TableArea::Options },
    Requirement { kind: RequirementKind::Should, number: 25, section: "3.9.2.2", text: "Make soft ICMP errors visible to app", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::Should, number: 26, section: "3.9.2.2", text: "Abort on hard ICMP errors (unreach 2-4)", testable: Testability::Wire, note: "", area: TableArea::Rst },
    Requirement { kind: RequirementKind::Should, number: 27, section: "3.9.1.2", text: "Collapse successive PSH bits when packetizing", testable: Testability::SocketApi, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Should, number: 28, section: "3.9.1.2", text: "Send maximum-size segments when possible", testable: Testability::SocketApi, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::Should, number: 29, section: "3.8.6.1", text: "First zero-window probe after one RTO", testable: Testability::Timing, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Should, number: 30, section: "3.8.6.1", text: "Zero-window probe interval backs off exponentially", testable: Testability::Timing, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::Should, number: 31, section: "3.10.7.4", text: "Hold out-of-order segments for later", testable: Testability::Wire, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::May, number: 1, section: "3.6.1", text: "Half-duplex close (CLOSE also stops reading)", testable: Testability::SocketApi, note: "", area: TableArea::HalfClose },
    Requirement { kind: RequirementKind::May, number: 2, section: "3.6.1", text: "Accept new SYN in TIME-WAIT if ISN > old max seq and revert on old dup", testable: Testability::Wire, note: "+API to reach TW", area: TableArea::TimeWait },
    Requirement { kind: RequirementKind::May, number: 3, section: "3.7.1", text: "Always send MSS option", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::May, number: 4, section: "3.8.1", text: "Identical retransmission may reuse IPv4 ID", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::May, number: 5, section: "3.8.4", text: "Implement keep-alives", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::May, number: 6, section: "3.8.4", text: "Keep-alive may carry one garbage octet", testable: Testability::Timing, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::May, number: 7, section: "3.8.6", text: "May retransmit old data beyond SND.UNA+SND.WND", testable: Testability::Timing, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::May, number: 8, section: "3.8.6.1", text: "Receiver may keep window closed indefinitely", testable: Testability::SocketApi, note: "", area: TableArea::Window },
    Requirement { kind: RequirementKind::May, number: 9, section: "3.9.1.9", text: "Pass received Diffserv up to app", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::May, number: 10, section: "3.9.2", text: "Support IP Timestamp option", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::May, number: 11, section: "3.9.2", text: "Support IP Record Route option", testable: Testability::Wire, note: "", area: TableArea::Options },
    Requirement { kind: RequirementKind::May, number: 12, section: "3.10.7.4", text: "RFC 5961 s5 blind data-injection ACK check", testable: Testability::Wire, note: "", area: TableArea::Security },
    Requirement { kind: RequirementKind::May, number: 13, section: "3.10.7.4", text: "ACK immediately a valid segment not at left window edge", testable: Testability::Wire, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::May, number: 14, section: "3.9.1.7", text: "Provide a FLUSH call", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::May, number: 15, section: "3.9.1.2", text: "SEND may carry a PUSH flag", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::May, number: 16, section: "3.9.1.2", text: "Aggregate un-pushed data internally", testable: Testability::SocketApi, note: "", area: TableArea::DataAck },
    Requirement { kind: RequirementKind::May, number: 17, section: "3.9.1.3", text: "Pass received PSH to the app", testable: Testability::SocketApi, note: "", area: TableArea::Api },
    Requirement { kind: RequirementKind::May, number: 18, section: "3.8.2", text: "Alternative standards-conformant congestion control", testable: Testability::NotObservable, note: "", area: TableArea::Timers },
    Requirement { kind: RequirementKind::Recommended, number: 1, section: "3.1", text: "Keep window sizes/arithmetic in 32 bits", testable: Testability::NotObservable, note: "", area: TableArea::Window },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_once() {
        let count = |kind| REQUIREMENTS.iter().filter(|r| r.kind == kind).count();
        assert_eq!(count(RequirementKind::Must), 69);
        assert_eq!(count(RequirementKind::Should), 31);
        assert_eq!(count(RequirementKind::May), 18);
        assert_eq!(count(RequirementKind::Recommended), 1);
        for r in REQUIREMENTS {
            assert!(
                std::ptr::eq(find(r.kind, r.number).unwrap_or(r), r),
                "{}",
                r.id()
            );
        }
    }

    #[test]
    fn scope() {
        let must13 = find(RequirementKind::Must, 13).map(Requirement::in_scope);
        assert_eq!(must13, Some(true));
        // MUST-9 (ISN PRF) cannot be seen on the wire; MAY-2 is not a MUST/SHLD.
        assert_eq!(
            find(RequirementKind::Must, 9).map(Requirement::in_scope),
            Some(false)
        );
        assert_eq!(
            find(RequirementKind::May, 2).map(Requirement::in_scope),
            Some(false)
        );
        assert_eq!(
            find(RequirementKind::Should, 3).map(|r| r.id()).as_deref(),
            Some("SHLD-3")
        );
    }
}
