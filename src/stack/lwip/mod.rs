//! The `lwip` stack: lwIP 2.1.3 from Debian's `liblwip-dev`, through FFI, in virtual time.
//!
//! lwIP runs in this process. A netif of tcpconf's (`shim.c`) carries raw IP packets: what the
//! engine injects goes straight into `ip_input` under lwIP's core lock, so lwIP's immediate answers
//! are emitted before `inject` returns; what lwIP sends is queued with the run's current time. The
//! application side is lwIP's BSD-style socket API (`lwip_socket`, `lwip_accept`, …); blocking
//! calls are finished on a helper thread (`blocking.rs`), and TCP states come from lwIP's PCB lists.
//!
//! Time is virtual. Every lwIP timer (TCP's 250 ms tick and through it retransmission, delayed
//! ACK, keep-alive, TIME-WAIT) is a `sys_timeout` on the port's `sys_now()` clock, and the shim's
//! `sys_now()` interposes the library's, so lwIP's clock moves only when this adapter steps it:
//! [`Stack::wait`] runs the timers one due time after another and stops at the first step at which
//! lwIP sends something or a blocked call returns. lwIP counts whole milliseconds, so its timers
//! fire on millisecond boundaries of the run's time. lwIP's own threads still sleep in real time
//! (the tcpip thread between messages, waits inside socket calls), but nothing they wait for
//! happens unless the adapter makes it happen.
//!
//! lwIP is one library per process, so runs in one process take turns (`runtime::RunLock`);
//! `teardown` frees every PCB (TIME-WAIT included) without sending anything and closes every
//! socket, and the next `setup` replaces the netif and moves lwIP's clock to a fresh whole second,
//! so each run starts from an empty stack with its timers at the same phase. It also resets lwIP's
//! ISS generator and ephemeral-port cursor, the state of tcp.c that would otherwise carry over, so
//! a script's packets are the same whatever ran before it.

mod blocking;
mod ffi;
mod runtime;
mod sockopt;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use nix::libc::{self, c_int, c_void};

use self::blocking::{Helper, Pending};
use super::{
    Capabilities, Connection, Domain, Errno, Fcntl, Fd, Ioctl, NetConfig, ShutdownHow, Stack,
    StackError, StackEvent, StackInfo, Syscall, SyscallOutcome, SyscallOutput, SyscallProgress,
    TcpState, TimeModel,
};
use crate::clock::RealClock;

/// How far lwIP's clock at least jumps between runs: more than its longest timer interval (1 s)
/// beyond any pending timer, which lwIP schedules at most one interval ahead.
const RUN_GAP_MS: u32 = 2_000;

/// Where every run starts lwIP's ISS generator: its initial value in tcp.c, so each run draws the
/// ISSs a freshly started lwIP would (6510 plus the TCP ticks since the run began).
const RUN_ISS_BASE: u32 = 6510;

/// Where every run starts lwIP's ephemeral-port cursor: as if it had just handed out the first port
/// of its range (tcp.c, 0xc000), so a run's first ephemeral port is 49153.
const RUN_LAST_PORT: u16 = 0xc000;

/// The lwIP release Debian's package ships (`lwip.pc`).
const LWIP_VERSION: &str = "2.1.3";

/// What the adapter remembers about a socket it opened.
#[derive(Debug, Clone, Copy)]
struct SocketInfo {
    domain: Domain,
    /// SO_LINGER as last set: `Some(secs)` when on.
    linger: Option<u32>,
    /// The socket has a local port of its own (bound to one, or accepted), so connecting or
    /// listening does not draw from lwIP's ephemeral-port cursor.
    has_port: bool,
    /// `listen()` succeeded on it.
    listening: bool,
}

/// How many timer steps one `wait` may take before the adapter calls lwIP wedged: a timer that
/// keeps re-arming itself for "now" would otherwise spin forever. Waiting out a 120 s TIME-WAIT
/// takes about 1 300 steps (lwIP's shortest cyclic timer is 100 ms).
const MAX_STEPS: u32 = 10_000_000;

