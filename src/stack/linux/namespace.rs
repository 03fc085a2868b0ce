//! The linux adapter's thread inside the run's private network namespace.
//!
//! **A thread, not a forked child.** `unshare(CLONE_NEWNET)` moves only the calling thread into the
//! new namespace; threads it spawns and processes it forks inherit it. So one fresh thread per run
//! unshares, builds the TUN device and routes, and then stays in the namespace to do the few things
//! that must happen *from inside* it: create sockets (a socket belongs to its creator's namespace),
//! read and write `/proc/sys/net` (procfs resolves those files through the reading thread's
//! namespace), fork shell commands, and finish blocking calls. Everything that only needs an fd —
//! injecting, reading the TUN, non-blocking syscalls, sock_diag queries — runs on the engine's own
//! thread with no hand-off, which is what keeps timestamps within microseconds. A forked child would
//! need an IPC protocol for every one of those calls (or fd passing over a Unix socket), and fork()
//! in a multi-threaded process is only safe if the child execs at once.
//!
//! **Nothing left behind.** The namespace is never named or bind-mounted: it lives exactly as long
//! as this thread, the TUN fd and the sockets created in it. The TUN device is not persistent and
//! vanishes with its fd. At teardown (or when the adapter is dropped during a panic) the thread is
//! told to stop and joined; if the process dies (Ctrl-C, abort), the kernel closes every fd and ends
//! every thread, so the device and the namespace go with it. The host namespace is never touched:
//! every netlink socket and sysctl write is made from this thread after it has unshared.

use std::io::{self, PipeReader, PipeWriter, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::libc;
use nix::sched::{CloneFlags, unshare};
use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, socket};

use super::blocking::{Finished, Pending};
use crate::clock::RealClock;
use crate::stack::netns::netlink::{self, Netlink};
use crate::stack::netns::poll::{self, drain_pipe, nonblocking_pipe};
use crate::stack::netns::tun::{TUN_NAME, Tun};
use crate::stack::netns::{
    PRIVILEGE_HINT, enter_private, network, setup_error, tun_up, wait_until_local,
};
use crate::stack::{Domain, Errno, NetConfig, StackError, SyscallOutcome};

/// Sysctls that decide behaviour scripts check, reported in the stack's profile.
const PROFILE_SYSCTLS: [&str; 7] = [
    "tcp_rfc1337",
    "tcp_tw_reuse",
    "tcp_timestamps",
    "tcp_sack",
    "tcp_window_scaling",
    "tcp_syn_retries",
    "tcp_congestion_control",
];

/// A blocking call that finished, stamped on the engine's clock.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) at: Duration,
    pub(crate) finished: Finished,
}

/// What the namespace thread hands back once the namespace is ready.
#[derive(Debug)]
pub(crate) struct Inside {
    pub(crate) tun: Tun,
    /// A NETLINK_SOCK_DIAG socket bound to the namespace.
    pub(crate) diag: Netlink,
    /// `name=value` of [`PROFILE_SYSCTLS`] as the namespace sees them.
    pub(crate) profile: String,
}

/// The engine's end of the completion channel: poll `wake_fd`, then drain.
#[derive(Debug)]
pub(crate) struct Completions {
    rx: mpsc::Receiver<Completion>,
    wake: PipeReader,
}

impl Completions {
    /// The fd that becomes readable when a completion is queued.
    pub(crate) fn wake_fd(&self) -> i32 {
        self.wake.as_raw_fd()
    }

    /// Every completion queued so far.
    pub(crate) fn drain(&mut self) -> Vec<Completion> {
        drain_pipe(&mut self.wake);
        self.rx.try_iter().collect()
    }
}

enum Request {
    Socket {
        domain: Domain,
        nonblocking: bool,
        reply: mpsc::SyncSender<Result<OwnedFd, Errno>>,
    },
    Spawn {
        command: String,
        reply: mpsc::SyncSender<io::Result<Child>>,
    },
    Block(Pending),
    Stop,
}

/// The sending side of completions, usable from the namespace thread and its helpers.
struct Notifier {
    tx: mpsc::Sender<Completion>,
    wake: PipeWriter,
}

impl Notifier {
    fn send(&self, completion: Completion) {
        if self.tx.send(completion).is_ok() {
            // A full pipe already holds a wake-up; the byte's value is irrelevant.
            let _ = (&self.wake).write(&[1]);
        }
    }

    fn try_clone(&self) -> io::Result<Notifier> {
        Ok(Notifier {
            tx: self.tx.clone(),
            wake: self.wake.try_clone()?,
        })
    }
}

/// A live namespace: the handle through which the engine's thread asks the namespace thread.
#[derive(Debug)]
pub(crate) struct Namespace {
    requests: mpsc::Sender<Request>,
    wake: PipeWriter,
    /// Feeds the closer thread (see `Closer`) directly, without a hop through the namespace thread.
    closer: Option<mpsc::Sender<OwnedFd>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Request::Socket { .. } => "Socket",
            Request::Spawn { .. } => "Spawn",
            Request::Block(_) => "Block",
            Request::Stop => "Stop",
        })
    }
}

