//! Syscalls as the engine asks a stack to perform them: already evaluated (symbols resolved, `...`
//! replaced by defaults, script fds mapped to live ones), so an adapter only has to carry them out.

use std::net::SocketAddr;

use super::{Errno, Fd};

/// Address family of a new socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    Inet,
    Inet6,
}

/// Which direction(s) `shutdown()` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownHow {
    Read,
    Write,
    Both,
}

/// A socket option, with its value for `setsockopt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockOpt {
    /// SO_REUSEADDR
    ReuseAddr(bool),
    /// SO_REUSEPORT
    ReusePort(bool),
    /// SO_LINGER: `Some(secs)` is `{onoff=1, linger=secs}`, `None` is `{onoff=0}`.
    Linger(Option<u32>),
    /// SO_RCVBUF
    RcvBuf(i32),
    /// SO_SNDBUF
    SndBuf(i32),
    /// SO_KEEPALIVE
    KeepAlive(bool),
    /// TCP_NODELAY
    NoDelay(bool),
    /// TCP_MAXSEG
    MaxSeg(i32),
    /// TCP_USER_TIMEOUT, in milliseconds
    UserTimeout(u32),
    /// TCP_KEEPIDLE, seconds
    KeepIdle(i32),
    /// TCP_KEEPINTVL, seconds
    KeepIntvl(i32),
    /// TCP_KEEPCNT
    KeepCnt(i32),
    /// TCP_SYNCNT
    SynCnt(i32),
    /// Anything else, as Linux numbers and raw bytes; adapters that cannot pass it through answer
    /// [`super::StackError::Unsupported`].
    Raw {
        level: i32,
        name: i32,
        value: Vec<u8>,
    },
}

/// A socket option to read with `getsockopt`.
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
    /// SO_ERROR: the pending error, cleared by reading it.
    Error,
    /// SO_TYPE
    Type,
    KeepIdle,
    KeepIntvl,
    KeepCnt,
    SynCnt,
    /// Anything else, as Linux numbers, read into a buffer of `len` bytes.
    Raw {
        level: i32,
        name: i32,
        len: u32,
    },
}

/// `fcntl` commands scripts use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fcntl {
    /// F_GETFL: the result is the file status flags (O_RDWR | O_NONBLOCK …, Linux values).
    GetFl,
    /// F_SETFL with these flags (Linux values; only O_NONBLOCK matters to sockets).
    SetFl(i32),
}

/// `ioctl` requests scripts use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ioctl {
    /// SIOCINQ / FIONREAD: bytes ready to read.
    InQueue,
    /// SIOCOUTQ / TIOCOUTQ: bytes in the send queue not yet acknowledged.
    OutQueue,
}

/// One syscall, fully evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Syscall {
    /// `socket(domain, SOCK_STREAM, IPPROTO_TCP)`; `nonblocking` is SOCK_NONBLOCK in the type.
    Socket {
        domain: Domain,
        nonblocking: bool,
    },
    Bind {
        fd: Fd,
        addr: SocketAddr,
    },
    Listen {
        fd: Fd,
        backlog: i32,
    },
    /// `accept` / `accept4`; the outcome carries the peer address.
    Accept {
        fd: Fd,
    },
    Connect {
        fd: Fd,
        addr: SocketAddr,
    },
    /// `read` / `recv` / `recvfrom` / `readv` / `recvmsg` of at most `len` bytes. `peek` is MSG_PEEK.
    Read {
        fd: Fd,
        len: usize,
        peek: bool,
    },
    /// `write` / `send` / `sendto` / `writev` / `sendmsg` of these bytes (zeros unless the script
    /// gave a string).
    Write {
        fd: Fd,
        data: Vec<u8>,
    },
    Shutdown {
        fd: Fd,
        how: ShutdownHow,
    },
    Close {
        fd: Fd,
    },
    SetSockOpt {
        fd: Fd,
        opt: SockOpt,
    },
    GetSockOpt {
        fd: Fd,
        name: SockOptName,
    },
    Fcntl {
        fd: Fd,
        cmd: Fcntl,
    },
    Ioctl {
        fd: Fd,
        request: Ioctl,
    },
}

impl Syscall {
    /// The fd the call operates on (none for `socket`).
    pub fn fd(&self) -> Option<Fd> {
        match self {
            Syscall::Socket { .. } => None,
            Syscall::Bind { fd, .. }
            | Syscall::Listen { fd, .. }
            | Syscall::Accept { fd }
            | Syscall::Connect { fd, .. }
            | Syscall::Read { fd, .. }
            | Syscall::Write { fd, .. }
            | Syscall::Shutdown { fd, .. }
            | Syscall::Close { fd }
            | Syscall::SetSockOpt { fd, .. }
            | Syscall::GetSockOpt { fd, .. }
            | Syscall::Fcntl { fd, .. }
            | Syscall::Ioctl { fd, .. } => Some(*fd),
        }
    }
}

/// Values a syscall hands back besides its return value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SyscallOutput {
    #[default]
    None,
    /// `getsockopt` of an integer option (also SO_LINGER's `linger` field when on).
    Int(i64),
    /// `getsockopt(SO_LINGER)`.
    Linger { onoff: bool, secs: u32 },
    /// `accept`'s peer address.
    Peer(SocketAddr),
    /// `read`'s bytes.
    Data(Vec<u8>),
    /// `getsockopt` of a raw option.
    Bytes(Vec<u8>),
}

/// How a syscall ended: `ret` as the C call returns it (`-1` on error) and `errno` when it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallOutcome {
    pub ret: i64,
    pub errno: Option<Errno>,
    pub output: SyscallOutput,
}

impl SyscallOutcome {
    /// A successful return of `ret` with nothing else.
    pub fn ok(ret: i64) -> Self {
        Self {
            ret,
            errno: None,
            output: SyscallOutput::None,
        }
    }

    /// A successful return of `ret` with an output value.
    pub fn ok_with(ret: i64, output: SyscallOutput) -> Self {
        Self {
            ret,
            errno: None,
            output,
        }
    }

    /// A failure with `errno` (the call returned -1).
    pub fn err(errno: Errno) -> Self {
        Self {
            ret: -1,
            errno: Some(errno),
            output: SyscallOutput::None,
        }
    }
}
