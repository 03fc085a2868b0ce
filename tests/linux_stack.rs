//! The `linux` adapter against the host kernel, driven by hand-built packets. Every test needs
//! CAP_NET_ADMIN and CAP_SYS_ADMIN (CI runs as root); without them it prints a skip line and returns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

mod linux_support;

use std::net::SocketAddr;
use std::time::Duration;

use linux_support::*;
use tcpconf::clock::RealClock;
use tcpconf::stack::linux::LinuxStack;
use tcpconf::stack::{
    Domain, Errno, NetConfig, SockOpt, Stack, StackError, StackEvent, Syscall, SyscallOutcome,
    SyscallOutput, SyscallProgress, TcpState,
};

const SEC: Duration = Duration::from_secs(1);

fn done(p: SyscallProgress) -> SyscallOutcome {
    match p {
        SyscallProgress::Done(o) => o,
        SyscallProgress::Blocked => panic!("call blocked unexpectedly"),
    }
}

fn call(stack: &mut LinuxStack, clock: &RealClock, c: Syscall) -> SyscallOutcome {
    done(stack.syscall(clock.now(), &c).expect("syscall"))
}

/// socket + SO_REUSEADDR + bind(local:8080) + listen; returns the listener fd.
fn listener(stack: &mut LinuxStack, clock: &RealClock, net: &NetConfig, nonblocking: bool) -> i32 {
    let domain = if net.local_ip.is_ipv4() {
        Domain::Inet
    } else {
        Domain::Inet6
    };
    let fd = call(
        stack,
        clock,
        Syscall::Socket {
            domain,
            nonblocking,
        },
    )
    .ret as i32;
    assert!(fd >= 0);
    let opt = SockOpt::ReuseAddr(true);
    assert_eq!(
        call(stack, clock, Syscall::SetSockOpt { fd, opt }),
        SyscallOutcome::ok(0)
    );
    let addr = SocketAddr::new(net.local_ip, 8080);
    assert_eq!(
        call(stack, clock, Syscall::Bind { fd, addr }),
        SyscallOutcome::ok(0)
    );
    let listen = Syscall::Listen { fd, backlog: 8 };
    assert_eq!(call(stack, clock, listen), SyscallOutcome::ok(0));
    fd
}

/// Drives a passive open from `remote`: SYN in, SYN-ACK out, ACK in. Returns the kernel's ISS.
fn passive_handshake(
    stack: &mut LinuxStack,
    clock: &RealClock,
    local: SocketAddr,
    remote: SocketAddr,
) -> u32 {
    let syn = Seg::new(remote, local, SYN, 1000, 0).mss(1460);
    stack.inject(clock.now(), &syn.build()).unwrap();
    let (_, synack) = expect_segment(stack, clock, SEC);
    assert_eq!(synack.flags, SYN | ACK, "{synack:?}");
    assert_eq!(synack.ack, 1001);
    assert_eq!((synack.src, synack.dst), (local, remote));
    let ack = Seg::new(remote, local, ACK, 1001, synack.seq.wrapping_add(1));
    stack.inject(clock.now(), &ack.build()).unwrap();
    synack.seq
}

fn find(stack: &mut LinuxStack, remote: SocketAddr) -> Vec<(TcpState, Option<i32>)> {
    stack
        .connections()
        .unwrap()
        .into_iter()
        .filter(|c| c.remote == Some(remote))
        .map(|c| (c.state, c.fd))
        .collect()
}

