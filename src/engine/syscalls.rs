//! Syscall lines: evaluating a script's `name(args) = result` into a [`Syscall`] a stack performs,
//! and checking its [`SyscallOutcome`] against the script.
//!
//! `...` arguments take packetdrill's defaults: the socket's domain from `--ip_version`, `bind()` to
//! the local address and `--bind_port`, `connect()` to the remote address and `--connect_port`,
//! zero-filled buffers. Script fds are mapped onto the stack's live fds.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::script::ast::{Expr, ExprKind, StructField, SyscallSpec};
use crate::script::symbols;
use crate::stack::Errno;
use crate::stack::{
    Domain, Fcntl, Fd, Ioctl, NetConfig, ShutdownHow, SockOpt, SockOptName, Syscall,
    SyscallOutcome, SyscallOutput,
};

use super::options::{IpVersion, Settings};

/// Why a syscall line cannot be turned into a [`Syscall`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// tcpconf cannot perform this call (the script is skipped).
    #[error("{0}")]
    Unsupported(String),
    /// The line makes no sense (wrong argument count, unknown symbol): a script error.
    #[error("{0}")]
    Invalid(String),
}

/// A value the call hands back that the script states (`getsockopt(…, [1], …)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputCheck {
    Int(i64),
    Linger { onoff: bool, secs: i64 },
    Bytes(Vec<u8>),
}

/// A syscall line, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    pub call: Syscall,
    /// `None` for `= ...` (not checked).
    pub result: Option<i64>,
    /// The errno the script expects.
    pub errno: Option<Errno>,
    pub output: Option<OutputCheck>,
    /// The call returns a new fd (`socket`, `accept`): the script's result is a script fd.
    pub returns_fd: bool,
    /// The call wrote non-zero bytes (outbound payloads then stop being compared with zeros).
    pub wrote_data: bool,
}

/// What evaluation needs from the run.
pub struct Env<'a> {
    pub net: &'a NetConfig,
    pub settings: &'a Settings,
    /// script fd → live fd.
    pub fds: &'a BTreeMap<i64, Fd>,
}

