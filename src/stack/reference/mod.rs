//! The `reference` stack: the bundled [`crate::tcp`] host, in process and in virtual time.
//!
//! The host never blocks and never reads a clock, so this adapter is where blocking sockets and the
//! passage of time are emulated: a call that would block on a blocking socket is parked and retried
//! after every event until its condition clears, and [`Stack::wait`] runs the host's timers one
//! deadline at a time, so every packet is stamped with the exact virtual time it was sent.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{
    Capabilities, Connection, Domain, Errno, Fcntl, Ioctl, NetConfig, ShutdownHow, SockOpt,
    SockOptName, Stack, StackError, StackEvent, StackInfo, Syscall, SyscallOutcome, SyscallOutput,
    SyscallProgress, TcpState, TimeModel,
};
use crate::clock::RealClock;
use crate::tcp::{self, Host, Profile};

mod via_tun;
pub use via_tun::ReferenceTunStack;

/// Linux's `O_RDWR`, reported by `F_GETFL` on every socket.
const O_RDWR: i64 = 0o2;
/// Linux's `O_NONBLOCK`.
const O_NONBLOCK: i32 = 0o4000;
/// Linux's `SOCK_STREAM`, for `getsockopt(SO_TYPE)`.
const SOCK_STREAM: i64 = 1;

/// A call that would have blocked, waiting for its condition to clear.
#[derive(Debug)]
enum Parked {
    Accept {
        fd: tcp::Fd,
    },
    Connect {
        fd: tcp::Fd,
        addr: SocketAddr,
    },
    Read {
        fd: tcp::Fd,
        len: usize,
        peek: bool,
    },
    /// A blocking write returns only when all of `data` is queued; `done` bytes already are.
    Write {
        fd: tcp::Fd,
        data: Vec<u8>,
        done: usize,
    },
}

/// The bundled reference TCP as a stack under test.
#[derive(Debug)]
pub struct ReferenceStack {
    profile: Profile,
    host: Option<Host>,
    now: Duration,
    parked: Option<Parked>,
    /// Sockets are AF_INET6 with IPv4-mapped addresses while the wire carries IPv4.
    mapped: bool,
}

/// The behaviour profiles the reference stack can run, default first (`tcp::Profile`).
pub const PROFILES: &[&str] = &["rfc9293", "rfc793"];

/// The profile called `name`, one of [`PROFILES`].
pub fn profile(name: &str) -> Option<Profile> {
    match name {
        "rfc9293" => Some(Profile::rfc9293()),
        "rfc793" => Some(Profile::rfc793()),
        _ => None,
    }
}

impl ReferenceStack {
    /// A reference stack that will run `profile`.
    pub fn new(profile: Profile) -> Self {
        Self {
            profile,
            host: None,
            now: Duration::ZERO,
            parked: None,
            mapped: false,
        }
    }

    /// When the host next needs time to pass (its earliest timer), if it has one.
    pub(crate) fn poll_at(&self) -> Option<Duration> {
        self.host.as_ref().and_then(Host::poll_at)
    }

    fn host(&mut self) -> Result<&mut Host, StackError> {
        self.host
            .as_mut()
            .ok_or_else(|| StackError::Adapter("the reference stack was used before setup".into()))
    }

    /// An address as the host sees it: IPv4-mapped IPv6 becomes IPv4 in mapped mode.
    fn to_host_addr(&self, addr: SocketAddr) -> SocketAddr {
        match addr {
            SocketAddr::V6(v6) if self.mapped => match v6.ip().to_ipv4_mapped() {
                Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
                None => addr,
            },
            _ => addr,
        }
    }

    /// An address as the application sees it: IPv4 becomes IPv4-mapped IPv6 in mapped mode.
    fn to_app_addr(&self, addr: SocketAddr) -> SocketAddr {
        match addr {
            SocketAddr::V4(v4) if self.mapped => {
                SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
            }
            _ => addr,
        }
    }

