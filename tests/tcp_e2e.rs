//! End-to-end: two reference hosts talking over the in-memory link in virtual time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tcpconf::tcp::sim::{LinkConfig, Pair};
use tcpconf::tcp::{Error, Family, Fd, Host, Profile, Shutdown, SockOpt, State};

const A: &str = "192.0.2.1";
const B: &str = "192.0.2.2";
const A6: &str = "2001:db8::1";
const B6: &str = "2001:db8::2";
const LIMIT: Duration = Duration::from_secs(3600);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pair(profile: Profile, link: LinkConfig) -> Pair {
    let a = Host::new(profile.clone(), [ip(A), ip(A6)]);
    let b = Host::new(
        Profile {
            secret: profile.secret ^ 0x55,
            ..profile
        },
        [ip(B), ip(B6)],
    );
    Pair::new(a, b, link)
}

/// Host 1 listens on `server:80`, host 0 connects; returns (client fd, server listener, accepted fd).
fn establish(net: &mut Pair, family: Family, server: &str) -> (Fd, Fd, Fd) {
    let l = net.hosts[1].socket(family, true).unwrap();
    net.hosts[1]
        .bind(l, SocketAddr::new(ip(server), 80))
        .unwrap();
    net.hosts[1].listen(l, 16).unwrap();
    let c = net.hosts[0].socket(family, true).unwrap();
    let now = net.now;
    assert_eq!(
        net.hosts[0].connect(c, SocketAddr::new(ip(server), 80), now),
        Err(Error::InProgress)
    );
    assert_eq!(
        net.hosts[0].connect(c, SocketAddr::new(ip(server), 80), now),
        Err(Error::Already)
    );
    let mut accepted = None;
    assert!(net.run_until(LIMIT, |n| {
        if accepted.is_none() {
            accepted = n.hosts[1].accept(l).ok().map(|(fd, _)| fd);
        }
        accepted.is_some() && n.hosts[0].readiness(c).unwrap().writable
    }));
    let now = net.now;
    // Linux: the connect that observes completion returns 0, the next one EISCONN.
    assert_eq!(
        net.hosts[0].connect(c, SocketAddr::new(ip(server), 80), now),
        Ok(())
    );
    assert_eq!(
        net.hosts[0].connect(c, SocketAddr::new(ip(server), 80), now),
        Err(Error::IsConnected)
    );
    (c, l, accepted.unwrap())
}

fn state_of(h: &Host, fd: Option<Fd>, local_port: Option<u16>) -> Vec<State> {
    h.connections()
        .into_iter()
        .filter(|c| c.remote.is_some())
        .filter(|c| fd.is_none() || c.fd == fd)
        .filter(|c| local_port.is_none_or(|p| c.local.port() == p))
        .map(|c| c.state)
        .collect()
}

