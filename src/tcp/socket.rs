//! Types of the socket-style API: address families, socket options and readiness, mirroring the
//! Linux syscalls scripts make.

use std::net::SocketAddr;
use std::time::Duration;

use super::conn::State;
use super::error::Error;

/// A file descriptor as this host numbers its sockets (lowest free number from 3, like Linux).
pub type Fd = i32;

/// Address family of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// AF_INET
    V4,
    /// AF_INET6
    V6,
}

/// Which direction(s) `shutdown` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// SHUT_RD
    Read,
    /// SHUT_WR
    Write,
    /// SHUT_RDWR
    Both,
}

/// A socket option with its value, for `setsockopt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockOpt {
    /// SO_REUSEADDR
    ReuseAddr(bool),
    /// SO_REUSEPORT
    ReusePort(bool),
    /// SO_LINGER: `Some(secs)` is `{1, secs}`; `Some(0)` makes close abort with RST.
    Linger(Option<u32>),
    /// SO_RCVBUF (bytes requested; Linux reports back twice this, and so does this host).
    RcvBuf(usize),
    /// SO_SNDBUF
    SndBuf(usize),
    /// SO_KEEPALIVE (MUST-24)
    KeepAlive(bool),
    /// TCP_NODELAY (MUST-17)
    NoDelay(bool),
    /// TCP_MAXSEG
    MaxSeg(u16),
    /// TCP_USER_TIMEOUT (MUST-21); zero means "use the default".
    UserTimeout(Duration),
    /// TCP_KEEPIDLE
    KeepIdle(Duration),
    /// TCP_KEEPINTVL
    KeepIntvl(Duration),
    /// TCP_KEEPCNT
    KeepCnt(u32),
    /// TCP_SYNCNT
    SynCnt(u32),
}

/// An option to read with `getsockopt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockOptName {
    ReuseAddr,
    ReusePort,
    Linger,
    RcvBuf,
    SndBuf,
    KeepAlive,
    NoDelay,
    MaxSeg,
    UserTimeout,
    KeepIdle,
    KeepIntvl,
    KeepCnt,
    SynCnt,
    /// SO_ERROR: the pending error, cleared by reading it.
    Error,
}

/// A value `getsockopt` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptValue {
    /// An integer option (booleans are 0/1, times in the option's unit: ms for
    /// TCP_USER_TIMEOUT, seconds for the keep-alive times).
    Int(i64),
    /// SO_LINGER.
    Linger { onoff: bool, secs: u32 },
    /// SO_ERROR: the pending error, if any (getsockopt returns its errno, or 0).
    Error(Option<Error>),
}

/// What `poll` would report for a socket; a blocking call whose condition is set would not block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    /// POLLIN: data, end of file, an error, or (listener) a connection to accept.
    pub readable: bool,
    /// POLLOUT: room in the send buffer of a connected socket (a pending connect finished).
    pub writable: bool,
    /// POLLERR: an error is pending.
    pub error: bool,
    /// POLLHUP: both directions are finished.
    pub hangup: bool,
}

/// One TCP endpoint the host knows about, for state queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub local: SocketAddr,
    /// `None` for listeners.
    pub remote: Option<SocketAddr>,
    pub state: State,
    /// The fd the application holds, if any (TIME-WAIT and other orphans have none).
    pub fd: Option<Fd>,
}
