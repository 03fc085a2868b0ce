//! Unit tests of connection behaviour, by RFC section. A scripted peer crafts segments with the
//! codec and checks exactly what the host answers, covering every cell of the SEGMENT ARRIVES
//! matrix (RFC 9293 §3.10.7; `reference/rfc9293.md` §2) under both profiles where they differ.

use std::net::SocketAddr;
use std::time::Duration;

use crate::tcp::codec::{self, Flags, TcpHeader};
use crate::tcp::options::Options;
use crate::tcp::seq::Seq;
use crate::tcp::{
    Error, Family, Fd, Host, OptValue, Profile, Shutdown, SockOpt, SockOptName, State,
};

const MS: Duration = Duration::from_millis(1);

/// Profiles with options off, so that expected segments are plain.
fn plain(mut p: Profile) -> Profile {
    p.timestamps = false;
    p.window_scale = None;
    p.sack_permitted = false;
    p
}

fn p9293() -> Profile {
    plain(Profile::rfc9293())
}

fn p793() -> Profile {
    plain(Profile::rfc793())
}

/// A segment the host sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    pub flags: Flags,
    pub seq: Seq,
    pub ack: Seq,
    pub win: u16,
    pub len: usize,
    pub opts: Options,
}

/// The far end of one connection, played by the test.
pub(crate) struct Peer {
    pub host: Host,
    pub now: Duration,
    /// The peer's own address.
    pub me: SocketAddr,
    /// The host's address.
    pub it: SocketAddr,
    /// The peer's next sequence number (the host's RCV.NXT once in sync).
    pub nxt: Seq,
    /// The host's SND.NXT as last seen on the wire.
    pub host_nxt: Seq,
    pub fd: Option<Fd>,
    pub listener: Option<Fd>,
}

impl Peer {
    fn new(profile: Profile) -> Peer {
        let it: SocketAddr = "192.0.2.1:8080".parse().unwrap();
        Peer {
            host: Host::new(profile, [it.ip()]),
            now: Duration::from_secs(1),
            me: "192.0.2.2:40000".parse().unwrap(),
            it,
            nxt: Seq(1_000_000),
            host_nxt: Seq(0),
            fd: None,
            listener: None,
        }
    }

    fn packet(&self, flags: Flags, seq: Seq, ack: Seq, opts: Options, data: &[u8]) -> Vec<u8> {
        let hdr = TcpHeader {
            src_port: self.me.port(),
            dst_port: self.it.port(),
            seq,
            ack,
            flags,
            window: 65535,
            urgent: 0,
            options: opts,
        };
        codec::emit(self.me.ip(), self.it.ip(), &hdr, [data, &[]], 0)
    }

    /// Sends a segment with explicit numbers.
    fn raw(&mut self, flags: Flags, seq: Seq, ack: Seq, data: &[u8]) {
        self.raw_opts(flags, seq, ack, Options::default(), data);
    }

    fn raw_opts(&mut self, flags: Flags, seq: Seq, ack: Seq, opts: Options, data: &[u8]) {
        let pkt = self.packet(flags, seq, ack, opts, data);
        self.host.receive(self.now, &pkt);
    }

    /// Sends in-sequence (SEQ = our next, ACK = the host's SND.NXT) and advances our sequence.
    fn send(&mut self, flags: Flags, data: &[u8]) {
        let seq = self.nxt;
        self.raw(flags, seq, self.host_nxt, data);
        self.nxt +=
            data.len() as u32 + u32::from(flags.has(Flags::SYN)) + u32::from(flags.has(Flags::FIN));
    }

    /// Everything the host sent since the last call.
    fn out(&mut self) -> Vec<Out> {
        let mut v = Vec::new();
        while let Some(pkt) = self.host.pop_outbound() {
            let p = codec::parse(&pkt).expect("host emits valid packets");
            let o = Out {
                flags: p.tcp.flags,
                seq: p.tcp.seq,
                ack: p.tcp.ack,
                win: p.tcp.window,
                len: p.payload.len(),
                opts: p.tcp.options,
            };
            let end = o.seq
                + o.len as u32
                + u32::from(o.flags.has(Flags::SYN))
                + u32::from(o.flags.has(Flags::FIN));
            if !o.flags.has(Flags::RST) && (o.flags.has(Flags::SYN) || end > self.host_nxt) {
                self.host_nxt = end;
            }
            v.push(o);
        }
        v
    }

    /// The single segment the host sent.
    fn one(&mut self) -> Out {
        let v = self.out();
        assert_eq!(v.len(), 1, "expected exactly one segment, got {v:?}");
        v[0]
    }

    fn state(&self) -> State {
        self.host
            .connections()
            .into_iter()
            .find(|c| c.remote == Some(self.me))
            .map_or(State::Closed, |c| c.state)
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.host.poll(self.now);
    }

