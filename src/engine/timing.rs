//! When events are due and whether they happened in time: packetdrill's time semantics
//! (`run.c: adjust_relative_event_times`, `verify_time`).
//!
//! - An absolute time is measured from the start of the run.
//! - A relative time `+d` is measured from the moment the previous event actually completed —
//!   except in a run of inbound packets, where it is measured from the previous packet's *scripted*
//!   time, so that injection lateness does not accumulate.
//! - The tolerance of an event is max(`--tolerance_usecs`, `--tolerance_percent` × the scripted gap
//!   since the previous event); ranges widen by the same tolerance; `*` accepts any time.

use std::time::Duration;

use crate::clock::fmt_secs;
use crate::script::ast::{Time, TimeSpec};

/// An event's scripted time, resolved against the run's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// At this time (also the start of a blocking call, whose `end` is separate).
    At(Duration),
    /// Anywhere in this inclusive range.
    Range { lo: Duration, hi: Duration },
    /// Any time at all (`*`); `from` is when the event became current.
    Any { from: Duration },
}

impl Due {
    /// The earliest time the event is scripted for (what later relative times and gaps use).
    pub fn start(&self) -> Duration {
        match *self {
            Due::At(t) | Due::Range { lo: t, .. } | Due::Any { from: t } => t,
        }
    }

    /// The latest time the event may happen, tolerance included (`None` for `*`).
    pub fn deadline(&self, tolerance: Duration) -> Option<Duration> {
        match *self {
            Due::At(t) | Due::Range { hi: t, .. } => Some(t + tolerance),
            Due::Any { .. } => None,
        }
    }
}

/// A time spec that cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("time {0} sec lies before the start of the script")]
    Negative(String),
    #[error("time goes backward in script from {from} sec to {to} sec")]
    Backwards { from: String, to: String },
    #[error("first event should be at time 0, not {0} sec")]
    FirstNotZero(String),
}

/// A resolved event time: when it is due, the end of a blocking call, and the base it was
/// measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub due: Due,
    /// `t1...t2`: when the call must return.
    pub blocking_end: Option<Duration>,
    /// What relative times in this event were added to.
    pub base: Duration,
}

/// What the scheduler remembers about the previous event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Previous {
    /// The previous event's scripted (resolved) start time.
    pub scripted: Duration,
    /// When it actually completed.
    pub completed: Duration,
    /// It was an inbound packet (start of a possible anchored run).
    pub inbound_packet: bool,
    /// Its time was absolute (absolute times may not go backwards).
    pub absolute: bool,
    /// Its script line, to name it when it made the next event late.
    pub line: Option<usize>,
}

fn micros(v: i64) -> Result<Duration, TimeError> {
    u64::try_from(v)
        .map(Duration::from_micros)
        .map_err(|_| TimeError::Negative(format_signed(v)))
}

fn format_signed(us: i64) -> String {
    let sign = if us < 0 { "-" } else { "" };
    format!(
        "{sign}{}",
        fmt_secs(Duration::from_micros(us.unsigned_abs()))
    )
}

fn at(t: Time, base: Duration) -> Result<Duration, TimeError> {
    if t.relative {
        let b = i64::try_from(base.as_micros()).unwrap_or(i64::MAX);
        micros(b.saturating_add(t.micros))
    } else {
        micros(t.micros)
    }
}

/// Whether every time in `spec` is absolute.
pub fn is_absolute(spec: &TimeSpec) -> bool {
    match spec {
        TimeSpec::At(t) | TimeSpec::Blocking { start: t, .. } => !t.relative,
        TimeSpec::Range { lo, hi } => !lo.relative && !hi.relative,
        TimeSpec::Any => false,
    }
}

/// Resolves `spec` for an event that follows `prev` (`None` for the first event).
pub fn resolve(
    spec: &TimeSpec,
    inbound_packet: bool,
    prev: Option<&Previous>,
) -> Result<Resolved, TimeError> {
    let base = match prev {
        None => Duration::ZERO,
        Some(p) if p.inbound_packet && inbound_packet => p.scripted,
        Some(p) => p.completed,
    };
    let resolved = match *spec {
        TimeSpec::At(t) => Resolved {
            due: Due::At(at(t, base)?),
            blocking_end: None,
            base,
        },
        TimeSpec::Range { lo, hi } => {
            let (lo, hi) = (at(lo, base)?, at(hi, base)?);
            Resolved {
                due: Due::Range { lo, hi: hi.max(lo) },
                blocking_end: None,
                base,
            }
        }
        TimeSpec::Any => Resolved {
            due: Due::Any { from: base },
            blocking_end: None,
            base,
        },
        TimeSpec::Blocking { start, end_micros } => {
            // The end is measured from the same base as the start (packetdrill adds the same offset).
            let end = at(
                Time {
                    relative: start.relative,
                    micros: end_micros,
                },
                base,
            )?;
            Resolved {
                due: Due::At(at(start, base)?),
                blocking_end: Some(end),
                base,
            }
        }
    };
    match prev {
        None => {
            if resolved.due.start() != Duration::ZERO {
                return Err(TimeError::FirstNotZero(fmt_secs(resolved.due.start())));
            }
        }
        Some(p) if p.absolute && is_absolute(spec) && resolved.due.start() < p.scripted => {
            return Err(TimeError::Backwards {
                from: fmt_secs(p.scripted),
                to: fmt_secs(resolved.due.start()),
            });
        }
        Some(_) => {}
    }
    Ok(resolved)
}

