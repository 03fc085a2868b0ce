//! The host: every socket and connection on a set of local addresses, the demultiplexer for
//! inbound segments (including CLOSED and LISTEN, RFC 9293 §3.10.7.1–2), and the syscall-style
//! API with Linux's errno semantics.
//!
//! The API never blocks. A call that would block returns [`Error::WouldBlock`] (or
//! [`Error::InProgress`] for `connect`); an adapter emulating a blocking socket re-issues the same
//! call after each event once [`Host::readiness`] shows the condition cleared (readable for
//! `accept`/`recv`, writable for `send`/`connect`). Re-issuing `connect` then returns `Ok` or the
//! failure, exactly as Linux answers a second `connect`.
//!
//! ```
//! use std::time::Duration;
//! use tcpconf::tcp::{Error, Family, Host, Profile};
//!
//! let mut host = Host::new(Profile::rfc9293(), ["192.0.2.1".parse().unwrap()]);
//! let fd = host.socket(Family::V4, false).unwrap();
//! let peer = "192.0.2.2:80".parse().unwrap();
//! assert_eq!(host.connect(fd, peer, Duration::ZERO), Err(Error::InProgress));
//! let syn = host.pop_outbound().unwrap(); // a raw IPv4 packet carrying the SYN
//! assert_eq!(syn[0] >> 4, 4);
//! // A blocking connect waits: nothing is writable yet, the next event is the SYN's RTO.
//! assert!(!host.readiness(fd).unwrap().writable);
//! assert_eq!(host.poll_at(), Some(Duration::from_secs(1)));
//! assert_eq!(host.connect(fd, peer, Duration::ZERO), Err(Error::Already));
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::codec::{self, CodecError, Flags, Packet, TcpHeader};
use super::conn::{Ctx, Outbox, SockSettings, State, Tcb};
use super::error::{Error, Result};
use super::icmp;
use super::isn;
use super::profile::Profile;
use super::seq::Seq;
use super::socket::{
    ConnectionInfo, Family, Fd, OptValue, Readiness, Shutdown, SockOpt, SockOptName,
};

/// Lowest fd handed out (0–2 are stdio on Linux).
const FIRST_FD: Fd = 3;
/// Linux's default ephemeral port range (`net.ipv4.ip_local_port_range`).
const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=60999;

/// Most connections a listener keeps in SYN-RECEIVED: SYNs beyond them are dropped (the peer
/// retransmits), so a flood of SYNs from many ports cannot grow the host without bound. Linux
/// bounds its SYN queue likewise (`tcp_max_syn_backlog`, then SYN cookies).
const MAX_HALF_OPEN: usize = 128;

/// Bounds of SO_RCVBUF / SO_SNDBUF requests (Linux clamps to its sysctl limits similarly).
const MIN_BUF: usize = 256;
const MAX_BUF: usize = 16 << 20;

type ConnId = usize;

#[derive(Debug)]
struct Listener {
    backlog: usize,
    /// Established children waiting for `accept`.
    queue: VecDeque<ConnId>,
}

#[derive(Debug)]
enum Kind {
    Fresh,
    Listener(Listener),
    Conn(ConnId),
}

#[derive(Debug)]
struct Socket {
    family: Family,
    nonblocking: bool,
    settings: SockSettings,
    reuse_addr: bool,
    reuse_port: bool,
    linger: Option<u32>,
    bound: Option<SocketAddr>,
    kind: Kind,
    /// A connect is outstanding from the application's point of view (Linux SS_CONNECTING).
    connecting: bool,
}

#[derive(Debug)]
struct Conn {
    tcb: Tcb,
    fd: Option<Fd>,
    /// The listener a passively opened connection belongs to until it is accepted.
    parent: Option<Fd>,
    queued: bool,
}

/// A TCP host: sockets, connections and the packets they send, driven by calls and a `now`.
#[derive(Debug)]
pub struct Host {
    profile: Profile,
    addrs: Vec<IpAddr>,
    sockets: BTreeMap<Fd, Socket>,
    conns: Vec<Option<Conn>>,
    free_conns: Vec<ConnId>,
    by_tuple: HashMap<(SocketAddr, SocketAddr), ConnId>,
    out: Outbox,
    next_port: u16,
    /// End of the quiet time after a [`Host::restart`] (RFC 9293 §3.4.3).
    quiet_until: Option<Duration>,
}

impl Host {
    /// A host owning `addrs`, behaving per `profile`.
    pub fn new(profile: Profile, addrs: impl IntoIterator<Item = IpAddr>) -> Host {
        let span = u64::from(EPHEMERAL.end() - EPHEMERAL.start()) + 1;
        let start = EPHEMERAL.start() + (isn::siphash24(profile.secret, b"port") % span) as u16;
        Host {
            profile,
            addrs: addrs.into_iter().collect(),
            sockets: BTreeMap::new(),
            conns: Vec::new(),
            free_conns: Vec::new(),
            by_tuple: HashMap::new(),
            out: Outbox::default(),
            next_port: start,
            quiet_until: None,
        }
    }

