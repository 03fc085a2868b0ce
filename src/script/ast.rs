//! The typed syntax tree of a script.
//!
//! The tree mirrors the text: it keeps every construct of packetdrill's two dialects (Google's and
//! nplab's) and tcpconf's extensions (`docs/language.md`), so that the printer can write it back
//! and the checker can point at the token that is wrong. No parser types appear here.
//!
//! Every node that a check or a run can find wrong carries a [`Span`]. Spans take no part in
//! equality (see [`Span`]), so two trees compare equal when they say the same thing, wherever it was
//! written.
//!
//! Numbers are kept as written where the text allows more than the wire does (a window of 70000, a
//! port of 99999): range checks are the checker's job, with a span to report.

pub use crate::state::TcpState;
use std::collections::BTreeMap;

/// Where a node sits in the source: byte offsets and the 1-based line and column of its start.
///
/// `Span` compares equal to every other `Span` (and hashes to nothing), so that deriving
/// `PartialEq` on a node compares what the script says and not where it says it: the round trip
/// `parse(print(ast)) == ast` holds although printing moves every token. Use
/// [`Span::same_location`] to compare locations.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// 1-based line of `start`.
    pub line: u32,
    /// 1-based column of `start`, counted in characters.
    pub col: u32,
}

impl Span {
    /// Whether two spans cover the same bytes (the comparison `==` deliberately does not make).
    pub fn same_location(&self, other: &Span) -> bool {
        self.start == other.start && self.end == other.end
    }

    /// The source text under the span, or `""` if the span does not fit `source`.
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        source.get(self.start..self.end).unwrap_or("")
    }
}

impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

impl std::hash::Hash for Span {
    fn hash<H: std::hash::Hasher>(&self, _state: &mut H) {}
}

/// A value with the span of the text it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps `node` with `span`.
    pub fn new(node: T, span: Span) -> Self {
        Self { node, span }
    }
}

/// A name as written: option names, symbols, syscall names, errno names, metadata keys, …
pub type Ident = Spanned<String>;

/// A whole script: `options`, an optional untimed init command, the events, an optional untimed
/// cleanup command. Metadata lines are collected wherever they appear.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// `//! key: value` lines, in order.
    pub metadata: Vec<Metadata>,
    /// `--name=value` lines, in order.
    pub options: Vec<ScriptOption>,
    /// The untimed backtick command before the first event.
    pub init_command: Option<Command>,
    /// Events and `#ifdef` blocks, in order.
    pub body: Vec<Item>,
    /// The untimed backtick command after the last event.
    pub cleanup_command: Option<Command>,
}

impl Script {
    /// The script as packetdrill runs it with these `-D` defines: an `#ifdef NAME` block is kept
    /// (its events spliced into the body) when `NAME` is defined and dropped otherwise. The result
    /// holds no [`Item::Ifdef`].
    pub fn resolve_ifdefs(&self, defines: &BTreeMap<String, String>) -> Script {
        let mut body = Vec::with_capacity(self.body.len());
        for item in &self.body {
            match item {
                Item::Event(event) => body.push(Item::Event(event.clone())),
                Item::Ifdef(block) => {
                    if defines.contains_key(&block.name.node) {
                        body.extend(block.events.iter().cloned().map(Item::Event));
                    }
                }
            }
        }
        Script {
            metadata: self.metadata.clone(),
            options: self.options.clone(),
            init_command: self.init_command.clone(),
            body,
            cleanup_command: self.cleanup_command.clone(),
        }
    }

    /// Every event in text order, including those inside `#ifdef` blocks (for checks that look at
    /// each line; to run a script, [`Script::resolve_ifdefs`] first).
    pub fn all_events(&self) -> impl Iterator<Item = &Event> {
        self.body.iter().flat_map(|item| match item {
            Item::Event(event) => std::slice::from_ref(event).iter(),
            Item::Ifdef(block) => block.events.iter(),
        })
    }

