//! Raw netlink: just enough of NETLINK_ROUTE to configure the TUN device and of NETLINK_SOCK_DIAG
//! to list and destroy sockets, built by hand so that no netlink crate (and no `ip` fork/exec, which
//! costs ~2 ms a call) is needed.
//!
//! Message layout follows `include/uapi/linux/netlink.h`: a 16-byte `nlmsghdr`, a family header,
//! then 4-byte aligned attributes (`rtattr` / `nlattr`: length, type, payload).

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::libc;
pub(crate) use nix::sys::socket::SockProtocol;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockType, recv, sendto, socket,
};

const NLMSG_HDRLEN: usize = 16;
const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_ACK: u16 = 0x04;
const NLM_F_ROOT: u16 = 0x100;
const NLM_F_MATCH: u16 = 0x200;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

// include/uapi/linux/rtnetlink.h
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const IFLA_MTU: u16 = 4;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_F_NODAD: u32 = 0x02;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_STATIC: u8 = 4;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RTN_UNICAST: u8 = 1;
/// `rtm_type` of a route to one of the host's own addresses.
pub(crate) const RTN_LOCAL: u8 = 2;
/// The gateway is on the link even if no prefix says so (a TUN has no neighbours to resolve).
const RTNH_F_ONLINK: u32 = 4;

/// Rounds a netlink length up to the 4-byte alignment (`NLMSG_ALIGN` / `RTA_ALIGN`).
fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// One netlink request under construction.
pub(crate) struct Message {
    buf: Vec<u8>,
}

impl Message {
    /// A message of `msg_type` with `flags` (`NLM_F_REQUEST` is added) and this family header.
    pub(crate) fn new(msg_type: u16, flags: u16, family_header: &[u8]) -> Message {
        let mut buf = vec![0u8; NLMSG_HDRLEN];
        buf[4..6].copy_from_slice(&msg_type.to_ne_bytes());
        buf[6..8].copy_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        buf.extend_from_slice(family_header);
        buf.resize(align4(buf.len()), 0);
        Message { buf }
    }

    /// Appends one attribute.
    pub(crate) fn attr(mut self, kind: u16, payload: &[u8]) -> Message {
        let len = 4 + payload.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// One message of a reply: its type and its payload after the `nlmsghdr`.
pub(crate) struct Reply<'a> {
    pub(crate) msg_type: u16,
    pub(crate) payload: &'a [u8],
}

/// A netlink socket of one protocol, bound in the namespace it was created in.
#[derive(Debug)]
pub(crate) struct Netlink {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    /// Opens a netlink socket of `protocol` (`NETLINK_ROUTE`, `NETLINK_SOCK_DIAG`) in the calling
    /// thread's network namespace; it keeps talking to that namespace from any thread afterwards.
    pub(crate) fn open(protocol: SockProtocol) -> io::Result<Netlink> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            protocol,
        )?;
        Ok(Netlink {
            fd,
            seq: 0,
            buf: vec![0u8; 64 * 1024],
        })
    }

    fn send(&mut self, msg: Message) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let bytes = msg.finish(self.seq);
        // Port 0 is the kernel.
        sendto(
            self.fd.as_raw_fd(),
            &bytes,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )?;
        Ok(self.seq)
    }

    /// Sends `msg` and calls `each` for every reply message until the kernel's ACK or `NLMSG_DONE`;
    /// an `NLMSG_ERROR` with a non-zero code becomes that errno.
    fn exchange(&mut self, msg: Message, mut each: impl FnMut(Reply<'_>)) -> io::Result<()> {
        let seq = self.send(msg)?;
        loop {
            let n = match recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty()) {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut rest = self.buf.get(..n).unwrap_or_default();
            while rest.len() >= NLMSG_HDRLEN {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let msg_type = u16::from_ne_bytes([rest[4], rest[5]]);
                let msg_seq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
                if len < NLMSG_HDRLEN || len > rest.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "truncated netlink message",
                    ));
                }
                let payload = &rest[NLMSG_HDRLEN..len];
                rest = rest.get(align4(len)..).unwrap_or_default();
                if msg_seq != seq {
                    continue;
                }
                match msg_type {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let code = payload
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(-libc::EPROTO);
                        return if code == 0 {
                            Ok(())
                        } else {
                            Err(io::Error::from_raw_os_error(-code))
                        };
                    }
                    _ => each(Reply { msg_type, payload }),
                }
            }
        }
    }

    /// Sends a request that changes something and waits for the kernel's acknowledgement.
    pub(crate) fn request(&mut self, msg: Message) -> io::Result<()> {
        self.exchange(msg, |_| {})
    }

    /// Sends a query — a dump, or a request for one object with [`ACK`] — and hands every reply
    /// message to `each`.
    pub(crate) fn query(&mut self, msg: Message, each: impl FnMut(Reply<'_>)) -> io::Result<()> {
        self.exchange(msg, each)
    }
}

/// Flags for a request that must be acknowledged.
pub(crate) const ACK: u16 = NLM_F_ACK;
/// Flags for a dump request.
pub(crate) const DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;

