//! Property test: random segment sequences (and random application calls and time steps) fed to a
//! connection in every state never panic and keep the TCB invariants: SND.UNA ≤ SND.NXT (mod
//! 2^32), the send pointer between them, buffers within their capacity, RCV.WND within free space.

use std::net::SocketAddr;
use std::time::Duration;

use proptest::prelude::*;
use tcpconf::tcp::codec::{self, Flags, TcpHeader};
use tcpconf::tcp::options::Options;
use tcpconf::tcp::seq::Seq;
use tcpconf::tcp::{Error, Family, Fd, Host, Profile, Shutdown, State};

struct Peer {
    host: Host,
    now: Duration,
    me: SocketAddr,
    it: SocketAddr,
    /// Our next sequence number.
    nxt: Seq,
    /// The host's SND.NXT as last seen.
    host_nxt: Seq,
    fd: Option<Fd>,
}

impl Peer {
    fn new(profile: Profile) -> Peer {
        let it: SocketAddr = "192.0.2.1:8080".parse().unwrap();
        Peer {
            host: Host::new(profile, [it.ip()]),
            now: Duration::from_secs(1),
            me: "192.0.2.2:40000".parse().unwrap(),
            it,
            nxt: Seq(7_000_000),
            host_nxt: Seq(0),
            fd: None,
        }
    }

    fn inject(
        &mut self,
        flags: Flags,
        seq: Seq,
        ack: Seq,
        window: u16,
        opts: Options,
        data: &[u8],
    ) {
        let hdr = TcpHeader {
            src_port: self.me.port(),
            dst_port: self.it.port(),
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options: opts,
        };
        let pkt = codec::emit(self.me.ip(), self.it.ip(), &hdr, [data, &[]], 0);
        self.host.receive(self.now, &pkt);
    }

    fn send(&mut self, flags: Flags, data: &[u8]) {
        let (seq, ack) = (self.nxt, self.host_nxt);
        self.inject(flags, seq, ack, 65535, Options::default(), data);
        self.nxt +=
            data.len() as u32 + u32::from(flags.has(Flags::SYN)) + u32::from(flags.has(Flags::FIN));
    }

    /// Drains the host's output, tracking its SND.NXT.
    fn drain(&mut self) -> usize {
        let mut n = 0;
        while let Some(pkt) = self.host.pop_outbound() {
            n += 1;
            let p = codec::parse(&pkt).expect("host emits valid packets");
            let f = p.tcp.flags;
            if f.has(Flags::RST) {
                continue;
            }
            let end = p.tcp.seq
                + p.payload.len() as u32
                + u32::from(f.has(Flags::SYN))
                + u32::from(f.has(Flags::FIN));
            if f.has(Flags::SYN) || end > self.host_nxt {
                self.host_nxt = end;
            }
        }
        n
    }

    fn state(&self) -> State {
        self.host
            .connections()
            .into_iter()
            .find(|c| c.remote == Some(self.me))
            .map_or(State::Closed, |c| c.state)
    }

    /// Drives the connection into `target` with well-formed segments.
    fn reach(target: State, profile: Profile) -> Peer {
        let mut p = Peer::new(profile);
        if target == State::SynSent {
            let fd = p.host.socket(Family::V4, true).unwrap();
            let _ = p.host.connect(fd, p.me, p.now);
            p.fd = Some(fd);
            p.it = p.host.connections()[0].local;
            p.drain();
            return p;
        }
        let l = p.host.socket(Family::V4, true).unwrap();
        p.host.bind(l, p.it).unwrap();
        p.host.listen(l, 4).unwrap();
        if target == State::Listen {
            return p;
        }
        p.send(Flags::SYN, &[]);
        p.drain();
        if target == State::SynReceived {
            return p;
        }
        p.send(Flags::ACK, &[]);
        let (fd, _) = p.host.accept(l).unwrap();
        p.fd = Some(fd);
        let shut = |p: &mut Peer| {
            p.host.shutdown(fd, Shutdown::Write, p.now).unwrap();
            p.drain();
        };
        match target {
            State::FinWait1 => shut(&mut p),
            State::FinWait2 => {
                shut(&mut p);
                p.send(Flags::ACK, &[]);
            }
            State::CloseWait => p.send(Flags::FIN | Flags::ACK, &[]),
            State::Closing => {
                shut(&mut p);
                let seq = p.nxt;
                let ack = p.host_nxt - 1;
                p.inject(
                    Flags::FIN | Flags::ACK,
                    seq,
                    ack,
                    65535,
                    Options::default(),
                    &[],
                );
                p.nxt += 1;
            }
            State::LastAck => {
                p.send(Flags::FIN | Flags::ACK, &[]);
                shut(&mut p);
            }
            State::TimeWait => {
                shut(&mut p);
                p.send(Flags::FIN | Flags::ACK, &[]);
            }
            _ => {}
        }
        p.drain();
        assert_eq!(p.state(), target);
        p
    }
}

