//! Thin, checked wrappers over the libc calls the adapter makes on raw fds: socket addresses,
//! socket options, file status flags and a microsecond-precision poll.
//!
//! Syscalls go through libc directly rather than through nix's typed wrappers because scripts pass
//! values those wrappers refuse (negative backlogs, odd option lengths) and the kernel's answer to
//! exactly those values is what is under test.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use nix::libc;

use crate::stack::Errno;

/// The errno of the last failed libc call on this thread.
pub(crate) fn last_errno() -> Errno {
    Errno::last()
}

/// `rc` as a C return value: `Err(errno)` if negative.
pub(crate) fn check(rc: libc::c_int) -> Result<libc::c_int, Errno> {
    if rc < 0 { Err(last_errno()) } else { Ok(rc) }
}

/// `rc` of a call returning `ssize_t`.
pub(crate) fn check_size(rc: libc::ssize_t) -> Result<usize, Errno> {
    if rc < 0 {
        Err(last_errno())
    } else {
        Ok(rc as usize)
    }
}

/// A socket address in the kernel's layout.
pub(crate) struct RawAddr {
    pub(crate) storage: libc::sockaddr_storage,
    pub(crate) len: libc::socklen_t,
}

impl std::fmt::Debug for RawAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_socket_addr() {
            Some(addr) => write!(f, "RawAddr({addr})"),
            None => write!(f, "RawAddr(family {})", self.storage.ss_family),
        }
    }
}

impl RawAddr {
    pub(crate) fn new(addr: SocketAddr) -> RawAddr {
        // SAFETY: sockaddr_storage is plain old data for which all-zero is valid.
        let mut storage: libc::sockaddr_storage = unsafe { zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe {
                    std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin)
                };
                size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo().to_be(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe {
                    std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6)
                };
                size_of::<libc::sockaddr_in6>()
            }
        };
        RawAddr {
            storage,
            len: len as libc::socklen_t,
        }
    }

    /// An empty buffer for the kernel to fill (accept, getpeername).
    pub(crate) fn empty() -> RawAddr {
        RawAddr {
            // SAFETY: all-zero is a valid sockaddr_storage.
            storage: unsafe { zeroed() },
            len: size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&mut self.storage as *mut libc::sockaddr_storage).cast()
    }

    /// The address the kernel wrote, if it is an IPv4 or IPv6 one.
    pub(crate) fn to_socket_addr(&self) -> Option<SocketAddr> {
        match libc::c_int::from(self.storage.ss_family) {
            libc::AF_INET if self.len as usize >= size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family says the storage holds a sockaddr_in, and it is long enough.
                let sin: libc::sockaddr_in = unsafe {
                    std::ptr::read((&self.storage as *const libc::sockaddr_storage).cast())
                };
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if self.len as usize >= size_of::<libc::sockaddr_in6>() => {
                // SAFETY: the family says the storage holds a sockaddr_in6, and it is long enough.
                let sin6: libc::sockaddr_in6 = unsafe {
                    std::ptr::read((&self.storage as *const libc::sockaddr_storage).cast())
                };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    u32::from_be(sin6.sin6_flowinfo),
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

/// `setsockopt` with raw bytes.
pub(crate) fn setsockopt_bytes(fd: i32, level: i32, name: i32, value: &[u8]) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe a valid slice the kernel only reads.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            value.as_ptr().cast(),
            value.len() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `getsockopt` into a buffer of `len` bytes; returns the bytes the kernel filled.
pub(crate) fn getsockopt_bytes(
    fd: i32,
    level: i32,
    name: i32,
    len: usize,
) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    let mut optlen = len as libc::socklen_t;
    // SAFETY: the kernel writes at most `optlen` bytes into the buffer and updates `optlen`.
    check(unsafe { libc::getsockopt(fd, level, name, buf.as_mut_ptr().cast(), &mut optlen) })?;
    buf.truncate(optlen as usize);
    Ok(buf)
}

/// `getsockopt` of an `int` option.
pub(crate) fn getsockopt_int(fd: i32, level: i32, name: i32) -> Result<i32, Errno> {
    let bytes = getsockopt_bytes(fd, level, name, size_of::<libc::c_int>())?;
    let mut word = [0u8; 4];
    for (dst, src) in word.iter_mut().zip(&bytes) {
        *dst = *src;
    }
    Ok(i32::from_ne_bytes(word))
}

/// `SO_LINGER` as `(onoff, seconds)`.
pub(crate) fn get_linger(fd: i32) -> Result<(bool, i32), Errno> {
    let bytes = getsockopt_bytes(
        fd,
        libc::SOL_SOCKET,
        libc::SO_LINGER,
        size_of::<libc::linger>(),
    )?;
    let word = |i: usize| {
        bytes
            .get(i..i + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, i32::from_ne_bytes)
    };
    Ok((word(0) != 0, word(4)))
}

/// The file status flags (`F_GETFL`).
pub(crate) fn get_flags(fd: i32) -> Result<i32, Errno> {
    // SAFETY: F_GETFL takes no argument.
    check(unsafe { libc::fcntl(fd, libc::F_GETFL) })
}

/// Sets the file status flags (`F_SETFL`).
pub(crate) fn set_flags(fd: i32, flags: i32) -> Result<i32, Errno> {
    // SAFETY: F_SETFL takes an int argument.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) })
}

/// Whether calls on `fd` block (its `O_NONBLOCK` flag is clear).
pub(crate) fn is_blocking(fd: i32) -> Result<bool, Errno> {
    Ok(get_flags(fd)? & libc::O_NONBLOCK == 0)
}

/// A new fd for the same open socket (the blocking helper's own reference, so that the socket
/// stays alive while a call on it is blocked, as it does in the kernel).
pub(crate) fn dup(fd: i32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we then own.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor owned by nobody else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(new) })
}

