//! The socket API's errno semantics (Linux's, as applications expect them) and state queries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tcpconf::tcp::sim::{LinkConfig, Pair};
use tcpconf::tcp::{Error, Family, Host, OptValue, Profile, Shutdown, SockOpt, SockOptName, State};

const LIMIT: Duration = Duration::from_secs(3600);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn host(ip: &str) -> Host {
    Host::new(Profile::rfc9293(), [ip.parse::<IpAddr>().unwrap()])
}

#[test]
fn errors_on_unconnected_and_unknown_sockets() {
    let mut h = host("192.0.2.1");
    let now = Duration::ZERO;
    let fd = h.socket(Family::V4, false).unwrap();
    assert_eq!(fd, 3);
    assert_eq!(h.recv(fd, 10, false, now), Err(Error::NotConnected));
    assert_eq!(h.send(fd, b"x", now), Err(Error::BrokenPipe));
    assert_eq!(
        h.shutdown(fd, Shutdown::Write, now),
        Err(Error::NotConnected)
    );
    assert_eq!(h.accept(fd), Err(Error::Invalid));
    assert_eq!(h.recv(99, 1, false, now), Err(Error::BadFd));
    assert_eq!(
        h.bind(fd, addr("192.0.2.9:80")),
        Err(Error::AddrNotAvailable)
    );
    assert_eq!(
        h.bind(fd, addr("[2001:db8::1]:80")),
        Err(Error::AfNotSupported)
    );
    h.bind(fd, addr("192.0.2.1:80")).unwrap();
    assert_eq!(h.bind(fd, addr("192.0.2.1:81")), Err(Error::Invalid));
    let other = h.socket(Family::V4, false).unwrap();
    assert_eq!(h.bind(other, addr("0.0.0.0:80")), Err(Error::AddrInUse));
    h.listen(fd, 5).unwrap();
    assert_eq!(h.accept(fd), Err(Error::WouldBlock));
    assert_eq!(
        h.connect(fd, addr("192.0.2.2:1"), now),
        Err(Error::IsConnected)
    );
    assert_eq!(h.in_queue(fd), Err(Error::Invalid));
    h.close(fd, now).unwrap();
    assert_eq!(h.close(fd, now), Err(Error::BadFd));
    // The freed fd number is reused, lowest first.
    assert_eq!(h.socket(Family::V6, true), Ok(3));
    assert_eq!(
        h.connections(),
        [],
        "fresh sockets and closed listeners are not connections"
    );
}

#[test]
fn options_round_trip_like_linux() {
    let mut h = host("192.0.2.1");
    let fd = h.socket(Family::V4, false).unwrap();
    h.setsockopt(fd, SockOpt::RcvBuf(10_000), Duration::ZERO)
        .unwrap();
    assert_eq!(
        h.getsockopt(fd, SockOptName::RcvBuf),
        Ok(OptValue::Int(20_000))
    );
    h.setsockopt(fd, SockOpt::Linger(Some(0)), Duration::ZERO)
        .unwrap();
    assert_eq!(
        h.getsockopt(fd, SockOptName::Linger),
        Ok(OptValue::Linger {
            onoff: true,
            secs: 0
        })
    );
    h.setsockopt(fd, SockOpt::NoDelay(true), Duration::ZERO)
        .unwrap();
    assert_eq!(h.getsockopt(fd, SockOptName::NoDelay), Ok(OptValue::Int(1)));
    h.setsockopt(
        fd,
        SockOpt::UserTimeout(Duration::from_millis(1500)),
        Duration::ZERO,
    )
    .unwrap();
    assert_eq!(
        h.getsockopt(fd, SockOptName::UserTimeout),
        Ok(OptValue::Int(1500))
    );
    assert_eq!(
        h.setsockopt(fd, SockOpt::MaxSeg(10), Duration::ZERO),
        Err(Error::Invalid)
    );
    assert_eq!(
        h.getsockopt(fd, SockOptName::Error),
        Ok(OptValue::Error(None))
    );
    assert!(!h.is_nonblocking(fd).unwrap());
    h.set_nonblocking(fd, true).unwrap();
    assert!(h.is_nonblocking(fd).unwrap());
}