fn passive_open_then_close_reaches_time_wait_without_fd() {
    let (mut stack, clock, net) = (LinuxStack::new(), RealClock::start(), net_v4());
    stack.setup(&net, clock).unwrap();
    let lfd = listener(&mut stack, &clock, &net, false);
    let local = SocketAddr::new(net.local_ip, 8080);
    let remote = SocketAddr::new(net.remote_ip, 40000);
    let iss = passive_handshake(&mut stack, &clock, local, remote);

    // Queued for accept: ESTABLISHED, but no fd holds it yet.
    assert_eq!(
        find(&mut stack, remote),
        vec![(TcpState::Established, None)]
    );
    let listening: Vec<_> = stack
        .connections()
        .unwrap()
        .into_iter()
        .filter(|c| c.state == TcpState::Listen)
        .collect();
    assert_eq!(listening.len(), 1);
    assert_eq!(
        (listening[0].local, listening[0].remote, listening[0].fd),
        (local, None, Some(lfd))
    );

    let accepted = call(&mut stack, &clock, Syscall::Accept { fd: lfd });
    assert_eq!(accepted.output, SyscallOutput::Peer(remote));
    let afd = accepted.ret as i32;
    assert!(afd >= 0 && afd != lfd);
    assert_eq!(
        find(&mut stack, remote),
        vec![(TcpState::Established, Some(afd))]
    );

    // Data in, read it back.
    let data = Seg::new(remote, local, ACK | PSH, 1001, iss.wrapping_add(1)).payload(b"hello");
    stack.inject(clock.now(), &data.build()).unwrap();
    let read = call(
        &mut stack,
        &clock,
        Syscall::Read {
            fd: afd,
            len: 100,
            peek: false,
        },
    );
    assert_eq!(read.ret, 5);
    assert_eq!(read.output, SyscallOutput::Data(b"hello".to_vec()));

    // Active close: FIN out, ACK + FIN in, ACK out, TIME-WAIT with no fd.
    assert_eq!(
        call(&mut stack, &clock, Syscall::Close { fd: afd }),
        SyscallOutcome::ok(0)
    );
    let fin = gather_until(&mut stack, &clock, SEC, |ev| {
        segments(ev).iter().any(|s| s.flags & FIN != 0)
    });
    let fin = segments(&fin)
        .into_iter()
        .find(|s| s.flags & FIN != 0)
        .unwrap();
    assert_eq!(fin.seq, iss.wrapping_add(1));
    assert_eq!(find(&mut stack, remote), vec![(TcpState::FinWait1, None)]);
    let finack = Seg::new(remote, local, ACK | FIN, 1006, iss.wrapping_add(2));
    stack.inject(clock.now(), &finack.build()).unwrap();
    let (_, last) = expect_segment(&mut stack, &clock, SEC);
    assert_eq!((last.flags, last.ack), (ACK, 1007));
    assert_eq!(find(&mut stack, remote), vec![(TcpState::TimeWait, None)]);

    // A closed fd is gone for the adapter: EBADF, as from the kernel.
    let again = call(&mut stack, &clock, Syscall::Close { fd: afd });
    assert_eq!(again, SyscallOutcome::err(Errno::EBADF));
    stack.teardown().unwrap();
}

fn blocking_accept_returns_through_wait() {
    let (mut stack, clock, net) = (LinuxStack::new(), RealClock::start(), net_v4());
    stack.setup(&net, clock).unwrap();
    let lfd = listener(&mut stack, &clock, &net, false);
    let progress = stack
        .syscall(clock.now(), &Syscall::Accept { fd: lfd })
        .unwrap();
    assert_eq!(progress, SyscallProgress::Blocked);
    // Nothing happens while nobody connects.
    assert!(next_event(&mut stack, &clock, Duration::from_millis(20)).is_empty());

    let local = SocketAddr::new(net.local_ip, 8080);
    let remote = SocketAddr::new(net.remote_ip, 40001);
    let before = clock.now();
    passive_handshake(&mut stack, &clock, local, remote);
    let events = gather_until(&mut stack, &clock, SEC, |ev| {
        ev.iter().any(|e| matches!(e, StackEvent::Returned { .. }))
    });
    let Some(StackEvent::Returned { at, outcome }) = events.last() else {
        panic!("no return in {events:?}");
    };
    assert!(*at >= before);
    assert!(
        outcome.ret >= 0 && outcome.ret != i64::from(lfd),
        "{outcome:?}"
    );
    assert_eq!(outcome.output, SyscallOutput::Peer(remote));
    // The accepted fd belongs to the application now.
    let fd = outcome.ret as i32;
    assert_eq!(
        find(&mut stack, remote),
        vec![(TcpState::Established, Some(fd))]
    );
    stack.teardown().unwrap();
}

