//! A class as a regression script: the shrunk case's lines, with one stack's reactions written in
//! as `>` lines, its call results as results and its states as assertions, so that the script
//! passes on the stacks of that side and fails on the others. The script is then run on every
//! stack of the class (parsed from its text, as `tcpconf run` would) to check exactly that.
//!
//! Reaction lines get a time range from the previous line to the end of the event's window, so
//! that a delayed ACK matches wherever in the window it comes; the strict end checks that nothing
//! else was sent. The stacks were observed up to the last line only, so the script sets the strict
//! end's quiet period to 0.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::engine::{self, RunOptions, Verdict};
use crate::script::ast::{
    Action, CmpOp, Direction, Expr, ExprKind, Metadata, OptionSpec, PatternKind, Script,
    ScriptOption, Span, StateCondition, TcpOption, TcpOptionKind, TcpState, Time, TimeSpec,
};
use crate::wire::{self, TcpFlags};

use super::build::{self, SETTLE, spanned};
use super::model::Event;
use super::normalize::SeqNorm;
use super::observe::{CallResult, Observation, Sent, Window};
use super::{Class, Explorer, rfc};

/// What one stack did with a class's script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub stack: String,
    /// Whether the script should pass on it (it is on the script's side).
    pub should_pass: bool,
    /// The verdict, in one line.
    pub verdict: String,
    /// The verdict is what the side says, and a failure is at or after the divergent event.
    pub ok: bool,
}

/// A class's script.
#[derive(Debug, Clone, Serialize)]
pub struct Emitted {
    /// `007-established-r-seq-in-window.pkt`.
    pub file_name: String,
    #[serde(skip)]
    pub text: String,
    /// The stack whose reactions the script holds.
    pub written_from: String,
    /// The index of that stack's side in the class's sides.
    pub side: usize,
    /// The script line of the event the stacks disagree on.
    pub event_line: usize,
    pub checks: Vec<Check>,
}

