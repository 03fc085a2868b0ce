//! `--format junit`: JUnit XML (via quick-junit), one test case per script, classname = stack.

use std::io;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::display_path;
use crate::engine::{RunResult, Verdict};
use crate::suite::Outcome;

fn at(path: &str, line: Option<usize>) -> String {
    line.map_or_else(|| path.to_string(), |l| format!("{path}:{l}"))
}

fn case(r: &RunResult) -> TestCase {
    let path = display_path(r);
    let status = match &r.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail(f) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!(
                "{}: {}",
                at(&path, f.location.as_ref().map(|l| l.line)),
                f.message
            ));
            let mut body = Vec::new();
            if let Some(l) = &f.location {
                body.push(format!("script: {}", l.source.trim()));
            }
            body.extend(f.expected.iter().map(|e| format!("expected: {e}")));
            body.extend(f.actual.iter().map(|a| format!("actual: {a}")));
            body.extend(f.differences.iter().map(|d| format!("differs: {d}")));
            body.extend(f.notes.iter().map(|n| format!("note: {n}")));
            s.set_description(body.join("\n"));
            s
        }
        Verdict::Skip { reason, location } => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!(
                "{}: {reason}",
                at(&path, location.as_ref().map(|l| l.line))
            ));
            s
        }
        Verdict::Error { message, location } => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(format!(
                "{}: {message}",
                at(&path, location.as_ref().map(|l| l.line))
            ));
            s
        }
    };
    let mut c = TestCase::new(path, status);
    if let Some(stack) = &r.stack {
        c.set_classname(stack.name.clone());
    }
    c.set_time(r.wall_time);
    c
}

/// Writes `outcomes` as one JUnit report with one suite.
pub fn write_junit(outcomes: &[Outcome], out: &mut dyn io::Write) -> io::Result<()> {
    let mut suite = TestSuite::new("tcpconf");
    suite.add_test_cases(outcomes.iter().map(|o| case(&o.result)));
    suite.set_time(outcomes.iter().map(|o| o.result.wall_time).sum());
    let mut report = Report::new("tcpconf");
    report.add_test_suite(suite);
    report.serialize(&mut *out).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_map_to_junit_elements() {
        let mut out = Vec::new();
        write_junit(&super::super::sample::outcomes(), &mut out).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(xml.contains("tests=\"4\""), "{xml}");
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("errors=\"1\""), "{xml}");
        assert!(xml.contains("skipped=\"1\""), "{xml}");
        assert!(
            xml.contains("b/fail.pkt:6: outbound packet does not match"),
            "{xml}"
        );
        assert!(xml.contains("no CAP_NET_ADMIN &lt;&amp;&gt;"), "{xml}");
    }
}
