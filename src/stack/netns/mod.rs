//! The private network namespace of a run: the OS glue that every stack reached through the host
//! kernel shares (`linux`, and `reference --via tun`, a userspace stack behind a TUN device).
//!
//! A run's namespace is created by `unshare(CLONE_NEWNET)` from a thread of its own (the calling
//! thread, and only it, moves into the new namespace; threads it spawns and processes it forks
//! inherit it). [`enter_private`] does that and brings `lo` up; [`tun_up`] adds a TUN device
//! ([`tun`]) with the run's MTU and IPv6 kept quiet; routes and addresses are set over
//! `NETLINK_ROUTE` ([`netlink`]); TCP endpoints are looked up and destroyed over
//! `NETLINK_SOCK_DIAG` ([`sock_diag`]); devices are closed off the engine's path ([`reaper`]); and
//! adapters wait on their fds with microsecond precision ([`poll`]).
//!
//! **Nothing left behind.** A namespace is never named or bind-mounted: it lives exactly as long as
//! the threads, TUN fds and sockets made in it. The host namespace is never touched: every netlink
//! socket and sysctl write is made from the run's thread after it has unshared.

pub(crate) mod netlink;
pub(crate) mod poll;
pub(crate) mod reaper;
pub(crate) mod sock_diag;
pub(crate) mod tun;

use std::ffi::CStr;
use std::io;
use std::net::IpAddr;
use std::time::Duration;

use nix::libc;
use nix::sched::{CloneFlags, unshare};

use self::netlink::Netlink;
use self::tun::Tun;
use crate::stack::{Errno, NetConfig, StackError};

/// Whether this process may create network namespaces and TUN devices: CAP_NET_ADMIN and
/// CAP_SYS_ADMIN in its effective set (as root). Tests use it to report themselves skipped.
pub fn has_privileges() -> bool {
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_SYS_ADMIN: u32 = 21;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
            u64::from_str_radix(hex.trim(), 16).ok()
        })
        .is_some_and(|eff| eff & (1 << CAP_NET_ADMIN) != 0 && eff & (1 << CAP_SYS_ADMIN) != 0)
}

/// What a user without the needed privileges is told, by every stack that runs behind a TUN device
/// in a private namespace (`linux`, `reference --via tun`).
pub(crate) const PRIVILEGE_HINT: &str = "this stack runs in a private network namespace, which \
     needs CAP_SYS_ADMIN (to create the namespace), CAP_NET_ADMIN (to create and configure TUN \
     devices in it) and access to /dev/net/tun, which is usually root's alone: run tcpconf as root \
     (`sudo tcpconf ...`)";

/// A set-up step's error: missing privileges are the environment's fault, the rest the adapter's.
pub(crate) fn setup_error(what: &str) -> impl FnOnce(io::Error) -> StackError + '_ {
    move |e| match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            StackError::Environment(format!("{what}: {e}; {PRIVILEGE_HINT}"))
        }
        _ => StackError::Adapter(format!("{what}: {e}")),
    }
}

fn ifindex(name: &CStr) -> Result<u32, StackError> {
    nix::net::if_::if_nametoindex(name)
        .map_err(|e| StackError::Adapter(format!("interface {name:?} not found: {e}")))
}

/// Writes a sysctl of the calling thread's namespace.
pub(crate) fn write_sysctl(path: &str, value: &str) -> Result<(), StackError> {
    std::fs::write(path, value).map_err(setup_error(&format!("writing {path}")))
}

/// Keeps IPv6 from sending anything on its own on device `name`: for an IPv4 run IPv6 is off on it;
/// for an IPv6 run no link-local address is generated (so no DAD, no router solicitations) and DAD
/// is off. Written before the link goes up, since that is when the link-local address would appear.
fn quiet_ipv6(name: &CStr, ipv6_run: bool) -> Result<(), StackError> {
    let dir = format!("/proc/sys/net/ipv6/conf/{}", name.to_string_lossy());
    if !std::path::Path::new(&dir).exists() {
        // IPv6 is disabled in this kernel: nothing to quiet.
        return Ok(());
    }
    let settings: &[(&str, &str)] = if ipv6_run {
        &[
            ("addr_gen_mode", "1"),
            ("accept_dad", "0"),
            ("router_solicitations", "0"),
            ("accept_ra", "0"),
        ]
    } else {
        &[("disable_ipv6", "1")]
    };
    for (setting, value) in settings {
        write_sysctl(&format!("{dir}/{setting}"), value)?;
    }
    Ok(())
}

