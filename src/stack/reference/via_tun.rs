//! `reference --via tun`: the bundled host as an external userspace stack behind a TUN device, in
//! real time.
//!
//! A userspace stack attached to a TUN *is* the reader and writer of the device's fd, so the harness
//! cannot share that fd: it has to reach the stack through the kernel. Each run therefore gets a
//! private network namespace (built with the steps of `stack/netns`) holding
//! two TUN devices and a kernel that routes between them:
//!
//! ```text
//!  engine ── fd ── tun0 ──▶ namespace kernel (ip_forward) ──▶ tcpref0 ── fd ── reference Host
//!                  default route                       local_ip/32 (or /128)      (its own thread)
//! ```
//!
//! Two TUNs and forwarding rather than a veth pair or TAP devices: a veth pair has no fd for a
//! userspace stack to hold, and TAP would add Ethernet framing and ARP/ND the stack does not speak.
//! With TUN on both sides every packet the engine injects and every packet the stack sends crosses a
//! real kernel-provided device, exactly as for an external stack, and the harness side is the very
//! device the `linux` adapter reads. The kernel owns no address on either device — in particular not
//! the stack's `local_ip` — so it never answers for the stack: it only forwards (which decrements the
//! TTL / hop limit, a field scripts do not check unless they ask). Reverse-path filtering is off,
//! because with no address on the input device the kernel's source validation would otherwise
//! reject every forwarded packet.
//!
//! Being a real path, it treats packets as a router does, which virtual time does not: the kernel
//! drops an injected IPv4 packet with a bad header checksum or a malformed IP header before the
//! stack sees it, and does not forward one whose TTL / hop limit would expire in transit (a script
//! injecting TTL 1 sees the stack receive nothing). TCP headers and checksums pass untouched.
//!
//! Forwarding happens inside the `write()` to the TUN (TUN without NAPI delivers in process
//! context), so a packet the engine injected is queued on `tcpref0` before `inject` returns, and one
//! the stack wrote is readable on `tun0` before the stack thread moves on. The stack thread
//! therefore drains `tcpref0` before it serves any request: a syscall or state query issued after an
//! injection sees that injection processed, as in virtual time.
//!
//! The reference host lives behind a lock that two threads share. The stack thread drives it in
//! real time: packets read from `tcpref0` are injected at the clock's current time, timers run when
//! the clock reaches the host's `poll_at`, and the thread sleeps in `ppoll` until the earliest of
//! the next timer, the next packet and a wake-up (spinning for the last [`SPIN_WINDOW`], like the
//! engine's clock). The engine's syscalls and state queries do not hand over to that thread — a
//! hand-off costs a wake-up, 50–80 µs here, on the engine's critical path — but take the lock and
//! call the host themselves, after handing it whatever the kernel has forwarded to `tcpref0` (so a
//! request sees every packet injected before it, as in virtual time), then write out what it sent
//! and wake the stack thread if its next timer may have moved. A call that blocks comes back later
//! as [`StackEvent::Returned`], reported by whichever thread saw it return.

use std::io::{PipeReader, PipeWriter, Write};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::libc;

use super::ReferenceStack;
use crate::clock::{RealClock, SPIN_WINDOW};
use crate::stack::netns::poll::{self, drain_pipe, nonblocking_pipe};
use crate::stack::netns::tun::{TUN_BUF, TUN_NAME, Tun, is_ipv6_noise};
use crate::stack::netns::{self, netlink, reaper, write_sysctl};
use crate::stack::{
    Connection, Endpoint, NetConfig, Outbound, Stack, StackError, StackEvent, StackInfo, Syscall,
    SyscallOutcome, SyscallProgress, TcpState, TimeModel,
};
use crate::tcp::Profile;

/// The device the reference stack holds (the harness holds [`TUN_NAME`]).
const STACK_TUN: &std::ffi::CStr = c"tcpref0";

/// The bundled reference TCP behind a TUN device in a private namespace, in real time.
#[derive(Debug)]
pub struct ReferenceTunStack {
    profile: Profile,
    run: Option<Run>,
}

/// The reference host and its device, shared by the engine's thread and the stack thread.
#[derive(Debug)]
struct Host {
    stack: ReferenceStack,
    /// The stack's device, `tcpref0`.
    tun: Tun,
    buf: Vec<u8>,
    /// The engine asked the stack thread to stop.
    stopping: bool,
}

/// A blocked call that returned, and when.
type Returned = (Duration, SyscallOutcome);