    /// The value of a `--name=value` option line, if the script has one (the last one wins, as in
    /// packetdrill, where later flags override earlier ones).
    pub fn option(&self, name: &str) -> Option<&ScriptOption> {
        self.options.iter().rev().find(|o| o.name.node == name)
    }
}

/// A `//! key: value` metadata line (a tcpconf extension; packetdrill sees a comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub key: Ident,
    /// The text after the colon, trimmed.
    pub value: Spanned<String>,
    pub span: Span,
}

/// A `--name=value` or `--name` option line. Any name is accepted by the parser; unknown names are
/// reported by the checker or ignored at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOption {
    /// The name without the leading `--`.
    pub name: Ident,
    /// The text after `=`, unquoted if it was a quoted string.
    pub value: Option<Spanned<String>>,
    pub span: Span,
}

/// A backtick shell command: the text between the backticks (may span lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub text: String,
    pub span: Span,
}

/// A `%{ … }%` Python block: the text between the delimiters, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub text: String,
    pub span: Span,
}

/// One element of the script body.
// Events are nearly every item; boxing them to shrink the rare `#ifdef` would cost an allocation
// per line.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Event(Event),
    /// nplab's `#ifdef NAME` … `#endif` (not nested).
    Ifdef(IfdefBlock),
}

/// `#ifdef NAME` … `#endif`: events that exist only when `NAME` is defined (`-D NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfdefBlock {
    pub name: Ident,
    pub events: Vec<Event>,
    pub span: Span,
}

/// `time action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub time: EventTime,
    pub action: Action,
    /// The whole event, from the time to the end of the action.
    pub span: Span,
}

/// A time as written: seconds, as microseconds, absolute or relative (`+`) to the previous event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Time {
    pub relative: bool,
    pub micros: i64,
}

/// The time part of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTime {
    pub spec: TimeSpec,
    pub span: Span,
}

/// When an event happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeSpec {
    /// `0.1` or `+0.1`.
    At(Time),
    /// `a~b` (outbound packets only): any time in the inclusive range; each end may be relative.
    Range { lo: Time, hi: Time },
    /// `*` (outbound packets only): any time.
    Any,
    /// `t1...t2` (syscalls only): the call starts at `start` and must return at `end_micros`,
    /// which is measured from the same base as `start` (the previous event if `start` is relative).
    Blocking { start: Time, end_micros: i64 },
}

/// What an event does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Packet(Box<PacketSpec>),
    Syscall(SyscallSpec),
    /// A timed backtick shell command.
    Shell(Command),
    /// A timed `%{ … }%` Python block.
    Code(Code),
    /// `assert state[(fd)] ==|!= STATE` (tcpconf).
    Assert(StateCondition),
    /// `measure NAME until … within SECS` (tcpconf).
    Measure(Measure),
    /// `restart` (tcpconf): the stack under test restarts and loses its memory of connections
    /// and sequence numbers, as after a reboot (RFC 9293 §3.4.3).
    Restart,
}

/// Which way a packet goes, seen from the stack under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `<`: tcpconf injects it.
    Inbound,
    /// `>`: the stack must send it.
    Outbound,
}

/// A packet line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketSpec {
    pub direction: Spanned<Direction>,
    /// `[ect0]`, `(tos 0x2, flowlabel 0x1)`, `(ttl 64)`, …: IP header fields to set or check.
    pub ip_info: Vec<Spanned<IpField>>,
    pub kind: PacketKind,
    pub span: Span,
}

/// An IP header field given in a packet's ip_info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpField {
    Ecn(Ecn),
    /// `tos 0x..` (IPv4 TOS byte).
    Tos(u64),
    /// `class 0x..` (nplab: IPv6 traffic class).
    TrafficClass(u64),
    /// `flowlabel 0x..` (IPv6).
    FlowLabel(u64),
    /// `ttl N` (IPv4).
    Ttl(u64),
    /// `hlim N` (nplab: IPv6 hop limit).
    HopLimit(u64),
}