/// One run in progress.
#[derive(Debug)]
struct Run {
    /// The run's number in [`runtime`]'s queue.
    id: u64,
    /// The run's current time.
    now: Duration,
    /// lwIP's clock (ms) at the start of the run.
    base_ms: u32,
    sockets: BTreeMap<Fd, SocketInfo>,
    /// The blocked call's helper, if one is running.
    helper: Option<Helper>,
    _lock: runtime::RunLock,
}

/// lwIP as a stack under test.
#[derive(Debug, Default)]
pub struct LwipStack {
    run: Option<Run>,
}

impl LwipStack {
    /// An lwIP stack; lwIP itself starts on the first `setup` in the process.
    pub fn new() -> Self {
        Self::default()
    }

    fn run(&mut self) -> Result<&mut Run, StackError> {
        self.run
            .as_mut()
            .ok_or_else(|| StackError::Adapter("the lwip stack was used before setup".into()))
    }
}

impl Drop for LwipStack {
    fn drop(&mut self) {
        if let Some(run) = self.run.take() {
            run.finish();
        }
    }
}

/// lwIP's `enum tcp_state` (lwip/tcpbase.h) as tcpconf's states.
fn tcp_state(raw: i32) -> Option<TcpState> {
    Some(match raw {
        0 => TcpState::Closed,
        1 => TcpState::Listen,
        2 => TcpState::SynSent,
        3 => TcpState::SynReceived,
        4 => TcpState::Established,
        5 => TcpState::FinWait1,
        6 => TcpState::FinWait2,
        7 => TcpState::CloseWait,
        8 => TcpState::Closing,
        9 => TcpState::LastAck,
        10 => TcpState::TimeWait,
        _ => return None,
    })
}

/// The IPv4 address the shim configures for `ip`: itself, its IPv4-mapped form, or 0.0.0.0 for
/// a plain IPv6 run.
fn ipv4_or_unspecified(ip: IpAddr) -> [u8; 4] {
    match ip {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(a) => a.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED).octets(),
    }
}

/// A result from a C call that returns `-1` and sets `errno` on failure.
fn checked(ret: c_int) -> Result<c_int, Errno> {
    if ret < 0 {
        Err(ffi::last_errno())
    } else {
        Ok(ret)
    }
}

impl Run {
    /// lwIP's clock reading for run time `t` (lwIP counts whole milliseconds).
    fn lwip_ms(&self, t: Duration) -> u32 {
        let ms = u32::try_from(t.as_millis()).unwrap_or(u32::MAX);
        self.base_ms.wrapping_add(ms)
    }

    /// The run time of lwIP's clock reading `ms`.
    fn run_time(&self, ms: u32) -> Duration {
        Duration::from_millis(u64::from(ms.wrapping_sub(self.base_ms)))
    }

    /// Moves time forward to `t`, running each of lwIP's timers at its own due time. With
    /// `stop_on_event`, returns after the first step at which lwIP did something.
    fn advance(&mut self, t: Duration, stop_on_event: bool) -> Result<(), StackError> {
        let target = self.lwip_ms(t);
        for _ in 0..MAX_STEPS {
            let mut due = 0u32;
            // SAFETY: shim call writing one u32; takes the core lock itself.
            let pending = unsafe { ffi::tcpconf_lwip_next_timer(&raw mut due) } != 0;
            // Serial-number comparison: lwIP's clock wraps (RFC 1982 style, as lwIP compares).
            if pending && (due.wrapping_sub(target) as i32) <= 0 {
                self.now = self.run_time(due).max(self.now);
                runtime::set_now(self.now);
                // SAFETY: shim call; takes the core lock itself.
                unsafe { ffi::tcpconf_lwip_advance(due) };
                if stop_on_event && runtime::has_events() {
                    return Ok(());
                }
            } else {
                self.now = t.max(self.now);
                runtime::set_now(self.now);
                // SAFETY: as above.
                unsafe { ffi::tcpconf_lwip_advance(target) };
                return Ok(());
            }
        }
        Err(StackError::Adapter(format!(
            "lwIP's timers did not let time reach {t:?} within {MAX_STEPS} steps"
        )))
    }

