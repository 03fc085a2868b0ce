//! The default output: one line per script, details for what did not pass, a summary.

use std::io;

use super::{Counts, display_path};
use crate::clock::fmt_secs;
use crate::engine::{RunResult, Verdict};

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

/// Writes one result (what `tcpconf run` prints as each script finishes).
pub fn write_result(r: &RunResult, opts: &HumanOptions, out: &mut dyn io::Write) -> io::Result<()> {
    let path = display_path(r);
    let stack = r.stack.as_ref().map(|s| s.name.as_str()).unwrap_or("-");
    let (tag, code) = match &r.verdict {
        Verdict::Pass => ("PASS ", "32"),
        Verdict::Fail(_) => ("FAIL ", "31;1"),
        Verdict::Skip { .. } => ("SKIP ", "33"),
        Verdict::Error { .. } => ("ERROR", "35;1"),
    };
    writeln!(
        out,
        "{} {path} [{stack}, {:.3} s]",
        paint(opts.color, code, tag),
        r.wall_time.as_secs_f64()
    )?;
    let at = |line: Option<usize>| {
        line.map(|l| format!("{path}:{l}: "))
            .unwrap_or_else(|| format!("{path}: "))
    };
    match &r.verdict {
        Verdict::Pass => {}
        Verdict::Fail(f) => {
            writeln!(
                out,
                "  {}{}",
                at(f.location.as_ref().map(|l| l.line)),
                f.message
            )?;
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
            writeln!(out, "  {}{reason}", at(location.as_ref().map(|l| l.line)))?;
        }
        Verdict::Error { message, location } => {
            writeln!(out, "  {}{message}", at(location.as_ref().map(|l| l.line)))?;
        }
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

/// Writes every result, then the summary line.
pub fn write_human(
    results: &[RunResult],
    opts: &HumanOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    for r in results {
        write_result(r, opts, out)?;
    }
    write_summary(results, out)
}

/// The closing line: `3 passed, 1 failed, 0 skipped, 0 errors`.
pub fn write_summary(results: &[RunResult], out: &mut dyn io::Write) -> io::Result<()> {
    let wall: std::time::Duration = results.iter().map(|r| r.wall_time).sum();
    writeln!(
        out,
        "{} (script time {} s)",
        Counts::of(results),
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
        write_human(&super::super::sample::results(), &opts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("PASS  a/pass.pkt"), "{text}");
        assert!(
            text.contains("  b/fail.pkt:6: outbound packet does not match"),
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
            text.contains("  c/skip.pkt:2: needs --allow-shell"),
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