impl Env<'_> {
    fn int(&self, e: &Expr) -> Result<i64, EvalError> {
        match &e.kind {
            ExprKind::Int(v) => Ok(*v),
            ExprKind::Hex(v) => Ok(*v as i64),
            ExprKind::Symbol(name) => {
                if let Some(def) = self.settings.defines.get(name) {
                    return parse_int(def).ok_or_else(|| {
                        EvalError::Invalid(format!("-D {name}={def} is not a number"))
                    });
                }
                symbols::symbol_value(name)
                    .ok_or_else(|| EvalError::Unsupported(format!("unknown symbol `{name}`")))
            }
            ExprKind::Or(a, b) => Ok(self.int(a)? | self.int(b)?),
            ExprKind::Array(items) if items.len() == 1 => {
                items.first().map_or(Ok(0), |i| self.int(i))
            }
            ExprKind::Call { name, args }
                if matches!(name.node.as_str(), "htons" | "htonl" | "ntohs" | "ntohl") =>
            {
                // Ports and addresses stay in host order in the Syscall model.
                args.first().map_or(
                    Err(EvalError::Invalid(format!(
                        "{}() needs an argument",
                        name.node
                    ))),
                    |a| self.int(a),
                )
            }
            _ => Err(EvalError::Invalid("expected an integer expression".into())),
        }
    }

    fn fd(&self, e: &Expr) -> Result<Fd, EvalError> {
        let script = self.int(e)?;
        // An fd the script never opened (bad-fd tests) goes through as written.
        Ok(self
            .fds
            .get(&script)
            .copied()
            .unwrap_or_else(|| i32::try_from(script).unwrap_or(-1)))
    }

    fn default_domain(&self) -> Domain {
        match self.settings.ip_version {
            IpVersion::V4 => Domain::Inet,
            IpVersion::V4MappedV6 | IpVersion::V6 => Domain::Inet6,
        }
    }

    /// An address as the socket sees it (IPv4-mapped IPv6 on `ipv4-mapped-ipv6` runs).
    fn socket_addr(&self, ip: IpAddr, port: u16) -> SocketAddr {
        match (ip, self.net.ipv4_mapped_ipv6) {
            (IpAddr::V4(v4), true) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), port),
            _ => SocketAddr::new(ip, port),
        }
    }

    fn sockaddr(&self, e: &Expr, default: SocketAddr) -> Result<SocketAddr, EvalError> {
        let fields = match &e.kind {
            ExprKind::Ellipsis => return Ok(default),
            ExprKind::Struct(fields) => fields,
            _ => {
                return Err(EvalError::Invalid(
                    "expected a sockaddr `{sa_family=…, …}` or `...`".into(),
                ));
            }
        };
        let mut port = default.port();
        let mut ip = default.ip();
        for f in fields {
            let Some(name) = &f.name else { continue };
            match name.node.as_str() {
                "sin_port" | "sin6_port" => {
                    port = u16::try_from(self.int(&f.value)?)
                        .map_err(|_| EvalError::Invalid("port out of range".into()))?
                }
                "sin_addr" | "sin6_addr" => ip = self.address(&f.value)?,
                _ => {}
            }
        }
        Ok(SocketAddr::new(ip, port))
    }

    fn address(&self, e: &Expr) -> Result<IpAddr, EvalError> {
        match &e.kind {
            ExprKind::Call { name, args } => {
                let text = match args.first().map(|a| &a.kind) {
                    Some(ExprKind::Str(s)) => s,
                    _ => {
                        return Err(EvalError::Invalid(format!(
                            "{}() needs a quoted address",
                            name.node
                        )));
                    }
                };
                match name.node.as_str() {
                    "inet_addr" => text
                        .parse::<Ipv4Addr>()
                        .map(IpAddr::V4)
                        .map_err(|_| EvalError::Invalid(format!("bad IPv4 address `{text}`"))),
                    "inet6_addr" => text
                        .parse::<Ipv6Addr>()
                        .map(IpAddr::V6)
                        .map_err(|_| EvalError::Invalid(format!("bad IPv6 address `{text}`"))),
                    other => Err(EvalError::Invalid(format!(
                        "unknown address function `{other}`"
                    ))),
                }
            }
            ExprKind::Symbol(s) if s == "INADDR_ANY" => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            ExprKind::Symbol(s) if s == "IN6ADDR_ANY_INIT" || s == "in6addr_any" => {
                Ok(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
            }
            _ => Err(EvalError::Invalid(
                "expected inet_addr(\"…\") or inet6_addr(\"…\")".into(),
            )),
        }
    }

    /// The length an iovec array describes: `[{..., 1000}, {iov_base=..., iov_len=500}]`.
    fn iov_len(&self, e: &Expr) -> Result<usize, EvalError> {
        let items = match &e.kind {
            ExprKind::Array(items) => items,
            ExprKind::Ellipsis => return Ok(0),
            _ => return Err(EvalError::Invalid("expected an iovec array".into())),
        };
        let mut total = 0usize;
        for item in items {
            let ExprKind::Struct(fields) = &item.kind else {
                return Err(EvalError::Invalid("expected an iovec `{…, len}`".into()));
            };
            let len_field = fields
                .iter()
                .find(|f| f.name.as_ref().is_some_and(|n| n.node == "iov_len"))
                .or_else(|| fields.get(1));
            if let Some(f) = len_field {
                total = total.saturating_add(self.len(&f.value)?);
            }
        }
        Ok(total)
    }

    fn len(&self, e: &Expr) -> Result<usize, EvalError> {
        usize::try_from(self.int(e)?).map_err(|_| EvalError::Invalid("negative length".into()))
    }

    /// The iovec length inside a msghdr `{msg_name(...)=..., msg_iov(1)=[…], msg_flags=0}`.
    fn msghdr_len(&self, e: &Expr) -> Result<usize, EvalError> {
        let ExprKind::Struct(fields) = &e.kind else {
            return Err(EvalError::Invalid("expected a msghdr struct".into()));
        };
        if fields.iter().any(|f| field_named(f, "msg_control")) {
            return Err(EvalError::Unsupported(
                "msghdr control messages (cmsg) are not supported".into(),
            ));
        }
        fields
            .iter()
            .find(|f| field_named(f, "msg_iov"))
            .map_or(Ok(0), |f| self.iov_len(&f.value))
    }
}

fn field_named(f: &StructField, name: &str) -> bool {
    f.name.as_ref().is_some_and(|n| n.node == name)
}

fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

fn arg(spec: &SyscallSpec, i: usize) -> Result<&Expr, EvalError> {
    spec.args.get(i).ok_or_else(|| {
        EvalError::Invalid(format!(
            "{}() needs at least {} arguments, the script gives {}",
            spec.name.node,
            i + 1,
            spec.args.len()
        ))
    })
}

