//! The application's sockets: the fds the adapter created, and every [`Syscall`] carried out on them.
//!
//! Only fds in this table are ever touched: a call naming any other fd answers `EBADF` as the kernel
//! would for a closed one, so a confused script can never close or write to the engine's own files
//! or to the TUN device.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV6};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};

use nix::libc;

use super::blocking::Pending;
use super::diag;
use super::sys::{self, RawAddr};
use crate::stack::{
    Domain, Errno, Fcntl, Fd, Ioctl, ShutdownHow, SockOpt, SockOptName, StackError, Syscall,
    SyscallOutcome, SyscallOutput, TcpState,
};

/// Largest `read()` buffer the adapter allocates; a script asking for more is not runnable here.
const MAX_READ: usize = 16 << 20;
/// Largest raw `getsockopt` buffer.
const MAX_OPT: u32 = 64 << 10;

/// What the first, non-blocking attempt at a call found.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// The call returned, as the blocking one would have.
    Done(SyscallOutcome),
    /// A blocking call would wait; the namespace thread finishes it.
    Block(Pending),
    /// `close()` with a lingering timeout: it may wait for the peer, so it runs on a helper thread.
    LingerClose(OwnedFd),
}

#[derive(Debug)]
struct OpenSocket {
    fd: OwnedFd,
    domain: Domain,
}

/// The sockets the application holds.
#[derive(Debug)]
pub(crate) struct Sockets {
    open: HashMap<Fd, OpenSocket>,
    /// IPv4 addresses given to AF_INET6 sockets become IPv4-mapped ones (`--ip_version=ipv4-mapped-ipv6`).
    map_v4: bool,
}

fn outcome<T>(result: Result<T, Errno>, ok: impl FnOnce(T) -> SyscallOutcome) -> SyscallOutcome {
    match result {
        Ok(v) => ok(v),
        Err(e) => SyscallOutcome::err(e),
    }
}

