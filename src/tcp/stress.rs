//! Driving a [`Host`] with arbitrary input — segments, socket calls and the passage of time — from
//! any connection state, checking after every step what must hold whatever the input: no panic,
//! the TCB invariants (SND.UNA ≤ SND.NXT, buffers within capacity, …), a `poll_at` that never
//! lies in the past and always moves forward when polled, a bounded number of connections and
//! bytes, valid checksums on everything sent (MUST-2), and a receive window whose right edge never
//! moves left (SHLD-14, checked by the TCB's own invariants). The fuzz target `fuzz/fuzz_targets/tcp_host.rs` and the property test
//! `tests/tcp_proptest.rs` feed it bytes through [`run`].

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::codec::{self, Flags, TcpHeader};
use super::options::Options;
use super::seq::Seq;
use super::{Family, Fd, Host, Profile, Shutdown, SockOpt, State};

/// Source ports the peer uses: one per connection it can open to the listener.
const PORTS: u16 = 4;
/// The connection under test's own port, the first of [`PORTS`].
const PEER_PORT: u16 = 40000;
/// Largest SO_RCVBUF / SO_SNDBUF a step sets.
const MAX_STEP_BUF: usize = 256 * 1024;

/// The connection states the driver can start from: every state but CLOSED.
pub fn start_states() -> &'static [State] {
    &State::ALL[1..]
}

/// A segment the peer injects, relative to the numbers it has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inject {
    pub flags: Flags,
    /// Added to the peer's next sequence number.
    pub seq_off: u32,
    /// Added to the host's SND.NXT as last seen.
    pub ack_off: u32,
    pub window: u16,
    pub options: Options,
    pub len: u16,
    /// Which of the peer's [`PORTS`] it comes from.
    pub port: u16,
    pub bad_checksum: bool,
}

/// One step of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Segment(Inject),
    /// Let this many milliseconds pass, running every timer on the way in order.
    Wait(u32),
    Send(u32),
    Recv {
        len: u32,
        peek: bool,
    },
    Shutdown(Shutdown),
    Close,
    Accept,
    SetOpt(SockOpt),
    Restart,
}

/// A host and the peer that plays against it.
#[derive(Debug)]
pub struct Driver {
    pub host: Host,
    now: Duration,
    /// The peer's address (port [`PEER_PORT`]) and the host's.
    me: SocketAddr,
    it: SocketAddr,
    /// The peer's next sequence number, and the host's SND.NXT as seen on the wire.
    nxt: Seq,
    host_nxt: Seq,
    fd: Option<Fd>,
    listener: Option<Fd>,
}

impl Driver {
    fn new(profile: Profile) -> Driver {
        let it = SocketAddr::new(Ipv4Addr::new(192, 0, 2, 1).into(), 8080);
        Driver {
            host: Host::new(profile, [it.ip()]),
            now: Duration::from_secs(1),
            me: SocketAddr::new(Ipv4Addr::new(192, 0, 2, 2).into(), PEER_PORT),
            it,
            nxt: Seq(7_000_000),
            host_nxt: Seq(0),
            fd: None,
            listener: None,
        }
    }