/// Moves `data` from host `from`'s fd `src` to the other host's fd `dst`, returning what arrived.
fn transfer(
    net: &mut Pair,
    from: usize,
    src: Fd,
    dst: Fd,
    data: &[u8],
    limit: Duration,
) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::with_capacity(data.len());
    let ok = net.run_until(limit, |n| {
        let now = n.now;
        while sent < data.len() {
            match n.hosts[from].send(src, &data[sent..], now) {
                Ok(k) => sent += k,
                Err(Error::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        loop {
            match n.hosts[1 - from].recv(dst, 1 << 20, false, now) {
                Ok(v) if v.is_empty() => break,
                Ok(v) => got.extend_from_slice(&v),
                Err(Error::WouldBlock) => break,
                Err(e) => panic!("recv: {e}"),
            }
        }
        got.len() == data.len()
    });
    assert!(
        ok,
        "transfer stalled at {} of {} bytes (t={:?})",
        got.len(),
        data.len(),
        net.now
    );
    got
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn handshake_data_and_orderly_close_ipv4() {
    let mut net = pair(
        Profile::rfc9293(),
        LinkConfig::perfect(Duration::from_millis(5)),
    );
    let (c, _l, s) = establish(&mut net, Family::V4, B);
    assert_eq!(state_of(&net.hosts[0], Some(c), None), [State::Established]);
    let data = pattern(100_000);
    assert_eq!(transfer(&mut net, 0, c, s, &data, LIMIT), data);
    let back = pattern(3000);
    assert_eq!(transfer(&mut net, 1, s, c, &back, LIMIT), back);

    // Active close from the client: FIN-WAIT-1/2, then TIME-WAIT for 2×MSL with no fd.
    let now = net.now;
    net.hosts[0].close(c, now).unwrap();
    assert!(net.run_until(LIMIT, |n| state_of(&n.hosts[0], None, None)
        == [State::FinWait2]));
    assert_eq!(state_of(&net.hosts[1], Some(s), None), [State::CloseWait]);
    assert_eq!(net.hosts[1].recv(s, 10, false, net.now), Ok(vec![]));
    let now = net.now;
    net.hosts[1].close(s, now).unwrap();
    assert!(net.run_until(LIMIT, |n| state_of(&n.hosts[1], None, Some(80)).is_empty()));
    let tw = net.hosts[0].connections();
    assert_eq!(tw.len(), 1);
    assert_eq!((tw[0].state, tw[0].fd), (State::TimeWait, None));
    let entered = net.now;
    assert!(net.run_until(LIMIT, |n| n.hosts[0].connections().is_empty()));
    let lasted = net.now - entered;
    assert!(
        lasted >= Duration::from_secs(239) && lasted <= Duration::from_secs(241),
        "TIME-WAIT lasted {lasted:?}"
    );
}

#[test]
fn ipv6_transfer_and_half_close() {
    let mut net = pair(
        Profile::rfc9293(),
        LinkConfig::perfect(Duration::from_millis(1)),
    );
    let (c, _l, s) = establish(&mut net, Family::V6, B6);
    let now = net.now;
    // Half-close: the client stops sending but keeps receiving.
    net.hosts[0].shutdown(c, Shutdown::Write, now).unwrap();
    assert!(
        net.run_until(LIMIT, |n| n.hosts[1].recv(s, 10, false, n.now)
            == Ok(vec![]))
    );
    assert_eq!(net.hosts[0].send(c, b"x", net.now), Err(Error::BrokenPipe));
    let data = pattern(50_000);
    assert_eq!(transfer(&mut net, 1, s, c, &data, LIMIT), data);
    assert_eq!(state_of(&net.hosts[0], Some(c), None), [State::FinWait2]);
    assert_eq!(state_of(&net.hosts[1], Some(s), None), [State::CloseWait]);
}

#[test]
fn simultaneous_open_and_simultaneous_close() {
    let mut net = pair(
        Profile::rfc9293(),
        LinkConfig::perfect(Duration::from_millis(10)),
    );
    let a = net.hosts[0].socket(Family::V4, true).unwrap();
    let b = net.hosts[1].socket(Family::V4, true).unwrap();
    net.hosts[0].bind(a, SocketAddr::new(ip(A), 5000)).unwrap();
    net.hosts[1].bind(b, SocketAddr::new(ip(B), 6000)).unwrap();
    assert_eq!(
        net.hosts[0].connect(a, SocketAddr::new(ip(B), 6000), Duration::ZERO),
        Err(Error::InProgress)
    );
    assert_eq!(
        net.hosts[1].connect(b, SocketAddr::new(ip(A), 5000), Duration::ZERO),
        Err(Error::InProgress)
    );
    // MUST-10: both go SYN-SENT → SYN-RECEIVED → ESTABLISHED.
    assert!(net.run_until(LIMIT, |n| {
        state_of(&n.hosts[0], Some(a), None) == [State::Established]
            && state_of(&n.hosts[1], Some(b), None) == [State::Established]
    }));
    let data = pattern(10_000);
    assert_eq!(transfer(&mut net, 0, a, b, &data, LIMIT), data);
    let now = net.now;
    net.hosts[0].close(a, now).unwrap();
    net.hosts[1].close(b, now).unwrap();
    // Both FINs cross: CLOSING on both sides, then TIME-WAIT on both.
    assert!(net.run_until(LIMIT, |n| {
        state_of(&n.hosts[0], None, None) == [State::TimeWait]
            && state_of(&n.hosts[1], None, None) == [State::TimeWait]
    }));
}

#[test]
fn refused_connect_reports_econnrefused_once() {
    let mut net = pair(
        Profile::rfc9293(),
        LinkConfig::perfect(Duration::from_millis(1)),
    );
    let c = net.hosts[0].socket(Family::V4, true).unwrap();
    let dst = SocketAddr::new(ip(B), 81);
    assert_eq!(
        net.hosts[0].connect(c, dst, Duration::ZERO),
        Err(Error::InProgress)
    );
    assert!(net.run_until(LIMIT, |n| n.hosts[0].readiness(c).unwrap().error));
    let now = net.now;
    assert_eq!(
        net.hosts[0].connect(c, dst, now),
        Err(Error::ConnectionRefused)
    );
}

#[test]
fn peer_reset_gives_econnreset_then_eof_and_epipe() {
    let mut net = pair(
        Profile::rfc9293(),
        LinkConfig::perfect(Duration::from_millis(1)),
    );
    let (c, _l, s) = establish(&mut net, Family::V4, B);
    net.hosts[1]
        .setsockopt(s, SockOpt::Linger(Some(0)), net.now)
        .unwrap();
    let now = net.now;
    net.hosts[1].close(s, now).unwrap();
    assert!(net.run_until(LIMIT, |n| n.hosts[0].readiness(c).unwrap().error));
    assert!(
        net.hosts[1]
            .connections()
            .iter()
            .all(|c| c.remote.is_none()),
        "no TIME-WAIT after abort"
    );
    let now = net.now;
    assert_eq!(
        net.hosts[0].recv(c, 10, false, now),
        Err(Error::ConnectionReset)
    );
    assert_eq!(net.hosts[0].recv(c, 10, false, now), Ok(vec![]));
    assert_eq!(net.hosts[0].send(c, b"x", now), Err(Error::BrokenPipe));
}

#[test]
fn close_with_unread_data_sends_rst() {
    let mut net = pair(
        Profile::rfc9293(),
        LinkConfig::perfect(Duration::from_millis(1)),
    );
    let (c, _l, s) = establish(&mut net, Family::V4, B);
    let now = net.now;
    net.hosts[0].send(c, b"unread", now).unwrap();
    assert!(net.run_until(LIMIT, |n| n.hosts[1].in_queue(s) == Ok(6)));
    let now = net.now;
    net.hosts[1].close(s, now).unwrap();
    assert!(net.run_until(LIMIT, |n| n.hosts[0].readiness(c).unwrap().error));
    assert_eq!(
        net.hosts[0].recv(c, 10, false, net.now),
        Err(Error::ConnectionReset)
    );
}

#[test]
fn ten_megabytes_through_a_lossy_reordering_duplicating_link() {
    let link = LinkConfig {
        delay: Duration::from_millis(10),
        loss_ppm: 20_000,
        duplicate_ppm: 10_000,
        reorder_ppm: 50_000,
        reorder_delay: Duration::from_millis(15),
        seed: 0x1234_5678,
    };
    let mut net = pair(Profile::rfc9293(), link);
    let (c, _l, s) = establish(&mut net, Family::V4, B);
    let data = pattern(10 * 1000 * 1000);
    let got = transfer(&mut net, 0, c, s, &data, Duration::from_secs(100_000));
    if let Some(i) = (0..data.len()).find(|&i| got[i] != data[i]) {
        panic!("payload corrupted from byte {i}");
    }
    assert!(net.stats.lost > 100 && net.stats.duplicated > 50 && net.stats.reordered > 100);
    net.hosts[0].check_invariants().unwrap();
    net.hosts[1].check_invariants().unwrap();
}

#[test]
fn runs_are_reproducible_byte_for_byte() {
    let run = || {
        let mut net = pair(
            Profile::rfc9293(),
            LinkConfig::perfect(Duration::from_millis(3)),
        );
        let mut trace = Vec::new();
        let (c, _l, _s) = establish(&mut net, Family::V4, B);
        let now = net.now;
        net.hosts[0].send(c, &pattern(5000), now).unwrap();
        net.flush();
        while net.step(LIMIT) {
            trace.push(net.now);
            if net.now > Duration::from_secs(2) {
                break;
            }
        }
        (trace, net.stats)
    };
    assert_eq!(run(), run());
}

#[test]
fn rfc793_profile_survives_the_lossy_link_too() {
    let link = LinkConfig {
        delay: Duration::from_millis(5),
        loss_ppm: 30_000,
        duplicate_ppm: 10_000,
        reorder_ppm: 50_000,
        reorder_delay: Duration::from_millis(10),
        seed: 99,
    };
    let mut net = pair(Profile::rfc793(), link);
    let (c, _l, s) = establish(&mut net, Family::V6, B6);
    let data = pattern(2_000_000);
    let got = transfer(&mut net, 1, s, c, &data, Duration::from_secs(100_000));
    assert!(got == data, "payload corrupted");
}