fn int_bytes(v: i32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// Level, name and value bytes of a `setsockopt`.
fn sockopt_value(opt: &SockOpt) -> (i32, i32, Vec<u8>) {
    let sol = libc::SOL_SOCKET;
    let tcp = libc::IPPROTO_TCP;
    match opt {
        SockOpt::ReuseAddr(on) => (sol, libc::SO_REUSEADDR, int_bytes(i32::from(*on))),
        SockOpt::ReusePort(on) => (sol, libc::SO_REUSEPORT, int_bytes(i32::from(*on))),
        SockOpt::Linger(linger) => {
            let (onoff, secs) = match linger {
                Some(secs) => (1i32, *secs as i32),
                None => (0, 0),
            };
            let mut v = int_bytes(onoff);
            v.extend_from_slice(&secs.to_ne_bytes());
            (sol, libc::SO_LINGER, v)
        }
        SockOpt::RcvBuf(n) => (sol, libc::SO_RCVBUF, int_bytes(*n)),
        SockOpt::SndBuf(n) => (sol, libc::SO_SNDBUF, int_bytes(*n)),
        SockOpt::KeepAlive(on) => (sol, libc::SO_KEEPALIVE, int_bytes(i32::from(*on))),
        SockOpt::NoDelay(on) => (tcp, libc::TCP_NODELAY, int_bytes(i32::from(*on))),
        SockOpt::MaxSeg(n) => (tcp, libc::TCP_MAXSEG, int_bytes(*n)),
        SockOpt::UserTimeout(ms) => (tcp, libc::TCP_USER_TIMEOUT, ms.to_ne_bytes().to_vec()),
        SockOpt::KeepIdle(n) => (tcp, libc::TCP_KEEPIDLE, int_bytes(*n)),
        SockOpt::KeepIntvl(n) => (tcp, libc::TCP_KEEPINTVL, int_bytes(*n)),
        SockOpt::KeepCnt(n) => (tcp, libc::TCP_KEEPCNT, int_bytes(*n)),
        SockOpt::SynCnt(n) => (tcp, libc::TCP_SYNCNT, int_bytes(*n)),
        SockOpt::Raw { level, name, value } => (*level, *name, value.clone()),
    }
}

/// Level and name of an integer `getsockopt`.
fn int_option(name: SockOptName) -> Option<(i32, i32)> {
    let sol = libc::SOL_SOCKET;
    let tcp = libc::IPPROTO_TCP;
    Some(match name {
        SockOptName::ReuseAddr => (sol, libc::SO_REUSEADDR),
        SockOptName::ReusePort => (sol, libc::SO_REUSEPORT),
        SockOptName::RcvBuf => (sol, libc::SO_RCVBUF),
        SockOptName::SndBuf => (sol, libc::SO_SNDBUF),
        SockOptName::KeepAlive => (sol, libc::SO_KEEPALIVE),
        SockOptName::Error => (sol, libc::SO_ERROR),
        SockOptName::Type => (sol, libc::SO_TYPE),
        SockOptName::NoDelay => (tcp, libc::TCP_NODELAY),
        SockOptName::MaxSeg => (tcp, libc::TCP_MAXSEG),
        SockOptName::UserTimeout => (tcp, libc::TCP_USER_TIMEOUT),
        SockOptName::KeepIdle => (tcp, libc::TCP_KEEPIDLE),
        SockOptName::KeepIntvl => (tcp, libc::TCP_KEEPINTVL),
        SockOptName::KeepCnt => (tcp, libc::TCP_KEEPCNT),
        SockOptName::SynCnt => (tcp, libc::TCP_SYNCNT),
        SockOptName::Linger | SockOptName::Raw { .. } => return None,
    })
}

/// Runs `f` with `O_NONBLOCK` set on `fd`, then restores the flags the application had set.
/// Nothing else touches the fd meanwhile: the engine is single-threaded and the helper only holds
/// fds whose call is already blocked.
fn with_nonblocking<T>(fd: i32, f: impl FnOnce() -> T) -> Result<T, Errno> {
    let flags = sys::get_flags(fd)?;
    if flags & libc::O_NONBLOCK != 0 {
        return Ok(f());
    }
    sys::set_flags(fd, flags | libc::O_NONBLOCK)?;
    let result = f();
    sys::set_flags(fd, flags)?;
    Ok(result)
}

impl Sockets {
    pub(crate) fn new(map_v4: bool) -> Sockets {
        Sockets {
            open: HashMap::new(),
            map_v4,
        }
    }

    /// Takes ownership of a socket the application now holds.
    pub(crate) fn insert(&mut self, fd: OwnedFd, domain: Domain) -> Fd {
        let raw = fd.as_raw_fd();
        self.open.insert(raw, OpenSocket { fd, domain });
        raw
    }

    /// Socket inode → fd, to attribute sock_diag entries to the fds that hold them.
    pub(crate) fn inodes(&self) -> HashMap<u64, Fd> {
        self.open
            .iter()
            .filter_map(|(fd, sock)| Some((sys::inode(sock.fd.as_raw_fd()).ok()?, *fd)))
            .collect()
    }

    /// The TCP state of the socket held as `fd` (`tcpi_state`, the first byte of `TCP_INFO`), `None`
    /// if the application holds no such fd. One getsockopt: no table is searched.
    pub(crate) fn tcp_state(&self, fd: Fd) -> Result<Option<TcpState>, StackError> {
        let Some(sock) = self.open.get(&fd) else {
            return Ok(None);
        };
        let info = sys::getsockopt_bytes(sock.fd.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_INFO, 1)
            .map_err(|e| StackError::Adapter(format!("TCP_INFO on fd {fd}: {e}")))?;
        match info.first() {
            Some(&raw) => diag::state_from_linux(raw).map(Some).ok_or_else(|| {
                StackError::Adapter(format!("TCP_INFO on fd {fd}: unknown tcpi_state {raw}"))
            }),
            None => Err(StackError::Adapter(format!(
                "TCP_INFO on fd {fd} returned nothing"
            ))),
        }
    }

    /// Closes every socket (teardown).
    pub(crate) fn close_all(&mut self) {
        self.open.clear();
    }

    /// The address as the socket's family needs it.
    fn addr_for(&self, domain: Domain, addr: SocketAddr) -> SocketAddr {
        match (domain, addr) {
            (Domain::Inet6, SocketAddr::V4(v4)) if self.map_v4 => {
                SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0))
            }
            _ => addr,
        }
    }

    /// Carries out `call` (anything but `socket()`, which needs the namespace thread) without
    /// blocking, and says whether it is finished.
    pub(crate) fn attempt(&mut self, call: &Syscall) -> Result<Attempt, StackError> {
        let Some(fd) = call.fd() else {
            return unreachable_socket();
        };
        let Some(sock) = self.open.get(&fd) else {
            return Ok(Attempt::Done(SyscallOutcome::err(Errno::EBADF)));
        };
        let domain = sock.domain;
        let raw = sock.fd.as_raw_fd();
        let done = |o| Ok(Attempt::Done(o));
        match call {
            Syscall::Socket { .. } => unreachable_socket(),
            Syscall::Bind { addr, .. } => {
                let addr = RawAddr::new(self.addr_for(domain, *addr));
                // SAFETY: the address buffer is valid for `addr.len` bytes.
                let rc = sys::check(unsafe { libc::bind(raw, addr.as_ptr(), addr.len) });
                done(outcome(rc, |_| SyscallOutcome::ok(0)))
            }
            Syscall::Listen { backlog, .. } => {
                // SAFETY: plain listen(2).
                let rc = sys::check(unsafe { libc::listen(raw, *backlog) });
                done(outcome(rc, |_| SyscallOutcome::ok(0)))
            }
            Syscall::Accept { .. } => self.accept(raw, domain),
            Syscall::Connect { addr, .. } => self.connect(raw, self.addr_for(domain, *addr)),
            Syscall::Read { len, peek, .. } => {
                if *len > MAX_READ {
                    return Err(StackError::Unsupported(format!(
                        "read of {len} bytes exceeds the linux adapter's {MAX_READ}-byte buffer"
                    )));
                }
                let flags = if *peek { libc::MSG_PEEK } else { 0 };
                match sys::recv(raw, *len, flags | libc::MSG_DONTWAIT) {
                    Err(Errno::EAGAIN) if blocking(raw)? => Ok(Attempt::Block(Pending::Read {
                        fd: sys::dup(raw)?,
                        len: *len,
                        flags,
                    })),
                    result => done(outcome(result, |data| {
                        SyscallOutcome::ok_with(data.len() as i64, SyscallOutput::Data(data))
                    })),
                }
            }
            Syscall::Write { data, .. } => {
                let written = match sys::send(raw, data, libc::MSG_DONTWAIT) {
                    Ok(n) => n,
                    Err(Errno::EAGAIN) => 0,
                    Err(e) => return done(SyscallOutcome::err(e)),
                };
                if written < data.len() && blocking(raw)? {
                    return Ok(Attempt::Block(Pending::Write {
                        fd: sys::dup(raw)?,
                        data: data.clone(),
                        written,
                    }));
                }
                if written == 0 && !data.is_empty() {
                    return done(SyscallOutcome::err(Errno::EAGAIN));
                }
                done(SyscallOutcome::ok(written as i64))
            }
            Syscall::Shutdown { how, .. } => {
                let how = match how {
                    ShutdownHow::Read => libc::SHUT_RD,
                    ShutdownHow::Write => libc::SHUT_WR,
                    ShutdownHow::Both => libc::SHUT_RDWR,
                };
                // SAFETY: plain shutdown(2).
                let rc = sys::check(unsafe { libc::shutdown(raw, how) });
                done(outcome(rc, |_| SyscallOutcome::ok(0)))
            }
            Syscall::Close { .. } => {
                // SO_LINGER with a timeout makes close() wait for the FIN to be acknowledged, on
                // blocking and non-blocking sockets alike (inet_release → tcp_close).
                let lingers = matches!(sys::get_linger(raw), Ok((true, secs)) if secs > 0);
                let Some(sock) = self.open.remove(&fd) else {
                    return done(SyscallOutcome::err(Errno::EBADF));
                };
                if lingers {
                    return Ok(Attempt::LingerClose(sock.fd));
                }
                // SAFETY: we own the fd and give it up here; nothing uses the number afterwards.
                let rc = sys::check(unsafe { libc::close(sock.fd.into_raw_fd()) });
                done(outcome(rc, |_| SyscallOutcome::ok(0)))
            }
            Syscall::SetSockOpt { opt, .. } => {
                let (level, name, value) = sockopt_value(opt);
                done(outcome(
                    sys::setsockopt_bytes(raw, level, name, &value),
                    |_| SyscallOutcome::ok(0),
                ))
            }
            Syscall::GetSockOpt { name, .. } => done(get_sockopt(raw, *name)?),
            Syscall::Fcntl { cmd, .. } => done(match cmd {
                Fcntl::GetFl => outcome(sys::get_flags(raw), |f| SyscallOutcome::ok(i64::from(f))),
                Fcntl::SetFl(flags) => outcome(sys::set_flags(raw, *flags), |r| {
                    SyscallOutcome::ok(i64::from(r))
                }),
            }),
            Syscall::Ioctl { request, .. } => {
                let req = match request {
                    Ioctl::InQueue => libc::FIONREAD,
                    Ioctl::OutQueue => libc::TIOCOUTQ,
                };
                let mut value: libc::c_int = 0;
                // SAFETY: SIOCINQ / SIOCOUTQ write one int.
                let rc =
                    sys::check(unsafe { libc::ioctl(raw, req, &mut value as *mut libc::c_int) });
                done(outcome(rc, |_| {
                    SyscallOutcome::ok_with(0, SyscallOutput::Int(i64::from(value)))
                }))
            }
        }
    }

    fn accept(&mut self, raw: i32, domain: Domain) -> Result<Attempt, StackError> {
        let was_blocking = blocking(raw)?;
        match with_nonblocking(raw, || sys::accept(raw)) {
            Ok(Ok((new, peer))) => {
                let fd = self.insert(new, domain);
                let output = peer.map_or(SyscallOutput::None, SyscallOutput::Peer);
                Ok(Attempt::Done(SyscallOutcome::ok_with(
                    i64::from(fd),
                    output,
                )))
            }
            Ok(Err(Errno::EAGAIN)) if was_blocking => Ok(Attempt::Block(Pending::Accept {
                fd: sys::dup(raw)?,
                domain,
            })),
            Ok(Err(e)) | Err(e) => Ok(Attempt::Done(SyscallOutcome::err(e))),
        }
    }

    fn connect(&mut self, raw: i32, addr: SocketAddr) -> Result<Attempt, StackError> {
        let was_blocking = blocking(raw)?;
        let addr = RawAddr::new(addr);
        let attempt = with_nonblocking(raw, || {
            // SAFETY: the address buffer is valid for `addr.len` bytes.
            sys::check(unsafe { libc::connect(raw, addr.as_ptr(), addr.len) })
        });
        match attempt {
            Ok(Ok(_)) => Ok(Attempt::Done(SyscallOutcome::ok(0))),
            // The SYN is out; a blocking connect would now wait for the handshake.
            Ok(Err(Errno::EINPROGRESS)) if was_blocking => Ok(Attempt::Block(Pending::Connect {
                fd: sys::dup(raw)?,
                addr,
            })),
            Ok(Err(e)) | Err(e) => Ok(Attempt::Done(SyscallOutcome::err(e))),
        }
    }
}

