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
        let status = self
            .stack
            .shell(&with_packetdrill_env(command, self.shell_dir.as_deref()))
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

    /// With [`Runner::trace_states`]: traces the state of the connection under test (or notes why
    /// there is none to tell) without judging it.
    pub(super) fn trace_state(&mut self) {
        if self.conn.is_none() {
            return;
        }
        let loc = self.current_location().unwrap_or(Location {
            line: 0,
            column: 1,
            source: String::new(),
        });
        match self.connection_state(&loc, None) {
            Ok(state) => self.trace.push(
                self.now,
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

    /// The state a condition asks about, or `None` if the stack cannot tell.
    fn query_state(&mut self, loc: &Location, cond: &StateCondition) -> Result<TcpState, Stop> {
        let state = self.connection_state(loc, cond.fd.as_ref().map(|fd| fd.node))?;
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

    /// The state of the socket behind script fd `fd`, or without one of the connection under test.
    fn connection_state(&mut self, loc: &Location, fd: Option<i64>) -> Result<TcpState, Stop> {
        let conns = self
            .stack
            .connections()
            .map_err(|e| Stop::from_stack(e, Some(loc.clone())))?;
        let found = match fd {
            Some(fd) => {
                let live = self.fds.get(&fd).copied().ok_or_else(|| {
                    Stop::error(
                        Some(loc.clone()),
                        format!("script fd {fd} was never opened"),
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
        Ok(found.unwrap_or(TcpState::Closed))
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
        let got = self.query_state(loc, cond)?;
        let holds = match cond.op {
            CmpOp::Eq => got == want,
            CmpOp::Ne => got != want,
        };
        Ok((holds, got))
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

    /// Runs a `measure` line; returns when the condition held (the script continues from there).
    pub(super) fn measure(&mut self, loc: &Location, m: &Measure) -> Result<Duration, Stop> {
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
