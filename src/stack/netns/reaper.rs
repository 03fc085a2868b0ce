//! Releasing TUN devices off the engine's path.
//!
//! Closing a TUN fd unregisters its device, and the kernel does that in the closing thread: RCU
//! grace periods, an `rcu_barrier()` and a wait for the last device references in
//! `netdev_run_todo` — 8–40 ms on a 2-vCPU VM at HZ=250, almost all of it waiting, not computing.
//! Teardown hands the device to a small pool of process-wide threads that close it, so a run does
//! not wait for its own device to go, and several devices' waits overlap (most of them happen
//! outside the RTNL lock). The device is already unreachable (it lives in a namespace that has no
//! other thread, socket or name left), and if the process exits first, the kernel closes the fd all
//! the same: nothing is left behind.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use super::tun::Tun;

/// Devices that may wait to be closed. Past this, teardown waits for a reaper (each pending device
/// keeps its whole namespace in kernel memory, so a suite of very short runs must not outrun them).
const BACKLOG: usize = 8;
/// Threads closing devices at the same time.
const REAPERS: usize = 4;

static REAPER: OnceLock<Option<mpsc::SyncSender<Tun>>> = OnceLock::new();

fn reaper() -> Option<&'static mpsc::SyncSender<Tun>> {
    REAPER
        .get_or_init(|| {
            let (tx, rx) = mpsc::sync_channel::<Tun>(BACKLOG);
            let rx = Arc::new(Mutex::new(rx));
            let started = (0..REAPERS)
                .filter(|i| {
                    let rx = Arc::clone(&rx);
                    std::thread::Builder::new()
                        .name(format!("tcpconf-reaper-{i}"))
                        .spawn(move || {
                            // Background work: never at the real-time priority it may inherit.
                            crate::engine::priority::leave_real_time();
                            loop {
                                // Hold the lock only to take a device, not while closing it.
                                let next = match rx.lock() {
                                    Ok(rx) => rx.recv(),
                                    Err(_) => return,
                                };
                                match next {
                                    Ok(tun) => drop(tun),
                                    Err(_) => return,
                                }
                            }
                        })
                        .is_ok()
                })
                .count();
            (started > 0).then_some(tx)
        })
        .as_ref()
}

/// Closes `tun` in the background (or here, if no reaper thread could be started).
pub(crate) fn release(tun: Tun) {
    match reaper() {
        Some(tx) => {
            if let Err(mpsc::SendError(tun)) = tx.send(tun) {
                drop(tun);
            }
        }
        None => drop(tun),
    }
}
