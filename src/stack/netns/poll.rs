//! Waiting on fds with microsecond precision, and wake-up pipes between threads.

use std::io::{self, PipeReader, PipeWriter, Read};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::libc;

use crate::clock::RealClock;

/// A pipe whose ends never block: a wake-up signal another thread can `poll` for.
pub(crate) fn nonblocking_pipe() -> io::Result<(PipeReader, PipeWriter)> {
    let (r, w) = io::pipe()?;
    for fd in [r.as_fd(), w.as_fd()] {
        let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
        fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    }
    Ok((r, w))
}

/// Empties a wake-up pipe.
pub(crate) fn drain_pipe(pipe: &mut PipeReader) {
    let mut buf = [0u8; 64];
    while matches!(pipe.read(&mut buf), Ok(n) if n > 0) {}
}

/// `ppoll` with a timeout of microsecond precision (`None`: wait forever). Returns the number of
/// ready fds; `EINTR` counts as zero.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: fds is a valid slice of pollfd; ts_ptr is null or points at a live timespec.
    let rc = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            ts_ptr,
            std::ptr::null(),
        )
    };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(err);
    }
    Ok(rc as usize)
}

/// A pollfd entry.
/// One step of a real-time adapter's `wait`: sleeps until one of `fds` is readable or `until`.
/// Returns `false` once `until` has passed.
///
/// It never spins: the engine asks a real-time stack to wait until shortly before its target and
/// spins the last stretch itself, only where an event is due ([`crate::clock::RealClock`]). A
/// spinning adapter would spin twice as long, and with several runs at once on few cores under
/// SCHED_RR, threads spinning back to back keep the others off the CPU for a whole time slice.
pub(crate) fn pause_until(clock: &RealClock, until: Duration, fds: &[i32]) -> io::Result<bool> {
    let now = clock.now();
    if now >= until {
        return Ok(false);
    }
    let mut polled: Vec<libc::pollfd> = fds.iter().map(|&fd| pollfd(fd, libc::POLLIN)).collect();
    poll(&mut polled, Some(until - now))?;
    Ok(true)
}

pub(crate) fn pollfd(fd: i32, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}
