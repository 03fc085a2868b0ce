//! `--format json`: one document with every result (verdict, failing line, trace, measurements)
//! and the counts.

use std::io;

use super::Counts;
use crate::engine::RunResult;
use crate::suite::{Expected, Outcome, Status};

#[derive(serde::Serialize)]
struct Document<'a> {
    summary: Counts,
    results: Vec<Entry<'a>>,
}

/// One result, with the script's id, how many runs it took and, when judged, its matrix cell.
#[derive(serde::Serialize)]
struct Entry<'a> {
    id: &'a str,
    #[serde(flatten)]
    result: &'a RunResult,
    attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    cell: Option<CellJson<'a>>,
}

#[derive(serde::Serialize)]
struct CellJson<'a> {
    status: Status,
    expected: Expected,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// Writes `outcomes` as pretty-printed JSON.
pub fn write_json(outcomes: &[Outcome], out: &mut dyn io::Write) -> io::Result<()> {
    let doc = Document {
        summary: Counts::of(outcomes.iter().map(|o| &o.result)),
        results: outcomes
            .iter()
            .map(|o| Entry {
                id: &o.id,
                result: &o.result,
                attempts: o.attempts,
                cell: o.judged.as_ref().map(|j| CellJson {
                    status: j.status,
                    expected: j.expectation.verdict,
                    reason: j.expectation.reason.as_deref(),
                }),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verdict_serialises_with_its_details() {
        let mut out = Vec::new();
        write_json(&super::super::sample::outcomes(), &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["summary"]["failed"], 1);
        let r = &v["results"];
        assert_eq!(r[0]["verdict"]["verdict"], "pass");
        assert_eq!(r[0]["measurements"][0]["name"], "time_wait");
        assert_eq!(r[0]["trace"][0]["kind"], "observed");
        assert_eq!(r[0]["trace"][0]["time"], 0.1);
        assert_eq!(r[1]["verdict"]["verdict"], "fail");
        assert_eq!(r[1]["verdict"]["location"]["line"], 6);
        assert_eq!(
            r[1]["verdict"]["differences"][0],
            "tcp_window: expected 257 vs actual 65535"
        );
        assert_eq!(r[2]["verdict"]["verdict"], "skip");
        assert_eq!(r[3]["verdict"]["verdict"], "error");
    }
}