fn connect_errnos_map_exactly() {
    let (mut stack, clock, net) = (LinuxStack::new(), RealClock::start(), net_v4());
    stack.setup(&net, clock).unwrap();
    let remote = SocketAddr::new(net.remote_ip, 8080);

    // Non-blocking connect: EINPROGRESS, SYN on the wire, SYN_SENT.
    let nb = call(
        &mut stack,
        &clock,
        Syscall::Socket {
            domain: Domain::Inet,
            nonblocking: true,
        },
    );
    let nb = nb.ret as i32;
    let c = call(
        &mut stack,
        &clock,
        Syscall::Connect {
            fd: nb,
            addr: remote,
        },
    );
    assert_eq!(c, SyscallOutcome::err(Errno::EINPROGRESS));
    let (_, syn) = expect_segment(&mut stack, &clock, SEC);
    assert_eq!((syn.flags, syn.dst), (SYN, remote));
    assert_eq!(
        find(&mut stack, remote),
        vec![(TcpState::SynSent, Some(nb))]
    );
    // A second connect while in progress: EALREADY.
    let c = call(
        &mut stack,
        &clock,
        Syscall::Connect {
            fd: nb,
            addr: remote,
        },
    );
    assert_eq!(c, SyscallOutcome::err(Errno::EALREADY));

    // Blocking connect refused by an RST: blocks, then ECONNREFUSED through wait().
    let remote2 = SocketAddr::new(net.remote_ip, 8081);
    let b = call(
        &mut stack,
        &clock,
        Syscall::Socket {
            domain: Domain::Inet,
            nonblocking: false,
        },
    );
    let b = b.ret as i32;
    let p = stack
        .syscall(
            clock.now(),
            &Syscall::Connect {
                fd: b,
                addr: remote2,
            },
        )
        .unwrap();
    assert_eq!(p, SyscallProgress::Blocked);
    let events = gather_until(&mut stack, &clock, SEC, |ev| {
        segments(ev).iter().any(|s| s.dst == remote2)
    });
    let syn = segments(&events)
        .into_iter()
        .find(|s| s.dst == remote2)
        .unwrap();
    let rst = Seg::new(remote2, syn.src, RST | ACK, 0, syn.seq.wrapping_add(1));
    stack.inject(clock.now(), &rst.build()).unwrap();
    let events = gather_until(&mut stack, &clock, SEC, |ev| {
        ev.iter().any(|e| matches!(e, StackEvent::Returned { .. }))
    });
    let returned = events.iter().find_map(|e| match e {
        StackEvent::Returned { outcome, .. } => Some(outcome.clone()),
        StackEvent::Sent(_) => None,
    });
    assert_eq!(returned, Some(SyscallOutcome::err(Errno::ECONNREFUSED)));

    // Other errnos straight from the kernel.
    let w = call(
        &mut stack,
        &clock,
        Syscall::Write {
            fd: b,
            data: vec![1; 10],
        },
    );
    assert_eq!(w.errno, Some(Errno::EPIPE));
    let s = call(
        &mut stack,
        &clock,
        Syscall::Shutdown {
            fd: b,
            how: tcpconf::stack::ShutdownHow::Write,
        },
    );
    assert_eq!(s, SyscallOutcome::err(Errno::ENOTCONN));
    let bad = call(
        &mut stack,
        &clock,
        Syscall::Listen {
            fd: 999,
            backlog: 1,
        },
    );
    assert_eq!(bad, SyscallOutcome::err(Errno::EBADF));
    let r = call(
        &mut stack,
        &clock,
        Syscall::Read {
            fd: nb,
            len: 10,
            peek: false,
        },
    );
    assert_eq!(r, SyscallOutcome::err(Errno::EAGAIN));
    stack.teardown().unwrap();
}

