//! Finishing a syscall that would have blocked.
//!
//! Every call is first tried without blocking on the engine's thread (`MSG_DONTWAIT`, or
//! `O_NONBLOCK` set on the lwIP socket for the duration of `accept`/`connect`), which tells exactly,
//! with no guessed timeout, whether a blocking call would have returned at once. Only when it would
//! not does a [`Pending`] call go to a helper thread, which waits in `lwip_poll` for the socket to
//! become ready and then finishes the call the way the blocking one would have: `accept` takes the
//! queued connection, `connect` reads the handshake's result from `SO_ERROR`, `read` returns what
//! arrived, `write` keeps sending until all the data is queued.
//!
//! Waiting in `lwip_poll` in short slices rather than inside lwIP's blocking call keeps the wait
//! cancellable at teardown: a blocked `accept` on a listener cannot otherwise be woken in lwIP 2.1
//! (closing a socket another thread is blocked on is unsupported without `LWIP_NETCONN_FULLDUPLEX`).
//! The one exception is a lingering `close`, which lwIP can only do blocking; aborting the PCBs at
//! teardown wakes it (lwIP's `err_tcp` completes a pending close).
//!
//! In virtual time a return must be stamped with the time of the event that caused it, so before
//! the adapter moves lwIP's clock on it asks whether the blocked call's condition now holds
//! (`lwip_poll` with no timeout, or the lingering close finished) and, if so, waits for the helper
//! to report ([`Helper::settle`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::libc::{self, c_int, c_void};

use super::{ffi, runtime};
use crate::stack::{Domain, Errno, Fd, StackError, SyscallOutcome, SyscallOutput};

/// How long one `lwip_poll` slice lasts before the helper looks at its cancel flag. Readiness
/// wakes the poll at once; this bounds only how long teardown waits for the helper.
const POLL_SLICE_MS: c_int = 10;

/// A call that found its socket not ready, to be finished when it is.
#[derive(Debug)]
pub(super) enum Pending {
    /// `domain` is the listener's, which the accepted socket shares.
    Accept {
        fd: Fd,
        domain: Domain,
    },
    Connect {
        fd: Fd,
    },
    Read {
        fd: Fd,
        len: usize,
        peek: bool,
    },
    /// A blocking write returns when all of `data` is queued; `done` bytes already are.
    Write {
        fd: Fd,
        data: Vec<u8>,
        done: usize,
    },
    /// `close` with SO_LINGER on and data left: lwIP waits inside the call.
    Close {
        fd: Fd,
    },
}

impl Pending {
    /// What the helper is waiting for.
    fn readiness(&self) -> Readiness {
        match *self {
            Pending::Accept { fd, .. } | Pending::Read { fd, .. } => Readiness::Poll {
                fd,
                events: libc::POLLIN,
            },
            Pending::Connect { fd } | Pending::Write { fd, .. } => Readiness::Poll {
                fd,
                events: libc::POLLOUT,
            },
            Pending::Close { fd } => Readiness::Closed { fd },
        }
    }
}

/// The condition that lets a blocked call return.
#[derive(Debug, Clone, Copy)]
enum Readiness {
    /// `lwip_poll` reports one of `events` (or an error) on `fd`.
    Poll { fd: Fd, events: i16 },
    /// lwIP finished the lingering close of `fd`.
    Closed { fd: Fd },
}

impl Readiness {
    fn holds(self) -> bool {
        match self {
            Readiness::Poll { fd, events } => poll_ready(fd, events, 0).unwrap_or(true),
            // SAFETY: shim call; takes the core lock itself.
            Readiness::Closed { fd } => unsafe { ffi::tcpconf_lwip_socket_closing(fd) == 0 },
        }
    }
}

/// How long the adapter waits (in real time) for a helper whose call can return to report it.
/// A helper needs microseconds; this only turns a wedged helper into an error instead of a hang.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// What the engine's thread and the helper tell each other.
#[derive(Debug, Default)]
struct Flags {
    /// Set by the adapter: give up.
    cancel: AtomicBool,
    /// Set by the helper while it acts on a ready socket (between its poll returning and its next
    /// poll or its return), so the adapter does not mistake a readiness it is consuming for none.
    working: AtomicBool,
}

/// The thread finishing the one blocked call of a run.
#[derive(Debug)]
pub(super) struct Helper {
    flags: Arc<Flags>,
    thread: JoinHandle<()>,
    readiness: Readiness,
}

