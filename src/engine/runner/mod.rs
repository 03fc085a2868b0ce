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
    Action, CmpOp, Direction, Event, IcmpPacket, Measure, MeasureUntil, PacketKind, PacketSpec,
    SeqSpec, StateCondition, SyscallSpec, TcpPacket, TimeSpec,
};
use crate::stack::{
    Capabilities, Endpoint, Fd, NetConfig, Stack, StackEvent, Syscall, SyscallOutcome,
    SyscallProgress, TcpState, TimeModel,
};
use crate::wire::{self, Packet, Segment, TcpFlags, TcpOption};

use super::conn::{Conn, Phase};
use super::inbound::{self, BuildError};
use super::matcher::{self, MatchContext};
use super::notation;
use super::options::Settings;
use super::result::HARNESS_LATE;
use super::result::{Failure, Location, Measurement};
use super::stop::{Stop, location};
use super::syscalls::{self, Env, EvalError, Evaluated};
use super::timing::{self, Due, Previous, Resolved};
use super::trace::{Trace, TraceKind};

mod calls;
mod delays;
mod extensions;
mod guard;
mod packets;

use delays::Delays;

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
    /// Which of its checksums does not verify, as a difference to report. packetdrill checks the
    /// IPv4 header's only (TCP's may be offloaded); tcpconf's TUN devices and in-process stacks
    /// have no offload, so it checks TCP's too (MUST-2: the sender always fills it in).
    bad_checksum: Option<&'static str>,
}