/// `accept4(fd, …, SOCK_CLOEXEC)`: the new socket and the peer's address.
pub(crate) fn accept(fd: i32) -> Result<(std::os::fd::OwnedFd, Option<SocketAddr>), Errno> {
    use std::os::fd::FromRawFd;
    let mut peer = RawAddr::empty();
    // SAFETY: the kernel writes at most `peer.len` bytes into the storage and updates the length.
    let new =
        check(unsafe { libc::accept4(fd, peer.as_mut_ptr(), &mut peer.len, libc::SOCK_CLOEXEC) })?;
    // SAFETY: `new` is a fresh descriptor owned by nobody else.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(new) };
    Ok((owned, peer.to_socket_addr()))
}

/// `recv(fd, len, flags)`: the bytes read (empty at end of stream).
pub(crate) fn recv(fd: i32, len: usize, flags: i32) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    // SAFETY: the buffer is valid for `len` bytes.
    let n = check_size(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), len, flags) })?;
    buf.truncate(n);
    Ok(buf)
}

/// `send(fd, data, flags | MSG_NOSIGNAL)`: bytes accepted. MSG_NOSIGNAL turns the SIGPIPE that a
/// write on a shut-down socket raises into the EPIPE a script checks for.
pub(crate) fn send(fd: i32, data: &[u8], flags: i32) -> Result<usize, Errno> {
    // SAFETY: the pointer and length describe a valid slice the kernel only reads.
    check_size(unsafe {
        libc::send(
            fd,
            data.as_ptr().cast(),
            data.len(),
            flags | libc::MSG_NOSIGNAL,
        )
    })
}

/// The inode of the file behind `fd` (for a socket, the number `/proc/self/fd/N` shows as
/// `socket:[inode]` and sock_diag reports).
pub(crate) fn inode(fd: i32) -> Result<u64, Errno> {
    // SAFETY: all-zero is a valid `stat`, which fstat overwrites.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: `st` is a valid, writable stat buffer.
    check(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st.st_ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_round_trip_through_kernel_layout() {
        for text in ["192.168.0.1:8080", "[fd3d::1]:443", "[::ffff:192.0.2.1]:1"] {
            let addr: SocketAddr = text.parse().unwrap();
            assert_eq!(RawAddr::new(addr).to_socket_addr(), Some(addr));
        }
        let mut short = RawAddr::new("[fd3d::1]:443".parse().unwrap());
        short.len = 8;
        assert_eq!(short.to_socket_addr(), None);
    }
}
