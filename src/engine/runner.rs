//! The scheduler: runs one script's events in order against a [`Stack`].
//!
//! Time moves only through [`Runner::step`]: a virtual-time stack jumps straight to the next event,
//! deadline or packet (its `wait` returns at the first thing that happens); a real-time stack is
//! waited on until shortly before the target, and the last stretch is spun on [`RealClock`].
//! Everything the stack sends lands in one queue; `>` lines consume the packets of the connection
//! under test from it in order, packets of other connections are only traced (as packetdrill
//! ignores them).

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::clock::{RealClock, SPIN_WINDOW, fmt_secs};
use crate::script::ast::{
    Action, CmpOp, Direction, Event, Measure, MeasureUntil, PacketKind, PacketSpec, SeqSpec,
    StateCondition, SyscallSpec, TcpPacket, TimeSpec,
};
use crate::stack::{
    Capabilities, Fd, NetConfig, Stack, StackEvent, Syscall, SyscallOutcome, SyscallProgress,
    TcpState, TimeModel,
};
use crate::wire::{self, Packet, Segment, TcpFlags, TcpOption};

use super::conn::{Conn, Phase};
use super::inbound::{self, BuildError};
use super::matcher::{self, MatchContext};
use super::notation;
use super::options::Settings;
use super::result::{Failure, Location, Measurement};
use super::stop::{Stop, location};
use super::syscalls::{self, Env, EvalError, Evaluated};
use super::timing::{self, Due, Previous, Resolved};
use super::trace::{Trace, TraceKind};

/// How long packetdrill keeps waiting for an outbound packet past its scripted time before it
/// reports "Timed out waiting for packet" (`sniff_outbound_live_packet`).
const OUTBOUND_GRACE: Duration = Duration::from_secs(2);
/// How long a `*`-timed outbound line waits (packetdrill waits forever).
const ANY_TIME_LIMIT: Duration = Duration::from_secs(60);
/// How long a syscall waits for a previous blocked call to return (`await_idle_thread`).
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// The first remote port tcpconf uses for passive connections (one per listening socket).
const FIRST_EPHEMERAL_PORT: u16 = 40000;

/// A packet the stack sent, waiting to be matched.
#[derive(Debug, Clone)]
struct Sent {
    at: Duration,
    segment: Option<Segment>,
}

/// A syscall that blocked.
#[derive(Debug, Clone)]
struct Blocked {
    location: Location,
    name: String,
    eval: Evaluated,
    /// `t1...t2`: when it must return; `None` for a call the script expects not to block.
    end: Option<Duration>,
    /// The latest acceptable return time.
    deadline: Duration,
    tolerance: Duration,
}

/// One script's run against one stack.
pub struct Runner<'s> {
    stack: &'s mut dyn Stack,
    caps: Capabilities,
    settings: Settings,
    net: NetConfig,
    clock: RealClock,
    /// Script time zero on the stack's clock: the end of the init command, as in packetdrill,
    /// whose clock starts after it (`run.c: run_script`).
    offset: Duration,
    /// Script time: what the script's times are measured against.
    now: Duration,
    pub(super) trace: Trace,
    pub(super) measurements: Vec<Measurement>,
    pending: VecDeque<Sent>,
    blocked: Option<Blocked>,
    /// script fd → live fd.
    fds: BTreeMap<i64, Fd>,
    /// live fd → the address it was bound to.
    bound: BTreeMap<Fd, SocketAddr>,
    conn: Option<Conn>,
    next_port: u16,
    prev: Option<Previous>,
    /// The script wrote non-zero payload bytes, so outbound payloads are not compared with zeros.
    wrote_data: bool,
    line: Option<usize>,
    /// The last traced state answer and the line that asked.
    last_answer: Option<(Option<usize>, TcpState)>,
}

impl<'s> Runner<'s> {
    /// A runner for a stack that has been set up with `net` on `clock`.
    pub fn new(
        stack: &'s mut dyn Stack,
        caps: Capabilities,
        settings: Settings,
        net: NetConfig,
        clock: RealClock,
    ) -> Self {
        Runner {
            stack,
            caps,
            settings,
            net,
            clock,
            offset: Duration::ZERO,
            now: Duration::ZERO,
            trace: Trace::default(),
            measurements: Vec::new(),
            pending: VecDeque::new(),
            blocked: None,
            fds: BTreeMap::new(),
            bound: BTreeMap::new(),
            conn: None,
            next_port: FIRST_EPHEMERAL_PORT,
            prev: None,
            wrote_data: false,
            line: None,
            last_answer: None,
        }
    }

    fn real_time(&self) -> bool {
        self.caps.time == TimeModel::Real
    }

