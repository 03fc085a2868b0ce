//! The program side of the `exec:` protocol: serves any in-process [`Stack`] over stdin/stdout,
//! so wrapping a stack for tcpconf takes one call (see `examples/exec_smoltcp.rs`).

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use super::monotonic_now_ns;
use super::protocol::{
    EventJson, OutcomeJson, PROTOCOL_VERSION, ProtocolError, Request, Response, from_hex, to_hex,
};
use crate::clock::RealClock;
use crate::stack::{NetConfig, Stack, StackError, StackEvent, Syscall, SyscallProgress};

/// Why serving stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("I/O error on the protocol stream: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode a response: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Answers requests from `input` on `output` until `teardown` or end of input. Bad requests are
/// answered with an `adapter` error and serving goes on.
pub fn serve<S: Stack + ?Sized>(
    stack: &mut S,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<(), ServeError> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (response, last) = match serde_json::from_str::<Request>(&line) {
            Ok(request) => {
                let last = matches!(request, Request::Teardown);
                (answer(stack, request), last)
            }
            Err(e) => (
                Response::error(&StackError::Adapter(format!("malformed request: {e}"))),
                false,
            ),
        };
        serde_json::to_writer(&mut output, &response)?;
        output.write_all(b"\n")?;
        output.flush()?;
        if last {
            break;
        }
    }
    Ok(())
}

fn answer<S: Stack + ?Sized>(stack: &mut S, request: Request) -> Response {
    match handle(stack, request) {
        Ok(response) => response,
        Err(e) => Response::error(&e),
    }
}

fn protocol_error(e: ProtocolError) -> StackError {
    StackError::Adapter(format!("malformed request: {e}"))
}

fn micros(t: u64) -> Duration {
    Duration::from_micros(t)
}

fn as_micros(t: Duration) -> u64 {
    u64::try_from(t.as_micros()).unwrap_or(u64::MAX)
}

fn handle<S: Stack + ?Sized>(stack: &mut S, request: Request) -> Result<Response, StackError> {
    Ok(match request {
        Request::Hello { protocol } => {
            if protocol != PROTOCOL_VERSION {
                return Err(StackError::Adapter(format!(
                    "protocol version {protocol} requested, this program speaks {PROTOCOL_VERSION}"
                )));
            }
            let info = stack.info();
            Response {
                protocol: Some(PROTOCOL_VERSION),
                name: Some(info.name),
                version: Some(info.version),
                profile: Some(info.profile),
                capabilities: Some(info.capabilities),
                ..Response::ok()
            }
        }
        Request::Setup {
            local_ip,
            remote_ip,
            gateway_ip,
            prefix_len,
            mtu,
            ipv4_mapped_ipv6,
            epoch_monotonic_ns,
        } => {
            let net = NetConfig {
                local_ip,
                remote_ip,
                gateway_ip,
                prefix_len,
                mtu,
                ipv4_mapped_ipv6,
            };
            // The run's zero, moved from CLOCK_MONOTONIC onto this process's Instant.
            let age = monotonic_now_ns()?.saturating_sub(epoch_monotonic_ns);
            let epoch = Instant::now()
                .checked_sub(Duration::from_nanos(age))
                .unwrap_or_else(Instant::now);
            stack.setup(&net, RealClock::with_epoch(epoch))?;
            Response::ok()
        }
        Request::Inject { at_us, packet } => {
            let packet = from_hex(&packet).map_err(protocol_error)?;
            stack.inject(micros(at_us), &packet)?;
            Response::ok()
        }
        Request::Wait { until_us } => {
            let events = stack.wait(micros(until_us))?;
            Response {
                events: Some(events.iter().map(event_json).collect()),
                ..Response::ok()
            }
        }
        Request::Syscall { at_us, call } => {
            let call = Syscall::try_from(call).map_err(protocol_error)?;
            match stack.syscall(micros(at_us), &call)? {
                SyscallProgress::Done(outcome) => Response {
                    blocked: Some(false),
                    outcome: Some(OutcomeJson::from(&outcome)),
                    ..Response::ok()
                },
                SyscallProgress::Blocked => Response {
                    blocked: Some(true),
                    ..Response::ok()
                },
            }
        }
        Request::Connections => Response {
            connections: Some(stack.connections()?),
            ..Response::ok()
        },
        Request::Teardown => {
            stack.teardown()?;
            Response::ok()
        }
    })
}

fn event_json(event: &StackEvent) -> EventJson {
    match event {
        StackEvent::Sent(out) => EventJson::Sent {
            at_us: as_micros(out.at),
            packet: Some(to_hex(&out.packet)),
            packet_b64: None,
        },
        StackEvent::Returned { at, outcome } => EventJson::Returned {
            at_us: as_micros(*at),
            outcome: OutcomeJson::from(outcome),
        },
    }
}