fn parallel_runs_with_identical_addresses_do_not_interfere() {
    let runs: Vec<_> = (0..3)
        .map(|i| {
            std::thread::spawn(move || {
                let (mut stack, clock, net) = (LinuxStack::new(), RealClock::start(), net_v4());
                stack.setup(&net, clock).unwrap();
                let lfd = listener(&mut stack, &clock, &net, false);
                let local = SocketAddr::new(net.local_ip, 8080);
                let remote = SocketAddr::new(net.remote_ip, 50000);
                for _ in 0..5 {
                    let p = stack
                        .syscall(clock.now(), &Syscall::Accept { fd: lfd })
                        .unwrap();
                    assert_eq!(p, SyscallProgress::Blocked, "run {i}");
                    passive_handshake(&mut stack, &clock, local, remote);
                    let ev = gather_until(&mut stack, &clock, SEC, |ev| {
                        ev.iter().any(|e| matches!(e, StackEvent::Returned { .. }))
                    });
                    let fd = ev
                        .iter()
                        .find_map(|e| match e {
                            StackEvent::Returned { outcome, .. } => Some(outcome.ret as i32),
                            StackEvent::Sent(_) => None,
                        })
                        .unwrap();
                    // Exactly one connection in this namespace, whatever the others do.
                    assert_eq!(
                        find(&mut stack, remote),
                        vec![(TcpState::Established, Some(fd))]
                    );
                    // Abort it so the next round reuses the same 4-tuple.
                    let l = SockOpt::Linger(Some(0));
                    call(&mut stack, &clock, Syscall::SetSockOpt { fd, opt: l });
                    assert_eq!(
                        call(&mut stack, &clock, Syscall::Close { fd }),
                        SyscallOutcome::ok(0)
                    );
                    let (_, rst) = expect_segment(&mut stack, &clock, SEC);
                    assert_eq!(rst.flags & RST, RST, "run {i}");
                }
                stack.teardown().unwrap();
            })
        })
        .collect();
    for r in runs {
        r.join().unwrap();
    }
}

fn host_tun_devices() -> Option<String> {
    let out = std::process::Command::new("ip")
        .args(["-o", "link", "show", "type", "tun"])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn namespace_is_private_and_nothing_is_left_behind() {
    let host_before = host_tun_devices();
    // The host may have a tun0 of its own (a VPN): compare its devices before and after.
    let host_dev_names = || {
        let dev = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
        let mut names: Vec<String> = dev
            .lines()
            .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim().to_string()))
            .collect();
        names.sort();
        names
    };
    let host_devs = host_dev_names();
    let (mut stack, clock, net) = (LinuxStack::new(), RealClock::start(), net_v4());
    stack.setup(&net, clock).unwrap();
    // The device and its sysctls exist inside the namespace…
    let inside = stack
        .shell("grep -q tun0 /proc/net/dev && test \"$(cat /proc/sys/net/ipv6/conf/tun0/disable_ipv6)\" = 1")
        .unwrap();
    assert!(inside.success());
    // …and not in the host's (this thread never left it).
    assert_eq!(host_dev_names(), host_devs);
    assert_eq!(host_tun_devices(), host_before);
    // Leave work behind on purpose: a blocked accept, an orphan in FIN-WAIT-1.
    let lfd = listener(&mut stack, &clock, &net, false);
    let local = SocketAddr::new(net.local_ip, 8080);
    let remote = SocketAddr::new(net.remote_ip, 40002);
    passive_handshake(&mut stack, &clock, local, remote);
    let afd = call(&mut stack, &clock, Syscall::Accept { fd: lfd }).ret as i32;
    call(&mut stack, &clock, Syscall::Close { fd: afd });
    assert_eq!(
        stack
            .syscall(clock.now(), &Syscall::Accept { fd: lfd })
            .unwrap(),
        SyscallProgress::Blocked
    );
    stack.teardown().unwrap();
    assert_eq!(host_tun_devices(), host_before);

    // A run that panics mid-way cleans up too (the adapter is dropped while unwinding): no thread
    // of this process is left in its namespace.
    let id_file = std::env::temp_dir().join(format!("tcpconf-netns-{}", std::process::id()));
    let path = id_file.clone();
    let crashed = std::thread::spawn(move || {
        let (mut stack, clock) = (LinuxStack::new(), RealClock::start());
        stack.setup(&net_v4(), clock).unwrap();
        let cmd = format!("readlink /proc/self/ns/net > {}", path.display());
        assert!(stack.shell(&cmd).unwrap().success());
        let _ = stack.syscall(
            clock.now(),
            &Syscall::Socket {
                domain: Domain::Inet,
                nonblocking: false,
            },
        );
        panic!("deliberate panic inside a run");
    })
    .join();
    assert!(crashed.is_err());
    let netns = std::fs::read_to_string(&id_file).unwrap();
    let _ = std::fs::remove_file(&id_file);
    assert!(netns.starts_with("net:["), "{netns}");
    let host_netns = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    assert_ne!(host_netns.to_string_lossy(), netns.trim());
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let ns = std::fs::read_link(task.path().join("ns/net"));
        assert_ne!(
            ns.map(|p| p.to_string_lossy().into_owned()).ok().as_deref(),
            Some(netns.trim()),
            "thread {:?} outlived its run",
            task.file_name()
        );
    }
    assert_eq!(host_tun_devices(), host_before);
}

