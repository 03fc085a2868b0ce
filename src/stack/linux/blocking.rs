//! Finishing a syscall that would have blocked.
//!
//! The adapter first tries every call without blocking on the engine's thread (`MSG_DONTWAIT`, or
//! `O_NONBLOCK` set for the duration of `accept`/`connect`), which tells exactly — with no race and
//! no guessed timeout — whether a blocking call would have returned at once. Only when it would not
//! does a [`Pending`] call go to the namespace thread, which waits with `poll` for the socket to
//! become ready and then completes the call the way the blocking one would have: `accept` takes the
//! queued connection, `connect` reads the handshake's result from `SO_ERROR`, `read` returns what
//! arrived, `write` keeps sending until all of the data is queued.
//!
//! Waiting in `poll` instead of in the blocking call itself keeps the wait cancellable at teardown,
//! and the helper holds its own duplicate of the fd, so a `close()` on the engine side while the call
//! is blocked leaves the socket alive as the kernel would.
//!
//! Precision: the completion is stamped when the helper has finished the call, one thread wake-up
//! (typically 10–50 µs here) after the kernel made the socket ready — as a real blocking call would
//! return after its own wake-up. Two differences from a real blocking call are known: a `write`
//! larger than the send buffer is queued in the chunks `poll` admits (send-buffer space of at least
//! a third), not in the kernel's own chunks, so segment boundaries of such a write may differ; and a
//! blocking `connect` over the namespace's loopback, whose handshake completes inside the kernel
//! within the call, is reported `Blocked` and returns a few microseconds later through `wait`.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::libc;

use super::sys;
use crate::stack::{Domain, Errno, SyscallOutcome, SyscallOutput};

/// A call that found its socket not ready, to be finished when it is.
#[derive(Debug)]
pub(crate) enum Pending {
    Accept {
        fd: OwnedFd,
        domain: Domain,
    },
    Connect {
        fd: OwnedFd,
        /// Where the connect goes: re-issued once the handshake succeeded (see `finish`).
        addr: sys::RawAddr,
    },
    Read {
        fd: OwnedFd,
        len: usize,
        flags: i32,
    },
    Write {
        fd: OwnedFd,
        data: Vec<u8>,
        /// Bytes already queued (by the first, non-blocking attempt and earlier resumptions).
        written: usize,
    },
}

/// The result of a finished call, with the socket an `accept` created.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) outcome: SyscallOutcome,
    pub(crate) accepted: Option<(OwnedFd, Domain)>,
}

impl Finished {
    pub(crate) fn plain(outcome: SyscallOutcome) -> Finished {
        Finished {
            outcome,
            accepted: None,
        }
    }
}

impl Pending {
    /// The fd to poll.
    pub(crate) fn raw_fd(&self) -> i32 {
        match self {
            Pending::Accept { fd, .. }
            | Pending::Connect { fd, .. }
            | Pending::Read { fd, .. }
            | Pending::Write { fd, .. } => fd.as_raw_fd(),
        }
    }

    /// What readiness ends the wait (errors and hang-ups always do).
    pub(crate) fn events(&self) -> libc::c_short {
        match self {
            Pending::Accept { .. } | Pending::Read { .. } => libc::POLLIN,
            Pending::Connect { .. } | Pending::Write { .. } => libc::POLLOUT,
        }
    }

    /// Tries to complete the call now that `poll` reported its socket ready; `None` if it must wait
    /// longer (a write that still has data left, a spurious wake-up).
    pub(crate) fn resume(&mut self) -> Option<Finished> {
        match self {
            Pending::Accept { fd, domain } => match sys::accept(fd.as_raw_fd()) {
                Ok((new, peer)) => {
                    let ret = i64::from(new.as_raw_fd());
                    let output = peer.map_or(SyscallOutput::None, SyscallOutput::Peer);
                    Some(Finished {
                        outcome: SyscallOutcome::ok_with(ret, output),
                        accepted: Some((new, *domain)),
                    })
                }
                Err(Errno::EAGAIN) => None,
                Err(e) => Some(Finished::plain(SyscallOutcome::err(e))),
            },
            // A blocking connect returns the handshake's result, which is what SO_ERROR holds
            // (and clears) once the socket is writable or has failed. The call was started
            // non-blocking, which leaves the kernel socket "connecting" (SS_CONNECTING) even after
            // the handshake: only another connect() marks it connected, as the blocking call
            // would have, so that a later connect() answers EISCONN rather than 0.
            Pending::Connect { fd, addr } => {
                let raw = fd.as_raw_fd();
                let outcome = match sys::getsockopt_int(raw, libc::SOL_SOCKET, libc::SO_ERROR) {
                    // The socket is established, so this connect returns at once.
                    Ok(0) => {
                        // SAFETY: the address buffer is valid for `addr.len` bytes.
                        let rc = unsafe { libc::connect(raw, addr.as_ptr(), addr.len) };
                        match sys::check(rc) {
                            Ok(_) => SyscallOutcome::ok(0),
                            Err(e) => SyscallOutcome::err(e),
                        }
                    }
                    Ok(code) => SyscallOutcome::err(Errno::from_raw(code)),
                    Err(e) => SyscallOutcome::err(e),
                };
                Some(Finished::plain(outcome))
            }
            Pending::Read { fd, len, flags } => {
                match sys::recv(fd.as_raw_fd(), *len, *flags | libc::MSG_DONTWAIT) {
                    Ok(data) => Some(Finished::plain(SyscallOutcome::ok_with(
                        data.len() as i64,
                        SyscallOutput::Data(data),
                    ))),
                    Err(Errno::EAGAIN) => None,
                    Err(e) => Some(Finished::plain(SyscallOutcome::err(e))),
                }
            }
            Pending::Write { fd, data, written } => {
                let rest = data.get(*written..).unwrap_or_default();
                match sys::send(fd.as_raw_fd(), rest, libc::MSG_DONTWAIT) {
                    Ok(n) => {
                        *written += n;
                        (*written >= data.len())
                            .then(|| Finished::plain(SyscallOutcome::ok(*written as i64)))
                    }
                    Err(Errno::EAGAIN) => None,
                    // As in the kernel, an error after part of the data was queued returns the count.
                    Err(_) if *written > 0 => {
                        Some(Finished::plain(SyscallOutcome::ok(*written as i64)))
                    }
                    Err(e) => Some(Finished::plain(SyscallOutcome::err(e))),
                }
            }
        }
    }
}
