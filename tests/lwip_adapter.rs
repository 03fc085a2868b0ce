//! The lwip adapter against Debian's liblwip, with hand-built packets: passive and active opens,
//! data both ways, a close that ends in TIME-WAIT, and errno values as scripts see them.
//!
//! lwIP runs in virtual time: the harness keeps the run's clock, every wait has a deadline well
//! above lwIP's timers (delayed ACK 250 ms), and waiting costs no real time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics
#![cfg(feature = "lwip")]

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tcpconf::clock::RealClock;
use tcpconf::stack::lwip::LwipStack;
use tcpconf::stack::{
    Connection, Domain, Errno, Fd, NetConfig, SockOpt, SockOptName, Stack, StackEvent, Syscall,
    SyscallOutcome, SyscallOutput, SyscallProgress, TcpState,
};
use tcpconf::wire::{self, IpHeader, Packet, Segment, TcpFlags, TcpOption};

const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
const REMOTE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// Longest a test waits for lwIP to say something.
const PATIENCE: Duration = Duration::from_secs(2);

struct Harness {
    stack: LwipStack,
    /// The run's current (virtual) time.
    now: Duration,
    /// Events `wait` returned that the test has not looked at yet.
    backlog: VecDeque<StackEvent>,
}

impl Harness {
    fn new() -> Self {
        let mut stack = LwipStack::new();
        let clock = RealClock::start();
        let net = NetConfig {
            local_ip: LOCAL.into(),
            remote_ip: REMOTE.into(),
            gateway_ip: Ipv4Addr::new(192, 168, 0, 2).into(),
            prefix_len: 16,
            mtu: 1500,
            ipv4_mapped_ipv6: false,
        };
        stack.setup(&net, clock).expect("setup");
        Self {
            stack,
            now: Duration::ZERO,
            backlog: VecDeque::new(),
        }
    }

    fn call(&mut self, call: Syscall) -> SyscallProgress {
        self.stack
            .syscall(self.now, &call)
            .unwrap_or_else(|e| panic!("{call:?}: {e}"))
    }

    fn done(&mut self, call: Syscall) -> SyscallOutcome {
        match self.call(call.clone()) {
            SyscallProgress::Done(o) => o,
            SyscallProgress::Blocked => panic!("{call:?} blocked"),
        }
    }

    fn ok(&mut self, call: Syscall) -> i64 {
        let o = self.done(call.clone());
        assert_eq!(o.errno, None, "{call:?} failed: {o:?}");
        o.ret
    }

    fn inject(&mut self, seg: Segment) {
        let bytes = wire::encode(&Packet::Tcp(seg)).expect("encode");
        self.stack.inject(self.now, &bytes).expect("inject");
    }

    /// The next event within [`PATIENCE`].
    fn next_event(&mut self) -> StackEvent {
        self.next_event_within(PATIENCE)
    }

    /// The next event within `patience`.
    fn next_event_within(&mut self, patience: Duration) -> StackEvent {
        if self.backlog.is_empty() {
            let until = self.now + patience;
            self.backlog = self.stack.wait(until).expect("wait").into();
        }
        let Some(event) = self.backlog.pop_front() else {
            panic!("lwIP stayed silent for {patience:?}");
        };
        self.now = match &event {
            StackEvent::Sent(out) => out.at,
            StackEvent::Returned { at, .. } => *at,
        };
        event
    }

    /// Lets `d` pass with lwIP saying nothing.
    fn quiet_for(&mut self, d: Duration) {
        assert!(self.backlog.is_empty(), "unread events: {:?}", self.backlog);
        let until = self.now + d;
        assert_eq!(self.stack.wait(until).expect("wait"), Vec::new());
        self.now = until;
    }

    /// The next segment lwIP sends.
    fn sent(&mut self) -> Segment {
        self.sent_within(PATIENCE)
    }

    /// The next segment lwIP sends within `patience`.
    fn sent_within(&mut self, patience: Duration) -> Segment {
        match self.next_event_within(patience) {
            StackEvent::Sent(out) => match wire::decode(&out.packet).expect("decode") {
                Packet::Tcp(seg) => seg,
                other => panic!("lwIP sent a non-TCP packet: {other:?}"),
            },
            other => panic!("expected a segment, got {other:?}"),
        }
    }