    /// A driver whose connection under test is in `target`, reached with well-formed segments.
    pub fn reach(target: State, profile: Profile) -> Result<Driver, String> {
        let mut d = Driver::new(profile);
        if target == State::SynSent {
            let fd = d.host.socket(Family::V4, true).map_err(|e| e.to_string())?;
            let _ = d.host.connect(fd, d.me, d.now);
            d.fd = Some(fd);
            d.it = d.host.connections().first().ok_or("no connection")?.local;
            d.drain()?;
            return Ok(d);
        }
        let l = d.host.socket(Family::V4, true).map_err(|e| e.to_string())?;
        d.host.bind(l, d.it).map_err(|e| e.to_string())?;
        d.host.listen(l, 4).map_err(|e| e.to_string())?;
        d.listener = Some(l);
        if target == State::Listen {
            return Ok(d);
        }
        d.send(Flags::SYN)?;
        if target == State::SynReceived {
            return Ok(d);
        }
        d.send(Flags::ACK)?;
        let (fd, _) = d.host.accept(l).map_err(|e| e.to_string())?;
        d.fd = Some(fd);
        let shut = |d: &mut Driver| {
            let _ = d.host.shutdown(fd, Shutdown::Write, d.now);
            d.drain()
        };
        match target {
            State::FinWait1 => shut(&mut d)?,
            State::FinWait2 => {
                shut(&mut d)?;
                d.send(Flags::ACK)?;
            }
            State::CloseWait => d.send(Flags::FIN | Flags::ACK)?,
            State::Closing => {
                shut(&mut d)?;
                // The peer's FIN crosses ours: it acknowledges everything but our FIN.
                d.host_nxt = d.host_nxt - 1;
                d.send(Flags::FIN | Flags::ACK)?;
            }
            State::LastAck => {
                d.send(Flags::FIN | Flags::ACK)?;
                shut(&mut d)?;
            }
            State::TimeWait => {
                shut(&mut d)?;
                d.send(Flags::FIN | Flags::ACK)?;
            }
            _ => {}
        }
        match d.state() {
            s if s == target => Ok(d),
            s => Err(format!(
                "reached {} instead of {}",
                s.rfc_name(),
                target.rfc_name()
            )),
        }
    }

    /// The state of the connection under test (CLOSED when the host has none).
    pub fn state(&self) -> State {
        self.host
            .connections()
            .into_iter()
            .find(|c| c.remote == Some(self.me))
            .map_or(State::Closed, |c| c.state)
    }

    /// An in-sequence segment from the peer's own port; a SYN offers window scaling (shift 7)
    /// when the host's profile does, so that scaled windows are exercised from every state.
    fn send(&mut self, flags: Flags) -> Result<(), String> {
        let scaling = flags.has(Flags::SYN) && self.host.profile().window_scale.is_some();
        let step = Inject {
            flags,
            seq_off: 0,
            ack_off: 0,
            window: 65535,
            options: Options {
                wscale: scaling.then_some(7),
                ..Options::default()
            },
            len: 0,
            port: 0,
            bad_checksum: false,
        };
        self.inject(&step);
        self.nxt += u32::from(flags.has(Flags::SYN)) + u32::from(flags.has(Flags::FIN));
        self.drain()
    }

    fn inject(&mut self, s: &Inject) {
        let port = PEER_PORT + s.port % PORTS;
        let hdr = TcpHeader {
            src_port: port,
            dst_port: self.it.port(),
            seq: self.nxt + s.seq_off,
            ack: self.host_nxt + s.ack_off,
            flags: s.flags,
            window: s.window,
            urgent: 0,
            options: s.options,
        };
        let payload = vec![0xa5u8; usize::from(s.len)];
        let mut packet = codec::emit(self.me.ip(), self.it.ip(), &hdr, [&payload, &[]], 0);
        if s.bad_checksum
            && let Some(last) = packet.last_mut()
        {
            // Flipping one payload or header bit breaks the checksum (RFC 1071 sums every bit).
            *last ^= 0x01;
        }
        self.host.receive(self.now, &packet);
    }

    /// Takes everything the host sent: every packet must parse with valid checksums (MUST-2);
    /// tracks the host's SND.NXT on the connection under test.
    fn drain(&mut self) -> Result<(), String> {
        while let Some(packet) = self.host.pop_outbound() {
            let p =
                codec::parse(&packet).map_err(|e| format!("the host sent a bad packet: {e}"))?;
            let (h, f) = (&p.tcp, p.tcp.flags);
            if h.dst_port == self.me.port() && !f.has(Flags::RST) {
                let end = h.seq
                    + p.payload.len() as u32
                    + u32::from(f.has(Flags::SYN))
                    + u32::from(f.has(Flags::FIN));
                if f.has(Flags::SYN) || end > self.host_nxt {
                    self.host_nxt = end;
                }
            }
        }
        Ok(())
    }

