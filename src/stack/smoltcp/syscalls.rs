//! The socket calls of a script, carried out on smoltcp's socket API with Linux's results and
//! errnos wherever smoltcp's model allows (dependencies.md §4 has the mapping table).
//!
//! Where smoltcp cannot express a call the answer is [`StackError::Unsupported`] with the reason,
//! so the script is skipped, never passed: `shutdown(SHUT_RD)`, TCP_MAXSEG, TCP_SYNCNT,
//! TCP_KEEPINTVL / TCP_KEEPCNT (smoltcp has one keep-alive interval and no probe count),
//! SO_RCVBUF / SO_SNDBUF after `listen`/`connect` (buffers are fixed when the socket is made),
//! and a lingering close (`SO_LINGER` with a non-zero timeout).
//!
//! Known approximations, all invisible on the wire except the last two:
//! - `listen(fd, backlog)` makes `backlog + 1` listening sockets (Linux's accept queue holds
//!   `backlog + 1`), re-armed one by one as `accept()` takes connections; a SYN finding none
//!   free is answered by smoltcp with RST where Linux would drop it;
//! - `accept()`ed sockets inherit the listener's options; `SO_RCVBUF` is clamped to Linux's
//!   bounds but not doubled as Linux does, and is the largest window smoltcp advertises;
//! - a connection reaching CLOSED gets Linux's `tcp_reset()` errno when an RST for it was just
//!   injected, ETIMEDOUT otherwise (smoltcp gives up silently only on its user timeout);
//! - smoltcp empties the receive buffer when it is reset, so data Linux would still deliver
//!   before ECONNRESET is lost (a smoltcp deviation the scripts will show);
//! - `close()` with unread data, or with `SO_LINGER {1, 0}`, aborts (RST) as Linux does
//!   (RFC 2525 §2.17); data arriving after `close()` is still ACKed by smoltcp, where Linux
//!   answers RST.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use smoltcp::socket::tcp;
use smoltcp::wire::{IpEndpoint, IpListenEndpoint};

use super::fds::{Conn, ConnectPhase, FdEntry, FdKind, FdTable, Orphan, SocketOptions};
use super::{Pending, Run, socket_addr};
use crate::stack::{
    Domain, Errno, Fcntl, Fd, Ioctl, ShutdownHow, SockOpt, SockOptName, StackError, Syscall,
    SyscallOutcome, SyscallOutput, SyscallProgress,
};

/// The first port `connect()` and `listen()` pick when the script bound none (IANA's dynamic
/// range, RFC 6335 §6); later ones count up from here, so runs are reproducible.
pub(super) const FIRST_EPHEMERAL_PORT: u16 = 49152;

/// Upper bound on the emulated accept queue (Linux caps `backlog` at `net.core.somaxconn`).
const MAX_BACKLOG: usize = 128;

/// Linux's SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF (x86-64) and default `net.core.rmem_max` /
/// `wmem_max`: the bounds of SO_RCVBUF / SO_SNDBUF.
const RCVBUF_MIN: usize = 2304;
const SNDBUF_MIN: usize = 4608;
const BUFFER_MAX: usize = 212_992;

/// Linux's O_NONBLOCK and O_RDWR, as `fcntl(F_GETFL)` reports them.
const O_NONBLOCK: i32 = 0o4000;
const O_RDWR: i32 = 0o2;
/// SOCK_STREAM, for `getsockopt(SO_TYPE)`.
const SOCK_STREAM: i64 = 1;
/// IPPROTO_IP / IP_TTL and IPPROTO_IPV6 / IPV6_UNICAST_HOPS, passed as raw options.
const RAW_TTL_OPTS: [(i32, i32); 2] = [(0, 2), (41, 16)];

/// Result of one attempt at a call that may have to wait.
enum Attempt {
    Done(SyscallOutcome),
    WouldBlock,
    /// A write that has to wait for room after queueing this many bytes in all.
    WriteBlocked(usize),
}

impl From<Errno> for Attempt {
    fn from(errno: Errno) -> Self {
        Attempt::Done(SyscallOutcome::err(errno))
    }
}