    /// Runs timers until `t` past now, one deadline at a time.
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.host.poll_at() {
            if t > end {
                break;
            }
            self.now = t.max(self.now);
            self.host.poll(self.now);
        }
        self.now = end;
    }

    // ----- Reaching each state -----

    fn listen(profile: Profile) -> Peer {
        let mut p = Peer::new(profile);
        let l = p.host.socket(Family::V4, true).unwrap();
        p.host.bind(l, p.it).unwrap();
        p.host.listen(l, 8).unwrap();
        p.listener = Some(l);
        p
    }

    fn syn_received_passive(profile: Profile) -> Peer {
        let mut p = Peer::listen(profile);
        p.send(Flags::SYN, &[]);
        let synack = p.one();
        assert_eq!(synack.flags, Flags::SYN | Flags::ACK);
        assert_eq!(p.state(), State::SynReceived);
        p
    }

    fn syn_sent(profile: Profile) -> Peer {
        let mut p = Peer::new(profile);
        let fd = p.host.socket(Family::V4, true).unwrap();
        assert_eq!(p.host.connect(fd, p.me, p.now), Err(Error::InProgress));
        p.fd = Some(fd);
        let syn = p.one();
        assert_eq!(syn.flags, Flags::SYN);
        p.it = p.host.connections()[0].local;
        assert_eq!(p.state(), State::SynSent);
        p
    }

    fn syn_received_active(profile: Profile) -> Peer {
        let mut p = Peer::syn_sent(profile);
        // Simultaneous open: our own SYN crosses the host's.
        let seq = p.nxt;
        p.raw(Flags::SYN, seq, Seq(0), &[]);
        p.nxt += 1;
        let synack = p.one();
        assert_eq!(synack.flags, Flags::SYN | Flags::ACK);
        assert_eq!(p.state(), State::SynReceived);
        p
    }

    fn established(profile: Profile) -> Peer {
        let mut p = Peer::syn_received_passive(profile);
        p.send(Flags::ACK, &[]);
        assert!(p.out().is_empty());
        let (fd, _) = p.host.accept(p.listener.unwrap()).unwrap();
        p.fd = Some(fd);
        assert_eq!(p.state(), State::Established);
        p
    }

    fn fin_wait_1(profile: Profile) -> Peer {
        let mut p = Peer::established(profile);
        p.host
            .shutdown(p.fd.unwrap(), Shutdown::Write, p.now)
            .unwrap();
        assert_eq!(p.one().flags, Flags::FIN | Flags::ACK);
        assert_eq!(p.state(), State::FinWait1);
        p
    }

    fn fin_wait_2(profile: Profile) -> Peer {
        let mut p = Peer::fin_wait_1(profile);
        p.send(Flags::ACK, &[]);
        assert!(p.out().is_empty());
        assert_eq!(p.state(), State::FinWait2);
        p
    }

    fn close_wait(profile: Profile) -> Peer {
        let mut p = Peer::established(profile);
        p.send(Flags::FIN | Flags::ACK, &[]);
        assert_eq!(p.one().ack, p.nxt);
        assert_eq!(p.state(), State::CloseWait);
        p
    }

    fn closing(profile: Profile) -> Peer {
        let mut p = Peer::fin_wait_1(profile);
        // Our FIN does not acknowledge the host's.
        let seq = p.nxt;
        p.raw(Flags::FIN | Flags::ACK, seq, p.host_nxt - 1, &[]);
        p.nxt += 1;
        assert_eq!(p.one().ack, p.nxt);
        assert_eq!(p.state(), State::Closing);
        p
    }

    fn last_ack(profile: Profile) -> Peer {
        let mut p = Peer::close_wait(profile);
        p.host
            .shutdown(p.fd.unwrap(), Shutdown::Write, p.now)
            .unwrap();
        assert_eq!(p.one().flags, Flags::FIN | Flags::ACK);
        assert_eq!(p.state(), State::LastAck);
        p
    }

    fn time_wait(profile: Profile) -> Peer {
        let mut p = Peer::fin_wait_2(profile);
        p.send(Flags::FIN | Flags::ACK, &[]);
        assert_eq!(p.one().ack, p.nxt);
        assert_eq!(p.state(), State::TimeWait);
        p
    }

    fn in_state(state: State, profile: Profile) -> Peer {
        match state {
            State::SynSent => Peer::syn_sent(profile),
            State::SynReceived => Peer::syn_received_passive(profile),
            State::Established => Peer::established(profile),
            State::FinWait1 => Peer::fin_wait_1(profile),
            State::FinWait2 => Peer::fin_wait_2(profile),
            State::CloseWait => Peer::close_wait(profile),
            State::Closing => Peer::closing(profile),
            State::LastAck => Peer::last_ack(profile),
            State::TimeWait => Peer::time_wait(profile),
            State::Closed | State::Listen => Peer::listen(profile),
        }
    }

    // ----- Expected answers -----

    /// `A`: `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`.
    fn expect_ack(&mut self) {
        let o = self.one();
        assert_eq!(o.flags, Flags::ACK, "{o:?}");
        assert_eq!((o.seq, o.ack, o.len), (self.host_nxt, self.nxt, 0), "{o:?}");
    }

    /// `Rk`: `<SEQ=SEG.ACK><CTL=RST>`.
    fn expect_rst_seq(&mut self, seq: Seq) {
        let o = self.one();
        assert_eq!((o.flags, o.seq), (Flags::RST, seq), "{o:?}");
    }

    /// `Rz`: `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
    fn expect_rst_ack(&mut self, ack: Seq) {
        let o = self.one();
        assert_eq!(
            (o.flags, o.seq, o.ack),
            (Flags::RST | Flags::ACK, Seq(0), ack),
            "{o:?}"
        );
    }

    fn expect_nothing(&mut self) {
        let v = self.out();
        assert!(v.is_empty(), "expected silence, got {v:?}");
    }
}

const SYNCHRONIZED: [State; 7] = [
    State::Established,
    State::FinWait1,
    State::FinWait2,
    State::CloseWait,
    State::Closing,
    State::LastAck,
    State::TimeWait,
];

/// RFC 9293 §3.10.7.1: CLOSED (no connection for the 4-tuple).
mod s3_10_7_1_closed {
    use super::*;

    #[test]
    fn syn_gets_rst_ack_covering_it() {
        let mut p = Peer::new(p9293());
        p.raw(Flags::SYN, Seq(100), Seq(0), &[]);
        p.expect_rst_ack(Seq(101));
    }

    #[test]
    fn ack_bearing_segments_get_rst_from_their_ack() {
        for flags in [Flags::SYN | Flags::ACK, Flags::ACK, Flags::FIN | Flags::ACK] {
            let mut p = Peer::new(p9293());
            p.raw(flags, Seq(100), Seq(555), b"abc");
            p.expect_rst_seq(Seq(555));
        }
    }

    #[test]
    fn data_and_fin_without_ack_get_rst_ack_with_their_length() {
        let mut p = Peer::new(p793());
        p.raw(Flags::FIN, Seq(100), Seq(0), b"abc");
        p.expect_rst_ack(Seq(104));
        p.raw(Flags::PSH, Seq(100), Seq(0), b"abc");
        p.expect_rst_ack(Seq(103));
    }

    #[test]
    fn rst_is_dropped() {
        for flags in [Flags::RST, Flags::RST | Flags::ACK] {
            let mut p = Peer::new(p9293());
            p.raw(flags, Seq(100), Seq(1), &[]);
            p.expect_nothing();
        }
    }

    #[test]
    fn bad_checksum_and_foreign_address_are_dropped() {
        let mut p = Peer::new(p9293());
        let mut pkt = p.packet(Flags::SYN, Seq(1), Seq(0), Options::default(), &[]);
        let n = pkt.len();
        pkt[n - 1] ^= 0xff;
        p.host.receive(p.now, &pkt);
        p.expect_nothing();
        p.it = "192.0.2.99:8080".parse().unwrap();
        p.raw(Flags::SYN, Seq(1), Seq(0), &[]);
        p.expect_nothing();
    }
}

/// RFC 9293 §3.10.7.2: LISTEN.
mod s3_10_7_2_listen {
    use super::*;

    #[test]
    fn syn_gets_syn_ack_and_child_in_syn_received() {
        let mut p = Peer::listen(p9293());
        p.send(Flags::SYN, &[]);
        let o = p.one();
        assert_eq!(o.flags, Flags::SYN | Flags::ACK);
        assert_eq!(o.ack, p.nxt);
        // MUST-14/SHLD-5: our MSS is advertised: 1500 - 20 - 20.
        assert_eq!(o.opts.mss, Some(1460));
        assert_eq!(p.state(), State::SynReceived);
    }