impl Host {
    /// Hands the host every packet the kernel has forwarded to it, at the time it is read.
    fn ingest(&mut self, clock: &RealClock) -> Result<(), StackError> {
        while let Some(n) = self.tun.recv(&mut self.buf)? {
            let packet = self.buf.get(..n).unwrap_or_default();
            if !is_ipv6_noise(packet) {
                self.stack.inject(clock.now(), packet)?;
            }
        }
        Ok(())
    }

    /// Runs the timers that are due and writes out everything the host sent; returns the blocked
    /// call that returned meanwhile, if one did.
    fn flush(&mut self, clock: &RealClock) -> Result<Vec<Returned>, StackError> {
        let mut returned = Vec::new();
        loop {
            let events = self.stack.wait(clock.now())?;
            if events.is_empty() {
                return Ok(returned);
            }
            for event in events {
                match event {
                    StackEvent::Sent(out) => self.tun.send(&out.packet)?,
                    StackEvent::Returned { outcome, .. } => returned.push((clock.now(), outcome)),
                }
            }
        }
    }
}

fn lock(host: &Mutex<Host>) -> Result<MutexGuard<'_, Host>, StackError> {
    host.lock()
        .map_err(|_| StackError::Adapter("the reference stack's thread panicked".into()))
}

/// What the stack thread reports on its own.
enum Report {
    /// The blocked call returned (on a timer, or on a packet the thread handed the host).
    Returned(Returned),
    /// The thread stopped because the stack or its device failed.
    Failed(StackError),
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Report::Returned((at, outcome)) => write!(f, "Returned({at:?}, {outcome:?})"),
            Report::Failed(e) => write!(f, "Failed({e})"),
        }
    }
}

/// The stack thread's channel back to the engine: a message and a byte on a pipe to wake `ppoll`.
struct Reporter {
    tx: mpsc::Sender<Report>,
    wake: PipeWriter,
}

impl Reporter {
    fn send(&self, report: Report) {
        if self.tx.send(report).is_ok() {
            // A full pipe already holds a wake-up; the byte's value is irrelevant.
            let _ = (&self.wake).write(&[1]);
        }
    }
}

/// Everything one run holds on the engine's side.
#[derive(Debug)]
struct Run {
    clock: RealClock,
    /// The harness's device, `tun0`.
    tun: Tun,
    host: Arc<Mutex<Host>>,
    /// Wakes the stack thread (its next timer may have moved, or it must stop).
    wake: PipeWriter,
    reports: mpsc::Receiver<Report>,
    reports_wake: PipeReader,
    thread: Option<JoinHandle<()>>,
    /// Events seen outside `wait` (stamped when seen), handed out by the next `wait`.
    events: Vec<StackEvent>,
    buf: Vec<u8>,
}

fn adapter(what: &str) -> impl FnOnce(std::io::Error) -> StackError + '_ {
    move |e| StackError::Adapter(format!("{what}: {e}"))
}

impl ReferenceTunStack {
    /// A reference stack that will run `profile` behind a TUN device.
    pub fn new(profile: Profile) -> Self {
        Self { profile, run: None }
    }

    fn run(&mut self) -> Result<&mut Run, StackError> {
        self.run
            .as_mut()
            .ok_or_else(|| StackError::Adapter("the reference stack was used before setup".into()))
    }
}

impl Stack for ReferenceTunStack {
    fn info(&self) -> StackInfo {
        let mut info = ReferenceStack::new(self.profile.clone()).info();
        info.profile = format!("{} via tun", self.profile.name);
        info.capabilities.time = TimeModel::Real;
        info
    }

    fn setup(&mut self, net: &NetConfig, clock: RealClock) -> Result<(), StackError> {
        self.teardown()?;
        self.run = Some(Run::start(net, clock, self.profile.clone())?);
        Ok(())
    }

    fn inject(&mut self, _now: Duration, packet: &[u8]) -> Result<(), StackError> {
        let run = self.run()?;
        run.collect_packets()?;
        run.tun.send(packet)?;
        // The kernel forwarded the packet to the stack's device inside the write; the stack thread
        // wakes up on it, and a request made before that hands it to the host first.
        Ok(())
    }

    fn wait(&mut self, until: Duration) -> Result<Vec<StackEvent>, StackError> {
        let run = self.run()?;
        loop {
            run.collect_packets()?;
            run.collect_reports()?;
            if !run.events.is_empty() {
                return Ok(run.take_events());
            }
            let fds = [run.tun.raw_fd(), run.reports_wake.as_raw_fd()];
            if !poll::pause_until(&run.clock, until, &fds)? {
                return Ok(Vec::new());
            }
        }
    }