    /// Runs one step and checks everything that must hold after it.
    pub fn apply(&mut self, step: &Step) -> Result<(), String> {
        let fd = self.fd;
        match step {
            Step::Segment(s) => {
                self.inject(s);
                if s.port % PORTS == 0 {
                    let len = u32::from(s.len)
                        + u32::from(s.flags.has(Flags::SYN))
                        + u32::from(s.flags.has(Flags::FIN));
                    if s.seq_off == 0 {
                        self.nxt += len;
                    }
                }
            }
            Step::Wait(ms) => return self.wait(Duration::from_millis(u64::from(*ms))),
            Step::Send(n) => {
                if let Some(fd) = fd {
                    let data = vec![0x5au8; *n as usize];
                    let _ = self.host.send(fd, &data, self.now);
                }
            }
            Step::Recv { len, peek } => {
                if let Some(fd) = fd
                    && let Ok(data) = self.host.recv(fd, *len as usize, *peek, self.now)
                    && data.len() > *len as usize
                {
                    return Err(format!("recv of {len} returned {} bytes", data.len()));
                }
            }
            Step::Shutdown(how) => {
                if let Some(fd) = fd {
                    let _ = self.host.shutdown(fd, *how, self.now);
                }
            }
            Step::Close => {
                if let Some(fd) = self.fd.take() {
                    self.host
                        .close(fd, self.now)
                        .map_err(|e| format!("close: {e}"))?;
                }
            }
            Step::Accept => {
                if let Some(l) = self.listener
                    && let Ok((new, _)) = self.host.accept(l)
                    && self.fd.is_none()
                {
                    self.fd = Some(new);
                }
            }
            Step::SetOpt(opt) => {
                if let Some(fd) = fd {
                    let _ = self.host.setsockopt(fd, *opt, self.now);
                }
            }
            Step::Restart => {
                self.host.restart(self.now);
                self.fd = None;
                self.listener = None;
            }
        }
        self.check()
    }

    /// Lets `d` pass, running every deadline on the way in order, as a caller must: each poll
    /// must move the next deadline past the time it ran at.
    fn wait(&mut self, d: Duration) -> Result<(), String> {
        let end = self.now + d;
        while let Some(t) = self.host.poll_at() {
            if t > end {
                break;
            }
            let t = t.max(self.now);
            self.now = t;
            self.host.poll(t);
            if let Some(next) = self.host.poll_at()
                && next <= t
            {
                return Err(format!("poll_at stays at {next:?} after polling at {t:?}"));
            }
            self.check()?;
        }
        self.now = end;
        self.check()
    }

    fn check(&mut self) -> Result<(), String> {
        self.drain()?;
        self.host.check_invariants()?;
        if let Some(t) = self.host.poll_at()
            && t < self.now
        {
            return Err(format!("poll_at {t:?} lies before now {:?}", self.now));
        }
        // One connection per peer port, the one the host opened itself, and the children a
        // listener re-created after a restart: the bound of a host under this input.
        let count = self.host.connection_count();
        if count > usize::from(PORTS) + 1 {
            return Err(format!("{count} connections for {PORTS} peer ports"));
        }
        let per_conn = 2 * MAX_STEP_BUF.max(self.host.profile().rcvbuf) + 64 * 1024;
        if self.host.heap_bytes() > (count + 1) * per_conn {
            return Err(format!(
                "{} heap bytes for {count} connections",
                self.host.heap_bytes()
            ));
        }
        Ok(())
    }
}

