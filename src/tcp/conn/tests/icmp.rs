//! ICMP errors (RFC 9293 §3.9.2.2): demultiplexed by the quoted segment (MUST-54), checked
//! against SND.UNA..SND.NXT (RFC 5927 §4.1), soft ones recorded (MUST-56, SHLD-25), hard ones
//! aborting (SHLD-26), Source Quench ignored (MUST-55), Packet Too Big lowering the MSS.

use std::net::IpAddr;

use super::*;
use crate::tcp::OptValue;
use crate::tcp::SockOptName;
use crate::tcp::icmp::tests::icmp_error;

const ROUTER: &str = "203.0.113.9";

impl Peer {
    /// Delivers an ICMP error of `icmp_type`/`code` quoting the first 8 TCP octets of `original`.
    fn icmp(&mut self, icmp_type: u8, code: u8, word: u32, original: &[u8]) {
        let router: IpAddr = ROUTER.parse().unwrap();
        let pkt = icmp_error(router, self.it.ip(), icmp_type, code, word, original, 8);
        self.host.receive(self.now, &pkt);
    }

    /// The next packet the host sends, raw, after `f` provokes it.
    fn raw_out(&mut self, f: impl FnOnce(&mut Peer)) -> Vec<u8> {
        f(self);
        let pkt = self.host.pop_outbound().expect("the host sent a packet");
        let p = codec::parse(&pkt).unwrap();
        let f = p.tcp.flags;
        let end = p.tcp.seq
            + p.payload.len() as u32
            + u32::from(f.has(Flags::SYN))
            + u32::from(f.has(Flags::FIN));
        if f.has(Flags::SYN) || end > self.host_nxt {
            self.host_nxt = end;
        }
        pkt
    }

    fn so_error(&mut self) -> Option<Error> {
        match self.host.getsockopt(self.fd.unwrap(), SockOptName::Error) {
            Ok(OptValue::Error(e)) => e,
            other => panic!("SO_ERROR: {other:?}"),
        }
    }
}

/// A SYN-SENT peer together with the raw SYN the host sent.
fn syn_sent_with_syn() -> (Peer, Vec<u8>) {
    let mut p = Peer::new(p9293());
    let fd = p.host.socket(Family::V4, true).unwrap();
    p.fd = Some(fd);
    let me = p.me;
    let syn = p.raw_out(|p| {
        assert_eq!(p.host.connect(fd, me, p.now), Err(Error::InProgress));
    });
    p.it = p.host.connections()[0].local;
    (p, syn)
}

/// An ESTABLISHED peer with 10 octets from the host in flight, and their raw segment.
fn established_with_data() -> (Peer, Vec<u8>) {
    let mut p = Peer::established(p9293());
    let fd = p.fd.unwrap();
    let data = p.raw_out(|p| {
        assert_eq!(p.host.send(fd, b"0123456789", p.now), Ok(10));
    });
    (p, data)
}

#[test]
fn hard_error_in_syn_sent_refuses_the_connection() {
    for (code, error) in [(2, Error::NoProtoOpt), (3, Error::ConnectionRefused)] {
        let (mut p, syn) = syn_sent_with_syn();
        p.icmp(3, code, 0, &syn);
        assert_eq!(p.state(), State::Closed);
        p.expect_nothing();
        let fd = p.fd.unwrap();
        assert_eq!(p.host.connect(fd, p.me, p.now), Err(error));
    }
}

#[test]
fn soft_error_in_syn_sent_is_recorded_and_the_handshake_completes() {
    let (mut p, syn) = syn_sent_with_syn();
    p.icmp(3, 1, 0, &syn);
    assert_eq!(p.state(), State::SynSent);
    assert_eq!(p.so_error(), Some(Error::HostUnreachable));
    assert_eq!(p.so_error(), None, "SO_ERROR clears it");
    p.raw(Flags::SYN | Flags::ACK, p.nxt, p.host_nxt, &[]);
    assert_eq!(p.state(), State::Established);
}

/// A connection that times out after a soft error reports that error (RFC 9293 §3.9.1.8).
#[test]
fn syn_timeout_after_soft_error_reports_it() {
    let (mut p, syn) = syn_sent_with_syn();
    p.icmp(3, 0, 0, &syn);
    p.run_for(Duration::from_secs(400));
    assert_eq!(p.state(), State::Closed);
    let fd = p.fd.unwrap();
    assert_eq!(p.host.connect(fd, p.me, p.now), Err(Error::NetUnreachable));
}