    /// Waits for a blocked call whose socket became ready to report its return.
    fn settle(&self) -> Result<(), StackError> {
        self.helper.as_ref().map_or(Ok(()), Helper::settle)
    }

    /// Frees everything the run created, leaving lwIP empty for the next one.
    fn finish(mut self) {
        // Aborting every PCB first wakes a lingering close and fails any pending connect/read.
        // SAFETY: shim call; takes the core lock itself.
        unsafe { ffi::tcpconf_lwip_abandon_all() };
        if let Some(helper) = self.helper.take() {
            helper.cancel_and_join();
        }
        for fd in std::mem::take(&mut self.sockets).into_keys() {
            // SAFETY: plain call on an lwIP socket number. A failure only means it is gone.
            unsafe { ffi::lwip_close(fd) };
        }
        // Closing can leave orphan PCBs (a listener's unaccepted children): free those too.
        // SAFETY: as above.
        unsafe { ffi::tcpconf_lwip_abandon_all() };
        runtime::end_run();
    }

    /// Records a call that gives socket `fd` a local port: `bind` to `Some(port)`, or `None` for
    /// `connect` and `listen`, which take an ephemeral one if the socket has none. Drawing one
    /// moves lwIP's port cursor, which the next run's set-up then steers back.
    fn note_port_use(&mut self, fd: Fd, bind: Option<u16>) {
        let Some(info) = self.sockets.get_mut(&fd) else {
            return;
        };
        match bind {
            Some(0) => runtime::note_port_drawn(),
            Some(_) => info.has_port = true,
            None if !info.has_port => runtime::note_port_drawn(),
            None => {}
        }
    }

    fn socket(&mut self, fd: Fd) -> Result<&mut SocketInfo, Errno> {
        self.sockets.get_mut(&fd).ok_or(Errno::EBADF)
    }

    /// Hands a call that would block to the helper.
    fn block(&mut self, pending: Pending) -> Result<SyscallProgress, StackError> {
        if self.helper.as_ref().is_some_and(|h| !h.is_finished()) {
            return Err(StackError::Adapter(
                "a second call blocked while one was still blocked".into(),
            ));
        }
        if let Some(done) = self.helper.take() {
            done.cancel_and_join();
        }
        self.helper = Some(Helper::spawn(self.id, pending)?);
        Ok(SyscallProgress::Blocked)
    }