/// MUST-67 over IPv6: the MSS offered is the MTU less 40 + 20 header bytes.
#[test]
fn ipv6_mss_follows_the_mtu() {
    let mut net = Pair::new(
        Host::new(Profile::rfc9293(), ["2001:db8::1".parse().unwrap()]),
        Host::new(Profile::rfc9293(), ["2001:db8::2".parse().unwrap()]),
        LinkConfig::perfect(Duration::from_millis(1)),
    );
    // Host 1 listens; host 0 connects with TCP_MAXSEG unset: both advertise 1440 (MUST-67).
    let l = net.hosts[1].socket(Family::V6, true).unwrap();
    net.hosts[1].bind(l, addr("[2001:db8::2]:80")).unwrap();
    net.hosts[1].listen(l, 1).unwrap();
    let c = net.hosts[0].socket(Family::V6, true).unwrap();
    let _ = net.hosts[0].connect(c, addr("[2001:db8::2]:80"), Duration::ZERO);
    assert!(net.run_until(LIMIT, |n| n.hosts[1].accept(l).is_ok()));
    // 1440 minus the 12 bytes of timestamps on every segment.
    assert_eq!(
        net.hosts[0].getsockopt(c, SockOptName::MaxSeg),
        Ok(OptValue::Int(1428))
    );
}

/// TIME-WAIT holds the port against bind unless SO_REUSEADDR; the state query shows it fd-less.
#[test]
fn time_wait_blocks_bind_without_reuseaddr() {
    let mut net = Pair::new(
        host("192.0.2.1"),
        host("192.0.2.2"),
        LinkConfig::perfect(Duration::from_millis(1)),
    );
    let l = net.hosts[1].socket(Family::V4, true).unwrap();
    net.hosts[1].bind(l, addr("192.0.2.2:80")).unwrap();
    net.hosts[1].listen(l, 1).unwrap();
    let c = net.hosts[0].socket(Family::V4, true).unwrap();
    net.hosts[0].bind(c, addr("192.0.2.1:7000")).unwrap();
    let _ = net.hosts[0].connect(c, addr("192.0.2.2:80"), Duration::ZERO);
    let mut s = None;
    assert!(net.run_until(LIMIT, |n| {
        s = s.or_else(|| n.hosts[1].accept(l).ok().map(|x| x.0));
        s.is_some()
    }));
    let now = net.now;
    net.hosts[0].close(c, now).unwrap();
    net.hosts[1].close(s.unwrap(), now).unwrap();
    assert!(net.run_until(LIMIT, |n| {
        n.hosts[0]
            .connections()
            .iter()
            .any(|c| c.state == State::TimeWait)
    }));
    let tw = net.hosts[0].connections();
    assert_eq!((tw[0].local, tw[0].fd), (addr("192.0.2.1:7000"), None));
    let again = net.hosts[0].socket(Family::V4, true).unwrap();
    assert_eq!(
        net.hosts[0].bind(again, addr("192.0.2.1:7000")),
        Err(Error::AddrInUse)
    );
    net.hosts[0]
        .setsockopt(again, SockOpt::ReuseAddr(true), Duration::ZERO)
        .unwrap();
    assert_eq!(net.hosts[0].bind(again, addr("192.0.2.1:7000")), Ok(()));
}

/// Readiness tells an adapter when a blocked call would complete.
#[test]
fn readiness_tracks_blocked_conditions() {
    let mut net = Pair::new(
        host("192.0.2.1"),
        host("192.0.2.2"),
        LinkConfig::perfect(Duration::from_millis(1)),
    );
    let l = net.hosts[1].socket(Family::V4, false).unwrap();
    net.hosts[1].bind(l, addr("192.0.2.2:80")).unwrap();
    net.hosts[1].listen(l, 1).unwrap();
    assert!(!net.hosts[1].readiness(l).unwrap().readable);
    let c = net.hosts[0].socket(Family::V4, false).unwrap();
    let _ = net.hosts[0].connect(c, addr("192.0.2.2:80"), Duration::ZERO);
    assert!(!net.hosts[0].readiness(c).unwrap().writable);
    assert!(net.run_until(LIMIT, |n| n.hosts[1].readiness(l).unwrap().readable));
    let (s, peer) = net.hosts[1].accept(l).unwrap();
    assert_eq!(peer.ip(), "192.0.2.1".parse::<IpAddr>().unwrap());
    assert!(net.hosts[0].readiness(c).unwrap().writable);
    assert!(!net.hosts[1].readiness(s).unwrap().readable);
    let now = net.now;
    net.hosts[0].send(c, b"ping", now).unwrap();
    assert!(net.run_until(LIMIT, |n| n.hosts[1].readiness(s).unwrap().readable));
    assert_eq!(net.hosts[1].in_queue(s), Ok(4));
    // Unacknowledged until the delayed ACK arrives.
    assert_eq!(net.hosts[0].out_queue(c), Ok(4));
    assert!(net.run_until(LIMIT, |n| n.hosts[0].out_queue(c) == Ok(0)));
}