    #[test]
    fn syn_with_data_queues_it_until_established() {
        let mut p = Peer::listen(p9293());
        p.send(Flags::SYN, b"early");
        let o = p.one();
        // The data is queued, not acknowledged yet (RCV.NXT = SEG.SEQ + 1).
        assert_eq!(o.ack, p.nxt - 5);
        // The ACK that completes the handshake comes after the text (SEQ = 1 + 5).
        p.raw(Flags::ACK, p.nxt, p.host_nxt, &[]);
        p.expect_nothing();
        // Processing the queued text owes an ACK of it, delayed under half a second.
        p.run_for(Duration::from_millis(499));
        p.expect_ack();
        let (fd, _) = p.host.accept(p.listener.unwrap()).unwrap();
        assert_eq!(p.host.recv(fd, 10, false, p.now), Ok(b"early".to_vec()));
    }

    #[test]
    fn ack_and_syn_ack_get_rst() {
        for flags in [Flags::ACK, Flags::SYN | Flags::ACK, Flags::FIN | Flags::ACK] {
            let mut p = Peer::listen(p9293());
            p.raw(flags, Seq(7), Seq(4242), b"x");
            p.expect_rst_seq(Seq(4242));
            assert_eq!(p.state(), State::Closed);
        }
    }

    #[test]
    fn rst_and_segments_without_syn_or_ack_are_dropped() {
        for flags in [Flags::RST, Flags::RST | Flags::ACK, Flags::FIN, Flags::PSH] {
            let mut p = Peer::listen(p793());
            p.raw(flags, Seq(7), Seq(1), b"x");
            p.expect_nothing();
        }
    }

    #[test]
    fn full_accept_queue_drops_syns() {
        let mut p = Peer::listen(p9293());
        p.host.listen(p.listener.unwrap(), 0).unwrap();
        for port in 0..3u16 {
            p.me.set_port(41000 + port);
            p.nxt = Seq(5000);
            p.send(Flags::SYN, &[]);
            let o = p.out();
            if port < 1 {
                assert_eq!(o.len(), 1);
                p.host_nxt = o[0].seq + 1;
                p.send(Flags::ACK, &[]);
            } else {
                assert!(o.is_empty(), "SYN beyond backlog+1 answered: {o:?}");
            }
        }
    }

    /// Bounded memory: a flood of SYNs from many ports fills the SYN queue, then is dropped.
    #[test]
    fn syn_flood_is_bounded() {
        let mut p = Peer::listen(p9293());
        for port in 0..1000u16 {
            p.me.set_port(20000 + port);
            p.nxt = Seq(5000);
            p.send(
                Flags::SYN,
                b"with text, so each child holds a receive buffer",
            );
            p.out();
        }
        assert_eq!(p.host.connection_count(), 128);
        assert!(p.host.heap_bytes() <= 128 * (128 * 1024 + 4096));
    }
}

/// RFC 9293 §3.10.7.3: SYN-SENT.
mod s3_10_7_3_syn_sent {
    use super::*;

    #[test]
    fn syn_carries_options_and_isn_is_clock_plus_hash() {
        let mut p = Peer::new(Profile::rfc9293());
        let fd = p.host.socket(Family::V4, true).unwrap();
        let _ = p.host.connect(fd, p.me, p.now);
        let o = p.one();
        assert_eq!(o.opts.mss, Some(1460));
        assert_eq!(o.opts.wscale, Some(7));
        assert!(o.opts.sack_permitted);
        assert!(o.opts.timestamps.is_some());
        // RFC 6528: same tuple 4 µs later → ISN one tick larger; reproducible per secret.
        let local = p.host.connections()[0].local;
        let isn = crate::tcp::isn::initial_sequence(Profile::rfc9293().secret, p.now, local, p.me);
        assert_eq!(o.seq, isn);
    }

    #[test]
    fn acceptable_syn_ack_establishes_and_acks() {
        for profile in [p9293(), p793()] {
            let mut p = Peer::syn_sent(profile);
            p.send(Flags::SYN | Flags::ACK, &[]);
            p.expect_ack();
            assert_eq!(p.state(), State::Established);
        }
    }

    #[test]
    fn syn_ack_with_data_delivers_it() {
        let mut p = Peer::syn_sent(p9293());
        p.send(Flags::SYN | Flags::ACK | Flags::PSH, b"hello");
        p.expect_ack();
        assert_eq!(
            p.host.recv(p.fd.unwrap(), 10, false, p.now),
            Ok(b"hello".to_vec())
        );
    }

    #[test]
    fn bad_ack_gets_rst_from_its_ack() {
        for bad in [0u32, 5] {
            let mut p = Peer::syn_sent(p9293());
            // SEG.ACK =< ISS (host_nxt - 1 is the ISS) or > SND.NXT.
            let ack = if bad == 0 {
                p.host_nxt - 1
            } else {
                p.host_nxt + bad
            };
            let seq = p.nxt;
            p.raw(Flags::SYN | Flags::ACK, seq, ack, &[]);
            p.expect_rst_seq(ack);
            assert_eq!(p.state(), State::SynSent);
            p.raw(Flags::ACK, seq, ack, &[]);
            p.expect_rst_seq(ack);
        }
    }

    #[test]
    fn bare_ack_without_syn_is_dropped() {
        let mut p = Peer::syn_sent(p9293());
        p.raw(Flags::ACK, p.nxt, p.host_nxt, b"x");
        p.expect_nothing();
        p.raw(Flags::FIN, p.nxt, Seq(0), &[]);
        p.expect_nothing();
        assert_eq!(p.state(), State::SynSent);
    }

    #[test]
    fn rst_without_ack_is_dropped_and_rst_ack_refuses() {
        for profile in [p9293(), p793()] {
            let mut p = Peer::syn_sent(profile);
            p.raw(Flags::RST, p.nxt, Seq(0), &[]);
            p.expect_nothing();
            assert_eq!(p.state(), State::SynSent);
            // RST with an unacceptable ACK: dropped, no RST back.
            p.raw(Flags::RST | Flags::ACK, p.nxt, p.host_nxt + 9, &[]);
            p.expect_nothing();
            p.raw(Flags::RST | Flags::ACK, Seq(0), p.host_nxt, &[]);
            p.expect_nothing();
            assert_eq!(p.state(), State::Closed);
            let fd = p.fd.unwrap();
            assert_eq!(
                p.host.connect(fd, p.me, p.now),
                Err(Error::ConnectionRefused)
            );
        }
    }

