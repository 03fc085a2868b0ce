//! Semantic checks: what the grammar accepts but a script cannot mean.
//!
//! Errors are what packetdrill itself would refuse (at parse or at run time) or what tcpconf's
//! extensions rule out; warnings are what may still be fine with the right `-D` defines or on
//! another platform (an unknown symbol may be a define; a FreeBSD socket option is unknown to
//! Linux). Checks never reject a script that packetdrill runs.

use crate::state::TcpState;
use std::collections::{BTreeMap, BTreeSet};

use super::ast::*;
use super::diag::Diagnostic;
use super::meta::ScriptMeta;
use super::symbols::{errno_from_name, symbol_value};

/// TCP options may take at most 40 bytes (RFC 9293 §3.1: data offset is 4 bits of 32-bit words,
/// the fixed header takes 5).
pub const MAX_TCP_OPTIONS_LEN: usize = 40;

/// Every finding about `script`, in source order.
pub fn check(script: &Script) -> Vec<Diagnostic> {
    check_with_defines(script, &BTreeMap::new())
}

/// Like [`check`], knowing the `-D NAME=VALUE` defines the script will run with (its own
/// `--define=NAME=VALUE` lines count too): a defined name is not reported as unknown.
pub fn check_with_defines(script: &Script, defines: &BTreeMap<String, String>) -> Vec<Diagnostic> {
    let mut defined: BTreeSet<String> = defines.keys().cloned().collect();
    for option in &script.options {
        if option.name.node == "define"
            && let Some(value) = &option.value
        {
            let name = value
                .node
                .split_once('=')
                .map_or(value.node.as_str(), |(n, _)| n);
            defined.insert(name.to_string());
        }
    }
    let mut checker = Checker {
        diags: Vec::new(),
        defined,
    };
    let (_, meta_diags) = ScriptMeta::from_script(script);
    checker.diags.extend(meta_diags);
    for option in &script.options {
        checker.option(option);
    }
    checker.events(script);
    checker
        .diags
        .sort_by_key(|d| (d.span.start, std::cmp::Reverse(d.severity)));
    checker.diags
}

/// Command-line flags of packetdrill (both dialects) and tcpconf that a script may set.
const KNOWN_OPTIONS: &[&str] = &[
    "bind_port",
    "code_command",
    "code_format",
    "code_sockopt",
    "connect_port",
    "debug",
    "define",
    "dry_run",
    "gateway_ip",
    "gateway_linklocal_ip",
    "init_scripts",
    "ip_version",
    "is_anyip",
    "local_ip",
    "local_linklocal_ip",
    "mss",
    "mtu",
    "netmask_ip",
    "no_cleanup",
    "non_fatal",
    "persistent_tun_dev",
    "psp_udp_port",
    "quiet_usecs",
    "remote_ip",
    "send_omit_free",
    "so_filename",
    "so_flags",
    "speed",
    "strict",
    "strict_segments",
    "tcp_md5_secret",
    "tcp_ts_ecr_scaled",
    "tcp_ts_tick_usecs",
    "tolerance_percent",
    "tolerance_usecs",
    "tun_dev",
    "udp_encapsulation",
    "verbose",
    "wire_client",
    "wire_client_dev",
    "wire_server",
    "wire_server_at",
    "wire_server_dev",
    "wire_server_ip",
    "wire_server_port",
];

/// Syscalls packetdrill knows (Google's table and nplab's).
const KNOWN_SYSCALLS: &[&str] = &[
    "accept",
    "bind",
    "cap_set",
    "close",
    "connect",
    "epoll_create",
    "epoll_ctl",
    "epoll_wait",
    "fcntl",
    "getsockopt",
    "ioctl",
    "listen",
    "open",
    "pipe",
    "poll",
    "psp_rx_assoc",
    "psp_tx_assoc",
    "read",
    "readv",
    "recv",
    "recvfrom",
    "recvmsg",
    "send",
    "sendfile",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shutdown",
    "socket",
    "splice",
    "write",
    "writev",
    "sctp_bindx",
    "sctp_peeloff",
    "sctp_getpaddrs",
    "sctp_freepaddrs",
    "sctp_getladdrs",
    "sctp_freeladdrs",
    "sctp_sendmsg",
    "sctp_recvmsg",
    "sctp_connectx",
    "sctp_send",
    "sctp_sendx",
    "sctp_sendv",
    "sctp_recvv",
];

