//! TCP endpoints of the namespace through sock_diag (`NETLINK_SOCK_DIAG`, `inet_diag_req_v2`):
//! unlike `TCP_INFO` on an fd, a dump also lists connections that no longer have one (TIME-WAIT,
//! orphans in FIN-WAIT or LAST-ACK), and `SOCK_DESTROY` lets teardown abort those orphans at once.
//!
//! A state query is an exact request instead (no `NLM_F_DUMP`): the kernel looks the 4-tuple up in
//! its hash tables (`inet_diag_find_one_icsk`, which finds TIME-WAIT and request sockets as well as
//! full ones) in microseconds, where a dump walks the whole established hash — shared by every
//! namespace, 262 144 buckets on this kernel — and costs milliseconds even in an empty namespace
//! (`cargo bench --bench linux_state` measures both).
//!
//! Layouts from `include/uapi/linux/inet_diag.h`; all multi-byte fields of `inet_diag_sockid` except
//! `idiag_if` and the cookie are in network byte order.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use nix::libc;

use super::netlink::{self, Message, Netlink};
use crate::stack::TcpState;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const SOCK_DESTROY: u16 = 21;
/// Every state bit (`1 << TCP_*`), TIME-WAIT and request sockets included.
const ALL_STATES: u32 = u32::MAX;
const SOCKID_LEN: usize = 48;
const MSG_LEN: usize = 72;

/// One socket as a dump reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiagSocket {
    pub(crate) family: u8,
    pub(crate) state: TcpState,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    /// The socket inode (0 for TIME-WAIT and request sockets), to find the fd that holds it.
    pub(crate) inode: u32,
    /// The raw `inet_diag_sockid`, which `SOCK_DESTROY` needs back verbatim (it carries the cookie).
    sockid: [u8; SOCKID_LEN],
}

/// Maps `include/net/tcp_states.h` onto RFC 9293 states; `TCP_NEW_SYN_RECV` (a request socket
/// waiting for the final ACK) is SYN-RECEIVED, `TCP_CLOSE` is CLOSED.
pub(crate) fn state_from_linux(state: u8) -> Option<TcpState> {
    Some(match state {
        1 => TcpState::Established,
        2 => TcpState::SynSent,
        3 | 12 => TcpState::SynReceived,
        4 => TcpState::FinWait1,
        5 => TcpState::FinWait2,
        6 => TcpState::TimeWait,
        7 => TcpState::Closed,
        8 => TcpState::CloseWait,
        9 => TcpState::LastAck,
        10 => TcpState::Listen,
        11 => TcpState::Closing,
        _ => return None,
    })
}

/// `struct inet_diag_req_v2` for TCP sockets of `family` in `states`, matching `sockid`.
fn request(family: u8, states: u32, sockid: &[u8; SOCKID_LEN]) -> Vec<u8> {
    let mut h = vec![family, libc::IPPROTO_TCP as u8, 0, 0];
    h.extend_from_slice(&states.to_ne_bytes());
    h.extend_from_slice(sockid);
    h
}

fn address(family: u8, raw: &[u8]) -> Option<IpAddr> {
    if family == libc::AF_INET as u8 {
        let b: [u8; 4] = raw.get(..4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(b)))
    } else {
        let b: [u8; 16] = raw.get(..16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    }
}

/// Decodes one `struct inet_diag_msg`; `None` if it is short or holds an unknown state.
fn parse_msg(payload: &[u8]) -> Option<DiagSocket> {
    let msg = payload.get(..MSG_LEN)?;
    let family = msg[0];
    let state = state_from_linux(msg[1])?;
    let sockid: [u8; SOCKID_LEN] = msg[4..4 + SOCKID_LEN].try_into().ok()?;
    let sport = u16::from_be_bytes([sockid[0], sockid[1]]);
    let dport = u16::from_be_bytes([sockid[2], sockid[3]]);
    let src = address(family, &sockid[4..20])?;
    let dst = address(family, &sockid[20..36])?;
    let inode = u32::from_ne_bytes(msg[68..72].try_into().ok()?);
    Some(DiagSocket {
        family,
        state,
        local: SocketAddr::new(src, sport),
        remote: SocketAddr::new(dst, dport),
        inode,
        sockid,
    })
}

/// Lists every TCP socket (IPv4 and IPv6, all states) of the namespace `nl` was opened in.
pub(crate) fn dump_tcp(nl: &mut Netlink) -> io::Result<Vec<DiagSocket>> {
    let mut found = Vec::new();
    for family in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
        let msg = Message::new(
            SOCK_DIAG_BY_FAMILY,
            netlink::DUMP,
            &request(family, ALL_STATES, &[0; SOCKID_LEN]),
        );
        nl.query(msg, |reply| {
            if reply.msg_type == SOCK_DIAG_BY_FAMILY
                && let Some(sock) = parse_msg(reply.payload)
            {
                found.push(sock);
            }
        })?;
    }
    Ok(found)
}