#[test]
fn hard_error_in_established_aborts_without_rst() {
    let (mut p, data) = established_with_data();
    p.icmp(3, 3, 0, &data);
    assert_eq!(p.state(), State::Closed);
    p.expect_nothing();
    let fd = p.fd.unwrap();
    assert_eq!(
        p.host.recv(fd, 10, false, p.now),
        Err(Error::ConnectionRefused)
    );
}

#[test]
fn soft_errors_and_source_quench_never_abort() {
    for (icmp_type, code) in [(3, 0), (3, 1), (3, 5), (11, 0), (12, 0), (4, 0)] {
        let (mut p, data) = established_with_data();
        p.icmp(icmp_type, code, 0, &data);
        assert_eq!(
            p.state(),
            State::Established,
            "type {icmp_type} code {code}"
        );
        p.expect_nothing();
        let expected = (icmp_type != 4).then_some(());
        assert_eq!(p.so_error().map(|_| ()), expected, "type {icmp_type}");
    }
}

/// RFC 5927 §4.1: an error quoting a sequence number outside SND.UNA..SND.NXT is ignored.
#[test]
fn quoted_sequence_outside_the_flight_is_ignored() {
    let (mut p, data) = established_with_data();
    // Acknowledge the data: the quoted segment is no longer in flight.
    p.send(Flags::ACK, &[]);
    p.icmp(3, 3, 0, &data);
    assert_eq!(p.state(), State::Established);
    // A connection with nothing in flight (TIME-WAIT included) ignores every error.
    let mut p = Peer::time_wait(p9293());
    let seg = p.packet(Flags::ACK, p.host_nxt, p.nxt, Options::default(), &[]);
    // Quote a segment of the host's (swap the roles of the addresses).
    let mut quoted = seg.clone();
    quoted[12..16].copy_from_slice(&seg[16..20]);
    quoted[16..20].copy_from_slice(&seg[12..16]);
    quoted[20..22].copy_from_slice(&seg[22..24]);
    quoted[22..24].copy_from_slice(&seg[20..22]);
    p.icmp(3, 3, 0, &quoted);
    assert_eq!(p.state(), State::TimeWait);
}

/// MUST-54: the error reaches only the connection whose segment it quotes.
#[test]
fn error_for_another_port_is_not_applied() {
    let (mut p, mut data) = established_with_data();
    // Another local port: no such connection.
    data[20..22].copy_from_slice(&9999u16.to_be_bytes());
    p.icmp(3, 3, 0, &data);
    assert_eq!(p.state(), State::Established);
}

/// RFC 1191: "fragmentation needed" lowers the MSS and resends the lost data at once, in
/// segments that fit, without backing off.
#[test]
fn packet_too_big_lowers_the_mss_and_resends() {
    let mut p = Peer::established(p9293());
    let fd = p.fd.unwrap();
    let una = p.host_nxt;
    let first = p.raw_out(|p| {
        assert_eq!(p.host.send(fd, &[7u8; 1000], p.now), Ok(1000));
    });
    // 536 octets (the default MSS) in flight; Nagle holds the remaining 464.
    assert_eq!(codec::parse(&first).unwrap().payload.len(), 536);
    p.expect_nothing();
    p.icmp(3, 4, 476, &first);
    let resent = p.out();
    let lens: Vec<usize> = resent.iter().map(|o| o.len).collect();
    assert_eq!(lens, [436, 436], "{resent:?}");
    assert_eq!(resent[0].seq, una);
    assert_eq!(
        p.host.getsockopt(fd, SockOptName::MaxSeg),
        Ok(OptValue::Int(436))
    );
    assert_eq!(p.state(), State::Established);
    // A report of a larger MTU does not raise it again.
    p.icmp(3, 4, 1500, &first);
    p.expect_nothing();
}

#[test]
fn icmp_addressed_elsewhere_is_dropped() {
    let (mut p, syn) = syn_sent_with_syn();
    let router: IpAddr = ROUTER.parse().unwrap();
    let other: IpAddr = "192.0.2.99".parse().unwrap();
    let pkt = icmp_error(router, other, 3, 3, 0, &syn, 8);
    p.host.receive(p.now, &pkt);
    assert_eq!(p.state(), State::SynSent);
}
