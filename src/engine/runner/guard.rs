//! Bounds on what a stack can make one run do: a stack that reports events forever (an event
//! storm) or lets no time pass while it does would otherwise keep the engine looping and its trace
//! growing without end. Both end the run as an `error` naming what happened.

use std::time::Duration;

use crate::clock::fmt_secs;

/// Stack events (packets sent, calls returned) one run may report. The corpus's busiest script
/// sees 15; a script that streams data sees thousands. Each traced packet keeps its bytes and
/// text (a few hundred bytes), so this bounds a run's trace to tens of MB.
pub(super) const MAX_EVENTS: usize = 100_000;

/// `wait` calls in a row, on a virtual-time stack, that report events without letting script
/// time move: a stack emits everything due at one moment in one or a few answers.
pub(super) const MAX_STALLED_WAITS: usize = 10_000;

/// The counts one run has used.
#[derive(Debug, Default)]
pub(super) struct Guard {
    events: usize,
    stalled: usize,
    last_now: Duration,
}

impl Guard {
    /// Accounts for a `wait` that reported `events` events and left script time at `now`.
    pub(super) fn after_wait(
        &mut self,
        events: usize,
        now: Duration,
        virtual_time: bool,
    ) -> Result<(), String> {
        self.events = self.events.saturating_add(events);
        if self.events > MAX_EVENTS {
            return Err(format!(
                "event storm: the stack reported more than {MAX_EVENTS} events (packets, returns) \
                 in one run, the last at {} sec; tcpconf stopped the run",
                fmt_secs(now)
            ));
        }
        if !virtual_time || events == 0 || now > self.last_now {
            self.stalled = 0;
            self.last_now = self.last_now.max(now);
            return Ok(());
        }
        self.stalled += 1;
        if self.stalled >= MAX_STALLED_WAITS {
            return Err(format!(
                "no progress in virtual time: {MAX_STALLED_WAITS} waits in a row reported events \
                 but time stayed at {} sec; tcpconf stopped the run",
                fmt_secs(now)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storms_and_stalls_are_stopped() {
        let mut g = Guard::default();
        let t = Duration::from_millis(5);
        let stalled = (0..=MAX_STALLED_WAITS).map(|_| g.after_wait(1, t, true));
        assert!(
            stalled
                .last()
                .is_some_and(|r| r.is_err_and(|m| m.contains("no progress")))
        );

        let mut g = Guard::default();
        let mut at = Duration::ZERO;
        let mut last = Ok(());
        for _ in 0..=MAX_EVENTS / 1000 {
            at += Duration::from_micros(1);
            last = g.after_wait(1000, at, true);
            if last.is_err() {
                break;
            }
        }
        assert!(last.is_err_and(|m| m.contains("event storm")));

        let mut g = Guard::default();
        let moving = (1..100u64).map(|i| g.after_wait(1, Duration::from_micros(i), true));
        assert!(
            moving.into_iter().all(|r| r.is_ok()),
            "time moved every wait"
        );
        let mut g = Guard::default();
        assert!((0..MAX_STALLED_WAITS).all(|_| g.after_wait(1, t, false).is_ok()));
    }
}