    /// Performs `call` once; `Ok(None)` means it would block.
    fn attempt(&mut self, call: &Syscall) -> Result<Option<SyscallOutcome>, StackError> {
        let now = self.now;
        let outcome = match call {
            Syscall::Socket {
                domain,
                nonblocking,
            } => {
                let family = match (domain, self.mapped) {
                    (Domain::Inet, _) | (Domain::Inet6, true) => tcp::Family::V4,
                    (Domain::Inet6, false) => tcp::Family::V6,
                };
                done(self.host()?.socket(family, *nonblocking), i64::from)
            }
            Syscall::Bind { fd, addr } => {
                let addr = self.to_host_addr(*addr);
                done(self.host()?.bind(*fd, addr), |()| 0)
            }
            Syscall::Listen { fd, backlog } => done(self.host()?.listen(*fd, *backlog), |()| 0),
            Syscall::Accept { fd } => match self.host()?.accept(*fd) {
                Ok((child, peer)) => SyscallOutcome::ok_with(
                    i64::from(child),
                    SyscallOutput::Peer(self.to_app_addr(peer)),
                ),
                Err(tcp::Error::WouldBlock) if self.blocks(*fd)? => {
                    return self.park(Parked::Accept { fd: *fd });
                }
                Err(e) => SyscallOutcome::err(errno(e)),
            },
            Syscall::Connect { fd, addr } => {
                let host_addr = self.to_host_addr(*addr);
                match self.host()?.connect(*fd, host_addr, now) {
                    Ok(()) => SyscallOutcome::ok(0),
                    Err(tcp::Error::InProgress | tcp::Error::Already) if self.blocks(*fd)? => {
                        return self.park(Parked::Connect {
                            fd: *fd,
                            addr: *addr,
                        });
                    }
                    Err(e) => SyscallOutcome::err(errno(e)),
                }
            }
            Syscall::Read { fd, len, peek } => match self.host()?.recv(*fd, *len, *peek, now) {
                Ok(data) => SyscallOutcome::ok_with(data.len() as i64, SyscallOutput::Data(data)),
                Err(tcp::Error::WouldBlock) if self.blocks(*fd)? => {
                    return self.park(Parked::Read {
                        fd: *fd,
                        len: *len,
                        peek: *peek,
                    });
                }
                Err(e) => SyscallOutcome::err(errno(e)),
            },
            Syscall::Write { fd, data } => return self.write(*fd, data, 0),
            Syscall::Shutdown { fd, how } => {
                let how = match how {
                    ShutdownHow::Read => tcp::Shutdown::Read,
                    ShutdownHow::Write => tcp::Shutdown::Write,
                    ShutdownHow::Both => tcp::Shutdown::Both,
                };
                done(self.host()?.shutdown(*fd, how, now), |()| 0)
            }
            Syscall::Close { fd } => done(self.host()?.close(*fd, now), |()| 0),
            Syscall::SetSockOpt { fd, opt } => match host_sockopt(opt) {
                Ok(opt) => done(self.host()?.setsockopt(*fd, opt, now), |()| 0),
                Err(instead) => instead?,
            },
            Syscall::GetSockOpt { fd, name } => self.getsockopt(*fd, *name)?,
            Syscall::Fcntl { fd, cmd } => match cmd {
                Fcntl::GetFl => done(self.host()?.is_nonblocking(*fd), |nb| {
                    O_RDWR | if nb { i64::from(O_NONBLOCK) } else { 0 }
                }),
                Fcntl::SetFl(flags) => done(
                    self.host()?.set_nonblocking(*fd, flags & O_NONBLOCK != 0),
                    |()| 0,
                ),
            },
            Syscall::Ioctl { fd, request } => {
                let host = self.host()?;
                let queued = match request {
                    Ioctl::InQueue => host.in_queue(*fd),
                    Ioctl::OutQueue => host.out_queue(*fd),
                };
                match queued {
                    Ok(n) => SyscallOutcome::ok_with(0, SyscallOutput::Int(n as i64)),
                    Err(e) => SyscallOutcome::err(errno(e)),
                }
            }
        };
        Ok(Some(outcome))
    }

