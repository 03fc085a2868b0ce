//! Stacks under test: the one trait the engine drives, and the types that cross it.
//!
//! The engine knows nothing about a stack beyond [`Stack`]: it hands it raw IP packets, asks it to let
//! time pass (virtual stacks run their timers, real ones wait), collects what it sent, performs
//! syscalls on it and asks it for its connections' TCP states. Everything crosses this boundary as
//! plain data — raw packet bytes, [`Syscall`] requests, [`SyscallOutcome`]s — so an adapter needs no
//! part of the script language or of the packet model.
//!
//! Adapters report what they cannot do with [`StackError::Unsupported`]; the engine turns that into a
//! `skip` with the adapter's reason, never into a pass. A broken environment (no CAP_NET_ADMIN, no
//! `/dev/net/tun`) is [`StackError::Environment`], which the engine reports as `error`, never `fail`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use crate::state::TcpState;
pub use nix::errno::Errno;

pub mod exec;
pub mod linux;
#[cfg(feature = "lwip")]
pub mod lwip;
pub(crate) mod netns;
pub mod reference;
mod registry;
pub mod smoltcp;
mod syscall;
pub use registry::*;
pub use syscall::*;

/// A file descriptor as the stack under test numbers it (the engine maps script fds onto these).
pub type Fd = i32;

/// How a stack experiences time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeModel {
    /// The engine decides what time it is; waiting costs nothing and runs are deterministic.
    Virtual,
    /// Time passes on its own; the engine's [`crate::clock::RealClock`] is the reference.
    Real,
}

/// What a stack can do, so that a script needing more is skipped with a reason before it starts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Capabilities {
    pub time: TimeModel,
    pub ipv4: bool,
    pub ipv6: bool,
    /// IPv4 packets on an AF_INET6 socket (packetdrill's `--ip_version=ipv4-mapped-ipv6`).
    pub ipv4_mapped_ipv6: bool,
    /// Can run the script's backtick shell commands in the stack's environment (only the kernel).
    pub shell: bool,
    /// Answers [`Stack::connections`] for connections that have no fd any more (TIME-WAIT).
    pub fdless_states: bool,
    /// The `accept()` queue holds more than one pending connection.
    pub accept_backlog: bool,
    /// `shutdown(SHUT_RD)` has an effect of its own.
    pub shut_rd: bool,
    /// The behaviour profiles a run can select (`rfc9293`, `rfc793`), default first; empty for a
    /// stack with one fixed behaviour, which is judged against RFC 9293. Scripts of a profile the
    /// stack cannot select are skipped with the reason (`suite::applies`).
    #[serde(default)]
    pub profiles: Vec<String>,
}

/// Who a stack is, for reports: the matrix column header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StackInfo {
    /// Short name as given to `--stack` (`reference`, `linux`, `smoltcp`, …).
    pub name: String,
    /// Version of the implementation (kernel release, crate version, …).
    pub version: String,
    /// The behaviour profile the stack was run with (`rfc9293`, `rfc793`, sysctl notes, …).
    pub profile: String,
    pub capabilities: Capabilities,
}

/// The addresses of one run, as packetdrill's `--local_ip` / `--remote_ip` / … set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// The stack under test's own address.
    pub local_ip: IpAddr,
    /// The address tcpconf's injected packets come from.
    pub remote_ip: IpAddr,
    /// Where the route to `remote_ip` points (only meaningful for kernel stacks).
    pub gateway_ip: IpAddr,
    /// Prefix length of the local subnet.
    pub prefix_len: u8,
    /// MTU of the link between tcpconf and the stack.
    pub mtu: u16,
    /// Sockets are AF_INET6 carrying IPv4-mapped addresses while packets on the wire are IPv4.
    pub ipv4_mapped_ipv6: bool,
}

/// One packet the stack sent, stamped as close to its emission as the adapter can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// Time since the start of the run (on the engine's clock).
    pub at: Duration,
    /// The raw IP packet (IPv4 or IPv6 header first, no link-layer header).
    pub packet: Vec<u8>,
}

/// Something that happened while time passed in [`Stack::wait`].
#[derive(Debug, Clone, PartialEq)]
pub enum StackEvent {
    /// The stack sent a packet.
    Sent(Outbound),
    /// The syscall that had been reported [`SyscallProgress::Blocked`] returned.
    Returned {
        at: Duration,
        outcome: SyscallOutcome,
    },
}

/// Whether a syscall finished at once.
#[derive(Debug, Clone, PartialEq)]
pub enum SyscallProgress {
    Done(SyscallOutcome),
    /// The call blocks; its outcome arrives later as [`StackEvent::Returned`]. At most one call is
    /// blocked at a time, as in packetdrill.
    Blocked,
}

/// One TCP endpoint the stack knows about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Connection {
    pub local: SocketAddr,
    /// `None` for listeners.
    pub remote: Option<SocketAddr>,
    pub state: TcpState,
    /// The fd the application holds for it, if any (TIME-WAIT and orphans have none).
    pub fd: Option<Fd>,
}