    /// The outcome of the call that blocked.
    fn returned(&mut self) -> SyscallOutcome {
        match self.next_event() {
            StackEvent::Returned { outcome, .. } => outcome,
            other => panic!("expected a return, got {other:?}"),
        }
    }

    fn state_of(&mut self, remote_port: u16) -> Option<Connection> {
        self.stack
            .connections()
            .expect("connections")
            .into_iter()
            .find(|c| c.remote.is_some_and(|r| r.port() == remote_port))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.stack.teardown();
    }
}

fn from_remote(src_port: u16, dst_port: u16) -> Segment {
    Segment::new(
        IpHeader::new(REMOTE.into(), LOCAL.into()).expect("ip header"),
        src_port,
        dst_port,
    )
}

fn seg(src: u16, dst: u16, flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> Segment {
    let mut s = from_remote(src, dst);
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.window = 65535;
    s.payload = payload.to_vec();
    s
}

fn ack_flags() -> TcpFlags {
    TcpFlags::ACK
}

fn flags(a: TcpFlags, b: TcpFlags) -> TcpFlags {
    TcpFlags::from_bits(a.bits() | b.bits())
}

fn listener(h: &mut Harness, port: u16) -> Fd {
    let fd = h.ok(Syscall::Socket {
        domain: Domain::Inet,
        nonblocking: false,
    }) as Fd;
    h.ok(Syscall::SetSockOpt {
        fd,
        opt: SockOpt::ReuseAddr(true),
    });
    h.ok(Syscall::Bind {
        fd,
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
    });
    h.ok(Syscall::Listen { fd, backlog: 4 });
    fd
}

/// Passive open up to ESTABLISHED; returns the accepted fd and lwIP's ISS.
fn passive_open(h: &mut Harness, port: u16, peer: u16) -> (Fd, Fd, u32) {
    let lfd = listener(h, port);
    let mut syn = seg(peer, port, TcpFlags::SYN, 1000, 0, b"");
    syn.options = vec![
        TcpOption::Mss(1460),
        TcpOption::Nop,
        TcpOption::WindowScale(7),
    ];
    h.inject(syn);
    let synack = h.sent();
    assert_eq!(synack.flags, flags(TcpFlags::SYN, TcpFlags::ACK));
    assert_eq!(synack.ack, 1001);
    assert!(synack.options.contains(&TcpOption::Mss(1460)), "{synack:?}");
    assert!(
        synack.options.contains(&TcpOption::WindowScale(1)),
        "{synack:?}"
    );
    let iss = synack.seq;
    h.inject(seg(peer, port, ack_flags(), 1001, iss.wrapping_add(1), b""));
    let accepted = h.done(Syscall::Accept { fd: lfd });
    assert_eq!(accepted.errno, None);
    assert_eq!(
        accepted.output,
        SyscallOutput::Peer(SocketAddr::new(REMOTE.into(), peer))
    );
    (lfd, accepted.ret as Fd, iss)
}

#[test]
fn passive_open_data_both_ways_and_close_into_time_wait() {
    let mut h = Harness::new();
    let (port, peer) = (8080, 40000);
    let (_lfd, fd, iss) = passive_open(&mut h, port, peer);
    let conn = h.state_of(peer).expect("the connection is listed");
    assert_eq!((conn.state, conn.fd), (TcpState::Established, Some(fd)));

    // Data in: lwIP acknowledges it (at once or after its delayed-ACK timer) and hands it over.
    let psh_ack = flags(TcpFlags::PSH, TcpFlags::ACK);
    h.inject(seg(peer, port, psh_ack, 1001, iss + 1, b"hello"));
    let data_at = h.now;
    let ack = h.sent();
    assert_eq!((ack.ack, ack.flags.contains(TcpFlags::ACK)), (1006, true));
    // lwIP delays the ACK to its next 250 ms fast-timer tick (RFC 9293 §3.8.6.3 allows 500 ms).
    let delay = h.now - data_at;
    eprintln!("lwIP delayed its ACK by {delay:?} (virtual)");
    assert!(
        delay > Duration::ZERO && delay <= Duration::from_millis(250),
        "{delay:?}"
    );
    let read = h.done(Syscall::Read {
        fd,
        len: 100,
        peek: false,
    });
    assert_eq!(read.output, SyscallOutput::Data(b"hello".to_vec()));

    // Data out.
    assert_eq!(
        h.ok(Syscall::Write {
            fd,
            data: b"world!".to_vec()
        }),
        6
    );
    let data = h.sent();
    assert_eq!(
        (data.seq, data.payload.as_slice()),
        (iss + 1, &b"world!"[..])
    );
    h.inject(seg(peer, port, ack_flags(), 1006, iss + 7, b""));

    // Active close: FIN, the peer's FIN+ACK, lwIP's last ACK, TIME-WAIT with no fd.
    assert_eq!(h.ok(Syscall::Close { fd }), 0);
    let fin = h.sent();
    assert!(fin.flags.contains(TcpFlags::FIN), "{fin:?}");
    assert_eq!(fin.seq, iss + 7);
    h.inject(seg(
        peer,
        port,
        flags(TcpFlags::FIN, TcpFlags::ACK),
        1006,
        iss + 8,
        b"",
    ));
    let last = h.sent();
    assert_eq!((last.flags, last.ack), (TcpFlags::ACK, 1007));
    let tw = h.state_of(peer).expect("TIME-WAIT is listed");
    assert_eq!((tw.state, tw.fd), (TcpState::TimeWait, None));

    // TIME-WAIT lasts 2 × TCP_MSL (60 s in this build) in lwIP's 500 ms slow-timer ticks; in
    // virtual time the two minutes pass at once.
    let entered = h.now;
    while h.state_of(peer).is_some() {
        h.quiet_for(Duration::from_millis(100));
        assert!(
            h.now - entered < Duration::from_secs(130),
            "TIME-WAIT never ended"
        );
    }
    let lasted = h.now - entered;
    eprintln!("lwIP TIME-WAIT lasted {lasted:?} (virtual)");
    assert!(
        lasted >= Duration::from_secs(120) && lasted <= Duration::from_millis(121_100),
        "TIME-WAIT lasted {lasted:?}"
    );
}

#[test]
fn blocking_accept_returns_when_the_handshake_completes() {
    let mut h = Harness::new();
    let (port, peer) = (8081, 40001);
    let lfd = listener(&mut h, port);
    assert_eq!(
        h.call(Syscall::Accept { fd: lfd }),
        SyscallProgress::Blocked
    );
    h.inject(seg(peer, port, TcpFlags::SYN, 5000, 0, b""));
    let synack = h.sent();
    let listed = h
        .state_of(peer)
        .expect("the embryonic connection is listed");
    assert_eq!(listed.state, TcpState::SynReceived);
    h.inject(seg(peer, port, ack_flags(), 5001, synack.seq + 1, b""));
    let accepted = h.returned();
    assert_eq!(accepted.errno, None);
    assert!(accepted.ret > 0);
}

#[test]
fn errno_values_are_linux_numbers() {
    let mut h = Harness::new();
    let (port, peer) = (8082, 40002);
    let lfd = listener(&mut h, port);

    // EAGAIN: a non-blocking accept with nothing queued, and a read with nothing to read.
    h.ok(Syscall::Fcntl {
        fd: lfd,
        cmd: tcpconf::stack::Fcntl::SetFl(nix::libc::O_NONBLOCK),
    });
    assert_eq!(
        h.done(Syscall::Accept { fd: lfd }).errno,
        Some(Errno::EAGAIN)
    );
    let flags_now = h.ok(Syscall::Fcntl {
        fd: lfd,
        cmd: tcpconf::stack::Fcntl::GetFl,
    });
    assert_ne!(flags_now & i64::from(nix::libc::O_NONBLOCK), 0);

    // EINPROGRESS: a non-blocking connect; then the peer refuses it with RST.
    let cfd = h.ok(Syscall::Socket {
        domain: Domain::Inet,
        nonblocking: true,
    }) as Fd;
    let connect = h.done(Syscall::Connect {
        fd: cfd,
        addr: SocketAddr::new(REMOTE.into(), peer),
    });
    assert_eq!(connect.errno, Some(Errno::EINPROGRESS));
    let syn = h.sent();
    assert_eq!(syn.flags, TcpFlags::SYN);
    assert_eq!(
        h.done(Syscall::Read {
            fd: cfd,
            len: 10,
            peek: false
        })
        .errno,
        Some(Errno::EAGAIN)
    );
    h.inject(seg(
        peer,
        syn.src_port,
        flags(TcpFlags::RST, TcpFlags::ACK),
        0,
        syn.seq + 1,
        b"",
    ));
    // lwIP reports a refused connection as ERR_RST, which its err_to_errno() turns into
    // ECONNRESET, where Linux says ECONNREFUSED: the adapter passes lwIP's answer through.
    let err = h.done(Syscall::GetSockOpt {
        fd: cfd,
        name: SockOptName::Error,
    });
    assert_eq!(
        err.output,
        SyscallOutput::Int(i64::from(Errno::ECONNRESET as i32))
    );

    // A blocking connect to a refusing peer returns the same through `wait`.
    let bfd = h.ok(Syscall::Socket {
        domain: Domain::Inet,
        nonblocking: false,
    }) as Fd;
    let blocked = h.call(Syscall::Connect {
        fd: bfd,
        addr: SocketAddr::new(REMOTE.into(), peer + 1),
    });
    assert_eq!(blocked, SyscallProgress::Blocked);
    let syn = h.sent();
    h.inject(seg(
        peer + 1,
        syn.src_port,
        flags(TcpFlags::RST, TcpFlags::ACK),
        0,
        syn.seq + 1,
        b"",
    ));
    assert_eq!(h.returned().errno, Some(Errno::ECONNRESET));

    // EBADF for an fd the run never opened.
    assert_eq!(h.done(Syscall::Close { fd: 999 }).errno, Some(Errno::EBADF));
}

#[test]
fn teardown_leaves_nothing_for_the_next_run() {
    {
        let mut h = Harness::new();
        let (_lfd, _fd, _iss) = passive_open(&mut h, 8083, 40003);
        assert!(!h.stack.connections().expect("connections").is_empty());
    }
    let mut h = Harness::new();
    assert_eq!(h.stack.connections().expect("connections"), Vec::new());
    // The port is free again.
    listener(&mut h, 8083);
}

/// The ISS and ephemeral port of a run's first active open.
fn first_active_open(h: &mut Harness, remote_port: u16) -> (u32, u16) {
    let fd = h.ok(Syscall::Socket {
        domain: Domain::Inet,
        nonblocking: true,
    }) as Fd;
    let connect = h.done(Syscall::Connect {
        fd,
        addr: SocketAddr::new(REMOTE.into(), remote_port),
    });
    assert_eq!(connect.errno, Some(Errno::EINPROGRESS));
    let syn = h.sent();
    assert_eq!(syn.flags, TcpFlags::SYN);
    (syn.seq, syn.src_port)
}

/// lwIP's ISS generator and ephemeral-port cursor are library state that outlives a run; each run
/// must find them where a fresh lwIP has them, or a script's packets (a RST's absolute sequence
/// number, a client port) would depend on the runs before it and on their order under `-j`.
#[test]
fn every_run_starts_with_the_same_iss_and_ephemeral_port() {
    let first = first_active_open(&mut Harness::new(), 40010);
    {
        // A run that draws ISSs and ports and lets lwIP's TCP ticks advance.
        let mut h = Harness::new();
        let (_lfd, _fd, _iss) = passive_open(&mut h, 8090, 40011);
        first_active_open(&mut h, 40012);
        first_active_open(&mut h, 40013);
        h.backlog.clear();
        h.now += Duration::from_secs(10);
        h.stack.wait(h.now).expect("wait");
    }
    let again = first_active_open(&mut Harness::new(), 40010);
    assert_eq!(first, again);
    assert_eq!(first.1, 49153, "the first ephemeral port after 49152");
}

#[test]
fn ipv6_and_ipv4_mapped_sockets() {
    use std::net::Ipv6Addr;
    let local6: Ipv6Addr = "fd3d:fa7b:d17d::0".parse().expect("addr");
    let remote6: Ipv6Addr = "2001:db8::1".parse().expect("addr");

    // A plain IPv6 run: SYN in, SYN-ACK out over IPv6.
    {
        let mut stack = LwipStack::new();
        let clock = RealClock::start();
        let net = NetConfig {
            local_ip: local6.into(),
            remote_ip: remote6.into(),
            gateway_ip: "fd3d:fa7b:d17d::1"
                .parse::<Ipv6Addr>()
                .expect("addr")
                .into(),
            prefix_len: 64,
            mtu: 1500,
            ipv4_mapped_ipv6: false,
        };
        stack.setup(&net, clock).expect("setup");
        let mut h = Harness {
            stack,
            now: Duration::ZERO,
            backlog: VecDeque::new(),
        };
        let fd = h.ok(Syscall::Socket {
            domain: Domain::Inet6,
            nonblocking: false,
        }) as Fd;
        h.ok(Syscall::Bind {
            fd,
            addr: SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 8084),
        });
        h.ok(Syscall::Listen { fd, backlog: 1 });
        let mut syn = Segment::new(
            IpHeader::new(remote6.into(), local6.into()).expect("ip"),
            40004,
            8084,
        );
        syn.flags = TcpFlags::SYN;
        syn.seq = 7;
        syn.window = 65535;
        h.inject(syn);
        let synack = h.sent();
        assert_eq!(synack.ip.src(), IpAddr::V6(local6));
        assert_eq!(synack.ack, 8);
        let listed = h.state_of(40004).expect("listed");
        assert_eq!(listed.local, SocketAddr::new(local6.into(), 8084));
    }

    // IPv4 on the wire, an AF_INET6 socket: the peer shows up as an IPv4-mapped address.
    let mut h = Harness::new();
    let fd = h.ok(Syscall::Socket {
        domain: Domain::Inet6,
        nonblocking: false,
    }) as Fd;
    h.ok(Syscall::Bind {
        fd,
        addr: SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 8085),
    });
    h.ok(Syscall::Listen { fd, backlog: 1 });
    h.inject(seg(40005, 8085, TcpFlags::SYN, 100, 0, b""));
    let synack = h.sent();
    h.inject(seg(40005, 8085, ack_flags(), 101, synack.seq + 1, b""));
    let accepted = h.done(Syscall::Accept { fd });
    assert_eq!(
        accepted.output,
        SyscallOutput::Peer(SocketAddr::new(REMOTE.to_ipv6_mapped().into(), 40005))
    );
}