    fn syscall(&mut self, call: &Syscall) -> Result<SyscallProgress, StackError> {
        let done = |r: Result<(i64, SyscallOutput), Errno>| {
            Ok(SyscallProgress::Done(blocking::outcome(r)))
        };
        let ok0 = |r: Result<c_int, Errno>| done(r.map(|v| (i64::from(v), SyscallOutput::None)));
        if let Some(fd) = call.fd()
            && !self.sockets.contains_key(&fd)
        {
            return Ok(SyscallProgress::Done(SyscallOutcome::err(Errno::EBADF)));
        }
        match call {
            Syscall::Socket {
                domain,
                nonblocking,
            } => {
                let family = match domain {
                    Domain::Inet => libc::AF_INET,
                    Domain::Inet6 => libc::AF_INET6,
                };
                // SAFETY: plain call. lwIP's socket() takes no SOCK_NONBLOCK in the type.
                let fd = match checked(unsafe {
                    ffi::lwip_socket(family, libc::SOCK_STREAM, libc::IPPROTO_TCP)
                }) {
                    Ok(fd) => fd,
                    Err(e) => return done(Err(e)),
                };
                self.sockets.insert(
                    fd,
                    SocketInfo {
                        domain: *domain,
                        linger: None,
                        has_port: false,
                        listening: false,
                    },
                );
                if *nonblocking && let Err(e) = blocking::set_nonblocking(fd, true) {
                    return done(Err(e));
                }
                ok0(Ok(fd))
            }
            Syscall::Bind { fd, addr } => {
                self.note_port_use(*fd, Some(addr.port()));
                let sa = ffi::CSockAddr::new(*addr);
                // SAFETY: `sa` holds an address of its stated length.
                ok0(checked(unsafe {
                    ffi::lwip_bind(*fd, sa.as_ptr(), sa.len())
                }))
            }
            Syscall::Listen { fd, backlog } => {
                self.note_port_use(*fd, None);
                // SAFETY: plain call.
                let r = checked(unsafe { ffi::lwip_listen(*fd, *backlog) });
                if r.is_ok()
                    && let Ok(info) = self.socket(*fd)
                {
                    info.listening = true;
                }
                ok0(r)
            }
            Syscall::Accept { fd } => match blocking::accept_now(*fd) {
                Ok((new, output)) => {
                    let domain = self.socket(*fd).map_or(Domain::Inet, |s| s.domain);
                    if let Ok(new) = Fd::try_from(new) {
                        self.sockets.insert(
                            new,
                            SocketInfo {
                                domain,
                                linger: None,
                                has_port: true,
                                listening: false,
                            },
                        );
                    }
                    done(Ok((new, blocking::peer_for(domain, output))))
                }
                Err(Errno::EWOULDBLOCK) if !blocking::nonblocking(*fd).unwrap_or(true) => {
                    let domain = self.socket(*fd).map_or(Domain::Inet, |s| s.domain);
                    self.block(Pending::Accept { fd: *fd, domain })
                }
                Err(e) => done(Err(e)),
            },
            Syscall::Connect { fd, addr } => {
                self.note_port_use(*fd, None);
                let sa = ffi::CSockAddr::new(*addr);
                let was_nonblocking = match blocking::nonblocking(*fd) {
                    Ok(b) => b,
                    Err(e) => return done(Err(e)),
                };
                let r = blocking::with_nonblocking(*fd, || {
                    // SAFETY: `sa` holds an address of its stated length.
                    checked(unsafe { ffi::lwip_connect(*fd, sa.as_ptr(), sa.len()) })
                })
                .and_then(|r| r);
                match r {
                    Err(Errno::EINPROGRESS) if !was_nonblocking => {
                        self.block(Pending::Connect { fd: *fd })
                    }
                    r => ok0(r),
                }
            }
            Syscall::Read { fd, len, peek } => match blocking::recv_now(*fd, *len, *peek) {
                Ok(data) => done(Ok((data.len() as i64, SyscallOutput::Data(data)))),
                Err(Errno::EWOULDBLOCK) if !blocking::nonblocking(*fd).unwrap_or(true) => self
                    .block(Pending::Read {
                        fd: *fd,
                        len: *len,
                        peek: *peek,
                    }),
                Err(e) => done(Err(e)),
            },
            Syscall::Write { fd, data } => {
                let blocking_socket = !blocking::nonblocking(*fd).unwrap_or(true);
                match blocking::send_now(*fd, data) {
                    Ok(n) if n < data.len() && blocking_socket => self.block(Pending::Write {
                        fd: *fd,
                        data: data.clone(),
                        done: n,
                    }),
                    Err(Errno::EWOULDBLOCK) if blocking_socket => self.block(Pending::Write {
                        fd: *fd,
                        data: data.clone(),
                        done: 0,
                    }),
                    r => done(r.map(|n| (n as i64, SyscallOutput::None))),
                }
            }
            Syscall::Shutdown { fd, how } => {
                let how = match how {
                    ShutdownHow::Read => libc::SHUT_RD,
                    ShutdownHow::Write => libc::SHUT_WR,
                    ShutdownHow::Both => libc::SHUT_RDWR,
                };
                // SAFETY: plain call.
                ok0(checked(unsafe { ffi::lwip_shutdown(*fd, how) }))
            }
            Syscall::Close { fd } => self.close(*fd),
            Syscall::SetSockOpt { fd, opt } => {
                let (level, name, value) = sockopt::encode(opt)?;
                // SAFETY: `value` is valid for its length.
                let r = checked(unsafe {
                    ffi::lwip_setsockopt(
                        *fd,
                        level,
                        name,
                        value.as_ptr().cast::<c_void>(),
                        value.len() as libc::socklen_t,
                    )
                });
                if r.is_ok()
                    && let super::SockOpt::Linger(secs) = opt
                    && let Ok(info) = self.socket(*fd)
                {
                    info.linger = *secs;
                }
                ok0(r)
            }
            Syscall::GetSockOpt { fd, name } => {
                let (level, optname, shape) = sockopt::name(*name)?;
                let mut buf = vec![0u8; sockopt::buffer_len(shape)];
                let mut len = buf.len() as libc::socklen_t;
                // SAFETY: `buf` has room for `len` bytes.
                let r = checked(unsafe {
                    ffi::lwip_getsockopt(
                        *fd,
                        level,
                        optname,
                        buf.as_mut_ptr().cast::<c_void>(),
                        &raw mut len,
                    )
                });
                buf.truncate(len as usize);
                done(r.map(|_| (0, decode_option(shape, &buf))))
            }
            Syscall::Fcntl { fd, cmd } => {
                let (cmd, val) = match cmd {
                    Fcntl::GetFl => (libc::F_GETFL, 0),
                    Fcntl::SetFl(flags) => (libc::F_SETFL, *flags),
                };
                // SAFETY: plain call.
                ok0(checked(unsafe { ffi::lwip_fcntl(*fd, cmd, val) }))
            }
            Syscall::Ioctl { fd, request } => match request {
                Ioctl::InQueue => {
                    let mut n: c_int = 0;
                    // SAFETY: FIONREAD writes one int.
                    let r = checked(unsafe {
                        ffi::lwip_ioctl(
                            *fd,
                            libc::FIONREAD as libc::c_long,
                            (&raw mut n).cast::<c_void>(),
                        )
                    });
                    ok0(r.map(|_| n))
                }
                Ioctl::OutQueue => {
                    // lwIP's ioctl has no SIOCOUTQ; the shim reads the same quantity from the PCB.
                    // SAFETY: shim call; takes the core lock itself.
                    let n = unsafe { ffi::tcpconf_lwip_socket_outq(*fd) };
                    if n < 0 {
                        done(Err(Errno::ENOTCONN))
                    } else {
                        done(Ok((n as i64, SyscallOutput::None)))
                    }
                }
            },
        }
    }

