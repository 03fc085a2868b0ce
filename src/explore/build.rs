//! A case as a script: the prefix's lines, then one line (two for ABORT) per event, built straight
//! into the AST (no text is parsed per case), and the [`Layout`] that says which line is which so
//! the trace can be cut into one window per event.
//!
//! The observation script asserts nothing after the prefix: calls return `= ...` and nothing is
//! expected from the stack. A time jump is a line that does nothing (`fcntl(fd, F_GETFL)`), so that
//! the engine traces the state at its start; the last line is such a probe too, one window after
//! the last event. The output script (`emit.rs`) reuses the same lines and times.

use std::time::Duration;

use crate::script::ast::{
    Action, Direction, Event as Line, EventTime, Expr, ExprKind, Item, OptionSpec, PacketKind,
    PacketSpec, Pattern, PatternKind, Script, SeqSpec, Span, Spanned, SyscallSpec, TcpOption,
    TcpOptionKind, TcpPacket, Time, TimeSpec,
};

use super::model::{Call, Case, Event, Opts, SegmentEvent, Vars, Windows};
use super::prefix::Prefix;

/// How long the stacks get to react to an event before the next one: more than the delayed ACKs
/// of the stacks here (lwIP's fires within 250 ms, the reference stack's after 200 ms, Linux's
/// within 200 ms; MUST-40 allows up to 0.5 s), and short enough that a prefix and three events
/// end before the 1 s initial RTO (RFC 6298) retransmits what the prefix sent: a window holds the
/// reactions, not retransmissions, so the script of a class fits every stack of its side.
pub const WINDOW: Duration = Duration::from_millis(300);

/// The pause between the prefix's last line and the first event.
pub const SETTLE: Duration = Duration::from_millis(10);

/// Where a case's lines are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Lines `1..=prefix_lines` are the prefix.
    pub prefix_lines: usize,
    /// Each event's first and last line.
    pub events: Vec<(usize, usize)>,
    /// The last line, after the last event's window.
    pub probe: usize,
    /// Each event's window: how long until the next line.
    pub windows: Vec<Duration>,
}

/// How long an event's window lasts.
pub fn window_of(e: &Event) -> Duration {
    match e {
        Event::Wait(secs) => Duration::from_secs(u64::from(*secs)),
        _ => WINDOW,
    }
}

fn span(line: usize) -> Span {
    Span {
        start: 0,
        end: 0,
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: 1,
    }
}

/// A node without a place in any source.
pub fn spanned<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

/// A relative time `+d`.
pub fn after(d: Duration) -> TimeSpec {
    TimeSpec::At(Time {
        relative: true,
        micros: i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
    })
}

/// A line at `time` doing `action` (its line number is set when the script is assembled).
pub fn line(time: TimeSpec, action: Action) -> Line {
    Line {
        time: EventTime {
            spec: time,
            span: Span::default(),
        },
        action,
        span: Span::default(),
    }
}

fn int(v: i64) -> Expr {
    Expr {
        kind: ExprKind::Int(v),
        span: Span::default(),
    }
}

fn sym(s: &str) -> Expr {
    Expr {
        kind: ExprKind::Symbol(s.into()),
        span: Span::default(),
    }
}

fn ellipsis() -> Expr {
    Expr {
        kind: ExprKind::Ellipsis,
        span: Span::default(),
    }
}

/// `name(args) = ...`
pub fn call_line(name: &str, args: Vec<Expr>) -> Action {
    Action::Syscall(SyscallSpec {
        name: spanned(name.into()),
        args,
        result: ellipsis(),
        errno: None,
        note: None,
        span: Span::default(),
    })
}

/// The lines of an application call on script fd `fd`.
pub fn call_lines(call: Call, fd: i64) -> Vec<Action> {
    match call {
        Call::Read => vec![call_line("read", vec![int(fd), ellipsis(), int(1000)])],
        Call::Write(n) => vec![call_line(
            "write",
            vec![int(fd), ellipsis(), int(i64::from(n))],
        )],
        Call::ShutdownWr => vec![call_line("shutdown", vec![int(fd), sym("SHUT_WR")])],
        Call::Close => vec![call_line("close", vec![int(fd)])],
        Call::Abort => {
            let linger = Expr {
                kind: ExprKind::Struct(vec![
                    field("onoff", 1),
                    crate::script::ast::StructField {
                        name: Some(spanned("linger".into())),
                        count: None,
                        value: int(0),
                        span: Span::default(),
                    },
                ]),
                span: Span::default(),
            };
            vec![
                call_line(
                    "setsockopt",
                    vec![int(fd), sym("SOL_SOCKET"), sym("SO_LINGER"), linger, int(8)],
                ),
                call_line("close", vec![int(fd)]),
            ]
        }
        // The listener is always fd 3.
        Call::Accept => vec![call_line("accept", vec![int(3), ellipsis(), ellipsis()])],
    }
}