    /// Queues as much of `data[done..]` as fits; a blocking socket parks the rest.
    fn write(
        &mut self,
        fd: tcp::Fd,
        data: &[u8],
        mut done: usize,
    ) -> Result<Option<SyscallOutcome>, StackError> {
        let now = self.now;
        let blocking = self.blocks(fd)?;
        while done < data.len() {
            match self.host()?.send(fd, &data[done..], now) {
                Ok(0) | Err(tcp::Error::WouldBlock) if blocking => {
                    return self.park(Parked::Write {
                        fd,
                        data: data.to_vec(),
                        done,
                    });
                }
                Ok(0) | Err(tcp::Error::WouldBlock) if done > 0 => break,
                Ok(n) if !blocking => {
                    done += n;
                    break;
                }
                Ok(n) => done += n,
                // A write that queued something reports that count; the error comes next time.
                Err(_) if done > 0 => break,
                Err(e) => return Ok(Some(SyscallOutcome::err(errno(e)))),
            }
        }
        Ok(Some(SyscallOutcome::ok(done as i64)))
    }

    fn getsockopt(&mut self, fd: tcp::Fd, name: SockOptName) -> Result<SyscallOutcome, StackError> {
        let host_name = match name {
            SockOptName::ReuseAddr => tcp::SockOptName::ReuseAddr,
            SockOptName::ReusePort => tcp::SockOptName::ReusePort,
            SockOptName::Linger => tcp::SockOptName::Linger,
            SockOptName::RcvBuf => tcp::SockOptName::RcvBuf,
            SockOptName::SndBuf => tcp::SockOptName::SndBuf,
            SockOptName::KeepAlive => tcp::SockOptName::KeepAlive,
            SockOptName::NoDelay => tcp::SockOptName::NoDelay,
            SockOptName::MaxSeg => tcp::SockOptName::MaxSeg,
            SockOptName::UserTimeout => tcp::SockOptName::UserTimeout,
            SockOptName::Error => tcp::SockOptName::Error,
            SockOptName::KeepIdle => tcp::SockOptName::KeepIdle,
            SockOptName::KeepIntvl => tcp::SockOptName::KeepIntvl,
            SockOptName::KeepCnt => tcp::SockOptName::KeepCnt,
            SockOptName::SynCnt => tcp::SockOptName::SynCnt,
            SockOptName::Type => {
                // Every socket of this host is a TCP stream; the fd must still exist.
                return Ok(match self.host()?.is_nonblocking(fd) {
                    Ok(_) => SyscallOutcome::ok_with(0, SyscallOutput::Int(SOCK_STREAM)),
                    Err(e) => SyscallOutcome::err(errno(e)),
                });
            }
            SockOptName::Raw { level, name, .. } => {
                return Err(StackError::Unsupported(format!(
                    "getsockopt level {level} option {name} is not implemented by the reference stack"
                )));
            }
        };
        Ok(match self.host()?.getsockopt(fd, host_name) {
            Ok(tcp::OptValue::Int(v)) => SyscallOutcome::ok_with(0, SyscallOutput::Int(v)),
            Ok(tcp::OptValue::Linger { onoff, secs }) => {
                SyscallOutcome::ok_with(0, SyscallOutput::Linger { onoff, secs })
            }
            Ok(tcp::OptValue::Error(pending)) => SyscallOutcome::ok_with(
                0,
                SyscallOutput::Int(pending.map_or(0, |e| i64::from(e.linux_errno()))),
            ),
            Err(e) => SyscallOutcome::err(errno(e)),
        })
    }

    /// Whether calls on `fd` block (the socket is not O_NONBLOCK).
    fn blocks(&mut self, fd: tcp::Fd) -> Result<bool, StackError> {
        // An unknown fd never blocks: the call itself reports EBADF.
        Ok(!self.host()?.is_nonblocking(fd).unwrap_or(true))
    }

    /// Parks a call that would block; it is retried after every event.
    fn park(&mut self, parked: Parked) -> Result<Option<SyscallOutcome>, StackError> {
        self.parked = Some(parked);
        Ok(None)
    }

    /// Retries the parked call; `Some` when it finished (a call that still blocks parks again).
    fn retry_parked(&mut self) -> Result<Option<SyscallOutcome>, StackError> {
        let Some(parked) = self.parked.take() else {
            return Ok(None);
        };
        match parked {
            Parked::Write { fd, data, done } => self.write(fd, &data, done),
            Parked::Accept { fd } => self.attempt(&Syscall::Accept { fd }),
            Parked::Read { fd, len, peek } => self.attempt(&Syscall::Read { fd, len, peek }),
            Parked::Connect { fd, addr } => {
                // Re-issuing connect before the handshake ends answers EALREADY, which is not
                // what a blocked connect sees: wait until the socket is writable or has failed.
                let ready = self
                    .host()?
                    .readiness(fd)
                    .map_or(true, |r| r.writable || r.error);
                if ready {
                    self.attempt(&Syscall::Connect { fd, addr })
                } else {
                    self.park(Parked::Connect { fd, addr })
                }
            }
        }
    }
}