/// Checks that something scripted as `due` happened at `actual`. `what` names it the way
/// packetdrill does ("outbound packet", "inbound packet", "system call start", "system call
/// return"). The error text is packetdrill's.
pub fn check(due: Due, actual: Duration, tolerance: Duration, what: &str) -> Result<(), String> {
    match due {
        Due::Any { .. } => Ok(()),
        Due::At(t) => {
            if actual + tolerance < t || actual > t + tolerance {
                Err(format!(
                    "timing error: expected {what} at {} sec but happened at {} sec; tolerance {} sec",
                    fmt_secs(t),
                    fmt_secs(actual),
                    fmt_secs(tolerance)
                ))
            } else {
                Ok(())
            }
        }
        Due::Range { lo, hi } => {
            if actual + tolerance < lo || actual > hi + tolerance {
                Err(format!(
                    "timing error: expected {what} in time range {}~{} sec but happened at {} sec; tolerance {} sec",
                    fmt_secs(lo),
                    fmt_secs(hi),
                    fmt_secs(actual),
                    fmt_secs(tolerance)
                ))
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn rel(us: i64) -> Time {
        Time {
            relative: true,
            micros: us,
        }
    }

    fn abs(us: i64) -> Time {
        Time {
            relative: false,
            micros: us,
        }
    }

    #[test]
    fn relative_times_follow_actual_completion_except_inbound_runs() {
        let prev = Previous {
            scripted: ms(100),
            completed: ms(103),
            inbound_packet: true,
            absolute: false,
            line: None,
        };
        // Inbound after inbound: anchored to the scripted time.
        let r = resolve(&TimeSpec::At(rel(10_000)), true, Some(&prev)).unwrap();
        assert_eq!(r.due, Due::At(ms(110)));
        // Anything else: anchored to when the previous event completed.
        let r = resolve(&TimeSpec::At(rel(10_000)), false, Some(&prev)).unwrap();
        assert_eq!(r.due, Due::At(ms(113)));
        let after_syscall = Previous {
            inbound_packet: false,
            ..prev
        };
        let r = resolve(&TimeSpec::At(rel(10_000)), true, Some(&after_syscall)).unwrap();
        assert_eq!(r.due, Due::At(ms(113)));
    }

    #[test]
    fn blocking_end_shares_the_start_base() {
        let prev = Previous {
            scripted: ms(100),
            completed: ms(100),
            inbound_packet: false,
            absolute: false,
            line: None,
        };
        let spec = TimeSpec::Blocking {
            start: rel(10_000),
            end_micros: 11_000,
        };
        let r = resolve(&spec, false, Some(&prev)).unwrap();
        assert_eq!(r.due, Due::At(ms(110)));
        assert_eq!(r.blocking_end, Some(ms(111)));
        let spec = TimeSpec::Blocking {
            start: abs(100_000),
            end_micros: 200_000,
        };
        let r = resolve(&spec, false, Some(&prev)).unwrap();
        assert_eq!(r.blocking_end, Some(ms(200)));
    }

    #[test]
    fn first_event_at_zero_and_absolute_times_do_not_go_back() {
        assert!(matches!(
            resolve(&TimeSpec::At(abs(5)), false, None),
            Err(TimeError::FirstNotZero(_))
        ));
        assert!(resolve(&TimeSpec::At(rel(0)), false, None).is_ok());
        let prev = Previous {
            scripted: ms(200),
            completed: ms(200),
            inbound_packet: false,
            absolute: true,
            line: None,
        };
        assert!(matches!(
            resolve(&TimeSpec::At(abs(100_000)), false, Some(&prev)),
            Err(TimeError::Backwards { .. })
        ));
        assert!(matches!(
            resolve(&TimeSpec::At(rel(-300_000)), false, Some(&prev)),
            Err(TimeError::Negative(_))
        ));
    }

    #[test]
    fn tolerance_edges_are_inclusive() {
        let tol = Duration::from_micros(4000);
        assert!(check(Due::At(ms(210)), ms(214), tol, "outbound packet").is_ok());
        assert!(check(Due::At(ms(210)), ms(206), tol, "outbound packet").is_ok());
        let late = check(
            Due::At(ms(210)),
            Duration::from_micros(214_001),
            tol,
            "outbound packet",
        );
        assert_eq!(
            late.unwrap_err(),
            "timing error: expected outbound packet at 0.210000 sec but happened at 0.214001 sec; tolerance 0.004000 sec"
        );
        assert!(check(Due::At(ms(210)), Duration::from_micros(205_999), tol, "x").is_err());
        let range = Due::Range {
            lo: ms(100),
            hi: ms(200),
        };
        assert!(check(range, ms(96), tol, "x").is_ok());
        assert!(check(range, ms(204), tol, "x").is_ok());
        assert!(check(range, ms(205), tol, "x").is_err());
        assert!(check(Due::Any { from: ms(1) }, ms(999_999), tol, "x").is_ok());
    }
}