    fn note(&mut self, text: String) {
        self.trace
            .push(self.now, self.line, TraceKind::Note { text });
    }

    // ---- time ------------------------------------------------------------------------------

    /// Lets time pass towards `until`, returning at the first thing that happens. Returns whether
    /// `until` was reached with nothing happening. Fails if a blocked call passes its deadline.
    fn step(&mut self, until: Duration) -> Result<bool, Stop> {
        let until = until.max(self.now);
        let target = match &self.blocked {
            Some(b) if b.deadline < until => b.deadline.max(self.now),
            _ => until,
        };
        let reached = self.wait_once(target)?;
        if reached
            && let Some(b) = &self.blocked
            && self.now >= b.deadline
        {
            return Err(self.blocked_too_long());
        }
        Ok(reached && self.now >= until)
    }

    fn blocked_too_long(&self) -> Stop {
        let Some(b) = &self.blocked else {
            return Stop::error(None, "internal: no blocked call");
        };
        let message = match b.end {
            Some(end) => format!(
                "timing error: expected system call return at {} sec but {}() had not returned at {} sec; tolerance {} sec",
                fmt_secs(end),
                b.name,
                fmt_secs(self.now),
                fmt_secs(b.tolerance)
            ),
            None => format!(
                "{}() blocked, but the script expects it to return at once (write `t1...t2` for a call that blocks); still blocked at {} sec",
                b.name,
                fmt_secs(self.now)
            ),
        };
        Stop::fail(Some(b.location.clone()), message)
    }

    /// One `Stack::wait`, then bookkeeping. Returns whether `until` was reached without events.
    fn wait_once(&mut self, until: Duration) -> Result<bool, Stop> {
        let loc = self.current_location();
        let ask = if self.real_time() {
            until.saturating_sub(SPIN_WINDOW).max(self.now)
        } else {
            until
        };
        let events = self
            .stack
            .wait(ask + self.offset)
            .map_err(|e| Stop::from_stack(e, loc))?;
        if events.is_empty() {
            if self.real_time() {
                self.now = self.clock.sleep_until(until + self.offset) - self.offset;
            } else {
                self.now = self.now.max(until);
            }
            return Ok(true);
        }
        for e in events {
            self.on_stack_event(e)?;
        }
        if self.real_time() {
            self.now = self.now.max(self.clock.now().saturating_sub(self.offset));
        }
        Ok(false)
    }

    fn current_location(&self) -> Option<Location> {
        self.line.map(|line| Location {
            line,
            column: 1,
            source: String::new(),
        })
    }

    fn on_stack_event(&mut self, e: StackEvent) -> Result<(), Stop> {
        match e {
            StackEvent::Sent(mut out) => {
                out.at = out.at.saturating_sub(self.offset);
                if !self.real_time() {
                    self.now = self.now.max(out.at);
                }
                let packet = wire::decode(&out.packet);
                let text = match &packet {
                    Ok(p) => notation::packet_text(p),
                    Err(e) => format!("undecodable packet of {} bytes ({e})", out.packet.len()),
                };
                self.trace.push(
                    out.at,
                    self.line,
                    TraceKind::Observed {
                        text,
                        bytes: out.packet,
                    },
                );
                let segment = match packet {
                    Ok(Packet::Tcp(s)) => Some(s),
                    _ => None,
                };
                self.pending.push_back(Sent {
                    at: out.at,
                    segment,
                });
                Ok(())
            }
            StackEvent::Returned { at, outcome } => {
                let at = at.saturating_sub(self.offset);
                if !self.real_time() {
                    self.now = self.now.max(at);
                }
                let Some(b) = self.blocked.take() else {
                    return Err(Stop::error(
                        self.current_location(),
                        "stack adapter reported a syscall return, but no call was blocked",
                    ));
                };
                self.finish_call(&b.location, &b.name, &b.eval, &outcome, at)?;
                if let Some(end) = b.end {
                    timing::check(Due::At(end), at, b.tolerance, "system call return")
                        .map_err(|m| Stop::fail(Some(b.location.clone()), m))?;
                }
                Ok(())
            }
        }
    }

    /// Lets time pass until `t` (events on the way are collected).
    fn advance_to(&mut self, t: Duration) -> Result<(), Stop> {
        while !self.step(t)? {}
        Ok(())
    }

    // ---- events ----------------------------------------------------------------------------