fn missing_privileges_are_an_environment_error_that_says_how_to_fix_it() {
    // Capabilities are per thread: drop them in a fresh thread; the namespace thread it spawns
    // inherits the reduced set.
    let result = std::thread::spawn(|| {
        drop_admin_capabilities();
        let mut stack = LinuxStack::new();
        stack.setup(&net_v4(), RealClock::start())
    })
    .join()
    .unwrap();
    match result {
        Err(StackError::Environment(msg)) => {
            assert!(
                msg.contains("CAP_NET_ADMIN") && msg.contains("sudo tcpconf"),
                "{msg}"
            );
        }
        other => panic!("expected an environment error, got {other:?}"),
    }
}

/// Clears CAP_NET_ADMIN and CAP_SYS_ADMIN from the calling thread's effective set (capset(2)).
fn drop_admin_capabilities() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const V3: u32 = 0x2008_0522;
    let mut header = Header {
        version: V3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a v3 header read and write two Data structs.
    unsafe {
        assert_eq!(
            nix::libc::syscall(nix::libc::SYS_capget, &mut header, data.as_mut_ptr()),
            0
        );
        data[0].effective &= !((1 << 12) | (1 << 21));
        assert_eq!(
            nix::libc::syscall(nix::libc::SYS_capset, &header, data.as_ptr()),
            0
        );
    }
}

fn info_reports_kernel_release_and_namespace_sysctls() {
    let stack = LinuxStack::new();
    let info = stack.info();
    assert_eq!(info.name, "linux");
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(info.version, release.trim());
    for key in ["tcp_rfc1337=", "tcp_tw_reuse=", "tcp_congestion_control="] {
        assert!(info.profile.contains(key), "{}", info.profile);
    }
    assert!(info.capabilities.fdless_states && info.capabilities.shell);
}

fn ipv6_run_sends_only_tcp() {
    let (mut stack, clock, net) = (LinuxStack::new(), RealClock::start(), net_v6());
    stack.setup(&net, clock).unwrap();
    let lfd = listener(&mut stack, &clock, &net, true);
    let local = SocketAddr::new(net.local_ip, 8080);
    let remote = SocketAddr::new(net.remote_ip, 40003);
    passive_handshake(&mut stack, &clock, local, remote);
    let accepted = call(&mut stack, &clock, Syscall::Accept { fd: lfd });
    assert_eq!(accepted.output, SyscallOutput::Peer(remote));
    // Nothing but TCP for a while (no router solicitation, DAD or MLD noise reaches the engine).
    let quiet = next_event(&mut stack, &clock, Duration::from_millis(300));
    assert!(quiet.is_empty(), "{quiet:?}");
    stack.teardown().unwrap();
}