#[test]
fn blocking_read_and_write_return_through_wait() {
    let mut h = Harness::new();
    let (port, peer) = (8086, 40006);
    let (_lfd, fd, iss) = passive_open(&mut h, port, peer);

    // A read with nothing to read blocks; it returns when data arrives, at that moment.
    let read = Syscall::Read {
        fd,
        len: 100,
        peek: false,
    };
    assert_eq!(h.call(read), SyscallProgress::Blocked);
    h.quiet_for(Duration::from_secs(1));
    h.inject(seg(
        peer,
        port,
        flags(TcpFlags::PSH, TcpFlags::ACK),
        1001,
        iss + 1,
        b"late",
    ));
    let arrived = h.now;
    let returned = h.returned();
    assert_eq!(returned.output, SyscallOutput::Data(b"late".to_vec()));
    assert_eq!(h.now, arrived, "the read returns when the data arrives");

    // A write larger than lwIP's send buffer (TCP_SND_BUF 65535) blocks until ACKs free room.
    let total = 100_000;
    let write = Syscall::Write {
        fd,
        data: vec![7; total],
    };
    assert_eq!(h.call(write), SyscallProgress::Blocked);
    let mut acked = iss + 1;
    loop {
        match h.next_event() {
            StackEvent::Sent(out) => {
                let Ok(Packet::Tcp(s)) = wire::decode(&out.packet) else {
                    panic!("non-TCP packet");
                };
                if s.payload.is_empty() {
                    continue;
                }
                acked = s.seq + s.payload.len() as u32;
                h.inject(seg(peer, port, ack_flags(), 1005, acked, b""));
            }
            StackEvent::Returned { outcome, .. } => {
                assert_eq!(outcome, SyscallOutcome::ok(total as i64));
                break;
            }
        }
    }
    assert!(acked - (iss + 1) < total as u32 + 1);
}

