//! smoltcp (crates.io) as a stack under test, driven in process and in virtual time.
//!
//! smoltcp's interface runs on an in-memory [`phy::Device`](smoltcp::phy::Device) of raw IP
//! packets (`Medium::Ip`): tcpconf's packets go in, smoltcp's come out stamped with the virtual
//! time of the poll that produced them. Every smoltcp call takes an explicit `Instant`, so the
//! adapter jumps from one of smoltcp's deadlines (`poll_at`) to the next and a 10 s TIME-WAIT
//! costs microseconds. With a fixed `Config::random_seed`, ISNs — and so whole runs — repeat
//! byte for byte.
//!
//! The socket calls map onto smoltcp's socket API as `shared/reference/dependencies.md` §4
//! tabulates; `syscalls.rs` says call by call where Linux semantics can only be approximated,
//! and answers [`StackError::Unsupported`] where smoltcp has nothing to offer (SHUT_RD,
//! TCP_MAXSEG, …), so the engine skips rather than passes. Conformance gaps of smoltcp itself
//! (dependencies.md §4, "Conformance findings") are deliberately *not* compensated here: they
//! must show up as failing scripts.

mod device;
mod fds;
mod syscalls;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{
    HardwareAddress, IpCidr, IpEndpoint, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket,
};

use self::device::PacketPipe;
use self::fds::{FdKind, FdTable, Orphan};
use super::{
    Capabilities, Connection, Errno, NetConfig, Outbound, Stack, StackError, StackEvent, StackInfo,
    Syscall, SyscallProgress, TcpState, TimeModel,
};

/// The smoltcp release this adapter is built against (checked against `Cargo.lock` by a test).
pub const SMOLTCP_VERSION: &str = "0.14.0";

/// The seed of smoltcp's PRNG when none is given: ISNs and IP IDs derive from it.
pub const DEFAULT_SEED: u64 = 0x7463_7063_6f6e_6600; // "tcpconf\0"

/// Receive and send buffer size of a socket whose script did not set SO_RCVBUF / SO_SNDBUF.
/// 65535 bytes make smoltcp advertise the whole buffer as window without scaling (WS 0).
pub const DEFAULT_BUFFER: usize = 65_535;

/// How many polls one `wait` may take before the adapter calls smoltcp stuck.
const MAX_STEPS_PER_WAIT: u32 = 1_000_000;

/// How far virtual time moves when smoltcp asks to be polled "now" but a poll at this instant
/// just did nothing.
const STALL_STEP: Duration = Duration::from_millis(1);

/// The fixed choices a run of smoltcp is made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmoltcpConfig {
    /// `Config::random_seed` of the interface.
    pub random_seed: u64,
    /// Default receive buffer (= the largest window smoltcp advertises).
    pub rx_buffer: usize,
    /// Default send buffer.
    pub tx_buffer: usize,
}

impl Default for SmoltcpConfig {
    fn default() -> Self {
        Self {
            random_seed: DEFAULT_SEED,
            rx_buffer: DEFAULT_BUFFER,
            tx_buffer: DEFAULT_BUFFER,
        }
    }
}

/// smoltcp under test. See the module documentation.
pub struct SmoltcpStack {
    config: SmoltcpConfig,
    run: Option<Run>,
}

impl SmoltcpStack {
    /// smoltcp with the default [`SmoltcpConfig`].
    pub fn new() -> Self {
        Self::with_config(SmoltcpConfig::default())
    }

    pub fn with_config(config: SmoltcpConfig) -> Self {
        Self { config, run: None }
    }

    fn run(&mut self) -> Result<&mut Run, StackError> {
        self.run
            .as_mut()
            .ok_or_else(|| StackError::Adapter("smoltcp: used before setup()".into()))
    }
}

impl Default for SmoltcpStack {
    fn default() -> Self {
        Self::new()
    }
}

