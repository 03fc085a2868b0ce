//! The TUN device that stands for the wire: raw IP packets in both directions, nothing else.
//!
//! `IFF_TUN | IFF_NO_PI` gives bare IP packets (no 4-byte packet-information header), and the absence
//! of `IFF_VNET_HDR` / `TUNSETOFFLOAD` keeps offloads off, so the kernel hands us complete, checksummed
//! segments and checks the checksums of what we inject. The device is not persistent: it disappears
//! with its last fd, which is what makes "nothing left behind" hold even after a crash.

use std::ffi::CStr;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use nix::libc;

/// The name of the device tcpconf injects into and reads from, inside the private namespace (each run
/// has its own namespace, so it never clashes). It is packetdrill's name: Google's suite's init
/// command (`defaults.sh`) configures `tun0`, and with this name it runs unchanged.
pub(crate) const TUN_NAME: &CStr = c"tun0";

/// Largest packet a TUN read can return (the IPv4/IPv6 length fields' limit plus headroom).
pub(crate) const TUN_BUF: usize = 65_536 + 64;

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags in the first member of the union.
#[repr(C)]
struct IfReqFlags {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    /// The rest of the 40-byte `struct ifreq` union.
    _pad: [u8; 22],
}

/// An open, non-blocking TUN device in the namespace of the calling thread.
#[derive(Debug)]
pub(crate) struct Tun {
    fd: OwnedFd,
}

impl Tun {
    /// Opens `/dev/net/tun` and attaches a new TUN interface called `name` (at most
    /// `IFNAMSIZ - 1` bytes) to it.
    ///
    /// The interface lands in the network namespace of the calling thread (the kernel takes the
    /// namespace of the opener), so call this from the namespace thread.
    pub(crate) fn create(name: &CStr) -> io::Result<Tun> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        let mut req = IfReqFlags {
            name: [0; libc::IFNAMSIZ],
            flags: (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short,
            _pad: [0; 22],
        };
        let name = name.to_bytes();
        req.name
            .get_mut(..name.len())
            .filter(|_| name.len() < libc::IFNAMSIZ)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?
            .copy_from_slice(name);
        // SAFETY: TUNSETIFF reads (and writes back the name into) a `struct ifreq`, which `IfReqFlags`
        // lays out with the full 40-byte size; the fd is a valid open /dev/net/tun.
        let rc = unsafe {
            libc::ioctl(
                file.as_raw_fd(),
                libc::TUNSETIFF,
                &mut req as *mut IfReqFlags,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Tun { fd: file.into() })
    }

    /// The fd to poll for outbound packets.
    pub(crate) fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Hands one raw IP packet to the kernel, as if it had arrived on the wire.
    ///
    /// The kernel processes it synchronously inside this write (TUN without NAPI delivers through
    /// `netif_receive_skb` in process context), so any immediate answer is queued when this returns.
    pub(crate) fn send(&self, packet: &[u8]) -> io::Result<()> {
        // SAFETY: the pointer and length come from a valid slice; the fd is open for the life of self.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), packet.as_ptr().cast(), packet.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != packet.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("TUN accepted {n} of {} bytes", packet.len()),
            ));
        }
        Ok(())
    }

    /// Reads one packet the kernel sent, or `None` if none is queued.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: the pointer and length come from a valid mutable slice.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock => Ok(None),
                io::ErrorKind::Interrupted => Ok(None),
                _ => Err(err),
            };
        }
        Ok(Some(n as usize))
    }
}

/// IPv6 packets the kernel sends on its own (neighbour discovery, router solicitations, MLD
/// reports), which the namespace's sysctls should prevent; dropped here in case they did not.
pub(crate) fn is_ipv6_noise(packet: &[u8]) -> bool {
    const HOP_BY_HOP: u8 = 0;
    const ICMPV6: u8 = 58;
    if packet.first().map(|b| b >> 4) != Some(6) {
        return false;
    }
    let (Some(mut next), mut offset) = (packet.get(6).copied(), 40usize) else {
        return false;
    };
    // MLD reports carry a hop-by-hop router-alert header before the ICMPv6 one.
    if next == HOP_BY_HOP {
        let (Some(&following), Some(&len)) = (packet.get(offset), packet.get(offset + 1)) else {
            return false;
        };
        next = following;
        offset += (usize::from(len) + 1) * 8;
    }
    // 130–132 and 143: MLD; 133–137: router/neighbour solicitation and advertisement, redirect.
    next == ICMPV6 && matches!(packet.get(offset), Some(130..=137 | 143))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv6(next: u8, rest: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x60;
        p[6] = next;
        p.extend_from_slice(rest);
        p
    }

    #[test]
    fn ipv6_neighbour_discovery_and_mld_are_noise() {
        assert!(is_ipv6_noise(&ipv6(58, &[133, 0])));
        assert!(is_ipv6_noise(&ipv6(58, &[135, 0])));
        // MLDv2 report behind a hop-by-hop header of 8 bytes.
        let mut hbh = vec![58, 0, 5, 2, 0, 0, 1, 0];
        hbh.extend_from_slice(&[143, 0]);
        assert!(is_ipv6_noise(&ipv6(0, &hbh)));
    }

    #[test]
    fn tcp_echo_and_malformed_packets_are_not_noise() {
        assert!(!is_ipv6_noise(&ipv6(6, &[0; 20])));
        assert!(!is_ipv6_noise(&ipv6(58, &[128, 0])));
        assert!(!is_ipv6_noise(&[0x45, 0, 0, 20]));
        assert!(!is_ipv6_noise(&[0x60]));
        assert!(!is_ipv6_noise(&ipv6(0, &[58])));
        assert!(!is_ipv6_noise(&[]));
    }
}