/// Function-like expressions.
const KNOWN_FUNCTIONS: &[&str] = &["htons", "inet_addr", "inet6_addr"];

struct Checker {
    diags: Vec<Diagnostic>,
    /// Names given with `-D` or `--define`.
    defined: BTreeSet<String>,
}

/// Where the script's clock is, as far as the text says.
#[derive(Clone, Copy)]
enum Clock {
    /// Known: the expected time of the previous event, in microseconds.
    At(i64),
    /// After `*`: unknown until the next absolute time.
    Unknown,
}

impl Checker {
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, message));
    }

    fn warning(&mut self, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::warning(span, message));
    }

    fn option(&mut self, option: &ScriptOption) {
        let name = option.name.node.as_str();
        if !KNOWN_OPTIONS.contains(&name) {
            self.error(option.name.span, format!("unknown option `--{name}`"));
            return;
        }
        let value = option.value.as_ref();
        let numeric = [
            "bind_port",
            "connect_port",
            "mss",
            "mtu",
            "speed",
            "tcp_ts_tick_usecs",
            "tolerance_usecs",
            "quiet_usecs",
            "psp_udp_port",
            "wire_server_port",
        ];
        match (name, value) {
            ("ip_version", Some(v))
                if !["ipv4", "ipv6", "ipv4-mapped-ipv6"].contains(&v.node.as_str()) =>
            {
                self.error(
                    v.span,
                    format!(
                        "expected `ipv4`, `ipv6` or `ipv4-mapped-ipv6`, found `{}`",
                        v.node
                    ),
                );
            }
            (n, Some(v)) if numeric.contains(&n) && v.node.parse::<u64>().is_err() => {
                self.error(
                    v.span,
                    format!("`--{n}` takes a whole number, found `{}`", v.node),
                );
            }
            ("tolerance_percent", Some(v)) if v.node.parse::<f64>().is_err() => {
                self.error(
                    v.span,
                    format!("`--tolerance_percent` takes a number, found `{}`", v.node),
                );
            }
            _ => {}
        }
    }

    fn events(&mut self, script: &Script) {
        let mut events = script.all_events().peekable();
        let Some(first) = events.peek() else {
            let span = script
                .init_command
                .as_ref()
                .map(|c| c.span)
                .unwrap_or_default();
            self.error(span, "the script has no events");
            return;
        };
        match first.time.spec {
            TimeSpec::At(t) | TimeSpec::Blocking { start: t, .. } if t.micros == 0 => {}
            _ => self.error(
                first.time.span,
                "the first event must be at time 0 (`0` or `+0`)",
            ),
        }
        let mut clock = Clock::At(0);
        let mut measures: Vec<&Ident> = Vec::new();
        for item in &script.body {
            match item {
                Item::Event(event) => {
                    clock = self.time(event, clock);
                    self.action(event, &mut measures);
                }
                // A block may or may not run, so its events are timed from the clock before it,
                // and after it the time is known only if the block did not move it.
                Item::Ifdef(block) => {
                    let mut inner = clock;
                    for event in &block.events {
                        inner = self.time(event, inner);
                        self.action(event, &mut measures);
                    }
                    clock = match (clock, inner) {
                        (Clock::At(before), Clock::At(after)) if before == after => clock,
                        _ => Clock::Unknown,
                    };
                }
            }
        }
    }

    /// Checks an event's time against the clock and returns the clock after it.
    fn time(&mut self, event: &Event, clock: Clock) -> Clock {
        let span = event.time.span;
        let outbound =
            matches!(&event.action, Action::Packet(p) if p.direction.node == Direction::Outbound);
        let at = |t: Time, clock: Clock| -> Option<i64> {
            match (t.relative, clock) {
                (false, _) => Some(t.micros),
                (true, Clock::At(now)) => now.checked_add(t.micros),
                (true, Clock::Unknown) => None,
            }
        };
        let advance = |this: &mut Self, t: Time| -> Clock {
            match at(t, clock) {
                Some(when) => {
                    if let Clock::At(now) = clock
                        && when < now
                    {
                        this.error(
                            span,
                            format!(
                                "time goes backwards: {} is before the previous event at {}",
                                seconds(when),
                                seconds(now)
                            ),
                        );
                    }
                    Clock::At(when)
                }
                None => Clock::Unknown,
            }
        };
        match event.time.spec {
            TimeSpec::At(t) => advance(self, t),
            TimeSpec::Any => {
                if !outbound {
                    self.error(
                        span,
                        "`*` as a time is allowed only on outbound (`>`) packets",
                    );
                }
                Clock::Unknown
            }
            TimeSpec::Range { lo, hi } => {
                if !outbound {
                    self.error(
                        span,
                        "a time range is allowed only on outbound (`>`) packets",
                    );
                }
                if let (Some(lo_at), Some(hi_at)) = (at(lo, clock), at(hi, clock))
                    && hi_at < lo_at
                {
                    self.error(
                        span,
                        format!(
                            "the time range ends ({}) before it starts ({})",
                            seconds(hi_at),
                            seconds(lo_at)
                        ),
                    );
                }
                advance(self, lo)
            }
            TimeSpec::Blocking { start, end_micros } => {
                if !matches!(event.action, Action::Syscall(_)) {
                    self.error(
                        span,
                        "a blocking time `t1...t2` is allowed only on syscalls",
                    );
                }
                // packetdrill measures the next relative time from the call's start (the call
                // runs on a thread while the script goes on), so the clock stays there.
                let started = advance(self, start);
                let end = Time {
                    relative: start.relative,
                    micros: end_micros,
                };
                if let (Some(s), Some(e)) = (at(start, clock), at(end, clock))
                    && e < s
                {
                    self.error(
                        span,
                        format!(
                            "the call must return ({}) after it starts ({})",
                            seconds(e),
                            seconds(s)
                        ),
                    );
                }
                started
            }
        }
    }

    fn action<'a>(&mut self, event: &'a Event, measures: &mut Vec<&'a Ident>) {
        match &event.action {
            Action::Packet(packet) => self.packet(packet),
            Action::Syscall(call) => self.syscall(call),
            Action::Shell(_) | Action::Code(_) => {}
            Action::Assert(cond) => self.state_cond(cond),
            Action::Restart => {}
            Action::Measure(measure) => {
                if let Some(first) = measures.iter().find(|m| m.node == measure.name.node) {
                    self.error(
                        measure.name.span,
                        format!(
                            "measurement `{}` is already taken on line {}",
                            measure.name.node, first.span.line
                        ),
                    );
                } else {
                    measures.push(&measure.name);
                }
                if let MeasureUntil::State(cond) = &measure.until {
                    self.state_cond(cond);
                }
                if measure.within_micros.node <= 0 {
                    self.error(
                        measure.within_micros.span,
                        "the time limit of a measurement must be more than 0 seconds",
                    );
                }
            }
        }
    }

    fn state_cond(&mut self, cond: &StateCondition) {
        if cond.tcp_state().is_none() {
            let names: Vec<_> = TcpState::ALL.iter().map(|s| s.script_name()).collect();
            self.diags.push(
                Diagnostic::error(
                    cond.state.span,
                    format!("unknown TCP state `{}`", cond.state.node),
                )
                .with_help(format!("states are {}", names.join(", "))),
            );
        }
    }

    // ---- packets ------------------------------------------------------------------------------

    fn packet(&mut self, packet: &PacketSpec) {
        let outbound = packet.direction.node == Direction::Outbound;
        for field in &packet.ip_info {
            let (value, max, what) = match field.node {
                IpField::Ecn(Ecn::Ect01) => {
                    if !outbound {
                        self.error(
                            field.span,
                            "`ect01` (either ECT codepoint) is allowed only on outbound packets",
                        );
                    }
                    continue;
                }
                IpField::Ecn(_) => continue,
                IpField::Tos(v) => (v, 0xff, "a TOS byte"),
                IpField::TrafficClass(v) => (v, 0xff, "a traffic class"),
                IpField::FlowLabel(v) => (v, 0xf_ffff, "a flow label"),
                IpField::Ttl(v) => (v, 0xff, "a TTL"),
                IpField::HopLimit(v) => (v, 0xff, "a hop limit"),
            };
            self.range(field.span, value, max, what);
        }
        match &packet.kind {
            PacketKind::Tcp(tcp) => {
                if !outbound && tcp.win.is_none() {
                    self.diags.push(
                        Diagnostic::error(packet.span, "an inbound packet needs a window")
                            .with_help("add `win N`: tcpconf must know what window to send"),
                    );
                }
                self.tcp(tcp, outbound);
            }
            PacketKind::Udp(udp) => {
                if let Some(ports) = &udp.ports {
                    self.ports(ports);
                }
                self.range(
                    udp.len.span,
                    udp.len.node,
                    0xffff - 8,
                    "a UDP payload length",
                );
            }
            PacketKind::Icmp(icmp) => {
                for name in std::iter::once(&icmp.icmp_type).chain(icmp.code.as_ref()) {
                    let n = name.node.as_str();
                    let numbered = n
                        .strip_prefix("type_")
                        .or_else(|| n.strip_prefix("code_"))
                        .is_some_and(|d| d.parse::<u8>().is_ok());
                    if !numbered && !crate::wire::icmp::is_name(n) && !self.defined.contains(n) {
                        self.warning(
                            name.span,
                            format!(
                                "unknown ICMP name `{n}` (unless it is a -D define); use `type_N` or `code_N` for a raw number"
                            ),
                        );
                    }
                }
                if let Some(mtu) = &icmp.mtu {
                    self.range(mtu.span, mtu.node, 0xffff, "an MTU");
                }
                if let Some(echoed) = &icmp.echoed
                    && let IcmpEchoed::Tcp {
                        start, end, len, ..
                    } = echoed.node
                {
                    self.seq_range(echoed.span, start, end, len);
                }
            }
        }
    }

    fn tcp(&mut self, tcp: &TcpPacket, outbound: bool) {
        if tcp.bad_csum && outbound {
            self.error(
                tcp.seq.span,
                "`bad_csum` is allowed only on inbound packets (outbound checksums are always checked)",
            );
        }
        if let Some(ports) = &tcp.ports {
            self.ports(ports);
        }
        if let Some(ports) = &tcp.udp_encap {
            self.ports(ports);
        }
        match tcp.seq.node {
            SeqSpec::Range {
                start, end, len, ..
            } => self.seq_range(tcp.seq.span, start, end, len),
            SeqSpec::Any { len } => {
                if !outbound {
                    self.error(
                        tcp.seq.span,
                        "`...(len)` (any sequence number) is allowed only on outbound packets",
                    );
                }
                self.range(tcp.seq.span, len, 0xffff, "a payload length");
            }
        }
        if let Some(ack) = &tcp.ack {
            self.pattern(ack, outbound, u64::from(u32::MAX), "an ACK number");
        }
        if let Some(win) = &tcp.win {
            self.pattern(win, outbound, 0xffff, "a window");
        }
        if let Some(urg) = &tcp.urg {
            self.range(urg.span, urg.node, 0xffff, "an urgent pointer");
        }
        if let Some(options) = &tcp.options {
            self.options(options, outbound);
        }
    }

    fn ports(&mut self, ports: &Spanned<PortPair>) {
        self.range(ports.span, ports.node.src, 0xffff, "a port");
        self.range(ports.span, ports.node.dst, 0xffff, "a port");
    }

    /// `start:end(len)`: packetdrill requires `end = start + len` exactly (no wrap-around).
    fn seq_range(&mut self, span: Span, start: u64, end: u64, len: u64) {
        self.range(span, start, u64::from(u32::MAX), "a sequence number");
        self.range(span, end, u64::from(u32::MAX), "a sequence number");
        self.range(span, len, 0xffff, "a payload length");
        if start.checked_add(len) != Some(end) {
            self.diags.push(
                Diagnostic::error(
                    span,
                    format!(
                        "inconsistent sequence range: {start} + {len} is {}, not {end}",
                        start.saturating_add(len)
                    ),
                )
                .with_help(format!(
                    "write `{start}:{}({len})`",
                    start.saturating_add(len)
                )),
            );
        }
    }

    fn range(&mut self, span: Span, value: u64, max: u64, what: &str) {
        if value > max {
            self.error(
                span,
                format!("{value} is out of range for {what} (at most {max})"),
            );
        }
    }

    /// A numeric field: wildcards and ranges only outbound, values within `max`.
    fn pattern(&mut self, pattern: &Pattern, outbound: bool, max: u64, what: &str) {
        match &pattern.node {
            PatternKind::Exact(v) => self.range(pattern.span, *v, max, what),
            PatternKind::Any => {
                if !outbound {
                    self.diags.push(
                        Diagnostic::error(
                            pattern.span,
                            format!("`*` for {what} is allowed only on outbound (`>`) packets"),
                        )
                        .with_help("an injected packet needs a concrete value"),
                    );
                }
            }
            PatternKind::Range { lo, hi } => {
                if !outbound {
                    self.error(
                        pattern.span,
                        format!("a range for {what} is allowed only on outbound (`>`) packets"),
                    );
                }
                self.range(pattern.span, *hi, max, what);
                if lo > hi {
                    self.error(
                        pattern.span,
                        format!("empty range: {lo} is greater than {hi}"),
                    );
                }
            }
            PatternKind::Define(name) if !self.defined.contains(name) => {
                self.warning(
                    pattern.span,
                    format!(
                        "`{name}` must be given a number with `-D {name}=…` when the script runs"
                    ),
                );
            }
            PatternKind::Define(_) => {}
        }
    }

    fn options(&mut self, options: &OptionSpec, outbound: bool) {
        match options {
            OptionSpec::DontCare { span } => {
                if !outbound {
                    self.error(
                        *span,
                        "`<...>` (options not checked) is allowed only on outbound packets",
                    );
                }
            }
            OptionSpec::Unordered { span, .. } => {
                if !outbound {
                    self.error(
                        *span,
                        "an unordered option list `<{…}>` is allowed only on outbound packets",
                    );
                }
            }
            OptionSpec::Ordered { .. } => {}
        }
        let mut total = Some(0usize);
        for option in options.options() {
            let len = self.tcp_option(option, outbound);
            total = total.zip(len).map(|(a, b)| a + b);
        }
        if let Some(total) = total
            && total > MAX_TCP_OPTIONS_LEN
        {
            self.error(
                options.span(),
                format!(
                    "these TCP options take {total} bytes; a TCP header has room for {MAX_TCP_OPTIONS_LEN}"
                ),
            );
        }
    }

    /// Checks one option and returns its encoded length, if known.
    fn tcp_option(&mut self, option: &TcpOption, outbound: bool) -> Option<usize> {
        match &option.kind {
            TcpOptionKind::Nop | TcpOptionKind::Eol => Some(1),
            TcpOptionKind::SackPermitted => Some(2),
            TcpOptionKind::Mss(v) => {
                self.pattern(v, outbound, 0xffff, "an MSS");
                Some(4)
            }
            TcpOptionKind::WindowScale(v) => {
                self.pattern(v, outbound, 0xff, "a window scale");
                Some(3)
            }
            TcpOptionKind::Sack(blocks) => {
                for b in blocks {
                    self.range(b.span, b.node.left, u64::from(u32::MAX), "a SACK edge");
                    self.range(b.span, b.node.right, u64::from(u32::MAX), "a SACK edge");
                }
                Some(2 + 8 * blocks.len())
            }
            TcpOptionKind::Timestamp { val, ecr, .. } => {
                self.pattern(val, outbound, u64::from(u32::MAX), "a TS value");
                self.pattern(ecr, outbound, u64::from(u32::MAX), "a TS echo reply");
                Some(10)
            }
            TcpOptionKind::FastOpen { cookie } => Some(2 + self.hex_len(cookie.as_ref())?),
            TcpOptionKind::FastOpenExp { cookie } => Some(4 + self.hex_len(cookie.as_ref())?),
            TcpOptionKind::Md5(sig) => {
                if let Md5Signature::Hex(hex) = sig {
                    let len = self.hex_len(Some(hex))?;
                    if len != 16 {
                        self.error(
                            hex.span,
                            format!("an MD5 signature is 16 bytes (32 hex digits), not {len}"),
                        );
                    }
                }
                Some(18)
            }
            TcpOptionKind::AccEcn(acc) => {
                let fields = [&acc.e0b, &acc.ceb, &acc.e1b];
                for field in fields.iter().copied().flatten() {
                    self.range(field.span, field.node, 0xff_ffff, "an AccECN counter");
                }
                Some(2 + 3 * fields.iter().filter(|f| f.is_some()).count())
            }
            TcpOptionKind::Generic { kind, data } => {
                self.range(option.span, *kind, 0xff, "an option kind");
                Some(2 + self.hex_len(data.as_ref())?)
            }
            TcpOptionKind::Experimental { magic, data } => {
                self.range(option.span, *magic, 0xffff, "an experiment id");
                Some(4 + self.hex_len(data.as_ref())?)
            }
            TcpOptionKind::Raw { bytes } => {
                if outbound {
                    self.error(
                        option.span,
                        "`raw` option bytes are allowed only on inbound packets",
                    );
                }
                let len = self.hex_len(Some(bytes))?;
                if len == 0 {
                    self.error(bytes.span, "`raw` needs at least one byte");
                }
                Some(len)
            }
            TcpOptionKind::Unknown { name, .. } => {
                self.diags.push(
                    Diagnostic::error(name.span, format!("unknown TCP option `{}`", name.node))
                        .with_help("known options: nop, eol, mss, wscale, sackOK, sack, TS, FO, FOEXP, EXP-FO, md5, ECN, gen-KIND, exp-MAGIC, raw HEX"),
                );
                None
            }
        }
    }

    /// Bytes in a hex blob; `None` (length unknown) for a word that may be a `-D` define.
    fn hex_len(&mut self, blob: Option<&Ident>) -> Option<usize> {
        let Some(blob) = blob else { return Some(0) };
        let text = blob.node.as_str();
        if !text.chars().all(|c| c.is_ascii_hexdigit()) {
            if self.defined.contains(text) {
                return None;
            }
            self.warning(
                blob.span,
                format!("`{text}` is not hex; it must be a -D define when the script runs"),
            );
            return None;
        }
        if text.len() % 2 != 0 {
            self.error(
                blob.span,
                format!("`{text}` has an odd number of hex digits"),
            );
        }
        Some(text.len() / 2)
    }

    // ---- syscalls -----------------------------------------------------------------------------

    fn syscall(&mut self, call: &SyscallSpec) {
        if !KNOWN_SYSCALLS.contains(&call.name.node.as_str()) {
            self.error(
                call.name.span,
                format!("unknown syscall `{}`", call.name.node),
            );
        }
        for arg in &call.args {
            self.expr(arg);
        }
        self.expr(&call.result);
        if let Some(errno) = &call.errno {
            if errno_from_name(&errno.node).is_none() {
                self.error(errno.span, format!("unknown errno `{}`", errno.node));
            }
            if !matches!(call.result.kind, ExprKind::Int(-1)) {
                self.warning(
                    errno.span,
                    "an errno goes with a result of -1: a call that succeeds sets none",
                );
            }
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Ellipsis
            | ExprKind::Int(_)
            | ExprKind::Hex(_)
            | ExprKind::Str(_)
            | ExprKind::StrPrefix(_) => {}
            ExprKind::Symbol(name) => {
                if symbol_value(name).is_none() && !self.defined.contains(name) {
                    self.warning(
                        expr.span,
                        format!("`{name}` is not a Linux constant tcpconf knows; it must be a -D define when the script runs"),
                    );
                }
            }
            ExprKind::Or(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Array(items) => items.iter().for_each(|e| self.expr(e)),
            ExprKind::Struct(fields) => {
                for field in fields {
                    if let Some(count) = &field.count {
                        self.expr(count);
                    }
                    self.expr(&field.value);
                }
            }
            ExprKind::Call { name, args } => {
                if !KNOWN_FUNCTIONS.contains(&name.node.as_str()) {
                    self.error(
                        name.span,
                        format!(
                            "unknown function `{}`; expressions may call htons, inet_addr and inet6_addr",
                            name.node
                        ),
                    );
                }
                args.iter().for_each(|e| self.expr(e));
            }
        }
    }
}