/// A syscall that blocked, retried after every poll until it can return.
#[derive(Debug, Clone)]
enum Pending {
    Accept {
        fd: super::Fd,
    },
    Connect {
        fd: super::Fd,
    },
    Read {
        fd: super::Fd,
        len: usize,
        peek: bool,
    },
    Write {
        fd: super::Fd,
        data: Vec<u8>,
        done: usize,
    },
}

/// Everything that exists between `setup` and `teardown`.
struct Run {
    iface: Interface,
    pipe: PacketPipe,
    sockets: SocketSet<'static>,
    config: SmoltcpConfig,
    local_ip: IpAddr,
    /// The virtual time smoltcp was last polled at.
    now: Duration,
    fds: FdTable,
    orphans: Vec<Orphan>,
    /// Events not yet handed to the engine, in time order.
    events: VecDeque<StackEvent>,
    pending: Option<Pending>,
    /// Connections (local, remote) an injected RST was addressed to since the last scan: tells a
    /// reset from a timeout when a socket turns up CLOSED, which smoltcp does not say.
    resets: Vec<(SocketAddr, SocketAddr)>,
    next_port: u16,
}

fn instant(t: Duration) -> Instant {
    Instant::from_micros(i64::try_from(t.as_micros()).unwrap_or(i64::MAX))
}

fn duration(t: Instant) -> Duration {
    Duration::from_micros(u64::try_from(t.total_micros()).unwrap_or(0))
}

fn socket_addr(ep: IpEndpoint) -> SocketAddr {
    SocketAddr::new(ep.addr.into(), ep.port)
}