#[test]
fn syn_retransmissions_run_on_lwips_clock() {
    let mut h = Harness::new();
    let fd = h.ok(Syscall::Socket {
        domain: Domain::Inet,
        nonblocking: true,
    }) as Fd;
    let connect = h.done(Syscall::Connect {
        fd,
        addr: SocketAddr::new(REMOTE.into(), 40007),
    });
    assert_eq!(connect.errno, Some(Errno::EINPROGRESS));
    let first = h.sent();
    let mut times = vec![h.now];
    for _ in 0..3 {
        let again = h.sent_within(Duration::from_secs(60));
        assert_eq!((again.flags, again.seq), (TcpFlags::SYN, first.seq));
        times.push(h.now);
    }
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!("lwIP SYN retransmission gaps: {gaps:?} (virtual)");
    // lwIP 2.1.3 keeps the SYN's RTO at its initial 3 s (tcp_slowtmr doubles the RTO only outside
    // SYN-SENT), where RFC 6298 §5.5 backs off; the first gap is shorter by the phase of lwIP's
    // 500 ms slow tick. What this checks is that the timer runs on the adapter's clock, exactly.
    assert!(
        gaps[0] > Duration::from_millis(2_500) && gaps[0] <= Duration::from_secs(3),
        "{gaps:?}"
    );
    assert_eq!(
        &gaps[1..],
        &[Duration::from_secs(3), Duration::from_secs(3)]
    );
}

