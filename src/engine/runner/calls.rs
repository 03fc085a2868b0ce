//! Syscall lines: evaluating, performing (possibly blocking) and checking them.

use super::*;

impl Runner<'_> {
    pub(super) fn syscall(
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
        self.catch_up();
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
    pub(super) fn finish_call(
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
}

fn non_wildcard(ip: IpAddr, fallback: IpAddr) -> IpAddr {
    if ip.is_unspecified() { fallback } else { ip }
}

fn expected_call_text(eval: &Evaluated) -> String {
    match (eval.result, &eval.errno) {
        (None, _) => "...".into(),
        (Some(r), Some(e)) => format!("{r} {e:?}"),
        (Some(r), None) => r.to_string(),
    }
}