fn is_ellipsis(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Ellipsis)
}

/// Evaluates a syscall line.
pub fn evaluate(spec: &SyscallSpec, env: &Env<'_>) -> Result<Evaluated, EvalError> {
    let name = spec.name.node.as_str();
    let mut ev = Evaluated {
        call: Syscall::Close { fd: -1 },
        result: match spec.result.kind {
            ExprKind::Ellipsis => None,
            _ => Some(env.int(&spec.result)?),
        },
        errno: match &spec.errno {
            None => None,
            Some(e) => Some(
                symbols::errno_from_name(&e.node)
                    .ok_or_else(|| EvalError::Invalid(format!("unknown errno `{}`", e.node)))?,
            ),
        },
        output: None,
        returns_fd: false,
        wrote_data: false,
    };
    let flags_arg = |i: usize| -> Result<i64, EvalError> {
        match spec.args.get(i) {
            Some(e) if !is_ellipsis(e) => env.int(e),
            _ => Ok(0),
        }
    };
    let no_flags = |flags: i64, allowed: i64| -> Result<(), EvalError> {
        if flags & !allowed != 0 {
            Err(EvalError::Unsupported(format!(
                "{name}() flags {flags:#x} are not supported"
            )))
        } else {
            Ok(())
        }
    };
    ev.call = match name {
        "socket" => {
            let domain = match arg(spec, 0)? {
                e if is_ellipsis(e) => env.default_domain(),
                e => match env.int(e)? {
                    2 => Domain::Inet,
                    10 => Domain::Inet6,
                    d => {
                        return Err(EvalError::Unsupported(format!(
                            "socket domain {d} is not supported"
                        )));
                    }
                },
            };
            let ty = env.int(arg(spec, 1)?)?;
            if ty & 0xF != 1 {
                return Err(EvalError::Unsupported(
                    "only SOCK_STREAM sockets are supported".into(),
                ));
            }
            let proto = arg(spec, 2)?;
            if !is_ellipsis(proto) && !matches!(env.int(proto)?, 0 | 6) {
                return Err(EvalError::Unsupported(
                    "only TCP sockets are supported".into(),
                ));
            }
            ev.returns_fd = true;
            Syscall::Socket {
                domain,
                nonblocking: ty & 0o4000 != 0,
            }
        }
        "bind" => Syscall::Bind {
            fd: env.fd(arg(spec, 0)?)?,
            addr: env.sockaddr(
                arg(spec, 1)?,
                env.socket_addr(env.net.local_ip, env.settings.bind_port),
            )?,
        },
        "connect" => Syscall::Connect {
            fd: env.fd(arg(spec, 0)?)?,
            addr: env.sockaddr(
                arg(spec, 1)?,
                env.socket_addr(env.net.remote_ip, env.settings.connect_port),
            )?,
        },
        "listen" => Syscall::Listen {
            fd: env.fd(arg(spec, 0)?)?,
            backlog: i32::try_from(env.int(arg(spec, 1)?)?).unwrap_or(i32::MAX),
        },
        "accept" | "accept4" => {
            if name == "accept4" {
                no_flags(flags_arg(3)?, 0)?;
            }
            ev.returns_fd = true;
            Syscall::Accept {
                fd: env.fd(arg(spec, 0)?)?,
            }
        }
        "read" | "recv" | "recvfrom" => {
            no_bad_pointer(name, arg(spec, 1)?)?;
            let flags = if name == "read" { 0 } else { flags_arg(3)? };
            no_flags(flags, 0x2 | 0x40)?;
            Syscall::Read {
                fd: env.fd(arg(spec, 0)?)?,
                len: env.len(arg(spec, 2)?)?,
                peek: flags & 0x2 != 0,
            }
        }
        "readv" => Syscall::Read {
            fd: env.fd(arg(spec, 0)?)?,
            len: env.iov_len(arg(spec, 1)?)?,
            peek: false,
        },
        "recvmsg" => {
            let flags = flags_arg(2)?;
            no_flags(flags, 0x2 | 0x40)?;
            Syscall::Read {
                fd: env.fd(arg(spec, 0)?)?,
                len: env.msghdr_len(arg(spec, 1)?)?,
                peek: flags & 0x2 != 0,
            }
        }
        "write" | "send" | "sendto" => {
            if name != "write" {
                // MSG_NOSIGNAL and MSG_DONTWAIT change nothing observable here; MSG_MORE,
                // MSG_ZEROCOPY and MSG_FASTOPEN would.
                no_flags(flags_arg(3)?, 0x4000 | 0x40)?;
            }
            no_bad_pointer(name, arg(spec, 1)?)?;
            let len = env.len(arg(spec, 2)?)?;
            let data = match &arg(spec, 1)?.kind {
                ExprKind::Str(s) | ExprKind::StrPrefix(s) => {
                    let mut d = s.as_bytes().to_vec();
                    d.resize(len, 0);
                    ev.wrote_data = d.iter().any(|b| *b != 0);
                    d
                }
                _ => vec![0; len],
            };
            Syscall::Write {
                fd: env.fd(arg(spec, 0)?)?,
                data,
            }
        }
        "writev" => Syscall::Write {
            fd: env.fd(arg(spec, 0)?)?,
            data: vec![0; env.iov_len(arg(spec, 1)?)?],
        },
        "sendmsg" => {
            no_flags(flags_arg(2)?, 0x4000 | 0x40)?;
            Syscall::Write {
                fd: env.fd(arg(spec, 0)?)?,
                data: vec![0; env.msghdr_len(arg(spec, 1)?)?],
            }
        }
        "shutdown" => Syscall::Shutdown {
            fd: env.fd(arg(spec, 0)?)?,
            how: match env.int(arg(spec, 1)?)? {
                0 => ShutdownHow::Read,
                1 => ShutdownHow::Write,
                2 => ShutdownHow::Both,
                h => {
                    return Err(EvalError::Invalid(format!(
                        "shutdown how {h} is not SHUT_RD/WR/RDWR"
                    )));
                }
            },
        },
        "close" => Syscall::Close {
            fd: env.fd(arg(spec, 0)?)?,
        },
        "setsockopt" => {
            let level = env.int(arg(spec, 1)?)?;
            let opt = env.int(arg(spec, 2)?)?;
            Syscall::SetSockOpt {
                fd: env.fd(arg(spec, 0)?)?,
                opt: setsockopt_value(env, level, opt, arg(spec, 3)?)?,
            }
        }
        "getsockopt" => {
            let level = env.int(arg(spec, 1)?)?;
            let opt = env.int(arg(spec, 2)?)?;
            let value = arg(spec, 3)?;
            let name = sockopt_name(level, opt, value);
            ev.output = match (&value.kind, name) {
                (ExprKind::Ellipsis, _) => None,
                (ExprKind::Struct(fields), SockOptName::Linger) => {
                    let get = |n: &str| {
                        fields
                            .iter()
                            .find(|f| field_named(f, n))
                            .map_or(Ok(0), |f| env.int(&f.value))
                    };
                    Some(OutputCheck::Linger {
                        onoff: get("onoff")? != 0,
                        secs: get("linger")?,
                    })
                }
                (ExprKind::Str(s), _) => Some(OutputCheck::Bytes(s.as_bytes().to_vec())),
                _ => Some(OutputCheck::Int(env.int(value)?)),
            };
            Syscall::GetSockOpt {
                fd: env.fd(arg(spec, 0)?)?,
                name,
            }
        }
        "fcntl" => {
            let fd = env.fd(arg(spec, 0)?)?;
            let cmd = match env.int(arg(spec, 1)?)? {
                3 => Fcntl::GetFl,
                4 => Fcntl::SetFl(i32::try_from(env.int(arg(spec, 2)?)?).unwrap_or(0)),
                c => {
                    return Err(EvalError::Unsupported(format!(
                        "fcntl command {c} is not supported"
                    )));
                }
            };
            Syscall::Fcntl { fd, cmd }
        }
        "ioctl" => {
            let fd = env.fd(arg(spec, 0)?)?;
            let request = match env.int(arg(spec, 1)?)? {
                0x541B => Ioctl::InQueue,
                0x5411 => Ioctl::OutQueue,
                r => {
                    return Err(EvalError::Unsupported(format!(
                        "ioctl request {r:#x} is not supported"
                    )));
                }
            };
            ev.output = match spec.args.get(2) {
                Some(e) if !is_ellipsis(e) => Some(OutputCheck::Int(env.int(e)?)),
                _ => None,
            };
            Syscall::Ioctl { fd, request }
        }
        other => {
            return Err(EvalError::Unsupported(format!(
                "the {other}() syscall is not supported"
            )));
        }
    };
    Ok(ev)
}