/// Establishes one accepted connection from `remote`; returns (fd, kernel ISS).
fn accepted_connection(
    stack: &mut LinuxStack,
    clock: &RealClock,
    net: &NetConfig,
    remote: SocketAddr,
) -> (i32, u32) {
    let lfd = listener(stack, clock, net, false);
    let local = SocketAddr::new(net.local_ip, 8080);
    let iss = passive_handshake(stack, clock, local, remote);
    let accepted = call(stack, clock, Syscall::Accept { fd: lfd });
    assert!(accepted.ret >= 0, "{accepted:?}");
    (accepted.ret as i32, iss)
}

fn options_fcntl_and_ioctl_reach_the_kernel() {
    use tcpconf::stack::{Fcntl, Ioctl, SockOptName};
    let (mut stack, clock, net) = (LinuxStack::new(), RealClock::start(), net_v4());
    stack.setup(&net, clock).unwrap();
    let remote = SocketAddr::new(net.remote_ip, 40010);
    let (fd, iss) = accepted_connection(&mut stack, &clock, &net, remote);
    let set = |opt| Syscall::SetSockOpt { fd, opt };
    let get = |name| Syscall::GetSockOpt { fd, name };
    assert_eq!(
        call(&mut stack, &clock, set(SockOpt::NoDelay(true))),
        SyscallOutcome::ok(0)
    );
    let nodelay = call(&mut stack, &clock, get(SockOptName::NoDelay));
    assert_eq!(nodelay.output, SyscallOutput::Int(1));
    call(&mut stack, &clock, set(SockOpt::Linger(Some(7))));
    let linger = call(&mut stack, &clock, get(SockOptName::Linger));
    assert_eq!(
        linger.output,
        SyscallOutput::Linger {
            onoff: true,
            secs: 7
        }
    );
    let err = call(&mut stack, &clock, get(SockOptName::Error));
    assert_eq!(err.output, SyscallOutput::Int(0));
    let bad = call(&mut stack, &clock, set(SockOpt::MaxSeg(-5)));
    assert_eq!(bad, SyscallOutcome::err(Errno::EINVAL));

    let flags = call(
        &mut stack,
        &clock,
        Syscall::Fcntl {
            fd,
            cmd: Fcntl::GetFl,
        },
    );
    assert_eq!(flags.ret & i64::from(nix::libc::O_NONBLOCK), 0);
    let nb = (flags.ret as i32) | nix::libc::O_NONBLOCK;
    call(
        &mut stack,
        &clock,
        Syscall::Fcntl {
            fd,
            cmd: Fcntl::SetFl(nb),
        },
    );
    let flags = call(
        &mut stack,
        &clock,
        Syscall::Fcntl {
            fd,
            cmd: Fcntl::GetFl,
        },
    );
    assert_ne!(flags.ret & i64::from(nix::libc::O_NONBLOCK), 0);
    // Now non-blocking: an empty read says EAGAIN instead of blocking.
    let r = call(
        &mut stack,
        &clock,
        Syscall::Read {
            fd,
            len: 10,
            peek: false,
        },
    );
    assert_eq!(r, SyscallOutcome::err(Errno::EAGAIN));

    let local = SocketAddr::new(net.local_ip, 8080);
    let data = Seg::new(remote, local, ACK | PSH, 1001, iss.wrapping_add(1)).payload(b"12345");
    stack.inject(clock.now(), &data.build()).unwrap();
    let inq = call(
        &mut stack,
        &clock,
        Syscall::Ioctl {
            fd,
            request: Ioctl::InQueue,
        },
    );
    assert_eq!(inq, SyscallOutcome::ok_with(0, SyscallOutput::Int(5)));
    let peek = call(
        &mut stack,
        &clock,
        Syscall::Read {
            fd,
            len: 3,
            peek: true,
        },
    );
    assert_eq!(peek.output, SyscallOutput::Data(b"123".to_vec()));
    call(
        &mut stack,
        &clock,
        Syscall::Write {
            fd,
            data: vec![0; 100],
        },
    );
    let outq = call(
        &mut stack,
        &clock,
        Syscall::Ioctl {
            fd,
            request: Ioctl::OutQueue,
        },
    );
    assert_eq!(outq, SyscallOutcome::ok_with(0, SyscallOutput::Int(100)));
    stack.teardown().unwrap();
}