/// How exactly a real-time wait must end at its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    /// An event is due: sleep, then spin the last [`SPIN_WINDOW`].
    Exact,
    /// A poll: sleep only.
    Loose,
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
    /// Where shell commands start (see [`super::RunOptions::shell_dir`]).
    pub(super) shell_dir: Option<std::path::PathBuf>,
    /// What delayed the engine since the current event became current.
    delays: Delays,
    /// Bounds on event storms and waits that let no time pass.
    guard: guard::Guard,
    /// Trace the state of the connection under test before every event that starts at a fixed
    /// time (see [`super::run_tracing_states`]).
    pub(super) trace_states: bool,
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
            shell_dir: None,
            delays: Delays::default(),
            guard: guard::Guard::default(),
            trace_states: false,
        }
    }

    fn real_time(&self) -> bool {
        self.caps.time == TimeModel::Real
    }

    /// Records in the trace whether the run got real-time scheduling.
    pub fn note_priority(&mut self, raised: bool) {
        self.note(if raised {
            "running under SCHED_RR, as packetdrill does".into()
        } else {
            "no real-time scheduling (needs CAP_SYS_NICE and two CPUs): a loaded machine may cause timing failures".into()
        });
    }

    fn note(&mut self, text: String) {
        self.trace
            .push(self.now, self.line, TraceKind::Note { text });
    }

    // ---- time ------------------------------------------------------------------------------

    /// Lets time pass towards `until`, returning at the first thing that happens. Returns whether
    /// `until` was reached with nothing happening. Fails if a blocked call passes its deadline.
    fn step(&mut self, until: Duration) -> Result<bool, Stop> {
        self.step_to(until, Precision::Exact)
    }

    /// [`Runner::step`] for polling, where waking up a little late costs nothing: in real time it
    /// sleeps to `until` without spinning the last stretch. Polls come back to back (a measurement
    /// asks for the state every 1 ms at first); spinning them would keep other runs' threads off
    /// the CPU.
    fn poll_step(&mut self, until: Duration) -> Result<bool, Stop> {
        self.step_to(until, Precision::Loose)
    }

    fn step_to(&mut self, until: Duration, precision: Precision) -> Result<bool, Stop> {
        let until = until.max(self.now);
        let target = match &self.blocked {
            Some(b) if b.deadline < until => b.deadline.max(self.now),
            _ => until,
        };
        let reached = self.wait_once(target, precision)?;
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
    fn wait_once(&mut self, until: Duration, precision: Precision) -> Result<bool, Stop> {
        let loc = self.current_location();
        let ask = if self.real_time() && precision == Precision::Exact {
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
                self.now = match precision {
                    Precision::Exact => self.clock.sleep_until(until + self.offset),
                    Precision::Loose => self.clock.sleep_until_roughly(until + self.offset),
                } - self.offset;
                self.delays.woke(until, self.now);
            } else {
                self.now = self.now.max(until);
            }
            return Ok(true);
        }
        let (n, handling) = (events.len(), self.clock.now());
        for e in events {
            self.on_stack_event(e)?;
        }
        if self.real_time() {
            self.delays
                .handled(n, self.clock.now().saturating_sub(handling));
            self.catch_up();
        }
        self.guard
            .after_wait(n, self.now, !self.real_time())
            .map_err(|m| Stop::error(self.current_location(), m))?;
        Ok(false)
    }

    /// Real time: brings `now` up to the clock after a step of the engine's own (an injection, a
    /// syscall, a state query, a shell command), so that the next relative time counts from when
    /// the step really ended — packetdrill reads the clock after every event
    /// (`run.c: adjust_relative_event_times`) — and traced times are when things happened.
    /// Virtual time stands still while the engine works.
    fn catch_up(&mut self) {
        if self.real_time() {
            self.now = self.now.max(self.clock.now().saturating_sub(self.offset));
        }
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
                let decoded = wire::decode_full(&out.packet);
                let bad_checksum = match &decoded {
                    Ok(d) if d.checksums.ip == Some(false) => {
                        Some("ip_checksum: bad outbound IP checksum")
                    }
                    Ok(d) if !d.checksums.transport => {
                        Some("tcp_checksum: bad outbound TCP checksum (MUST-2)")
                    }
                    _ => None,
                };
                let packet = decoded.map(|d| d.packet);
                let text = match &packet {
                    Ok(p) => notation::packet_text(p),
                    Err(e) => format!("undecodable packet of {} bytes ({e})", out.packet.len()),
                };
                // A malformed packet is the stack's doing and named as such, rather than left
                // for a `>` line to time out on. Valid IP of another protocol is only traced.
                let malformed = match &packet {
                    Ok(_) | Err(wire::WireError::Protocol(_) | wire::WireError::Fragment) => None,
                    Err(e) => Some(malformed_packet(e, &out.packet, out.at)),
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
                if let Some(message) = malformed {
                    return Err(Stop::fail(self.current_location(), message));
                }
                self.pending.push_back(Sent {
                    at: out.at,
                    segment,
                    bad_checksum,
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
        self.delays = Delays::default();
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
        let outbound =
            matches!(&ev.action, Action::Packet(p) if p.direction.node == Direction::Outbound);
        if self.trace_states && !outbound && matches!(resolved.due, Due::At(_)) {
            // Time reaches the event first, so the answer is the state after all that happened
            // since the previous one.
            self.advance_to(resolved.due.start())?;
            self.trace_state();
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
                self.await_assertion(&loc, cond, resolved.due.start())?;
                self.check_start(&loc, &resolved, tolerance, "state assertion")?;
                self.assert_state(&loc, cond)?;
                self.now
            }
            Action::Measure(m) => {
                self.advance_to(resolved.due.start())?;
                self.measure(&loc, m)?
            }
            Action::Restart => {
                self.advance_to(resolved.due.start())?;
                self.restart(&loc)?;
                self.now
            }
        };
        self.prev = Some(Previous {
            scripted: resolved.due.start(),
            completed,
            inbound_packet: inbound,
            absolute: timing::is_absolute(&ev.time.spec),
            line: Some(loc.line),
        });
        Ok(())
    }

    /// Checks the start of an event the engine executes itself. Real time can make it late, and
    /// that is the harness's failure, not the stack's: a call that blocks is judged at the call
    /// itself, so what remains is the engine's own scheduling (architecture rule 3: an `error`).
    fn check_start(
        &self,
        loc: &Location,
        r: &Resolved,
        tolerance: Duration,
        what: &str,
    ) -> Result<(), Stop> {
        // The first event starts the run and is not checked (packetdrill's `wait_for_event`).
        let Some(prev) = self.prev else {
            return Ok(());
        };
        timing::check(r.due, self.now, tolerance, what).map_err(|m| {
            let why = self
                .delays
                .explain(r.due.start(), prev.line, prev.completed);
            Stop::error(
                Some(loc.clone()),
                format!("{HARNESS_LATE}: {m}; {why} (this says nothing about the stack)"),
            )
        })
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

/// The failure message for a packet the stack sent that does not decode: what is wrong, when,
/// and its first bytes in hex.
fn malformed_packet(e: &wire::WireError, bytes: &[u8], at: Duration) -> String {
    const SHOWN: usize = 48;
    let hex: String = bytes
        .iter()
        .take(SHOWN)
        .map(|b| format!("{b:02x}"))
        .collect();
    let more = if bytes.len() > SHOWN { "…" } else { "" };
    format!(
        "the stack sent a malformed packet at {} sec ({e}): {} bytes: {hex}{more}",
        fmt_secs(at),
        bytes.len()
    )
}
