//! Time as the engine sees it: a [`Duration`] since the start of a script run.
//!
//! Two clocks exist. Virtual time belongs to stacks that can be driven by it (the reference stack,
//! smoltcp): the engine tells them "advance to t" and nothing waits. Real time belongs to stacks that
//! run on their own (the Linux kernel, lwIP): [`RealClock`] sleeps until shortly before the target
//! and then spins, like packetdrill, because a plain sleep on this kind of VM wakes up tens to
//! hundreds of microseconds late.

use std::time::{Duration, Instant};

/// How long before a deadline [`RealClock::sleep_until`] stops sleeping and starts spinning.
pub const SPIN_WINDOW: Duration = Duration::from_micros(100);

/// A monotonic real-time clock whose zero is the start of a script run.
#[derive(Debug, Clone, Copy)]
pub struct RealClock {
    epoch: Instant,
}

impl RealClock {
    /// A clock whose zero is now.
    pub fn start() -> Self {
        Self {
            epoch: Instant::now(),
        }
    }

    /// A clock whose zero is `epoch`.
    pub fn with_epoch(epoch: Instant) -> Self {
        Self { epoch }
    }

    /// The instant that is time zero.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Time elapsed since zero.
    pub fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// The instant that corresponds to `t` on this clock.
    pub fn instant_at(&self, t: Duration) -> Instant {
        self.epoch + t
    }

    /// The time on this clock of `instant` (zero if it lies before the epoch).
    pub fn since_epoch(&self, instant: Instant) -> Duration {
        instant.saturating_duration_since(self.epoch)
    }

    /// Block until `t`: sleep until [`SPIN_WINDOW`] before it, then spin. Returns the time reached.
    pub fn sleep_until(&self, t: Duration) -> Duration {
        let target = self.instant_at(t);
        loop {
            let now = Instant::now();
            if now >= target {
                return self.since_epoch(now);
            }
            let left = target - now;
            if left > SPIN_WINDOW {
                std::thread::sleep(left - SPIN_WINDOW);
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

impl RealClock {
    /// Block until `t` without spinning (for polls, where waking a little late costs nothing and
    /// a spinning thread would keep others off the CPU). Returns the time reached.
    pub fn sleep_until_roughly(&self, t: Duration) -> Duration {
        let now = self.now();
        if now < t {
            std::thread::sleep(t - now);
        }
        self.now()
    }
}

/// Formats a script time the way packetdrill prints it: seconds with six decimals.
pub fn fmt_secs(t: Duration) -> String {
    format!("{}.{:06}", t.as_secs(), t.subsec_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_until_never_returns_early() {
        let clock = RealClock::start();
        for ms in [1u64, 2, 5] {
            let target = clock.now() + Duration::from_millis(ms);
            let reached = clock.sleep_until(target);
            assert!(reached >= target, "woke at {reached:?}, before {target:?}");
        }
    }

    #[test]
    fn fmt_secs_prints_microseconds() {
        assert_eq!(fmt_secs(Duration::from_micros(1_234_567)), "1.234567");
        assert_eq!(fmt_secs(Duration::ZERO), "0.000000");
    }
}