    /// MUST-10: a SYN without ACK means simultaneous open. The peer's SYN,ACK (RFC 9293
    /// Figure 7 line 6) repeats its SYN at IRS, below RCV.NXT: unacceptable, answered with
    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>` and dropped; the peer's ACK then establishes.
    #[test]
    fn syn_means_simultaneous_open() {
        let mut p = Peer::syn_received_active(p9293());
        let seq = p.nxt - 1;
        p.raw(Flags::SYN | Flags::ACK, seq, p.host_nxt, &[]);
        p.expect_ack();
        assert_eq!(p.state(), State::SynReceived);
        p.send(Flags::ACK, &[]);
        p.expect_nothing();
        assert_eq!(p.state(), State::Established);
    }

    /// MUST-22/23, RFC 6298: SYN retransmitted at 1, 3, 7, … s; give up after R2 ≥ 3 min.
    #[test]
    fn syn_backoff_and_r2_of_three_minutes() {
        let mut p = Peer::syn_sent(p9293());
        let start = p.now;
        let mut times = Vec::new();
        while p.state() == State::SynSent {
            let Some(t) = p.host.poll_at() else { break };
            p.now = t;
            p.host.poll(t);
            for o in p.out() {
                assert_eq!(o.flags, Flags::SYN);
                times.push((t - start).as_secs());
            }
        }
        assert_eq!(times, [1, 3, 7, 15, 31, 63, 127]);
        assert!(p.now - start >= Duration::from_secs(180));
        let fd = p.fd.unwrap();
        assert_eq!(p.host.connect(fd, p.me, p.now), Err(Error::TimedOut));
    }

    #[test]
    fn tcp_syncnt_limits_retries() {
        let mut p = Peer::new(p9293());
        let fd = p.host.socket(Family::V4, true).unwrap();
        p.host.setsockopt(fd, SockOpt::SynCnt(2), p.now).unwrap();
        let _ = p.host.connect(fd, p.me, p.now);
        p.run_for(Duration::from_secs(60));
        assert_eq!(p.out().len(), 3);
        assert_eq!(p.host.connect(fd, p.me, p.now), Err(Error::TimedOut));
    }
}

/// RFC 9293 §3.10.7.4 in SYN-RECEIVED.
mod s3_10_7_4_syn_received {
    use super::*;

    #[test]
    fn acceptable_ack_establishes_and_queues_for_accept() {
        let mut p = Peer::syn_received_passive(p9293());
        p.send(Flags::ACK, &[]);
        p.expect_nothing();
        assert_eq!(p.state(), State::Established);
        assert!(p.host.readiness(p.listener.unwrap()).unwrap().readable);
    }

    #[test]
    fn unacceptable_ack_gets_rst() {
        for profile in [p9293(), p793()] {
            let mut p = Peer::syn_received_passive(profile);
            let bad = p.host_nxt + 100;
            p.raw(Flags::ACK, p.nxt, bad, &[]);
            p.expect_rst_seq(bad);
            assert_eq!(p.state(), State::SynReceived);
        }
    }

    #[test]
    fn data_with_ack_establishes_then_is_queued() {
        let mut p = Peer::syn_received_passive(p9293());
        p.send(Flags::ACK | Flags::PSH, b"data");
        assert_eq!(p.state(), State::Established);
        let (fd, _) = p.host.accept(p.listener.unwrap()).unwrap();
        assert_eq!(p.host.recv(fd, 10, false, p.now), Ok(b"data".to_vec()));
    }

    #[test]
    fn fin_with_ack_goes_to_close_wait() {
        let mut p = Peer::syn_received_passive(p9293());
        p.send(Flags::ACK | Flags::FIN, &[]);
        p.expect_ack();
        assert_eq!(p.state(), State::CloseWait);
    }

    #[test]
    fn segment_without_ack_is_dropped() {
        let mut p = Peer::syn_received_passive(p9293());
        p.send(Flags::PSH, b"x");
        p.expect_nothing();
        assert_eq!(p.state(), State::SynReceived);
    }

    /// MUST-11: RST returns a passively opened connection to LISTEN, silently.
    #[test]
    fn rst_returns_passive_open_to_listen() {
        for profile in [p9293(), p793()] {
            let mut p = Peer::syn_received_passive(profile);
            p.raw(Flags::RST, p.nxt, Seq(0), &[]);
            p.expect_nothing();
            assert_eq!(p.state(), State::Closed);
            assert!(
                p.host
                    .connections()
                    .iter()
                    .any(|c| c.state == State::Listen)
            );
            assert_eq!(p.host.accept(p.listener.unwrap()), Err(Error::WouldBlock));
        }
    }

    /// MUST-11: RST in an actively opened SYN-RECEIVED refuses the connection.
    #[test]
    fn rst_refuses_active_open() {
        let mut p = Peer::syn_received_active(p9293());
        p.raw(Flags::RST, p.nxt, Seq(0), &[]);
        assert_eq!(p.state(), State::Closed);
        let fd = p.fd.unwrap();
        assert_eq!(
            p.host.connect(fd, p.me, p.now),
            Err(Error::ConnectionRefused)
        );
    }

    #[test]
    fn in_window_rst_challenged_under_5961_accepted_under_793() {
        let mut p = Peer::syn_received_passive(p9293());
        p.raw(Flags::RST, p.nxt + 10, Seq(0), &[]);
        p.expect_ack();
        assert_eq!(p.state(), State::SynReceived);
        let mut p = Peer::syn_received_passive(p793());
        p.raw(Flags::RST, p.nxt + 10, Seq(0), &[]);
        p.expect_nothing();
        assert_eq!(p.state(), State::Closed);
    }

    #[test]
    fn rst_ack_is_handled_as_rst() {
        let mut p = Peer::syn_received_passive(p9293());
        p.raw(Flags::RST | Flags::ACK, p.nxt, Seq(12345), &[]);
        assert_eq!(p.state(), State::Closed);
    }

    #[test]
    fn out_of_window_rst_is_dropped() {
        let mut p = Peer::syn_received_passive(p9293());
        p.raw(Flags::RST, p.nxt + 10_000_000, Seq(0), &[]);
        p.expect_nothing();
        assert_eq!(p.state(), State::SynReceived);
    }

    /// §3.10.7.4 fourth check: a SYN returns a passive connection to LISTEN (new in 9293).
    #[test]
    fn in_window_syn_returns_passive_open_to_listen() {
        let mut p = Peer::syn_received_passive(p9293());
        p.raw(Flags::SYN, p.nxt + 5, Seq(0), &[]);
        p.expect_nothing();
        assert_eq!(p.state(), State::Closed);
    }

    /// RFC 793 §3.9 (SYN-RECEIVED, fourth check): an in-window SYN is an error: a reset taking
    /// its sequence number from SEG.ACK (§3.4), and the connection is deleted; the listener stays.
    #[test]
    fn in_window_syn_ack_resets_under_793() {
        let mut p = Peer::syn_received_passive(p793());
        p.raw(Flags::SYN | Flags::ACK, p.nxt + 100, p.host_nxt, &[]);
        p.expect_rst_seq(p.host_nxt);
        assert_eq!(p.state(), State::Closed);
        let listener = p.host.connections();
        assert!(listener.iter().any(|c| c.state == State::Listen));
    }

    /// A retransmitted SYN (SEQ = IRS) fails the sequence test: `A`.
    #[test]
    fn duplicate_syn_is_answered_with_ack() {
        let mut p = Peer::syn_received_passive(p9293());
        p.raw(Flags::SYN, p.nxt - 1, Seq(0), &[]);
        p.expect_ack();
        assert_eq!(p.state(), State::SynReceived);
    }

    /// SYN-ACK retransmission with backoff; a passive child gives up silently.
    #[test]
    fn syn_ack_is_retransmitted_then_abandoned() {
        let mut p = Peer::syn_received_passive(p9293());
        p.advance(Duration::from_secs(1));
        assert_eq!(p.one().flags, Flags::SYN | Flags::ACK);
        p.run_for(Duration::from_secs(400));
        assert_eq!(p.state(), State::Closed);
    }
}

/// RFC 9293 §3.10.7.4 in the synchronized states: the cells shared by every state.
mod s3_10_7_4_synchronized_common {
    use super::*;

    /// First check: an unacceptable segment gets `A` (unless it is a RST).
    #[test]
    fn out_of_window_segments_get_ack_and_rst_is_dropped() {
        for state in SYNCHRONIZED {
            for profile in [p9293(), p793()] {
                let mut p = Peer::in_state(state, profile);
                p.raw(Flags::ACK, p.nxt + 10_000_000, p.host_nxt, b"far");
                p.expect_ack();
                p.raw(Flags::ACK, p.nxt - 10, p.host_nxt, b"old");
                p.expect_ack();
                p.raw(Flags::RST, p.nxt + 10_000_000, Seq(0), &[]);
                p.expect_nothing();
                p.raw(Flags::RST | Flags::ACK, p.nxt - 100, p.host_nxt, &[]);
                p.expect_nothing();
                assert_eq!(p.state(), state, "{state:?}");
            }
        }
    }

    /// RFC 5961 §4 / RFC 793: a SYN in a synchronized state.
    #[test]
    fn syn_is_challenged_under_5961_and_resets_under_793() {
        for state in SYNCHRONIZED {
            for flags in [Flags::SYN, Flags::SYN | Flags::ACK] {
                if state == State::TimeWait && flags == Flags::SYN {
                    // A newer bare SYN reopens TIME-WAIT (MAY-2), tested separately.
                    continue;
                }
                let mut p = Peer::in_state(state, p9293());
                p.raw(flags, p.nxt + 3, p.host_nxt, &[]);
                p.expect_ack();
                assert_eq!(p.state(), state);

                let mut p = Peer::in_state(state, p793());
                p.raw(flags, p.nxt + 3, p.host_nxt, &[]);
                let o = p.one();
                assert!(o.flags.has(Flags::RST), "{state:?}: {o:?}");
                assert_eq!(p.state(), State::Closed, "{state:?}");
            }
        }
    }

    /// RFC 5961 §3.2: RST exactly at RCV.NXT resets; in-window but inexact is challenged.
    #[test]
    fn rst_exact_and_in_window() {
        for state in SYNCHRONIZED {
            for flags in [Flags::RST, Flags::RST | Flags::ACK] {
                let mut p = Peer::in_state(state, p9293());
                p.raw(flags, p.nxt + 1, p.host_nxt, &[]);
                p.expect_ack();
                assert_eq!(p.state(), state);
                p.raw(flags, p.nxt, p.host_nxt, &[]);
                p.expect_nothing();
                assert_eq!(p.state(), State::Closed, "{state:?}");

                let mut p = Peer::in_state(state, p793());
                p.raw(flags, p.nxt + 1, p.host_nxt, &[]);
                p.expect_nothing();
                assert_eq!(p.state(), State::Closed, "{state:?}");
            }
        }
    }

    /// RFC 1337 F1 profile option: TIME-WAIT ignores RST.
    #[test]
    fn rfc1337_time_wait_ignores_rst() {
        let mut p = Peer::time_wait(Profile {
            rfc1337: true,
            ..p9293()
        });
        p.raw(Flags::RST, p.nxt, Seq(0), &[]);
        assert_eq!(p.state(), State::TimeWait);
    }

    #[test]
    fn ack_for_unsent_data_gets_ack_and_drop() {
        for state in SYNCHRONIZED {
            if state == State::TimeWait {
                continue;
            }
            for profile in [p9293(), p793()] {
                let mut p = Peer::in_state(state, profile);
                p.raw(Flags::ACK, p.nxt, p.host_nxt + 1000, &[]);
                p.expect_ack();
                assert_eq!(p.state(), state);
            }
        }
    }

    /// RFC 5961 §5 (MAY-12): an ACK too far behind is challenged; RFC 793 ignores it.
    #[test]
    fn ack_older_than_max_window_is_challenged_only_under_5961() {
        let mut p = Peer::established(p9293());
        p.raw(Flags::ACK, p.nxt, p.host_nxt - 1_000_000, &[]);
        p.expect_ack();
        let mut p = Peer::established(p793());
        p.raw(Flags::ACK, p.nxt, p.host_nxt - 1_000_000, &[]);
        p.expect_nothing();
    }

    #[test]
    fn segment_without_ack_is_dropped() {
        for state in SYNCHRONIZED {
            let mut p = Peer::in_state(state, p9293());
            let seq = p.nxt;
            p.raw(Flags::PSH, seq, Seq(0), b"noack");
            p.expect_nothing();
            assert_eq!(p.state(), state);
        }
    }

    /// RFC 5961 §7: challenge ACKs are rate-limited per connection.
    #[test]
    fn challenge_acks_are_rate_limited() {
        let mut p = Peer::established(Profile {
            challenge_ack_limit: 2,
            ..p9293()
        });
        for _ in 0..5 {
            p.raw(Flags::RST, p.nxt + 1, Seq(0), &[]);
        }
        assert_eq!(p.out().len(), 2);
        p.advance(Duration::from_secs(1));
        p.raw(Flags::SYN, p.nxt, Seq(0), &[]);
        assert_eq!(p.out().len(), 1);
    }

    /// MUST-66: with a zero receive window, a valid ACK and RST are still processed.
    #[test]
    fn zero_window_still_accepts_ack_and_rst() {
        let mut p = Peer::established(Profile {
            rcvbuf: 1000,
            ..p9293()
        });
        p.send(Flags::ACK | Flags::PSH, &[7; 1000]);
        p.advance(Duration::from_millis(200));
        let o = p.one();
        assert_eq!(o.win, 0);
        // Data beyond the zero window: ACK, not accepted.
        p.raw(Flags::ACK, p.nxt, p.host_nxt, b"more");
        p.expect_ack();
        let fd = p.fd.unwrap();
        p.host.send(fd, b"reply", p.now).unwrap();
        assert_eq!(p.one().len, 5);
        p.raw(Flags::ACK, p.nxt, p.host_nxt, &[]);
        assert_eq!(p.host.out_queue(fd), Ok(0));
        p.raw(Flags::RST, p.nxt, Seq(0), &[]);
        assert_eq!(p.state(), State::Closed);
    }
}

/// RFC 9293 §3.10.7.4 cells that differ by state: ACK, text and FIN.
mod s3_10_7_4_per_state {
    use super::*;

    #[test]
    fn established_data_is_queued_and_ack_delayed_under_half_a_second() {
        let mut p = Peer::established(p9293());
        p.send(Flags::ACK | Flags::PSH, b"hello");
        p.expect_nothing();
        // MUST-40: the delayed ACK comes before 500 ms.
        let t = p.host.poll_at().unwrap();
        assert!(t - p.now < Duration::from_millis(500));
        p.advance(t - p.now);
        p.expect_ack();
        assert_eq!(
            p.host.recv(p.fd.unwrap(), 10, true, p.now),
            Ok(b"hello".to_vec())
        );
        assert_eq!(
            p.host.recv(p.fd.unwrap(), 10, false, p.now),
            Ok(b"hello".to_vec())
        );
    }

    /// SHLD-19: at least every second full-sized segment is ACKed at once.
    #[test]
    fn every_second_full_segment_is_acked() {
        let mut p = Peer::established(p9293());
        p.send(Flags::ACK, &[1; 1460]);
        p.expect_nothing();
        p.send(Flags::ACK, &[2; 1460]);
        p.expect_ack();
    }

    /// SHLD-31: out-of-order data is held and ACKed at once; the hole fill releases it.
    #[test]
    fn out_of_order_data_is_held() {
        let mut p = Peer::established(p9293());
        let base = p.nxt;
        p.raw(Flags::ACK, base + 3, p.host_nxt, b"def");
        p.expect_ack();
        p.raw(Flags::ACK | Flags::FIN, base + 6, p.host_nxt, b"ghi");
        p.expect_ack();
        assert_eq!(p.state(), State::Established);
        p.raw(Flags::ACK, base, p.host_nxt, b"abc");
        p.nxt = base + 10;
        p.expect_ack();
        assert_eq!(p.state(), State::CloseWait);
        assert_eq!(
            p.host.recv(p.fd.unwrap(), 20, false, p.now),
            Ok(b"abcdefghi".to_vec())
        );
        assert_eq!(p.host.recv(p.fd.unwrap(), 20, false, p.now), Ok(vec![]));
    }

    #[test]
    fn fin_in_established_goes_to_close_wait_and_reads_eof() {
        let mut p = Peer::close_wait(p9293());
        assert_eq!(p.host.recv(p.fd.unwrap(), 10, false, p.now), Ok(vec![]));
        // A retransmitted FIN is old: the pre-check answers `A`.
        p.raw(Flags::FIN | Flags::ACK, p.nxt - 1, p.host_nxt, &[]);
        p.expect_ack();
        // Text in CLOSE-WAIT is ignored.
        p.raw(Flags::ACK, p.nxt, p.host_nxt, b"late");
        p.expect_nothing();
    }

    #[test]
    fn fin_wait_1_ack_of_fin_goes_to_fin_wait_2() {
        let mut p = Peer::fin_wait_1(p9293());
        p.send(Flags::ACK, &[]);
        assert_eq!(p.state(), State::FinWait2);
    }

    #[test]
    fn fin_wait_1_fin_with_ack_of_our_fin_goes_to_time_wait() {
        let mut p = Peer::fin_wait_1(p9293());
        p.send(Flags::FIN | Flags::ACK, &[]);
        p.expect_ack();
        assert_eq!(p.state(), State::TimeWait);
    }

    #[test]
    fn fin_wait_1_data_still_flows_in_half_close() {
        let mut p = Peer::fin_wait_1(p9293());
        p.raw(Flags::ACK | Flags::PSH, p.nxt, p.host_nxt - 1, b"more");
        p.nxt += 4;
        assert_eq!(
            p.host.recv(p.fd.unwrap(), 10, false, p.now),
            Ok(b"more".to_vec())
        );
        assert_eq!(p.state(), State::FinWait1);
    }

    #[test]
    fn fin_wait_2_data_flows_and_fin_goes_to_time_wait() {
        let mut p = Peer::fin_wait_2(p9293());
        p.send(Flags::ACK | Flags::PSH, b"tail");
        p.send(Flags::ACK | Flags::FIN, &[]);
        p.expect_ack();
        assert_eq!(p.state(), State::TimeWait);
        assert_eq!(
            p.host.recv(p.fd.unwrap(), 10, false, p.now),
            Ok(b"tail".to_vec())
        );
    }

    /// SHLD-3: data arriving after a full close is answered with RST.
    #[test]
    fn data_after_full_close_gets_rst() {
        let mut p = Peer::fin_wait_2(p9293());
        p.host.close(p.fd.unwrap(), p.now).unwrap();
        p.send(Flags::ACK | Flags::PSH, b"late");
        let o = p.one();
        assert_eq!(o.flags, Flags::RST);
        assert_eq!(p.state(), State::Closed);
    }

    /// SHLD-3 in FIN-WAIT-1: the data does not acknowledge our FIN, so the reset takes SEG.ACK
    /// (the peer's RCV.NXT), not SND.NXT, as its sequence number (§3.5.2).
    #[test]
    fn data_after_close_before_fin_acked_gets_rst_from_its_ack() {
        let mut p = Peer::fin_wait_1(p9293());
        p.host.close(p.fd.unwrap(), p.now).unwrap();
        let seq = p.nxt;
        p.raw(Flags::ACK | Flags::PSH, seq, p.host_nxt - 1, b"late");
        p.expect_rst_seq(p.host_nxt - 1);
        assert_eq!(p.state(), State::Closed);
    }

    #[test]
    fn closing_ack_of_fin_goes_to_time_wait_else_ignored() {
        let mut p = Peer::closing(p9293());
        p.raw(Flags::ACK, p.nxt, p.host_nxt - 1, &[]);
        p.expect_nothing();
        assert_eq!(p.state(), State::Closing);
        p.raw(Flags::ACK | Flags::PSH, p.nxt, p.host_nxt - 1, b"x");
        assert_eq!(p.state(), State::Closing);
        p.out();
        p.send(Flags::ACK, &[]);
        assert_eq!(p.state(), State::TimeWait);
    }

    #[test]
    fn last_ack_ack_of_fin_deletes_tcb() {
        let mut p = Peer::last_ack(p9293());
        p.raw(Flags::ACK, p.nxt, p.host_nxt - 1, &[]);
        assert_eq!(p.state(), State::LastAck);
        p.send(Flags::ACK, &[]);
        p.expect_nothing();
        assert_eq!(p.state(), State::Closed);
        assert!(p.host.connections().iter().all(|c| c.remote.is_none()));
    }

    /// MUST-13: TIME-WAIT re-ACKs a retransmitted FIN and restarts 2×MSL.
    #[test]
    fn time_wait_reacks_fin_and_restarts_timer() {
        let mut p = Peer::time_wait(p9293());
        p.advance(Duration::from_secs(200));
        p.raw(Flags::FIN | Flags::ACK, p.nxt - 1, p.host_nxt, &[]);
        p.expect_ack();
        p.run_for(Duration::from_secs(239));
        assert_eq!(p.state(), State::TimeWait);
        p.run_for(Duration::from_secs(2));
        assert_eq!(p.state(), State::Closed);
    }

    /// §3.10.7.4 ACK check in TIME-WAIT: an in-window segment is acknowledged (its text is
    /// ignored, RCV.NXT stays) and restarts 2×MSL; a bare ACK is not answered.
    #[test]
    fn time_wait_acks_data_without_delivering_it_and_ignores_bare_ack() {
        let mut p = Peer::time_wait(p9293());
        p.raw(Flags::ACK, p.nxt, p.host_nxt, &[]);
        p.expect_nothing();
        p.advance(Duration::from_secs(100));
        p.raw(Flags::ACK, p.nxt, p.host_nxt, b"x");
        p.expect_ack();
        assert_eq!(p.state(), State::TimeWait);
        // Only a FIN restarts the 2 MSL timer: it still ends 240 s after entry.
        p.run_for(Duration::from_secs(139));
        assert_eq!(p.state(), State::TimeWait);
        p.run_for(Duration::from_secs(2));
        assert_eq!(p.state(), State::Closed);
    }

    /// MAY-2: a SYN beyond RCV.NXT reopens a TIME-WAIT connection with a larger ISS.
    #[test]
    fn time_wait_accepts_newer_syn_when_listening() {
        let mut p = Peer::time_wait(p9293());
        let old_nxt = p.host_nxt;
        p.raw(Flags::SYN, p.nxt + 100_000, Seq(0), &[]);
        let o = p.one();
        assert_eq!(o.flags, Flags::SYN | Flags::ACK);
        assert!(o.seq > old_nxt);
        assert_eq!(p.state(), State::SynReceived);
    }

    #[test]
    fn time_wait_newer_syn_without_listener_is_challenged() {
        let mut p = Peer::time_wait(p9293());
        p.host.close(p.listener.unwrap(), p.now).unwrap();
        p.raw(Flags::SYN, p.nxt + 100_000, Seq(0), &[]);
        p.expect_ack();
        assert_eq!(p.state(), State::TimeWait);
    }

    #[test]
    fn time_wait_old_syn_is_challenged_or_reset() {
        let mut p = Peer::time_wait(p9293());
        p.raw(Flags::SYN, p.nxt - 5, Seq(0), &[]);
        p.expect_ack();
        assert_eq!(p.state(), State::TimeWait);
    }
}

/// RFC 9293 §3.6 and §3.10.4–5: CLOSE and ABORT from the application.
mod s3_6_closing {
    use super::*;

    /// RFC 2525 §2.17 / SHLD-3: close with unread data sends RST instead of FIN.
    #[test]
    fn close_with_unread_data_resets() {
        let mut p = Peer::established(p9293());
        p.send(Flags::ACK | Flags::PSH, b"unread");
        p.out();
        p.host.close(p.fd.unwrap(), p.now).unwrap();
        let o = p.one();
        assert_eq!((o.flags, o.seq), (Flags::RST | Flags::ACK, p.host_nxt));
        assert_eq!(o.ack, p.nxt, "the reset carries RCV.NXT (§3.1)");
        assert_eq!(p.state(), State::Closed);
    }

    #[test]
    fn linger_zero_aborts_with_rst_and_no_time_wait() {
        let mut p = Peer::established(p9293());
        p.host
            .setsockopt(p.fd.unwrap(), SockOpt::Linger(Some(0)), p.now)
            .unwrap();
        p.host.close(p.fd.unwrap(), p.now).unwrap();
        assert_eq!(p.one().flags, Flags::RST | Flags::ACK);
        assert!(p.host.connections().iter().all(|c| c.remote.is_none()));
    }

    #[test]
    fn close_in_syn_sent_deletes_silently() {
        let mut p = Peer::syn_sent(p9293());
        p.host.close(p.fd.unwrap(), p.now).unwrap();
        p.expect_nothing();
        assert_eq!(p.state(), State::Closed);
    }

    #[test]
    fn fin_is_retransmitted_until_acked() {
        let mut p = Peer::fin_wait_1(p9293());
        p.advance(Duration::from_secs(1));
        let o = p.one();
        assert_eq!(o.flags, Flags::FIN | Flags::ACK);
        assert_eq!(o.seq, p.host_nxt - 1);
    }

    #[test]
    fn closing_listener_resets_pending_connections() {
        let mut p = Peer::syn_received_passive(p9293());
        p.send(Flags::ACK, &[]);
        p.host.close(p.listener.unwrap(), p.now).unwrap();
        assert_eq!(p.one().flags, Flags::RST | Flags::ACK);
        assert!(p.host.connections().is_empty());
    }

    #[test]
    fn shut_rd_discards_later_data() {
        let mut p = Peer::established(p9293());
        let fd = p.fd.unwrap();
        p.host.shutdown(fd, Shutdown::Read, p.now).unwrap();
        p.send(Flags::ACK | Flags::PSH, b"gone");
        assert_eq!(p.host.recv(fd, 10, false, p.now), Ok(vec![]));
        assert_eq!(p.host.in_queue(fd), Ok(0));
    }
}

/// RFC 9293 §3.7–3.8 and RFC 7323: options, segmentation, windows and timers.
mod s3_7_s3_8_data_transfer {
    use super::*;

    /// MUST-15: without an MSS option the peer is assumed to take 536 bytes (IPv4).
    #[test]
    fn default_mss_536_without_option() {
        let mut p = Peer::established(Profile {
            nagle: false,
            ..p9293()
        });
        p.host.send(p.fd.unwrap(), &[0; 2000], p.now).unwrap();
        let lens: Vec<usize> = p.out().iter().map(|o| o.len).collect();
        assert_eq!(lens, [536, 536, 536, 392]);
    }

    /// MUST-15: an IPv6 peer that sends no MSS option is assumed to take 1220 bytes.
    #[test]
    fn default_mss_1220_over_ipv6() {
        let mut p = Peer::new(p9293());
        p.it = "[2001:db8::1]:8080".parse().unwrap();
        p.me = "[2001:db8::2]:40000".parse().unwrap();
        p.host = Host::new(
            Profile {
                nagle: false,
                ..p9293()
            },
            [p.it.ip()],
        );
        let l = p.host.socket(Family::V6, true).unwrap();
        p.host.bind(l, p.it).unwrap();
        p.host.listen(l, 1).unwrap();
        p.send(Flags::SYN, &[]);
        assert_eq!(p.one().opts.mss, Some(1440));
        p.send(Flags::ACK, &[]);
        let (fd, _) = p.host.accept(l).unwrap();
        p.host.send(fd, &[0; 3000], p.now).unwrap();
        let lens: Vec<usize> = p.out().iter().map(|o| o.len).collect();
        assert_eq!(lens, [1220, 1220, 560]);
    }

    /// MUST-16: the peer's MSS bounds our segments; PSH on the last one (MUST-61).
    #[test]
    fn peer_mss_honoured() {
        let mut p = Peer::listen(Profile {
            nagle: false,
            ..p9293()
        });
        let seq = p.nxt;
        p.raw_opts(
            Flags::SYN,
            seq,
            Seq(0),
            Options {
                mss: Some(1000),
                ..Options::default()
            },
            &[],
        );
        p.nxt += 1;
        p.out();
        p.send(Flags::ACK, &[]);
        let (fd, _) = p.host.accept(p.listener.unwrap()).unwrap();
        p.host.send(fd, &[0; 2500], p.now).unwrap();
        let out = p.out();
        assert_eq!(
            out.iter().map(|o| o.len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        assert!(out[2].flags.has(Flags::PSH) && !out[0].flags.has(Flags::PSH));
    }

    /// RFC 7323: window scale and timestamps negotiated; TS on every segment; PAWS drops old.
    #[test]
    fn window_scale_and_timestamps_with_paws() {
        let mut p = Peer::listen(Profile::rfc9293());
        let seq = p.nxt;
        let syn_opts = Options {
            mss: Some(1460),
            wscale: Some(2),
            sack_permitted: true,
            timestamps: Some((100, 0)),
            ..Options::default()
        };
        p.raw_opts(Flags::SYN, seq, Seq(0), syn_opts, &[]);
        p.nxt += 1;
        let o = p.one();
        assert_eq!(o.opts.wscale, Some(7));
        assert!(o.opts.sack_permitted);
        let (tsval, tsecr) = o.opts.timestamps.unwrap();
        assert_eq!(tsecr, 100);
        let ts = |v: u32| Options {
            timestamps: Some((v, tsval)),
            ..Options::default()
        };
        p.raw_opts(Flags::ACK, p.nxt, p.host_nxt, ts(101), &[]);
        let (fd, _) = p.host.accept(p.listener.unwrap()).unwrap();
        p.raw_opts(Flags::ACK | Flags::PSH, p.nxt, p.host_nxt, ts(102), b"ok");
        p.nxt += 2;
        assert_eq!(p.host.recv(fd, 10, false, p.now), Ok(b"ok".to_vec()));
        // PAWS: an older TSval is rejected with an ACK.
        p.raw_opts(Flags::ACK | Flags::PSH, p.nxt, p.host_nxt, ts(50), b"no");
        let o = p.one();
        assert_eq!(o.flags, Flags::ACK);
        assert_eq!(o.opts.timestamps.map(|t| t.1), Some(102));
        // Scaled window: (128 KiB buffer - 2 unread bytes) >> 7.
        assert_eq!(o.win, ((128 * 1024 - 2) >> 7) as u16);
        assert_eq!(p.host.in_queue(fd), Ok(0));
    }

    /// MUST-7: a SYN with an illegal option length is survived.
    #[test]
    fn illegal_option_length_is_survived() {
        let mut p = Peer::listen(p9293());
        // Hand-built: MSS then a kind-99 option with length 0.
        let mut pkt = p.packet(
            Flags::SYN,
            p.nxt,
            Seq(0),
            Options {
                mss: Some(1200),
                ..Options::default()
            },
            &[],
        );
        // Rewrite the option area to [2,4,4,176, 99,0,0,0] and fix the checksum by re-parsing.
        let tcp = 20;
        pkt[tcp + 20..tcp + 24].copy_from_slice(&[2, 4, 4, 176]);
        let raw = [2u8, 4, 4, 176, 99, 0, 0, 0];
        let hdr = TcpHeader {
            src_port: p.me.port(),
            dst_port: p.it.port(),
            seq: p.nxt,
            flags: Flags::SYN,
            window: 1000,
            options: Options::parse(&raw),
            ..TcpHeader::default()
        };
        assert!(hdr.options.malformed);
        let pkt = codec::emit(p.me.ip(), p.it.ip(), &hdr, [&[], &[]], 0);
        p.host.receive(p.now, &pkt);
        assert_eq!(p.one().flags, Flags::SYN | Flags::ACK);
    }

    /// Nagle (SHLD-7): small writes wait for the ACK of outstanding data; TCP_NODELAY sends.
    #[test]
    fn nagle_holds_small_segments_until_ack() {
        let mut p = Peer::established(p9293());
        let fd = p.fd.unwrap();
        p.host.send(fd, b"a", p.now).unwrap();
        assert_eq!(p.one().len, 1);
        p.host.send(fd, b"b", p.now).unwrap();
        p.host.send(fd, b"c", p.now).unwrap();
        p.expect_nothing();
        p.send(Flags::ACK, &[]);
        assert_eq!(p.one().len, 2);
        p.host
            .setsockopt(fd, SockOpt::NoDelay(true), p.now)
            .unwrap();
        p.host.send(fd, b"d", p.now).unwrap();
        assert_eq!(p.one().len, 1);
    }

    /// RFC 6298 / MUST-18/19: data retransmitted after RTO with doubling; R2 gives up.
    #[test]
    fn data_retransmission_backoff_and_user_timeout() {
        let mut p = Peer::established(p9293());
        let fd = p.fd.unwrap();
        p.host
            .setsockopt(fd, SockOpt::UserTimeout(Duration::from_secs(20)), p.now)
            .unwrap();
        p.host.send(fd, b"lost", p.now).unwrap();
        p.out();
        let start = p.now;
        let mut at = Vec::new();
        while p.state() == State::Established {
            let Some(t) = p.host.poll_at() else { break };
            p.now = t;
            p.host.poll(t);
            for o in p.out() {
                assert_eq!(o.len, 4);
                at.push((t - start).as_secs());
            }
        }
        assert_eq!(at, [1, 3, 7, 15]);
        assert_eq!(p.host.recv(fd, 10, false, p.now), Err(Error::TimedOut));
    }

    /// SHLD-9: R1 retransmissions raise the "trouble" flag; an ACK clears it.
    #[test]
    fn r1_reports_delivery_trouble() {
        let mut p = Peer::established(p9293());
        let fd = p.fd.unwrap();
        p.host.send(fd, b"lost", p.now).unwrap();
        p.out();
        p.run_for(Duration::from_secs(6));
        assert_eq!(p.host.retransmission_trouble(fd), Ok(false));
        p.run_for(Duration::from_secs(2));
        assert_eq!(p.host.retransmission_trouble(fd), Ok(true));
        p.out();
        p.raw(Flags::ACK, p.nxt, p.host_nxt, &[]);
        assert_eq!(p.host.retransmission_trouble(fd), Ok(false));
    }

    /// RFC 5681 §3.2: the third duplicate ACK triggers a fast retransmit.
    #[test]
    fn fast_retransmit_on_third_duplicate_ack() {
        let mut p = Peer::established(Profile {
            nagle: false,
            ..p9293()
        });
        let fd = p.fd.unwrap();
        p.host.send(fd, &[9; 536 * 3], p.now).unwrap();
        let out = p.out();
        assert_eq!(out.len(), 3);
        let first = out[0].seq;
        for _ in 0..2 {
            p.raw(Flags::ACK, p.nxt, first, &[]);
            p.expect_nothing();
        }
        p.raw(Flags::ACK, p.nxt, first, &[]);
        let o = p.one();
        assert_eq!((o.seq, o.len), (first, 536));
    }
}

mod ecn;
mod icmp;
mod keepalive;
mod window;