    /// Runs one event.
    pub fn event(&mut self, ev: &Event) -> Result<(), Stop> {
        let loc = location(ev.span);
        self.line = Some(loc.line);
        let inbound =
            matches!(&ev.action, Action::Packet(p) if p.direction.node == Direction::Inbound);
        let resolved = timing::resolve(&ev.time.spec, inbound, self.prev.as_ref())
            .map_err(|e| Stop::error(Some(loc.clone()), e.to_string()))?;
        let gap = self.prev.map_or(Duration::ZERO, |p| {
            resolved.due.start().saturating_sub(p.scripted)
        });
        let tolerance = self.settings.tolerance(gap);
        if !matches!(ev.time.spec, TimeSpec::At(_) | TimeSpec::Blocking { .. })
            && !matches!(&ev.action, Action::Packet(p) if p.direction.node == Direction::Outbound)
        {
            return Err(Stop::error(
                Some(loc),
                "time ranges and `*` are only allowed on outbound packets",
            ));
        }
        let completed = match &ev.action {
            Action::Packet(p) => self.packet(&loc, p, &resolved, tolerance)?,
            Action::Syscall(s) => self.syscall(&loc, s, &resolved, tolerance)?,
            Action::Shell(cmd) => {
                self.advance_to(resolved.due.start())?;
                self.shell(&loc, &cmd.text)?;
                self.now
            }
            Action::Code(_) => {
                return Err(Stop::skip(
                    Some(loc),
                    "python `%{ }%` blocks are not run by tcpconf",
                ));
            }
            Action::Assert(cond) => {
                self.advance_to(resolved.due.start())?;
                self.check_start(&loc, &resolved, tolerance, "state assertion")?;
                self.assert_state(&loc, cond)?;
                self.now
            }
            Action::Measure(m) => {
                self.advance_to(resolved.due.start())?;
                self.measure(&loc, m)?
            }
        };
        self.prev = Some(Previous {
            scripted: resolved.due.start(),
            completed,
            inbound_packet: inbound,
            absolute: timing::is_absolute(&ev.time.spec),
        });
        Ok(())
    }

    /// Checks the start of an event the engine executes itself (real time can be late).
    fn check_start(
        &self,
        loc: &Location,
        r: &Resolved,
        tolerance: Duration,
        what: &str,
    ) -> Result<(), Stop> {
        timing::check(r.due, self.now, tolerance, what)
            .map_err(|m| Stop::fail(Some(loc.clone()), m))
    }

    fn packet(
        &mut self,
        loc: &Location,
        p: &PacketSpec,
        r: &Resolved,
        tolerance: Duration,
    ) -> Result<Duration, Stop> {
        let PacketKind::Tcp(tcp) = &p.kind else {
            return Err(Stop::skip(
                Some(loc.clone()),
                "UDP and ICMP packets are not supported yet",
            ));
        };
        match p.direction.node {
            Direction::Inbound => {
                self.advance_to(r.due.start())?;
                self.check_start(loc, r, tolerance, "inbound packet")?;
                self.inject(loc, p, tcp)?;
                Ok(self.now)
            }
            Direction::Outbound => {
                self.expect(loc, p, tcp, r, tolerance)?;
                Ok(self.now)
            }
        }
    }

