//! The C surface: lwIP's BSD-style socket functions from `liblwip.so`, and tcpconf's shim
//! (`shim.c`) for what lwIP only offers as macros, inline functions or struct fields.
//!
//! Debian's lwIP is built with `LWIP_SOCKET_EXTERNAL_HEADERS` (its socket API uses glibc's
//! `<sys/socket.h>`, `<netinet/tcp.h>` and `<fcntl.h>`) and `LWIP_ERRNO_STDINCLUDE` (it sets the C
//! library's thread-local `errno` to `<errno.h>` values). So Linux's constants from `libc` are lwIP's
//! own, `sockaddr_in`/`sockaddr_in6` have Linux's layout, and `errno` after a call is lwIP's answer;
//! `shim.c` refuses to compile against an lwIP configured otherwise.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use nix::libc::{self, c_int, c_long, c_void, size_t, sockaddr, socklen_t, ssize_t};

/// One TCP endpoint as `tcpconf_lwip_pcbs` reports it (mirrors `struct tcpconf_pcb`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RawPcb {
    /// The PCB's address, matched against [`tcpconf_lwip_socket_pcb`].
    pub id: usize,
    /// lwIP's `enum tcp_state`.
    pub state: i32,
    pub is_ipv6: u8,
    /// Network byte order; IPv4 in the first four bytes.
    pub local_ip: [u8; 16],
    pub local_port: u16,
    pub remote_ip: [u8; 16],
    pub remote_port: u16,
}

impl RawPcb {
    /// The local address.
    pub fn local(&self) -> SocketAddr {
        addr_of(self.is_ipv6 != 0, &self.local_ip, self.local_port)
    }

    /// The remote address.
    pub fn remote(&self) -> SocketAddr {
        addr_of(self.is_ipv6 != 0, &self.remote_ip, self.remote_port)
    }
}

fn addr_of(v6: bool, ip: &[u8; 16], port: u16) -> SocketAddr {
    if v6 {
        SocketAddr::new(Ipv6Addr::from(*ip).into(), port)
    } else {
        SocketAddr::new(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).into(), port)
    }
}

/// The packet sink lwIP's netif calls, under the core lock, with each packet it sends.
pub(super) type OutputFn = extern "C" fn(packet: *const u8, len: size_t);

unsafe extern "C" {
    pub(super) fn tcpconf_lwip_start(output: OutputFn) -> c_int;
    pub(super) fn tcpconf_lwip_now_ms() -> u32;
    pub(super) fn tcpconf_lwip_next_timer(due_ms: *mut u32) -> c_int;
    pub(super) fn tcpconf_lwip_advance(now_ms: u32);
    pub(super) fn tcpconf_lwip_socket_closing(fd: c_int) -> c_int;
    pub(super) fn tcpconf_lwip_align_tcp_ticks();
    pub(super) fn tcpconf_lwip_reset_counters(iss_base: u32, last_port: u16, ports: c_int)
    -> c_int;
    pub(super) fn tcpconf_lwip_netif_setup(
        ip4: *const u8,
        prefix4: u8,
        gw4: *const u8,
        ip6: *const u8,
        mtu: u16,
    ) -> c_int;
    pub(super) fn tcpconf_lwip_has_ipv6() -> c_int;
    pub(super) fn tcpconf_lwip_input(packet: *const u8, len: size_t) -> c_int;
    pub(super) fn tcpconf_lwip_pcbs(out: *mut RawPcb, cap: size_t) -> size_t;
    pub(super) fn tcpconf_lwip_socket_pcb(fd: c_int) -> usize;
    pub(super) fn tcpconf_lwip_socket_outq(fd: c_int) -> c_long;
    pub(super) fn tcpconf_lwip_abandon_all();

    pub(super) fn lwip_socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    pub(super) fn lwip_bind(s: c_int, name: *const sockaddr, namelen: socklen_t) -> c_int;
    pub(super) fn lwip_listen(s: c_int, backlog: c_int) -> c_int;
    pub(super) fn lwip_accept(s: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> c_int;
    pub(super) fn lwip_connect(s: c_int, name: *const sockaddr, namelen: socklen_t) -> c_int;
    pub(super) fn lwip_recv(s: c_int, mem: *mut c_void, len: size_t, flags: c_int) -> ssize_t;
    pub(super) fn lwip_send(s: c_int, data: *const c_void, size: size_t, flags: c_int) -> ssize_t;
    pub(super) fn lwip_shutdown(s: c_int, how: c_int) -> c_int;
    pub(super) fn lwip_close(s: c_int) -> c_int;
    pub(super) fn lwip_setsockopt(
        s: c_int,
        level: c_int,
        optname: c_int,
        optval: *const c_void,
        optlen: socklen_t,
    ) -> c_int;
    pub(super) fn lwip_getsockopt(
        s: c_int,
        level: c_int,
        optname: c_int,
        optval: *mut c_void,
        optlen: *mut socklen_t,
    ) -> c_int;
    pub(super) fn lwip_fcntl(s: c_int, cmd: c_int, val: c_int) -> c_int;
    pub(super) fn lwip_ioctl(s: c_int, cmd: c_long, argp: *mut c_void) -> c_int;
    pub(super) fn lwip_poll(fds: *mut libc::pollfd, nfds: libc::nfds_t, timeout: c_int) -> c_int;
}

/// A socket address in the C layout lwIP reads (Linux's, see the module docs).
pub(super) struct CSockAddr {
    storage: libc::sockaddr_storage,
    len: socklen_t,
}

impl CSockAddr {
    /// Encodes `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
        let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
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
                unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in>(), sin) };
                std::mem::size_of::<libc::sockaddr_in>()
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
                unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in6>(), sin6) };
                std::mem::size_of::<libc::sockaddr_in6>()
            }
        };
        Self {
            storage,
            len: len as socklen_t,
        }
    }

    /// An empty buffer for a call that writes an address (`accept`).
    pub fn empty() -> Self {
        Self {
            // SAFETY: as in `new`.
            storage: unsafe { std::mem::zeroed() },
            len: std::mem::size_of::<libc::sockaddr_storage>() as socklen_t,
        }
    }

    pub fn as_ptr(&self) -> *const sockaddr {
        (&raw const self.storage).cast()
    }

    pub fn as_mut_ptr(&mut self) -> *mut sockaddr {
        (&raw mut self.storage).cast()
    }

    pub fn len(&self) -> socklen_t {
        self.len
    }

    pub fn len_mut(&mut self) -> *mut socklen_t {
        &raw mut self.len
    }

    /// Decodes what a call wrote, if it is an IPv4 or IPv6 address.
    pub fn decode(&self) -> Option<SocketAddr> {
        match c_int::from(self.storage.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_in>() };
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_in6>() };
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

/// The `errno` lwIP set in this thread.
pub(super) fn last_errno() -> nix::errno::Errno {
    nix::errno::Errno::last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_round_trip_through_the_c_layout() {
        for addr in [
            "192.0.2.1:8080".parse::<SocketAddr>().unwrap(),
            "[2001:db8::1]:443".parse::<SocketAddr>().unwrap(),
        ] {
            assert_eq!(CSockAddr::new(addr).decode(), Some(addr));
        }
        assert_eq!(CSockAddr::empty().decode(), None);
    }
}
