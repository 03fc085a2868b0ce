//! lwIP is one library per process: one tcpip thread, one clock, one set of PCB lists, one netif.
//! This module holds what follows from that — starting lwIP once, letting one run at a time use
//! it, and the event queue that lwIP's netif (on whatever thread holds the core lock) and the
//! blocking-call helper fill, stamped with the run's current virtual time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use super::ffi;
use crate::stack::{Outbound, StackError, StackEvent, SyscallOutcome};

/// What lwIP did during the current run, waiting for [`Stack::wait`](crate::stack::Stack::wait).
#[derive(Debug)]
struct Queue {
    /// Whether a run is collecting; between runs whatever lwIP sends is dropped.
    active: bool,
    /// The run's current time: lwIP's clock stands still between the adapter's steps, so
    /// everything lwIP does happens at the time of the step that made it happen.
    now: Duration,
    /// Numbers runs, so a helper finishing after its run ended cannot report into the next.
    run: u64,
    events: Vec<StackEvent>,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    active: false,
    now: Duration::ZERO,
    run: 0,
    events: Vec::new(),
});

/// Whether lwIP's ephemeral-port cursor may have moved since `setup` last steered it back: set
/// when a run binds to port 0 or connects or listens without a port of its own. lwIP's own start
/// value of the cursor is not known here, so the first run steers it in any case.
static PORT_DRAWN: AtomicBool = AtomicBool::new(true);

/// Whether lwIP started with tcpconf's clock (see `shim.c`), once per process.
static STARTED: OnceLock<bool> = OnceLock::new();

/// Whether a run holds lwIP; runs in one process take turns (see [`RunLock`]).
static BUSY: Mutex<bool> = Mutex::new(false);
static BUSY_CHANGED: Condvar = Condvar::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing a panicking holder leaves half-done in these structures can mislead a later run:
    // each run resets them in `begin_run`.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts lwIP's tcpip thread the first time any run needs it.
pub(super) fn ensure_started() -> Result<(), StackError> {
    let ours = *STARTED.get_or_init(|| {
        // SAFETY: called once per process (the `OnceLock`), with a sink that stays valid forever.
        unsafe { ffi::tcpconf_lwip_start(on_output) == 0 }
    });
    if ours {
        Ok(())
    } else {
        Err(StackError::Environment(
            "liblwip is bound to its own sys_now(), not tcpconf's virtual clock (was it linked \
             with -Bsymbolic, or loaded with RTLD_DEEPBIND?)"
                .into(),
        ))
    }
}

/// Exclusive use of the process's lwIP, held by a stack from `setup` to `teardown`. lwIP's PCB
/// lists, netif, clock and ISS counter are global, so two runs at once would see each other's
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

/// Records that the current run may have drawn an ephemeral port.
pub(super) fn note_port_drawn() {
    PORT_DRAWN.store(true, Ordering::Relaxed);
}

/// Whether a port may have been drawn since the last call (which clears the mark).
pub(super) fn take_port_drawn() -> bool {
    PORT_DRAWN.swap(false, Ordering::Relaxed)
}

/// Starts collecting for a new run at time zero; returns the run's number.
pub(super) fn begin_run() -> u64 {
    let mut q = lock(&QUEUE);
    q.run += 1;
    q.active = true;
    q.now = Duration::ZERO;
    q.events.clear();
    q.run
}

/// Stops collecting: whatever lwIP sends from now on, and any late helper result, is dropped.
pub(super) fn end_run() {
    let mut q = lock(&QUEUE);
    q.active = false;
    q.events.clear();
}

/// Sets the time events are stamped with.
pub(super) fn set_now(now: Duration) {
    lock(&QUEUE).now = now;
}

/// Records that the blocked call of run `run` returned `outcome`, now.
pub(super) fn report_returned(run: u64, outcome: SyscallOutcome) {
    let mut q = lock(&QUEUE);
    if q.run == run && q.active {
        let at = q.now;
        q.events.push(StackEvent::Returned { at, outcome });
    }
}

/// Whether anything happened that the engine has not collected yet.
pub(super) fn has_events() -> bool {
    !lock(&QUEUE).events.is_empty()
}

/// Everything that happened so far in this run, oldest first.
pub(super) fn take_events() -> Vec<StackEvent> {
    let mut events = std::mem::take(&mut lock(&QUEUE).events);
    events.sort_by_key(event_time);
    events
}

fn event_time(e: &StackEvent) -> Duration {
    match e {
        StackEvent::Sent(o) => o.at,
        StackEvent::Returned { at, .. } => *at,
    }
}

/// lwIP's netif output: queues each packet, stamped with the current time.
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
    if q.active {
        let at = q.now;
        q.events.push(StackEvent::Sent(Outbound {
            at,
            packet: bytes.to_vec(),
        }));
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
