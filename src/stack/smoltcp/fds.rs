//! The application's view of smoltcp: a table of fds, each a fresh socket, a listener (a pool of
//! smoltcp sockets standing in for an accept queue) or a connection, plus the options a script set
//! on it before smoltcp had a socket to carry them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;

use crate::stack::{Domain, Errno, Fd};

/// Linux's default TCP_KEEPIDLE (`tcp_keepalive_time`, 7200 s).
pub(super) const LINUX_KEEPIDLE: Duration = Duration::from_secs(7200);

/// Socket options as the script set them. smoltcp fixes buffer sizes when a socket is created,
/// so the socket itself is only created at `listen()` / `connect()` time, from these.
#[derive(Debug, Clone)]
pub(super) struct SocketOptions {
    pub rcvbuf: usize,
    pub sndbuf: usize,
    pub nodelay: bool,
    pub keepalive: bool,
    pub keep_idle: Duration,
    /// TCP_USER_TIMEOUT, mapped onto smoltcp's `set_timeout`.
    pub user_timeout: Option<Duration>,
    /// SO_LINGER: `Some(secs)` when on.
    pub linger: Option<u32>,
    pub reuse_addr: bool,
    pub reuse_port: bool,
    /// IP_TTL / IPV6_UNICAST_HOPS; `None` is smoltcp's default (64).
    pub hop_limit: Option<u8>,
}

impl SocketOptions {
    pub(super) fn new(rcvbuf: usize, sndbuf: usize) -> Self {
        Self {
            rcvbuf,
            sndbuf,
            nodelay: false,
            keepalive: false,
            keep_idle: LINUX_KEEPIDLE,
            user_timeout: None,
            linger: None,
            reuse_addr: false,
            reuse_port: false,
            hop_limit: None,
        }
    }

    /// A smoltcp socket with these buffers and options.
    pub(super) fn new_socket(&self) -> tcp::Socket<'static> {
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; self.rcvbuf]),
            tcp::SocketBuffer::new(vec![0; self.sndbuf]),
        );
        self.apply(&mut socket);
        socket
    }

    /// Carries the options that smoltcp can change on a live socket over to it.
    pub(super) fn apply(&self, socket: &mut tcp::Socket<'_>) {
        socket.set_nagle_enabled(!self.nodelay);
        socket.set_keep_alive(self.keepalive.then_some(self.keep_idle.into()));
        socket.set_timeout(self.user_timeout.map(Into::into));
        socket.set_hop_limit(self.hop_limit);
    }
}

/// How far a `connect()` has got, as Linux's `sock->state` tracks it for repeated calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnectPhase {
    /// The connection came from `accept()`.
    Accepted,
    /// SYN sent; a repeated `connect()` answers EALREADY (or 0 once it is established).
    InProgress,
    /// A `connect()` has reported success; another answers EISCONN.
    Connected,
}

/// One connection's smoltcp socket and what the adapter remembers about it.
#[derive(Debug)]
pub(super) struct Conn {
    pub handle: SocketHandle,
    /// Local and remote endpoint, kept after smoltcp forgets them (it clears them on RST).
    pub tuple: Option<(SocketAddr, SocketAddr)>,
    /// The state seen at the last scan, to notice how the socket reached CLOSED.
    pub last_state: tcp::State,
    /// The error the next read/write/`SO_ERROR` reports (Linux's `sk_err`).
    pub pending_error: Option<Errno>,
    /// The connection failed or was reset: reads give EOF, writes EPIPE.
    pub dead: bool,
    pub phase: ConnectPhase,
}

impl Conn {
    pub(super) fn new(handle: SocketHandle, phase: ConnectPhase) -> Self {
        Self {
            handle,
            tuple: None,
            last_state: tcp::State::Closed,
            pending_error: None,
            dead: false,
            phase,
        }
    }
}

/// What an fd refers to.
#[derive(Debug)]
pub(super) enum FdKind {
    /// `socket()` was called; nothing else that needs a smoltcp socket yet.
    Fresh,
    /// `listen()`: `pool` sockets listen on `endpoint`, each able to take one connection.
    Listener {
        endpoint: SocketAddr,
        pool: Vec<SocketHandle>,
    },
    Conn(Conn),
}

/// One open fd.
#[derive(Debug)]
pub(super) struct FdEntry {
    pub domain: Domain,
    pub nonblocking: bool,
    pub opts: SocketOptions,
    pub bound: Option<SocketAddr>,
    pub kind: FdKind,
}

/// A socket whose fd was closed but which smoltcp still runs (FIN exchange, TIME-WAIT).
#[derive(Debug)]
pub(super) struct Orphan {
    pub handle: SocketHandle,
    pub tuple: Option<(SocketAddr, SocketAddr)>,
}

/// The fd table, numbered as Linux numbers fds: the lowest free number from 3 up.
#[derive(Debug, Default)]
pub(super) struct FdTable {
    entries: BTreeMap<Fd, FdEntry>,
}

/// The first fd a process gets after stdin, stdout and stderr.
const FIRST_FD: Fd = 3;

impl FdTable {
    pub(super) fn insert(&mut self, entry: FdEntry) -> Fd {
        let mut fd = FIRST_FD;
        for &used in self.entries.keys() {
            if used == fd {
                fd += 1;
            } else if used > fd {
                break;
            }
        }
        self.entries.insert(fd, entry);
        fd
    }

    pub(super) fn get(&self, fd: Fd) -> Result<&FdEntry, Errno> {
        self.entries.get(&fd).ok_or(Errno::EBADF)
    }

    pub(super) fn get_mut(&mut self, fd: Fd) -> Result<&mut FdEntry, Errno> {
        self.entries.get_mut(&fd).ok_or(Errno::EBADF)
    }

    pub(super) fn remove(&mut self, fd: Fd) -> Result<FdEntry, Errno> {
        self.entries.remove(&fd).ok_or(Errno::EBADF)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (Fd, &FdEntry)> {
        self.entries.iter().map(|(&fd, e)| (fd, e))
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (Fd, &mut FdEntry)> {
        self.entries.iter_mut().map(|(&fd, e)| (fd, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> FdEntry {
        FdEntry {
            domain: Domain::Inet,
            nonblocking: false,
            opts: SocketOptions::new(1024, 1024),
            bound: None,
            kind: FdKind::Fresh,
        }
    }

    #[test]
    fn fds_are_numbered_lowest_free_from_three() {
        let mut table = FdTable::default();
        assert_eq!(table.insert(fresh()), 3);
        assert_eq!(table.insert(fresh()), 4);
        assert_eq!(table.insert(fresh()), 5);
        assert!(table.remove(4).is_ok());
        assert_eq!(table.insert(fresh()), 4);
        assert_eq!(table.insert(fresh()), 6);
        assert_eq!(table.remove(9).err(), Some(Errno::EBADF));
    }
}