/// The socket with exactly these addresses (`remote` unspecified with port 0: the listener on
/// `local`), found by an exact request; `None` if there is none.
///
/// The kernel falls back to the port's listener when no connection has the 4-tuple (`inet_lookup`):
/// the caller checks the answer's addresses against its question.
pub(crate) fn lookup(
    nl: &mut Netlink,
    local: SocketAddr,
    remote: SocketAddr,
) -> io::Result<Option<DiagSocket>> {
    // Both addresses IPv4 (IPv4-mapped ones included): the kernel keeps IPv4 traffic of dual-stack
    // sockets in its IPv4 tables, under the IPv4 addresses.
    let (l, r) = (local.ip().to_canonical(), remote.ip().to_canonical());
    let v4 = l.is_ipv4() && (r.is_ipv4() || r.is_unspecified());
    let family = if v4 { libc::AF_INET } else { libc::AF_INET6 } as u8;
    let mut sockid = [0u8; SOCKID_LEN];
    sockid[0..2].copy_from_slice(&local.port().to_be_bytes());
    sockid[2..4].copy_from_slice(&remote.port().to_be_bytes());
    put_address(&mut sockid[4..20], l, v4);
    put_address(&mut sockid[20..36], r, v4);
    // No cookie (INET_DIAG_NOCOOKIE): match on the addresses alone.
    sockid[40..48].fill(0xff);
    let msg = Message::new(
        SOCK_DIAG_BY_FAMILY,
        netlink::ACK,
        &request(family, ALL_STATES, &sockid),
    );
    let mut found = None;
    let asked = nl.query(msg, |reply| {
        if reply.msg_type == SOCK_DIAG_BY_FAMILY {
            found = parse_msg(reply.payload);
        }
    });
    match asked {
        Ok(()) => Ok(found),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `ip` into a 16-byte `idiag_src`/`idiag_dst` field: an IPv4 address in its first word.
fn put_address(field: &mut [u8], ip: IpAddr, v4: bool) {
    match ip {
        IpAddr::V4(a) if v4 => field[..4].copy_from_slice(&a.octets()),
        IpAddr::V4(a) => field.copy_from_slice(&a.to_ipv6_mapped().octets()),
        // Only the unspecified remote of a listener query: all zeros.
        IpAddr::V6(_) if v4 => {}
        IpAddr::V6(a) => field.copy_from_slice(&a.octets()),
    }
}

/// Aborts one socket as `ss -K` does (`tcp_abort`: an RST if it is synchronized, then gone).
pub(crate) fn destroy(nl: &mut Netlink, sock: &DiagSocket) -> io::Result<()> {
    nl.request(Message::new(
        SOCK_DESTROY,
        netlink::ACK,
        &request(sock.family, ALL_STATES, &sock.sockid),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag_msg(family: u8, state: u8, sport: u16, dport: u16, inode: u32) -> Vec<u8> {
        let mut m = vec![0u8; MSG_LEN];
        m[0] = family;
        m[1] = state;
        m[4..6].copy_from_slice(&sport.to_be_bytes());
        m[6..8].copy_from_slice(&dport.to_be_bytes());
        m[8..12].copy_from_slice(&[192, 168, 0, 1]);
        m[24..28].copy_from_slice(&[192, 0, 2, 1]);
        m[68..72].copy_from_slice(&inode.to_ne_bytes());
        m
    }

    #[test]
    fn parses_an_ipv4_time_wait_entry() {
        let sock = parse_msg(&diag_msg(libc::AF_INET as u8, 6, 8080, 40000, 0)).unwrap();
        assert_eq!(sock.state, TcpState::TimeWait);
        assert_eq!(sock.local, "192.168.0.1:8080".parse().unwrap());
        assert_eq!(sock.remote, "192.0.2.1:40000".parse().unwrap());
        assert_eq!(sock.inode, 0);
    }

    #[test]
    fn maps_every_linux_state_and_rejects_unknown_ones() {
        assert_eq!(state_from_linux(10), Some(TcpState::Listen));
        assert_eq!(state_from_linux(12), Some(TcpState::SynReceived));
        assert_eq!(state_from_linux(11), Some(TcpState::Closing));
        assert_eq!(state_from_linux(0), None);
        assert_eq!(state_from_linux(13), None);
    }

    #[test]
    fn short_messages_are_ignored_not_panicked_on() {
        let full = diag_msg(libc::AF_INET6 as u8, 1, 1, 2, 7);
        for len in 0..MSG_LEN {
            assert_eq!(parse_msg(&full[..len]), None);
        }
        let sock = parse_msg(&full).unwrap();
        assert!(sock.local.is_ipv6());
    }
}