impl Stack for ReferenceStack {
    fn info(&self) -> StackInfo {
        StackInfo {
            name: "reference".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            profile: self.profile.name.clone(),
            capabilities: Capabilities {
                time: TimeModel::Virtual,
                ipv4: true,
                ipv6: true,
                ipv4_mapped_ipv6: true,
                shell: false,
                fdless_states: true,
                accept_backlog: true,
                shut_rd: true,
                profiles: PROFILES.iter().map(|p| (*p).to_string()).collect(),
            },
        }
    }

    fn setup(&mut self, net: &NetConfig, _clock: RealClock) -> Result<(), StackError> {
        let mut profile = self.profile.clone();
        profile.mtu = net.mtu;
        self.mapped = net.ipv4_mapped_ipv6;
        self.host = Some(Host::new(profile, [net.local_ip]));
        self.now = Duration::ZERO;
        self.parked = None;
        Ok(())
    }

    fn inject(&mut self, now: Duration, packet: &[u8]) -> Result<(), StackError> {
        self.now = self.now.max(now);
        let now = self.now;
        self.host()?.receive(now, packet);
        Ok(())
    }

    fn wait(&mut self, until: Duration) -> Result<Vec<StackEvent>, StackError> {
        loop {
            let now = self.now;
            let mut events = Vec::new();
            if let Some(outcome) = self.retry_parked()? {
                events.push(StackEvent::Returned { at: now, outcome });
            }
            let host = self.host()?;
            while let Some(packet) = host.pop_outbound() {
                events.push(StackEvent::Sent(super::Outbound { at: now, packet }));
            }
            if !events.is_empty() {
                return Ok(events);
            }
            match host.poll_at() {
                Some(deadline) if deadline <= until => {
                    let at = deadline.max(now);
                    host.poll(at);
                    if host.poll_at().is_some_and(|d| d <= at) && host.outbound_len() == 0 {
                        return Err(StackError::Adapter(format!(
                            "reference stack timer at {at:?} did not advance"
                        )));
                    }
                    self.now = at;
                }
                _ => {
                    self.now = self.now.max(until);
                    return Ok(Vec::new());
                }
            }
        }
    }

    fn syscall(&mut self, now: Duration, call: &Syscall) -> Result<SyscallProgress, StackError> {
        self.now = self.now.max(now);
        if self.parked.is_some() {
            return Err(StackError::Adapter(
                "a syscall was issued while another one is blocked".into(),
            ));
        }
        Ok(match self.attempt(call)? {
            Some(outcome) => SyscallProgress::Done(outcome),
            None => SyscallProgress::Blocked,
        })
    }

    fn connections(&mut self) -> Result<Vec<Connection>, StackError> {
        let infos = self.host()?.connections();
        Ok(infos
            .into_iter()
            .map(|c| Connection {
                local: self.to_app_addr(c.local),
                remote: c.remote.map(|r| self.to_app_addr(r)),
                state: state(c.state),
                fd: c.fd,
            })
            .collect())
    }

    fn teardown(&mut self) -> Result<(), StackError> {
        self.host = None;
        self.parked = None;
        Ok(())
    }

    /// The host loses its memory and keeps quiet for an MSL ([`Host::restart`]); a parked call
    /// dies with the process that made it.
    fn restart(&mut self, now: Duration) -> Result<(), StackError> {
        self.now = self.now.max(now);
        let now = self.now;
        self.host()?.restart(now);
        self.parked = None;
        Ok(())
    }
}

/// The outcome of a host call that cannot block.
fn done<T>(result: tcp::Result<T>, ret: impl FnOnce(T) -> i64) -> SyscallOutcome {
    match result {
        Ok(v) => SyscallOutcome::ok(ret(v)),
        Err(e) => SyscallOutcome::err(errno(e)),
    }
}

/// The Linux errno of a host error.
fn errno(e: tcp::Error) -> Errno {
    Errno::from_raw(e.linux_errno())
}

