//! The summary of an exploration, as JSON and as markdown: the stacks, the prefixes that could not
//! be used where, and per class its signature, the RFC rule, what each stack did, the script and
//! whether running it showed the divergence, the known deviations it resembles and, with an
//! oracle, what the oracle stack did. Nothing in it depends on the machine or the clock, so one
//! seed and one case count give one summary.

use serde::Serialize;

use super::emit::{Check, Emitted};
use super::known::Located;
use super::model::{Event, Vars, Windows};
use super::rfc::{self, Step};
use super::{Class, Explorer, build};

/// What an oracle stack did with a class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OracleResult {
    pub stack: String,
    /// Its reaction at the divergent event (symbolic), or why there is none.
    pub reaction: String,
    /// The sides (their stacks) it reacted like; empty if like none.
    pub agrees_with: Vec<String>,
    /// The verdict of the class's script on it.
    pub script_verdict: String,
}

/// One class in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct ClassSummary {
    pub id: usize,
    pub script: String,
    pub state: String,
    pub event: String,
    /// The shrunk case's events, with their values in the RFC's terms.
    pub events: Vec<String>,
    pub prefix: String,
    pub rfc: Step,
    pub area: String,
    pub sides: Vec<SideSummary>,
    /// The stacks the script passes on (by construction).
    pub script_side: Vec<String>,
    pub written_from: String,
    /// Running the script showed the divergence on every stack.
    pub verified: bool,
    pub checks: Vec<Check>,
    /// What the reference stack did: `with the script` or `against the script`, or absent.
    pub reference: Option<String>,
    pub hits: u64,
    pub found_at: u64,
    pub events_before_shrinking: usize,
    pub known: Vec<KnownSummary>,
    pub oracle: Option<OracleResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SideSummary {
    pub stacks: Vec<String>,
    pub reaction: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KnownSummary {
    pub stack: String,
    pub script: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrefixSummary {
    pub name: String,
    pub state: String,
    pub stacks: Vec<String>,
    /// Stacks the prefix failed on, with the verdict.
    pub failures: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackSummary {
    pub name: String,
    pub version: String,
    pub profile: String,
}

/// Classes whose stacks split the same way and react the same way, whatever the state and the
/// event: one behaviour of one stack seen in many places (smoltcp sending no challenge ACK, lwIP
/// setting ACK on every RST, …).
#[derive(Debug, Clone, Serialize)]
pub struct Theme {
    /// Per side: its stacks and its reaction, the final state written `stays` when it is the state
    /// the event came in.
    pub sides: Vec<SideSummary>,
    pub classes: Vec<usize>,
    /// The states the classes start in.
    pub states: Vec<String>,
}

/// The whole summary.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub seed: u64,
    pub stacks: Vec<StackSummary>,
    pub cases: u64,
    pub divergent_cases: u64,
    pub shrink_runs: u64,
    pub prefixes: Vec<PrefixSummary>,
    pub classes: Vec<ClassSummary>,
    /// Classes that resemble a listed deviation, and those that do not.
    pub known_classes: usize,
    pub new_classes: usize,
    /// The classes by theme, largest first.
    pub themes: Vec<Theme>,
}

/// The classes grouped by how their stacks split and react.
fn themes(classes: &[ClassSummary]) -> Vec<Theme> {
    let mut themes: Vec<Theme> = Vec::new();
    for c in classes {
        let arrow = format!("-> {}", c.state);
        let sides: Vec<SideSummary> = c
            .sides
            .iter()
            .map(|s| SideSummary {
                stacks: s.stacks.clone(),
                reaction: s.reaction.replace(&arrow, "-> stays"),
            })
            .collect();
        let key = |t: &[SideSummary]| {
            t.iter()
                .map(|s| (s.stacks.clone(), s.reaction.clone()))
                .collect::<Vec<_>>()
        };
        match themes.iter_mut().find(|t| key(&t.sides) == key(&sides)) {
            Some(t) => {
                t.classes.push(c.id);
                if !t.states.contains(&c.state) {
                    t.states.push(c.state.clone());
                }
            }
            None => themes.push(Theme {
                sides,
                classes: vec![c.id],
                states: vec![c.state.clone()],
            }),
        }
    }
    // Largest first; among equals, in the order found.
    themes.sort_by_key(|t| std::cmp::Reverse(t.classes.len()));
    themes
}

/// A case's event with its values: `R. seq RCV.NXT+1 (2) ack SND.NXT (1), 0 bytes, win 65535`.
pub fn describe(e: &Event, v: &Vars, w: &Windows) -> String {
    match e {
        Event::Segment(s) => {
            let mut text = format!(
                "{} seq {} ({})",
                s.flags.text(),
                s.seq.name(),
                build::segment_seq(s, v, w)
            );
            if s.flags.ack() {
                text.push_str(&format!(" ack {} ({})", s.ack.name(), s.ack.value(v)));
            }
            text.push_str(&format!(", {} bytes, win {}", s.len.bytes(), s.win.value()));
            if s.opts != super::model::Opts::None {
                text.push_str(&format!(", options {:?}", s.opts));
            }
            text
        }
        Event::Call(super::model::Call::Write(n)) => format!("write() of {n} bytes"),
        Event::Call(c) => c.name().to_string(),
        Event::Wait(secs) => format!("{secs} s pass"),
    }
}

/// Builds the summary.
pub fn build(
    explorer: &Explorer,
    classes: &[(Class, Option<Emitted>)],
    located: &[Located],
    oracles: &[Option<OracleResult>],
    infos: Vec<StackSummary>,
) -> Summary {
    let prefixes = explorer
        .prefixes
        .iter()
        .zip(&explorer.prefix_use)
        .map(|(p, u)| PrefixSummary {
            name: p.name.into(),
            state: p.state.to_string(),
            stacks: u
                .stacks
                .iter()
                .filter_map(|&i| explorer.stack_names().get(i).cloned())
                .collect(),
            failures: u.failures.clone(),
        })
        .collect();
    let mut out = Vec::new();
    for (i, (class, emitted)) in classes.iter().enumerate() {
        let sig = &class.signature;
        let prefix = explorer.prefixes.get(class.case.prefix);
        let windows = explorer
            .prefix_use
            .get(class.case.prefix)
            .map(|u| u.windows)
            .unwrap_or(Windows { min: 0, max: 0 });
        let vars = prefix
            .map(|p| build::vars_along(p, &class.case))
            .unwrap_or_default();
        let sides = &class.divergence.sides;
        let side = emitted.as_ref().map(|e| e.side);
        let script_side = side
            .and_then(|s| sides.get(s))
            .map(|s| s.stacks.clone())
            .unwrap_or_default();
        let reference = sides
            .iter()
            .any(|s| s.stacks.iter().any(|n| n == "reference"))
            .then(|| {
                if script_side.iter().any(|n| n == "reference") {
                    "with the script".to_string()
                } else {
                    "against the script".to_string()
                }
            });
        out.push(ClassSummary {
            id: class.id,
            script: emitted
                .as_ref()
                .map(|e| e.file_name.clone())
                .unwrap_or_default(),
            state: sig.state.to_string(),
            event: sig.event.text(),
            events: class
                .case
                .events
                .iter()
                .zip(&vars)
                .map(|(e, v)| describe(e, v, &windows))
                .collect(),
            prefix: prefix.map(|p| p.name.to_string()).unwrap_or_default(),
            rfc: rfc::step(sig.state, &sig.event),
            area: class.area().name().into(),
            sides: sides
                .iter()
                .map(|s| SideSummary {
                    stacks: s.stacks.clone(),
                    reaction: s.kind.clone(),
                })
                .collect(),
            script_side,
            written_from: emitted
                .as_ref()
                .map(|e| e.written_from.clone())
                .unwrap_or_default(),
            verified: emitted.as_ref().is_some_and(Emitted::verified),
            checks: emitted
                .as_ref()
                .map(|e| e.checks.clone())
                .unwrap_or_default(),
            reference,
            hits: class.hits,
            found_at: class.found_at,
            events_before_shrinking: class.found_by.events.len(),
            known: super::known::matches(class, located)
                .into_iter()
                .map(|l| KnownSummary {
                    stack: l.stack.clone(),
                    script: l.script.clone(),
                    reason: l.reason.clone(),
                })
                .collect(),
            oracle: oracles.get(i).cloned().flatten(),
        });
    }
    let known_classes = out.iter().filter(|c| !c.known.is_empty()).count();
    Summary {
        themes: themes(&out),
        seed: explorer.settings.seed,
        stacks: infos,
        cases: explorer.stats.cases,
        divergent_cases: explorer.stats.divergent,
        shrink_runs: explorer.stats.shrink_runs,
        prefixes,
        new_classes: out.len() - known_classes,
        known_classes,
        classes: out,
    }
}

/// The summary as markdown.
pub fn markdown(s: &Summary) -> String {
    let mut md = String::new();
    let stacks: Vec<String> = s
        .stacks
        .iter()
        .map(|x| format!("{} {} ({})", x.name, x.version, x.profile))
        .collect();
    md.push_str("# tcpconf explore\n\n");
    md.push_str(&format!(
        "Seed {}; stacks: {}.\n\n{} cases, {} of them divergent, in {} classes ({} resemble a \
         deviation listed in conformance-report/expectations/, {} do not); {} case runs spent \
         shrinking.\n\n",
        s.seed,
        stacks.join(", "),
        s.cases,
        s.divergent_cases,
        s.classes.len(),
        s.known_classes,
        s.new_classes,
        s.shrink_runs
    ));
    let unusable: Vec<String> = s
        .prefixes
        .iter()
        .flat_map(|p| {
            p.failures
                .iter()
                .map(move |(stack, why)| format!("- `{}` ({}) on {stack}: {why}", p.name, p.state))
        })
        .collect();
    if !unusable.is_empty() {
        md.push_str("Prefixes a stack does not complete (its cases run on the other stacks):\n\n");
        md.push_str(&unusable.join("\n"));
        md.push_str("\n\n");
    }
    md.push_str(&format!(
        "## Themes\n\n{} themes: classes whose stacks split and react alike, in whatever state \
         and on whatever event.\n\n| classes | states | sides and reactions |\n|--:|---|---|\n",
        s.themes.len()
    ));
    for t in &s.themes {
        let sides: Vec<String> = t
            .sides
            .iter()
            .map(|x| format!("{}: {}", x.stacks.join(", "), x.reaction))
            .collect();
        let ids: Vec<String> = t.classes.iter().map(|i| format!("#{i}")).collect();
        md.push_str(&format!(
            "| {} ({}) | {} | {} |\n",
            t.classes.len(),
            ids.join(" "),
            t.states.join(", "),
            sides.join(" / ")
        ));
    }
    md.push_str("\n## Classes\n\n");
    md.push_str("| # | state | event | sides | RFC 9293 | reference | script | known |\n");
    md.push_str("|--:|---|---|---|---|---|---|---|\n");
    for c in &s.classes {
        let sides: Vec<String> = c.sides.iter().map(|x| x.stacks.join("+")).collect();
        let known = if c.known.is_empty() {
            "new".to_string()
        } else {
            c.known
                .iter()
                .map(|k| format!("{}: {}", k.stack, k.script))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | {}{} | {} | [{}]({}) {} | {} |\n",
            c.id,
            c.state,
            c.event,
            sides.join(" vs "),
            c.rfc.section.trim_start_matches("RFC 9293 "),
            c.rfc.step.map_or(String::new(), |x| format!(" ({x})")),
            c.reference.as_deref().unwrap_or("-"),
            c.script,
            format_args!("classes/{}", c.script),
            if c.verified {
                "verified"
            } else {
                "NOT verified"
            },
            known
        ));
    }
    for c in &s.classes {
        md.push_str(&format!("\n### {}. {}: {}\n\n", c.id, c.state, c.event));
        md.push_str(&format!(
            "Prefix `{}`, then: {}. Found by case {} ({} event(s), shrunk to {}); {} divergent \
             case(s) in this class.\n\n",
            c.prefix,
            c.events.join("; "),
            c.found_at,
            c.events_before_shrinking,
            c.events.len(),
            c.hits
        ));
        md.push_str(&format!(
            "{}{}: \"{}\"\n\n",
            c.rfc.section,
            c.rfc.step.map_or(String::new(), |x| format!(" ({x})")),
            c.rfc.says
        ));
        for side in &c.sides {
            let mark = if side.stacks == c.script_side {
                " (the script's side)"
            } else {
                ""
            };
            md.push_str(&format!(
                "- {}{mark}: {}\n",
                side.stacks.join(", "),
                side.reaction
            ));
        }
        if let Some(o) = &c.oracle {
            let like = if o.agrees_with.is_empty() {
                "like no side".to_string()
            } else {
                format!("like {}", o.agrees_with.join(", "))
            };
            md.push_str(&format!(
                "- oracle {}: {} ({like}); the script: {}\n",
                o.stack, o.reaction, o.script_verdict
            ));
        }
        md.push_str(&format!(
            "\nScript `classes/{}` (written from {}): ",
            c.script, c.written_from
        ));
        let checks: Vec<String> = c
            .checks
            .iter()
            .map(|k| {
                format!(
                    "{} {}{}",
                    k.stack,
                    k.verdict,
                    if k.ok { "" } else { " (unexpected)" }
                )
            })
            .collect();
        md.push_str(&checks.join("; "));
        md.push('\n');
        for k in &c.known {
            md.push_str(&format!(
                "\nResembles {} `{}`: {}\n",
                k.stack, k.script, k.reason
            ));
        }
    }
    md
}