    fn syscall(&mut self, _now: Duration, call: &Syscall) -> Result<SyscallProgress, StackError> {
        let run = self.run()?;
        run.collect_packets()?;
        let progress = run.with_host(|host, clock| host.stack.syscall(clock.now(), call))?;
        // The call may have armed a timer earlier than the one the stack thread sleeps towards.
        run.wake_stack_thread();
        // What the call sent (connect's SYN, close's FIN) crossed the kernel inside the host's
        // writes: it is readable on tun0 now.
        run.collect_packets()?;
        Ok(progress)
    }

    fn connections(&mut self) -> Result<Vec<Connection>, StackError> {
        self.run()?.with_host(|host, _| host.stack.connections())
    }

    fn state(&mut self, of: &Endpoint) -> Result<Option<TcpState>, StackError> {
        self.run()?.with_host(|host, _| host.stack.state(of))
    }

    fn teardown(&mut self) -> Result<(), StackError> {
        match self.run.take() {
            Some(run) => run.shutdown(),
            None => Ok(()),
        }
    }
}

impl Drop for ReferenceTunStack {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

impl Run {
    /// Starts the stack thread, which builds the namespace and then serves the run.
    fn start(net: &NetConfig, clock: RealClock, profile: Profile) -> Result<Run, StackError> {
        let (wake_rx, wake) = nonblocking_pipe().map_err(adapter("pipe"))?;
        let (report_tx, reports) = mpsc::channel();
        let (reports_wake, report_wake) = nonblocking_pipe().map_err(adapter("pipe"))?;
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let net = net.clone();
        let reporter = Reporter {
            tx: report_tx,
            wake: report_wake,
        };
        let thread = std::thread::Builder::new()
            .name("tcpconf-reference".into())
            .spawn(move || {
                // Off real-time priority while building (milliseconds of kernel CPU that other
                // runs' due events would otherwise wait for); it serves at the inherited one.
                let built = crate::engine::priority::at_normal_priority(|| build_namespace(&net));
                let (harness, stack_tun) = match built {
                    Ok(tuns) => tuns,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let mut stack = ReferenceStack::new(profile);
                if let Err(e) = stack.setup(&net, clock) {
                    reaper::release(stack_tun);
                    let _ = ready_tx.send(Err(e));
                    return;
                }
                let host = Arc::new(Mutex::new(Host {
                    stack,
                    tun: stack_tun,
                    buf: vec![0; TUN_BUF],
                    stopping: false,
                }));
                if ready_tx.send(Ok((harness, Arc::clone(&host)))).is_err() {
                    return;
                }
                if let Err(e) = serve(&host, &clock, &reporter, wake_rx) {
                    reporter.send(Report::Failed(e));
                }
            })
            .map_err(adapter("spawning the reference stack's thread"))?;
        let (tun, host) = match ready_rx.recv() {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(StackError::Adapter(
                    "the reference stack's thread ended during set-up".into(),
                ));
            }
        };
        Ok(Run {
            clock,
            tun,
            host,
            wake,
            reports,
            reports_wake,
            thread: Some(thread),
            events: Vec::new(),
            buf: vec![0; TUN_BUF],
        })
    }

    /// Serves a request on the engine's thread: takes the lock, hands the host what the kernel
    /// forwarded to it (so the request sees every packet injected before it), runs `f`, and writes
    /// out what the host sent meanwhile.
    fn with_host<T>(
        &mut self,
        f: impl FnOnce(&mut Host, &RealClock) -> Result<T, StackError>,
    ) -> Result<T, StackError> {
        let clock = self.clock;
        let (answer, returned) = {
            let mut host = lock(&self.host)?;
            host.ingest(&clock)?;
            let answer = f(&mut host, &clock);
            (answer, host.flush(&clock)?)
        };
        self.events.extend(
            returned
                .into_iter()
                .map(|(at, outcome)| StackEvent::Returned { at, outcome }),
        );
        answer
    }

    fn wake_stack_thread(&self) {
        // A full pipe already holds a wake-up.
        let _ = (&self.wake).write(&[1]);
    }

    /// Why the stack thread stopped, if it said so.
    fn failure(&mut self) -> StackError {
        self.reports
            .try_iter()
            .find_map(|r| match r {
                Report::Failed(e) => Some(e),
                Report::Returned(_) => None,
            })
            .unwrap_or_else(|| {
                StackError::Adapter("the reference stack's thread has stopped".into())
            })
    }

