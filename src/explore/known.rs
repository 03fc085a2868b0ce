//! Which classes may be deviations the conformance report already lists
//! (`conformance-report/expectations/<stack>.toml`).
//!
//! Each listed failure is located the way a class is described: its script runs on its stack
//! with the states traced, and the line it fails at is traced back to the event before it (the
//! last injected segment or call at or before the failing line) and the state the connection was
//! in then. A class *matches* a deviation when a stack on a side of the class other than the
//! reference stack's deviates there: same stack, same state, and an event of the same kind (the
//! control bits the RFC checks and whether it carries data, or the same call). It is a lead for a reader, not a proof: the
//! report says which deviation each class resembles.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::{self, RunOptions, TraceKind, Verdict};
use crate::script::ast::{Action, Direction, ExprKind, Item, PacketKind, Script, TcpState};
use crate::suite::{Expectations, Expected};

use super::model::{Call, Control, EventKind};
use super::{Class, Explorer};

/// A listed deviation, located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    pub stack: String,
    /// The script id (`rst/established-in-window`).
    pub script: String,
    pub reason: String,
    pub state: TcpState,
    /// The event's kind: a segment's control (`RST+ACK`, as [`Control::text`]) or a call's name
    /// (as [`Call::name`]).
    pub event: String,
    pub data: bool,
}

/// Locates every failure the expectations under `dir` list for the explorer's stacks, running
/// the scripts of `corpus` on them. Deviations that cannot be located (skips, scripts that fail
/// before any event) are left out.
pub fn locate(explorer: &mut Explorer, dir: &Path, corpus: &Path) -> Vec<Located> {
    let Ok(files) = crate::script::corpus::collect_scripts(&[corpus.to_path_buf()]) else {
        return Vec::new();
    };
    let ids: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter_map(|f| {
            let id = f.strip_prefix(corpus).ok()?.with_extension("");
            Some((id.to_string_lossy().replace('\\', "/"), f))
        })
        .collect();
    let mut out = Vec::new();
    for name in explorer.stack_names().to_vec() {
        let Ok(expectations) = Expectations::load(dir, &name) else {
            continue;
        };
        for (id, file) in &ids {
            let Some(dev) = expectations.get(id) else {
                continue;
            };
            if dev.verdict != Expected::Fail {
                continue;
            }
            let Ok(source) = std::fs::read_to_string(file) else {
                continue;
            };
            let Ok(script) = crate::script::parse(&source) else {
                continue;
            };
            let Some(stack) = explorer.stack_mut(&name) else {
                continue;
            };
            if let Some((state, event, data)) = locate_one(stack, &script) {
                out.push(Located {
                    stack: name.clone(),
                    script: id.clone(),
                    reason: dev.reason.clone(),
                    state,
                    event,
                    data,
                });
            }
        }
    }
    out
}

/// The state and event before the line `script` fails at on `stack`.
fn locate_one(
    stack: &mut dyn crate::stack::Stack,
    script: &Script,
) -> Option<(TcpState, String, bool)> {
    let result = engine::run_tracing_states(script, stack, &RunOptions::default());
    let failed = match &result.verdict {
        Verdict::Fail(f) => f.location.as_ref().map(|l| l.line),
        _ => None,
    }?;
    let events: Vec<_> = script
        .body
        .iter()
        .filter_map(|i| match i {
            Item::Event(e) => Some(e),
            Item::Ifdef(_) => None,
        })
        .collect();
    let (index, event) = events.iter().enumerate().rev().find(|(_, e)| {
        (e.span.line as usize) <= failed
            && match &e.action {
                Action::Packet(p) => p.direction.node == Direction::Inbound,
                Action::Syscall(s) => !matches!(
                    s.name.node.as_str(),
                    "setsockopt" | "getsockopt" | "fcntl" | "ioctl"
                ),
                _ => false,
            }
    })?;
    let line = event.span.line as usize;
    let state = result.trace.entries().iter().find_map(|t| match &t.kind {
        TraceKind::State { query, answer } if query == "state" && t.line == Some(line) => {
            TcpState::from_script_name(answer)
        }
        _ => None,
    })?;
    let (kind, data) = match &event.action {
        Action::Packet(p) => match &p.kind {
            PacketKind::Tcp(t) => {
                let f = &t.flags.node;
                (
                    Control::of_flags(f).text(f.ack).to_string(),
                    !t.seq.node.is_empty(),
                )
            }
            _ => return None,
        },
        Action::Syscall(s) => {
            let lingered = index > 0
                && events.get(index - 1).is_some_and(|e| {
                    matches!(&e.action, Action::Syscall(p) if p.name.node == "setsockopt"
                        && p.args.iter().any(|a| matches!(&a.kind, ExprKind::Symbol(n) if n == "SO_LINGER")))
                });
            let call = match s.name.node.as_str() {
                "read" | "recv" | "recvfrom" | "readv" | "recvmsg" => Call::Read,
                "write" | "send" | "sendto" | "writev" | "sendmsg" => Call::Write(0),
                "shutdown" => Call::ShutdownWr,
                "close" if lingered => Call::Abort,
                "close" => Call::Close,
                "accept" | "accept4" => Call::Accept,
                _ => return None,
            };
            (call.name().to_string(), false)
        }
        _ => return None,
    };
    Some((state, kind, data))
}

/// The located deviations `class` resembles.
pub fn matches<'a>(class: &Class, located: &'a [Located]) -> Vec<&'a Located> {
    let sig = &class.signature;
    let reference_side: Vec<&String> = class
        .divergence
        .sides
        .iter()
        .find(|s| s.stacks.iter().any(|n| n == "reference"))
        .map(|s| s.stacks.iter().collect())
        .unwrap_or_default();
    let (event, data) = match &sig.event {
        EventKind::Segment {
            control,
            ack_bit,
            data,
            ..
        } => (control.text(*ack_bit).to_string(), *data),
        EventKind::Call { call } => (call.clone(), false),
        EventKind::Wait { .. } => return Vec::new(),
    };
    located
        .iter()
        .filter(|l| {
            l.state == sig.state
                && l.event == event
                && l.data == data
                && !reference_side.contains(&&l.stack)
                && class
                    .divergence
                    .sides
                    .iter()
                    .any(|s| s.stacks.contains(&l.stack))
        })
        .collect()
}