/// A socket option in the host's terms, or the outcome to report instead.
fn host_sockopt(opt: &SockOpt) -> Result<tcp::SockOpt, Result<SyscallOutcome, StackError>> {
    let size = |n: i32| usize::try_from(n).map_err(|_| Ok(SyscallOutcome::err(Errno::EINVAL)));
    let secs = |n: i32| {
        u64::try_from(n)
            .map(Duration::from_secs)
            .map_err(|_| Ok(SyscallOutcome::err(Errno::EINVAL)))
    };
    let count = |n: i32| u32::try_from(n).map_err(|_| Ok(SyscallOutcome::err(Errno::EINVAL)));
    Ok(match *opt {
        SockOpt::ReuseAddr(on) => tcp::SockOpt::ReuseAddr(on),
        SockOpt::ReusePort(on) => tcp::SockOpt::ReusePort(on),
        SockOpt::Linger(l) => tcp::SockOpt::Linger(l),
        SockOpt::RcvBuf(n) => tcp::SockOpt::RcvBuf(size(n)?),
        SockOpt::SndBuf(n) => tcp::SockOpt::SndBuf(size(n)?),
        SockOpt::KeepAlive(on) => tcp::SockOpt::KeepAlive(on),
        SockOpt::NoDelay(on) => tcp::SockOpt::NoDelay(on),
        SockOpt::MaxSeg(n) => tcp::SockOpt::MaxSeg(
            u16::try_from(n).map_err(|_| Ok(SyscallOutcome::err(Errno::EINVAL)))?,
        ),
        SockOpt::UserTimeout(ms) => tcp::SockOpt::UserTimeout(Duration::from_millis(u64::from(ms))),
        SockOpt::KeepIdle(n) => tcp::SockOpt::KeepIdle(secs(n)?),
        SockOpt::KeepIntvl(n) => tcp::SockOpt::KeepIntvl(secs(n)?),
        SockOpt::KeepCnt(n) => tcp::SockOpt::KeepCnt(count(n)?),
        SockOpt::SynCnt(n) => tcp::SockOpt::SynCnt(count(n)?),
        SockOpt::Raw { level, name, .. } => {
            return Err(Err(StackError::Unsupported(format!(
                "setsockopt level {level} option {name} is not implemented by the reference stack"
            ))));
        }
    })
}

