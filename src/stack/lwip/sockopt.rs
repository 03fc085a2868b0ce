//! Socket options: which of the script's options lwIP 2.1.3 has, as `(level, name)` pairs and
//! values in the C layout `lwip_setsockopt`/`lwip_getsockopt` take. lwIP uses the system's numbers
//! (see `ffi.rs`), so these are Linux's.

use nix::libc::{self, c_int};

use crate::stack::{SockOpt, SockOptName, StackError};

/// How a `getsockopt` value is read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// A C `int`.
    Int,
    /// A `struct linger`.
    Linger,
    /// Raw bytes of this length.
    Bytes(u32),
}

/// The reason lwIP has no such option, for the skip message.
fn missing(what: &str) -> StackError {
    StackError::Unsupported(format!("lwIP 2.1.3 has no {what} socket option"))
}

fn int_bytes(v: c_int) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// `(level, name, value)` for `setsockopt(opt)`.
pub(super) fn encode(opt: &SockOpt) -> Result<(c_int, c_int, Vec<u8>), StackError> {
    Ok(match opt {
        SockOpt::ReuseAddr(on) => (
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            int_bytes(c_int::from(*on)),
        ),
        SockOpt::KeepAlive(on) => (
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            int_bytes(c_int::from(*on)),
        ),
        // lwIP's SO_RCVBUF caps the bytes queued for the application; it does not size the
        // advertised window (that is TCP_WND, fixed at build time).
        SockOpt::RcvBuf(n) => (libc::SOL_SOCKET, libc::SO_RCVBUF, int_bytes(*n)),
        SockOpt::Linger(secs) => {
            let (onoff, linger) = match secs {
                Some(s) => (1, c_int::try_from(*s).unwrap_or(c_int::MAX)),
                None => (0, 0),
            };
            let mut v = int_bytes(onoff);
            v.extend(int_bytes(linger));
            (libc::SOL_SOCKET, libc::SO_LINGER, v)
        }
        SockOpt::NoDelay(on) => (
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            int_bytes(c_int::from(*on)),
        ),
        SockOpt::KeepIdle(s) => (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, int_bytes(*s)),
        SockOpt::KeepIntvl(s) => (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, int_bytes(*s)),
        SockOpt::KeepCnt(n) => (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, int_bytes(*n)),
        SockOpt::Raw { level, name, value } => (*level, *name, value.clone()),
        SockOpt::ReusePort(_) => return Err(missing("SO_REUSEPORT")),
        SockOpt::SndBuf(_) => {
            return Err(missing("SO_SNDBUF (TCP_SND_BUF is fixed at build time)"));
        }
        SockOpt::MaxSeg(_) => return Err(missing("TCP_MAXSEG")),
        SockOpt::UserTimeout(_) => return Err(missing("TCP_USER_TIMEOUT")),
        SockOpt::SynCnt(_) => {
            return Err(missing("TCP_SYNCNT (TCP_SYNMAXRTX is fixed at build time)"));
        }
    })
}

/// `(level, name, shape)` for `getsockopt(name)`.
pub(super) fn name(name: SockOptName) -> Result<(c_int, c_int, Shape), StackError> {
    Ok(match name {
        SockOptName::ReuseAddr => (libc::SOL_SOCKET, libc::SO_REUSEADDR, Shape::Int),
        SockOptName::KeepAlive => (libc::SOL_SOCKET, libc::SO_KEEPALIVE, Shape::Int),
        SockOptName::RcvBuf => (libc::SOL_SOCKET, libc::SO_RCVBUF, Shape::Int),
        SockOptName::Linger => (libc::SOL_SOCKET, libc::SO_LINGER, Shape::Linger),
        SockOptName::Error => (libc::SOL_SOCKET, libc::SO_ERROR, Shape::Int),
        SockOptName::Type => (libc::SOL_SOCKET, libc::SO_TYPE, Shape::Int),
        SockOptName::NoDelay => (libc::IPPROTO_TCP, libc::TCP_NODELAY, Shape::Int),
        SockOptName::KeepIdle => (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, Shape::Int),
        SockOptName::KeepIntvl => (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, Shape::Int),
        SockOptName::KeepCnt => (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, Shape::Int),
        SockOptName::Raw { level, name, len } => (level, name, Shape::Bytes(len)),
        SockOptName::ReusePort => return Err(missing("SO_REUSEPORT")),
        SockOptName::SndBuf => return Err(missing("SO_SNDBUF")),
        SockOptName::MaxSeg => return Err(missing("TCP_MAXSEG")),
        SockOptName::UserTimeout => return Err(missing("TCP_USER_TIMEOUT")),
        SockOptName::SynCnt => return Err(missing("TCP_SYNCNT")),
    })
}

/// The buffer size `getsockopt` needs for `shape`.
pub(super) fn buffer_len(shape: Shape) -> usize {
    match shape {
        Shape::Int => std::mem::size_of::<c_int>(),
        Shape::Linger => 2 * std::mem::size_of::<c_int>(),
        Shape::Bytes(n) => n as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linger_is_a_c_struct_linger() {
        let (level, name, v) = encode(&SockOpt::Linger(Some(3))).unwrap();
        assert_eq!((level, name), (libc::SOL_SOCKET, libc::SO_LINGER));
        assert_eq!(v.len(), std::mem::size_of::<libc::linger>());
        assert_eq!(&v[..4], &1i32.to_ne_bytes());
        assert_eq!(&v[4..], &3i32.to_ne_bytes());
        assert_eq!(encode(&SockOpt::Linger(None)).unwrap().2, vec![0; 8]);
    }

    #[test]
    fn options_lwip_lacks_are_skips_not_errors() {
        for opt in [
            SockOpt::MaxSeg(536),
            SockOpt::ReusePort(true),
            SockOpt::SynCnt(2),
        ] {
            assert!(matches!(encode(&opt), Err(StackError::Unsupported(_))));
        }
        assert!(matches!(
            name(SockOptName::UserTimeout),
            Err(StackError::Unsupported(_))
        ));
    }
}
