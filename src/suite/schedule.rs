//! The order scripts start in: longest first.
//!
//! On a real-time stack a script takes about as long as its scripted time (a TIME-WAIT
//! measurement sleeps for a minute), so a column finishes soonest when the long scripts start
//! first and the short ones fill the gaps. The estimate is read from the script itself — the time
//! of its last event plus the limits of its `measure … within S` lines, the longest a measurement
//! may wait — so it needs no earlier run and is the same on every machine. Ties keep id order.

use std::time::Duration;

use crate::script::ast::{Action, Script, TimeSpec};

/// How long `script` runs at most by its own times (a real-time run takes about this long).
pub fn scripted_duration(script: &Script) -> Duration {
    let mut now: i64 = 0;
    let mut waits: i64 = 0;
    for event in script.all_events() {
        let at = |t: crate::script::ast::Time| {
            if t.relative {
                now.saturating_add(t.micros)
            } else {
                t.micros
            }
        };
        let end = match event.time.spec {
            TimeSpec::At(t) => at(t),
            TimeSpec::Range { hi, .. } => at(hi),
            TimeSpec::Any => now,
            TimeSpec::Blocking { start, end_micros } => at(crate::script::ast::Time {
                relative: start.relative,
                micros: end_micros,
            }),
        };
        now = now.max(end);
        if let Action::Measure(m) = &event.action {
            waits = waits.saturating_add(m.within_micros.node.max(0));
        }
    }
    let micros = now.max(0).saturating_add(waits);
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

/// The indices of `estimates` in start order: longest first, ties in index order.
pub fn longest_first(estimates: &[Duration]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..estimates.len()).collect();
    order.sort_by(|&a, &b| estimates.get(b).cmp(&estimates.get(a)).then(a.cmp(&b)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration(text: &str) -> Duration {
        crate::script::parse(text).map_or(Duration::MAX, |s| scripted_duration(&s))
    }

    #[test]
    fn estimates_follow_the_script_times() {
        let base = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";
        assert_eq!(duration(base), Duration::ZERO);
        assert_eq!(
            duration(&format!(
                "{base}+1.5 close(3) = 0\n+0.5 close(3) = -1 EBADF (Bad file descriptor)\n"
            )),
            Duration::from_secs(2)
        );
        assert_eq!(
            duration(&format!("{base}3 close(3) = 0\n")),
            Duration::from_secs(3),
            "absolute times"
        );
        assert_eq!(
            duration(&format!(
                "{base}+1 measure tw until state != TIME_WAIT within 600\n"
            )),
            Duration::from_secs(601),
            "a measurement may wait its whole limit"
        );
    }

    #[test]
    fn long_scripts_start_first() {
        let d = |s| Duration::from_secs(s);
        assert_eq!(longest_first(&[d(1), d(60), d(1), d(5)]), [1, 3, 0, 2]);
        assert!(longest_first(&[]).is_empty());
    }
}