/// One step of the random schedule.
#[derive(Debug, Clone)]
enum Step {
    Segment {
        flags: u8,
        seq_off: i64,
        ack_off: i64,
        window: u16,
        opts: Options,
        len: usize,
    },
    Wait(u64),
    Send(usize),
    Recv(usize),
    Shutdown(u8),
    Close,
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => -3000i64..3000,
        1 => -(1i64 << 31)..(1i64 << 31),
        2 => Just(0i64),
    ]
}

fn options() -> impl Strategy<Value = Options> {
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(0u8..20),
        any::<bool>(),
        proptest::option::of(any::<(u32, u32)>()),
    )
        .prop_map(|(mss, wscale, sack_permitted, timestamps)| Options {
            mss,
            wscale,
            sack_permitted,
            timestamps,
            ..Options::default()
        })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (any::<u8>(), offset(), offset(), any::<u16>(), options(), 0usize..3000).prop_map(
            |(flags, seq_off, ack_off, window, opts, len)| Step::Segment {
                flags: flags & 0x3f,
                seq_off,
                ack_off,
                window,
                opts,
                len,
            }
        ),
        2 => (0u64..400_000).prop_map(Step::Wait),
        1 => (0usize..200_000).prop_map(Step::Send),
        1 => (0usize..100_000).prop_map(Step::Recv),
        1 => (0u8..3).prop_map(Step::Shutdown),
        1 => Just(Step::Close),
    ]
}

fn run(state: State, rfc793: bool, steps: &[Step]) -> Result<(), TestCaseError> {
    let profile = if rfc793 {
        Profile::rfc793()
    } else {
        Profile::rfc9293()
    };
    let mut p = Peer::reach(state, profile);
    let payload = vec![0xa5u8; 3000];
    let blob = vec![0x5au8; 200_000];
    for step in steps {
        match *step {
            Step::Segment {
                flags,
                seq_off,
                ack_off,
                window,
                opts,
                len,
            } => {
                let seq = Seq(p.nxt.0.wrapping_add(seq_off as u32));
                let ack = Seq(p.host_nxt.0.wrapping_add(ack_off as u32));
                p.inject(Flags(flags), seq, ack, window, opts, &payload[..len]);
            }
            Step::Wait(ms) => {
                p.now += Duration::from_millis(ms);
                // Run every deadline up to now, in order, as a caller must.
                while let Some(t) = p.host.poll_at() {
                    if t > p.now {
                        break;
                    }
                    p.host.poll(t);
                }
            }
            Step::Send(n) => {
                if let Some(fd) = p.fd {
                    let _ = p.host.send(fd, &blob[..n], p.now);
                }
            }
            Step::Recv(n) => {
                if let Some(fd) = p.fd {
                    match p.host.recv(fd, n, n % 2 == 0, p.now) {
                        Ok(v) => prop_assert!(v.len() <= n),
                        Err(e) => prop_assert!(
                            matches!(
                                e,
                                Error::WouldBlock
                                    | Error::NotConnected
                                    | Error::ConnectionReset
                                    | Error::ConnectionRefused
                                    | Error::TimedOut
                            ),
                            "unexpected recv error {e}"
                        ),
                    }
                }
            }
            Step::Shutdown(how) => {
                if let Some(fd) = p.fd {
                    let how = [Shutdown::Read, Shutdown::Write, Shutdown::Both][usize::from(how)];
                    let _ = p.host.shutdown(fd, how, p.now);
                }
            }
            Step::Close => {
                if let Some(fd) = p.fd.take() {
                    prop_assert_eq!(p.host.close(fd, p.now), Ok(()));
                }
            }
        }
        p.drain();
        if let Err(e) = p.host.check_invariants() {
            return Err(TestCaseError::fail(format!("after {step:?}: {e}")));
        }
        if let Some(t) = p.host.poll_at() {
            prop_assert!(
                t + Duration::from_secs(1) >= p.now,
                "deadline {t:?} left behind at {:?}",
                p.now
            );
        }
    }
    Ok(())
}

const STATES: [State; 10] = [
    State::Listen,
    State::SynSent,
    State::SynReceived,
    State::Established,
    State::FinWait1,
    State::FinWait2,
    State::CloseWait,
    State::Closing,
    State::LastAck,
    State::TimeWait,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_segments_keep_invariants_in_every_state(
        state in 0usize..STATES.len(),
        rfc793 in any::<bool>(),
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        run(STATES[state], rfc793, &steps)?;
    }
}

#[test]
fn every_state_is_reachable_for_the_property_test() {
    for s in STATES {
        for rfc793 in [false, true] {
            let profile = if rfc793 {
                Profile::rfc793()
            } else {
                Profile::rfc9293()
            };
            assert_eq!(
                Peer::reach(s, profile).state(),
                if s == State::Listen { State::Closed } else { s }
            );
        }
    }
}