fn unsupported(reason: &str) -> StackError {
    StackError::Unsupported(format!("smoltcp: {reason}"))
}

fn unspecified(domain: Domain) -> IpAddr {
    match domain {
        Domain::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Domain::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// Whether an address of this family may be used on a socket of `domain` (no v4-mapped v6).
fn family_matches(domain: Domain, addr: &SocketAddr) -> bool {
    matches!(
        (domain, addr),
        (Domain::Inet, SocketAddr::V4(_)) | (Domain::Inet6, SocketAddr::V6(_))
    )
}

fn listen_endpoint(addr: SocketAddr) -> IpListenEndpoint {
    IpListenEndpoint {
        addr: (!addr.ip().is_unspecified()).then(|| addr.ip().into()),
        port: addr.port(),
    }
}

impl Run {
    pub(super) fn syscall(&mut self, call: &Syscall) -> Result<SyscallProgress, StackError> {
        let attempt = match call {
            Syscall::Socket {
                domain,
                nonblocking,
            } => Attempt::Done(self.socket(*domain, *nonblocking)),
            Syscall::Bind { fd, addr } => Attempt::Done(done(self.bind(*fd, *addr))),
            Syscall::Listen { fd, backlog } => Attempt::Done(done(self.listen(*fd, *backlog))),
            Syscall::Accept { fd } => self.accept(*fd),
            Syscall::Connect { fd, addr } => self.connect(*fd, *addr)?,
            Syscall::Read { fd, len, peek } => self.read(*fd, *len, *peek),
            Syscall::Write { fd, data } => self.write(*fd, data, 0),
            Syscall::Shutdown { fd, how } => Attempt::Done(done(self.shutdown(*fd, *how)?)),
            Syscall::Close { fd } => Attempt::Done(done(self.close(*fd)?)),
            Syscall::SetSockOpt { fd, opt } => Attempt::Done(done(self.setsockopt(*fd, opt)?)),
            Syscall::GetSockOpt { fd, name } => {
                Attempt::Done(match self.getsockopt(*fd, *name)? {
                    Ok(output) => SyscallOutcome::ok_with(0, output),
                    Err(errno) => SyscallOutcome::err(errno),
                })
            }
            Syscall::Fcntl { fd, cmd } => Attempt::Done(self.fcntl(*fd, *cmd)),
            Syscall::Ioctl { fd, request } => Attempt::Done(self.ioctl(*fd, *request)),
        };
        let outcome = match attempt {
            Attempt::Done(outcome) => outcome,
            Attempt::WriteBlocked(done) => match call {
                Syscall::Write { fd, data } if !self.is_nonblocking(*fd) => {
                    return self.block(Pending::Write {
                        fd: *fd,
                        data: data.clone(),
                        done,
                    });
                }
                _ => SyscallOutcome::err(Errno::EAGAIN),
            },
            Attempt::WouldBlock => {
                let nonblocking = call.fd().is_some_and(|fd| self.is_nonblocking(fd));
                match call {
                    Syscall::Connect { .. } if nonblocking => {
                        SyscallOutcome::err(Errno::EINPROGRESS)
                    }
                    _ if nonblocking => SyscallOutcome::err(Errno::EAGAIN),
                    Syscall::Accept { fd } => return self.block(Pending::Accept { fd: *fd }),
                    Syscall::Connect { fd, .. } => return self.block(Pending::Connect { fd: *fd }),
                    Syscall::Read { fd, len, peek } => {
                        return self.block(Pending::Read {
                            fd: *fd,
                            len: *len,
                            peek: *peek,
                        });
                    }
                    Syscall::Write { fd, data } => {
                        return self.block(Pending::Write {
                            fd: *fd,
                            data: data.clone(),
                            done: 0,
                        });
                    }
                    other => {
                        return Err(StackError::Adapter(format!(
                            "smoltcp adapter: {other:?} cannot block"
                        )));
                    }
                }
            }
        };
        Ok(SyscallProgress::Done(outcome))
    }

    fn is_nonblocking(&self, fd: Fd) -> bool {
        self.fds.get(fd).is_ok_and(|e| e.nonblocking)
    }

    fn block(&mut self, pending: Pending) -> Result<SyscallProgress, StackError> {
        self.pending = Some(pending);
        Ok(SyscallProgress::Blocked)
    }

    /// Tries a blocked call again; `Err` gives it back if it still has to wait.
    pub(super) fn retry(&mut self, pending: Pending) -> Result<SyscallOutcome, Pending> {
        let attempt = match &pending {
            Pending::Accept { fd } => self.accept(*fd),
            Pending::Connect { fd } => self.connect_progress(*fd),
            Pending::Read { fd, len, peek } => self.read(*fd, *len, *peek),
            Pending::Write { fd, data, done } => self.write(*fd, data, *done),
        };
        match (attempt, pending) {
            (Attempt::Done(outcome), _) => Ok(outcome),
            (Attempt::WriteBlocked(done), Pending::Write { fd, data, .. }) => {
                Err(Pending::Write { fd, data, done })
            }
            (_, pending) => Err(pending),
        }
    }

    fn socket(&mut self, domain: Domain, nonblocking: bool) -> SyscallOutcome {
        let fd = self.fds.insert(FdEntry {
            domain,
            nonblocking,
            opts: SocketOptions::new(self.config.rx_buffer, self.config.tx_buffer),
            bound: None,
            kind: FdKind::Fresh,
        });
        SyscallOutcome::ok(i64::from(fd))
    }

    /// Local ports in use by any fd or orphaned connection.
    fn port_in_use(&self, port: u16, except: Fd) -> bool {
        let by_fd = self.fds.iter().any(|(fd, e)| {
            fd != except
                && (e.bound.is_some_and(|b| b.port() == port)
                    || match &e.kind {
                        FdKind::Conn(c) => c.tuple.is_some_and(|(l, _)| l.port() == port),
                        _ => false,
                    })
        });
        by_fd
            || self
                .orphans
                .iter()
                .any(|o| o.tuple.is_some_and(|(l, _)| l.port() == port))
    }

    /// The next free ephemeral port, counting up deterministically.
    fn ephemeral_port(&mut self, fd: Fd) -> Result<u16, Errno> {
        for _ in FIRST_EPHEMERAL_PORT..=u16::MAX {
            let port = self.next_port;
            self.next_port = port.checked_add(1).unwrap_or(FIRST_EPHEMERAL_PORT);
            if !self.port_in_use(port, fd) {
                return Ok(port);
            }
        }
        Err(Errno::EADDRNOTAVAIL)
    }

    fn bind(&mut self, fd: Fd, addr: SocketAddr) -> Result<(), Errno> {
        let local_ip = self.local_ip;
        let entry = self.fds.get(fd)?;
        if entry.bound.is_some() || !matches!(entry.kind, FdKind::Fresh) {
            return Err(Errno::EINVAL);
        }
        if !family_matches(entry.domain, &addr) {
            return Err(match entry.domain {
                Domain::Inet => Errno::EAFNOSUPPORT,
                Domain::Inet6 => Errno::EINVAL,
            });
        }
        if !addr.ip().is_unspecified() && addr.ip() != local_ip {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let reuse = entry.opts.reuse_addr;
        let port = if addr.port() == 0 {
            self.ephemeral_port(fd)?
        } else {
            let clash = self.fds.iter().any(|(other, e)| {
                other != fd
                    && e.bound.is_some_and(|b| b.port() == addr.port())
                    && !(reuse && e.opts.reuse_addr && !matches!(e.kind, FdKind::Listener { .. }))
            });
            if clash {
                return Err(Errno::EADDRINUSE);
            }
            addr.port()
        };
        self.fds.get_mut(fd)?.bound = Some(SocketAddr::new(addr.ip(), port));
        Ok(())
    }

    fn listen(&mut self, fd: Fd, backlog: i32) -> Result<(), Errno> {
        let wanted = usize::try_from(backlog).unwrap_or(0).min(MAX_BACKLOG) + 1;
        let entry = self.fds.get(fd)?;
        let endpoint = match (&entry.kind, entry.bound) {
            (FdKind::Conn(_), _) => return Err(Errno::EINVAL),
            (FdKind::Listener { endpoint, .. }, _) => *endpoint,
            (FdKind::Fresh, Some(bound)) => bound,
            // Linux binds an unbound socket to an ephemeral port on listen().
            (FdKind::Fresh, None) => {
                let any = unspecified(entry.domain);
                let port = self.ephemeral_port(fd)?;
                SocketAddr::new(any, port)
            }
        };
        let entry = self.fds.get_mut(fd)?;
        entry.bound = Some(endpoint);
        let opts = entry.opts.clone();
        let mut pool = match std::mem::replace(&mut entry.kind, FdKind::Fresh) {
            FdKind::Listener { pool, .. } => pool,
            _ => Vec::new(),
        };
        // A repeated listen() only ever grows the pool: shrinking would drop pending connections.
        while pool.len() < wanted {
            pool.push(self.listening_socket(&opts, endpoint)?);
        }
        self.fds.get_mut(fd)?.kind = FdKind::Listener { endpoint, pool };
        Ok(())
    }

    fn listening_socket(
        &mut self,
        opts: &SocketOptions,
        endpoint: SocketAddr,
    ) -> Result<smoltcp::iface::SocketHandle, Errno> {
        let mut socket = opts.new_socket();
        socket
            .listen(listen_endpoint(endpoint))
            .map_err(|_| Errno::EINVAL)?;
        Ok(self.sockets.add(socket))
    }

    fn accept(&mut self, fd: Fd) -> Attempt {
        let entry = match self.fds.get(fd) {
            Ok(entry) => entry,
            Err(errno) => return errno.into(),
        };
        let FdKind::Listener { endpoint, pool } = &entry.kind else {
            return Errno::EINVAL.into();
        };
        let endpoint = *endpoint;
        let opts = entry.opts.clone();
        let domain = entry.domain;
        let mut ready = None;
        for (i, &handle) in pool.iter().enumerate() {
            let socket = self.sockets.get_mut::<tcp::Socket>(handle);
            match socket.state() {
                tcp::State::Listen | tcp::State::SynReceived => {}
                // Reset before it was accepted: Linux drops such a child; re-arm the slot.
                tcp::State::Closed => {
                    let _ = socket.listen(listen_endpoint(endpoint));
                }
                _ if ready.is_none() => ready = Some(i),
                _ => {}
            }
        }
        let Some(index) = ready else {
            return Attempt::WouldBlock;
        };
        let fresh = match self.listening_socket(&opts, endpoint) {
            Ok(handle) => handle,
            Err(errno) => return errno.into(),
        };
        let Ok(FdEntry {
            kind: FdKind::Listener { pool, .. },
            ..
        }) = self.fds.get_mut(fd)
        else {
            return Errno::EINVAL.into();
        };
        let handle = std::mem::replace(&mut pool[index], fresh);
        let socket = self.sockets.get::<tcp::Socket>(handle);
        let tuple = socket
            .local_endpoint()
            .zip(socket.remote_endpoint())
            .map(|(l, r)| (socket_addr(l), socket_addr(r)));
        let mut conn = Conn::new(handle, ConnectPhase::Accepted);
        conn.tuple = tuple;
        conn.last_state = socket.state();
        let peer = tuple.map(|(_, r)| r);
        let new_fd = self.fds.insert(FdEntry {
            domain,
            nonblocking: false,
            opts,
            bound: tuple.map(|(l, _)| l),
            kind: FdKind::Conn(conn),
        });
        Attempt::Done(match peer {
            Some(peer) => SyscallOutcome::ok_with(i64::from(new_fd), SyscallOutput::Peer(peer)),
            None => SyscallOutcome::ok(i64::from(new_fd)),
        })
    }

    fn connect(&mut self, fd: Fd, addr: SocketAddr) -> Result<Attempt, StackError> {
        let entry = match self.fds.get(fd) {
            Ok(entry) => entry,
            Err(errno) => return Ok(errno.into()),
        };
        match &entry.kind {
            FdKind::Listener { .. } => return Ok(Errno::EISCONN.into()),
            FdKind::Conn(conn) => {
                return Ok(match conn.phase {
                    ConnectPhase::InProgress => match self.connect_progress(fd) {
                        Attempt::WouldBlock => Errno::EALREADY.into(),
                        done => done,
                    },
                    ConnectPhase::Accepted | ConnectPhase::Connected => Errno::EISCONN.into(),
                });
            }
            FdKind::Fresh => {}
        }
        if !family_matches(entry.domain, &addr) {
            return Ok(Errno::EAFNOSUPPORT.into());
        }
        if addr.ip().is_unspecified() || addr.port() == 0 {
            return Err(unsupported(
                "connect() to an unspecified address or port 0 (smoltcp refuses it outright)",
            ));
        }
        let bound = entry.bound;
        let mut socket = entry.opts.new_socket();
        let local_ip = match bound {
            Some(b) if !b.ip().is_unspecified() => b.ip(),
            _ if self.local_ip.is_ipv4() == addr.is_ipv4() => self.local_ip,
            _ => return Ok(Errno::ENETUNREACH.into()),
        };
        let port = match bound {
            Some(b) => b.port(),
            None => match self.ephemeral_port(fd) {
                Ok(port) => port,
                Err(errno) => return Ok(errno.into()),
            },
        };
        let local = SocketAddr::new(local_ip, port);
        if socket
            .connect(
                self.iface.context(),
                IpEndpoint::from(addr),
                listen_endpoint(local),
            )
            .is_err()
        {
            return Ok(Errno::EADDRNOTAVAIL.into());
        }
        let mut conn = Conn::new(self.sockets.add(socket), ConnectPhase::InProgress);
        conn.tuple = Some((local, addr));
        conn.last_state = tcp::State::SynSent;
        let entry = self.fds.get_mut(fd).map_err(|_| {
            StackError::Adapter("smoltcp adapter: fd vanished during connect".into())
        })?;
        entry.bound = Some(local);
        entry.kind = FdKind::Conn(conn);
        Ok(Attempt::WouldBlock)
    }

    /// Where a `connect()` in progress stands: still handshaking, established or failed.
    fn connect_progress(&mut self, fd: Fd) -> Attempt {
        let Ok(FdEntry {
            kind: FdKind::Conn(conn),
            ..
        }) = self.fds.get_mut(fd)
        else {
            return Errno::EBADF.into();
        };
        match self.sockets.get::<tcp::Socket>(conn.handle).state() {
            tcp::State::SynSent | tcp::State::SynReceived => Attempt::WouldBlock,
            tcp::State::Closed => {
                // Linux reports the failure once, after which the socket is unconnected again.
                let errno = conn.pending_error.take().unwrap_or(Errno::ECONNREFUSED);
                Attempt::Done(SyscallOutcome::err(errno))
            }
            _ => {
                conn.phase = ConnectPhase::Connected;
                Attempt::Done(SyscallOutcome::ok(0))
            }
        }
    }

    fn read(&mut self, fd: Fd, len: usize, peek: bool) -> Attempt {
        let conn = match conn_mut(&mut self.fds, fd) {
            Ok(conn) => conn,
            Err(errno) => return errno.into(),
        };
        let socket = self.sockets.get_mut::<tcp::Socket>(conn.handle);
        let queued = socket.recv_queue();
        if queued > 0 && len > 0 {
            let mut buf = vec![0; len.min(queued)];
            let n = if peek {
                socket.peek_slice(&mut buf).unwrap_or(0)
            } else {
                // The ring buffer hands out at most its contiguous part per call.
                let mut n = 0;
                while n < buf.len() {
                    match socket.recv_slice(&mut buf[n..]) {
                        Ok(0) | Err(_) => break,
                        Ok(got) => n += got,
                    }
                }
                n
            };
            buf.truncate(n);
            return Attempt::Done(SyscallOutcome::ok_with(n as i64, SyscallOutput::Data(buf)));
        }
        if let Some(errno) = conn.pending_error.take() {
            return errno.into();
        }
        if len == 0 {
            return Attempt::Done(SyscallOutcome::ok(0));
        }
        match socket.state() {
            tcp::State::SynSent
            | tcp::State::SynReceived
            | tcp::State::Established
            | tcp::State::FinWait1
            | tcp::State::FinWait2 => Attempt::WouldBlock,
            // FIN received, or the connection is over: end of file.
            _ => Attempt::Done(SyscallOutcome::ok(0)),
        }
    }

    /// Queues `data[done..]`; a blocking write returns once all of it is queued.
    fn write(&mut self, fd: Fd, data: &[u8], done: usize) -> Attempt {
        let conn = match conn_mut(&mut self.fds, fd) {
            Ok(conn) => conn,
            // Linux's sk_stream_wait_connect(): not connected and not connecting.
            Err(Errno::ENOTCONN) => return Errno::EPIPE.into(),
            Err(errno) => return errno.into(),
        };
        if let Some(errno) = conn.pending_error.take() {
            return errno.into();
        }
        let socket = self.sockets.get_mut::<tcp::Socket>(conn.handle);
        if matches!(
            socket.state(),
            tcp::State::SynSent | tcp::State::SynReceived
        ) {
            return Attempt::WriteBlocked(done);
        }
        if !socket.may_send() {
            return if done > 0 {
                Attempt::Done(SyscallOutcome::ok(done as i64))
            } else {
                Errno::EPIPE.into()
            };
        }
        let rest = data.get(done..).unwrap_or_default();
        let written = done + socket.send_slice(rest).unwrap_or(0);
        if written == data.len() {
            return Attempt::Done(SyscallOutcome::ok(written as i64));
        }
        if self.is_nonblocking(fd) && written > 0 {
            return Attempt::Done(SyscallOutcome::ok(written as i64));
        }
        Attempt::WriteBlocked(written)
    }

    fn shutdown(&mut self, fd: Fd, how: ShutdownHow) -> Result<Result<(), Errno>, StackError> {
        if how != ShutdownHow::Write {
            return Err(unsupported(
                "no shutdown(SHUT_RD): only the peer can close smoltcp's receive half",
            ));
        }
        let conn = match conn_mut(&mut self.fds, fd) {
            Ok(conn) => conn,
            Err(errno) => return Ok(Err(errno)),
        };
        let socket = self.sockets.get_mut::<tcp::Socket>(conn.handle);
        if socket.state() == tcp::State::Closed {
            return Ok(Err(Errno::ENOTCONN));
        }
        socket.close();
        Ok(Ok(()))
    }

    fn close(&mut self, fd: Fd) -> Result<Result<(), Errno>, StackError> {
        if let Ok(FdEntry {
            opts: SocketOptions {
                linger: Some(secs), ..
            },
            kind: FdKind::Conn(_),
            ..
        }) = self.fds.get(fd)
            && *secs > 0
        {
            return Err(unsupported(
                "close() lingering with SO_LINGER {1, >0} is not emulated",
            ));
        }
        let entry = match self.fds.remove(fd) {
            Ok(entry) => entry,
            Err(errno) => return Ok(Err(errno)),
        };
        match entry.kind {
            FdKind::Fresh => {}
            FdKind::Listener { pool, .. } => {
                for handle in pool {
                    let socket = self.sockets.get_mut::<tcp::Socket>(handle);
                    match socket.state() {
                        // Handshakes in progress vanish silently, as Linux's request socks do.
                        tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed => {
                            self.sockets.remove(handle);
                        }
                        // Linux resets connections that were never accepted.
                        _ => {
                            let tuple = socket
                                .local_endpoint()
                                .zip(socket.remote_endpoint())
                                .map(|(l, r)| (socket_addr(l), socket_addr(r)));
                            socket.abort();
                            self.orphans.push(Orphan { handle, tuple });
                        }
                    }
                }
            }
            FdKind::Conn(conn) => {
                let socket = self.sockets.get_mut::<tcp::Socket>(conn.handle);
                // RFC 2525 §2.17 and Linux: unread data (or SO_LINGER {1, 0}) means RST.
                if socket.recv_queue() > 0 || entry.opts.linger == Some(0) {
                    socket.abort();
                } else {
                    socket.close();
                }
                self.orphans.push(Orphan {
                    handle: conn.handle,
                    tuple: conn.tuple,
                });
            }
        }
        Ok(Ok(()))
    }

    fn setsockopt(&mut self, fd: Fd, opt: &SockOpt) -> Result<Result<(), Errno>, StackError> {
        let entry = match self.fds.get_mut(fd) {
            Ok(entry) => entry,
            Err(errno) => return Ok(Err(errno)),
        };
        let opened = !matches!(entry.kind, FdKind::Fresh);
        let opts = &mut entry.opts;
        match opt {
            SockOpt::ReuseAddr(on) => opts.reuse_addr = *on,
            SockOpt::ReusePort(on) => opts.reuse_port = *on,
            SockOpt::Linger(secs) => opts.linger = *secs,
            SockOpt::NoDelay(on) => opts.nodelay = *on,
            SockOpt::KeepAlive(on) => opts.keepalive = *on,
            SockOpt::KeepIdle(secs) => match u64::try_from(*secs).ok().filter(|&s| s > 0) {
                Some(secs) => opts.keep_idle = Duration::from_secs(secs),
                None => return Ok(Err(Errno::EINVAL)),
            },
            SockOpt::UserTimeout(ms) => {
                opts.user_timeout = (*ms > 0).then(|| Duration::from_millis(u64::from(*ms)));
            }
            SockOpt::RcvBuf(size) | SockOpt::SndBuf(size) => {
                if opened {
                    return Err(unsupported(
                        "SO_RCVBUF/SO_SNDBUF after listen()/connect(): socket buffers are fixed",
                    ));
                }
                // Linux clamps to its minimum and to net.core.[rw]mem_max; so do we (without
                // Linux's doubling), which also keeps a script from allocating gigabytes.
                let size = usize::try_from(*size).unwrap_or(0).min(BUFFER_MAX);
                match opt {
                    SockOpt::RcvBuf(_) => opts.rcvbuf = size.max(RCVBUF_MIN),
                    _ => opts.sndbuf = size.max(SNDBUF_MIN),
                }
            }
            SockOpt::Raw { level, name, value } if RAW_TTL_OPTS.contains(&(*level, *name)) => {
                let ttl = value
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(i32::from_ne_bytes);
                match ttl {
                    // -1 restores the default, as in Linux.
                    Some(-1) => opts.hop_limit = None,
                    Some(ttl) => match u8::try_from(ttl).ok().filter(|&t| t > 0) {
                        Some(ttl) => opts.hop_limit = Some(ttl),
                        None => return Ok(Err(Errno::EINVAL)),
                    },
                    None => return Ok(Err(Errno::EINVAL)),
                }
            }
            SockOpt::MaxSeg(_) => {
                return Err(unsupported("no TCP_MAXSEG: the MSS follows from the MTU"));
            }
            SockOpt::SynCnt(_) => {
                return Err(unsupported("no TCP_SYNCNT: SYNs are retried without limit"));
            }
            SockOpt::KeepIntvl(_) | SockOpt::KeepCnt(_) => {
                return Err(unsupported(
                    "no TCP_KEEPINTVL/TCP_KEEPCNT: one keep-alive interval, no probe count",
                ));
            }
            SockOpt::Raw { level, name, .. } => {
                return Err(unsupported(&format!(
                    "socket option level {level} name {name} has no smoltcp equivalent"
                )));
            }
        }
        let opts = opts.clone();
        self.apply_options(fd, &opts);
        Ok(Ok(()))
    }

    /// Carries changed options to the smoltcp sockets behind `fd`.
    fn apply_options(&mut self, fd: Fd, opts: &SocketOptions) {
        let handles: Vec<_> = match self.fds.get(fd).map(|e| &e.kind) {
            Ok(FdKind::Conn(conn)) => vec![conn.handle],
            Ok(FdKind::Listener { pool, .. }) => pool.clone(),
            _ => Vec::new(),
        };
        for handle in handles {
            opts.apply(self.sockets.get_mut::<tcp::Socket>(handle));
        }
    }

    fn getsockopt(
        &mut self,
        fd: Fd,
        name: SockOptName,
    ) -> Result<Result<SyscallOutput, Errno>, StackError> {
        let entry = match self.fds.get_mut(fd) {
            Ok(entry) => entry,
            Err(errno) => return Ok(Err(errno)),
        };
        let opts = &entry.opts;
        let int = |v: i64| Ok(Ok(SyscallOutput::Int(v)));
        match name {
            SockOptName::ReuseAddr => int(i64::from(opts.reuse_addr)),
            SockOptName::ReusePort => int(i64::from(opts.reuse_port)),
            SockOptName::NoDelay => int(i64::from(opts.nodelay)),
            SockOptName::KeepAlive => int(i64::from(opts.keepalive)),
            SockOptName::RcvBuf => int(opts.rcvbuf as i64),
            SockOptName::SndBuf => int(opts.sndbuf as i64),
            SockOptName::KeepIdle => int(opts.keep_idle.as_secs() as i64),
            SockOptName::UserTimeout => int(opts.user_timeout.map_or(0, |t| t.as_millis() as i64)),
            SockOptName::Type => int(SOCK_STREAM),
            SockOptName::Linger => Ok(Ok(SyscallOutput::Linger {
                onoff: opts.linger.is_some(),
                secs: opts.linger.unwrap_or(0),
            })),
            SockOptName::Error => {
                let errno = match &mut entry.kind {
                    FdKind::Conn(conn) => conn.pending_error.take(),
                    _ => None,
                };
                int(errno.map_or(0, |e| e as i64))
            }
            SockOptName::MaxSeg
            | SockOptName::KeepIntvl
            | SockOptName::KeepCnt
            | SockOptName::SynCnt
            | SockOptName::Raw { .. } => Err(unsupported(&format!(
                "getsockopt({name:?}) has no smoltcp equivalent"
            ))),
        }
    }

    fn fcntl(&mut self, fd: Fd, cmd: Fcntl) -> SyscallOutcome {
        let entry = match self.fds.get_mut(fd) {
            Ok(entry) => entry,
            Err(errno) => return SyscallOutcome::err(errno),
        };
        match cmd {
            Fcntl::GetFl => {
                let nonblock = if entry.nonblocking { O_NONBLOCK } else { 0 };
                SyscallOutcome::ok(i64::from(O_RDWR | nonblock))
            }
            Fcntl::SetFl(flags) => {
                entry.nonblocking = flags & O_NONBLOCK != 0;
                SyscallOutcome::ok(0)
            }
        }
    }

    fn ioctl(&mut self, fd: Fd, request: Ioctl) -> SyscallOutcome {
        let handle = match self.fds.get(fd).map(|e| &e.kind) {
            Err(errno) => return SyscallOutcome::err(errno),
            Ok(FdKind::Conn(conn)) => conn.handle,
            // Linux answers EINVAL for a listening socket.
            Ok(FdKind::Listener { .. }) => return SyscallOutcome::err(Errno::EINVAL),
            Ok(FdKind::Fresh) => return SyscallOutcome::ok(0),
        };
        let socket = self.sockets.get::<tcp::Socket>(handle);
        let n = match request {
            Ioctl::InQueue => socket.recv_queue(),
            // smoltcp's send buffer holds exactly the unacknowledged and unsent bytes, as
            // Linux's SIOCOUTQ counts them.
            Ioctl::OutQueue => socket.send_queue(),
        };
        SyscallOutcome::ok(n as i64)
    }
}

fn conn_mut(fds: &mut FdTable, fd: Fd) -> Result<&mut Conn, Errno> {
    match &mut fds.get_mut(fd)?.kind {
        FdKind::Conn(conn) => Ok(conn),
        FdKind::Fresh | FdKind::Listener { .. } => Err(Errno::ENOTCONN),
    }
}

fn done(result: Result<(), Errno>) -> SyscallOutcome {
    match result {
        Ok(()) => SyscallOutcome::ok(0),
        Err(errno) => SyscallOutcome::err(errno),
    }
}
