//! What made the engine late, so that a late event names its cause instead of blaming "the
//! machine".
//!
//! On a real-time stack the engine reads the clock after each of its own steps (see
//! [`Runner::catch_up`]), and relative times count from there, so its own work never makes the
//! next event late by itself. What can still make an event late is recorded here, per event:
//! a wait that woke up after the time it asked for (the operating system gave the CPU to something
//! else), time spent handling what the stack reported meanwhile, and a previous event that finished
//! after this one was due (in a run of inbound packets, which stays anchored to script time).

use std::time::Duration;

use crate::clock::fmt_secs;

/// Delays observed since the current event became current.
#[derive(Debug, Default, Clone)]
pub(super) struct Delays {
    /// The worst wake-up: the time a wait asked to return at, and when it did.
    overslept: Option<(Duration, Duration)>,
    /// Packets and returns the stack reported while waiting, and the time spent handling them.
    handled: usize,
    handling: Duration,
}

/// A wake-up this much after its target is worth naming (the engine spins the last 100 µs).
const NOTABLE: Duration = Duration::from_micros(200);

impl Delays {
    /// A wait asked to return at `asked` and returned at `woke`.
    pub(super) fn woke(&mut self, asked: Duration, woke: Duration) {
        let late = woke.saturating_sub(asked);
        let worst = self
            .overslept
            .map_or(Duration::ZERO, |(a, w)| w.saturating_sub(a));
        if late >= NOTABLE && late > worst {
            self.overslept = Some((asked, woke));
        }
    }

    /// Handling `n` stack events took `took`.
    pub(super) fn handled(&mut self, n: usize, took: Duration) {
        self.handled += n;
        self.handling += took;
    }

    /// Why an event due at `due` started at `started`, when the previous event (at `prev_line`)
    /// completed at `prev_completed`.
    pub(super) fn explain(
        &self,
        due: Duration,
        prev_line: Option<usize>,
        prev_completed: Duration,
    ) -> String {
        let mut causes = Vec::new();
        if prev_completed > due {
            let line =
                prev_line.map_or(String::from("the previous event"), |l| format!("line {l}"));
            causes.push(format!(
                "{line} finished at {} sec, {} sec after this event was due",
                fmt_secs(prev_completed),
                fmt_secs(prev_completed - due)
            ));
        }
        if let Some((asked, woke)) = self.overslept {
            causes.push(format!(
                "a wait that asked to wake up at {} sec returned at {} sec: the operating system gave \
                 the CPU to something else for {} sec",
                fmt_secs(asked),
                fmt_secs(woke),
                fmt_secs(woke - asked)
            ));
        }
        if self.handling >= NOTABLE {
            causes.push(format!(
                "handling {} packet(s) and return(s) of the stack took {} sec",
                self.handled,
                fmt_secs(self.handling)
            ));
        }
        if causes.is_empty() {
            "no wait woke up late and no step of the engine took long; the delay lies between \
             them (the thread was preempted while running)"
                .into()
        } else {
            causes.join("; ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn names_the_worst_late_wakeup() {
        let mut d = Delays::default();
        d.woke(ms(10), ms(10));
        d.woke(ms(20), ms(25));
        d.woke(ms(30), ms(32));
        let text = d.explain(ms(30), Some(7), ms(29));
        assert!(
            text.contains("asked to wake up at 0.020000 sec returned at 0.025000"),
            "{text}"
        );
        assert!(!text.contains("line 7"), "{text}");
    }

    #[test]
    fn names_a_previous_event_that_overran() {
        let d = Delays::default();
        let text = d.explain(ms(10), Some(12), ms(16));
        assert!(
            text.starts_with("line 12 finished at 0.016000 sec, 0.006000 sec after"),
            "{text}"
        );
    }

    #[test]
    fn names_slow_event_handling_and_admits_an_unexplained_delay() {
        let mut d = Delays::default();
        d.handled(3, Duration::from_micros(50));
        assert!(d.explain(ms(1), None, ms(0)).contains("preempted"));
        d.handled(2, ms(1));
        assert!(
            d.explain(ms(1), None, ms(0))
                .contains("handling 5 packet(s)")
        );
    }
}