/// Reads input bytes one field at a time; reads past the end give zeros.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// A sequence offset: mostly small (either side of 0), sometimes anywhere in the space,
    /// sometimes exactly 2^31 away.
    fn offset(&mut self) -> u32 {
        match self.u8() % 8 {
            0..=3 => 0,
            4 | 5 => (i32::from(self.u16() as i16) % 3000) as u32,
            6 => self.u32(),
            _ => 1 << 31,
        }
    }

    fn options(&mut self) -> Options {
        let present = self.u8();
        Options {
            mss: (present & 1 != 0).then(|| self.u16()),
            wscale: (present & 2 != 0).then(|| self.u8() % 20),
            sack_permitted: present & 4 != 0,
            timestamps: (present & 8 != 0).then(|| (self.u32(), self.u32())),
            ..Options::default()
        }
    }

    fn step(&mut self) -> Step {
        match self.u8() % 16 {
            0..=6 => Step::Segment(Inject {
                flags: Flags(self.u8() & 0x3f),
                seq_off: self.offset(),
                ack_off: self.offset(),
                window: match self.u8() % 4 {
                    0 => 0,
                    1 => 65535,
                    _ => self.u16(),
                },
                options: self.options(),
                len: self.u16() % 3000,
                port: u16::from(self.u8()),
                bad_checksum: self.u8().is_multiple_of(16),
            }),
            7..=9 => Step::Wait(match self.u8() % 4 {
                0 => u32::from(self.u8()),
                1 | 2 => u32::from(self.u16()),
                _ => self.u32() % 4_000_000,
            }),
            10 => Step::Send(u32::from(self.u16()) * 4),
            11 => Step::Recv {
                len: u32::from(self.u16()),
                peek: self.u8().is_multiple_of(2),
            },
            12 => Step::Shutdown(
                [Shutdown::Read, Shutdown::Write, Shutdown::Both][usize::from(self.u8() % 3)],
            ),
            13 => match self.u8() % 4 {
                0 => Step::Close,
                1 => Step::Restart,
                _ => Step::Accept,
            },
            _ => Step::SetOpt(self.sockopt()),
        }
    }

    fn sockopt(&mut self) -> SockOpt {
        let secs = |b: &mut Bytes<'_>| Duration::from_secs(u64::from(b.u8() % 8));
        match self.u8() % 10 {
            0 => SockOpt::KeepAlive(self.u8().is_multiple_of(2)),
            1 => SockOpt::KeepIdle(secs(self)),
            2 => SockOpt::KeepIntvl(secs(self)),
            3 => SockOpt::KeepCnt(u32::from(self.u8() % 4)),
            4 => SockOpt::NoDelay(self.u8().is_multiple_of(2)),
            5 => SockOpt::UserTimeout(Duration::from_millis(u64::from(self.u16()) * 10)),
            6 => SockOpt::MaxSeg(self.u16()),
            7 => SockOpt::Linger(Some(u32::from(self.u8() % 2))),
            8 => SockOpt::SndBuf(usize::from(self.u16()) * 4 % MAX_STEP_BUF),
            _ => SockOpt::SynCnt(u32::from(self.u8() % 4)),
        }
    }
}

/// The start an input asks for: its first byte picks the state, the second the profile.
pub fn start(data: &[u8]) -> (State, Profile) {
    let mut b = Bytes(data);
    let state = start_states()[usize::from(b.u8()) % start_states().len()];
    let knobs = b.u8();
    let mut profile = if knobs & 1 == 0 {
        Profile::rfc9293()
    } else {
        Profile::rfc793()
    };
    profile.timestamps = knobs & 2 != 0;
    profile.window_scale = (knobs & 4 != 0).then_some(7);
    profile.sack_permitted = knobs & 8 != 0;
    profile.nagle = knobs & 16 == 0;
    (state, profile)
}

/// Runs the input `data`: its start (see [`start`]), then steps until the bytes run out. Returns
/// the first broken property, with the step that broke it.
pub fn run(data: &[u8]) -> Result<(), String> {
    let (state, profile) = start(data);
    let mut driver = Driver::reach(state, profile)?;
    let mut b = Bytes(data.get(2..).unwrap_or_default());
    let mut n = 0;
    while !b.0.is_empty() {
        let step = b.step();
        driver
            .apply(&step)
            .map_err(|e| format!("step {n} ({step:?}) from {}: {e}", state.rfc_name()))?;
        n += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_start_state_is_reachable_under_every_profile_knob() {
        for state in 0..start_states().len() as u8 {
            for knobs in 0..32u8 {
                let (want, profile) = start(&[state, knobs]);
                let d = Driver::reach(want, profile).unwrap();
                let got = d.state();
                assert_eq!(
                    got,
                    if want == State::Listen {
                        State::Closed
                    } else {
                        want
                    }
                );
            }
        }
    }

    #[test]
    fn empty_and_short_inputs_run() {
        assert_eq!(run(&[]), Ok(()));
        assert_eq!(run(&[3, 0, 7]), Ok(()));
    }
}
