//! Shrinking a divergent case while its signature holds: first fewer events (each one dropped in
//! turn), then a simpler way into the same state (an earlier prefix of the table), then simpler
//! values of the same class for each event — each step kept only if the case still diverges with
//! the same signature. Greedy, like delta debugging's one-minimal reduction; bounded by a budget
//! of case runs.

use super::build::vars_along;
use super::model::Case;
use super::prefix::Prefix;

/// Shrinks `case`: `holds` runs a candidate and says whether it keeps the signature; `usable`
/// says whether a prefix may be used. Returns the smallest case found within `budget` runs.
pub fn shrink(
    mut case: Case,
    prefixes: &[Prefix],
    usable: impl Fn(usize) -> bool,
    mut holds: impl FnMut(&Case) -> bool,
    budget: usize,
) -> Case {
    let mut runs = 0usize;
    let mut attempt = |candidate: &Case, runs: &mut usize| -> bool {
        if *runs >= budget {
            return false;
        }
        *runs += 1;
        holds(candidate)
    };
    // Fewer events.
    let mut i = 0;
    while i < case.events.len() && case.events.len() > 1 {
        let mut candidate = case.clone();
        candidate.events.remove(i);
        if attempt(&candidate, &mut runs) {
            case = candidate;
            i = 0;
        } else {
            i += 1;
        }
    }
    // A simpler way into the same state.
    let state = prefixes.get(case.prefix).map(|p| p.state);
    for p in 0..case.prefix {
        if prefixes.get(p).map(|q| q.state) == state && usable(p) {
            let candidate = Case {
                prefix: p,
                ..case.clone()
            };
            if attempt(&candidate, &mut runs) {
                case = candidate;
                break;
            }
        }
    }
    // Simpler values, event by event, simplest candidate first.
    let mut k = 0;
    while k < case.events.len() {
        let Some(prefix) = prefixes.get(case.prefix) else {
            break;
        };
        let vars = vars_along(prefix, &case);
        let simpler = match (case.events.get(k), vars.get(k)) {
            (Some(e), Some(v)) => e.simpler(v),
            _ => Vec::new(),
        };
        let mut changed = false;
        for e in simpler {
            let mut candidate = case.clone();
            if let Some(slot) = candidate.events.get_mut(k) {
                *slot = e;
            }
            if attempt(&candidate, &mut runs) {
                case = candidate;
                changed = true;
                break;
            }
        }
        if !changed {
            k += 1;
        }
    }
    case
}

#[cfg(test)]
mod tests {
    use super::super::model::{Ack, Call, Event, Flags, Len, Opts, SegmentEvent, Seq, Win};
    use super::*;

    #[test]
    fn shrinking_keeps_what_the_predicate_needs_and_drops_the_rest() {
        let prefixes = super::super::prefix::all().expect("prefixes");
        let est = prefixes
            .iter()
            .position(|p| p.name == "established-unread")
            .expect("prefix");
        let rst = |seq, len| {
            Event::Segment(SegmentEvent {
                flags: Flags::Rst,
                seq,
                ack: Ack::Far,
                len,
                win: Win::Tiny,
                opts: Opts::Unassigned,
            })
        };
        let case = Case {
            prefix: est,
            events: vec![
                Event::Call(Call::Read),
                rst(Seq::WinLast, Len::Mss),
                Event::Wait(10),
            ],
        };
        // "Diverges" whenever an in-window RST is among the events.
        let holds = |c: &Case| {
            c.events.iter().any(|e| {
                matches!(e, Event::Segment(s) if s.flags == Flags::Rst
                    && matches!(s.seq, Seq::NxtPlus1 | Seq::WinLast))
            })
        };
        let small = shrink(case, &prefixes, |_| true, holds, 1000);
        let established = prefixes
            .iter()
            .position(|p| p.name == "established")
            .expect("prefix");
        assert_eq!(
            small.prefix, established,
            "the simplest way into ESTABLISHED"
        );
        assert_eq!(small.events.len(), 1);
        // Every value is the simplest of its class.
        assert_eq!(
            small.events[0],
            Event::Segment(SegmentEvent {
                flags: Flags::Rst,
                seq: Seq::NxtPlus1,
                ack: Ack::Nxt,
                len: Len::One,
                win: Win::Large,
                opts: Opts::None,
            })
        );
    }
}