    /// The host crashes and restarts at `now`: every socket, connection and queued packet is
    /// lost, the memory of the sequence numbers in use with them. A new host models one that has
    /// been up for a while; this one has just started, and "must keep quiet for an MSL before
    /// assigning any sequence numbers upon starting up or recovering from a situation where
    /// memory of sequence numbers in use was lost" (RFC 9293 §3.4.2; §3.4.3: "delay emitting any
    /// TCP segments for at least the agreed MSL"). The clock-driven ISN of RFC 6528 does not
    /// replace the wait: "Even hosts that can remember the time of day and use it to select
    /// initial sequence number values are not immune from this problem" (§3.4.3). So for one MSL
    /// inbound segments are dropped unanswered (no SYN,ACK, no RST) and a `connect` holds its SYN.
    pub fn restart(&mut self, now: Duration) {
        *self = Host {
            quiet_until: Some(now + self.profile.msl),
            ..Host::new(self.profile.clone(), self.addrs.clone())
        };
    }

    /// Whether the host is keeping quiet after a restart.
    fn quiet(&self, now: Duration) -> bool {
        self.quiet_until.is_some_and(|t| now < t)
    }

    /// The profile this host runs.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Adds a local address.
    pub fn add_address(&mut self, addr: IpAddr) {
        if !self.addrs.contains(&addr) {
            self.addrs.push(addr);
        }
    }

    // ----- Packets and time -----

    /// The next packet the host sent, oldest first.
    pub fn pop_outbound(&mut self) -> Option<Vec<u8>> {
        self.out.packets.pop_front()
    }

    /// Number of packets waiting in [`Host::pop_outbound`].
    pub fn outbound_len(&self) -> usize {
        self.out.packets.len()
    }

    /// The earliest timer deadline of any connection.
    pub fn poll_at(&self) -> Option<Duration> {
        self.conns
            .iter()
            .flatten()
            .filter_map(|c| c.tcb.poll_at())
            .min()
    }

    /// Runs every timer due at or before `now`.
    pub fn poll(&mut self, now: Duration) {
        for id in 0..self.conns.len() {
            let due = self
                .conns
                .get(id)
                .and_then(|c| c.as_ref())
                .and_then(|c| c.tcb.poll_at())
                .is_some_and(|t| t <= now);
            if due {
                self.with_tcb(id, |tcb, cx| tcb.on_timer(cx, now));
            }
        }
    }

    /// Delivers one inbound IP packet. Packets that are not valid TCP for a local address are
    /// dropped (bad checksums silently, MUST-3).
    pub fn receive(&mut self, now: Duration, packet: &[u8]) {
        if self.quiet(now) {
            return;
        }
        let p = match codec::parse(packet) {
            Ok(p) => p,
            Err(CodecError::NotTcp(_)) => return self.receive_icmp(now, packet),
            Err(_) => return,
        };
        if !self.addrs.contains(&p.dst) || !is_unicast(p.src) {
            // MUST-57/MUST-63: nothing is answered to or from broadcast/multicast addresses.
            return;
        }
        let local = SocketAddr::new(p.dst, p.tcp.dst_port);
        let remote = SocketAddr::new(p.src, p.tcp.src_port);
        let mut iss_floor = None;
        if let Some(&id) = self.by_tuple.get(&(local, remote)) {
            let reuse = self
                .time_wait_reuse(id, &p)
                .filter(|_| self.find_listener(local).is_some());
            match reuse {
                Some(floor) => {
                    // MAY-2 / RFC 6191: the old incarnation gives way to the new SYN.
                    self.remove_conn(id);
                    iss_floor = Some(floor);
                }
                None => {
                    self.with_tcb(id, |tcb, cx| tcb.on_segment(cx, now, &p));
                    return;
                }
            }
        }
        match self.find_listener(local) {
            Some(lfd) => self.listen_arrive(now, lfd, local, remote, &p, iss_floor),
            None => self.closed_arrive(local, remote, &p),
        }
    }

    /// An ICMP or ICMPv6 error goes to the connection whose segment it quotes (MUST-54), which
    /// checks the quoted sequence number (RFC 5927 §4.1). Malformed messages are dropped.
    fn receive_icmp(&mut self, now: Duration, packet: &[u8]) {
        let Ok(Some(msg)) = icmp::parse(packet) else {
            return;
        };
        if !self.addrs.contains(&msg.dst) || !self.addrs.contains(&msg.local.ip()) {
            return;
        }
        if let Some(&id) = self.by_tuple.get(&(msg.local, msg.remote)) {
            self.with_tcb(id, |tcb, cx| tcb.on_icmp(cx, now, msg.kind, msg.seq));
        }
    }

    /// If `id` is in TIME-WAIT and `p` is a SYN that may start a new incarnation (MAY-2: its
    /// sequence number is beyond RCV.NXT, or RFC 6191: its timestamp is newer), the sequence number
    /// the new ISS must exceed.
    fn time_wait_reuse(&self, id: ConnId, p: &Packet<'_>) -> Option<Seq> {
        let tcb = &self.conns.get(id)?.as_ref()?.tcb;
        let f = p.tcp.flags;
        if !self.profile.time_wait_reuse
            || tcb.state != State::TimeWait
            || !f.has(Flags::SYN)
            || f.has(Flags::ACK)
            || f.has(Flags::RST)
        {
            return None;
        }
        tcb.accepts_new_incarnation(p.tcp.seq, p.tcp.options.timestamps.map(|t| t.0))
            .then(|| tcb.highest_sent())
    }

