//! lwIP is one library per process: one tcpip thread, one set of PCB lists, one netif. This module
//! holds what follows from that — starting lwIP once, letting one run at a time use it, and the
//! event queue that lwIP's netif (on whatever thread holds the core lock) and the blocking-call
//! helper fill while the engine waits.

use std::sync::{Condvar, Mutex, MutexGuard, Once, PoisonError};
use std::time::Duration;

use super::ffi;
use crate::clock::{RealClock, SPIN_WINDOW};
use crate::stack::{Outbound, StackEvent, SyscallOutcome};

/// What lwIP did during the current run, waiting for [`Stack::wait`](crate::stack::Stack::wait).
#[derive(Debug)]
struct Queue {
    /// The current run's clock; `None` between runs, when whatever lwIP sends is dropped.
    clock: Option<RealClock>,
    /// Numbers runs, so a helper finishing after its run ended cannot report into the next.
    run: u64,
    events: Vec<StackEvent>,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    clock: None,
    run: 0,
    events: Vec::new(),
});
static QUEUE_CHANGED: Condvar = Condvar::new();

static STARTED: Once = Once::new();

/// Whether a run holds lwIP; runs in one process take turns (see [`RunLock`]).
static BUSY: Mutex<bool> = Mutex::new(false);
static BUSY_CHANGED: Condvar = Condvar::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing a panicking holder leaves half-done in these structures can mislead a later run:
    // each run resets them in `begin_run`.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts lwIP's tcpip thread the first time any run needs it.
pub(super) fn ensure_started() {
    STARTED.call_once(|| {
        // SAFETY: called once per process (the `Once`), with a sink that stays valid forever.
        unsafe { ffi::tcpconf_lwip_start(on_output) }
    });
}

/// Exclusive use of the process's lwIP, held by a stack from `setup` to `teardown`. lwIP's PCB
/// lists, netif and ISS counter are global, so two runs at once would see each other's
/// connections; a second run in the same process waits here until the first one ends.
#[derive(Debug)]
pub(super) struct RunLock(());

impl RunLock {
    pub fn acquire() -> Self {
        let mut busy = lock(&BUSY);
        while *busy {
            busy = BUSY_CHANGED
                .wait(busy)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *busy = true;
        RunLock(())
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        *lock(&BUSY) = false;
        BUSY_CHANGED.notify_one();
    }
}

/// Starts collecting for a new run stamped on `clock`; returns the run's number.
pub(super) fn begin_run(clock: RealClock) -> u64 {
    let mut q = lock(&QUEUE);
    q.run += 1;
    q.clock = Some(clock);
    q.events.clear();
    q.run
}

/// Stops collecting: whatever lwIP sends from now on, and any late helper result, is dropped.
pub(super) fn end_run() {
    let mut q = lock(&QUEUE);
    q.clock = None;
    q.events.clear();
}

/// Records that the blocked call of run `run` returned `outcome`, stamped now.
pub(super) fn report_returned(run: u64, outcome: SyscallOutcome) {
    let mut q = lock(&QUEUE);
    if q.run != run {
        return;
    }
    if let Some(clock) = q.clock {
        let at = clock.now();
        q.events.push(StackEvent::Returned { at, outcome });
        QUEUE_CHANGED.notify_all();
    }
}

/// Everything that happened so far in this run, oldest first.
pub(super) fn take_events() -> Vec<StackEvent> {
    let mut events = std::mem::take(&mut lock(&QUEUE).events);
    events.sort_by_key(event_time);
    events
}

/// Waits until something happened or `until` (on `clock`) is reached: sleeps on the queue until
/// shortly before `until`, then spins, like [`RealClock::sleep_until`].
pub(super) fn wait_for_events(clock: &RealClock, until: Duration) -> Vec<StackEvent> {
    loop {
        let q = lock(&QUEUE);
        if !q.events.is_empty() {
            drop(q);
            return take_events();
        }
        let now = clock.now();
        if now >= until {
            return Vec::new();
        }
        let left = until - now;
        if left > SPIN_WINDOW {
            // A wake-up, timeout or spurious return all lead back to the checks above.
            let _ = QUEUE_CHANGED
                .wait_timeout(q, left - SPIN_WINDOW)
                .unwrap_or_else(PoisonError::into_inner);
        } else {
            drop(q);
            std::hint::spin_loop();
        }
    }
}

fn event_time(e: &StackEvent) -> Duration {
    match e {
        StackEvent::Sent(o) => o.at,
        StackEvent::Returned { at, .. } => *at,
    }
}

/// lwIP's netif output: stamps each packet the moment lwIP hands it over.
extern "C" fn on_output(packet: *const u8, len: usize) {
    if packet.is_null() {
        return;
    }
    // SAFETY: the shim passes its buffer and the length it copied into it, valid for this call.
    let bytes = unsafe { std::slice::from_raw_parts(packet, len) };
    if !is_script_traffic(bytes) {
        return;
    }
    let mut q = lock(&QUEUE);
    if let Some(clock) = q.clock {
        let at = clock.now();
        q.events.push(StackEvent::Sent(Outbound {
            at,
            packet: bytes.to_vec(),
        }));
        QUEUE_CHANGED.notify_all();
    }
}

const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_ICMPV6: u8 = 58;
/// ICMPv6 types 130–143 are MLD and neighbour discovery (RFC 4443 §2.1, RFC 4861 §4).
const ICMPV6_LINK_MANAGEMENT: std::ops::RangeInclusive<u8> = 130..=143;

/// Whether an outbound packet belongs to what scripts talk about (TCP and ICMP errors), as opposed
/// to lwIP's own IPv6 link management (neighbour discovery, MLD), which a raw-IP point-to-point
/// link does not need and the engine must not see as unexpected segments.
fn is_script_traffic(packet: &[u8]) -> bool {
    match packet.first().map(|b| b >> 4) {
        Some(4) => matches!(packet.get(9), Some(&PROTO_TCP) | Some(&PROTO_ICMP)),
        Some(6) => match packet.get(6) {
            Some(&PROTO_TCP) => true,
            Some(&PROTO_ICMPV6) => packet
                .get(40)
                .is_some_and(|ty| !ICMPV6_LINK_MANAGEMENT.contains(ty)),
            // Hop-by-hop options (MLD reports) and anything else lwIP might send on its own.
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tcp_and_icmp_errors_reach_the_engine() {
        let mut v4 = vec![0x45u8; 40];
        v4[9] = PROTO_TCP;
        assert!(is_script_traffic(&v4));
        v4[9] = 17; // UDP
        assert!(!is_script_traffic(&v4));

        let mut v6 = vec![0x60u8; 48];
        v6[6] = PROTO_ICMPV6;
        v6[40] = 1; // destination unreachable
        assert!(is_script_traffic(&v6));
        v6[40] = 135; // neighbour solicitation
        assert!(!is_script_traffic(&v6));
        v6[6] = 0; // hop-by-hop options, as MLD reports carry
        assert!(!is_script_traffic(&v6));
        assert!(!is_script_traffic(&[]));
        assert!(!is_script_traffic(&[0x60, 0, 0]));
    }
}
