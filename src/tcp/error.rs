//! Errors of the socket-style API, one variant per Linux errno a TCP socket call can return.

use thiserror::Error;

/// A failed socket call. Each variant is one Linux errno ([`Error::errno_name`],
/// [`Error::linux_errno`]), with the meaning applications expect from Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum Error {
    /// EAGAIN: the call would block (non-blocking socket, or ask again after the next event).
    #[error("EAGAIN: operation would block")]
    WouldBlock,
    /// EINPROGRESS: the connection attempt has started (a blocking caller waits for writability).
    #[error("EINPROGRESS: connection in progress")]
    InProgress,
    /// EALREADY: a previous connection attempt has not completed.
    #[error("EALREADY: connection already in progress")]
    Already,
    /// EISCONN: the socket is already connected.
    #[error("EISCONN: socket is connected")]
    IsConnected,
    /// ENOTCONN: the socket is not connected.
    #[error("ENOTCONN: socket is not connected")]
    NotConnected,
    /// ECONNREFUSED: the peer answered the SYN with a RST.
    #[error("ECONNREFUSED: connection refused")]
    ConnectionRefused,
    /// ECONNRESET: the peer reset the connection.
    #[error("ECONNRESET: connection reset by peer")]
    ConnectionReset,
    /// ECONNABORTED: the connection went away without a recorded reason.
    #[error("ECONNABORTED: connection aborted")]
    ConnectionAborted,
    /// EPIPE: writing to a socket that can no longer send.
    #[error("EPIPE: broken pipe")]
    BrokenPipe,
    /// ETIMEDOUT: retransmissions, keep-alives or the user timeout gave up.
    #[error("ETIMEDOUT: connection timed out")]
    TimedOut,
    /// EADDRINUSE: the local address is taken.
    #[error("EADDRINUSE: address already in use")]
    AddrInUse,
    /// EADDRNOTAVAIL: the address is not one of the host's, or no ephemeral port is left.
    #[error("EADDRNOTAVAIL: address not available")]
    AddrNotAvailable,
    /// EAFNOSUPPORT: the address family does not match the socket.
    #[error("EAFNOSUPPORT: address family not supported")]
    AfNotSupported,
    /// EINVAL: the arguments do not fit the socket's state.
    #[error("EINVAL: invalid argument")]
    Invalid,
    /// EBADF: no such fd.
    #[error("EBADF: bad file descriptor")]
    BadFd,
    /// EOPNOTSUPP: the operation does not apply to this socket, or an ICMP source route failed.
    #[error("EOPNOTSUPP: operation not supported")]
    NotSupported,
    /// ENOPROTOOPT: unknown socket option, or an ICMP protocol unreachable (Linux's errno).
    #[error("ENOPROTOOPT: protocol not available")]
    NoProtoOpt,
    /// ENETUNREACH: no local address of the right family to send from, or an ICMP net
    /// unreachable.
    #[error("ENETUNREACH: network is unreachable")]
    NetUnreachable,
    /// EMFILE: the fd table is full.
    #[error("EMFILE: too many open files")]
    TooManyFiles,
    /// EHOSTUNREACH: an ICMP error reported the host unreachable.
    #[error("EHOSTUNREACH: no route to host")]
    HostUnreachable,
    /// EPROTO: an ICMP parameter problem was reported.
    #[error("EPROTO: protocol error")]
    ProtocolError,
}

impl Error {
    /// The errno's symbolic name (`EAGAIN`, `ECONNRESET`, …).
    pub fn errno_name(self) -> &'static str {
        match self {
            Error::WouldBlock => "EAGAIN",
            Error::InProgress => "EINPROGRESS",
            Error::Already => "EALREADY",
            Error::IsConnected => "EISCONN",
            Error::NotConnected => "ENOTCONN",
            Error::ConnectionRefused => "ECONNREFUSED",
            Error::ConnectionReset => "ECONNRESET",
            Error::ConnectionAborted => "ECONNABORTED",
            Error::BrokenPipe => "EPIPE",
            Error::TimedOut => "ETIMEDOUT",
            Error::AddrInUse => "EADDRINUSE",
            Error::AddrNotAvailable => "EADDRNOTAVAIL",
            Error::AfNotSupported => "EAFNOSUPPORT",
            Error::Invalid => "EINVAL",
            Error::BadFd => "EBADF",
            Error::NotSupported => "EOPNOTSUPP",
            Error::NoProtoOpt => "ENOPROTOOPT",
            Error::NetUnreachable => "ENETUNREACH",
            Error::TooManyFiles => "EMFILE",
            Error::HostUnreachable => "EHOSTUNREACH",
            Error::ProtocolError => "EPROTO",
        }
    }

    /// The errno's value on Linux (x86-64 and arm64 share these).
    pub fn linux_errno(self) -> i32 {
        match self {
            Error::WouldBlock => 11,
            Error::InProgress => 115,
            Error::Already => 114,
            Error::IsConnected => 106,
            Error::NotConnected => 107,
            Error::ConnectionRefused => 111,
            Error::ConnectionReset => 104,
            Error::ConnectionAborted => 103,
            Error::BrokenPipe => 32,
            Error::TimedOut => 110,
            Error::AddrInUse => 98,
            Error::AddrNotAvailable => 99,
            Error::AfNotSupported => 97,
            Error::Invalid => 22,
            Error::BadFd => 9,
            Error::NotSupported => 95,
            Error::NoProtoOpt => 92,
            Error::NetUnreachable => 101,
            Error::TooManyFiles => 24,
            Error::HostUnreachable => 113,
            Error::ProtocolError => 71,
        }
    }
}

/// Result of a socket call.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_and_numbers_match_linux() {
        assert_eq!(Error::WouldBlock.errno_name(), "EAGAIN");
        assert_eq!(Error::InProgress.linux_errno(), 115);
        assert_eq!(Error::ConnectionReset.linux_errno(), 104);
        assert_eq!(Error::BrokenPipe.to_string(), "EPIPE: broken pipe");
    }
}
