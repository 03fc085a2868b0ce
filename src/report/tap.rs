//! `--format tap`: TAP version 13 as the kernel's kselftests print it (`ok N name # SKIP reason`).

use std::io;

use super::{Counts, display_path};
use crate::engine::{RunResult, Verdict};
use crate::suite::Outcome;

/// Writes `outcomes` as TAP.
pub fn write_tap(outcomes: &[Outcome], out: &mut dyn io::Write) -> io::Result<()> {
    let results: Vec<&RunResult> = outcomes.iter().map(|o| &o.result).collect();
    writeln!(out, "TAP version 13")?;
    writeln!(out, "1..{}", results.len())?;
    for (i, r) in results.iter().enumerate() {
        let n = i + 1;
        let path = display_path(r);
        match &r.verdict {
            Verdict::Pass => writeln!(out, "ok {n} {path}")?,
            Verdict::Skip { reason, .. } => {
                writeln!(out, "ok {n} {path} # SKIP {}", one_line(reason))?
            }
            Verdict::Fail(f) => {
                writeln!(out, "not ok {n} {path}")?;
                let line = f
                    .location
                    .as_ref()
                    .map_or(String::new(), |l| format!("{}: ", l.line));
                writeln!(out, "# {line}{}", one_line(&f.message))?;
                for d in &f.differences {
                    writeln!(out, "#   differs: {}", one_line(d))?;
                }
            }
            Verdict::Error { message, .. } => {
                writeln!(out, "not ok {n} {path} # error")?;
                writeln!(out, "# {}", one_line(message))?;
            }
        }
    }
    let c = Counts::of(results);
    writeln!(
        out,
        "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:{}",
        c.passed, c.failed, c.skipped, c.errors
    )
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kselftest_style_lines() {
        let mut out = Vec::new();
        write_tap(&super::super::sample::outcomes(), &mut out).unwrap();
        let tap = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = tap.lines().collect();
        assert_eq!(lines[0], "TAP version 13");
        assert_eq!(lines[1], "1..4");
        assert_eq!(lines[2], "ok 1 a/pass.pkt");
        assert_eq!(lines[3], "not ok 2 b/fail.pkt");
        assert!(
            tap.contains("ok 3 c/skip.pkt # SKIP needs --allow-shell"),
            "{tap}"
        );
        assert!(tap.contains("not ok 4 d/error.pkt # error"), "{tap}");
        assert!(
            tap.ends_with("# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:1\n"),
            "{tap}"
        );
    }
}
