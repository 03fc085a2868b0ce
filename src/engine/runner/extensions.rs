//! Shell commands and tcpconf's extensions: state assertions and measurements.

use super::*;

impl Runner<'_> {
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
            .shell(&with_packetdrill_env(command, self.shell_dir.as_deref()))
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

    pub(super) fn shell(&mut self, loc: &Location, command: &str) -> Result<(), Stop> {
        let started = self.now;
        let status = self
            .stack
            .shell(&with_packetdrill_env(command, self.shell_dir.as_deref()))
            .map_err(|e| Stop::from_stack(e, Some(loc.clone())))?;
        self.catch_up();
        self.trace.push(
            started,
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

    /// With [`Runner::trace_states`]: traces the state of the connection under test (or notes why
    /// there is none to tell) without judging it.
    pub(super) fn trace_state(&mut self) {
        if self.conn.is_none() {
            return;
        }
        let asked = self.now;
        let loc = self.current_location().unwrap_or(Location {
            line: 0,
            column: 1,
            source: String::new(),
        });
        match self.connection_state(&loc, None) {
            Ok(state) => self.trace.push(
                asked,
                self.line,
                TraceKind::State {
                    query: "state".into(),
                    answer: state.to_string(),
                },
            ),
            Err(stop) => {
                let why = match stop.into_verdict() {
                    super::super::Verdict::Skip { reason, .. } => reason,
                    super::super::Verdict::Error { message, .. } => message,
                    super::super::Verdict::Fail(f) => f.message,
                    super::super::Verdict::Pass => String::new(),
                };
                self.note(format!("no state to trace: {why}"));
            }
        }
    }

    /// The state a condition asks about; an endpoint the stack does not know is CLOSED.
    fn query_state(&mut self, loc: &Location, cond: &StateCondition) -> Result<TcpState, Stop> {
        let asked = self.now;
        let state = self.connection_state(loc, cond.fd.as_ref().map(|fd| fd.node))?;
        // A measurement polls many times: trace only answers that change.
        if self.last_answer != Some((self.line, state)) {
            self.last_answer = Some((self.line, state));
            self.trace.push(
                asked,
                self.line,
                TraceKind::State {
                    query: condition_text(cond),
                    answer: state.to_string(),
                },
            );
        }
        Ok(state)
    }

    /// The state of the socket behind script fd `fd`, or without one of the connection under
    /// test; an endpoint the stack does not know is CLOSED.
    fn connection_state(&mut self, loc: &Location, fd: Option<i64>) -> Result<TcpState, Stop> {
        let ask = |runner: &mut Self, of: Endpoint| {
            let state = runner
                .stack
                .state(&of)
                .map_err(|e| Stop::from_stack(e, Some(loc.clone())));
            runner.catch_up();
            state
        };
        let found = match fd {
            Some(fd) => {
                let live = self.fds.get(&fd).copied().ok_or_else(|| {
                    Stop::error(
                        Some(loc.clone()),
                        format!("script fd {fd} was never opened"),
                    )
                })?;
                ask(self, Endpoint::Fd(live))?
            }
            None => {
                let Some(conn) = &self.conn else {
                    return Err(Stop::error(
                        Some(loc.clone()),
                        "no connection under test to ask about",
                    ));
                };
                let (local, remote, listening) = (
                    conn.local_addr(),
                    conn.remote_addr(),
                    conn.phase == Phase::Listening,
                );
                let hit = match local {
                    Some(local) => ask(self, Endpoint::Tuple { local, remote })?,
                    None => None,
                };
                match (hit, local) {
                    (None, Some(local)) if listening => ask(self, Endpoint::Listener { local })?,
                    (None, _) if !self.caps.fdless_states => {
                        return Err(Stop::skip(
                            Some(loc.clone()),
                            "the stack cannot report connections without an fd, so CLOSED cannot be told from unreported",
                        ));
                    }
                    (hit, _) => hit,
                }
            }
        };
        Ok(found.unwrap_or(TcpState::Closed))
    }

    fn condition_holds(
        &mut self,
        loc: &Location,
        cond: &StateCondition,
    ) -> Result<(bool, TcpState), Stop> {
        let want = wanted_state(loc, cond)?;
        let got = self.query_state(loc, cond)?;
        Ok((holds(cond.op, want, got), got))
    }

    /// Waits until an assertion is due. In real time a long wait asks for the state on the way:
    /// once the answer at the due time is certain (see [`settled`]) and it is a failure, the line
    /// fails at once instead of sleeping out a verdict that is already decided — a 240 s TIME-WAIT
    /// assertion on a stack whose TIME-WAIT ends at 60 s.
    pub(super) fn await_assertion(
        &mut self,
        loc: &Location,
        cond: &StateCondition,
        due: Duration,
    ) -> Result<(), Stop> {
        if !self.real_time() || due.saturating_sub(self.now) < EARLY_DECISION_WAIT {
            return self.advance_to(due);
        }
        let want = wanted_state(loc, cond)?;
        let start = self.now;
        while self.now < due {
            let got = self.query_state(loc, cond)?;
            if settled(cond.op, want, got) == Some(false) {
                return Err(Stop::failure(
                    Failure::new(
                        Some(loc.clone()),
                        format!(
                            "state assertion failed: expected {} at {} sec, but the connection is \
                             {got} at {} sec, and without a segment or a call a connection can \
                             only move towards CLOSED: decided without waiting for the line's time",
                            condition_text(cond),
                            fmt_secs(due),
                            fmt_secs(self.now)
                        ),
                    )
                    .with_expected_actual(condition_text(cond), format!("state == {got}")),
                ));
            }
            self.poll_step((self.now + poll_interval(self.now - start)).min(due))?;
        }
        Ok(())
    }

    pub(super) fn assert_state(
        &mut self,
        loc: &Location,
        cond: &StateCondition,
    ) -> Result<(), Stop> {
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

    /// Runs a `restart` line: the stack forgets everything; so do the script's fds, which name
    /// sockets that no longer exist (the script opens new ones, numbered afresh).
    pub(super) fn restart(&mut self, loc: &Location) -> Result<(), Stop> {
        self.stack
            .restart(self.now + self.offset)
            .map_err(|e| Stop::from_stack(e, Some(loc.clone())))?;
        self.fds.clear();
        self.note("the stack restarted and lost its memory".into());
        Ok(())
    }

    /// Runs a `measure` line; returns when the condition held (the script continues from there).
    pub(super) fn measure(&mut self, loc: &Location, m: &Measure) -> Result<Duration, Stop> {
        let start = self.now;
        let within = u64::try_from(m.within_micros.node)
            .map(Duration::from_micros)
            .map_err(|_| Stop::error(Some(loc.clone()), "negative measurement limit"))?;
        let limit = start + within;
        let held_at = match &m.until {
            MeasureUntil::State(cond) => loop {
                let (held, got) = self.condition_holds(loc, cond)?;
                if held {
                    break self.now;
                }
                if self.now >= limit {
                    return Err(self.measure_timeout(loc, m, within));
                }
                if settled(cond.op, wanted_state(loc, cond)?, got) == Some(false) {
                    return Err(Stop::fail(
                        Some(loc.clone()),
                        format!(
                            "measurement {}: condition {} can no longer hold: the connection is \
                             {got} at {} sec, and without a segment or a call it can only move \
                             towards CLOSED",
                            m.name.node,
                            condition_text(cond),
                            fmt_secs(self.now)
                        ),
                    ));
                }
                self.poll_step((self.now + poll_interval(self.now - start)).min(limit))?;
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
}

/// Waits shorter than this go by without asking for the state on the way.
const EARLY_DECISION_WAIT: Duration = Duration::from_secs(1);

/// How long to wait between two state queries, `elapsed` into a wait: 1 ms at first (the kernel's
/// timers tick every 4 ms at HZ=250) and coarser later, a relative precision of ~0.1 % that keeps a
/// 240 s TIME-WAIT to a few thousand queries. Virtual time is unaffected: its waits end at the
/// stack's timer deadlines, where states change.
fn poll_interval(elapsed: Duration) -> Duration {
    (elapsed / 1024).clamp(Duration::from_millis(1), Duration::from_millis(100))
}

fn wanted_state(loc: &Location, cond: &StateCondition) -> Result<TcpState, Stop> {
    cond.tcp_state().ok_or_else(|| {
        Stop::error(
            Some(loc.clone()),
            format!("unknown TCP state `{}`", cond.state.node),
        )
    })
}

fn holds(op: CmpOp, want: TcpState, got: TcpState) -> bool {
    match op {
        CmpOp::Eq => got == want,
        CmpOp::Ne => got != want,
    }
}

/// What a condition `state <op> want` will answer later, if the connection's state `now` already decides it while no
/// segment arrives and no call is made (which is all the engine does while it waits for a line).
///
/// Without input a connection leaves its state only towards CLOSED — by its own timers: TIME-WAIT
/// ending, retransmissions or keep-alive giving up, a SYN-RECEIVED that times out — and a CLOSED
/// one stays CLOSED (RFC 9293 §3.10.8: the timeouts are the only events besides segments and
/// calls). So from `now` only `now` and CLOSED can be reached: if both give the same answer, that
/// is the answer.
fn settled(op: CmpOp, want: TcpState, now: TcpState) -> Option<bool> {
    let (stay, close) = (holds(op, want, now), holds(op, want, TcpState::Closed));
    (stay == close).then_some(stay)
}

/// A script command as packetdrill runs it: with `PACKETDRILL_PID` exported (its own pid, the
/// shell's parent; `set_sysctls.py` names its restore file after it and cleanup commands use
/// `${PPID}`), in `dir` if given.
fn with_packetdrill_env(command: &str, dir: Option<&std::path::Path>) -> String {
    let cd = dir.map_or(String::new(), |d| {
        // Single-quoted for sh: a quote inside becomes '\''.
        format!(
            "cd '{}' || exit 1\n",
            d.display().to_string().replace('\'', "'\\''")
        )
    });
    format!(
        "{cd}export PACKETDRILL_PID={}\n{command}",
        std::process::id()
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use TcpState::*;

    #[test]
    fn only_closed_is_reachable_without_input() {
        // TIME-WAIT can still end: `== CLOSED` is open, `== TIME_WAIT` too.
        assert_eq!(settled(CmpOp::Eq, Closed, TimeWait), None);
        assert_eq!(settled(CmpOp::Eq, TimeWait, TimeWait), None);
        // Gone: nothing but CLOSED ever again.
        assert_eq!(settled(CmpOp::Eq, TimeWait, Closed), Some(false));
        assert_eq!(settled(CmpOp::Ne, TimeWait, Closed), Some(true));
        // ESTABLISHED cannot become CLOSE-WAIT without the peer's FIN.
        assert_eq!(settled(CmpOp::Eq, CloseWait, Established), Some(false));
        assert_eq!(settled(CmpOp::Ne, Closed, Established), None);
        assert_eq!(settled(CmpOp::Ne, SynSent, Established), Some(true));
    }

    #[test]
    fn polls_finely_then_coarsely() {
        assert_eq!(poll_interval(Duration::ZERO), Duration::from_millis(1));
        let ten = poll_interval(Duration::from_secs(10));
        assert_eq!(ten, Duration::from_nanos(9_765_625));
        assert_eq!(
            poll_interval(Duration::from_secs(600)),
            Duration::from_millis(100)
        );
    }
}
