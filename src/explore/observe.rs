//! One case on one stack: the observation script runs through the engine, and its trace is cut
//! into one window per event — what the stack sent from the event until the next line, the call's
//! result, and the state at the window's end.

use std::time::Duration;

use serde::Serialize;

use crate::engine::{self, RunOptions, TraceKind, Verdict};
use crate::script::ast::{Script, TcpState};
use crate::stack::Stack;
use crate::wire::{Packet, Segment, TcpFlags};

use super::build::Layout;
use super::model::Event;
use super::normalize::{NormPacket, Normalizer, SeqNorm};

/// A call's outcome: the return value, or the errno's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallResult {
    Returned(i64),
    Failed(String),
}

impl CallResult {
    /// The engine's result text (`10`, `-1 EAGAIN (Resource temporarily unavailable)`).
    fn parse(text: &str) -> CallResult {
        let mut words = text.split_whitespace();
        let ret = words
            .next()
            .and_then(|w| w.parse::<i64>().ok())
            .unwrap_or(-1);
        match words.next() {
            Some(errno) if ret < 0 => CallResult::Failed(errno.to_string()),
            _ => CallResult::Returned(ret),
        }
    }

    /// As a script's result: `10`, `-1 EAGAIN`.
    pub fn text(&self) -> String {
        match self {
            CallResult::Returned(v) => v.to_string(),
            CallResult::Failed(e) => format!("-1 {e}"),
        }
    }
}

/// A packet as sent, for writing the output script: its time and its numbers in script space.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub at: Duration,
    pub segment: Segment,
    /// How the comparison saw it.
    pub norm: NormPacket,
}

/// What one event drew from one stack.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Window {
    /// When the event happened.
    pub start: Duration,
    /// When the next line came.
    pub end: Duration,
    /// The packets in the order sent, without timer-driven retransmissions; in a time jump, where
    /// they are the reaction, each distinct packet once.
    pub packets: Vec<NormPacket>,
    /// Everything sent in the window, as sent.
    pub sent: Vec<Sent>,
    /// The call's outcome (the last call of the event, for ABORT the close).
    pub result: Option<CallResult>,
    /// The state at the window's end.
    pub state: Option<TcpState>,
    /// The stack sent a SYN with an ISN not seen before (a listener's answer, a new
    /// incarnation). The observation script has no `>` line for it, so the engine does not learn
    /// the new ISN as a class's script would, and later windows are not comparable.
    pub new_syn: bool,
}

impl Window {
    /// The part the comparison looks at.
    pub fn reaction(&self) -> Reaction {
        Reaction {
            packets: self.packets.clone(),
            result: self.result.clone(),
            state: self.state,
        }
    }
}

/// The comparable part of a window.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Reaction {
    pub packets: Vec<NormPacket>,
    pub result: Option<CallResult>,
    pub state: Option<TcpState>,
}

impl Reaction {
    /// One line: `sends R. 1:1(0) ack 1; read() = -1 ECONNRESET; → CLOSED`.
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if self.packets.is_empty() {
            parts.push("sends nothing".to_string());
        } else {
            let p: Vec<String> = self.packets.iter().map(NormPacket::text).collect();
            parts.push(format!("sends {}", p.join(", ")));
        }
        if let Some(r) = &self.result {
            parts.push(format!("returns {}", r.text()));
        }
        if let Some(s) = self.state {
            parts.push(format!("-> {s}"));
        }
        parts.join("; ")
    }
}

/// A case's run on one stack.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// The prefix did not bring the stack where it should (the verdict's message).
    PrefixFailed(String),
    /// The case could not run on this stack (a skip or a harness error, with its message).
    NotRun(String),
    Ran {
        /// The state after the prefix.
        start: Option<TcpState>,
        windows: Vec<Window>,
    },
}

/// Runs `script` (the case of `events`, laid out as `layout`) on `stack` and cuts the trace into
/// windows; a time jump's window keeps the retransmissions it fired (they are its reaction).
pub fn observe(
    stack: &mut dyn Stack,
    script: &Script,
    layout: &Layout,
    events: &[Event],
) -> Observation {
    let opts = RunOptions {
        strict: Some(false),
        ..RunOptions::default()
    };
    let result = engine::run_tracing_states(script, stack, &opts);
    let failed_line = result.verdict.location().map(|l| l.line);
    match &result.verdict {
        Verdict::Pass => {}
        Verdict::Fail(f) if failed_line.is_none_or(|l| l <= layout.prefix_lines) => {
            return Observation::PrefixFailed(f.message.clone());
        }
        Verdict::Fail(f) => return Observation::NotRun(f.message.clone()),
        Verdict::Skip { reason, .. } => return Observation::NotRun(reason.clone()),
        Verdict::Error { message, .. } => {
            return if failed_line.is_some_and(|l| l <= layout.prefix_lines) {
                Observation::PrefixFailed(message.clone())
            } else {
                Observation::NotRun(message.clone())
            };
        }
    }
    cut(&result.trace, layout, events)
}

