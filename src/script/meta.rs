//! The typed view of a script's `//! key: value` metadata (`docs/language.md`, "Metadata").

use std::fmt;

use super::ast::{Script, Span};
use super::diag::Diagnostic;

/// The behaviour area a script tests (the matrix groups rows by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    Handshake,
    Data,
    HalfClose,
    Close,
    SimultaneousClose,
    Rst,
    TimeWait,
    Options,
    Timers,
    Api,
}

impl Area {
    /// Every area, in matrix order.
    pub const ALL: [Area; 10] = [
        Area::Handshake,
        Area::Data,
        Area::HalfClose,
        Area::Close,
        Area::SimultaneousClose,
        Area::Rst,
        Area::TimeWait,
        Area::Options,
        Area::Timers,
        Area::Api,
    ];

    /// The name scripts use (`half-close`).
    pub fn name(self) -> &'static str {
        match self {
            Area::Handshake => "handshake",
            Area::Data => "data",
            Area::HalfClose => "half-close",
            Area::Close => "close",
            Area::SimultaneousClose => "simultaneous-close",
            Area::Rst => "rst",
            Area::TimeWait => "time-wait",
            Area::Options => "options",
            Area::Timers => "timers",
            Area::Api => "api",
        }
    }

    /// The area a script name stands for.
    pub fn from_name(name: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The behaviour profile a script expects of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The original RFC 793 behaviour.
    Rfc793,
    /// RFC 9293 with the RFC 5961 mitigations.
    Rfc9293,
}

impl Profile {
    /// The name scripts use.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Rfc793 => "rfc793",
            Profile::Rfc9293 => "rfc9293",
        }
    }
}

/// The kind of an RFC 9293 requirement id (Appendix B of RFC 9293).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequirementKind {
    Must,
    Should,
    May,
    Recommended,
}

/// A reference from a script to the text it tests.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RfcRef {
    /// `RFC 9293 §3.10.7.4` (section optional).
    Section { rfc: u32, section: Option<String> },
    /// `MUST-13`, `SHLD-3`, `MAY-2`, `REC-1`: an RFC 9293 requirement id.
    Requirement { kind: RequirementKind, number: u32 },
}

impl fmt::Display for RfcRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RfcRef::Section { rfc, section: None } => write!(f, "RFC {rfc}"),
            RfcRef::Section {
                rfc,
                section: Some(s),
            } => write!(f, "RFC {rfc} §{s}"),
            RfcRef::Requirement { kind, number } => {
                let prefix = match kind {
                    RequirementKind::Must => "MUST",
                    RequirementKind::Should => "SHLD",
                    RequirementKind::May => "MAY",
                    RequirementKind::Recommended => "REC",
                };
                write!(f, "{prefix}-{number}")
            }
        }
    }
}

impl RfcRef {
    /// Parses one reference as written after `rfc:`.
    pub fn parse(text: &str) -> Option<RfcRef> {
        let text = text.trim();
        for (prefix, kind) in [
            ("MUST-", RequirementKind::Must),
            ("SHLD-", RequirementKind::Should),
            ("MAY-", RequirementKind::May),
            ("REC-", RequirementKind::Recommended),
        ] {
            if let Some(n) = text.strip_prefix(prefix) {
                return n
                    .parse()
                    .ok()
                    .map(|number| RfcRef::Requirement { kind, number });
            }
        }
        let rest = text.strip_prefix("RFC")?.trim_start();
        let (number, section) = match rest.split_once('§') {
            Some((number, section)) => (number.trim(), Some(section.trim())),
            None => (rest, None),
        };
        let rfc = number.parse().ok()?;
        let section = match section {
            None => None,
            Some(s)
                if !s.is_empty()
                    && s.split('.')
                        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric())) =>
            {
                Some(s.to_string())
            }
            Some(_) => return None,
        };
        Some(RfcRef::Section { rfc, section })
    }
}

/// What a script's metadata says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScriptMeta {
    pub title: Option<String>,
    pub area: Option<Area>,
    pub rfc: Vec<RfcRef>,
    pub profile: Option<Profile>,
    /// `strict: on|off`; `None` means the default (on when the script has metadata).
    pub strict: Option<bool>,
    /// Whether the script has any `//!` line at all.
    pub present: bool,
}

impl ScriptMeta {
    /// Whether strict end applies: `strict:` if given, otherwise on exactly for scripts that carry
    /// metadata (the command line's `--strict` can still turn it on for others).
    pub fn strict_end(&self) -> bool {
        self.strict.unwrap_or(self.present)
    }

