//! How strongly the RFCs ask for what each deviation breaks, so a reader sees at a glance how
//! conformant a stack is and where it breaks a MUST.
//!
//! A deviation is a cell whose script failed on the stack — listed in its expectations or not.
//! It counts under the strongest RFC 9293 requirement id (Appendix B) that its expectation's RFC
//! reference names, or, when that names none, the script's `rfc:` metadata: MUST, SHOULD
//! (`SHLD-n`, and `REC-1`), MAY. Without an id it counts as RFC 9293 text without an id when it
//! cites RFC 9293 or RFC 793 (the event-processing rules of §3.10 are normative prose that
//! Appendix B does not number), and as other RFCs when it cites only others (RFC 5961's
//! mitigations, RFC 6298's timer, RFC 7323, SACK, ECN …). The level is the id's prefix; Appendix B
//! puts a few ids in another column (MAY-5, MAY-10, MAY-11 under SHOULD; SHLD-25 under MUST).

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Cell, Column, Report, Status};

/// A deviation's requirement level, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Must,
    Should,
    May,
    /// Cites RFC 9293 (or RFC 793) text that has no requirement id.
    Unnumbered,
    /// Cites only RFCs other than RFC 9293.
    OtherRfc,
    /// Names no RFC at all.
    Unclassified,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::Must,
        Level::Should,
        Level::May,
        Level::Unnumbered,
        Level::OtherRfc,
        Level::Unclassified,
    ];

    /// The column heading.
    pub fn name(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
            Level::Unnumbered => "RFC 9293 text, no id",
            Level::OtherRfc => "other RFCs only",
            Level::Unclassified => "no RFC named",
        }
    }
}

/// What one reference text names: requirement ids (`MUST-13`) and RFC numbers.
#[derive(Debug, Default, PartialEq, Eq)]
struct Named {
    ids: BTreeSet<(Level, u32)>,
    rfcs: BTreeSet<u32>,
}

fn named<'a>(texts: impl IntoIterator<Item = &'a str>) -> Named {
    let mut n = Named::default();
    for text in texts {
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || ",;()[]".contains(c))
            .filter(|w| !w.is_empty())
            .collect();
        for (i, word) in words.iter().enumerate() {
            for (prefix, level) in [
                ("MUST-", Level::Must),
                ("SHLD-", Level::Should),
                ("REC-", Level::Should),
                ("MAY-", Level::May),
            ] {
                if let Some(number) = word.strip_prefix(prefix).and_then(|d| d.parse().ok()) {
                    n.ids.insert((level, number));
                }
            }
            if *word == "RFC"
                && let Some(number) = words.get(i + 1).and_then(|w| w.parse().ok())
            {
                n.rfcs.insert(number);
            }
        }
    }
    n
}

impl Named {
    fn level(&self) -> Option<Level> {
        if let Some(&(level, _)) = self.ids.iter().next() {
            return Some(level);
        }
        if self.rfcs.iter().any(|r| matches!(r, 9293 | 793)) {
            return Some(Level::Unnumbered);
        }
        (!self.rfcs.is_empty()).then_some(Level::OtherRfc)
    }
}

/// The references that classify a deviation: the expectation's, else the script's metadata.
fn classify(cell: &Cell, script_rfc: &[String]) -> (Level, BTreeSet<(Level, u32)>) {
    let from_expectation = named(cell.expected_rfc.as_deref());
    let chosen = match from_expectation.level() {
        Some(_) => from_expectation,
        None => named(script_rfc.iter().map(String::as_str)),
    };
    (chosen.level().unwrap_or(Level::Unclassified), chosen.ids)
}

/// Whether `cell` is a deviation: its script failed on the stack.
fn is_deviation(cell: &Cell) -> bool {
    cell.verdict == "fail" && matches!(cell.status, Status::Deviation | Status::Fail)
}

/// One stack's deviations by level, and the MUST ids their references name, with the failing scripts.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Levels {
    pub counts: BTreeMap<Level, usize>,
    pub musts: BTreeMap<u32, Vec<String>>,
}

/// The deviations of `column` over `report`'s scripts.
pub fn of(report: &Report, column: &Column) -> Levels {
    let mut levels = Levels::default();
    for script in &report.scripts {
        let Some(cell) = column.cells.get(&script.id).filter(|c| is_deviation(c)) else {
            continue;
        };
        let (level, ids) = classify(cell, &script.rfc);
        *levels.counts.entry(level).or_insert(0) += 1;
        for (_, number) in ids.iter().filter(|(l, _)| *l == Level::Must) {
            levels
                .musts
                .entry(*number)
                .or_default()
                .push(script.id.clone());
        }
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_id_decides() {
        let n = named(["SHLD-7, MUST-58, RFC 9293 §3.7.4"]);
        assert_eq!(n.level(), Some(Level::Must));
        assert_eq!(named(["MAY-12, RFC 5961 §5"]).level(), Some(Level::May));
        assert_eq!(named(["REC-1"]).level(), Some(Level::Should));
    }

    #[test]
    fn without_an_id_the_rfc_decides() {
        let text = "RFC 9293 §3.10.7.4 (first, check sequence number)";
        assert_eq!(named([text]).level(), Some(Level::Unnumbered));
        assert_eq!(named(["RFC 6298 §5.5"]).level(), Some(Level::OtherRfc));
        assert_eq!(named(["Linux behaviour"]).level(), None);
        assert_eq!(named(["MUST-x"]).level(), None);
    }

    #[test]
    fn the_script_metadata_classifies_what_the_expectation_does_not() {
        let mut cell = Cell {
            status: Status::Deviation,
            verdict: "fail".into(),
            expected: crate::suite::Expected::Fail,
            expected_reason: None,
            expected_rfc: Some("see the trace".into()),
            line: None,
            source: None,
            message: None,
            wanted: None,
            actual: None,
            differences: Vec::new(),
            measurements: Vec::new(),
            attempts: 1,
        };
        let script = ["MUST-13".to_string(), "RFC 9293 §3.6.1".to_string()];
        let (level, ids) = classify(&cell, &script);
        assert_eq!(level, Level::Must);
        assert!(ids.contains(&(Level::Must, 13)));
        cell.expected_rfc = Some("RFC 5961 §3.2".into());
        assert_eq!(classify(&cell, &script).0, Level::OtherRfc);
        assert!(is_deviation(&cell));
        cell.verdict = "skip".into();
        assert!(!is_deviation(&cell));
    }
}