fn adapter(what: &str) -> impl FnOnce(io::Error) -> StackError + '_ {
    move |e| StackError::Adapter(format!("{what}: {e}"))
}

impl Namespace {
    /// Starts a thread in a new network namespace configured for `net`, and returns once the
    /// namespace is ready (or why it could not be made).
    pub(crate) fn create(
        net: &NetConfig,
        clock: RealClock,
    ) -> Result<(Namespace, Inside, Completions), StackError> {
        let (requests, request_rx) = mpsc::channel();
        let (wake_rx, wake) = nonblocking_pipe().map_err(adapter("pipe"))?;
        let (done_tx, done_rx) = mpsc::channel();
        let (done_wake_rx, done_wake) = nonblocking_pipe().map_err(adapter("pipe"))?;
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let net = net.clone();
        let notifier = Notifier {
            tx: done_tx,
            wake: done_wake,
        };
        let thread = std::thread::Builder::new()
            .name("tcpconf-netns".into())
            .spawn(move || {
                // Building the namespace costs milliseconds of kernel CPU: not at real-time
                // priority, where it would delay other runs; the thread serves at the priority it
                // inherited.
                let built =
                    crate::engine::priority::at_normal_priority(|| enter_and_configure(&net));
                let ready = built.and_then(|inside| {
                    let closer = Closer::start(&notifier, clock)?;
                    Ok((inside, closer))
                });
                let (inside, closer) = match ready {
                    Ok((inside, (closer, sender))) => (Ok((inside, sender)), Some(closer)),
                    Err(e) => (Err(e), None),
                };
                if ready_tx.send(inside).is_ok()
                    && let Some(closer) = closer
                {
                    serve(request_rx, wake_rx, notifier, clock);
                    // Runs once the engine has dropped its sender; its last close, if any, was
                    // unblocked by teardown's SOCK_DESTROY.
                    let _ = closer.join();
                }
            })
            .map_err(adapter("spawning the namespace thread"))?;
        let mut ns = Namespace {
            requests,
            wake,
            closer: None,
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok((inside, closer))) => {
                ns.closer = Some(closer);
                Ok((
                    ns,
                    inside,
                    Completions {
                        rx: done_rx,
                        wake: done_wake_rx,
                    },
                ))
            }
            Ok(Err(e)) => {
                ns.stop()?;
                Err(e)
            }
            Err(_) => {
                ns.stop()?;
                Err(StackError::Adapter(
                    "the namespace thread ended during set-up".into(),
                ))
            }
        }
    }

    fn ask(&self, request: Request) -> Result<(), StackError> {
        self.requests
            .send(request)
            .map_err(|_| StackError::Adapter("the namespace thread is gone".into()))?;
        let _ = (&self.wake).write(&[1]);
        Ok(())
    }

    /// `socket(domain, SOCK_STREAM [| SOCK_NONBLOCK], IPPROTO_TCP)` inside the namespace.
    pub(crate) fn socket(
        &self,
        domain: Domain,
        nonblocking: bool,
    ) -> Result<Result<OwnedFd, Errno>, StackError> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.ask(Request::Socket {
            domain,
            nonblocking,
            reply,
        })?;
        rx.recv()
            .map_err(|_| StackError::Adapter("the namespace thread did not answer".into()))
    }

    /// Starts `sh -c command` inside the namespace.
    pub(crate) fn spawn_shell(&self, command: &str) -> Result<Child, StackError> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.ask(Request::Spawn {
            command: command.to_owned(),
            reply,
        })?;
        rx.recv()
            .map_err(|_| StackError::Adapter("the namespace thread did not answer".into()))?
            .map_err(adapter("starting sh -c"))
    }

    /// Hands a blocked call to the namespace thread, which reports its completion.
    pub(crate) fn block(&self, pending: Pending) -> Result<(), StackError> {
        self.ask(Request::Block(pending))
    }

    /// Closes a lingering socket on a helper thread (close may wait for the peer's ACK).
    pub(crate) fn linger_close(&self, fd: OwnedFd) -> Result<(), StackError> {
        self.closer
            .as_ref()
            .and_then(|c| c.send(fd).ok())
            .ok_or_else(|| StackError::Adapter("the closer thread is gone".into()))
    }

    /// Stops the namespace thread (abandoning a blocked call) and waits for it to end.
    pub(crate) fn stop(&mut self) -> Result<(), StackError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        // Without a sender the closer ends after its current close, and the namespace thread
        // joins it on the way out.
        self.closer = None;
        let _ = self.ask(Request::Stop);
        thread
            .join()
            .map_err(|_| StackError::Adapter("the namespace thread panicked".into()))
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The namespace thread's loop: serve requests, and finish the blocked call when its socket is ready.
fn serve(
    requests: mpsc::Receiver<Request>,
    mut wake: PipeReader,
    notifier: Notifier,
    clock: RealClock,
) {
    let mut pending: Option<Pending> = None;
    loop {
        let mut fds = vec![poll::pollfd(wake.as_raw_fd(), libc::POLLIN)];
        if let Some(p) = &pending {
            fds.push(poll::pollfd(p.raw_fd(), p.events()));
        }
        if poll::poll(&mut fds, None).is_err() {
            return;
        }
        if fds.get(1).is_some_and(|f| f.revents != 0)
            && let Some(finished) = pending.as_mut().and_then(Pending::resume)
        {
            pending = None;
            notifier.send(Completion {
                at: clock.now(),
                finished,
            });
        }
        if fds[0].revents == 0 {
            continue;
        }
        drain_pipe(&mut wake);
        loop {
            match requests.try_recv() {
                Ok(Request::Socket {
                    domain,
                    nonblocking,
                    reply,
                }) => {
                    let _ = reply.send(new_socket(domain, nonblocking));
                }
                Ok(Request::Spawn { command, reply }) => {
                    let _ = reply.send(Command::new("/bin/sh").arg("-c").arg(command).spawn());
                }
                Ok(Request::Block(p)) => pending = Some(p),
                Ok(Request::Stop) | Err(mpsc::TryRecvError::Disconnected) => return,
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
    }
}

fn new_socket(domain: Domain, nonblocking: bool) -> Result<OwnedFd, Errno> {
    let mut flags = SockFlag::SOCK_CLOEXEC;
    if nonblocking {
        flags |= SockFlag::SOCK_NONBLOCK;
    }
    let family = match domain {
        Domain::Inet => AddressFamily::Inet,
        Domain::Inet6 => AddressFamily::Inet6,
    };
    socket(family, SockType::Stream, flags, SockProtocol::Tcp)
}

/// The thread that performs `close()` on lingering sockets, which may block until the peer ACKs
/// the FIN (`SO_LINGER` with a timeout). It exists for the whole run so that such a close costs one
/// thread wake-up, not a thread spawn, before its FIN leaves; it is spawned by the namespace thread
/// and so lives in the namespace too.
struct Closer;

impl Closer {
    fn start(
        notifier: &Notifier,
        clock: RealClock,
    ) -> Result<(JoinHandle<()>, mpsc::Sender<OwnedFd>), StackError> {
        let notifier = notifier.try_clone().map_err(adapter("pipe"))?;
        let (tx, rx) = mpsc::channel::<OwnedFd>();
        let thread = std::thread::Builder::new()
            .name("tcpconf-closer".into())
            .spawn(move || {
                for fd in rx {
                    // close(2) itself, for its errno (dropping an OwnedFd ignores it).
                    let outcome = match nix::unistd::close(fd) {
                        Ok(_) => SyscallOutcome::ok(0),
                        Err(e) => SyscallOutcome::err(e),
                    };
                    notifier.send(Completion {
                        at: clock.now(),
                        finished: Finished::plain(outcome),
                    });
                }
            })
            .map_err(adapter("spawning the closer thread"))?;
        Ok((thread, tx))
    }
}

/// Unshares the calling thread's network namespace and builds the run's network in it.
fn enter_and_configure(net: &NetConfig) -> Result<Inside, StackError> {
    let mut route = enter_private(net)?;
    let (tun, index) = tun_up(&mut route, TUN_NAME, net)?;
    netlink::add_address(&mut route, index, net.local_ip, net.prefix_len).map_err(setup_error(
        &format!("adding {}/{}", net.local_ip, net.prefix_len),
    ))?;
    wait_until_local(&mut route, net.local_ip)?;
    let remote_net = network(net.remote_ip, net.prefix_len);
    // A remote in the local subnet is reached through the connected route already.
    if remote_net != network(net.local_ip, net.prefix_len) {
        let gateway = Some(net.gateway_ip).filter(|gw| {
            gw.is_ipv4() == net.local_ip.is_ipv4() && *gw != net.local_ip && !gw.is_unspecified()
        });
        netlink::add_route(&mut route, index, remote_net, net.prefix_len, gateway).map_err(
            setup_error(&format!(
                "routing {remote_net}/{} via {gateway:?}",
                net.prefix_len
            )),
        )?;
    }
    let diag =
        Netlink::open(SockProtocol::NetlinkSockDiag).map_err(setup_error("sock_diag socket"))?;
    Ok(Inside {
        tun,
        diag,
        profile: read_profile(),
    })
}

/// The profile sysctls of the calling thread's namespace, as `name=value` words.
fn read_profile() -> String {
    PROFILE_SYSCTLS
        .iter()
        .map(|name| {
            let value = std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
                .map(|v| v.trim().replace('\t', " "))
                .unwrap_or_else(|e| format!("unreadable ({e})"));
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The profile a fresh namespace gets, read from a short-lived one (namespaces start from kernel
/// defaults, not from the host's settings, except the congestion control they inherit).
pub(crate) fn probe_profile() -> Result<String, StackError> {
    std::thread::Builder::new()
        .name("tcpconf-probe".into())
        .spawn(|| {
            unshare(CloneFlags::CLONE_NEWNET).map_err(|e| {
                StackError::Environment(format!("unshare(CLONE_NEWNET): {e}; {PRIVILEGE_HINT}"))
            })?;
            Ok(read_profile())
        })
        .map_err(adapter("spawning the probe thread"))?
        .join()
        .map_err(|_| StackError::Adapter("the probe thread panicked".into()))?
}
