//! The messages of the `exec:` protocol, version [`PROTOCOL_VERSION`], as serde types, and their
//! conversions to and from the [`Stack`](crate::stack::Stack) types. `docs/external-stack.md`
//! is the reference for program authors; this file is its implementation.
//!
//! Every message is one JSON object on one line. Binary data (packets, written and read bytes)
//! travels as lowercase hex; a program may send packets as base64 instead (`packet_b64`).

use std::net::{IpAddr, SocketAddr};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::stack::{
    Capabilities, Connection, Domain, Errno, Fcntl, Ioctl, NetConfig, ShutdownHow, SockOpt,
    SockOptName, StackError, Syscall, SyscallOutcome, SyscallOutput,
};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// A protocol message that could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("malformed JSON message: {0}")]
    Json(#[from] serde_json::Error),
    #[error("bad hex data: {0}")]
    Hex(String),
    #[error("bad base64 data: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("unknown errno name {0:?}")]
    Errno(String),
    #[error("{0}")]
    Invalid(String),
}

/// A request from tcpconf to the program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Hello {
        protocol: u32,
    },
    Setup {
        local_ip: IpAddr,
        remote_ip: IpAddr,
        gateway_ip: IpAddr,
        prefix_len: u8,
        mtu: u16,
        ipv4_mapped_ipv6: bool,
        /// CLOCK_MONOTONIC, in nanoseconds, at time zero of the run: real-time programs stamp
        /// their events relative to it.
        epoch_monotonic_ns: u64,
    },
    Inject {
        at_us: u64,
        /// The raw IP packet, hex.
        packet: String,
    },
    Wait {
        until_us: u64,
    },
    Syscall {
        at_us: u64,
        call: CallJson,
    },
    Connections,
    Teardown,
}

/// The answer to a request: `{"ok": true, ...}` or `{"ok": false, "error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorJson>,
    /// hello: the protocol version the program speaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    /// wait: what happened, in time order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventJson>>,
    /// syscall: whether the call blocked (its outcome then comes as a `returned` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<bool>,
    /// syscall: the outcome when it did not block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OutcomeJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<Connection>>,
}

impl Response {
    /// `{"ok": true}` with nothing else.
    pub fn ok() -> Self {
        Self {
            ok: true,
            error: None,
            protocol: None,
            name: None,
            version: None,
            profile: None,
            capabilities: None,
            events: None,
            blocked: None,
            outcome: None,
            connections: None,
        }
    }

    /// `{"ok": false, "error": ...}` for a stack error.
    pub fn error(err: &StackError) -> Self {
        let (kind, message) = match err {
            StackError::Unsupported(m) => (ErrorKind::Unsupported, m.clone()),
            StackError::Environment(m) => (ErrorKind::Environment, m.clone()),
            StackError::Adapter(m) => (ErrorKind::Adapter, m.clone()),
            StackError::Io(e) => (ErrorKind::Adapter, e.to_string()),
        };
        Self {
            ok: false,
            error: Some(ErrorJson { kind, message }),
            ..Self::ok()
        }
    }
}

/// Which [`StackError`] a failed request maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Unsupported,
    Environment,
    Adapter,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorJson {
    pub kind: ErrorKind,
    pub message: String,
}

impl ErrorJson {
    /// The stack error it stands for, naming the program that reported it.
    pub fn into_stack_error(self, program: &str) -> StackError {
        let message = format!("{program}: {}", self.message);
        match self.kind {
            ErrorKind::Unsupported => StackError::Unsupported(message),
            ErrorKind::Environment => StackError::Environment(message),
            ErrorKind::Adapter => StackError::Adapter(message),
        }
    }
}

/// Something that happened during a `wait`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventJson {
    /// The stack sent a packet: `packet` (hex) or `packet_b64`.
    Sent {
        at_us: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        packet: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        packet_b64: Option<String>,
    },
    /// The blocked syscall returned.
    Returned { at_us: u64, outcome: OutcomeJson },
}