    /// Reads the metadata of `script`, with a diagnostic for every unknown key, bad value or
    /// repeated key (the first value wins) and for metadata after the first event.
    pub fn from_script(script: &Script) -> (ScriptMeta, Vec<Diagnostic>) {
        let mut meta = ScriptMeta {
            present: !script.metadata.is_empty(),
            ..ScriptMeta::default()
        };
        let mut diags = Vec::new();
        let first_event = script.all_events().next().map(|e| e.span.start);
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for line in &script.metadata {
            let key = line.key.node.as_str();
            let value = line.value.node.as_str();
            if first_event.is_some_and(|start| line.span.start > start) {
                diags.push(
                    Diagnostic::error(line.span, "metadata must come before the first event")
                        .with_help("move this line to the top of the script"),
                );
            }
            if key != "rfc" {
                if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                    diags.push(Diagnostic::error(
                        line.key.span,
                        format!(
                            "metadata key `{key}` is given twice (first on line {})",
                            first.line
                        ),
                    ));
                    continue;
                }
                seen.push((key, line.key.span));
            }
            let bad_value = |expected: &str| {
                Diagnostic::error(
                    line.value.span,
                    format!("expected {expected} for `{key}`, found `{value}`"),
                )
            };
            match key {
                "title" => {
                    if value.is_empty() {
                        diags.push(bad_value("a one-line title"));
                    } else {
                        meta.title = Some(value.to_string());
                    }
                }
                "area" => match Area::from_name(value) {
                    Some(area) => meta.area = Some(area),
                    None => {
                        let names: Vec<_> = Area::ALL.iter().map(|a| a.name()).collect();
                        diags.push(bad_value(&format!("one of {}", names.join(", "))));
                    }
                },
                "rfc" => {
                    for part in value.split(',') {
                        match RfcRef::parse(part) {
                            Some(r) => meta.rfc.push(r),
                            None => diags.push(
                                Diagnostic::error(
                                    line.value.span,
                                    format!("`{}` is not an RFC reference", part.trim()),
                                )
                                .with_help(
                                    "write references like `RFC 9293 §3.10.7.4` or `MUST-13`, separated by commas",
                                ),
                            ),
                        }
                    }
                }
                "profile" => match value {
                    "rfc793" => meta.profile = Some(Profile::Rfc793),
                    "rfc9293" => meta.profile = Some(Profile::Rfc9293),
                    _ => diags.push(bad_value("`rfc793` or `rfc9293`")),
                },
                "strict" => match value {
                    "on" => meta.strict = Some(true),
                    "off" => meta.strict = Some(false),
                    _ => diags.push(bad_value("`on` or `off`")),
                },
                _ => diags.push(
                    Diagnostic::error(line.key.span, format!("unknown metadata key `{key}`"))
                        .with_help("known keys: title, area, rfc, profile, strict"),
                ),
            }
        }
        (meta, diags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_references() {
        assert_eq!(
            RfcRef::parse("RFC 9293 §3.10.7.4"),
            Some(RfcRef::Section {
                rfc: 9293,
                section: Some("3.10.7.4".into())
            })
        );
        assert_eq!(
            RfcRef::parse(" MUST-13 "),
            Some(RfcRef::Requirement {
                kind: RequirementKind::Must,
                number: 13
            })
        );
        assert_eq!(
            RfcRef::parse("RFC 793"),
            Some(RfcRef::Section {
                rfc: 793,
                section: None
            })
        );
        assert_eq!(RfcRef::parse("RFC x"), None);
        assert_eq!(RfcRef::parse("RFC 9293 §"), None);
        assert_eq!(RfcRef::parse("SHOULD-1"), None);
        let shown = RfcRef::parse("RFC 5961 §3.2").map(|r| r.to_string());
        assert_eq!(shown.as_deref(), Some("RFC 5961 §3.2"));
    }

    #[test]
    fn reads_metadata() {
        let script = crate::script::parse(
            "//! title: t\n//! area: time-wait\n//! rfc: RFC 9293 §3.6, MUST-13\n//! profile: rfc793\n0 close(3) = 0\n",
        )
        .expect("parses");
        let (meta, diags) = ScriptMeta::from_script(&script);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(meta.area, Some(Area::TimeWait));
        assert_eq!(meta.rfc.len(), 2);
        assert_eq!(meta.profile, Some(Profile::Rfc793));
        assert!(meta.strict_end());
    }

    #[test]
    fn rejects_bad_metadata() {
        let script = crate::script::parse(
            "//! area: nowhere\n//! colour: red\n//! strict: maybe\n//! strict: on\n0 close(3) = 0\n",
        )
        .expect("parses");
        let (_, diags) = ScriptMeta::from_script(&script);
        assert_eq!(diags.len(), 4, "{diags:?}");
    }
}