fn lingering_close_blocks_until_the_fin_is_acknowledged() {
    let (mut stack, clock, net) = (LinuxStack::new(), RealClock::start(), net_v4());
    stack.setup(&net, clock).unwrap();
    let remote = SocketAddr::new(net.remote_ip, 40011);
    let (fd, iss) = accepted_connection(&mut stack, &clock, &net, remote);
    call(
        &mut stack,
        &clock,
        Syscall::SetSockOpt {
            fd,
            opt: SockOpt::Linger(Some(5)),
        },
    );
    let closed_at = clock.now();
    let p = stack.syscall(closed_at, &Syscall::Close { fd }).unwrap();
    let declared_blocked_at = clock.now();
    assert_eq!(p, SyscallProgress::Blocked);
    let events = gather_until(&mut stack, &clock, SEC, |ev| {
        segments(ev).iter().any(|s| s.flags & FIN != 0)
    });
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, StackEvent::Returned { .. }))
    );
    // The FIN is stamped when it is read from the TUN — inside the call, if the closer thread sent
    // it during the adapter's short wait for a quick return, or in the next `wait` — never before
    // the call.
    let fin_at = events.iter().find_map(|e| match e {
        StackEvent::Sent(o) if parse(&o.packet).is_some_and(|s| s.flags & FIN != 0) => Some(o.at),
        _ => None,
    });
    let fin_at = fin_at.unwrap();
    assert!(
        closed_at <= fin_at,
        "FIN at {fin_at:?}, close() from {closed_at:?} (declared blocked at {declared_blocked_at:?})"
    );
    let local = SocketAddr::new(net.local_ip, 8080);
    let ack = Seg::new(remote, local, ACK, 1001, iss.wrapping_add(2));
    let acked_at = clock.now();
    stack.inject(acked_at, &ack.build()).unwrap();
    let events = gather_until(&mut stack, &clock, SEC, |ev| {
        ev.iter().any(|e| matches!(e, StackEvent::Returned { .. }))
    });
    let Some(StackEvent::Returned { at, outcome }) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(*outcome, SyscallOutcome::ok(0));
    assert!(*at >= acked_at);
    assert_eq!(find(&mut stack, remote), vec![(TcpState::FinWait2, None)]);
    stack.teardown().unwrap();
}

fn ipv4_mapped_ipv6_sockets_speak_ipv4_on_the_wire() {
    let net = NetConfig {
        ipv4_mapped_ipv6: true,
        ..net_v4()
    };
    let (mut stack, clock) = (LinuxStack::new(), RealClock::start());
    stack.setup(&net, clock).unwrap();
    let lfd = call(
        &mut stack,
        &clock,
        Syscall::Socket {
            domain: Domain::Inet6,
            nonblocking: false,
        },
    );
    let lfd = lfd.ret as i32;
    // An IPv4 address on an AF_INET6 socket becomes ::ffff:a.b.c.d.
    let local = SocketAddr::new(net.local_ip, 8080);
    assert_eq!(
        call(
            &mut stack,
            &clock,
            Syscall::Bind {
                fd: lfd,
                addr: local
            }
        ),
        SyscallOutcome::ok(0)
    );
    call(
        &mut stack,
        &clock,
        Syscall::Listen {
            fd: lfd,
            backlog: 4,
        },
    );
    let remote = SocketAddr::new(net.remote_ip, 40012);
    passive_handshake(&mut stack, &clock, local, remote);
    let accepted = call(&mut stack, &clock, Syscall::Accept { fd: lfd });
    let mapped: SocketAddr = "[::ffff:192.0.2.1]:40012".parse().unwrap();
    assert_eq!(accepted.output, SyscallOutput::Peer(mapped));
    stack.teardown().unwrap();
}