    /// `close`. lwIP's close only waits when SO_LINGER is on with a time, the socket is blocking
    /// and data is still unacknowledged; only that case goes to the helper.
    fn close(&mut self, fd: Fd) -> Result<SyscallProgress, StackError> {
        if self
            .sockets
            .get(&fd)
            .is_some_and(|s| s.listening && s.linger == Some(0))
        {
            // netconn_delete aborts the PCB, and tcp_abandon asserts on a listening one, which
            // ends the process (Debian builds lwIP with LWIP_ASSERT on). Lingering is switched
            // off again so that teardown can close the socket.
            let (level, name, value) = sockopt::encode(&super::SockOpt::Linger(None))?;
            // SAFETY: `value` is valid for its length.
            unsafe {
                ffi::lwip_setsockopt(
                    fd,
                    level,
                    name,
                    value.as_ptr().cast::<c_void>(),
                    value.len() as libc::socklen_t,
                )
            };
            if let Ok(info) = self.socket(fd) {
                info.linger = None;
            }
            return Err(StackError::Unsupported(
                "lwIP 2.1.3 fails an assertion (tcp.c:576, \"don't call tcp_abort/tcp_abandon for \
                 listen-pcbs\") when a listening socket with SO_LINGER {1, 0} is closed"
                    .into(),
            ));
        }
        let lingers = self
            .sockets
            .get(&fd)
            .is_some_and(|s| s.linger.is_some_and(|secs| secs > 0));
        self.sockets.remove(&fd);
        // SAFETY: shim call; takes the core lock itself.
        let unacked = unsafe { ffi::tcpconf_lwip_socket_outq(fd) } > 0;
        if lingers && unacked && !blocking::nonblocking(fd).unwrap_or(true) {
            return self.block(Pending::Close { fd });
        }
        // SAFETY: plain call.
        let r = checked(unsafe { ffi::lwip_close(fd) });
        Ok(SyscallProgress::Done(blocking::outcome(
            r.map(|v| (i64::from(v), SyscallOutput::None)),
        )))
    }