/// A buffer argument the syscall model cannot express: `NULL` or a literal address (scripts use
/// them to provoke EFAULT).
fn no_bad_pointer(name: &str, buf: &Expr) -> Result<(), EvalError> {
    match &buf.kind {
        ExprKind::Ellipsis | ExprKind::Str(_) | ExprKind::StrPrefix(_) => Ok(()),
        _ => Err(EvalError::Unsupported(format!(
            "{name}() with a literal buffer pointer (e.g. NULL, to provoke EFAULT) cannot be expressed"
        ))),
    }
}

fn sockopt_name(level: i64, opt: i64, value: &Expr) -> SockOptName {
    match (level, opt) {
        (1, 2) => SockOptName::ReuseAddr,
        (1, 15) => SockOptName::ReusePort,
        (1, 13) => SockOptName::Linger,
        (1, 8) => SockOptName::RcvBuf,
        (1, 7) => SockOptName::SndBuf,
        (1, 9) => SockOptName::KeepAlive,
        (1, 4) => SockOptName::Error,
        (1, 3) => SockOptName::Type,
        (6, 1) => SockOptName::NoDelay,
        (6, 2) => SockOptName::MaxSeg,
        (6, 18) => SockOptName::UserTimeout,
        (6, 4) => SockOptName::KeepIdle,
        (6, 5) => SockOptName::KeepIntvl,
        (6, 6) => SockOptName::KeepCnt,
        (6, 7) => SockOptName::SynCnt,
        _ => SockOptName::Raw {
            level: level as i32,
            name: opt as i32,
            len: match &value.kind {
                ExprKind::Str(s) => u32::try_from(s.len()).unwrap_or(u32::MAX).max(16),
                _ => 4,
            },
        },
    }
}