/// In a child process (this test binary again), a run is set up and then interrupted with SIGINT, as
/// by Ctrl-C: afterwards no thread or process is left in its namespace and the host has no new TUN.
fn ctrl_c_leaves_nothing_behind() {
    use std::io::{BufRead, BufReader};
    const VICTIM: &str = "TCPCONF_LINUX_VICTIM";
    if std::env::var_os(VICTIM).is_some() {
        // The child: set up, say which namespace, then wait to be interrupted.
        let mut stack = LinuxStack::new();
        stack.setup(&net_v4(), RealClock::start()).unwrap();
        let status = stack
            .shell("echo \"netns $(readlink /proc/self/ns/net)\"")
            .unwrap();
        assert!(status.success());
        std::thread::sleep(Duration::from_secs(30));
        return;
    }
    let host_before = host_tun_devices();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "ctrl_c_leaves_nothing_behind",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(VICTIM, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let netns = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        // libtest prints "test NAME ... " without a newline before the test's own output.
        .find_map(|l| l.split_once("netns ").map(|(_, id)| id.trim().to_owned()))
        .expect("the child reports its namespace");
    assert!(netns.starts_with("net:["), "{netns}");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    // No task of any process is in the run's namespace any more.
    for proc_entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(tasks) = std::fs::read_dir(proc_entry.path().join("task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Ok(ns) = std::fs::read_link(task.path().join("ns/net")) {
                assert_ne!(
                    ns.to_string_lossy(),
                    netns,
                    "{:?} is still in the namespace",
                    task.path()
                );
            }
        }
    }
    assert_eq!(host_tun_devices(), host_before);
}

fn teardown_does_not_wait_for_a_lingering_close() {
    let (mut stack, clock, net) = (LinuxStack::new(), RealClock::start(), net_v4());
    stack.setup(&net, clock).unwrap();
    let remote = SocketAddr::new(net.remote_ip, 40013);
    let (fd, _) = accepted_connection(&mut stack, &clock, &net, remote);
    let opt = SockOpt::Linger(Some(30));
    call(&mut stack, &clock, Syscall::SetSockOpt { fd, opt });
    let p = stack.syscall(clock.now(), &Syscall::Close { fd }).unwrap();
    assert_eq!(p, SyscallProgress::Blocked);
    // SOCK_DESTROY aborts the socket, so the close returns instead of lingering for 30 s.
    let started = std::time::Instant::now();
    stack.teardown().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

fn main() -> std::process::ExitCode {
    run_tests(
        &[],
        &[
            (
                "passive_open_then_close_reaches_time_wait_without_fd",
                passive_open_then_close_reaches_time_wait_without_fd,
            ),
            (
                "blocking_accept_returns_through_wait",
                blocking_accept_returns_through_wait,
            ),
            ("connect_errnos_map_exactly", connect_errnos_map_exactly),
            (
                "parallel_runs_with_identical_addresses_do_not_interfere",
                parallel_runs_with_identical_addresses_do_not_interfere,
            ),
            (
                "namespace_is_private_and_nothing_is_left_behind",
                namespace_is_private_and_nothing_is_left_behind,
            ),
            (
                "missing_privileges_are_an_environment_error_that_says_how_to_fix_it",
                missing_privileges_are_an_environment_error_that_says_how_to_fix_it,
            ),
            (
                "info_reports_kernel_release_and_namespace_sysctls",
                info_reports_kernel_release_and_namespace_sysctls,
            ),
            ("ipv6_run_sends_only_tcp", ipv6_run_sends_only_tcp),
            (
                "lingering_close_blocks_until_the_fin_is_acknowledged",
                lingering_close_blocks_until_the_fin_is_acknowledged,
            ),
            (
                "ipv4_mapped_ipv6_sockets_speak_ipv4_on_the_wire",
                ipv4_mapped_ipv6_sockets_speak_ipv4_on_the_wire,
            ),
            (
                "teardown_does_not_wait_for_a_lingering_close",
                teardown_does_not_wait_for_a_lingering_close,
            ),
            (
                "options_fcntl_and_ioctl_reach_the_kernel",
                options_fcntl_and_ioctl_reach_the_kernel,
            ),
            ("ctrl_c_leaves_nothing_behind", ctrl_c_leaves_nothing_behind),
        ],
    )
}