/// The stack-neutral name of a host state.
fn state(s: tcp::State) -> TcpState {
    match s {
        tcp::State::Closed => TcpState::Closed,
        tcp::State::Listen => TcpState::Listen,
        tcp::State::SynSent => TcpState::SynSent,
        tcp::State::SynReceived => TcpState::SynReceived,
        tcp::State::Established => TcpState::Established,
        tcp::State::FinWait1 => TcpState::FinWait1,
        tcp::State::FinWait2 => TcpState::FinWait2,
        tcp::State::CloseWait => TcpState::CloseWait,
        tcp::State::Closing => TcpState::Closing,
        tcp::State::LastAck => TcpState::LastAck,
        tcp::State::TimeWait => TcpState::TimeWait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::codec::{self, Flags, TcpHeader};
    use crate::tcp::seq::Seq;
    use std::net::Ipv4Addr;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1));
    const REMOTE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn net() -> NetConfig {
        NetConfig {
            local_ip: LOCAL,
            remote_ip: REMOTE,
            gateway_ip: LOCAL,
            prefix_len: 16,
            mtu: 1500,
            ipv4_mapped_ipv6: false,
        }
    }

    fn segment(flags: Flags, seq: u32, ack: u32) -> Vec<u8> {
        let hdr = TcpHeader {
            src_port: 40000,
            dst_port: 8080,
            seq: Seq(seq),
            ack: Seq(ack),
            flags,
            window: 65535,
            ..TcpHeader::default()
        };
        codec::emit(REMOTE, LOCAL, &hdr, [&[], &[]], 0)
    }

    fn done(p: SyscallProgress) -> SyscallOutcome {
        match p {
            SyscallProgress::Done(o) => o,
            SyscallProgress::Blocked => panic!("call blocked"),
        }
    }

    fn listening_stack() -> ReferenceStack {
        let mut stack = ReferenceStack::new(Profile::rfc9293());
        stack.setup(&net(), RealClock::start()).unwrap();
        let t0 = Duration::ZERO;
        let sock = Syscall::Socket {
            domain: Domain::Inet,
            nonblocking: false,
        };
        assert_eq!(done(stack.syscall(t0, &sock).unwrap()).ret, 3);
        let bind = Syscall::Bind {
            fd: 3,
            addr: SocketAddr::new(LOCAL, 8080),
        };
        assert_eq!(done(stack.syscall(t0, &bind).unwrap()).ret, 0);
        let listen = Syscall::Listen { fd: 3, backlog: 1 };
        assert_eq!(done(stack.syscall(t0, &listen).unwrap()).ret, 0);
        stack
    }

    /// A blocking accept parks, and returns in virtual time the moment the handshake completes.
    #[test]
    fn blocking_accept_returns_when_the_handshake_completes() {
        let mut stack = listening_stack();
        let t = Duration::from_millis(100);
        let accept = Syscall::Accept { fd: 3 };
        assert_eq!(stack.syscall(t, &accept).unwrap(), SyscallProgress::Blocked);

        stack.inject(t, &segment(Flags::SYN, 1000, 0)).unwrap();
        let events = stack.wait(Duration::from_secs(1)).unwrap();
        let [StackEvent::Sent(synack)] = events.as_slice() else {
            panic!("expected one SYN-ACK, got {events:?}");
        };
        assert_eq!(synack.at, t, "the SYN-ACK leaves at once");
        let synack = codec::parse(&synack.packet).unwrap();
        assert!(synack.tcp.flags.has(Flags::SYN | Flags::ACK));
        assert_eq!(synack.tcp.ack, Seq(1001));

        let t2 = Duration::from_millis(150);
        assert!(stack.wait(t2).unwrap().is_empty());
        let ack = segment(Flags::ACK, 1001, synack.tcp.seq.0.wrapping_add(1));
        stack.inject(t2, &ack).unwrap();
        let events = stack.wait(Duration::from_secs(1)).unwrap();
        let [StackEvent::Returned { at, outcome }] = events.as_slice() else {
            panic!("expected accept to return, got {events:?}");
        };
        assert_eq!(*at, t2);
        assert_eq!(outcome.ret, 4);
        assert_eq!(
            outcome.output,
            SyscallOutput::Peer(SocketAddr::new(REMOTE, 40000))
        );
        let conns = stack.connections().unwrap();
        assert!(
            conns
                .iter()
                .any(|c| c.fd == Some(4) && c.state == TcpState::Established)
        );
    }

    /// Unanswered SYN-ACKs are retransmitted at virtual RTO deadlines, without waiting for real.
    #[test]
    fn wait_jumps_to_timer_deadlines() {
        let mut stack = listening_stack();
        stack
            .inject(Duration::ZERO, &segment(Flags::SYN, 1000, 0))
            .unwrap();
        let first = stack.wait(Duration::from_secs(10)).unwrap();
        assert!(matches!(first.as_slice(), [StackEvent::Sent(o)] if o.at == Duration::ZERO));
        let started = std::time::Instant::now();
        let retransmit = stack.wait(Duration::from_secs(10)).unwrap();
        let [StackEvent::Sent(o)] = retransmit.as_slice() else {
            panic!("expected a retransmitted SYN-ACK, got {retransmit:?}");
        };
        assert_eq!(o.at, Profile::rfc9293().initial_rto);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    /// A non-blocking socket answers EAGAIN instead of parking.
    #[test]
    fn nonblocking_accept_is_eagain() {
        let mut stack = listening_stack();
        let setfl = Syscall::Fcntl {
            fd: 3,
            cmd: Fcntl::SetFl(O_NONBLOCK),
        };
        assert_eq!(done(stack.syscall(Duration::ZERO, &setfl).unwrap()).ret, 0);
        let getfl = Syscall::Fcntl {
            fd: 3,
            cmd: Fcntl::GetFl,
        };
        let flags = done(stack.syscall(Duration::ZERO, &getfl).unwrap()).ret;
        assert_eq!(flags, O_RDWR | i64::from(O_NONBLOCK));
        let accept = Syscall::Accept { fd: 3 };
        let outcome = done(stack.syscall(Duration::ZERO, &accept).unwrap());
        assert_eq!(outcome.errno, Some(Errno::EAGAIN));
    }
}