fn setsockopt_value(
    env: &Env<'_>,
    level: i64,
    opt: i64,
    value: &Expr,
) -> Result<SockOpt, EvalError> {
    if let (1, 13) = (level, opt) {
        let ExprKind::Struct(fields) = &value.kind else {
            return Err(EvalError::Invalid(
                "SO_LINGER needs `{onoff=…, linger=…}`".into(),
            ));
        };
        let get = |n: &str| {
            fields
                .iter()
                .find(|f| field_named(f, n))
                .map_or(Ok(0), |f| env.int(&f.value))
        };
        return Ok(SockOpt::Linger(
            (get("onoff")? != 0).then_some(u32::try_from(get("linger")?).unwrap_or(0)),
        ));
    }
    if let ExprKind::Str(s) = &value.kind {
        return Ok(SockOpt::Raw {
            level: level as i32,
            name: opt as i32,
            value: s.as_bytes().to_vec(),
        });
    }
    let v = env.int(value)?;
    let int = i32::try_from(v).unwrap_or(i32::MAX);
    Ok(match (level, opt) {
        (1, 2) => SockOpt::ReuseAddr(v != 0),
        (1, 15) => SockOpt::ReusePort(v != 0),
        (1, 8) => SockOpt::RcvBuf(int),
        (1, 7) => SockOpt::SndBuf(int),
        (1, 9) => SockOpt::KeepAlive(v != 0),
        (6, 1) => SockOpt::NoDelay(v != 0),
        (6, 2) => SockOpt::MaxSeg(int),
        (6, 18) => SockOpt::UserTimeout(u32::try_from(v).unwrap_or(0)),
        (6, 4) => SockOpt::KeepIdle(int),
        (6, 5) => SockOpt::KeepIntvl(int),
        (6, 6) => SockOpt::KeepCnt(int),
        (6, 7) => SockOpt::SynCnt(int),
        _ => SockOpt::Raw {
            level: level as i32,
            name: opt as i32,
            value: int.to_ne_bytes().to_vec(),
        },
    })
}