impl Helper {
    /// Starts finishing `pending` for run `run`; its outcome goes to the run's event queue.
    pub fn spawn(run: u64, pending: Pending) -> Result<Self, StackError> {
        let readiness = pending.readiness();
        let flags = Arc::new(Flags::default());
        let theirs = Arc::clone(&flags);
        let thread = std::thread::Builder::new()
            .name("tcpconf-lwip-call".into())
            .spawn(move || {
                if let Some(outcome) = finish(pending, &theirs) {
                    runtime::report_returned(run, outcome);
                }
            })?;
        let helper = Self {
            flags,
            thread,
            readiness,
        };
        if let Readiness::Closed { fd } = readiness {
            // "Finished closing" only means something once the close has begun: wait for lwIP to
            // mark the netconn as closing (or for the close to have returned already).
            // SAFETY: shim call; takes the core lock itself.
            helper.wait_until("start its lingering close", || unsafe {
                ffi::tcpconf_lwip_socket_closing(fd) != 0
            })?;
        }
        Ok(helper)
    }

    /// If the call can return now, waits until the helper has returned it, so that lwIP's
    /// clock does not move on while the return is in flight and the return is stamped with the
    /// time of the event that caused it.
    pub fn settle(&self) -> Result<(), StackError> {
        let busy = || self.flags.working.load(Ordering::Acquire) || self.readiness.holds();
        if self.is_finished() || !busy() {
            return Ok(());
        }
        // Done when the helper returned, or consumed the readiness and went back to waiting (a
        // blocking write that queued part of its data).
        self.wait_until("act on its ready socket", || !busy())
    }

    /// Waits in real time until the helper has finished or `progress` holds.
    fn wait_until(&self, what: &str, progress: impl Fn() -> bool) -> Result<(), StackError> {
        let start = Instant::now();
        while !self.is_finished() && !progress() {
            if start.elapsed() > SETTLE_LIMIT {
                return Err(StackError::Adapter(format!(
                    "the blocked call's helper did not {what} within {SETTLE_LIMIT:?} ({:?})",
                    self.readiness
                )));
            }
            std::thread::sleep(Duration::from_micros(20));
        }
        Ok(())
    }

    /// Whether the call has returned.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Asks the helper to give up and waits for it. A lingering close only ends once its PCB is
    /// gone, so the caller aborts the PCBs before this.
    pub fn cancel_and_join(self) {
        self.flags.cancel.store(true, Ordering::Relaxed);
        // A helper that panicked has nothing left to clean up.
        let _ = self.thread.join();
    }
}

/// Carries out `pending`; `None` when cancelled.
fn finish(pending: Pending, flags: &Flags) -> Option<SyscallOutcome> {
    match pending {
        Pending::Accept { fd, domain } => loop {
            wait_ready(fd, libc::POLLIN, flags)?;
            match accept_now(fd) {
                Err(Errno::EWOULDBLOCK) => continue,
                done => {
                    return Some(outcome(
                        done.map(|(new, peer)| (new, peer_for(domain, peer))),
                    ));
                }
            }
        },
        Pending::Connect { fd } => {
            wait_ready(fd, libc::POLLOUT, flags)?;
            Some(match so_error(fd) {
                Ok(0) => SyscallOutcome::ok(0),
                Ok(e) => SyscallOutcome::err(Errno::from_raw(e)),
                Err(e) => SyscallOutcome::err(e),
            })
        }
        Pending::Read { fd, len, peek } => loop {
            wait_ready(fd, libc::POLLIN, flags)?;
            match recv_now(fd, len, peek) {
                Err(Errno::EWOULDBLOCK) => continue,
                Ok(data) => {
                    let n = data.len() as i64;
                    return Some(SyscallOutcome::ok_with(n, SyscallOutput::Data(data)));
                }
                Err(e) => return Some(SyscallOutcome::err(e)),
            }
        },
        Pending::Write { fd, data, mut done } => loop {
            wait_ready(fd, libc::POLLOUT, flags)?;
            match send_now(fd, data.get(done..).unwrap_or_default()) {
                Ok(n) => {
                    done += n;
                    if done >= data.len() {
                        return Some(SyscallOutcome::ok(done as i64));
                    }
                }
                Err(Errno::EWOULDBLOCK) => {}
                // As a blocking write does, report what was queued before the error, if anything.
                Err(_) if done > 0 => return Some(SyscallOutcome::ok(done as i64)),
                Err(e) => return Some(SyscallOutcome::err(e)),
            }
        },
        Pending::Close { fd } => {
            // SAFETY: plain call on an lwIP socket number.
            let ret = unsafe { ffi::lwip_close(fd) };
            Some(if ret == 0 {
                SyscallOutcome::ok(0)
            } else {
                SyscallOutcome::err(ffi::last_errno())
            })
        }
    }
}

/// Polls `fd` for `events` (errors and hang-ups count as ready) in slices until it is ready;
/// `None` when cancelled.
fn wait_ready(fd: Fd, events: i16, flags: &Flags) -> Option<()> {
    flags.working.store(false, Ordering::Release);
    loop {
        if flags.cancel.load(Ordering::Relaxed) {
            return None;
        }
        // An error from poll itself (the fd went away) is for the call to report.
        if poll_ready(fd, events, POLL_SLICE_MS).unwrap_or(true) {
            flags.working.store(true, Ordering::Release);
            return Some(());
        }
    }
}