impl Emitted {
    /// Every stack did what its side says.
    pub fn verified(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

fn rel(d: Duration) -> Time {
    Time {
        relative: true,
        micros: i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
    }
}

fn assert_state(state: TcpState) -> Action {
    Action::Assert(StateCondition {
        fd: None,
        op: CmpOp::Eq,
        state: spanned(state.script_name().to_string()),
        span: Span::default(),
    })
}

/// A `>` line for a packet the stack sent: flags as sent, numbers in script space (a RST's
/// absolute 0 with nplab's `!`), the window only as zero or not, options by kind with any value.
/// `remote_isn` is the peer's ISN as the engine translates acks (not 0 once a SYN with another
/// seq started a new incarnation, `engine/conn.rs`).
fn expect_line(sent: &Sent, remote_isn: u32) -> Action {
    let mut seg = sent.segment.clone();
    if !seg.flags.contains(TcpFlags::SYN) {
        seg.ack = seg.ack.wrapping_sub(remote_isn);
    }
    let seg = &seg;
    let len = seg.payload.len() as u64;
    let (start, absolute) = match sent.norm.seq {
        SeqNorm::Zero => (0, true),
        SeqNorm::Raw(v) => (u64::from(v), true),
        SeqNorm::Rel(_) | SeqNorm::Isn => (u64::from(seg.seq), false),
    };
    let ack = if seg.flags.contains(TcpFlags::ACK) {
        Some(spanned(PatternKind::Exact(u64::from(seg.ack))))
    } else if seg.ack == 0 {
        None
    } else {
        // Without ACK the field means nothing (RFC 9293 §3.1).
        Some(spanned(PatternKind::Any))
    };
    let win = if seg.flags.contains(TcpFlags::RST) {
        // A RST's window means nothing (the comparison ignores it too).
        PatternKind::Any
    } else if seg.window == 0 {
        PatternKind::Exact(0)
    } else {
        PatternKind::Range { lo: 1, hi: 65535 }
    };
    build::tcp_line(build::TcpLine {
        direction: Direction::Outbound,
        flags: ast_flags(seg.flags),
        start,
        len,
        absolute,
        ack,
        win: spanned(win),
        options: options_pattern(&seg.options),
    })
}

fn ast_flags(f: TcpFlags) -> crate::script::ast::TcpFlags {
    crate::script::ast::TcpFlags {
        syn: f.contains(TcpFlags::SYN),
        fin: f.contains(TcpFlags::FIN),
        rst: f.contains(TcpFlags::RST),
        psh: f.contains(TcpFlags::PSH),
        ack: f.contains(TcpFlags::ACK),
        urg: f.contains(TcpFlags::URG),
        ece: f.contains(TcpFlags::ECE),
        cwr: f.contains(TcpFlags::CWR),
        ae: f.contains(TcpFlags::AE),
        ace: None,
    }
}

/// The options by kind, values open (`<{mss *, sackOK}>`); `<...>` when one has no wildcard form.
fn options_pattern(options: &[wire::TcpOption]) -> Option<OptionSpec> {
    let any = || spanned(PatternKind::Any);
    let mut list = Vec::new();
    for o in options {
        let kind = match o {
            wire::TcpOption::Nop | wire::TcpOption::Eol => continue,
            wire::TcpOption::Mss(_) => TcpOptionKind::Mss(any()),
            wire::TcpOption::WindowScale(_) => TcpOptionKind::WindowScale(any()),
            wire::TcpOption::SackPermitted => TcpOptionKind::SackPermitted,
            wire::TcpOption::Timestamp { .. } => TcpOptionKind::Timestamp {
                val: any(),
                ecr: any(),
                ecr_absolute: false,
            },
            _ => {
                return Some(OptionSpec::DontCare {
                    span: Span::default(),
                });
            }
        };
        list.push(TcpOption {
            kind,
            span: Span::default(),
        });
    }
    (!list.is_empty()).then_some(OptionSpec::Unordered {
        options: list,
        others_allowed: false,
        span: Span::default(),
    })
}

/// A call line with the result the stack returned.
fn with_result(action: Action, result: Option<&CallResult>) -> Action {
    match (action, result) {
        (Action::Syscall(mut s), Some(r)) => {
            let (ret, errno) = match r {
                CallResult::Returned(v) => (*v, None),
                CallResult::Failed(e) => (-1, Some(spanned(e.clone()))),
            };
            s.result = Expr {
                kind: ExprKind::Int(ret),
                span: Span::default(),
            };
            s.errno = errno;
            Action::Syscall(s)
        }
        (a, _) => a,
    }
}

/// The script of `class`, with one stack's windows (`windows`, after a prefix that ended in
/// `start`) as the reactions.
fn script_of(
    explorer: &Explorer,
    class: &Class,
    windows: &[Window],
    start: TcpState,
) -> Option<(Script, Vec<Option<String>>, usize)> {
    let prefix = explorer.prefixes.get(class.case.prefix)?;
    let usage = explorer.prefix_use.get(class.case.prefix)?;
    let vars = build::vars_along(prefix, &class.case);
    let mut lines = prefix.events.clone();
    let mut notes: Vec<Option<String>> = vec![None; lines.len()];
    let mut event_line = 0;
    let mut done = windows.first()?.start;
    let mut state = start;
    let mut remote_isn = 0u32;
    for (k, (event, w)) in class.case.events.iter().zip(windows).enumerate() {
        let gap = if k == 0 {
            SETTLE
        } else {
            w.start.saturating_sub(done)
        };
        let mut time = build::after(gap);
        if k > 0 && !matches!(event, Event::Wait(_)) {
            lines.push(build::line(time, assert_state(state)));
            notes.push(None);
            time = build::after(Duration::ZERO);
        }
        if k == class.divergence.event {
            event_line = lines.len() + 1;
        }
        let actions = match event {
            Event::Wait(secs) => {
                notes.push(Some(format!("then {secs} s pass")));
                vec![assert_state(state)]
            }
            e => {
                let v = vars.get(k)?;
                let acts = build::event_actions(e, v, &usage.windows, prefix.fd);
                let last = acts.len().saturating_sub(1);
                notes.push(None);
                notes.extend(std::iter::repeat_n(None, last));
                acts.into_iter()
                    .enumerate()
                    .map(|(i, a)| {
                        if i == last {
                            with_result(a, w.result.as_ref())
                        } else {
                            a
                        }
                    })
                    .collect()
            }
        };
        for (i, a) in actions.into_iter().enumerate() {
            let t = if i == 0 {
                time
            } else {
                build::after(Duration::ZERO)
            };
            lines.push(build::line(t, a));
        }
        if let Some(n) = notes.get_mut(event_line.saturating_sub(1))
            && k == class.divergence.event
            && n.is_none()
        {
            *n = Some("the event the stacks disagree on".into());
        }
        done = w.start;
        // A SYN the stack answers with a SYN of its own starts a new incarnation: the engine then
        // counts the peer's numbers from that SYN's seq.
        if let Event::Segment(s) = event
            && s.flags.syn()
            && !s.flags.ack()
            && w.sent
                .iter()
                .any(|p| p.segment.flags.contains(TcpFlags::SYN))
        {
            remote_isn = build::segment_seq(s, vars.get(k)?, &usage.windows);
        }
        for sent in &w.sent {
            let hi = w.end.saturating_sub(done);
            let spec = if hi.is_zero() {
                TimeSpec::At(rel(Duration::ZERO))
            } else {
                TimeSpec::Range {
                    lo: rel(Duration::ZERO),
                    hi: rel(hi),
                }
            };
            lines.push(build::line(spec, expect_line(sent, remote_isn)));
            notes.push(None);
            done = sent.at;
        }
        state = w.state.unwrap_or(state);
    }
    let end = windows.last()?.end;
    lines.push(build::line(
        build::after(end.saturating_sub(done)),
        assert_state(state),
    ));
    notes.push(None);
    let mut script = build::assemble(lines);
    script.metadata = metadata(class);
    script.options = vec![ScriptOption {
        name: spanned("quiet_usecs".into()),
        value: Some(spanned("0".into())),
        span: Span::default(),
    }];
    Some((script, notes, event_line))
}

fn metadata(class: &Class) -> Vec<Metadata> {
    let sig = &class.signature;
    let step = rfc::step(sig.state, &sig.event);
    let area = class.area();
    let sides: Vec<String> = class
        .divergence
        .sides
        .iter()
        .map(|s| s.stacks.join("+"))
        .collect();
    let entry = |k: &str, v: String| Metadata {
        key: spanned(k.into()),
        value: spanned(v),
        span: Span::default(),
    };
    vec![
        entry(
            "title",
            format!(
                "{}: {}: {} react differently",
                sig.state,
                sig.event.text(),
                sides.join(" vs ")
            ),
        ),
        entry("area", area.name().into()),
        entry("rfc", step.section),
        entry("profile", "rfc9293".into()),
    ]
}

/// The comment block after the metadata: where the case comes from and what each stack did.
fn header(explorer: &Explorer, class: &Class, writer: &str, side: usize) -> Vec<String> {
    let sig = &class.signature;
    let step = rfc::step(sig.state, &sig.event);
    let mut out = vec!["//".to_string()];
    if let Some(p) = explorer.prefixes.get(class.case.prefix) {
        let v = p.vars;
        out.push(format!("// State: {}, reached by {}.", p.state, p.how));
        out.push(format!(
            "// Here SND.UNA = {}, SND.NXT = {} and RCV.NXT = {} (relative sequence numbers).",
            v.snd_una, v.snd_nxt, v.rcv_nxt
        ));
    }
    out.push(format!(
        "// Found by tcpconf explore (seed {}, case {}; {} event(s) before shrinking).",
        explorer.settings.seed,
        class.found_at,
        class.found_by.events.len()
    ));
    out.push(format!("// The event: {}.", sig.event.text()));
    let step_name = step.step.map_or(String::new(), |s| format!(" ({s})"));
    out.push(format!("// {}{step_name}:", step.section));
    out.extend(
        wrap(&format!("\"{}\"", step.says), 96)
            .into_iter()
            .map(|l| format!("//   {l}")),
    );
    out.push("// What each stack did:".into());
    for (i, s) in class.divergence.sides.iter().enumerate() {
        let mark = if i == side { " (this script)" } else { "" };
        out.push(format!("//   {}{mark}: {}", s.stacks.join(", "), s.kind));
    }
    out.push(format!(
        "// The `>` lines and results are {writer}'s; the stacks were observed up to the last line, \
         hence --quiet_usecs=0."
    ));
    out
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let Some(last) = lines.last_mut() else { break };
        if !last.is_empty() && last.len() + word.len() + 1 > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// The script's text: the printer's output with the header block after the metadata and notes
/// after their lines. Returns the text and the divergent event's line in it.
fn render(
    script: &Script,
    header: &[String],
    notes: &[Option<String>],
    event_line: usize,
) -> (String, usize) {
    let printed = crate::script::print(script);
    let meta = script.metadata.len();
    let opts = script.options.len();
    let mut out = String::new();
    let mut line_of_event = 0;
    for (i, line) in printed.lines().enumerate() {
        if i == meta {
            for h in header {
                out.push_str(h);
                out.push('\n');
            }
        }
        let body = i.checked_sub(meta + opts);
        out.push_str(line);
        if let Some(Some(note)) = body.and_then(|b| notes.get(b)) {
            out.push_str(&format!("    // {note}"));
        }
        out.push('\n');
        if body.is_some_and(|b| b + 1 == event_line) {
            line_of_event = out.lines().count();
        }
    }
    (out, line_of_event)
}

/// A slug for file names: `established-r-seq-in-window`.
fn slug(class: &Class) -> String {
    let text = format!(
        "{}-{}",
        class.signature.state.script_name(),
        class.signature.event.text()
    );
    let mut s = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if c == '.' {
            s.push_str("ack");
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    s.truncate(60);
    s.trim_matches('-').to_string()
}

/// Writes `class`'s script from the side with the reference stack (else the largest), trying
/// each stack of that side as the writer until the script verifies.
pub fn emit(explorer: &mut Explorer, class: &Class) -> Option<Emitted> {
    let sides = &class.divergence.sides;
    let side = sides
        .iter()
        .position(|s| s.stacks.iter().any(|n| n == "reference"))
        .or_else(|| {
            (0..sides.len()).max_by_key(|&i| (sides[i].stacks.len(), std::cmp::Reverse(i)))
        })?;
    let mut best: Option<Emitted> = None;
    for writer in &sides.get(side)?.stacks {
        let Some((_, Observation::Ran { start, windows })) =
            class.observations.iter().find(|(n, _)| n == writer)
        else {
            continue;
        };
        let start = (*start)?;
        let (script, notes, event_line) = script_of(explorer, class, windows, start)?;
        let head = header(explorer, class, writer, side);
        let (text, line) = render(&script, &head, &notes, event_line);
        let checks = verify(explorer, class, side, &text, line);
        let e = Emitted {
            file_name: format!("{:03}-{}.pkt", class.id, slug(class)),
            text,
            written_from: writer.clone(),
            side,
            event_line: line,
            checks,
        };
        let score = |e: &Emitted| e.checks.iter().filter(|c| c.ok).count();
        if best.as_ref().is_none_or(|b| score(&e) > score(b)) {
            let done = e.verified();
            best = Some(e);
            if done {
                break;
            }
        }
    }
    best
}

/// Runs the script's text on every stack of the class.
fn verify(
    explorer: &mut Explorer,
    class: &Class,
    side: usize,
    text: &str,
    event_line: usize,
) -> Vec<Check> {
    let path = Path::new("explore.pkt");
    let mut checks = Vec::new();
    for (i, s) in class.divergence.sides.iter().enumerate() {
        for name in &s.stacks {
            let Some(stack) = explorer.stack_mut(name) else {
                continue;
            };
            let result = engine::run_source(path, text, stack, &RunOptions::default());
            let should_pass = i == side;
            let ok = match &result.verdict {
                Verdict::Pass => should_pass,
                Verdict::Fail(f) => {
                    !should_pass && f.location.as_ref().is_none_or(|l| l.line >= event_line)
                }
                _ => false,
            };
            checks.push(Check {
                stack: name.clone(),
                should_pass,
                verdict: super::verdict_text(&result.verdict),
                ok,
            });
        }
    }
    checks
}