/// ECN codepoint in ip_info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecn {
    /// `noecn`
    NotEct,
    /// `ect0`
    Ect0,
    /// `ect1`
    Ect1,
    /// `ce`
    Ce,
    /// `ect01`: either ECT(0) or ECT(1) (outbound only).
    Ect01,
}

/// The protocol part of a packet line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketKind {
    Tcp(TcpPacket),
    Udp(UdpPacket),
    Icmp(IcmpPacket),
}

/// `sport>dport` given explicitly, or nplab's `/udp(sport > dport)` encapsulation ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortPair {
    pub src: u64,
    pub dst: u64,
}

/// A TCP segment: `[encap psp spi N] [ports] flags seq [ack A] [win W] [urg U] [<options>] [/udp(a>b)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket {
    /// Google's `encap psp spi N`.
    pub psp_spi: Option<Spanned<u64>>,
    pub ports: Option<Spanned<PortPair>>,
    pub flags: Spanned<TcpFlags>,
    pub seq: Spanned<SeqSpec>,
    /// `ack N` or `ack *`. `None` means 0, as in packetdrill (which compares an outbound packet's
    /// acknowledgment field with it even when the `.` flag is absent).
    pub ack: Option<Pattern>,
    /// `win N`, `win *`, `win lo..hi`. `None` outbound means "not checked".
    pub win: Option<Pattern>,
    pub urg: Option<Spanned<u64>>,
    pub options: Option<OptionSpec>,
    /// nplab's TCP-over-UDP suffix `/udp(sport > dport)`.
    pub udp_encap: Option<Spanned<PortPair>>,
    /// tcpconf's `bad_csum` suffix: the inbound segment carries a TCP checksum that does not
    /// verify (MUST-3).
    pub bad_csum: bool,
}

/// The TCP flags of a segment. `-` is all false and no ACE value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags {
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    /// `.`
    pub ack: bool,
    pub urg: bool,
    /// `E`
    pub ece: bool,
    /// `W`
    pub cwr: bool,
    /// `A` (the AE bit, RFC 9768).
    pub ae: bool,
    /// An AccECN ACE digit `0`–`7`, which stands for the AE, CWR and ECE bits together.
    pub ace: Option<u8>,
}

/// The sequence part of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqSpec {
    /// `start:end(len)`; with nplab's trailing `!` the numbers are absolute (not translated).
    Range {
        start: u64,
        end: u64,
        len: u64,
        absolute: bool,
    },
    /// nplab's `...(len)`: any sequence number, `len` payload bytes.
    Any { len: u64 },
}

impl SeqSpec {
    /// Payload length in bytes.
    pub fn len(&self) -> u64 {
        match *self {
            SeqSpec::Range { len, .. } | SeqSpec::Any { len } => len,
        }
    }

    /// Whether the segment carries no payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A numeric field that an outbound packet may leave open.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PatternKind {
    Exact(u64),
    /// `*` (nplab's `...` for a TS val means the same).
    Any,
    /// `lo..hi`, inclusive.
    Range {
        lo: u64,
        hi: u64,
    },
    /// A bare word such as `MSS`: a `-D` define that must stand for a number when the script runs
    /// (packetdrill substitutes defines before parsing; tcpconf keeps the name).
    Define(String),
}

/// A [`PatternKind`] with its span.
pub type Pattern = Spanned<PatternKind>;

/// A segment's option list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionSpec {
    /// `<...>`: options not checked (outbound only).
    DontCare { span: Span },
    /// `<a, b, c>`: exactly these options in this order.
    Ordered { options: Vec<TcpOption>, span: Span },
    /// `<{a, b}>` / `<{a, b, ...}>` (tcpconf, outbound only): these options in any order, NOP and
    /// EOL padding ignored; with `...` other options may be present too.
    Unordered {
        options: Vec<TcpOption>,
        others_allowed: bool,
        span: Span,
    },
}