fn family_of(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => libc::AF_INET as u8,
        IpAddr::V6(_) => libc::AF_INET6 as u8,
    }
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// `struct ifinfomsg` (16 bytes).
fn ifinfomsg(index: u32, flags: u32, change: u32) -> Vec<u8> {
    let mut h = vec![0u8; 16];
    h[4..8].copy_from_slice(&(index as i32).to_ne_bytes());
    h[8..12].copy_from_slice(&flags.to_ne_bytes());
    h[12..16].copy_from_slice(&change.to_ne_bytes());
    h
}

/// Brings interface `index` up, setting its MTU if given (`ip link set dev X [mtu M] up`).
pub(crate) fn link_up(nl: &mut Netlink, index: u32, mtu: Option<u32>) -> io::Result<()> {
    let up = libc::IFF_UP as u32;
    let mut msg = Message::new(RTM_NEWLINK, ACK, &ifinfomsg(index, up, up));
    if let Some(mtu) = mtu {
        msg = msg.attr(IFLA_MTU, &mtu.to_ne_bytes());
    }
    nl.request(msg)
}

/// Adds `addr/prefix_len` to interface `index` (`ip addr add … nodad`), which also installs the
/// connected prefix route.
pub(crate) fn add_address(
    nl: &mut Netlink,
    index: u32,
    addr: IpAddr,
    prefix_len: u8,
) -> io::Result<()> {
    // struct ifaddrmsg: family, prefixlen, flags, scope, index.
    let mut h = vec![family_of(addr), prefix_len, 0, RT_SCOPE_UNIVERSE];
    h.extend_from_slice(&index.to_ne_bytes());
    let bytes = ip_bytes(addr);
    let mut msg = Message::new(RTM_NEWADDR, ACK | NLM_F_CREATE | NLM_F_EXCL, &h)
        .attr(IFA_LOCAL, &bytes)
        .attr(IFA_ADDRESS, &bytes);
    if addr.is_ipv6() {
        // No duplicate address detection: the address is usable at once and DAD sends no probes.
        msg = msg.attr(IFA_FLAGS, &IFA_F_NODAD.to_ne_bytes());
    }
    nl.request(msg)
}

/// Routes `dst/dst_len` out of interface `index`, through `gateway` if one is given
/// (`ip route replace dst/len [via gw onlink] dev X`).
pub(crate) fn add_route(
    nl: &mut Netlink,
    index: u32,
    dst: IpAddr,
    dst_len: u8,
    gateway: Option<IpAddr>,
) -> io::Result<()> {
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    let scope = if gateway.is_some() {
        RT_SCOPE_UNIVERSE
    } else {
        RT_SCOPE_LINK
    };
    let flags: u32 = if gateway.is_some() { RTNH_F_ONLINK } else { 0 };
    let mut h = vec![
        family_of(dst),
        dst_len,
        0,
        0,
        RT_TABLE_MAIN,
        RTPROT_STATIC,
        scope,
        RTN_UNICAST,
    ];
    h.extend_from_slice(&flags.to_ne_bytes());
    let mut msg = Message::new(RTM_NEWROUTE, ACK | NLM_F_CREATE | NLM_F_REPLACE, &h)
        .attr(RTA_DST, &ip_bytes(dst))
        .attr(RTA_OIF, &index.to_ne_bytes());
    if let Some(gw) = gateway {
        msg = msg.attr(RTA_GATEWAY, &ip_bytes(gw));
    }
    nl.request(msg)
}

/// The type (`RTN_*`) of the route the kernel would use to reach `dst` (`ip route get dst`).
pub(crate) fn route_type(nl: &mut Netlink, dst: IpAddr) -> io::Result<Option<u8>> {
    let len = if dst.is_ipv4() { 32 } else { 128 };
    let mut h = vec![family_of(dst), len, 0, 0, 0, 0, 0, 0];
    h.extend_from_slice(&0u32.to_ne_bytes());
    let msg = Message::new(RTM_GETROUTE, ACK, &h).attr(RTA_DST, &ip_bytes(dst));
    let mut kind = None;
    nl.exchange(msg, |reply| {
        if reply.msg_type == RTM_NEWROUTE {
            kind = reply.payload.get(7).copied();
        }
    })?;
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_length_prefixed_and_padded() {
        let bytes = Message::new(RTM_NEWLINK, ACK, &ifinfomsg(3, 1, 1))
            .attr(IFLA_MTU, &1500u32.to_ne_bytes())
            .attr(99, &[7])
            .finish(42);
        // header 16 + ifinfomsg 16 + mtu attr 8 + 1-byte attr padded to 8
        assert_eq!(bytes.len(), 48);
        assert_eq!(u32::from_ne_bytes(bytes[0..4].try_into().unwrap()), 48);
        assert_eq!(u16::from_ne_bytes([bytes[4], bytes[5]]), RTM_NEWLINK);
        assert_eq!(
            u16::from_ne_bytes([bytes[6], bytes[7]]),
            NLM_F_REQUEST | NLM_F_ACK
        );
        assert_eq!(u32::from_ne_bytes(bytes[8..12].try_into().unwrap()), 42);
        assert_eq!(u16::from_ne_bytes([bytes[32], bytes[33]]), 8);
        assert_eq!(u16::from_ne_bytes([bytes[34], bytes[35]]), IFLA_MTU);
        assert_eq!(u32::from_ne_bytes(bytes[36..40].try_into().unwrap()), 1500);
        assert_eq!(u16::from_ne_bytes([bytes[40], bytes[41]]), 5);
        assert_eq!(&bytes[44..48], &[7, 0, 0, 0]);
    }
}
