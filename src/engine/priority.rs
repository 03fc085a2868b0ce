//! Real-time scheduling for runs against real-time stacks, as packetdrill takes it (`run.c`:
//! SCHED_RR at the lowest real-time priority when there is more than one CPU). On a loaded
//! machine an ordinary thread is preempted for milliseconds — longer than the default 4 ms
//! tolerance — and a script fails for the harness's sake, not the stack's.

use nix::libc;

/// The calling thread's scheduling before [`raise`], restored on drop.
pub struct RealTimeGuard {
    previous: Option<(libc::c_int, libc::sched_param)>,
}

impl RealTimeGuard {
    /// Whether the thread now runs under SCHED_RR.
    pub fn raised(&self) -> bool {
        self.previous.is_some()
    }
}

/// Moves the calling thread to SCHED_RR at the minimum priority, if there is more than one CPU
/// and the process may (CAP_SYS_NICE). Threads it creates afterwards (an adapter's helpers)
/// inherit the policy. Best effort: without the privilege nothing changes.
pub fn raise() -> RealTimeGuard {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        // With one CPU a spinning real-time thread would starve the stack it waits for.
        return RealTimeGuard { previous: None };
    }
    // SAFETY: plain syscalls on the calling thread (pid 0) with pointers to live locals.
    let previous = unsafe {
        let policy = libc::sched_getscheduler(0);
        let mut param: libc::sched_param = std::mem::zeroed();
        let min = libc::sched_get_priority_min(libc::SCHED_RR);
        if policy < 0 || min < 0 || libc::sched_getparam(0, &mut param) != 0 {
            None
        } else {
            let rr = libc::sched_param {
                sched_priority: min,
            };
            (libc::sched_setscheduler(0, libc::SCHED_RR, &rr) == 0).then_some((policy, param))
        }
    };
    RealTimeGuard { previous }
}

/// Runs `f` at the ordinary policy if the calling thread runs under SCHED_RR, then puts SCHED_RR
/// back. For set-up and teardown work inside a real-time run: creating and configuring a network
/// namespace, or dumping its sockets, costs milliseconds of kernel CPU, and at real-time priority
/// that CPU time is taken from other runs' threads whose events are due (threads of one real-time
/// priority do not preempt each other), which then wake up late.
pub fn at_normal_priority<T>(f: impl FnOnce() -> T) -> T {
    let _normal = lower();
    f()
}

/// Moves the calling thread from SCHED_RR to SCHED_OTHER for good (helper threads that only do
/// background work, spawned from a real-time thread).
pub fn leave_real_time() {
    std::mem::forget(lower());
}

/// Lowers a SCHED_RR thread to SCHED_OTHER; the guard restores what it found.
fn lower() -> RealTimeGuard {
    // SAFETY: plain syscalls on the calling thread (pid 0) with pointers to live locals.
    let previous = unsafe {
        let policy = libc::sched_getscheduler(0);
        let mut param: libc::sched_param = std::mem::zeroed();
        if policy != libc::SCHED_RR || libc::sched_getparam(0, &mut param) != 0 {
            None
        } else {
            let normal = libc::sched_param { sched_priority: 0 };
            (libc::sched_setscheduler(0, libc::SCHED_OTHER, &normal) == 0)
                .then_some((policy, param))
        }
    };
    RealTimeGuard { previous }
}

impl Drop for RealTimeGuard {
    fn drop(&mut self) {
        if let Some((policy, param)) = self.previous {
            // SAFETY: as in `raise`; restores what `sched_getscheduler`/`sched_getparam` read.
            unsafe {
                libc::sched_setscheduler(0, policy, &param);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> libc::c_int {
        // SAFETY: reads the calling thread's policy.
        unsafe { libc::sched_getscheduler(0) }
    }

    #[test]
    fn raising_is_undone_on_drop() {
        let before = policy();
        {
            let guard = raise();
            let during = policy();
            if guard.raised() {
                assert_eq!(during, libc::SCHED_RR);
            } else {
                assert_eq!(during, before);
            }
        }
        assert_eq!(policy(), before);
    }

    #[test]
    fn normal_priority_sections_return_to_real_time() {
        let guard = raise();
        let inside = at_normal_priority(policy);
        assert_eq!(inside, libc::SCHED_OTHER);
        let after = policy();
        let expected = if guard.raised() {
            libc::SCHED_RR
        } else {
            libc::SCHED_OTHER
        };
        assert_eq!(after, expected);
    }
}