/// After shutdown(SHUT_WR) and the peer's FIN the connection is in TIME-WAIT with its fd still
/// open; lwIP frees such a PCB without telling the socket, so the adapter must keep the later
/// close (or teardown) from freeing it again.
#[test]
fn time_wait_with_an_open_fd_survives_expiry_close_and_teardown() {
    for wait_out in [false, true] {
        let mut h = Harness::new();
        let (port, peer) = (8088, 40008);
        let (_lfd, fd, iss) = passive_open(&mut h, port, peer);
        h.ok(Syscall::Shutdown {
            fd,
            how: tcpconf::stack::ShutdownHow::Write,
        });
        let fin = h.sent();
        assert!(fin.flags.contains(TcpFlags::FIN));
        h.inject(seg(
            peer,
            port,
            flags(TcpFlags::FIN, TcpFlags::ACK),
            1001,
            iss + 2,
            b"",
        ));
        let _ack = h.sent();
        let tw = h.state_of(peer).expect("listed");
        assert_eq!((tw.state, tw.fd), (TcpState::TimeWait, Some(fd)));
        if wait_out {
            h.quiet_for(Duration::from_secs(130));
            assert_eq!(h.state_of(peer), None);
            assert_eq!(h.ok(Syscall::Close { fd }), 0);
        }
        // Without waiting, teardown (in Drop) frees the TIME-WAIT PCB while the fd is open.
    }
}

#[test]
fn lingering_close_blocks_until_the_data_is_acknowledged() {
    let mut h = Harness::new();
    let (port, peer) = (8089, 40009);
    let (_lfd, fd, iss) = passive_open(&mut h, port, peer);
    h.ok(Syscall::SetSockOpt {
        fd,
        opt: SockOpt::Linger(Some(5)),
    });
    assert_eq!(
        h.done(Syscall::GetSockOpt {
            fd,
            name: SockOptName::Linger
        })
        .output,
        SyscallOutput::Linger {
            onoff: true,
            secs: 5
        }
    );
    h.ok(Syscall::Write {
        fd,
        data: b"bye".to_vec(),
    });
    let data = h.sent();
    assert_eq!(data.payload, b"bye");
    assert_eq!(h.call(Syscall::Close { fd }), SyscallProgress::Blocked);
    let fin = h.sent();
    assert!(fin.flags.contains(TcpFlags::FIN), "{fin:?}");
    h.quiet_for(Duration::from_millis(100));
    h.inject(seg(peer, port, ack_flags(), 1001, iss + 5, b""));
    let acked_at = h.now;
    assert_eq!(h.returned(), SyscallOutcome::ok(0));
    assert_eq!(h.now, acked_at);
}
