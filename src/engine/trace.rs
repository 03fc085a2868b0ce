//! The trace of a run: every packet injected and observed, every syscall and its result, every
//! state query, with the time it happened. `-v` prints it, `--format json` carries it and `--pcap`
//! writes its packets.

use std::time::Duration;

use serde::Serialize;

use super::result::serialize_secs;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceKind {
    /// A packet tcpconf delivered to the stack.
    Injected {
        /// The packet in packetdrill notation, with live addresses and sequence numbers.
        text: String,
        /// The raw IP packet (not in JSON: the text says it, the pcap carries the bytes).
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// A packet the stack sent.
    Observed {
        text: String,
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// A syscall was started.
    Syscall { call: String },
    /// A syscall returned (at once, or later after blocking).
    Returned { call: String, result: String },
    /// A state assertion or measurement queried the stack's connections.
    State { query: String, answer: String },
    /// A shell command ran.
    Shell { command: String, status: String },
    /// Anything else worth knowing when reading the run (skipped lines, clock notes).
    Note { text: String },
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEntry {
    /// Time since the start of the run.
    #[serde(rename = "time", serialize_with = "serialize_secs")]
    pub at: Duration,
    /// The script line being executed, when there was one.
    pub line: Option<usize>,
    #[serde(flatten)]
    pub kind: TraceKind,
}

/// Everything that happened in a run, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Trace {
    entries: Vec<TraceEntry>,
}

impl Trace {
    /// Appends an entry.
    pub fn push(&mut self, at: Duration, line: Option<usize>, kind: TraceKind) {
        self.entries.push(TraceEntry { at, line, kind });
    }

    /// The entries, in the order they happened.
    pub fn entries(&self) -> &[TraceEntry] {
        &self.entries
    }

    /// Raw packets in order, with their time and whether tcpconf injected them (`true`) or the
    /// stack sent them (`false`): what a pcap file holds.
    pub fn packets(&self) -> impl Iterator<Item = (Duration, bool, &[u8])> {
        self.entries.iter().filter_map(|e| match &e.kind {
            TraceKind::Injected { bytes, .. } => Some((e.at, true, bytes.as_slice())),
            TraceKind::Observed { bytes, .. } => Some((e.at, false, bytes.as_slice())),
            _ => None,
        })
    }
}

impl TraceEntry {
    /// One line of text: `0.100000 L12 < S 0:0(0) win 65535`.
    pub fn render(&self) -> String {
        let line = self.line.map(|l| format!("L{l}")).unwrap_or_default();
        let what = match &self.kind {
            TraceKind::Injected { text, .. } => format!("inject   {text}"),
            TraceKind::Observed { text, .. } => format!("observed {text}"),
            TraceKind::Syscall { call } => format!("syscall  {call}"),
            TraceKind::Returned { call, result } => format!("returned {call} = {result}"),
            TraceKind::State { query, answer } => format!("state    {query}: {answer}"),
            TraceKind::Shell { command, status } => format!("shell    `{command}` -> {status}"),
            TraceKind::Note { text } => format!("note     {text}"),
        };
        format!("{} {:>5} {what}", crate::clock::fmt_secs(self.at), line)
    }
}