/// `socket()` never reaches [`Sockets::attempt`]: [`Syscall::fd`] is `None` for it.
fn unreachable_socket() -> Result<Attempt, StackError> {
    Err(StackError::Adapter(
        "socket() must be created in the namespace thread".into(),
    ))
}

fn blocking(fd: i32) -> Result<bool, StackError> {
    sys::is_blocking(fd).map_err(|e| StackError::Adapter(format!("fcntl(F_GETFL) on fd {fd}: {e}")))
}

fn get_sockopt(raw: i32, name: SockOptName) -> Result<SyscallOutcome, StackError> {
    if let Some((level, opt)) = int_option(name) {
        return Ok(outcome(sys::getsockopt_int(raw, level, opt), |v| {
            SyscallOutcome::ok_with(0, SyscallOutput::Int(i64::from(v)))
        }));
    }
    Ok(match name {
        SockOptName::Linger => outcome(sys::get_linger(raw), |(onoff, secs)| {
            SyscallOutcome::ok_with(
                0,
                SyscallOutput::Linger {
                    onoff,
                    secs: secs.max(0) as u32,
                },
            )
        }),
        SockOptName::Raw { level, name, len } => {
            if len > MAX_OPT {
                return Err(StackError::Unsupported(format!(
                    "getsockopt buffer of {len} bytes exceeds the linux adapter's {MAX_OPT}"
                )));
            }
            outcome(sys::getsockopt_bytes(raw, level, name, len as usize), |b| {
                SyscallOutcome::ok_with(0, SyscallOutput::Bytes(b))
            })
        }
        _ => SyscallOutcome::err(Errno::ENOPROTOOPT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linger_is_a_struct_linger_in_native_byte_order() {
        let (level, name, value) = sockopt_value(&SockOpt::Linger(Some(3)));
        assert_eq!((level, name), (libc::SOL_SOCKET, libc::SO_LINGER));
        assert_eq!(value.len(), std::mem::size_of::<libc::linger>());
        assert_eq!(value[..4], 1i32.to_ne_bytes());
        assert_eq!(value[4..], 3i32.to_ne_bytes());
        let (_, _, off) = sockopt_value(&SockOpt::Linger(None));
        assert_eq!(off, vec![0; 8]);
    }

    #[test]
    fn tcp_options_use_the_tcp_level() {
        for opt in [
            SockOpt::NoDelay(true),
            SockOpt::MaxSeg(536),
            SockOpt::UserTimeout(100),
            SockOpt::SynCnt(1),
        ] {
            assert_eq!(sockopt_value(&opt).0, libc::IPPROTO_TCP, "{opt:?}");
        }
        assert_eq!(
            int_option(SockOptName::Error),
            Some((libc::SOL_SOCKET, libc::SO_ERROR))
        );
        assert_eq!(int_option(SockOptName::Linger), None);
    }

    #[test]
    fn ipv4_addresses_are_mapped_only_for_inet6_sockets_in_mapped_mode() {
        let v4: SocketAddr = "192.0.2.1:80".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:80".parse().unwrap();
        assert_eq!(Sockets::new(true).addr_for(Domain::Inet6, v4), mapped);
        assert_eq!(Sockets::new(true).addr_for(Domain::Inet, v4), v4);
        assert_eq!(Sockets::new(false).addr_for(Domain::Inet6, v4), v4);
    }

    #[test]
    fn unknown_fds_answer_ebadf_without_touching_anything() {
        let mut sockets = Sockets::new(false);
        // fd 1 (stdout) exists in the process but is not the application's.
        for call in [
            Syscall::Close { fd: 1 },
            Syscall::Write {
                fd: 1,
                data: vec![1],
            },
        ] {
            match sockets.attempt(&call) {
                Ok(Attempt::Done(o)) => assert_eq!(o, SyscallOutcome::err(Errno::EBADF)),
                other => panic!("{other:?}"),
            }
        }
    }
}