/// A call as the trace shows it: `write(4, 1000 bytes)`, `connect(3, 192.0.2.1:8080)`.
pub fn call_text(name: &str, call: &Syscall) -> String {
    let args = match call {
        Syscall::Socket {
            domain,
            nonblocking,
        } => {
            let d = match domain {
                Domain::Inet => "AF_INET",
                Domain::Inet6 => "AF_INET6",
            };
            let nb = if *nonblocking { "|SOCK_NONBLOCK" } else { "" };
            format!("{d}, SOCK_STREAM{nb}")
        }
        Syscall::Bind { fd, addr } | Syscall::Connect { fd, addr } => format!("{fd}, {addr}"),
        Syscall::Listen { fd, backlog } => format!("{fd}, {backlog}"),
        Syscall::Accept { fd } | Syscall::Close { fd } => fd.to_string(),
        Syscall::Read { fd, len, peek } => {
            format!("{fd}, {len} bytes{}", if *peek { ", MSG_PEEK" } else { "" })
        }
        Syscall::Write { fd, data } => format!("{fd}, {} bytes", data.len()),
        Syscall::Shutdown { fd, how } => format!("{fd}, {how:?}"),
        Syscall::SetSockOpt { fd, opt } => format!("{fd}, {opt:?}"),
        Syscall::GetSockOpt { fd, name } => format!("{fd}, {name:?}"),
        Syscall::Fcntl { fd, cmd } => format!("{fd}, {cmd:?}"),
        Syscall::Ioctl { fd, request } => format!("{fd}, {request:?}"),
    };
    format!("{name}({args})")
}

/// How a syscall's outcome is shown: `0`, `-1 ECONNRESET (Connection reset by peer)`.
pub fn outcome_text(o: &SyscallOutcome) -> String {
    match o.errno {
        Some(e) => format!("{} {e:?} ({})", o.ret, e.desc()),
        None => o.ret.to_string(),
    }
}

/// Checks an outcome against the script. `Err` is the failure message.
pub fn check_outcome(ev: &Evaluated, o: &SyscallOutcome) -> Result<(), String> {
    let got = outcome_text(o);
    if let Some(want) = ev.result {
        let fd_ok = ev.returns_fd && want >= 0 && o.ret >= 0;
        if !fd_ok && want != o.ret {
            let want_text = match &ev.errno {
                Some(e) => format!("{want} {e:?}"),
                None => want.to_string(),
            };
            return Err(format!("expected result {want_text} but got {got}"));
        }
    }
    if let Some(want) = ev.errno
        && o.errno != Some(want)
    {
        return Err(format!("expected errno {want:?} but got {got}"));
    }
    match (&ev.output, &o.output) {
        (None, _) => Ok(()),
        _ if o.ret < 0 => Ok(()),
        (Some(OutputCheck::Int(want)), SyscallOutput::Int(v)) if want == v => Ok(()),
        (Some(OutputCheck::Int(want)), SyscallOutput::Bytes(b))
            if bytes_as_int(b) == Some(*want) =>
        {
            Ok(())
        }
        (
            Some(OutputCheck::Linger { onoff, secs }),
            SyscallOutput::Linger {
                onoff: o2,
                secs: s2,
            },
        ) if onoff == o2 && (!*onoff || i64::from(*s2) == *secs) => Ok(()),
        (Some(OutputCheck::Bytes(want)), SyscallOutput::Bytes(b))
            if b.split(|c| *c == 0).next() == Some(want.as_slice()) =>
        {
            Ok(())
        }
        (Some(want), got) => Err(format!(
            "expected value {} but got {}",
            check_text(want),
            output_text(got)
        )),
    }
}

fn bytes_as_int(b: &[u8]) -> Option<i64> {
    let arr: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(i64::from(i32::from_ne_bytes(arr)))
}

fn check_text(c: &OutputCheck) -> String {
    match c {
        OutputCheck::Int(v) => format!("[{v}]"),
        OutputCheck::Linger { onoff, secs } => {
            format!("{{onoff={}, linger={secs}}}", u8::from(*onoff))
        }
        OutputCheck::Bytes(b) => format!("\"{}\"", String::from_utf8_lossy(b)),
    }
}

/// A syscall output as shown in messages and traces.
pub fn output_text(o: &SyscallOutput) -> String {
    match o {
        SyscallOutput::None => "nothing".into(),
        SyscallOutput::Int(v) => format!("[{v}]"),
        SyscallOutput::Linger { onoff, secs } => {
            format!("{{onoff={}, linger={secs}}}", u8::from(*onoff))
        }
        SyscallOutput::Peer(a) => a.to_string(),
        SyscallOutput::Data(d) => format!("{} bytes", d.len()),
        SyscallOutput::Bytes(b) => format!(
            "\"{}\"",
            String::from_utf8_lossy(b.split(|c| *c == 0).next().unwrap_or(&[]))
        ),
    }
}