    /// §3.10.7.2: a segment for a listening socket.
    fn listen_arrive(
        &mut self,
        now: Duration,
        lfd: Fd,
        local: SocketAddr,
        remote: SocketAddr,
        p: &Packet<'_>,
        iss_floor: Option<Seq>,
    ) {
        let h = &p.tcp;
        // First: "An incoming RST should be ignored. Return."
        if h.flags.has(Flags::RST) {
            return;
        }
        // Second: "Any acknowledgment is bad if it arrives on a connection still in the LISTEN
        // state. [...] <SEQ=SEG.ACK><CTL=RST>".
        if h.flags.has(Flags::ACK) {
            self.send_rst(local, remote, h.ack, None);
            return;
        }
        // Fourth: "Any other control or data-bearing segment (not containing SYN) [...] Drop the
        // segment and return." (Third, the SYN's security check, has nothing to compare: no IP
        // security options are implemented.)
        if !h.flags.has(Flags::SYN) {
            return;
        }
        let Some(Socket {
            kind: Kind::Listener(l),
            settings,
            ..
        }) = self.sockets.get(&lfd)
        else {
            return;
        };
        let half_open = self
            .conns
            .iter()
            .flatten()
            .filter(|c| c.parent == Some(lfd) && c.tcb.state == State::SynReceived)
            .count();
        if l.queue.len() > l.backlog || half_open >= MAX_HALF_OPEN {
            // Accept queue or SYN queue full: drop the SYN, as Linux does; the peer retransmits.
            return;
        }
        let settings = settings.clone();
        let mut iss = isn::initial_sequence(self.profile.secret, now, local, remote);
        if let Some(floor) = iss_floor
            && iss <= floor
        {
            iss = floor + 65536 + 1;
        }
        let mut cx = Ctx {
            profile: &self.profile,
            out: &mut self.out,
        };
        let tcb = Tcb::passive_open(&mut cx, settings, local, remote, iss, now, p);
        self.insert_conn(Conn {
            tcb,
            fd: None,
            parent: Some(lfd),
            queued: false,
        });
    }

    /// §3.10.7.1: no connection: "An incoming segment containing a RST is discarded. An incoming
    /// segment not containing a RST causes a RST to be sent in response": `<SEQ=SEG.ACK><CTL=RST>`
    /// if the ACK bit is on, else `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
    fn closed_arrive(&mut self, local: SocketAddr, remote: SocketAddr, p: &Packet<'_>) {
        let h = &p.tcp;
        if h.flags.has(Flags::RST) {
            return;
        }
        if h.flags.has(Flags::ACK) {
            self.send_rst(local, remote, h.ack, None);
        } else {
            let len = p.payload.len() as u32
                + u32::from(h.flags.has(Flags::SYN))
                + u32::from(h.flags.has(Flags::FIN));
            self.send_rst(local, remote, Seq(0), Some(h.seq + len));
        }
    }

    /// `<SEQ=seq><CTL=RST>`, or with `ack` `<SEQ=seq><ACK=ack><CTL=RST,ACK>`.
    fn send_rst(&mut self, local: SocketAddr, remote: SocketAddr, seq: Seq, ack: Option<Seq>) {
        let hdr = TcpHeader {
            src_port: local.port(),
            dst_port: remote.port(),
            seq,
            ack: ack.unwrap_or_default(),
            flags: if ack.is_some() {
                Flags::RST | Flags::ACK
            } else {
                Flags::RST
            },
            ..TcpHeader::default()
        };
        self.out.send(local, remote, &hdr, [&[], &[]]);
    }

    fn find_listener(&self, local: SocketAddr) -> Option<Fd> {
        let mut wildcard = None;
        for (&fd, s) in &self.sockets {
            if let (Kind::Listener(_), Some(b)) = (&s.kind, s.bound) {
                if b.port() != local.port() || !family_accepts(s.family, local.ip()) {
                    continue;
                }
                if b.ip() == local.ip() {
                    return Some(fd);
                }
                if b.ip().is_unspecified() && wildcard.is_none() {
                    wildcard = Some(fd);
                }
            }
        }
        wildcard
    }

    // ----- Connection bookkeeping -----

    fn insert_conn(&mut self, conn: Conn) -> ConnId {
        let key = (conn.tcb.local, conn.tcb.remote);
        let id = match self.free_conns.pop() {
            Some(id) => {
                self.conns[id] = Some(conn);
                id
            }
            None => {
                self.conns.push(Some(conn));
                self.conns.len() - 1
            }
        };
        self.by_tuple.insert(key, id);
        self.settle(id, State::Closed);
        id
    }

    fn remove_conn(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(id).and_then(Option::take) {
            let key = (conn.tcb.local, conn.tcb.remote);
            if self.by_tuple.get(&key) == Some(&id) {
                self.by_tuple.remove(&key);
            }
            if let Some(Socket {
                kind: Kind::Listener(l),
                ..
            }) = conn.parent.and_then(|p| self.sockets.get_mut(&p))
            {
                l.queue.retain(|&c| c != id);
            }
            self.free_conns.push(id);
        }
    }