    fn new_ephemeral_port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = self
            .next_port
            .checked_add(1)
            .unwrap_or(FIRST_EPHEMERAL_PORT);
        p
    }

    /// The connection an injected packet belongs to, creating the passive one on a SYN to a
    /// listener, or on any packet when there is no socket under test
    /// (`run_packet.c: handle_listen_for_script_packet`).
    fn conn_for_inbound(&mut self, tcp: &TcpPacket) -> &mut Conn {
        let flags = tcp.flags.node;
        let start = match tcp.seq.node {
            SeqSpec::Range { start, .. } => inbound::u32_of(start),
            SeqSpec::Any { .. } => 0,
        };
        let (local_port, remote_port) = match &self.conn {
            Some(c) => (
                c.local_port.unwrap_or(self.settings.bind_port),
                c.remote_port,
            ),
            None => (self.settings.bind_port, self.new_ephemeral_port()),
        };
        let conn = match self.conn.take() {
            // A listener stays the socket under test until a SYN creates the child.
            Some(c) if c.phase == Phase::Listening && (!flags.syn || flags.ack) => c,
            Some(mut c) if c.phase != Phase::Listening => {
                if flags.syn && flags.ack {
                    // Our SYN answered: the SYN-ACK's seq is the remote ISN.
                    c.set_remote_isn(start);
                }
                c
            }
            _ => {
                let mut c = Conn::new(
                    Phase::Open,
                    SocketAddr::new(self.net.local_ip, local_port),
                    true,
                    SocketAddr::new(self.net.remote_ip, remote_port),
                );
                if flags.syn {
                    c.set_remote_isn(start);
                }
                c
            }
        };
        self.conn.insert(conn)
    }

    fn inject(&mut self, loc: &Location, p: &PacketSpec, tcp: &TcpPacket) -> Result<(), Stop> {
        let scaled = self.settings.tcp_ts_ecr_scaled;
        let conn = self.conn_for_inbound(tcp);
        let seg = inbound::build_segment(tcp, &p.ip_info, conn, scaled).map_err(|e| match e {
            BuildError::Unsupported(m) => Stop::skip(Some(loc.clone()), m),
            other => Stop::error(Some(loc.clone()), other.to_string()),
        })?;
        let packet = Packet::Tcp(seg);
        let bytes =
            inbound::encode(&packet).map_err(|e| Stop::error(Some(loc.clone()), e.to_string()))?;
        self.stack
            .inject(self.now + self.offset, &bytes)
            .map_err(|e| Stop::from_stack(e, Some(loc.clone())))?;
        self.trace.push(
            self.now,
            self.line,
            TraceKind::Injected {
                text: notation::packet_text(&packet),
                bytes,
            },
        );
        Ok(())
    }

    /// Whether an outbound segment belongs to the connection under test; learns the local port of
    /// an active open from its first SYN (`find_connect_for_live_packet`).
    fn belongs(&mut self, seg: &Segment) -> bool {
        let Some(c) = &mut self.conn else {
            return false;
        };
        let src = SocketAddr::new(seg.ip.src(), seg.src_port);
        let dst = SocketAddr::new(seg.ip.dst(), seg.dst_port);
        match c.local_addr() {
            Some(local) => src == local && dst == c.remote_addr(),
            None => {
                let syn_only =
                    seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK);
                if syn_only && dst == c.remote_addr() && seg.ip.src() == c.local {
                    c.local_port = Some(seg.src_port);
                    c.phase = Phase::Open;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// The next packet of the connection under test, waiting until `deadline` at most.
    fn next_flow_packet(
        &mut self,
        deadline: Duration,
    ) -> Result<Option<(Duration, Segment)>, Stop> {
        loop {
            while let Some(sent) = self.pending.pop_front() {
                if let Some(seg) = sent.segment
                    && self.belongs(&seg)
                {
                    return Ok(Some((sent.at, seg)));
                }
            }
            if self.now >= deadline {
                return Ok(None);
            }
            self.step(deadline)?;
        }
    }

    fn expect(
        &mut self,
        loc: &Location,
        p: &PacketSpec,
        tcp: &TcpPacket,
        r: &Resolved,
        tolerance: Duration,
    ) -> Result<(), Stop> {
        if self.conn.is_none() {
            return Err(Stop::error(
                Some(loc.clone()),
                "outbound packet expected, but no socket is connecting or listening",
            ));
        }
        let deadline = match r.due {
            Due::Any { .. } => self.now.max(r.base) + ANY_TIME_LIMIT,
            due => {
                let latest = due.deadline(tolerance).unwrap_or(self.now);
                latest.max(due.start() + OUTBOUND_GRACE)
            }
        };
        let Some((at, first)) = self.next_flow_packet(deadline)? else {
            return Err(Stop::failure(Failure::new(
                Some(loc.clone()),
                format!(
                    "timed out waiting for packet: expected outbound packet at {} sec, none arrived by {} sec",
                    fmt_secs(r.due.start()),
                    fmt_secs(self.now)
                ),
            )));
        };
        let want_len = tcp.seq.node.len();
        let mut pieces = vec![first];
        // Linux hands GSO packets of several MSS to the TUN device and may also split what the
        // script wrote as one: merge consecutive segments up to the script's length, like
        // packetdrill does unless --strict_segments.
        while !self.settings.strict_segments
            && (pieces.iter().map(|s| s.payload.len() as u64).sum::<u64>()) < want_len
        {
            let Some((next_at, next)) = self.next_flow_packet(deadline)? else {
                break;
            };
            match pieces.last() {
                Some(last) if matcher::continues(last, &next) => pieces.push(next),
                _ => {
                    self.pending.push_front(Sent {
                        at: next_at,
                        segment: Some(next),
                    });
                    break;
                }
            }
        }
        let Some(live) = matcher::merge(&pieces) else {
            return Err(Stop::error(Some(loc.clone()), "internal: nothing to merge"));
        };
        let Some(conn) = self.conn.as_mut() else {
            return Err(Stop::error(Some(loc.clone()), "internal: no connection"));
        };
        // The first outbound SYN of a connection fixes the local ISN (`socket.h`).
        if tcp.flags.node.syn
            && live.flags.contains(TcpFlags::SYN)
            && !conn.knows_local_isn()
            && let SeqSpec::Range { start, .. } = tcp.seq.node
        {
            conn.set_local_isn(inbound::u32_of(start), live.seq);
        }
        record_ts(conn, tcp, &live);
        let actual = matcher::to_script_space(&live, conn);
        let since_start =
            r.due.start().as_micros() as f64 * self.settings.tolerance_percent / 100.0;
        let ctx = MatchContext {
            zero_payload: !self.wrote_data,
            ts_tick_usecs: self.settings.tcp_ts_tick_usecs,
            ts_tolerance_usecs: self.settings.tolerance_usecs.max(since_start as u64),
        };
        let diffs = matcher::compare(tcp, &p.ip_info, &live, &actual, &ctx);
        let actual_text = format!("{} {}", fmt_secs(at), notation::segment_text(&actual));
        // A packet that predates the previous line was unexpected there already; packetdrill (and
        // tcpconf outside strict mode) only notices it here, so say where it really came from.
        let early_note = self.prev.filter(|prev| at < prev.scripted).map(|prev| {
            format!(
                "the actual packet was sent at {} sec, before the previous line's time {} sec: it is an \
                 unexpected packet from earlier, which packetdrill also reports only at the next `>` line",
                fmt_secs(at),
                fmt_secs(prev.scripted)
            )
        });
        if !diffs.is_empty() {
            let mut f = Failure::new(
                Some(loc.clone()),
                format!(
                    "outbound packet does not match the script ({})",
                    diffs.join("; ")
                ),
            );
            f.actual = Some(actual_text);
            f.differences = diffs;
            if pieces.len() > 1 {
                f.notes.push(format!(
                    "the actual packet merges {} consecutive segments",
                    pieces.len()
                ));
            }
            if let Some(n) = early_note {
                f.notes.push(n);
            }
            return Err(Stop::failure(f));
        }
        if let Err(m) = timing::check(r.due, at, tolerance, "outbound packet") {
            let mut f = Failure::new(Some(loc.clone()), m);
            f.actual = Some(actual_text);
            return Err(Stop::failure(f));
        }
        Ok(())
    }

    // ---- syscalls --------------------------------------------------------------------------

    fn syscall(
        &mut self,
        loc: &Location,
        spec: &SyscallSpec,
        r: &Resolved,
        tolerance: Duration,
    ) -> Result<Duration, Stop> {
        self.advance_to(r.due.start())?;
        if self.blocked.is_some() {
            // Wait for the blocked call like packetdrill's `await_idle_thread` (at most 1 s).
            let limit = self.now + IDLE_WAIT;
            while self.blocked.is_some() && !self.step(limit)? {}
            if self.blocked.is_some() && r.blocking_end.is_some() {
                return Err(Stop::fail(
                    Some(loc.clone()),
                    "blocking system call while another blocking system call is already in progress",
                ));
            }
        }
        self.check_start(loc, r, tolerance, "system call start")?;
        let eval = {
            let env = Env {
                net: &self.net,
                settings: &self.settings,
                fds: &self.fds,
            };
            syscalls::evaluate(spec, &env).map_err(|e| match e {
                EvalError::Unsupported(m) => Stop::skip(Some(loc.clone()), m),
                EvalError::Invalid(m) => Stop::error(Some(loc.clone()), m),
            })?
        };
        self.wrote_data |= eval.wrote_data;
        let name = spec.name.node.clone();
        self.before_call(&eval.call);
        self.trace.push(
            self.now,
            self.line,
            TraceKind::Syscall {
                call: syscalls::call_text(&name, &eval.call),
            },
        );
        let start = self.now;
        let progress = self
            .stack
            .syscall(self.now + self.offset, &eval.call)
            .map_err(|e| Stop::from_stack(e, Some(loc.clone())))?;
        match progress {
            SyscallProgress::Done(outcome) => {
                self.finish_call(loc, &name, &eval, &outcome, self.now)?;
                if let Some(end) = r.blocking_end {
                    let tol = self.settings.tolerance(end.saturating_sub(start));
                    timing::check(Due::At(end), self.now, tol, "system call return")
                        .map_err(|m| Stop::fail(Some(loc.clone()), m))?;
                }
            }
            SyscallProgress::Blocked => {
                let (end, tol) = match r.blocking_end {
                    // The return's tolerance counts from the call's start (`system_call_thread`).
                    Some(end) => (
                        Some(end),
                        self.settings.tolerance(end.saturating_sub(start)),
                    ),
                    None => (None, tolerance),
                };
                let deadline = end.unwrap_or(start) + tol;
                self.trace.push(
                    self.now,
                    self.line,
                    TraceKind::Note {
                        text: format!("{name}() blocked"),
                    },
                );
                self.blocked = Some(Blocked {
                    location: loc.clone(),
                    name,
                    eval,
                    end,
                    deadline,
                    tolerance: tol,
                });
                if end.is_none() {
                    // Not scripted to block: it must return within the tolerance.
                    while self.blocked.is_some() {
                        self.step(deadline)?;
                    }
                }
            }
        }
        // Relative times after a blocking call count from when it started (packetdrill's main
        // thread moves on as soon as the call blocks).
        Ok(if self.blocked.is_some() {
            start
        } else {
            self.now
        })
    }

    /// Bookkeeping that must happen before a call runs: a `connect()` makes the connection under
    /// test the one whose SYN is about to leave, a `listen()` prepares for an injected SYN.
    fn before_call(&mut self, call: &Syscall) {
        match call {
            Syscall::Connect { fd, addr } => {
                let remote = SocketAddr::new(addr.ip().to_canonical(), addr.port());
                let local = self.bound.get(fd).map_or(self.net.local_ip, |a| {
                    non_wildcard(a.ip().to_canonical(), self.net.local_ip)
                });
                let mut c = Conn::new(Phase::Connecting, SocketAddr::new(local, 0), false, remote);
                c.fd = Some(*fd);
                self.conn = Some(c);
            }
            Syscall::Listen { fd, .. } => {
                let port = self
                    .bound
                    .get(fd)
                    .map_or(self.settings.bind_port, |a| a.port());
                let remote_port = self.new_ephemeral_port();
                let mut c = Conn::new(
                    Phase::Listening,
                    SocketAddr::new(self.net.local_ip, port),
                    true,
                    SocketAddr::new(self.net.remote_ip, remote_port),
                );
                c.fd = Some(*fd);
                self.conn = Some(c);
            }
            Syscall::Bind { fd, addr } => {
                self.bound.insert(*fd, *addr);
            }
            _ => {}
        }
    }

    /// Checks a returned call and records what it created.
    fn finish_call(
        &mut self,
        loc: &Location,
        name: &str,
        eval: &Evaluated,
        outcome: &SyscallOutcome,
        at: Duration,
    ) -> Result<(), Stop> {
        self.trace.push(
            at,
            Some(loc.line),
            TraceKind::Returned {
                call: name.to_string(),
                result: syscalls::outcome_text(outcome),
            },
        );
        syscalls::check_outcome(eval, outcome).map_err(|m| {
            Stop::failure(
                Failure::new(Some(loc.clone()), format!("{name}: {m}")).with_expected_actual(
                    expected_call_text(eval),
                    syscalls::outcome_text(outcome),
                ),
            )
        })?;
        if eval.returns_fd
            && let Some(script_fd) = eval.result
            && script_fd >= 0
            && outcome.ret >= 0
        {
            self.fds
                .insert(script_fd, i32::try_from(outcome.ret).unwrap_or(-1));
        }
        Ok(())
    }

    // ---- extensions ------------------------------------------------------------------------

    /// Runs the script's untimed init command (before the first event).
    pub fn init(&mut self, command: &str, loc: Location) -> Result<(), Stop> {
        self.untimed_shell(command, loc, "init")
    }

    /// Starts script time: for a real-time stack, time zero is now (after the init command).
    pub fn start(&mut self) {
        if self.real_time() {
            self.offset = self.clock.now();
        }
    }

    /// Runs the script's untimed cleanup command (after the run, even a failed one).
    pub fn cleanup(&mut self, command: &str, loc: Location) -> Result<(), Stop> {
        self.untimed_shell(command, loc, "cleanup")
    }

    /// An untimed command that fails is the environment's problem, not the stack's.
    fn untimed_shell(&mut self, command: &str, loc: Location, what: &str) -> Result<(), Stop> {
        let status = self
            .stack
            .shell(&with_packetdrill_env(command))
            .map_err(|e| Stop::from_stack(e, Some(loc.clone())))?;
        self.trace.push(
            self.now,
            Some(loc.line),
            TraceKind::Shell {
                command: command.to_string(),
                status: status.to_string(),
            },
        );
        if status.success() {
            Ok(())
        } else {
            Err(Stop::error(
                Some(loc),
                format!("{what} command failed: {status}"),
            ))
        }
    }

    fn shell(&mut self, loc: &Location, command: &str) -> Result<(), Stop> {
        let status = self
            .stack
            .shell(&with_packetdrill_env(command))
            .map_err(|e| Stop::from_stack(e, Some(loc.clone())))?;
        self.trace.push(
            self.now,
            self.line,
            TraceKind::Shell {
                command: command.to_string(),
                status: status.to_string(),
            },
        );
        if status.success() {
            Ok(())
        } else {
            Err(Stop::fail(
                Some(loc.clone()),
                format!("shell command failed: {status}"),
            ))
        }
    }

    /// The state a condition asks about, or `None` if the stack cannot tell.
    fn query_state(&mut self, loc: &Location, cond: &StateCondition) -> Result<TcpState, Stop> {
        let conns = self
            .stack
            .connections()
            .map_err(|e| Stop::from_stack(e, Some(loc.clone())))?;
        let found = match &cond.fd {
            Some(fd) => {
                let live = self.fds.get(&fd.node).copied().ok_or_else(|| {
                    Stop::error(
                        Some(loc.clone()),
                        format!("script fd {} was never opened", fd.node),
                    )
                })?;
                conns.iter().find(|c| c.fd == Some(live)).map(|c| c.state)
            }
            None => {
                let Some(conn) = &self.conn else {
                    return Err(Stop::error(
                        Some(loc.clone()),
                        "no connection under test to ask about",
                    ));
                };
                let local = conn.local_addr();
                let remote = conn.remote_addr();
                let same = |a: SocketAddr, b: SocketAddr| {
                    a.ip().to_canonical() == b.ip().to_canonical() && a.port() == b.port()
                };
                let hit = conns
                    .iter()
                    .find(|c| {
                        local.is_some_and(|l| same(c.local, l))
                            && c.remote.is_some_and(|r| same(r, remote))
                    })
                    .map(|c| c.state);
                if hit.is_none() && conn.phase == Phase::Listening {
                    conns
                        .iter()
                        .find(|c| {
                            c.remote.is_none() && local.is_some_and(|l| c.local.port() == l.port())
                        })
                        .map(|c| c.state)
                } else {
                    if hit.is_none() && !self.caps.fdless_states {
                        return Err(Stop::skip(
                            Some(loc.clone()),
                            "the stack cannot report connections without an fd, so CLOSED cannot be told from unreported",
                        ));
                    }
                    hit
                }
            }
        };
        let state = found.unwrap_or(TcpState::Closed);
        // A measurement polls many times: trace only answers that change.
        if self.last_answer != Some((self.line, state)) {
            self.last_answer = Some((self.line, state));
            self.trace.push(
                self.now,
                self.line,
                TraceKind::State {
                    query: condition_text(cond),
                    answer: state.to_string(),
                },
            );
        }
        Ok(state)
    }

    fn condition_holds(
        &mut self,
        loc: &Location,
        cond: &StateCondition,
    ) -> Result<(bool, TcpState), Stop> {
        let want = cond.tcp_state().ok_or_else(|| {
            Stop::error(
                Some(loc.clone()),
                format!("unknown TCP state `{}`", cond.state.node),
            )
        })?;
        let want = TcpState::from_script_name(want.name()).unwrap_or(TcpState::Closed);
        let got = self.query_state(loc, cond)?;
        let holds = match cond.op {
            CmpOp::Eq => got == want,
            CmpOp::Ne => got != want,
        };
        Ok((holds, got))
    }

    fn assert_state(&mut self, loc: &Location, cond: &StateCondition) -> Result<(), Stop> {
        let (holds, got) = self.condition_holds(loc, cond)?;
        if holds {
            Ok(())
        } else {
            Err(Stop::failure(
                Failure::new(
                    Some(loc.clone()),
                    format!(
                        "state assertion failed: expected {} but the connection is {got}",
                        condition_text(cond)
                    ),
                )
                .with_expected_actual(condition_text(cond), format!("state == {got}")),
            ))
        }
    }

    /// Runs a `measure` line; returns when the condition held (the script continues from there).
    fn measure(&mut self, loc: &Location, m: &Measure) -> Result<Duration, Stop> {
        let start = self.now;
        let within = u64::try_from(m.within_micros.node)
            .map(Duration::from_micros)
            .map_err(|_| Stop::error(Some(loc.clone()), "negative measurement limit"))?;
        let limit = start + within;
        let held_at = match &m.until {
            MeasureUntil::State(cond) => loop {
                if self.condition_holds(loc, cond)?.0 {
                    break self.now;
                }
                if self.now >= limit {
                    return Err(self.measure_timeout(loc, m, within));
                }
                // Poll finely at first and coarser later: a relative precision of ~0.1 % keeps a
                // 240 s TIME-WAIT to a few thousand queries.
                let step = ((self.now - start) / 1024)
                    .clamp(Duration::from_micros(100), Duration::from_millis(100));
                self.step((self.now + step).min(limit))?;
            },
            MeasureUntil::Packet { .. } => loop {
                let mut found = None;
                let pending: Vec<Sent> = self.pending.iter().cloned().collect();
                for sent in pending {
                    if let Some(seg) = &sent.segment
                        && self.belongs(seg)
                    {
                        found = Some(sent.at);
                        break;
                    }
                }
                if let Some(at) = found {
                    break at.max(start);
                }
                if self.now >= limit {
                    return Err(self.measure_timeout(loc, m, within));
                }
                self.step(limit)?;
            },
        };
        let value = held_at.saturating_sub(start);
        self.measurements.push(Measurement {
            name: m.name.node.clone(),
            value_secs: value.as_secs_f64(),
            line: loc.line,
        });
        self.note(format!(
            "measured {} = {} sec",
            m.name.node,
            fmt_secs(value)
        ));
        Ok(held_at)
    }

    fn measure_timeout(&self, loc: &Location, m: &Measure, within: Duration) -> Stop {
        Stop::fail(
            Some(loc.clone()),
            format!(
                "measurement {}: condition not reached within {} sec",
                m.name.node,
                fmt_secs(within)
            ),
        )
    }

    // ---- the end ---------------------------------------------------------------------------

    /// After the last line: a call still blocked fails at its deadline; in strict mode, a packet
    /// of the connection under test left unconsumed, or sent within the quiet period, fails.
    pub fn finish(&mut self, strict: bool) -> Result<(), Stop> {
        self.line = None;
        while let Some(deadline) = self.blocked.as_ref().map(|b| b.deadline) {
            self.step(deadline)?;
        }
        if !strict {
            return Ok(());
        }
        let end = self.now + self.settings.quiet_period();
        while !self.step(end)? {}
        let mut leftovers = Vec::new();
        while let Some(sent) = self.pending.pop_front() {
            if let Some(seg) = sent.segment
                && (self.conn.is_none() || self.belongs(&seg))
            {
                leftovers.push((sent.at, seg));
            }
        }
        let Some((at, seg)) = leftovers.first() else {
            return Ok(());
        };
        let shown = match &self.conn {
            Some(c) => matcher::to_script_space(seg, c),
            None => seg.clone(),
        };
        let mut f = Failure::new(
            None,
            format!(
                "strict end: the stack sent {} packet(s) no line expects, the first at {} sec (quiet period {} sec after the last line)",
                leftovers.len(),
                fmt_secs(*at),
                fmt_secs(self.settings.quiet_period())
            ),
        );
        f.actual = Some(format!(
            "{} {}",
            fmt_secs(*at),
            notation::segment_text(&shown)
        ));
        f.notes.push("packetdrill does not check for unexpected packets after the last line; run without --strict for its verdict".into());
        Err(Stop::failure(f))
    }
}

/// packetdrill exports `PACKETDRILL_PID` (its own pid, the shell's parent) to script commands;
/// `set_sysctls.py` names its restore file after it and cleanup commands use `${PPID}`.
fn with_packetdrill_env(command: &str) -> String {
    format!("export PACKETDRILL_PID={}\n{command}", std::process::id())
}

fn non_wildcard(ip: IpAddr, fallback: IpAddr) -> IpAddr {
    if ip.is_unspecified() { fallback } else { ip }
}

/// Records the script→live TS val pair of a matched outbound packet (before comparing, as
/// packetdrill does), so later inbound ecrs can be mapped.
fn record_ts(conn: &mut Conn, tcp: &TcpPacket, live: &Segment) {
    let script_val = tcp.options.as_ref().and_then(|o| {
        o.options().iter().find_map(|opt| match &opt.kind {
            crate::script::ast::TcpOptionKind::Timestamp { val, .. } => match val.node {
                crate::script::ast::PatternKind::Exact(v) => Some(inbound::u32_of(v)),
                _ => None,
            },
            _ => None,
        })
    });
    let live_val = live.options.iter().find_map(|o| match o {
        TcpOption::Timestamp { val, .. } => Some(*val),
        _ => None,
    });
    if let (Some(s), Some(l)) = (script_val, live_val) {
        conn.record_ts_val(s, l);
    }
}

fn expected_call_text(eval: &Evaluated) -> String {
    match (eval.result, &eval.errno) {
        (None, _) => "...".into(),
        (Some(r), Some(e)) => format!("{r} {e:?}"),
        (Some(r), None) => r.to_string(),
    }
}

fn condition_text(cond: &StateCondition) -> String {
    let op = match cond.op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
    };
    match &cond.fd {
        Some(fd) => format!("state({}) {op} {}", fd.node, cond.state.node),
        None => format!("state {op} {}", cond.state.node),
    }
}