impl OptionSpec {
    /// The span of the whole `<…>`.
    pub fn span(&self) -> Span {
        match self {
            OptionSpec::DontCare { span }
            | OptionSpec::Ordered { span, .. }
            | OptionSpec::Unordered { span, .. } => *span,
        }
    }

    /// The listed options (none for `<...>`).
    pub fn options(&self) -> &[TcpOption] {
        match self {
            OptionSpec::DontCare { .. } => &[],
            OptionSpec::Ordered { options, .. } | OptionSpec::Unordered { options, .. } => options,
        }
    }
}

/// One TCP option in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpOption {
    pub kind: TcpOptionKind,
    pub span: Span,
}

/// The TCP options the language knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOptionKind {
    /// `nop` (kind 1).
    Nop,
    /// `eol` (kind 0).
    Eol,
    /// `mss N` (kind 2).
    Mss(Pattern),
    /// `wscale N` (kind 3).
    WindowScale(Pattern),
    /// `sackOK` (kind 4).
    SackPermitted,
    /// `sack L:R L:R …` (kind 5).
    Sack(Vec<Spanned<SackBlock>>),
    /// `TS val V ecr E` (kind 8); nplab's `ecr E!` makes the echo absolute (not translated).
    Timestamp {
        val: Pattern,
        ecr: Pattern,
        ecr_absolute: bool,
    },
    /// `FO [cookie]` (kind 34, RFC 7413).
    FastOpen { cookie: Option<Ident> },
    /// Google's `FOEXP [cookie]` and nplab's `EXP-FO`/`exp-FO` (kind 254, magic 0xF989).
    FastOpenExp { cookie: Option<Ident> },
    /// `md5 [hex]` / nplab's `md5 valid` (kind 19, RFC 2385).
    Md5(Md5Signature),
    /// Google's AccECN option `ECN e0b N ceb N e1b N` (kinds 172/174): which counter comes first
    /// decides the kind, so the order is kept.
    AccEcn(AccEcnOption),
    /// nplab's `gen-KIND [hex]`: an option of any kind with raw data.
    Generic { kind: u64, data: Option<Ident> },
    /// nplab's `exp-MAGIC [hex]`: an experimental option (kind 254) with this 16-bit magic (hex).
    Experimental { magic: u64, data: Option<Ident> },
    /// tcpconf's `raw HEX`: these bytes in the options area as they are, broken lengths included
    /// (MUST-7); inbound only.
    Raw { bytes: Ident },
    /// A word the language does not know, with the words and numbers after it: not a syntax error,
    /// so that a script using a newer option still parses; the checker reports it.
    Unknown { name: Ident, args: Vec<String> },
}

/// An MD5 signature option's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Md5Signature {
    /// `md5`: 16 zero bytes.
    Zero,
    /// `md5 HEX`.
    Hex(Ident),
    /// nplab's `md5 valid`: the correct signature for `--tcp_md5_secret`.
    Valid,
}

/// A SACK block `left:right`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SackBlock {
    pub left: u64,
    pub right: u64,
}

/// Google's AccECN option (draft-ietf-tcpm-accurate-ecn): byte counters in written order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccEcnOption {
    /// `e0b` first (kind 172, AccECN0) or `e1b` first (kind 174, AccECN1).
    pub order: AccEcnOrder,
    pub e0b: Option<Spanned<u64>>,
    pub ceb: Option<Spanned<u64>>,
    pub e1b: Option<Spanned<u64>>,
}

/// Field order of an AccECN option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccEcnOrder {
    /// `e0b [ceb [e1b]]`
    E0bFirst,
    /// `e1b [ceb [e0b]]`
    E1bFirst,
}

/// A UDP datagram: `udp [sport>dport] (len)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpPacket {
    pub ports: Option<Spanned<PortPair>>,
    pub len: Spanned<u64>,
}

