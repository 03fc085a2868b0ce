//! Keep-alive (RFC 9293 §3.8.4): probes, giving up, and switching it on after the connection
//! went idle.

use super::*;

/// MUST-24/26/27: SO_KEEPALIVE and TCP_KEEPIDLE set on an idle ESTABLISHED connection arm the
/// timer at once; the first probe follows the idle interval counted from when keep-alives were
/// switched on (the connection had been idle before), with no other event needed.
#[test]
fn enabling_on_an_idle_connection_arms_the_timer() {
    let mut p = Peer::established(p9293());
    let fd = p.fd.unwrap();
    p.advance(Duration::from_millis(500));
    let enabled = p.now;
    p.host
        .setsockopt(fd, SockOpt::KeepAlive(true), p.now)
        .unwrap();
    p.host
        .setsockopt(fd, SockOpt::KeepIdle(Duration::from_secs(2)), p.now)
        .unwrap();
    p.host
        .setsockopt(fd, SockOpt::KeepIntvl(Duration::from_secs(1)), p.now)
        .unwrap();
    assert_eq!(p.host.poll_at(), Some(enabled + Duration::from_secs(2)));
    p.run_for(Duration::from_secs(2));
    let probe = p.one();
    assert_eq!(
        (probe.flags, probe.seq, probe.len),
        (Flags::ACK, p.host_nxt - 1, 0)
    );
    assert_eq!(p.state(), State::Established);

    // Switching keep-alives off again disarms the timer.
    p.host
        .setsockopt(fd, SockOpt::KeepAlive(false), p.now)
        .unwrap();
    assert_eq!(p.host.poll_at(), None);
}

/// Keep-alive (MUST-24..29): off by default; when on, probes SND.UNA-1 after idle time.
#[test]
fn keepalive_probes_and_gives_up() {
    let mut p = Peer::established(p9293());
    let fd = p.fd.unwrap();
    assert_eq!(p.host.poll_at(), None);
    p.host
        .setsockopt(fd, SockOpt::KeepAlive(true), p.now)
        .unwrap();
    p.host
        .setsockopt(fd, SockOpt::KeepIdle(Duration::from_secs(10)), p.now)
        .unwrap();
    p.host
        .setsockopt(fd, SockOpt::KeepIntvl(Duration::from_secs(2)), p.now)
        .unwrap();
    p.host.setsockopt(fd, SockOpt::KeepCnt(2), p.now).unwrap();
    p.host.send(fd, b"x", p.now).unwrap();
    p.out();
    p.send(Flags::ACK, &[]);
    p.run_for(Duration::from_secs(11));
    let o = p.one();
    assert_eq!((o.seq, o.len), (p.host_nxt - 1, 0));
    p.run_for(Duration::from_secs(10));
    assert_eq!(p.state(), State::Closed);
    assert_eq!(p.host.recv(fd, 1, false, p.now), Err(Error::TimedOut));
}
