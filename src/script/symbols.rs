//! Names scripts use for numbers: Linux's socket-API constants (the values packetdrill's
//! `symbols_linux.c` resolves) and errno names.
//!
//! The engine evaluates syscall expressions with [`symbol_value`]; the checker warns about names
//! found in neither table, since they may still be `-D` defines or another platform's constants.

use std::collections::HashMap;
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::libc;

/// `("NAME", libc::NAME)`, the value as Linux defines it.
macro_rules! sym {
    ($name:ident) => {
        (stringify!($name), libc::$name as i64)
    };
    ($name:ident = $value:expr) => {
        (stringify!($name), $value)
    };
}

/// Linux constants a script may name, with their values.
static SYMBOLS: &[(&str, i64)] = &[
    sym!(AF_UNSPEC),
    sym!(AF_INET),
    sym!(AF_INET6),
    sym!(AF_UNIX),
    sym!(AF_PACKET),
    sym!(AF_NETLINK),
    sym!(PF_INET),
    sym!(PF_INET6),
    sym!(PF_UNSPEC),
    sym!(SOCK_STREAM),
    sym!(SOCK_DGRAM),
    sym!(SOCK_RAW),
    sym!(SOCK_SEQPACKET),
    sym!(SOCK_NONBLOCK),
    sym!(SOCK_CLOEXEC),
    sym!(IPPROTO_IP),
    sym!(IPPROTO_IPV6),
    sym!(IPPROTO_TCP),
    sym!(IPPROTO_UDP),
    sym!(IPPROTO_ICMP),
    sym!(IPPROTO_ICMPV6),
    sym!(IPPROTO_RAW),
    sym!(IPPROTO_SCTP),
    sym!(IPPROTO_UDPLITE),
    sym!(IPPROTO_MPTCP),
    sym!(FD_CLOEXEC),
    sym!(FIONREAD),
    sym!(FIONBIO),
    sym!(F_DUPFD),
    sym!(F_DUPFD_CLOEXEC),
    sym!(F_GETFD),
    sym!(F_GETFL),
    sym!(F_GETLEASE),
    sym!(F_GETLK),
    sym!(F_GETLK64 = 5),
    sym!(F_GETOWN),
    sym!(F_GETSIG = 11),
    sym!(F_NOTIFY),
    sym!(F_RDLCK),
    sym!(F_SETFD),
    sym!(F_SETFL),
    sym!(F_SETLEASE),
    sym!(F_SETLK),
    sym!(F_SETLK64 = 6),
    sym!(F_SETLKW),
    sym!(F_SETLKW64 = 7),
    sym!(F_SETOWN),
    sym!(F_SETSIG = 10),
    sym!(F_UNLCK),
    sym!(F_WRLCK),
    sym!(F_EXLCK = 4),
    sym!(F_SHLCK = 8),
    sym!(IPV6_HOPLIMIT),
    sym!(IPV6_MTU),
    sym!(IPV6_MTU_DISCOVER),
    sym!(IPV6_RECVERR),
    sym!(IPV6_TCLASS),
    sym!(IPV6_UNICAST_HOPS),
    sym!(IPV6_V6ONLY),
    sym!(IPV6_FLOWINFO),
    sym!(IPV6_FLOWINFO_SEND),
    sym!(IP_FREEBIND),
    sym!(IP_MTU),
    sym!(IP_MTU_DISCOVER),
    sym!(IP_PMTUDISC_DO),
    sym!(IP_PMTUDISC_DONT),
    sym!(IP_PMTUDISC_PROBE),
    sym!(IP_PMTUDISC_WANT),
    sym!(IP_RECVERR),
    sym!(IP_TOS),
    sym!(IP_TTL),
    sym!(IP_TRANSPARENT),
    sym!(IP_BIND_ADDRESS_NO_PORT),
    sym!(IPTOS_LOWDELAY),
    sym!(IPTOS_THROUGHPUT),
    sym!(IPTOS_RELIABILITY),
    sym!(IPTOS_MINCOST),
    sym!(LOCK_EX),
    sym!(LOCK_NB),
    sym!(LOCK_SH),
    sym!(LOCK_UN),
    sym!(MSG_CMSG_CLOEXEC),
    sym!(MSG_CONFIRM),
    sym!(MSG_CTRUNC),
    sym!(MSG_DONTROUTE),
    sym!(MSG_DONTWAIT),
    sym!(MSG_EOR),
    sym!(MSG_ERRQUEUE),
    sym!(MSG_FASTOPEN),
    sym!(MSG_FIN),
    sym!(MSG_MORE),
    sym!(MSG_NOSIGNAL),
    sym!(MSG_OOB),
    sym!(MSG_PEEK),
    sym!(MSG_PROXY = 0x10),
    sym!(MSG_RST),
    sym!(MSG_SYN),
    sym!(MSG_TRUNC),
    sym!(MSG_WAITALL),
    sym!(MSG_ZEROCOPY),
    sym!(O_ACCMODE),
    sym!(O_APPEND),
    sym!(O_CREAT),
    sym!(O_EXCL),
    sym!(O_NOCTTY),
    sym!(O_NONBLOCK),
    sym!(O_NDELAY),
    sym!(O_RDONLY),
    sym!(O_RDWR),
    sym!(O_TRUNC),
    sym!(O_WRONLY),
    sym!(O_CLOEXEC),
    sym!(POLLERR),
    sym!(POLLHUP),
    sym!(POLLIN),
    sym!(POLLNVAL),
    sym!(POLLOUT),
    sym!(POLLPRI),
    sym!(POLLRDBAND),
    sym!(POLLRDHUP),
    sym!(POLLRDNORM),
    sym!(POLLWRBAND),
    sym!(POLLWRNORM),
    sym!(EPOLLERR),
    sym!(EPOLLET),
    sym!(EPOLLEXCLUSIVE),
    sym!(EPOLLHUP),
    sym!(EPOLLIN),
    sym!(EPOLLMSG),
    sym!(EPOLLONESHOT),
    sym!(EPOLLOUT),
    sym!(EPOLLPRI),
    sym!(EPOLLRDBAND),
    sym!(EPOLLRDHUP),
    sym!(EPOLLRDNORM),
    sym!(EPOLLWRBAND),
    sym!(EPOLLWRNORM),
    sym!(EPOLL_CTL_ADD),
    sym!(EPOLL_CTL_DEL),
    sym!(EPOLL_CTL_MOD),
    sym!(EPOLL_CLOEXEC),
    sym!(SCM_TIMESTAMPING),
    sym!(SCM_TIMESTAMP),
    sym!(SCM_TIMESTAMPNS),
    sym!(SCM_RIGHTS),
    sym!(SCM_CREDENTIALS),
    sym!(SEEK_CUR),
    sym!(SEEK_END),
    sym!(SEEK_SET),
    sym!(SHUT_RD),
    sym!(SHUT_WR),
    sym!(SHUT_RDWR),
    sym!(SIOCINQ = 0x541B),
    sym!(SIOCOUTQ = 0x5411),
    sym!(SIOCOUTQNSD),
    sym!(SIOCGSTAMP = 0x8906),
    sym!(TIOCOUTQ),
    sym!(TIOCINQ),
    sym!(SOF_TIMESTAMPING_OPT_CMSG),
    sym!(SOF_TIMESTAMPING_OPT_ID),
    sym!(SOF_TIMESTAMPING_OPT_STATS),
    sym!(SOF_TIMESTAMPING_OPT_TSONLY),
    sym!(SOF_TIMESTAMPING_RAW_HARDWARE),
    sym!(SOF_TIMESTAMPING_RX_HARDWARE),
    sym!(SOF_TIMESTAMPING_RX_SOFTWARE),
    sym!(SOF_TIMESTAMPING_SOFTWARE),
    sym!(SOF_TIMESTAMPING_SYS_HARDWARE),
    sym!(SOF_TIMESTAMPING_TX_ACK),
    sym!(SOF_TIMESTAMPING_TX_HARDWARE),
    sym!(SOF_TIMESTAMPING_TX_SCHED),
    sym!(SOF_TIMESTAMPING_TX_SOFTWARE),
    sym!(SOL_IP),
    sym!(SOL_IPV6),
    sym!(SOL_TCP),
    sym!(SOL_UDP),
    sym!(SOL_SOCKET),
    sym!(SO_ACCEPTCONN),
    sym!(SO_ATTACH_FILTER),
    sym!(SO_BINDTODEVICE),
    sym!(SO_BROADCAST),
    sym!(SO_BSDCOMPAT),
    sym!(SO_DEBUG),
    sym!(SO_DETACH_FILTER),
    sym!(SO_DONTROUTE),
    sym!(SO_ERROR),
    sym!(SO_KEEPALIVE),
    sym!(SO_LINGER),
    sym!(SO_MARK),
    sym!(SO_MAX_PACING_RATE),
    sym!(SO_NO_CHECK),
    sym!(SO_OOBINLINE),
    sym!(SO_PASSCRED),
    sym!(SO_PEERCRED),
    sym!(SO_PEERNAME),
    sym!(SO_PEERSEC),
    sym!(SO_PRIORITY),
    sym!(SO_RCVBUF),
    sym!(SO_RCVBUFFORCE),
    sym!(SO_SNDBUFFORCE),
    sym!(SO_RCVLOWAT),
    sym!(SO_RCVTIMEO),
    sym!(SO_REUSEADDR),
    sym!(SO_REUSEPORT),
    sym!(SO_SECURITY_AUTHENTICATION),
    sym!(SO_SECURITY_ENCRYPTION_NETWORK),
    sym!(SO_SECURITY_ENCRYPTION_TRANSPORT),
    sym!(SO_SNDBUF),
    sym!(SO_SNDLOWAT),
    sym!(SO_SNDTIMEO),
    sym!(SO_TIMESTAMP),
    sym!(SO_TIMESTAMPNS),
    sym!(SO_TIMESTAMPING),
    sym!(SO_TYPE),
    sym!(SO_ZEROCOPY),
    sym!(SO_DOMAIN),
    sym!(SO_PROTOCOL),
    sym!(SO_INCOMING_CPU),
    sym!(SO_BUSY_POLL),
    sym!(SO_TXTIME),
    sym!(SPLICE_F_GIFT),
    sym!(SPLICE_F_MORE),
    sym!(SPLICE_F_MOVE),
    sym!(SPLICE_F_NONBLOCK),
    sym!(TCP_CONGESTION),
    sym!(TCP_CORK),
    sym!(TCP_DEFER_ACCEPT),
    sym!(TCP_FASTOPEN),
    sym!(TCP_FASTOPEN_CONNECT),
    sym!(TCP_FASTOPEN_KEY),
    sym!(TCP_FASTOPEN_NO_COOKIE),
    sym!(TCP_INFO),
    sym!(TCP_INQ),
    sym!(TCP_CM_INQ),
    sym!(TCP_KEEPCNT),
    sym!(TCP_KEEPIDLE),
    sym!(TCP_KEEPINTVL),
    sym!(TCP_LINGER2),
    sym!(TCP_MAXSEG),
    sym!(TCP_MD5SIG),
    sym!(TCP_MD5SIG_EXT),
    sym!(TCP_NODELAY),
    sym!(TCP_NOTSENT_LOWAT),
    sym!(TCP_QUICKACK),
    sym!(TCP_SYNCNT),
    sym!(TCP_THIN_DUPACK),
    sym!(TCP_THIN_LINEAR_TIMEOUTS),
    sym!(TCP_TIMESTAMP),
    sym!(TCP_TX_DELAY = 37),
    sym!(TCP_USER_TIMEOUT),
    sym!(TCP_WINDOW_CLAMP),
    sym!(TCP_SAVE_SYN),
    sym!(TCP_SAVED_SYN),
    sym!(TCP_REPAIR),
    sym!(TCP_REPAIR_QUEUE),
    sym!(TCP_QUEUE_SEQ),
    sym!(TCP_REPAIR_OPTIONS),
    sym!(TCP_ULP),
    sym!(TCP_ZEROCOPY_RECEIVE),
    sym!(TCP_CC_INFO),
    // <linux/errqueue.h>
    sym!(SO_EE_ORIGIN_NONE = 0),
    sym!(SO_EE_ORIGIN_LOCAL = 1),
    sym!(SO_EE_ORIGIN_ICMP = 2),
    sym!(SO_EE_ORIGIN_ICMP6 = 3),
    sym!(SO_EE_ORIGIN_TIMESTAMPING = 4),
    sym!(SO_EE_ORIGIN_ZEROCOPY = 5),
    sym!(SO_EE_CODE_ZEROCOPY_COPIED = 1),
    sym!(SCM_TSTAMP_SND = 0),
    sym!(SCM_TSTAMP_SCHED = 1),
    sym!(SCM_TSTAMP_ACK = 2),
    sym!(SCM_TIMESTAMPING_OPT_STATS = 54),
    sym!(SOF_TIMESTAMPING_OPT_ID_TCP = 1 << 16),
    // <netinet/ip.h>: DSCP class selectors in the TOS byte
    sym!(IPTOS_CLASS_CS0 = 0x00),
    sym!(IPTOS_CLASS_CS1 = 0x20),
    sym!(IPTOS_CLASS_CS2 = 0x40),
    sym!(IPTOS_CLASS_CS3 = 0x60),
    sym!(IPTOS_CLASS_CS4 = 0x80),
    sym!(IPTOS_CLASS_CS5 = 0xa0),
    sym!(IPTOS_CLASS_CS6 = 0xc0),
    sym!(IPTOS_CLASS_CS7 = 0xe0),
    sym!(IPTOS_DSCP_CS0 = 0x00),
    sym!(IPTOS_DSCP_CS1 = 0x20),
    sym!(IPTOS_DSCP_CS2 = 0x40),
    sym!(IPTOS_DSCP_CS3 = 0x60),
    sym!(IPTOS_DSCP_CS4 = 0x80),
    sym!(IPTOS_DSCP_CS5 = 0xa0),
    sym!(IPTOS_DSCP_CS6 = 0xc0),
    sym!(IPTOS_DSCP_CS7 = 0xe0),
    sym!(IPTOS_DSCP_EF = 0xb8),
    sym!(NULL = 0),
];