    fn connections(&self) -> Vec<Connection> {
        let mut pcbs = vec![ffi::RawPcb::default(); 64];
        loop {
            // SAFETY: `pcbs` has room for its length; the shim takes the core lock itself.
            let n = unsafe { ffi::tcpconf_lwip_pcbs(pcbs.as_mut_ptr(), pcbs.len()) };
            if n <= pcbs.len() {
                pcbs.truncate(n);
                break;
            }
            pcbs.resize(n + 16, ffi::RawPcb::default());
        }
        let owners: BTreeMap<usize, Fd> = self
            .sockets
            .keys()
            // SAFETY: shim call; takes the core lock itself.
            .map(|&fd| (unsafe { ffi::tcpconf_lwip_socket_pcb(fd) }, fd))
            .filter(|&(id, _)| id != 0)
            .collect();
        pcbs.iter()
            .filter_map(|p| {
                let state = tcp_state(p.state)?;
                Some(Connection {
                    local: p.local(),
                    remote: (state != TcpState::Listen).then(|| p.remote()),
                    state,
                    fd: owners.get(&p.id).copied(),
                })
            })
            .collect()
    }
}

/// A `getsockopt` buffer as the engine wants it.
fn decode_option(shape: sockopt::Shape, buf: &[u8]) -> SyscallOutput {
    let int_at = |i: usize| {
        buf.get(i..i + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, i32::from_ne_bytes)
    };
    match shape {
        sockopt::Shape::Int => SyscallOutput::Int(i64::from(int_at(0))),
        sockopt::Shape::Linger => SyscallOutput::Linger {
            onoff: int_at(0) != 0,
            secs: int_at(4).max(0).unsigned_abs(),
        },
        sockopt::Shape::Bytes(_) => SyscallOutput::Bytes(buf.to_vec()),
    }
}

impl Stack for LwipStack {
    fn info(&self) -> StackInfo {
        StackInfo {
            name: "lwip".into(),
            version: LWIP_VERSION.into(),
            profile: "Debian liblwip-dev: TCP_MSS 1460, TCP_WND 65535, wscale 1, TCP_MSL 60 s"
                .into(),
            capabilities: Capabilities {
                time: TimeModel::Virtual,
                ipv4: true,
                // SAFETY: shim call reading a build constant.
                ipv6: unsafe { ffi::tcpconf_lwip_has_ipv6() } != 0,
                ipv4_mapped_ipv6: true,
                shell: false,
                fdless_states: true,
                accept_backlog: true,
                shut_rd: true,
                profiles: Vec::new(),
            },
        }
    }