/// The endpoint a state query asks about ([`Stack::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The socket the application holds as this fd.
    Fd(Fd),
    /// The connection between these addresses, with or without an fd (TIME-WAIT, orphans).
    Tuple {
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// A listener on this local port.
    Listener { local: SocketAddr },
}

impl Endpoint {
    /// Whether `conn` is this endpoint. Addresses compare in canonical form, so an IPv4-mapped
    /// IPv6 address equals its IPv4 address (`--ip_version=ipv4-mapped-ipv6`).
    pub fn matches(&self, conn: &Connection) -> bool {
        let same = |a: SocketAddr, b: SocketAddr| {
            a.ip().to_canonical() == b.ip().to_canonical() && a.port() == b.port()
        };
        match *self {
            Endpoint::Fd(fd) => conn.fd == Some(fd),
            Endpoint::Tuple { local, remote } => {
                same(conn.local, local) && conn.remote.is_some_and(|r| same(r, remote))
            }
            Endpoint::Listener { local } => {
                conn.remote.is_none() && conn.local.port() == local.port()
            }
        }
    }
}

/// Why a stack could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The stack cannot express this (no SHUT_RD in smoltcp, no shell in the reference stack, …):
    /// the script is skipped with this reason.
    #[error("not supported by this stack: {0}")]
    Unsupported(String),
    /// The environment is not fit to run the stack (privileges, missing devices): reported as `error`.
    #[error("environment problem: {0}")]
    Environment(String),
    /// The stack or its adapter broke in a way that is not a conformance verdict: reported as `error`.
    #[error("stack adapter failure: {0}")]
    Adapter(String),
    #[error("I/O error in the stack adapter: {0}")]
    Io(#[from] std::io::Error),
}

/// A TCP implementation under test.
///
/// The engine calls [`Stack::setup`] once, then interleaves the other calls in script order with
/// non-decreasing times. Times are durations since the start of the run on the engine's clock: a
/// virtual stack takes them as the current time; a real stack receives an epoch in `setup` and stamps
/// its packets on the same clock.
pub trait Stack {
    /// Name, version, profile and capabilities.
    fn info(&self) -> StackInfo;

    /// Prepares the stack for one run with these addresses. Real-time stacks take `clock` as the
    /// reference for packet timestamps.
    fn setup(&mut self, net: &NetConfig, clock: crate::clock::RealClock) -> Result<(), StackError>;

    /// Delivers one raw IP packet to the stack at time `now`.
    fn inject(&mut self, now: Duration, packet: &[u8]) -> Result<(), StackError>;

    /// Lets time pass until `until`, returning as soon as anything happens (the stack sent a packet,
    /// or a blocked syscall returned) with everything that happened at that moment; an empty vector
    /// means nothing happened before `until`. A virtual stack runs its timers in order up to `until`;
    /// a real one waits.
    fn wait(&mut self, until: Duration) -> Result<Vec<StackEvent>, StackError>;

    /// Performs a syscall at time `now`.
    fn syscall(&mut self, now: Duration, call: &Syscall) -> Result<SyscallProgress, StackError>;

    /// Every TCP endpoint the stack has, with its state — including those without an fd.
    fn connections(&mut self) -> Result<Vec<Connection>, StackError>;

    /// The state of one endpoint, `None` if the stack has no such endpoint.
    ///
    /// The engine asks this for `assert state` and while measuring, between two timed events, so
    /// on a real-time stack it must cost microseconds: adapters whose [`Stack::connections`] is a
    /// scan of something big (a kernel's socket tables) answer it with an exact lookup. The
    /// default searches [`Stack::connections`].
    fn state(&mut self, of: &Endpoint) -> Result<Option<TcpState>, StackError> {
        Ok(self
            .connections()?
            .iter()
            .find(|c| of.matches(c))
            .map(|c| c.state))
    }

    /// Runs a script's backtick command in the stack's environment. Only kernel stacks can.
    fn shell(&mut self, command: &str) -> Result<std::process::ExitStatus, StackError> {
        let _ = command;
        Err(StackError::Unsupported(
            "shell commands only run against kernel stacks".into(),
        ))
    }

    /// Ends the run: closes sockets and releases every resource (namespaces, devices, threads).
    fn teardown(&mut self) -> Result<(), StackError>;

    /// Restarts the stack at time `now` as a host does after a crash or reboot: every socket and
    /// connection, with the sequence numbers in use, is forgotten (the script's `restart`
    /// statement, RFC 9293 §3.4.3). What the stack does next — keep quiet for an MSL, or not —
    /// is what the script checks. Stacks that cannot lose their memory on demand say so.
    fn restart(&mut self, now: Duration) -> Result<(), StackError> {
        let _ = now;
        Err(StackError::Unsupported(
            "this stack cannot be restarted with loss of memory by a script".into(),
        ))
    }
}
