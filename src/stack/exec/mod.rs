//! `exec:CMD`: any program that speaks tcpconf's JSON-lines protocol (`docs/external-stack.md`,
//! version [`PROTOCOL_VERSION`]) as a stack under test.
//!
//! tcpconf starts CMD, writes one JSON request per line to its stdin and reads one JSON response
//! per line from its stdout; raw IP packets travel inside the same stream, hex-encoded. Virtual
//! time programs obey `wait` and the times on requests; real-time programs stamp what they report
//! on the run's clock, shared as a CLOCK_MONOTONIC epoch. Every read has a timeout, so a hung
//! program is an [`StackError::Adapter`] naming it, never a hang; malformed lines are errors too.
//!
//! [`serve`] is the other side: it exposes any in-process [`Stack`] over the protocol, which is
//! how `examples/exec_smoltcp.rs` wraps smoltcp in a few lines.

mod child;
pub mod protocol;
mod server;

use std::time::Duration;

use self::child::Child;
pub use self::protocol::PROTOCOL_VERSION;
use self::protocol::{EventJson, Request, Response};
pub use self::server::{ServeError, serve};
use super::{
    Connection, NetConfig, Outbound, Stack, StackError, StackEvent, StackInfo, Syscall,
    SyscallOutcome, SyscallProgress, TimeModel,
};
use crate::clock::RealClock;