/// Microseconds as seconds for messages (`1.5`, `0.000200`).
fn seconds(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let (whole, frac) = (
        micros.unsigned_abs() / 1_000_000,
        micros.unsigned_abs() % 1_000_000,
    );
    if frac == 0 {
        format!("{sign}{whole}s")
    } else {
        let frac = format!("{frac:06}");
        format!("{sign}{whole}.{}s", frac.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(source: &str) -> Vec<String> {
        let script = crate::script::parse(source).expect("parses");
        check(&script).into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn alternative_ifdef_blocks_do_not_add_up() {
        let source = "0 close(3) = 0\n#ifdef A\n+0.2 close(4) = 0\n#endif\n#ifdef B\n+0.2 close(4) = 0\n#endif\n0.3 close(5) = 0\n";
        assert!(messages(source).is_empty(), "{:?}", messages(source));
        let backwards = "0 close(3) = 0\n#ifdef A\n0.5 close(4) = 0\n0.4 close(4) = 0\n#endif\n";
        assert_eq!(messages(backwards).len(), 1);
    }

    #[test]
    fn relative_time_after_blocking_call_counts_from_its_start() {
        let source = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n1...6 connect(3, ..., ...) = -1 ETIMEDOUT (x)\n+1 > S 0:0(0)\n+2.2 > S 0:0(0)\n5 close(3) = 0\n";
        assert!(messages(source).is_empty(), "{:?}", messages(source));
    }

    #[test]
    fn script_defines_count() {
        let source = "--define=MY_OPT=3\n0 setsockopt(3, SOL_SOCKET, MY_OPT, [1], 4) = 0\n";
        assert!(messages(source).is_empty(), "{:?}", messages(source));
    }

    #[test]
    fn option_space() {
        // 4 + 2 + 10 + 1 + 3 + 10 + 10 = 40 bytes, the most a header holds.
        let full = "0 close(3) = 0\n+0 > S 0:0(0) <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7,FO 0011223344556677,sack 1:2>\n";
        assert!(messages(full).is_empty(), "{:?}", messages(full));
        let over = "0 close(3) = 0\n+0 > S 0:0(0) <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7,FO 0011223344556677,sack 1:2,eol>\n";
        assert_eq!(messages(over).len(), 1, "{:?}", messages(over));
    }
}