fn field(name: &str, v: i64) -> crate::script::ast::StructField {
    crate::script::ast::StructField {
        name: Some(spanned(name.into())),
        count: None,
        value: int(v),
        span: Span::default(),
    }
}

/// A line that changes nothing: it marks a boundary at which the engine traces the state.
pub fn probe(fd: i64) -> Action {
    call_line("fcntl", vec![int(fd), sym("F_GETFL")])
}

/// An exact number in a packet field.
pub fn exact(v: u64) -> Pattern {
    spanned(PatternKind::Exact(v))
}

fn option(kind: TcpOptionKind) -> TcpOption {
    TcpOption {
        kind,
        span: Span::default(),
    }
}

fn generic(kind: u64, hex: &str) -> TcpOptionKind {
    TcpOptionKind::Generic {
        kind,
        data: Some(spanned(hex.into())),
    }
}

/// The option list of `opts`.
pub fn options(opts: Opts) -> Option<OptionSpec> {
    let list = match opts {
        Opts::None => return None,
        Opts::Mss => vec![option(TcpOptionKind::Mss(exact(1460)))],
        Opts::Timestamp => vec![
            option(TcpOptionKind::Nop),
            option(TcpOptionKind::Nop),
            option(TcpOptionKind::Timestamp {
                val: exact(1),
                ecr: exact(0),
                ecr_absolute: false,
            }),
        ],
        Opts::SackPermitted => vec![
            option(TcpOptionKind::Nop),
            option(TcpOptionKind::Nop),
            option(TcpOptionKind::SackPermitted),
        ],
        Opts::WindowScale => vec![
            option(TcpOptionKind::Nop),
            option(TcpOptionKind::WindowScale(exact(7))),
        ],
        // Known kinds whose length byte does not match their definition (RFC 9293 §3.1: a
        // receiver must cope with an illegal option length without crashing, MUST-7).
        Opts::MssShort => vec![option(generic(2, "05")), option(TcpOptionKind::Nop)],
        Opts::WindowScaleLong => vec![option(generic(3, "0707"))],
        Opts::TimestampShort => vec![option(generic(8, "000000010000"))],
        Opts::Unassigned => vec![option(generic(99, "0102"))],
    };
    Some(OptionSpec::Ordered {
        options: list,
        span: Span::default(),
    })
}

/// The sequence number a segment event carries.
pub fn segment_seq(s: &SegmentEvent, vars: &Vars, windows: &Windows) -> u32 {
    if s.flags.syn() && (!vars.synchronized || s.flags.ack() && vars.awaits_syn_ack) {
        0
    } else {
        s.seq.value(vars, windows)
    }
}

/// The inbound packet of a segment event on a connection with `vars`. SYNs before
/// synchronization, and the first SYN+ACK to an active opener, carry the peer's ISN, 0, whatever
/// the event's seq says (the engine takes their seq as the peer's ISN).
pub fn segment(s: &SegmentEvent, vars: &Vars, windows: &Windows) -> Action {
    tcp_line(TcpLine {
        direction: Direction::Inbound,
        flags: s.flags.ast(),
        start: u64::from(segment_seq(s, vars, windows)),
        len: u64::from(s.len.bytes()),
        absolute: false,
        ack: s.flags.ack().then(|| exact(u64::from(s.ack.value(vars)))),
        win: exact(s.win.value()),
        options: options(s.opts),
    })
}

/// The fields of a TCP packet line.
pub struct TcpLine {
    pub direction: Direction,
    pub flags: crate::script::ast::TcpFlags,
    pub start: u64,
    pub len: u64,
    /// nplab's `!`: the seq is not translated.
    pub absolute: bool,
    pub ack: Option<Pattern>,
    pub win: Pattern,
    pub options: Option<OptionSpec>,
}

/// A TCP packet line's action.
pub fn tcp_line(l: TcpLine) -> Action {
    Action::Packet(Box::new(PacketSpec {
        direction: spanned(l.direction),
        ip_info: Vec::new(),
        kind: PacketKind::Tcp(TcpPacket {
            psp_spi: None,
            ports: None,
            flags: spanned(l.flags),
            seq: spanned(SeqSpec::Range {
                start: l.start,
                end: l.start + l.len,
                len: l.len,
                absolute: l.absolute,
            }),
            ack: l.ack,
            win: Some(l.win),
            urg: None,
            options: l.options,
            udp_encap: None,
            bad_csum: false,
        }),
        span: Span::default(),
    }))
}