fn tcp_state(state: tcp::State) -> TcpState {
    match state {
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

/// The connection (local, remote) an inbound packet addresses if it is a TCP RST.
fn reset_target(packet: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
    let (src, dst, proto, payload): (IpAddr, IpAddr, IpProtocol, &[u8]) = match packet.first()? >> 4
    {
        4 => {
            let ip = Ipv4Packet::new_checked(packet).ok()?;
            (
                ip.src_addr().into(),
                ip.dst_addr().into(),
                ip.next_header(),
                ip.payload(),
            )
        }
        6 => {
            let ip = Ipv6Packet::new_checked(packet).ok()?;
            (
                ip.src_addr().into(),
                ip.dst_addr().into(),
                ip.next_header(),
                ip.payload(),
            )
        }
        _ => return None,
    };
    if proto != IpProtocol::Tcp {
        return None;
    }
    let tcp = TcpPacket::new_checked(payload).ok()?;
    tcp.rst().then(|| {
        (
            SocketAddr::new(dst, tcp.dst_port()),
            SocketAddr::new(src, tcp.src_port()),
        )
    })
}

impl Stack for SmoltcpStack {
    fn info(&self) -> StackInfo {
        let c = &self.config;
        StackInfo {
            name: "smoltcp".into(),
            version: SMOLTCP_VERSION.into(),
            profile: format!(
                "smoltcp defaults: random_seed={:#x}, buffers rx {} B / tx {} B (SO_RCVBUF/\
                 SO_SNDBUF only before listen/connect, clamped like Linux but not doubled), no \
                 TCP timestamps (no tsval generator), Nagle on, ACK delay 10 ms, no congestion \
                 control, TIME-WAIT fixed 10 s, no retry limit without TCP_USER_TIMEOUT; \
                 listen(backlog) emulated by backlog+1 listening sockets; no SHUT_RD",
                c.random_seed, c.rx_buffer, c.tx_buffer
            ),
            capabilities: Capabilities {
                time: TimeModel::Virtual,
                ipv4: true,
                ipv6: true,
                ipv4_mapped_ipv6: false,
                shell: false,
                fdless_states: true,
                // backlog+1 listening sockets do hold several completed connections; a SYN beyond
                // them is answered with RST (smoltcp has no queue to drop it from), which scripts
                // about a full queue will show as a failure.
                accept_backlog: true,
                shut_rd: false,
                profiles: Vec::new(),
            },
        }
    }

    fn setup(
        &mut self,
        net: &NetConfig,
        _clock: crate::clock::RealClock,
    ) -> Result<(), StackError> {
        if net.ipv4_mapped_ipv6 {
            return Err(StackError::Unsupported(
                "smoltcp has no dual-stack sockets for IPv4-mapped IPv6 addresses".into(),
            ));
        }
        let mut pipe = PacketPipe::new(usize::from(net.mtu));
        let mut iface_config = Config::new(HardwareAddress::Ip);
        iface_config.random_seed = self.config.random_seed;
        let mut iface = Interface::new(iface_config, &mut pipe, Instant::ZERO);
        let mut pushed = Ok(());
        iface.update_ip_addrs(|addrs| {
            pushed = addrs.push(IpCidr::new(net.local_ip.into(), net.prefix_len));
        });
        pushed.map_err(|_| StackError::Adapter("smoltcp: interface address table full".into()))?;
        // The remote address usually lies off the local subnet: route it via the gateway, as
        // the kernel setup does, so smoltcp has somewhere to send.
        let routed = match net.gateway_ip {
            IpAddr::V4(gw) if net.local_ip.is_ipv4() => {
                iface.routes_mut().add_default_ipv4_route(gw).map(drop)
            }
            IpAddr::V6(gw) if net.local_ip.is_ipv6() => {
                iface.routes_mut().add_default_ipv6_route(gw).map(drop)
            }
            _ => Ok(()),
        };
        routed.map_err(|_| StackError::Adapter("smoltcp: route table full".into()))?;
        self.run = Some(Run {
            iface,
            pipe,
            sockets: SocketSet::new(Vec::new()),
            config: self.config.clone(),
            local_ip: net.local_ip,
            now: Duration::ZERO,
            fds: FdTable::default(),
            orphans: Vec::new(),
            events: VecDeque::new(),
            pending: None,
            resets: Vec::new(),
            next_port: syscalls::FIRST_EPHEMERAL_PORT,
        });
        Ok(())
    }

    fn inject(&mut self, now: Duration, packet: &[u8]) -> Result<(), StackError> {
        let run = self.run()?;
        run.advance_to(now)?;
        if let Some(target) = reset_target(packet) {
            run.resets.push(target);
        }
        run.pipe.push_inbound(packet.to_vec());
        run.poll();
        Ok(())
    }

    fn wait(&mut self, until: Duration) -> Result<Vec<StackEvent>, StackError> {
        self.run()?.wait(until)
    }

    fn syscall(&mut self, now: Duration, call: &Syscall) -> Result<SyscallProgress, StackError> {
        let run = self.run()?;
        run.advance_to(now)?;
        if run.pending.is_some() {
            return Err(StackError::Adapter(format!(
                "smoltcp: {call:?} issued while another syscall is blocked"
            )));
        }
        let progress = run.syscall(call)?;
        run.poll();
        Ok(progress)
    }

    fn connections(&mut self) -> Result<Vec<Connection>, StackError> {
        Ok(self.run()?.connections())
    }

    fn teardown(&mut self) -> Result<(), StackError> {
        // Dropping the interface and socket set releases everything; nothing lives outside.
        self.run = None;
        Ok(())
    }
}

impl Run {
    /// Polls smoltcp at the current time, then stamps what it sent, notices state changes and
    /// retries a blocked call.
    fn poll(&mut self) {
        let now = instant(self.now);
        self.iface.poll(now, &mut self.pipe, &mut self.sockets);
        let at = self.now;
        for packet in self.pipe.drain_outbound() {
            self.events
                .push_back(StackEvent::Sent(Outbound { at, packet }));
        }
        self.scan();
        if let Some(pending) = self.pending.take() {
            match self.retry(pending) {
                Ok(outcome) => self.events.push_back(StackEvent::Returned { at, outcome }),
                Err(pending) => self.pending = Some(pending),
            }
        }
    }

    /// The next instant worth polling at, if any: smoltcp's `poll_at`, except that a "poll now"
    /// which a poll at this very instant already answered with nothing is postponed by
    /// [`STALL_STEP`] (smoltcp's deadlines are soft), so virtual time cannot stall.
    fn next_poll(&mut self, idle_at_now: bool) -> Option<Duration> {
        let at = duration(self.iface.poll_at(instant(self.now), &self.sockets)?);
        Some(if at <= self.now && idle_at_now {
            self.now + STALL_STEP
        } else {
            at.max(self.now)
        })
    }

    /// Polls at every deadline up to `limit`, stopping early once an event is queued if `eager`.
    fn run_timers(&mut self, limit: Duration, eager: bool) -> Result<(), StackError> {
        let mut idle_at_now = false;
        let mut steps = 0u32;
        while !eager || self.events.is_empty() {
            let Some(at) = self.next_poll(idle_at_now).filter(|&at| at <= limit) else {
                break;
            };
            steps += 1;
            if steps > MAX_STEPS_PER_WAIT {
                return Err(StackError::Adapter(format!(
                    "smoltcp: still asking to be polled after {MAX_STEPS_PER_WAIT} polls (t={:?})",
                    self.now
                )));
            }
            let queued = self.events.len();
            self.now = at;
            self.poll();
            idle_at_now = self.events.len() == queued;
        }
        Ok(())
    }

    /// Runs smoltcp's timers up to `t` (their events stay queued for `wait`), then moves to `t`.
    fn advance_to(&mut self, t: Duration) -> Result<(), StackError> {
        self.run_timers(t, false)?;
        if t > self.now {
            self.now = t;
            self.poll();
        }
        Ok(())
    }

    fn wait(&mut self, until: Duration) -> Result<Vec<StackEvent>, StackError> {
        if self.events.is_empty() {
            self.run_timers(until, true)?;
        }
        if self.events.is_empty() && until > self.now {
            self.now = until;
            self.poll();
        }
        let Some(first) = self.events.front().map(event_time) else {
            return Ok(Vec::new());
        };
        let mut batch = Vec::new();
        while self.events.front().map(event_time) == Some(first) {
            batch.extend(self.events.pop_front());
        }
        Ok(batch)
    }

    /// Records how sockets changed since the last look: endpoints (smoltcp forgets them on
    /// RST), errors of connections that reached CLOSED, and orphans that are finished.
    fn scan(&mut self) {
        let resets = std::mem::take(&mut self.resets);
        for (_, entry) in self.fds.iter_mut() {
            let FdKind::Conn(conn) = &mut entry.kind else {
                continue;
            };
            let socket = self.sockets.get::<tcp::Socket>(conn.handle);
            let state = socket.state();
            if let (Some(l), Some(r)) = (socket.local_endpoint(), socket.remote_endpoint()) {
                conn.tuple = Some((socket_addr(l), socket_addr(r)));
            }
            if state == tcp::State::Closed && conn.last_state != tcp::State::Closed {
                let was_reset = conn.tuple.is_some_and(|t| resets.contains(&t));
                conn.pending_error = closing_error(conn.last_state, was_reset);
                conn.dead = conn.pending_error.is_some();
            }
            conn.last_state = state;
        }
        let sockets = &mut self.sockets;
        self.orphans.retain(|orphan| {
            // An aborted socket keeps its endpoints until its RST has gone out.
            let socket = sockets.get::<tcp::Socket>(orphan.handle);
            let closed = socket.state() == tcp::State::Closed && socket.local_endpoint().is_none();
            if closed {
                sockets.remove(orphan.handle);
            }
            !closed
        });
    }

    fn connections(&self) -> Vec<Connection> {
        let mut out = Vec::new();
        let mut push = |handle: SocketHandle, fd: Option<super::Fd>, fallback| {
            let socket = self.sockets.get::<tcp::Socket>(handle);
            let state = socket.state();
            if matches!(state, tcp::State::Closed | tcp::State::Listen) {
                return;
            }
            let tuple = match (socket.local_endpoint(), socket.remote_endpoint()) {
                (Some(l), Some(r)) => Some((socket_addr(l), socket_addr(r))),
                _ => fallback,
            };
            if let Some((local, remote)) = tuple {
                out.push(Connection {
                    local,
                    remote: Some(remote),
                    state: tcp_state(state),
                    fd,
                });
            }
        };
        for (fd, entry) in self.fds.iter() {
            match &entry.kind {
                FdKind::Fresh => {}
                FdKind::Conn(conn) => push(conn.handle, Some(fd), conn.tuple),
                FdKind::Listener { pool, .. } => {
                    // Connections not yet accepted have no fd, as in Linux.
                    for &handle in pool {
                        push(handle, None, None);
                    }
                }
            }
        }
        for orphan in &self.orphans {
            push(orphan.handle, None, orphan.tuple);
        }
        for (fd, entry) in self.fds.iter() {
            if let FdKind::Listener { endpoint, .. } = &entry.kind {
                out.push(Connection {
                    local: *endpoint,
                    remote: None,
                    state: TcpState::Listen,
                    fd: Some(fd),
                });
            }
        }
        out
    }
}

fn event_time(event: &StackEvent) -> Duration {
    match event {
        StackEvent::Sent(out) => out.at,
        StackEvent::Returned { at, .. } => *at,
    }
}

/// The error Linux's `tcp_reset()` (or a timeout) leaves in `sk_err` for a connection that went
/// from `last` to CLOSED, as far as smoltcp lets us tell why.
fn closing_error(last: tcp::State, was_reset: bool) -> Option<Errno> {
    use tcp::State::*;
    match (last, was_reset) {
        (SynSent, true) => Some(Errno::ECONNREFUSED),
        (CloseWait, true) => Some(Errno::EPIPE),
        (Closed | Listen | TimeWait, _) => None,
        (_, true) => Some(Errno::ECONNRESET),
        // The normal end of LAST-ACK: our FIN was acknowledged.
        (LastAck, false) => None,
        // smoltcp closes without a RST only when its user timeout (or keep-alive) gives up.
        (_, false) => Some(Errno::ETIMEDOUT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constant_matches_the_locked_crate() {
        let lock = include_str!("../../../Cargo.lock");
        let entry = format!("name = \"smoltcp\"\nversion = \"{SMOLTCP_VERSION}\"");
        assert!(
            lock.contains(&entry),
            "Cargo.lock has another smoltcp than {SMOLTCP_VERSION}"
        );
    }

    #[test]
    fn closing_errors_follow_linux_tcp_reset() {
        use tcp::State::*;
        assert_eq!(closing_error(SynSent, true), Some(Errno::ECONNREFUSED));
        assert_eq!(closing_error(SynSent, false), Some(Errno::ETIMEDOUT));
        assert_eq!(closing_error(Established, true), Some(Errno::ECONNRESET));
        assert_eq!(closing_error(CloseWait, true), Some(Errno::EPIPE));
        assert_eq!(closing_error(LastAck, false), None);
        assert_eq!(closing_error(TimeWait, false), None);
    }

    #[test]
    fn reset_target_reads_rst_segments_only() {
        // IPv4 192.0.2.1:8080 -> 192.168.0.1:80, TCP with RST|ACK; checksums are not checked here.
        let mut packet = vec![
            0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 168, 0, 1,
        ];
        packet.extend_from_slice(&[
            0x1f, 0x90, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x14, 0, 0, 0, 0, 0, 0,
        ]);
        let local: SocketAddr = "192.168.0.1:80".parse().unwrap();
        let remote: SocketAddr = "192.0.2.1:8080".parse().unwrap();
        assert_eq!(reset_target(&packet), Some((local, remote)));
        packet[33] = 0x10; // ACK only
        assert_eq!(reset_target(&packet), None);
        assert_eq!(reset_target(&packet[..30]), None);
        assert_eq!(reset_target(&[]), None);
    }
}