    /// Runs `f` on connection `id`'s TCB, then applies what its state change means to the host.
    fn with_tcb<R>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut Tcb, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let conn = self.conns.get_mut(id)?.as_mut()?;
        let before = conn.tcb.state;
        let mut cx = Ctx {
            profile: &self.profile,
            out: &mut self.out,
        };
        let r = f(&mut conn.tcb, &mut cx);
        self.settle(id, before);
        Some(r)
    }

    /// After a TCB ran: queue newly established children for `accept`, forget closed TCBs.
    fn settle(&mut self, id: ConnId, before: State) {
        let Some(conn) = self.conns.get_mut(id).and_then(|c| c.as_mut()) else {
            return;
        };
        let state = conn.tcb.state;
        if state == State::Closed {
            let key = (conn.tcb.local, conn.tcb.remote);
            if conn.fd.is_none() || conn.parent.is_some() {
                self.remove_conn(id);
            } else if self.by_tuple.get(&key) == Some(&id) {
                // The socket keeps its TCB for error reporting; segments now meet CLOSED.
                self.by_tuple.remove(&key);
            }
            return;
        }
        if before != state
            && state.is_synchronized()
            && conn.fd.is_none()
            && !conn.queued
            && let Some(parent) = conn.parent
        {
            conn.queued = true;
            if let Some(Socket {
                kind: Kind::Listener(l),
                ..
            }) = self.sockets.get_mut(&parent)
            {
                l.queue.push_back(id);
            }
        }
    }

    fn sock(&self, fd: Fd) -> Result<&Socket> {
        self.sockets.get(&fd).ok_or(Error::BadFd)
    }

    fn sock_mut(&mut self, fd: Fd) -> Result<&mut Socket> {
        self.sockets.get_mut(&fd).ok_or(Error::BadFd)
    }

    fn conn_of(&self, fd: Fd) -> Result<Option<&Conn>> {
        Ok(match self.sock(fd)?.kind {
            Kind::Conn(id) => self.conns.get(id).and_then(|c| c.as_ref()),
            _ => None,
        })
    }

    fn conn_id(&self, fd: Fd) -> Result<Option<ConnId>> {
        Ok(match self.sock(fd)?.kind {
            Kind::Conn(id) => Some(id),
            _ => None,
        })
    }

    fn lowest_free_fd(&self) -> Result<Fd> {
        let mut fd = FIRST_FD;
        for &used in self.sockets.keys() {
            if used != fd {
                break;
            }
            fd = fd.checked_add(1).ok_or(Error::TooManyFiles)?;
        }
        Ok(fd)
    }

    // ----- Syscalls -----

    /// `socket(family, SOCK_STREAM [| SOCK_NONBLOCK], IPPROTO_TCP)`.
    pub fn socket(&mut self, family: Family, nonblocking: bool) -> Result<Fd> {
        let fd = self.lowest_free_fd()?;
        self.sockets.insert(
            fd,
            Socket {
                family,
                nonblocking,
                settings: SockSettings::from_profile(&self.profile),
                reuse_addr: false,
                reuse_port: false,
                linger: None,
                bound: None,
                kind: Kind::Fresh,
                connecting: false,
            },
        );
        Ok(fd)
    }

    /// `bind`: EINVAL if already bound, EADDRNOTAVAIL for a foreign address, EADDRINUSE if another
    /// socket or a connection (TIME-WAIT included) holds the port, unless SO_REUSEADDR allows it.
    pub fn bind(&mut self, fd: Fd, addr: SocketAddr) -> Result<()> {
        let s = self.sock(fd)?;
        if s.bound.is_some() || !matches!(s.kind, Kind::Fresh) {
            return Err(Error::Invalid);
        }
        if !family_accepts(s.family, addr.ip()) {
            return Err(Error::AfNotSupported);
        }
        if !addr.ip().is_unspecified() && !self.addrs.contains(&addr.ip()) {
            return Err(Error::AddrNotAvailable);
        }
        let port = if addr.port() == 0 {
            self.ephemeral_port(addr.ip(), None)?
        } else {
            if self.port_in_use(fd, addr, s.reuse_addr) {
                return Err(Error::AddrInUse);
            }
            addr.port()
        };
        self.sock_mut(fd)?.bound = Some(SocketAddr::new(addr.ip(), port));
        Ok(())
    }

    fn port_in_use(&self, fd: Fd, addr: SocketAddr, reuse: bool) -> bool {
        let overlaps =
            |b: IpAddr| b.is_unspecified() || addr.ip().is_unspecified() || b == addr.ip();
        let sockets = self.sockets.iter().any(|(&other, s)| {
            other != fd
                && s.bound
                    .is_some_and(|b| b.port() == addr.port() && overlaps(b.ip()))
                && !(reuse && s.reuse_addr && !matches!(s.kind, Kind::Listener(_)))
        });
        let conns = !reuse
            && self.conns.iter().flatten().any(|c| {
                c.tcb.state != State::Closed
                    && c.tcb.local.port() == addr.port()
                    && overlaps(c.tcb.local.ip())
            });
        sockets || conns
    }

    fn ephemeral_port(&mut self, ip: IpAddr, remote: Option<SocketAddr>) -> Result<u16> {
        for _ in EPHEMERAL {
            let port = self.next_port;
            self.next_port = if port >= *EPHEMERAL.end() {
                *EPHEMERAL.start()
            } else {
                port + 1
            };
            let addr = SocketAddr::new(ip, port);
            let bound = self
                .sockets
                .values()
                .any(|s| s.bound.is_some_and(|b| b.port() == port));
            let tuple_busy = remote.is_some_and(|r| self.by_tuple.contains_key(&(addr, r)));
            if !bound && !tuple_busy {
                return Ok(port);
            }
        }
        Err(Error::AddrNotAvailable)
    }

    /// `listen`: binds an ephemeral port if needed; EINVAL on a connected socket.
    pub fn listen(&mut self, fd: Fd, backlog: i32) -> Result<()> {
        let backlog = usize::try_from(backlog).unwrap_or(0);
        let s = self.sock(fd)?;
        match &s.kind {
            Kind::Conn(_) => return Err(Error::Invalid),
            Kind::Listener(_) => {
                if let Kind::Listener(l) = &mut self.sock_mut(fd)?.kind {
                    l.backlog = backlog;
                }
                return Ok(());
            }
            Kind::Fresh => {}
        }
        if s.bound.is_none() {
            let any = unspecified(s.family);
            let port = self.ephemeral_port(any, None)?;
            self.sock_mut(fd)?.bound = Some(SocketAddr::new(any, port));
        }
        self.sock_mut(fd)?.kind = Kind::Listener(Listener {
            backlog,
            queue: VecDeque::new(),
        });
        Ok(())
    }

    /// `accept`: the oldest established connection, as a new fd with the peer's address.
    pub fn accept(&mut self, fd: Fd) -> Result<(Fd, SocketAddr)> {
        let new_fd = self.lowest_free_fd()?;
        let s = self.sock_mut(fd)?;
        let family = s.family;
        let settings = s.settings.clone();
        let (reuse_addr, linger) = (s.reuse_addr, s.linger);
        let Kind::Listener(l) = &mut s.kind else {
            return Err(Error::Invalid);
        };
        let id = l.queue.pop_front().ok_or(Error::WouldBlock)?;
        let conn = self
            .conns
            .get_mut(id)
            .and_then(|c| c.as_mut())
            .ok_or(Error::ConnectionAborted)?;
        conn.fd = Some(new_fd);
        conn.parent = None;
        let local = conn.tcb.local;
        let remote = conn.tcb.remote;
        let settings = SockSettings {
            rcvbuf: conn.tcb.settings.rcvbuf,
            sndbuf: conn.tcb.settings.sndbuf,
            ..settings
        };
        self.sockets.insert(
            new_fd,
            Socket {
                family,
                nonblocking: false,
                settings,
                reuse_addr,
                reuse_port: false,
                linger,
                bound: Some(local),
                kind: Kind::Conn(id),
                connecting: false,
            },
        );
        Ok((new_fd, remote))
    }

    /// `connect`: starts the handshake and returns [`Error::InProgress`]; later calls answer
    /// EALREADY while it runs, `Ok` once (then EISCONN) when it succeeded, or the failure.
    pub fn connect(&mut self, fd: Fd, remote: SocketAddr, now: Duration) -> Result<()> {
        let s = self.sock(fd)?;
        if !family_accepts(s.family, remote.ip()) {
            return Err(Error::AfNotSupported);
        }
        match s.kind {
            Kind::Listener(_) => return Err(Error::IsConnected),
            Kind::Conn(id) => {
                let connecting = s.connecting;
                let tcb = self.conns.get(id).and_then(|c| c.as_ref()).map(|c| &c.tcb);
                let state = tcb.map_or(State::Closed, |t| t.state);
                return match (connecting, state) {
                    (true, State::SynSent | State::SynReceived) => Err(Error::Already),
                    (true, State::Closed) => {
                        let err = self.take_error(fd).unwrap_or(Error::ConnectionAborted);
                        self.reset_to_fresh(fd);
                        Err(err)
                    }
                    (true, _) => {
                        self.sock_mut(fd)?.connecting = false;
                        Ok(())
                    }
                    (false, _) => Err(Error::IsConnected),
                };
            }
            Kind::Fresh => {}
        }
        if !is_unicast(remote.ip()) || remote.ip().is_unspecified() {
            // MUST-46: no OPEN to broadcast or multicast addresses.
            return Err(Error::NetUnreachable);
        }
        let local_ip = match s.bound {
            Some(b) if !b.ip().is_unspecified() => b.ip(),
            _ => self
                .addrs
                .iter()
                .copied()
                .find(|a| a.is_ipv4() == remote.is_ipv4())
                .ok_or(Error::NetUnreachable)?,
        };
        let port = match s.bound {
            Some(b) => b.port(),
            None => self.ephemeral_port(local_ip, Some(remote))?,
        };
        let local = SocketAddr::new(local_ip, port);
        if self.by_tuple.contains_key(&(local, remote)) {
            return Err(Error::AddrNotAvailable);
        }
        let settings = self.sock(fd)?.settings.clone();
        // The ISN clock's value when the SYN leaves, after any quiet time.
        let quiet_until = self.quiet_until.filter(|_| self.quiet(now));
        let iss = isn::initial_sequence(
            self.profile.secret,
            quiet_until.unwrap_or(now),
            local,
            remote,
        );
        let mut cx = Ctx {
            profile: &self.profile,
            out: &mut self.out,
        };
        let tcb = Tcb::connect(&mut cx, settings, (local, remote), iss, now, quiet_until);
        let id = self.insert_conn(Conn {
            tcb,
            fd: Some(fd),
            parent: None,
            queued: false,
        });
        let s = self.sock_mut(fd)?;
        s.bound = Some(local);
        s.kind = Kind::Conn(id);
        s.connecting = true;
        Err(Error::InProgress)
    }

    fn reset_to_fresh(&mut self, fd: Fd) {
        if let Ok(Some(id)) = self.conn_id(fd) {
            self.remove_conn(id);
        }
        if let Some(s) = self.sockets.get_mut(&fd) {
            s.kind = Kind::Fresh;
            s.connecting = false;
            s.bound = None;
        }
    }

    fn take_error(&mut self, fd: Fd) -> Option<Error> {
        let id = self.conn_id(fd).ok()??;
        self.conns.get_mut(id)?.as_mut()?.tcb.error.take()
    }

    /// SO_ERROR: the pending error, else the last soft error (SHLD-25), as Linux reports them.
    fn take_any_error(&mut self, fd: Fd) -> Option<Error> {
        let id = self.conn_id(fd).ok()??;
        let tcb = &mut self.conns.get_mut(id)?.as_mut()?.tcb;
        tcb.error.take().or_else(|| tcb.soft_error.take())
    }

    /// `recv`/`read` of at most `len` bytes (`peek`: MSG_PEEK). An empty vector is end of file.
    /// After a reset the error is returned once, then end of file.
    pub fn recv(&mut self, fd: Fd, len: usize, peek: bool, now: Duration) -> Result<Vec<u8>> {
        let Some(id) = self.conn_id(fd)? else {
            return Err(Error::NotConnected);
        };
        let Some(conn) = self.conns.get(id).and_then(|c| c.as_ref()) else {
            return Err(Error::NotConnected);
        };
        let tcb = &conn.tcb;
        if tcb.readable() > 0 {
            if len == 0 {
                return Ok(Vec::new());
            }
            return Ok(self
                .with_tcb(id, |tcb, cx| tcb.recv(cx, now, len, peek))
                .unwrap_or_default());
        }
        if tcb.error.is_some() {
            return Err(self.take_error(fd).unwrap_or(Error::ConnectionReset));
        }
        if tcb.at_eof() || tcb.read_shut() || tcb.state == State::Closed {
            return Ok(Vec::new());
        }
        Err(Error::WouldBlock)
    }

    /// `send`/`write`: bytes queued (possibly fewer than given), EAGAIN when the buffer is full,
    /// EPIPE once the socket cannot send (after a pending error has been reported once).
    pub fn send(&mut self, fd: Fd, data: &[u8], now: Duration) -> Result<usize> {
        let Some(id) = self.conn_id(fd)? else {
            return Err(Error::BrokenPipe);
        };
        let Some(conn) = self.conns.get(id).and_then(|c| c.as_ref()) else {
            return Err(Error::BrokenPipe);
        };
        let tcb = &conn.tcb;
        if tcb.error.is_some() {
            return Err(self.take_error(fd).unwrap_or(Error::BrokenPipe));
        }
        if matches!(tcb.state, State::SynSent | State::SynReceived) {
            return Err(Error::WouldBlock);
        }
        if !tcb.can_send() {
            return Err(Error::BrokenPipe);
        }
        if data.is_empty() {
            return Ok(0);
        }
        if tcb.send_space() == 0 {
            return Err(Error::WouldBlock);
        }
        Ok(self
            .with_tcb(id, |tcb, cx| tcb.send(cx, now, data))
            .unwrap_or(0))
    }

    /// `shutdown`.
    pub fn shutdown(&mut self, fd: Fd, how: Shutdown, now: Duration) -> Result<()> {
        let Some(id) = self.conn_id(fd)? else {
            return Err(Error::NotConnected);
        };
        let state = self
            .conns
            .get(id)
            .and_then(|c| c.as_ref())
            .map_or(State::Closed, |c| c.tcb.state);
        if state == State::Closed {
            return Err(Error::NotConnected);
        }
        self.with_tcb(id, |tcb, cx| {
            if matches!(how, Shutdown::Read | Shutdown::Both) {
                tcb.shutdown_read();
            }
            if matches!(how, Shutdown::Write | Shutdown::Both) {
                tcb.shutdown_write(cx, now);
            }
        });
        Ok(())
    }

    /// `close`: the fd goes away at once; the connection closes in the background (FIN, or RST if
    /// unread data is discarded or SO_LINGER is {1, 0}). Closing a listener resets its pending
    /// connections.
    pub fn close(&mut self, fd: Fd, now: Duration) -> Result<()> {
        let s = self.sockets.remove(&fd).ok_or(Error::BadFd)?;
        match s.kind {
            Kind::Fresh => {}
            Kind::Listener(_) => {
                let children: Vec<ConnId> = self
                    .conns
                    .iter()
                    .enumerate()
                    .filter_map(|(id, c)| {
                        c.as_ref()
                            .filter(|c| c.parent == Some(fd) && c.fd.is_none())
                            .map(|_| id)
                    })
                    .collect();
                for id in children {
                    self.with_tcb(id, |tcb, cx| tcb.abort(cx));
                    self.remove_conn(id);
                }
            }
            Kind::Conn(id) => {
                let abort = s.linger == Some(0);
                if let Some(conn) = self.conns.get_mut(id).and_then(|c| c.as_mut()) {
                    conn.fd = None;
                }
                self.with_tcb(id, |tcb, cx| tcb.close(cx, now, abort));
                // Closed TCBs that had kept their fd for error reporting go now.
                if self
                    .conns
                    .get(id)
                    .and_then(|c| c.as_ref())
                    .is_some_and(|c| c.tcb.state == State::Closed)
                {
                    self.remove_conn(id);
                }
            }
        }
        Ok(())
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)`.
    pub fn set_nonblocking(&mut self, fd: Fd, on: bool) -> Result<()> {
        self.sock_mut(fd)?.nonblocking = on;
        Ok(())
    }

    /// SHLD-9: whether the connection has retransmitted at least R1 times without progress
    /// (the point where RFC 9293 §3.8.3 would advise IP and tell the application).
    pub fn retransmission_trouble(&self, fd: Fd) -> Result<bool> {
        Ok(self
            .conn_of(fd)?
            .is_some_and(|c| c.tcb.retransmissions() >= self.profile.r1))
    }

    /// Whether O_NONBLOCK is set (the adapter blocks only when it is not).
    pub fn is_nonblocking(&self, fd: Fd) -> Result<bool> {
        Ok(self.sock(fd)?.nonblocking)
    }

    /// SIOCINQ: bytes ready to read (EINVAL on a listener, like Linux).
    pub fn in_queue(&self, fd: Fd) -> Result<usize> {
        match self.sock(fd)?.kind {
            Kind::Listener(_) => Err(Error::Invalid),
            _ => Ok(self.conn_of(fd)?.map_or(0, |c| c.tcb.readable())),
        }
    }

    /// SIOCOUTQ: bytes sent or queued and not yet acknowledged.
    pub fn out_queue(&self, fd: Fd) -> Result<usize> {
        match self.sock(fd)?.kind {
            Kind::Listener(_) => Err(Error::Invalid),
            _ => Ok(self.conn_of(fd)?.map_or(0, |c| c.tcb.unacked())),
        }
    }

    /// What `poll` would report for `fd`.
    pub fn readiness(&self, fd: Fd) -> Result<Readiness> {
        let s = self.sock(fd)?;
        Ok(match &s.kind {
            Kind::Fresh => Readiness {
                writable: true,
                hangup: true,
                ..Readiness::default()
            },
            Kind::Listener(l) => Readiness {
                readable: !l.queue.is_empty(),
                ..Readiness::default()
            },
            Kind::Conn(id) => match self.conns.get(*id).and_then(|c| c.as_ref()) {
                None => Readiness {
                    readable: true,
                    writable: true,
                    hangup: true,
                    ..Readiness::default()
                },
                Some(c) => {
                    let t = &c.tcb;
                    let closed = t.state == State::Closed;
                    let error = t.error.is_some();
                    Readiness {
                        readable: t.readable() > 0
                            || t.at_eof()
                            || t.read_shut()
                            || error
                            || closed,
                        writable: (t.can_send() && t.send_space() > 0) || error || closed,
                        error,
                        hangup: closed || (t.at_eof() && t.write_shut()),
                    }
                }
            },
        })
    }

    /// `setsockopt` at `now` (keep-alive intervals start when keep-alives are switched on).
    pub fn setsockopt(&mut self, fd: Fd, opt: SockOpt, now: Duration) -> Result<()> {
        let id = self.conn_id(fd)?;
        let s = self.sock_mut(fd)?;
        let st = &mut s.settings;
        match opt {
            SockOpt::ReuseAddr(on) => s.reuse_addr = on,
            SockOpt::ReusePort(on) => s.reuse_port = on,
            SockOpt::Linger(l) => s.linger = l,
            SockOpt::RcvBuf(n) => st.rcvbuf = n.clamp(MIN_BUF, MAX_BUF),
            SockOpt::SndBuf(n) => st.sndbuf = n.clamp(MIN_BUF, MAX_BUF),
            SockOpt::KeepAlive(on) => st.keepalive = on,
            SockOpt::NoDelay(on) => st.nodelay = on,
            SockOpt::MaxSeg(m) if (88..=32767).contains(&m) => st.max_seg = Some(m),
            SockOpt::MaxSeg(_) => return Err(Error::Invalid),
            SockOpt::UserTimeout(t) => st.user_timeout = (!t.is_zero()).then_some(t),
            SockOpt::KeepIdle(t) | SockOpt::KeepIntvl(t) if t.is_zero() => {
                return Err(Error::Invalid);
            }
            SockOpt::KeepIdle(t) => st.keep_idle = t,
            SockOpt::KeepIntvl(t) => st.keep_interval = t,
            SockOpt::KeepCnt(0) | SockOpt::SynCnt(0) => return Err(Error::Invalid),
            SockOpt::KeepCnt(n) => st.keep_count = n,
            SockOpt::SynCnt(n) => st.syn_count = Some(n),
        }
        let settings = st.clone();
        if let Some(conn) = id
            .and_then(|id| self.conns.get_mut(id))
            .and_then(|c| c.as_mut())
        {
            conn.tcb.apply_settings(settings, now);
        }
        Ok(())
    }

    /// `getsockopt`.
    pub fn getsockopt(&mut self, fd: Fd, name: SockOptName) -> Result<OptValue> {
        if name == SockOptName::Error {
            self.sock(fd)?;
            return Ok(OptValue::Error(self.take_any_error(fd)));
        }
        let s = self.sock(fd)?;
        let st = &s.settings;
        let int = |v: i64| Ok(OptValue::Int(v));
        match name {
            SockOptName::ReuseAddr => int(s.reuse_addr.into()),
            SockOptName::ReusePort => int(s.reuse_port.into()),
            SockOptName::Linger => Ok(OptValue::Linger {
                onoff: s.linger.is_some(),
                secs: s.linger.unwrap_or(0),
            }),
            // Linux reports twice the requested size (the kernel's bookkeeping allowance).
            SockOptName::RcvBuf => int(2 * st.rcvbuf as i64),
            SockOptName::SndBuf => int(2 * st.sndbuf as i64),
            SockOptName::KeepAlive => int(st.keepalive.into()),
            SockOptName::NoDelay => int(st.nodelay.into()),
            SockOptName::MaxSeg => {
                let eff = self.conn_of(fd)?.map(|c| c.tcb.mss());
                int(i64::from(
                    eff.unwrap_or(u32::from(st.max_seg.unwrap_or(536))),
                ))
            }
            SockOptName::UserTimeout => int(st.user_timeout.map_or(0, |t| t.as_millis() as i64)),
            SockOptName::KeepIdle => int(st.keep_idle.as_secs() as i64),
            SockOptName::KeepIntvl => int(st.keep_interval.as_secs() as i64),
            SockOptName::KeepCnt => int(i64::from(st.keep_count)),
            // Without TCP_SYNCNT, the count the default 180 s R2 allows (at 1, 3, 7, … 127 s).
            SockOptName::SynCnt => int(i64::from(st.syn_count.unwrap_or(7))),
            SockOptName::Error => Ok(OptValue::Error(None)),
        }
    }

    // ----- Introspection -----

    /// Every TCP endpoint: listeners, connections (TIME-WAIT and orphans included, with no fd).
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        let mut out = Vec::new();
        for (&fd, s) in &self.sockets {
            if let (Kind::Listener(_), Some(local)) = (&s.kind, s.bound) {
                out.push(ConnectionInfo {
                    local,
                    remote: None,
                    state: State::Listen,
                    fd: Some(fd),
                });
            }
        }
        // A TCB in CLOSED that only remains for its fd's error reporting is not a connection.
        for c in self
            .conns
            .iter()
            .flatten()
            .filter(|c| c.tcb.state != State::Closed)
        {
            out.push(ConnectionInfo {
                local: c.tcb.local,
                remote: Some(c.tcb.remote),
                state: c.tcb.state,
                fd: c.fd,
            });
        }
        out
    }

    /// Checks every connection's invariants (SND.UNA ≤ SND.NXT, buffers within capacity, …).
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        for c in self.conns.iter().flatten() {
            c.tcb.check_invariants().map_err(|e| {
                format!(
                    "{} -> {} ({}): {e}",
                    c.tcb.local,
                    c.tcb.remote,
                    c.tcb.state.rfc_name()
                )
            })?;
        }
        Ok(())
    }

    /// Connections the host holds (every state but LISTEN and CLOSED), for memory bounds.
    pub fn connection_count(&self) -> usize {
        self.conns
            .iter()
            .flatten()
            .filter(|c| c.tcb.state != State::Closed)
            .count()
    }

    /// Heap bytes the host holds: every connection's TCB, buffers and out-of-order bookkeeping,
    /// and the packets waiting in [`Host::pop_outbound`].
    pub fn heap_bytes(&self) -> usize {
        let conns: usize = self
            .conns
            .iter()
            .flatten()
            .map(|c| {
                std::mem::size_of::<Conn>()
                    + c.tcb.heap_bytes_outside_buffers()
                    + c.tcb.buffer_heap_bytes()
            })
            .sum();
        conns + self.out.packets.iter().map(Vec::capacity).sum::<usize>()
    }

    /// Bytes of state one connection costs besides its data buffers: the TCB itself plus heap it
    /// owns outside the buffers (for the "state per idle connection" figure).
    pub fn connection_state_bytes(&self, fd: Fd) -> Result<usize> {
        let conn = self.conn_of(fd)?.ok_or(Error::NotConnected)?;
        Ok(std::mem::size_of::<Conn>() + conn.tcb.heap_bytes_outside_buffers())
    }

    /// Heap bytes of one connection's data buffers.
    pub fn connection_buffer_bytes(&self, fd: Fd) -> Result<usize> {
        let conn = self.conn_of(fd)?.ok_or(Error::NotConnected)?;
        Ok(conn.tcb.buffer_heap_bytes())
    }
}

fn unspecified(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        Family::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}

fn family_accepts(family: Family, ip: IpAddr) -> bool {
    matches!(
        (family, ip),
        (Family::V4, IpAddr::V4(_)) | (Family::V6, IpAddr::V6(_))
    )
}

fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_multicast(),
    }
}