fn cut(trace: &engine::Trace, layout: &Layout, events: &[Event]) -> Observation {
    let mut windows: Vec<Window> = vec![Window::default(); layout.events.len()];
    let mut start = None;
    let mut current: Option<usize> = None;
    let mut norm = Normalizer::default();
    let first_lines: Vec<usize> = layout.events.iter().map(|e| e.0).collect();
    for entry in trace.entries() {
        let line = entry.line.unwrap_or(0);
        match &entry.kind {
            TraceKind::State { query, answer } if query == "state" => {
                let state = TcpState::from_script_name(answer);
                let ends = if line == layout.probe {
                    windows.len().checked_sub(1)
                } else if let Some(k) = first_lines.iter().position(|l| *l == line) {
                    if k == 0 {
                        start = state;
                    }
                    k.checked_sub(1)
                } else {
                    continue;
                };
                if let Some(w) = ends.and_then(|k| windows.get_mut(k)) {
                    w.state = state;
                    w.end = entry.at;
                }
                current = None;
            }
            TraceKind::Injected { .. } | TraceKind::Syscall { .. } => {
                if let Some(k) = first_lines.iter().position(|l| *l == line) {
                    current = Some(k);
                    if let Some(w) = windows.get_mut(k) {
                        w.start = entry.at;
                    }
                }
            }
            TraceKind::Returned { result, .. } => {
                // A time jump's line is a probe whose result means nothing.
                if let Some(k) = layout.events.iter().position(|e| e.1 == line)
                    && matches!(events.get(k), Some(Event::Call(_)))
                    && let Some(w) = windows.get_mut(k)
                {
                    w.result = Some(CallResult::parse(result));
                }
            }
            TraceKind::Observed { bytes, .. } => {
                let Ok(Packet::Tcp(seg)) = crate::wire::decode(bytes) else {
                    continue;
                };
                let new_syn = seg.flags.contains(TcpFlags::SYN) && norm.isn() != Some(seg.seq);
                let (packet, resend) = norm.push(&seg);
                let Some(k) = current else { continue };
                let Some(w) = windows.get_mut(k) else {
                    continue;
                };
                w.new_syn |= new_syn;
                let in_jump = matches!(events.get(k), Some(Event::Wait(_)));
                let timer_resend = resend && entry.at > w.start && !in_jump;
                let script_seg = to_script(&seg, norm.isn(), &packet);
                w.sent.push(Sent {
                    at: entry.at,
                    segment: script_seg,
                    norm: packet.clone(),
                });
                // In a time jump how often a timer fired is the stack's choice of timeout and
                // backoff (RFC 6298): what it sent counts, not how often.
                let repeat = in_jump && w.packets.contains(&packet);
                if !timer_resend && !repeat {
                    w.packets.push(packet);
                }
            }
            _ => {}
        }
    }
    Observation::Ran { start, windows }
}

/// A segment in script space: seq relative to the stack's ISN (a SYN's is 0), ack as sent.
fn to_script(seg: &Segment, isn: Option<u32>, norm: &NormPacket) -> Segment {
    let mut s = seg.clone();
    s.seq = match norm.seq {
        SeqNorm::Rel(v) => v,
        SeqNorm::Isn => 0,
        SeqNorm::Zero => 0,
        SeqNorm::Raw(v) => v.wrapping_sub(isn.unwrap_or(0)),
    };
    if !s.flags.contains(TcpFlags::ACK) {
        s.ack = seg.ack;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_results_read_back_from_the_trace_text() {
        assert_eq!(CallResult::parse("10"), CallResult::Returned(10));
        assert_eq!(
            CallResult::parse("-1 EAGAIN (Resource temporarily unavailable)"),
            CallResult::Failed("EAGAIN".into())
        );
        assert_eq!(CallResult::Failed("EPIPE".into()).text(), "-1 EPIPE");
    }
}