    fn setup(&mut self, net: &NetConfig, _clock: RealClock) -> Result<(), StackError> {
        if let Some(old) = self.run.take() {
            old.finish();
        }
        runtime::ensure_started()?;
        let lock = runtime::RunLock::acquire();
        let ip6 = match net.local_ip {
            IpAddr::V6(a) if a.to_ipv4_mapped().is_none() => Some(a.octets()),
            _ => None,
        };
        let ip4 = ipv4_or_unspecified(net.local_ip);
        let gw4 = ipv4_or_unspecified(net.gateway_ip);
        let prefix4 = if ip6.is_some() {
            0
        } else {
            net.prefix_len.min(32)
        };
        let ip6_ptr = ip6.as_ref().map_or(std::ptr::null(), |a| a.as_ptr());
        // Jump lwIP's clock past every pending timer by more than its interval: lwIP then restarts
        // each cyclic timer one interval after the jump instead of catching up, and its TCP tick
        // stops for want of PCBs. Landing on a whole second puts every run's timers (100 ms, 1 s)
        // at the same phase, so a script's timing does not depend on the runs before it.
        // SAFETY: shim calls; they take the core lock themselves.
        let base_ms = unsafe {
            let base = ffi::tcpconf_lwip_now_ms()
                .wrapping_add(RUN_GAP_MS)
                .div_ceil(1000)
                .wrapping_mul(1000);
            ffi::tcpconf_lwip_advance(base);
            ffi::tcpconf_lwip_align_tcp_ticks();
            base
        };
        // lwIP's ISS generator and ephemeral-port cursor carry over between runs; reset them so a
        // script's packets do not depend on the runs before it (or on their order under -j).
        // The cursor only needs it after a run that drew a port (the steering costs ~1 ms).
        let ports = c_int::from(runtime::take_port_drawn());
        // SAFETY: shim call; takes the core lock itself; no PCBs are left from earlier runs.
        if unsafe { ffi::tcpconf_lwip_reset_counters(RUN_ISS_BASE, RUN_LAST_PORT, ports) } != 0 {
            return Err(StackError::Adapter(
                "cannot reset lwIP's ISS generator and ephemeral-port cursor (no free PCB, or \
                 lwIP's port range is not 0xc000-0xffff)"
                    .into(),
            ));
        }
        let id = runtime::begin_run();
        // SAFETY: every pointer is valid for the length the shim reads (4, 4, 16 bytes).
        let ret = unsafe {
            ffi::tcpconf_lwip_netif_setup(ip4.as_ptr(), prefix4, gw4.as_ptr(), ip6_ptr, net.mtu)
        };
        if ret != 0 {
            runtime::end_run();
            return Err(StackError::Adapter(format!(
                "lwIP refused the netif for {} (IPv6 support: {})",
                net.local_ip,
                self.info().capabilities.ipv6
            )));
        }
        self.run = Some(Run {
            id,
            now: Duration::ZERO,
            base_ms,
            sockets: BTreeMap::new(),
            helper: None,
            _lock: lock,
        });
        Ok(())
    }

    fn inject(&mut self, now: Duration, packet: &[u8]) -> Result<(), StackError> {
        self.run()?.advance(now, false)?;
        // SAFETY: `packet` is valid for its length; the shim copies it into a pbuf.
        if unsafe { ffi::tcpconf_lwip_input(packet.as_ptr(), packet.len()) } != 0 {
            return Err(StackError::Adapter(format!(
                "lwIP could not take a {}-byte packet (no pbuf memory, or over 65535 bytes)",
                packet.len()
            )));
        }
        Ok(())
    }

    fn wait(&mut self, until: Duration) -> Result<Vec<StackEvent>, StackError> {
        let run = self.run()?;
        loop {
            run.settle()?;
            let events = runtime::take_events();
            if !events.is_empty() || run.now >= until {
                return Ok(events);
            }
            run.advance(until, true)?;
        }
    }

    fn syscall(&mut self, now: Duration, call: &Syscall) -> Result<SyscallProgress, StackError> {
        let run = self.run()?;
        run.advance(now, false)?;
        run.syscall(call)
    }

    fn connections(&mut self) -> Result<Vec<Connection>, StackError> {
        Ok(self.run()?.connections())
    }

    fn teardown(&mut self) -> Result<(), StackError> {
        if let Some(run) = self.run.take() {
            run.finish();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adapter_can_move_to_a_runner_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<LwipStack>();
    }

    #[test]
    fn lwip_states_map_in_order() {
        assert_eq!(tcp_state(1), Some(TcpState::Listen));
        assert_eq!(tcp_state(3), Some(TcpState::SynReceived));
        assert_eq!(tcp_state(10), Some(TcpState::TimeWait));
        assert_eq!(tcp_state(11), None);
    }

    #[test]
    fn option_buffers_decode_without_panicking_on_short_input() {
        assert_eq!(
            decode_option(sockopt::Shape::Int, &7i32.to_ne_bytes()),
            SyscallOutput::Int(7)
        );
        assert_eq!(
            decode_option(sockopt::Shape::Linger, &[1, 0]),
            SyscallOutput::Linger {
                onoff: false,
                secs: 0
            }
        );
    }
}