/// `ip` masked to its first `len` bits.
pub(crate) fn network(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

/// Waits until packets to `local` are delivered locally. IPv6 installs the local route of a new
/// address from a workqueue (addrconf's DAD work runs even with `nodad`), so a segment injected right
/// after set-up could otherwise meet no local route and be dropped (`Ip6InAddrErrors`); IPv4 installs
/// it synchronously and passes the first check.
pub(crate) fn wait_until_local(route: &mut Netlink, local: IpAddr) -> Result<(), StackError> {
    const LIMIT: Duration = Duration::from_secs(2);
    let start = std::time::Instant::now();
    loop {
        let kind = netlink::route_type(route, local)
            .map_err(setup_error(&format!("looking up the route to {local}")))?;
        if kind == Some(netlink::RTN_LOCAL) {
            return Ok(());
        }
        if start.elapsed() > LIMIT {
            return Err(StackError::Adapter(format!(
                "{local} did not become a local address within {LIMIT:?}"
            )));
        }
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// Moves the calling thread into a new, private network namespace with its `lo` up, after
/// checking that the run's addresses are of one family. Returns a NETLINK_ROUTE socket of the new
/// namespace.
pub(crate) fn enter_private(net: &NetConfig) -> Result<Netlink, StackError> {
    unshare(CloneFlags::CLONE_NEWNET).map_err(|e| match e {
        Errno::EPERM => StackError::Environment(format!(
            "cannot create a network namespace (unshare: {e}); {PRIVILEGE_HINT}"
        )),
        e => StackError::Environment(format!("unshare(CLONE_NEWNET) failed: {e}")),
    })?;
    if net.local_ip.is_ipv4() != net.remote_ip.is_ipv4() {
        return Err(StackError::Adapter(format!(
            "local address {} and remote address {} are of different families",
            net.local_ip, net.remote_ip
        )));
    }
    let mut route = Netlink::open(netlink::SockProtocol::NetlinkRoute)
        .map_err(setup_error("netlink socket"))?;
    netlink::link_up(&mut route, ifindex(c"lo")?, None).map_err(setup_error("bringing lo up"))?;
    Ok(route)
}

/// Creates TUN device `name` in the calling thread's namespace, keeps IPv6 quiet on it (see
/// [`quiet_ipv6`]) and brings it up with the run's MTU. Returns the device and its index.
pub(crate) fn tun_up(
    route: &mut Netlink,
    name: &CStr,
    net: &NetConfig,
) -> Result<(Tun, u32), StackError> {
    let tun = Tun::create(name).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) => {
            StackError::Environment(format!(
                "/dev/net/tun is not usable ({e}): load the tun module (`modprobe tun`), or in a \
             container pass the device (`--device /dev/net/tun`)"
            ))
        }
        _ => setup_error("creating the TUN device")(e),
    })?;
    let index = ifindex(name)?;
    quiet_ipv6(name, net.local_ip.is_ipv6())?;
    netlink::link_up(route, index, Some(u32::from(net.mtu))).map_err(setup_error(&format!(
        "setting {} up with MTU {}",
        name.to_string_lossy(),
        net.mtu
    )))?;
    Ok((tun, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_privileges_are_the_environment_and_say_how_to_fix_them() {
        let e = setup_error("creating the TUN device")(io::Error::from_raw_os_error(libc::EPERM));
        match e {
            StackError::Environment(msg) => {
                assert!(msg.contains("creating the TUN device"), "{msg}");
                assert!(msg.contains("run tcpconf as root"), "{msg}");
                assert!(msg.contains("sudo tcpconf"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        let e = setup_error("x")(io::Error::from_raw_os_error(libc::EINVAL));
        assert!(matches!(e, StackError::Adapter(_)), "{e:?}");
    }

    #[test]
    fn networks_mask_host_bits() {
        let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(network(v4("192.0.2.1"), 16), v4("192.0.0.0"));
        assert_eq!(network(v4("192.0.2.1"), 0), v4("0.0.0.0"));
        assert_eq!(network(v4("192.0.2.1"), 40), v4("192.0.2.1"));
        assert_eq!(network(v4("fd3d::c0a8:1"), 64), v4("fd3d::"));
    }
}