/// How long a program may take to answer one request (a real-time `wait` gets its own span on
/// top), unless [`ExecStack::spawn_with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a program may take to exit after `teardown` before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// CLOCK_MONOTONIC now, in nanoseconds (the clock `std::time::Instant` reads on Linux).
pub(crate) fn monotonic_now_ns() -> Result<u64, StackError> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map_err(|e| StackError::Environment(format!("clock_gettime(CLOCK_MONOTONIC): {e}")))?;
    let secs = u64::try_from(now.tv_sec()).unwrap_or(0);
    let nanos = u64::try_from(now.tv_nsec()).unwrap_or(0);
    Ok(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

/// An external program under test. See the module documentation.
pub struct ExecStack {
    child: Child,
    info: StackInfo,
    timeout: Duration,
    clock: Option<RealClock>,
}

impl ExecStack {
    /// Starts `command` (split on whitespace; no shell, no quoting) and performs the `hello`
    /// handshake, with [`DEFAULT_TIMEOUT`] per answer.
    pub fn spawn(command: &str) -> Result<Self, StackError> {
        Self::spawn_with_timeout(command, DEFAULT_TIMEOUT)
    }

    /// As [`ExecStack::spawn`], allowing the program `timeout` per answer.
    pub fn spawn_with_timeout(command: &str, timeout: Duration) -> Result<Self, StackError> {
        let argv: Vec<&str> = command.split_whitespace().collect();
        let child = Child::spawn(command, &argv)?;
        let placeholder = StackInfo {
            name: String::new(),
            version: String::new(),
            profile: String::new(),
            capabilities: super::Capabilities {
                time: TimeModel::Real,
                ipv4: false,
                ipv6: false,
                ipv4_mapped_ipv6: false,
                shell: false,
                fdless_states: false,
                accept_backlog: false,
                shut_rd: false,
                profiles: Vec::new(),
            },
        };
        let mut stack = Self {
            child,
            info: placeholder,
            timeout,
            clock: None,
        };
        let hello = stack.request(
            &Request::Hello {
                protocol: PROTOCOL_VERSION,
            },
            timeout,
        )?;
        stack.info = stack.check_hello(hello)?;
        Ok(stack)
    }

    fn check_hello(&self, hello: Response) -> Result<StackInfo, StackError> {
        let program = self.child.program();
        if hello.protocol != Some(PROTOCOL_VERSION) {
            return Err(StackError::Adapter(format!(
                "exec: {program} speaks protocol {:?}, tcpconf speaks {PROTOCOL_VERSION}",
                hello.protocol
            )));
        }
        let missing = |field: &str| {
            StackError::Adapter(format!("exec: {program}: hello answer lacks {field:?}"))
        };
        let name = hello.name.ok_or_else(|| missing("name"))?;
        let capabilities = hello.capabilities.ok_or_else(|| missing("capabilities"))?;
        // Protocol 1 has no way to select a profile per run, so a program that lists profiles
        // would have scripts judged against a behaviour it was never asked for.
        if !capabilities.profiles.is_empty() {
            return Err(StackError::Adapter(format!(
                "exec: {program}: protocol {PROTOCOL_VERSION} cannot select a profile; leave \
                 \"profiles\" out of the capabilities (the stack is judged against RFC 9293)"
            )));
        }
        Ok(StackInfo {
            // Distinct from an in-process adapter of the same stack in a results matrix.
            name: format!("exec:{name}"),
            version: hello.version.ok_or_else(|| missing("version"))?,
            profile: hello.profile.ok_or_else(|| missing("profile"))?,
            capabilities,
        })
    }

    /// Sends one request and returns the successful answer; a failed one becomes its error.
    fn request(&mut self, request: &Request, timeout: Duration) -> Result<Response, StackError> {
        let line = serde_json::to_string(request)
            .map_err(|e| StackError::Adapter(format!("exec: cannot encode {request:?}: {e}")))?;
        self.child.send(&line);
        let answer = self.child.recv(timeout)?;
        let response: Response = serde_json::from_str(&answer).map_err(|e| {
            StackError::Adapter(format!(
                "exec: {} answered with a malformed line ({e}): {:?}",
                self.child.program(),
                truncate(&answer)
            ))
        })?;
        if response.ok {
            return Ok(response);
        }
        Err(match response.error {
            Some(error) => error.into_stack_error(self.child.program()),
            None => self.malformed("\"ok\": false without an \"error\""),
        })
    }

    fn malformed(&self, what: &str) -> StackError {
        StackError::Adapter(format!("exec: {}: {what}", self.child.program()))
    }

    fn event(&self, event: EventJson, until: Duration) -> Result<StackEvent, StackError> {
        let bad = |e: protocol::ProtocolError| self.malformed(&format!("bad event: {e}"));
        let (at_us, event) = match event {
            EventJson::Sent {
                at_us,
                packet,
                packet_b64,
            } => {
                let packet = EventJson::packet_bytes(packet.as_deref(), packet_b64.as_deref())
                    .map_err(bad)?;
                let at = Duration::from_micros(at_us);
                (at_us, StackEvent::Sent(Outbound { at, packet }))
            }
            EventJson::Returned { at_us, outcome } => {
                let outcome = SyscallOutcome::try_from(outcome).map_err(bad)?;
                let at = Duration::from_micros(at_us);
                (at_us, StackEvent::Returned { at, outcome })
            }
        };
        if self.info.capabilities.time == TimeModel::Virtual && Duration::from_micros(at_us) > until
        {
            return Err(self.malformed(&format!(
                "reported an event at {at_us} µs, after the end of the wait ({} µs)",
                until.as_micros()
            )));
        }
        Ok(event)
    }
}

fn micros(t: Duration) -> u64 {
    u64::try_from(t.as_micros()).unwrap_or(u64::MAX)
}

fn truncate(line: &str) -> String {
    line.chars().take(200).collect()
}

impl Stack for ExecStack {
    fn info(&self) -> StackInfo {
        self.info.clone()
    }

    fn setup(&mut self, net: &NetConfig, clock: RealClock) -> Result<(), StackError> {
        let epoch = monotonic_now_ns()?.saturating_sub(micros(clock.now()).saturating_mul(1000));
        self.clock = Some(clock);
        self.request(&Request::setup(net, epoch), self.timeout)?;
        Ok(())
    }

    fn inject(&mut self, now: Duration, packet: &[u8]) -> Result<(), StackError> {
        let request = Request::Inject {
            at_us: micros(now),
            packet: protocol::to_hex(packet),
        };
        self.request(&request, self.timeout)?;
        Ok(())
    }

    fn wait(&mut self, until: Duration) -> Result<Vec<StackEvent>, StackError> {
        let timeout = match (self.info.capabilities.time, self.clock) {
            (TimeModel::Real, Some(clock)) => until.saturating_sub(clock.now()) + self.timeout,
            _ => self.timeout,
        };
        let response = self.request(
            &Request::Wait {
                until_us: micros(until),
            },
            timeout,
        )?;
        let events = response
            .events
            .ok_or_else(|| self.malformed("wait answer lacks \"events\""))?;
        events.into_iter().map(|e| self.event(e, until)).collect()
    }

    fn syscall(&mut self, now: Duration, call: &Syscall) -> Result<SyscallProgress, StackError> {
        let request = Request::Syscall {
            at_us: micros(now),
            call: call.into(),
        };
        let response = self.request(&request, self.timeout)?;
        match (response.blocked, response.outcome) {
            (Some(true), _) => Ok(SyscallProgress::Blocked),
            (_, Some(outcome)) => SyscallOutcome::try_from(outcome)
                .map(SyscallProgress::Done)
                .map_err(|e| self.malformed(&format!("bad syscall outcome: {e}"))),
            _ => {
                Err(self.malformed("syscall answer has neither \"blocked\": true nor \"outcome\""))
            }
        }
    }

    fn connections(&mut self) -> Result<Vec<Connection>, StackError> {
        let response = self.request(&Request::Connections, self.timeout)?;
        response
            .connections
            .ok_or_else(|| self.malformed("connections answer lacks \"connections\""))
    }

    fn teardown(&mut self) -> Result<(), StackError> {
        let answered = self.request(&Request::Teardown, self.timeout);
        self.child.finish(EXIT_GRACE);
        answered.map(drop)
    }
}