    /// Reads every packet the stack sent through the kernel, stamping each as it is read.
    fn collect_packets(&mut self) -> Result<(), StackError> {
        while let Some(n) = self.tun.recv(&mut self.buf)? {
            let at = self.clock.now();
            let packet = self.buf.get(..n).unwrap_or_default().to_vec();
            if !is_ipv6_noise(&packet) {
                self.events.push(StackEvent::Sent(Outbound { at, packet }));
            }
        }
        Ok(())
    }

    fn collect_reports(&mut self) -> Result<(), StackError> {
        drain_pipe(&mut self.reports_wake);
        for report in self.reports.try_iter() {
            match report {
                Report::Returned((at, outcome)) => {
                    self.events.push(StackEvent::Returned { at, outcome });
                }
                Report::Failed(e) => return Err(e),
            }
        }
        if self.thread.as_ref().is_some_and(|t| t.is_finished()) {
            return Err(self.failure());
        }
        Ok(())
    }

    fn take_events(&mut self) -> Vec<StackEvent> {
        let mut events = std::mem::take(&mut self.events);
        events.sort_by_key(|e| match e {
            StackEvent::Sent(o) => o.at,
            StackEvent::Returned { at, .. } => *at,
        });
        events
    }

    /// Stops the stack thread and releases both devices off the engine's path (the host, and with
    /// it every connection, goes away).
    fn shutdown(mut self) -> Result<(), StackError> {
        if let Ok(mut host) = self.host.lock() {
            host.stopping = true;
        }
        self.wake_stack_thread();
        let joined = match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| StackError::Adapter("the reference stack's thread panicked".into())),
            None => Ok(()),
        };
        reaper::release(self.tun);
        // The thread has ended, so this is the last reference.
        if let Ok(host) = Arc::try_unwrap(self.host) {
            let host = host
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            reaper::release(host.tun);
        }
        joined
    }
}

/// Builds the run's namespace from the calling thread (see the module docs for the layout) and
/// returns the harness's device and the stack's.
fn build_namespace(net: &NetConfig) -> Result<(Tun, Tun), StackError> {
    let mut route = netns::enter_private(net)?;
    // Before the devices exist, so that they inherit it from `default`; `all` is checked too.
    for scope in ["all", "default"] {
        write_sysctl(&format!("/proc/sys/net/ipv4/conf/{scope}/rp_filter"), "0")?;
    }
    let (harness, harness_index) = netns::tun_up(&mut route, TUN_NAME, net)?;
    let (stack, stack_index) = netns::tun_up(&mut route, STACK_TUN, net)?;
    // Both switches set forwarding on every existing device.
    if net.local_ip.is_ipv4() {
        write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")?;
    } else {
        write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1")?;
    }
    let (host_len, any) = match net.local_ip {
        IpAddr::V4(_) => (32, IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        IpAddr::V6(_) => (128, IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)),
    };
    let what = format!("routing {}/{host_len} into tcpref0", net.local_ip);
    netlink::add_route(&mut route, stack_index, net.local_ip, host_len, None)
        .map_err(netns::setup_error(&what))?;
    // Everything else — the remote address and any other a script may use — is the harness's.
    netlink::add_route(&mut route, harness_index, any, 0, None)
        .map_err(netns::setup_error("routing the default route into tun0"))?;
    Ok((harness, stack))
}

/// The stack thread: runs the host's timers and hands it the packets that arrive while the engine
/// asks nothing, until told to stop.
fn serve(
    host: &Mutex<Host>,
    clock: &RealClock,
    reporter: &Reporter,
    mut wake: PipeReader,
) -> Result<(), StackError> {
    loop {
        drain_pipe(&mut wake);
        let (left, device) = {
            let mut host = lock(host)?;
            if host.stopping {
                return Ok(());
            }
            host.ingest(clock)?;
            for returned in host.flush(clock)? {
                reporter.send(Report::Returned(returned));
            }
            let now = clock.now();
            let left = host.stack.poll_at().map(|at| at.saturating_sub(now));
            (left, host.tun.raw_fd())
        };
        match left {
            Some(left) if left <= SPIN_WINDOW => std::hint::spin_loop(),
            _ => {
                let mut fds = [
                    poll::pollfd(device, libc::POLLIN),
                    poll::pollfd(wake.as_raw_fd(), libc::POLLIN),
                ];
                poll::poll(&mut fds, left.map(|l| l - SPIN_WINDOW))?;
            }
        }
    }
}