/// Whether `fd` reports one of `events` (or an error or hang-up) within `timeout_ms`; `None` when
/// poll itself fails.
fn poll_ready(fd: Fd, events: i16, timeout_ms: c_int) -> Option<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { ffi::lwip_poll(&raw mut pfd, 1, timeout_ms) };
    let ready = events | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;
    (n >= 0).then_some(pfd.revents & ready != 0)
}

/// A syscall's C return value and errno as an outcome.
pub(super) fn outcome(result: Result<(i64, SyscallOutput), Errno>) -> SyscallOutcome {
    match result {
        Ok((ret, output)) => SyscallOutcome::ok_with(ret, output),
        Err(e) => SyscallOutcome::err(e),
    }
}

/// Runs `f` with `O_NONBLOCK` set on `fd`, restoring the socket's own mode afterwards.
pub(super) fn with_nonblocking<T>(fd: Fd, f: impl FnOnce() -> T) -> Result<T, Errno> {
    let was = nonblocking(fd)?;
    if !was {
        set_nonblocking(fd, true)?;
    }
    let out = f();
    if !was {
        set_nonblocking(fd, false)?;
    }
    Ok(out)
}

/// Whether `fd` is in non-blocking mode.
pub(super) fn nonblocking(fd: Fd) -> Result<bool, Errno> {
    // SAFETY: plain call on an lwIP socket number.
    let flags = unsafe { ffi::lwip_fcntl(fd, libc::F_GETFL, 0) };
    if flags < 0 {
        return Err(ffi::last_errno());
    }
    Ok(flags & libc::O_NONBLOCK != 0)
}

/// Sets or clears `O_NONBLOCK` on `fd` (lwIP's F_SETFL takes no other flag).
pub(super) fn set_nonblocking(fd: Fd, on: bool) -> Result<(), Errno> {
    let flags = if on { libc::O_NONBLOCK } else { 0 };
    // SAFETY: plain call on an lwIP socket number.
    if unsafe { ffi::lwip_fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(ffi::last_errno());
    }
    Ok(())
}

/// `accept` that never blocks: the new fd and the peer's address.
pub(super) fn accept_now(fd: Fd) -> Result<(i64, SyscallOutput), Errno> {
    let mut peer = ffi::CSockAddr::empty();
    let new = with_nonblocking(fd, || {
        // SAFETY: `peer` is a sockaddr_storage with its true length.
        let new = unsafe { ffi::lwip_accept(fd, peer.as_mut_ptr(), peer.len_mut()) };
        if new < 0 {
            Err(ffi::last_errno())
        } else {
            Ok(new)
        }
    })??;
    let output = peer
        .decode()
        .map_or(SyscallOutput::None, SyscallOutput::Peer);
    Ok((i64::from(new), output))
}

/// `accept`'s peer address as an AF_INET6 socket reports it: lwIP 2.1.3 hands a dual-stack
/// socket's IPv4 peer back as a `sockaddr_in`, where the socket API (RFC 3493 §3.7) gives the
/// IPv4-mapped IPv6 address.
pub(super) fn peer_for(domain: Domain, peer: SyscallOutput) -> SyscallOutput {
    match (domain, peer) {
        (Domain::Inet6, SyscallOutput::Peer(SocketAddr::V4(a))) => {
            SyscallOutput::Peer(SocketAddr::new(a.ip().to_ipv6_mapped().into(), a.port()))
        }
        (_, other) => other,
    }
}

/// `recv` that never blocks.
pub(super) fn recv_now(fd: Fd, len: usize, peek: bool) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    let flags = libc::MSG_DONTWAIT | if peek { libc::MSG_PEEK } else { 0 };
    // SAFETY: `buf` has room for `len` bytes.
    let n = unsafe { ffi::lwip_recv(fd, buf.as_mut_ptr().cast::<c_void>(), len, flags) };
    if n < 0 {
        return Err(ffi::last_errno());
    }
    buf.truncate(n.unsigned_abs());
    Ok(buf)
}

/// `send` that never blocks: how many bytes lwIP queued.
pub(super) fn send_now(fd: Fd, data: &[u8]) -> Result<usize, Errno> {
    // SAFETY: `data` is valid for its length.
    let n = unsafe {
        ffi::lwip_send(
            fd,
            data.as_ptr().cast::<c_void>(),
            data.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return Err(ffi::last_errno());
    }
    Ok(n.unsigned_abs())
}

/// Reads and clears the socket's pending error (`SO_ERROR`).
pub(super) fn so_error(fd: Fd) -> Result<i32, Errno> {
    let mut value: c_int = 0;
    let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `value` is an int with its length.
    let ret = unsafe {
        ffi::lwip_getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut value).cast::<c_void>(),
            &raw mut len,
        )
    };
    if ret < 0 {
        return Err(ffi::last_errno());
    }
    Ok(value)
}