fn symbol_table() -> &'static HashMap<&'static str, i64> {
    static TABLE: OnceLock<HashMap<&'static str, i64>> = OnceLock::new();
    TABLE.get_or_init(|| SYMBOLS.iter().copied().collect())
}

/// The Linux value of a symbol (`SOCK_STREAM` → 1); errno names (`ENOMSG`) count as symbols too,
/// as in packetdrill, where they appear as values in `ee_errno=…`.
pub fn symbol_value(name: &str) -> Option<i64> {
    symbol_table()
        .get(name)
        .copied()
        .or_else(|| errno_from_name(name).map(|e| i64::from(e as i32)))
}

/// Every known symbol name and value (errno names not included; see [`errno_from_name`]).
pub fn symbols() -> impl Iterator<Item = (&'static str, i64)> {
    SYMBOLS.iter().copied()
}

/// The errno a script names (`EINPROGRESS`), including the aliases Linux defines as equal to
/// another errno (`EWOULDBLOCK` is `EAGAIN`, `EDEADLOCK` is `EDEADLK`, `ENOTSUP` is `EOPNOTSUPP`).
pub fn errno_from_name(name: &str) -> Option<Errno> {
    static TABLE: OnceLock<HashMap<String, Errno>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table: HashMap<String, Errno> = (1..=255)
            .map(Errno::from_raw)
            .filter(|e| *e != Errno::UnknownErrno)
            .map(|e| (format!("{e:?}"), e))
            .collect();
        table.insert("EWOULDBLOCK".into(), Errno::EAGAIN);
        table.insert("EDEADLOCK".into(), Errno::EDEADLK);
        table.insert("ENOTSUP".into(), Errno::EOPNOTSUPP);
        table
    });
    table.get(name).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_values() {
        assert_eq!(symbol_value("SOCK_STREAM"), Some(1));
        assert_eq!(symbol_value("IPPROTO_TCP"), Some(6));
        assert_eq!(symbol_value("SOL_SOCKET"), Some(1));
        assert_eq!(symbol_value("SO_REUSEADDR"), Some(2));
        assert_eq!(symbol_value("TCP_NODELAY"), Some(1));
        assert_eq!(symbol_value("O_NONBLOCK"), Some(0o4000));
        assert_eq!(symbol_value("SIOCINQ"), Some(0x541B));
        assert_eq!(symbol_value("NULL"), Some(0));
        assert_eq!(symbol_value("NO_SUCH_SYMBOL"), None);
    }

    #[test]
    fn errno_names_and_aliases() {
        assert_eq!(errno_from_name("EINPROGRESS"), Some(Errno::EINPROGRESS));
        assert_eq!(errno_from_name("EWOULDBLOCK"), Some(Errno::EAGAIN));
        assert_eq!(errno_from_name("ENOTSUP"), Some(Errno::EOPNOTSUPP));
        assert_eq!(errno_from_name("EFOO"), None);
        assert_eq!(symbol_value("ENOMSG"), Some(42));
    }
}
