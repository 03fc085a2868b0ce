//! ECN (RFC 9293 §3.8.2, SHLD-8; RFC 3168 §6.1): setup on a passive open, ECE echo of CE until
//! CWR, and the sender's CWR and ECT marks.

use super::*;

/// Whether a raw packet from the host carries ECT(0) (IPv4 only in these tests).
fn is_ect0(packet: &[u8]) -> bool {
    packet[1] & 0b11 == 0b10
}

impl Peer {
    /// Sends an in-sequence segment whose IP header says Congestion Experienced.
    fn send_ce(&mut self, flags: Flags, data: &[u8]) {
        let mut pkt = self.packet(flags, self.nxt, self.host_nxt, Options::default(), data);
        pkt[1] |= 0b11;
        pkt[10..12].copy_from_slice(&[0, 0]);
        let csum = !codec::fold(codec::sum(0, &pkt[..20]));
        pkt[10..12].copy_from_slice(&csum.to_be_bytes());
        self.host.receive(self.now, &pkt);
        self.nxt += data.len() as u32;
    }

    /// Everything the host sent, raw, with the parsed flags and payload length.
    fn raw_packets(&mut self) -> Vec<(Vec<u8>, Flags, usize)> {
        let mut v = Vec::new();
        while let Some(pkt) = self.host.pop_outbound() {
            let p = codec::parse(&pkt).unwrap();
            let end = p.tcp.seq + p.payload.len() as u32;
            if end > self.host_nxt {
                self.host_nxt = end;
            }
            let info = (p.tcp.flags, p.payload.len());
            v.push((pkt, info.0, info.1));
        }
        v
    }

    /// An ESTABLISHED connection opened by an ECN-setup SYN.
    fn ecn_established(profile: Profile) -> (Peer, Out) {
        let mut p = Peer::listen(profile);
        p.send(Flags::SYN | Flags::ECE | Flags::CWR, &[]);
        let synack = p.one();
        p.send(Flags::ACK, &[]);
        let (fd, _) = p.host.accept(p.listener.unwrap()).unwrap();
        p.fd = Some(fd);
        (p, synack)
    }
}

/// §6.1.1: an ECN-setup SYN gets an ECN-setup SYN-ACK (ECE, not CWR); a plain SYN, or the
/// rfc793 profile, gets a plain one.
#[test]
fn ecn_setup_syn_gets_ece_syn_ack() {
    let (_, synack) = Peer::ecn_established(p9293());
    assert_eq!(synack.flags, Flags::SYN | Flags::ACK | Flags::ECE);

    let (_, synack) = Peer::ecn_established(p793());
    assert_eq!(synack.flags, Flags::SYN | Flags::ACK);

    let mut p = Peer::listen(p9293());
    p.send(Flags::SYN, &[]);
    assert_eq!(p.one().flags, Flags::SYN | Flags::ACK);
    // ECE alone is not an ECN-setup SYN.
    let mut p = Peer::listen(p9293());
    p.send(Flags::SYN | Flags::ECE, &[]);
    assert_eq!(p.one().flags, Flags::SYN | Flags::ACK);
}

/// §6.1.3: after a CE-marked segment every ACK carries ECE until a segment with CWR arrives.
#[test]
fn ce_is_echoed_until_cwr() {
    let (mut p, _) = Peer::ecn_established(p9293());
    p.send_ce(Flags::ACK | Flags::PSH, b"abc");
    p.run_for(Duration::from_millis(500));
    assert_eq!(p.one().flags, Flags::ACK | Flags::ECE);
    p.send(Flags::ACK | Flags::PSH, b"def");
    p.run_for(Duration::from_millis(500));
    assert_eq!(p.one().flags, Flags::ACK | Flags::ECE);
    p.send(Flags::ACK | Flags::PSH | Flags::CWR, b"ghi");
    p.run_for(Duration::from_millis(500));
    assert_eq!(p.one().flags, Flags::ACK);
}

/// Without ECN agreed, CE marks are not echoed.
#[test]
fn ce_without_ecn_is_not_echoed() {
    let mut p = Peer::established(p9293());
    p.send_ce(Flags::ACK | Flags::PSH, b"abc");
    p.run_for(Duration::from_millis(500));
    assert_eq!(p.one().flags, Flags::ACK);
}

/// §6.1.2, §6.1.5: new data is ECT(0); after an ECE the next new data carries CWR, once per
/// window; retransmissions and pure ACKs are not ECN-capable.
#[test]
fn ece_is_answered_with_cwr_and_data_is_ect() {
    let (mut p, _) = Peer::ecn_established(p9293());
    let fd = p.fd.unwrap();
    p.host.set_nonblocking(fd, true).unwrap();
    p.host.send(fd, b"one", p.now).unwrap();
    let sent = p.raw_packets();
    assert_eq!(sent.len(), 1);
    assert!(is_ect0(&sent[0].0));
    assert_eq!(sent[0].1, Flags::ACK | Flags::PSH);

    // The peer echoes congestion while acknowledging it.
    p.send(Flags::ACK | Flags::ECE, &[]);
    p.host.send(fd, b"two", p.now).unwrap();
    let sent = p.raw_packets();
    assert_eq!(sent[0].1, Flags::ACK | Flags::PSH | Flags::CWR);
    assert!(is_ect0(&sent[0].0));

    // A second ECE for the same window of data reduces nothing more and asks no new CWR.
    let seq = p.nxt;
    p.raw(Flags::ACK | Flags::ECE, seq, p.host_nxt - 3, &[]);
    p.expect_nothing();
    p.host
        .setsockopt(fd, SockOpt::NoDelay(true), p.now)
        .unwrap();
    p.host.send(fd, b"three", p.now).unwrap();
    let sent = p.raw_packets();
    assert_eq!(sent[0].1, Flags::ACK | Flags::PSH);

    // The retransmission of "twothree" is not ECT.
    p.run_for(Duration::from_secs(2));
    let sent = p.raw_packets();
    assert_eq!(
        sent.len(),
        1,
        "{:?}",
        sent.iter().map(|s| s.1).collect::<Vec<_>>()
    );
    assert_eq!(sent[0].2, 8);
    assert!(!is_ect0(&sent[0].0));

    // An ECE acknowledging data sent after the reduction counts again.
    p.send(Flags::ACK | Flags::ECE, &[]);
    p.host.send(fd, b"four", p.now).unwrap();
    let sent = p.raw_packets();
    assert_eq!(sent[0].1, Flags::ACK | Flags::PSH | Flags::CWR);
    // A pure ACK is never ECT.
    p.send(Flags::ACK | Flags::PSH, b"x");
    p.run_for(Duration::from_millis(500));
    let sent = p.raw_packets();
    assert_eq!((sent[0].1, sent[0].2), (Flags::ACK, 0));
    assert!(!is_ect0(&sent[0].0));
}
