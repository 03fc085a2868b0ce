//! The default output: one line per script, details for what did not pass, a summary.

use std::io;

use super::{Counts, display_path};
use crate::clock::fmt_secs;
use crate::engine::{Location, Verdict};
use crate::suite::{Outcome, Status};

/// Options of the human format.
#[derive(Debug, Clone, Copy, Default)]
pub struct HumanOptions {
    /// `-v`: print every result's full trace.
    pub verbose: bool,
    /// ANSI colours (on a terminal).
    pub color: bool,
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The tag of a result line: the verdict, or the judged status when the run had expectations.
fn tag(o: &Outcome) -> (&'static str, &'static str) {
    if let Some(j) = &o.judged {
        return match j.status {
            Status::Pass => ("PASS ", "32"),
            Status::Deviation => ("DEVIATION", "36"),
            Status::Skip => ("SKIP ", "33"),
            Status::Fail => ("FAIL ", "31;1"),
            Status::Fixed => ("FIXED", "31;1"),
            Status::Error => ("ERROR", "35;1"),
        };
    }
    match &o.result.verdict {
        Verdict::Pass => ("PASS ", "32"),
        Verdict::Fail(_) => ("FAIL ", "31;1"),
        Verdict::Skip { .. } => ("SKIP ", "33"),
        Verdict::Error { .. } => ("ERROR", "35;1"),
    }
}

/// Writes one outcome (what `tcpconf run` prints as each script finishes).
pub fn write_result(o: &Outcome, opts: &HumanOptions, out: &mut dyn io::Write) -> io::Result<()> {
    let r = &o.result;
    let path = display_path(r);
    let stack = r.stack.as_ref().map(|s| s.name.as_str()).unwrap_or("-");
    let (tag, code) = tag(o);
    let attempts = if o.attempts > 1 {
        format!(", {} attempts", o.attempts)
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} {path} [{stack}, {:.3} s{attempts}]",
        paint(opts.color, code, tag),
        r.wall_time.as_secs_f64()
    )?;
    let at = |loc: Option<&Location>| match loc {
        Some(l) => format!("{path}:{}:{}: ", l.line, l.column),
        None => format!("{path}: "),
    };
    match &r.verdict {
        Verdict::Pass => {}
        Verdict::Fail(f) => {
            writeln!(out, "  {}{}", at(f.location.as_ref()), f.message)?;
            if let Some(l) = &f.location {
                writeln!(out, "    script: {}", l.source.trim())?;
            }
            if let Some(e) = &f.expected {
                writeln!(out, "    expected: {e}")?;
            }
            if let Some(a) = &f.actual {
                writeln!(out, "    actual: {a}")?;
            }
            for d in &f.differences {
                writeln!(out, "    {} {d}", paint(opts.color, "31", "differs:"))?;
            }
            for n in &f.notes {
                writeln!(out, "    note: {n}")?;
            }
        }
        Verdict::Skip { reason, location } => {
            writeln!(out, "  {}{reason}", at(location.as_ref()))?;
        }
        Verdict::Error { message, location } => {
            writeln!(out, "  {}{message}", at(location.as_ref()))?;
            if let Some(l) = location {
                let color = opts.color.then_some("\x1b[1;31m");
                for line in
                    crate::script::diag::snippet(l.line, &l.source, l.column, 1, color).lines()
                {
                    writeln!(out, "    {line}")?;
                }
            }
        }
    }
    if let Some(j) = &o.judged
        && j.expectation.verdict != crate::suite::Expected::Pass
        && j.status != Status::Skip
    {
        let why = j.expectation.reason.as_deref().unwrap_or("");
        writeln!(out, "  expected {}: {why}", j.expectation.verdict.name())?;
    }
    for m in &r.measurements {
        writeln!(
            out,
            "  measured {} = {:.6} s ({path}:{})",
            m.name, m.value_secs, m.line
        )?;
    }
    if opts.verbose {
        for e in r.trace.entries() {
            writeln!(out, "    {}", e.render())?;
        }
    }
    Ok(())
}

/// Writes every outcome, then the summary line.
pub fn write_human(
    outcomes: &[Outcome],
    opts: &HumanOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    for o in outcomes {
        write_result(o, opts, out)?;
    }
    write_summary(outcomes, out)
}

/// The closing lines: the cells when judged (`cells: 196 pass, 58 deviation, …`), the scripts
/// that needed a retry, and `3 passed, 1 failed, 0 skipped, 0 errors` last.
pub fn write_summary(outcomes: &[Outcome], out: &mut dyn io::Write) -> io::Result<()> {
    if outcomes.iter().any(|o| o.judged.is_some()) {
        let counts: Vec<String> = Status::ALL
            .iter()
            .map(|s| {
                let n = outcomes
                    .iter()
                    .filter(|o| o.judged.as_ref().is_some_and(|j| j.status == *s))
                    .count();
                format!("{n} {}", s.name())
            })
            .collect();
        writeln!(out, "cells: {}", counts.join(", "))?;
    }
    let retried = outcomes.iter().filter(|o| o.attempts > 1).count();
    if retried > 0 {
        writeln!(out, "{retried} script(s) needed a retry")?;
    }
    let wall: std::time::Duration = outcomes.iter().map(|o| o.result.wall_time).sum();
    writeln!(
        out,
        "{} (script time {} s)",
        Counts::of(outcomes.iter().map(|o| &o.result)),
        fmt_secs(wall)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_show_line_source_actual_and_fields() {
        let mut out = Vec::new();
        let opts = HumanOptions {
            verbose: true,
            color: false,
        };
        write_human(&super::super::sample::outcomes(), &opts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("PASS  a/pass.pkt"), "{text}");
        assert!(
            text.contains("  b/fail.pkt:6:1: outbound packet does not match"),
            "{text}"
        );
        assert!(
            text.contains("    script: +0 > S. 0:0(0) ack 1 win 257"),
            "{text}"
        );
        assert!(
            text.contains("    differs: tcp_window: expected 257 vs actual 65535"),
            "{text}"
        );
        assert!(text.contains("SKIP  c/skip.pkt"), "{text}");
        assert!(
            text.contains("  c/skip.pkt:2:1: needs --allow-shell"),
            "{text}"
        );
        assert!(text.contains("ERROR d/error.pkt"), "{text}");
        assert!(
            text.contains("measured time_wait = 60.000000 s (a/pass.pkt:9)"),
            "{text}"
        );
        assert!(
            text.contains("0.100000    L6 observed 192.168.0.1:8080"),
            "{text}"
        );
        assert!(
            text.contains("1 passed, 1 failed, 1 skipped, 1 errors"),
            "{text}"
        );
    }
}