/// An ICMP message: `icmp TYPE [CODE] [mtu N] [id N] [echoed]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpPacket {
    /// `unreachable`, `time_exceeded`, `type_3`, … (names checked by the checker).
    pub icmp_type: Ident,
    pub code: Option<Ident>,
    pub mtu: Option<Spanned<u64>>,
    /// The quoted packet the message refers to.
    pub echoed: Option<Spanned<IcmpEchoed>>,
    pub id: Option<Spanned<u64>>,
}

/// What an ICMP message quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpEchoed {
    /// `[start:end(len)]`, with nplab's optional `/udp(sport > dport)`.
    Tcp {
        start: u64,
        end: u64,
        len: u64,
        udp_encap: Option<PortPair>,
    },
    /// `[udp (len)]`
    Udp { len: u64 },
    /// `[raw (len)]`
    Raw { len: u64 },
}

/// `name(args) = result [ERRNO] [(note)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallSpec {
    pub name: Ident,
    pub args: Vec<Expr>,
    pub result: Expr,
    /// `EINPROGRESS` in `= -1 EINPROGRESS (…)`.
    pub errno: Option<Ident>,
    /// The text inside the parentheses after the result, ignored when running.
    pub note: Option<Spanned<String>>,
    pub span: Span,
}

/// An expression in a syscall's arguments or result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// The expression forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// `...`: the default for this argument (or "don't check" for a result).
    Ellipsis,
    /// A decimal integer, possibly negative.
    Int(i64),
    /// A `0x…` integer (kept apart from [`ExprKind::Int`] so printing gives it back as hex).
    Hex(u64),
    /// A bare word: a symbol (`SOCK_STREAM`), or a `-D` define.
    Symbol(String),
    /// `"…"`, adjacent strings concatenated; the text between the quotes, escapes as written.
    Str(String),
    /// `"…"...`: a string followed by any bytes (packetdrill's `STRING ELLIPSIS`).
    StrPrefix(String),
    /// `a | b`
    Or(Box<Expr>, Box<Expr>),
    /// `[a, b]` (also `[1]` for an int pointer).
    Array(Vec<Expr>),
    /// `{field, field}`: sockaddr, msghdr, iovec, pollfd, epoll_event, linger, cmsg, …
    Struct(Vec<StructField>),
    /// `name(args)`: `htons(8080)`, `inet_addr("192.0.2.1")`, `inet6_addr("::1")`.
    Call { name: Ident, args: Vec<Expr> },
}

/// One entry of a `{…}`: `name=expr`, `name(count)=expr` or a bare `expr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructField {
    pub name: Option<Ident>,
    /// The `(N)` in `msg_iov(1)=…` / `msg_name(...)=…`.
    pub count: Option<Box<Expr>>,
    pub value: Expr,
    pub span: Span,
}

/// The comparison in a state condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// `state[(fd)] OP STATE`: the TCP state of the socket behind script fd `fd`, or without an fd of
/// the connection under test (which may have no fd any more, as in TIME-WAIT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCondition {
    pub fd: Option<Spanned<i64>>,
    pub op: CmpOp,
    /// As written; [`TcpState::from_script_name`] gives the state, the checker reports unknown names.
    pub state: Ident,
    pub span: Span,
}

/// `measure NAME until CONDITION within SECS` (tcpconf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    pub name: Ident,
    pub until: MeasureUntil,
    /// The limit, in microseconds.
    pub within_micros: Spanned<i64>,
    pub span: Span,
}

/// What a measurement waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeasureUntil {
    /// `until state OP STATE`
    State(StateCondition),
    /// `until packet`: the stack's next outbound packet.
    Packet { span: Span },
}

impl StateCondition {
    /// The state named, if the name is one of [`TcpState::ALL`] (or an accepted alias).
    pub fn tcp_state(&self) -> Option<TcpState> {
        TcpState::from_script_name(&self.state.node)
    }
}