/// The actions of one event (none for a time jump, whose line is a probe).
pub fn event_actions(e: &Event, vars: &Vars, windows: &Windows, fd: i64) -> Vec<Action> {
    match e {
        Event::Segment(s) => vec![segment(s, vars, windows)],
        Event::Call(c) => call_lines(*c, fd),
        Event::Wait(_) => vec![probe(fd)],
    }
}

/// The connection's variables before each event of `case` (one more: after the last).
pub fn vars_along(prefix: &Prefix, case: &Case) -> Vec<Vars> {
    let mut out = Vec::with_capacity(case.events.len() + 1);
    let mut v = prefix.vars;
    out.push(v);
    for e in &case.events {
        v = e.predict(&v);
        out.push(v);
    }
    out
}

/// Whether every segment of `case` can be written in the script language, whose `start:end(len)`
/// cannot cross 2^32 (data at RCV.NXT−1 with RCV.NXT = 0, before synchronization).
pub fn expressible(prefix: &Prefix, case: &Case, windows: &Windows) -> bool {
    case.events
        .iter()
        .zip(vars_along(prefix, case))
        .all(|(e, v)| match e {
            Event::Segment(s) => {
                u64::from(segment_seq(s, &v, windows)) + u64::from(s.len.bytes())
                    <= u64::from(u32::MAX)
            }
            _ => true,
        })
}

/// Assembles a script from lines, numbering them from 1 in order.
pub fn assemble(lines: Vec<Line>) -> Script {
    Script {
        body: lines
            .into_iter()
            .enumerate()
            .map(|(i, mut l)| {
                l.span = span(i + 1);
                Item::Event(l)
            })
            .collect(),
        ..Script::default()
    }
}

/// The observation script of `case` and where its lines are.
pub fn observation(prefix: &Prefix, case: &Case, windows: &Windows) -> (Script, Layout) {
    let vars = vars_along(prefix, case);
    let mut lines: Vec<Line> = prefix.events.clone();
    let prefix_lines = lines.len();
    let mut layout = Layout {
        prefix_lines,
        events: Vec::with_capacity(case.events.len()),
        probe: 0,
        windows: Vec::with_capacity(case.events.len()),
    };
    let mut gap = SETTLE;
    for (e, v) in case.events.iter().zip(&vars) {
        let first = lines.len() + 1;
        for (i, action) in event_actions(e, v, windows, prefix.fd)
            .into_iter()
            .enumerate()
        {
            let time = after(if i == 0 { gap } else { Duration::ZERO });
            lines.push(line(time, action));
        }
        layout.events.push((first, lines.len()));
        gap = window_of(e);
        layout.windows.push(gap);
    }
    lines.push(line(after(gap), probe(prefix.fd)));
    layout.probe = lines.len();
    (assemble(lines), layout)
}

#[cfg(test)]
mod tests {
    use super::super::model::{Ack, Flags, Len, Seq, Win};
    use super::*;

    #[test]
    fn an_observation_script_prints_as_the_language_writes_it() {
        let prefixes = super::super::prefix::all().expect("prefixes");
        let p = prefixes
            .iter()
            .find(|p| p.name == "established")
            .expect("established");
        let case = Case {
            prefix: 0,
            events: vec![
                Event::Segment(SegmentEvent {
                    flags: Flags::RstAck,
                    seq: Seq::NxtPlus1,
                    ack: Ack::Nxt,
                    len: Len::Zero,
                    win: Win::Large,
                    opts: Opts::MssShort,
                }),
                Event::Call(Call::Abort),
                Event::Wait(10),
            ],
        };
        let windows = Windows {
            min: 65535,
            max: 65535,
        };
        let (script, layout) = observation(p, &case, &windows);
        let text = crate::script::print(&script);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[layout.events[0].0 - 1],
            "+0.01 < R. 2:2(0) ack 1 win 65535 <gen-2 05,nop>"
        );
        assert_eq!(
            lines[layout.events[1].0 - 1],
            "+0.3 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = ..."
        );
        assert_eq!(lines[layout.events[1].1 - 1], "+0 close(4) = ...");
        assert_eq!(
            lines[layout.events[2].0 - 1],
            "+0.3 fcntl(4, F_GETFL) = ..."
        );
        assert_eq!(lines[layout.probe - 1], "+10 fcntl(4, F_GETFL) = ...");
        assert_eq!(
            crate::script::parse(&text).map(|s| s.body.len()),
            Ok(script.body.len()),
            "{text}"
        );
    }
}