impl EventJson {
    /// The packet of a `sent` event, from whichever encoding the program chose.
    pub fn packet_bytes(
        packet: Option<&str>,
        packet_b64: Option<&str>,
    ) -> Result<Vec<u8>, ProtocolError> {
        match (packet, packet_b64) {
            (Some(hex), None) => from_hex(hex),
            (None, Some(b64)) => Ok(base64::engine::general_purpose::STANDARD.decode(b64)?),
            _ => Err(ProtocolError::Invalid(
                "a sent event needs exactly one of \"packet\" (hex) and \"packet_b64\"".into(),
            )),
        }
    }
}

/// A syscall as JSON: `{"name": "write", "fd": 4, "data": "68690a"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum CallJson {
    Socket {
        domain: DomainJson,
        nonblocking: bool,
    },
    Bind {
        fd: i32,
        addr: SocketAddr,
    },
    Listen {
        fd: i32,
        backlog: i32,
    },
    Accept {
        fd: i32,
    },
    Connect {
        fd: i32,
        addr: SocketAddr,
    },
    Read {
        fd: i32,
        len: usize,
        peek: bool,
    },
    Write {
        fd: i32,
        data: String,
    },
    Shutdown {
        fd: i32,
        how: HowJson,
    },
    Close {
        fd: i32,
    },
    Setsockopt {
        fd: i32,
        opt: OptJson,
    },
    Getsockopt {
        fd: i32,
        opt: OptNameJson,
    },
    Fcntl {
        fd: i32,
        cmd: FcntlJson,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        flags: Option<i32>,
    },
    Ioctl {
        fd: i32,
        request: IoctlJson,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DomainJson {
    #[serde(rename = "AF_INET")]
    Inet,
    #[serde(rename = "AF_INET6")]
    Inet6,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HowJson {
    #[serde(rename = "SHUT_RD")]
    Rd,
    #[serde(rename = "SHUT_WR")]
    Wr,
    #[serde(rename = "SHUT_RDWR")]
    RdWr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FcntlJson {
    #[serde(rename = "F_GETFL")]
    GetFl,
    #[serde(rename = "F_SETFL")]
    SetFl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IoctlJson {
    #[serde(rename = "SIOCINQ")]
    InQueue,
    #[serde(rename = "SIOCOUTQ")]
    OutQueue,
}

/// A socket option to set, named as in C; flags are 0/1 integers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "opt")]
pub enum OptJson {
    #[serde(rename = "SO_REUSEADDR")]
    ReuseAddr { value: i32 },
    #[serde(rename = "SO_REUSEPORT")]
    ReusePort { value: i32 },
    #[serde(rename = "SO_LINGER")]
    Linger { onoff: bool, linger: u32 },
    #[serde(rename = "SO_RCVBUF")]
    RcvBuf { value: i32 },
    #[serde(rename = "SO_SNDBUF")]
    SndBuf { value: i32 },
    #[serde(rename = "SO_KEEPALIVE")]
    KeepAlive { value: i32 },
    #[serde(rename = "TCP_NODELAY")]
    NoDelay { value: i32 },
    #[serde(rename = "TCP_MAXSEG")]
    MaxSeg { value: i32 },
    #[serde(rename = "TCP_USER_TIMEOUT")]
    UserTimeout { value: u32 },
    #[serde(rename = "TCP_KEEPIDLE")]
    KeepIdle { value: i32 },
    #[serde(rename = "TCP_KEEPINTVL")]
    KeepIntvl { value: i32 },
    #[serde(rename = "TCP_KEEPCNT")]
    KeepCnt { value: i32 },
    #[serde(rename = "TCP_SYNCNT")]
    SynCnt { value: i32 },
    /// Any other option, with Linux's level and name numbers and the value's bytes in hex.
    #[serde(rename = "raw")]
    Raw {
        level: i32,
        optname: i32,
        value: String,
    },
}

/// A socket option to read, named as in C.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "opt")]
pub enum OptNameJson {
    #[serde(rename = "SO_REUSEADDR")]
    ReuseAddr,
    #[serde(rename = "SO_REUSEPORT")]
    ReusePort,
    #[serde(rename = "SO_LINGER")]
    Linger,
    #[serde(rename = "SO_RCVBUF")]
    RcvBuf,
    #[serde(rename = "SO_SNDBUF")]
    SndBuf,
    #[serde(rename = "SO_KEEPALIVE")]
    KeepAlive,
    #[serde(rename = "TCP_NODELAY")]
    NoDelay,
    #[serde(rename = "TCP_MAXSEG")]
    MaxSeg,
    #[serde(rename = "TCP_USER_TIMEOUT")]
    UserTimeout,
    #[serde(rename = "SO_ERROR")]
    Error,
    #[serde(rename = "SO_TYPE")]
    Type,
    #[serde(rename = "TCP_KEEPIDLE")]
    KeepIdle,
    #[serde(rename = "TCP_KEEPINTVL")]
    KeepIntvl,
    #[serde(rename = "TCP_KEEPCNT")]
    KeepCnt,
    #[serde(rename = "TCP_SYNCNT")]
    SynCnt,
    #[serde(rename = "raw")]
    Raw { level: i32, optname: i32, len: u32 },
}

/// How a syscall ended: `{"ret": -1, "errno": "EAGAIN", "output": null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeJson {
    pub ret: i64,
    #[serde(default)]
    pub errno: Option<String>,
    #[serde(default)]
    pub output: Option<OutputJson>,
}

/// Values a syscall hands back besides its return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputJson {
    Int(i64),
    Linger {
        onoff: bool,
        secs: u32,
    },
    Peer(SocketAddr),
    /// read's bytes, hex.
    Data(String),
    /// getsockopt of a raw option, hex.
    Bytes(String),
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex (either case, no separators).
pub fn from_hex(text: &str) -> Result<Vec<u8>, ProtocolError> {
    if !text.len().is_multiple_of(2) {
        return Err(ProtocolError::Hex(format!("odd length {}", text.len())));
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| {
                    ProtocolError::Hex(format!(
                        "not a hex byte: {:?}",
                        String::from_utf8_lossy(pair)
                    ))
                })
        })
        .collect()
}

/// The symbolic name of an errno (`EAGAIN`), as the protocol carries it.
pub fn errno_name(errno: Errno) -> String {
    format!("{errno:?}")
}

/// The errno called `name`, from Linux's numbers 1..=133 (EWOULDBLOCK, an alias, parses too).
pub fn errno_from_name(name: &str) -> Result<Errno, ProtocolError> {
    let name = if name == "EWOULDBLOCK" {
        "EAGAIN"
    } else {
        name
    };
    (1..=133)
        .map(Errno::from_raw)
        .find(|e| *e != Errno::UnknownErrno && format!("{e:?}") == name)
        .ok_or_else(|| ProtocolError::Errno(name.to_string()))
}

impl From<&Syscall> for CallJson {
    fn from(call: &Syscall) -> Self {
        match call.clone() {
            Syscall::Socket {
                domain,
                nonblocking,
            } => CallJson::Socket {
                domain: match domain {
                    Domain::Inet => DomainJson::Inet,
                    Domain::Inet6 => DomainJson::Inet6,
                },
                nonblocking,
            },
            Syscall::Bind { fd, addr } => CallJson::Bind { fd, addr },
            Syscall::Listen { fd, backlog } => CallJson::Listen { fd, backlog },
            Syscall::Accept { fd } => CallJson::Accept { fd },
            Syscall::Connect { fd, addr } => CallJson::Connect { fd, addr },
            Syscall::Read { fd, len, peek } => CallJson::Read { fd, len, peek },
            Syscall::Write { fd, data } => CallJson::Write {
                fd,
                data: to_hex(&data),
            },
            Syscall::Shutdown { fd, how } => CallJson::Shutdown {
                fd,
                how: match how {
                    ShutdownHow::Read => HowJson::Rd,
                    ShutdownHow::Write => HowJson::Wr,
                    ShutdownHow::Both => HowJson::RdWr,
                },
            },
            Syscall::Close { fd } => CallJson::Close { fd },
            Syscall::SetSockOpt { fd, opt } => CallJson::Setsockopt {
                fd,
                opt: opt.into(),
            },
            Syscall::GetSockOpt { fd, name } => CallJson::Getsockopt {
                fd,
                opt: name.into(),
            },
            Syscall::Fcntl { fd, cmd } => match cmd {
                Fcntl::GetFl => CallJson::Fcntl {
                    fd,
                    cmd: FcntlJson::GetFl,
                    flags: None,
                },
                Fcntl::SetFl(flags) => CallJson::Fcntl {
                    fd,
                    cmd: FcntlJson::SetFl,
                    flags: Some(flags),
                },
            },
            Syscall::Ioctl { fd, request } => CallJson::Ioctl {
                fd,
                request: match request {
                    Ioctl::InQueue => IoctlJson::InQueue,
                    Ioctl::OutQueue => IoctlJson::OutQueue,
                },
            },
        }
    }
}

impl TryFrom<CallJson> for Syscall {
    type Error = ProtocolError;

    fn try_from(call: CallJson) -> Result<Self, ProtocolError> {
        Ok(match call {
            CallJson::Socket {
                domain,
                nonblocking,
            } => Syscall::Socket {
                domain: match domain {
                    DomainJson::Inet => Domain::Inet,
                    DomainJson::Inet6 => Domain::Inet6,
                },
                nonblocking,
            },
            CallJson::Bind { fd, addr } => Syscall::Bind { fd, addr },
            CallJson::Listen { fd, backlog } => Syscall::Listen { fd, backlog },
            CallJson::Accept { fd } => Syscall::Accept { fd },
            CallJson::Connect { fd, addr } => Syscall::Connect { fd, addr },
            CallJson::Read { fd, len, peek } => Syscall::Read { fd, len, peek },
            CallJson::Write { fd, data } => Syscall::Write {
                fd,
                data: from_hex(&data)?,
            },
            CallJson::Shutdown { fd, how } => Syscall::Shutdown {
                fd,
                how: match how {
                    HowJson::Rd => ShutdownHow::Read,
                    HowJson::Wr => ShutdownHow::Write,
                    HowJson::RdWr => ShutdownHow::Both,
                },
            },
            CallJson::Close { fd } => Syscall::Close { fd },
            CallJson::Setsockopt { fd, opt } => Syscall::SetSockOpt {
                fd,
                opt: opt.try_into()?,
            },
            CallJson::Getsockopt { fd, opt } => Syscall::GetSockOpt {
                fd,
                name: opt.into(),
            },
            CallJson::Fcntl { fd, cmd, flags } => Syscall::Fcntl {
                fd,
                cmd: match (cmd, flags) {
                    (FcntlJson::GetFl, _) => Fcntl::GetFl,
                    (FcntlJson::SetFl, Some(flags)) => Fcntl::SetFl(flags),
                    (FcntlJson::SetFl, None) => {
                        return Err(ProtocolError::Invalid("F_SETFL without \"flags\"".into()));
                    }
                },
            },
            CallJson::Ioctl { fd, request } => Syscall::Ioctl {
                fd,
                request: match request {
                    IoctlJson::InQueue => Ioctl::InQueue,
                    IoctlJson::OutQueue => Ioctl::OutQueue,
                },
            },
        })
    }
}

impl From<SockOpt> for OptJson {
    fn from(opt: SockOpt) -> Self {
        let flag = |on: bool| i32::from(on);
        match opt {
            SockOpt::ReuseAddr(on) => OptJson::ReuseAddr { value: flag(on) },
            SockOpt::ReusePort(on) => OptJson::ReusePort { value: flag(on) },
            SockOpt::Linger(secs) => OptJson::Linger {
                onoff: secs.is_some(),
                linger: secs.unwrap_or(0),
            },
            SockOpt::RcvBuf(value) => OptJson::RcvBuf { value },
            SockOpt::SndBuf(value) => OptJson::SndBuf { value },
            SockOpt::KeepAlive(on) => OptJson::KeepAlive { value: flag(on) },
            SockOpt::NoDelay(on) => OptJson::NoDelay { value: flag(on) },
            SockOpt::MaxSeg(value) => OptJson::MaxSeg { value },
            SockOpt::UserTimeout(value) => OptJson::UserTimeout { value },
            SockOpt::KeepIdle(value) => OptJson::KeepIdle { value },
            SockOpt::KeepIntvl(value) => OptJson::KeepIntvl { value },
            SockOpt::KeepCnt(value) => OptJson::KeepCnt { value },
            SockOpt::SynCnt(value) => OptJson::SynCnt { value },
            SockOpt::Raw { level, name, value } => OptJson::Raw {
                level,
                optname: name,
                value: to_hex(&value),
            },
        }
    }
}

impl TryFrom<OptJson> for SockOpt {
    type Error = ProtocolError;

    fn try_from(opt: OptJson) -> Result<Self, ProtocolError> {
        Ok(match opt {
            OptJson::ReuseAddr { value } => SockOpt::ReuseAddr(value != 0),
            OptJson::ReusePort { value } => SockOpt::ReusePort(value != 0),
            OptJson::Linger { onoff, linger } => SockOpt::Linger(onoff.then_some(linger)),
            OptJson::RcvBuf { value } => SockOpt::RcvBuf(value),
            OptJson::SndBuf { value } => SockOpt::SndBuf(value),
            OptJson::KeepAlive { value } => SockOpt::KeepAlive(value != 0),
            OptJson::NoDelay { value } => SockOpt::NoDelay(value != 0),
            OptJson::MaxSeg { value } => SockOpt::MaxSeg(value),
            OptJson::UserTimeout { value } => SockOpt::UserTimeout(value),
            OptJson::KeepIdle { value } => SockOpt::KeepIdle(value),
            OptJson::KeepIntvl { value } => SockOpt::KeepIntvl(value),
            OptJson::KeepCnt { value } => SockOpt::KeepCnt(value),
            OptJson::SynCnt { value } => SockOpt::SynCnt(value),
            OptJson::Raw {
                level,
                optname,
                value,
            } => SockOpt::Raw {
                level,
                name: optname,
                value: from_hex(&value)?,
            },
        })
    }
}

impl From<SockOptName> for OptNameJson {
    fn from(name: SockOptName) -> Self {
        match name {
            SockOptName::ReuseAddr => OptNameJson::ReuseAddr,
            SockOptName::ReusePort => OptNameJson::ReusePort,
            SockOptName::Linger => OptNameJson::Linger,
            SockOptName::RcvBuf => OptNameJson::RcvBuf,
            SockOptName::SndBuf => OptNameJson::SndBuf,
            SockOptName::KeepAlive => OptNameJson::KeepAlive,
            SockOptName::NoDelay => OptNameJson::NoDelay,
            SockOptName::MaxSeg => OptNameJson::MaxSeg,
            SockOptName::UserTimeout => OptNameJson::UserTimeout,
            SockOptName::Error => OptNameJson::Error,
            SockOptName::Type => OptNameJson::Type,
            SockOptName::KeepIdle => OptNameJson::KeepIdle,
            SockOptName::KeepIntvl => OptNameJson::KeepIntvl,
            SockOptName::KeepCnt => OptNameJson::KeepCnt,
            SockOptName::SynCnt => OptNameJson::SynCnt,
            SockOptName::Raw { level, name, len } => OptNameJson::Raw {
                level,
                optname: name,
                len,
            },
        }
    }
}

impl From<OptNameJson> for SockOptName {
    fn from(name: OptNameJson) -> Self {
        match name {
            OptNameJson::ReuseAddr => SockOptName::ReuseAddr,
            OptNameJson::ReusePort => SockOptName::ReusePort,
            OptNameJson::Linger => SockOptName::Linger,
            OptNameJson::RcvBuf => SockOptName::RcvBuf,
            OptNameJson::SndBuf => SockOptName::SndBuf,
            OptNameJson::KeepAlive => SockOptName::KeepAlive,
            OptNameJson::NoDelay => SockOptName::NoDelay,
            OptNameJson::MaxSeg => SockOptName::MaxSeg,
            OptNameJson::UserTimeout => SockOptName::UserTimeout,
            OptNameJson::Error => SockOptName::Error,
            OptNameJson::Type => SockOptName::Type,
            OptNameJson::KeepIdle => SockOptName::KeepIdle,
            OptNameJson::KeepIntvl => SockOptName::KeepIntvl,
            OptNameJson::KeepCnt => SockOptName::KeepCnt,
            OptNameJson::SynCnt => SockOptName::SynCnt,
            OptNameJson::Raw {
                level,
                optname,
                len,
            } => SockOptName::Raw {
                level,
                name: optname,
                len,
            },
        }
    }
}

impl From<&SyscallOutcome> for OutcomeJson {
    fn from(outcome: &SyscallOutcome) -> Self {
        OutcomeJson {
            ret: outcome.ret,
            errno: outcome.errno.map(errno_name),
            output: match &outcome.output {
                SyscallOutput::None => None,
                SyscallOutput::Int(v) => Some(OutputJson::Int(*v)),
                SyscallOutput::Linger { onoff, secs } => Some(OutputJson::Linger {
                    onoff: *onoff,
                    secs: *secs,
                }),
                SyscallOutput::Peer(addr) => Some(OutputJson::Peer(*addr)),
                SyscallOutput::Data(data) => Some(OutputJson::Data(to_hex(data))),
                SyscallOutput::Bytes(data) => Some(OutputJson::Bytes(to_hex(data))),
            },
        }
    }
}

impl TryFrom<OutcomeJson> for SyscallOutcome {
    type Error = ProtocolError;

    fn try_from(json: OutcomeJson) -> Result<Self, ProtocolError> {
        Ok(SyscallOutcome {
            ret: json.ret,
            errno: json.errno.as_deref().map(errno_from_name).transpose()?,
            output: match json.output {
                None => SyscallOutput::None,
                Some(OutputJson::Int(v)) => SyscallOutput::Int(v),
                Some(OutputJson::Linger { onoff, secs }) => SyscallOutput::Linger { onoff, secs },
                Some(OutputJson::Peer(addr)) => SyscallOutput::Peer(addr),
                Some(OutputJson::Data(hex)) => SyscallOutput::Data(from_hex(&hex)?),
                Some(OutputJson::Bytes(hex)) => SyscallOutput::Bytes(from_hex(&hex)?),
            },
        })
    }
}

impl Request {
    /// The `setup` request for these addresses, with the run's zero on CLOCK_MONOTONIC.
    pub fn setup(net: &NetConfig, epoch_monotonic_ns: u64) -> Self {
        Request::Setup {
            local_ip: net.local_ip,
            remote_ip: net.remote_ip,
            gateway_ip: net.gateway_ip,
            prefix_len: net.prefix_len,
            mtu: net.mtu,
            ipv4_mapped_ipv6: net.ipv4_mapped_ipv6,
            epoch_monotonic_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(to_hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(from_hex("00AB10").ok(), Some(vec![0, 0xab, 0x10]));
        assert!(from_hex("abc").is_err());
        assert!(from_hex("zz").is_err());
        assert!(from_hex("é1").is_err());
    }

    #[test]
    fn errno_names_round_trip() {
        for errno in [
            Errno::EAGAIN,
            Errno::ECONNRESET,
            Errno::EINPROGRESS,
            Errno::EPIPE,
        ] {
            assert_eq!(errno_from_name(&errno_name(errno)).ok(), Some(errno));
        }
        assert_eq!(errno_name(Errno::ECONNREFUSED), "ECONNREFUSED");
        assert_eq!(errno_from_name("EWOULDBLOCK").ok(), Some(Errno::EAGAIN));
        assert!(errno_from_name("ENOTANERRNO").is_err());
        assert!(errno_from_name("UnknownErrno").is_err());
    }

    #[test]
    fn every_syscall_survives_the_json_round_trip() {
        let addr: SocketAddr = "192.0.2.1:8080".parse().unwrap();
        let calls = vec![
            Syscall::Socket {
                domain: Domain::Inet6,
                nonblocking: true,
            },
            Syscall::Bind { fd: 3, addr },
            Syscall::Listen { fd: 3, backlog: 5 },
            Syscall::Accept { fd: 3 },
            Syscall::Connect { fd: 3, addr },
            Syscall::Read {
                fd: 4,
                len: 100,
                peek: true,
            },
            Syscall::Write {
                fd: 4,
                data: b"hi\n".to_vec(),
            },
            Syscall::Shutdown {
                fd: 4,
                how: ShutdownHow::Both,
            },
            Syscall::Close { fd: 4 },
            Syscall::SetSockOpt {
                fd: 4,
                opt: SockOpt::Linger(Some(0)),
            },
            Syscall::SetSockOpt {
                fd: 4,
                opt: SockOpt::Linger(None),
            },
            Syscall::SetSockOpt {
                fd: 4,
                opt: SockOpt::NoDelay(true),
            },
            Syscall::SetSockOpt {
                fd: 4,
                opt: SockOpt::Raw {
                    level: 0,
                    name: 2,
                    value: vec![1, 0, 0, 0],
                },
            },
            Syscall::GetSockOpt {
                fd: 4,
                name: SockOptName::Error,
            },
            Syscall::GetSockOpt {
                fd: 4,
                name: SockOptName::Raw {
                    level: 6,
                    name: 11,
                    len: 4,
                },
            },
            Syscall::Fcntl {
                fd: 4,
                cmd: Fcntl::SetFl(0o4002),
            },
            Syscall::Fcntl {
                fd: 4,
                cmd: Fcntl::GetFl,
            },
            Syscall::Ioctl {
                fd: 4,
                request: Ioctl::OutQueue,
            },
        ];
        for call in calls {
            let text = serde_json::to_string(&Request::Syscall {
                at_us: 5,
                call: (&call).into(),
            })
            .unwrap();
            let Request::Syscall { call: json, .. } = serde_json::from_str(&text).unwrap() else {
                panic!("not a syscall: {text}");
            };
            assert_eq!(Syscall::try_from(json).ok(), Some(call), "{text}");
        }
        let text = serde_json::to_string(&CallJson::from(&Syscall::Write {
            fd: 4,
            data: b"hi".to_vec(),
        }))
        .unwrap();
        assert_eq!(text, r#"{"name":"write","fd":4,"data":"6869"}"#);
    }

    #[test]
    fn outcomes_carry_errno_names() {
        let outcome = SyscallOutcome::err(Errno::EAGAIN);
        let text = serde_json::to_string(&OutcomeJson::from(&outcome)).unwrap();
        assert_eq!(text, r#"{"ret":-1,"errno":"EAGAIN","output":null}"#);
        let data = SyscallOutcome::ok_with(2, SyscallOutput::Data(vec![1, 2]));
        let back: OutcomeJson =
            serde_json::from_str(&serde_json::to_string(&OutcomeJson::from(&data)).unwrap())
                .unwrap();
        assert_eq!(SyscallOutcome::try_from(back).ok(), Some(data));
        let bad: OutcomeJson = serde_json::from_str(r#"{"ret":-1,"errno":"EBOGUS"}"#).unwrap();
        assert!(SyscallOutcome::try_from(bad).is_err());
    }

    #[test]
    fn sent_packets_may_be_hex_or_base64_but_not_both() {
        assert_eq!(
            EventJson::packet_bytes(Some("4500"), None).ok(),
            Some(vec![0x45, 0])
        );
        assert_eq!(
            EventJson::packet_bytes(None, Some("RQA=")).ok(),
            Some(vec![0x45, 0])
        );
        assert!(EventJson::packet_bytes(Some("4500"), Some("RQA=")).is_err());
        assert!(EventJson::packet_bytes(None, None).is_err());
    }
}
