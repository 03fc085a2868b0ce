//! A scripted fake stack for the engine's tests: no TCP at all, only the replies a test tells it
//! to give, on virtual time. It lets the tests pin down the engine's own behaviour (matching,
//! translation, timing, verdict mapping) independently of any real TCP.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::clock::RealClock;
use crate::stack::{
    Capabilities, Connection, NetConfig, Outbound, Stack, StackError, StackEvent, StackInfo,
    Syscall, SyscallOutcome, SyscallProgress, TimeModel,
};
use crate::wire::{self, IpHeader, Packet, Segment, TcpFlags, TcpOption};

/// What the fake was asked to do.
pub enum Input<'a> {
    Inject(&'a Segment),
    Call(&'a Syscall),
}

/// What a behaviour may do in response.
#[derive(Default)]
pub struct Actions {
    now: Duration,
    out: Vec<(Duration, StackEvent)>,
    progress: Option<SyscallProgress>,
}

impl Actions {
    /// Sends `seg` after `delay`.
    pub fn send(&mut self, delay: Duration, seg: Segment) {
        let at = self.now + delay;
        let packet = wire::encode(&Packet::Tcp(seg)).expect("test segments encode");
        self.out
            .push((at, StackEvent::Sent(Outbound { at, packet })));
    }

    /// Sends `seg` after `delay` with a broken IPv4 header checksum.
    pub fn send_bad_ip_checksum(&mut self, delay: Duration, seg: Segment) {
        let at = self.now + delay;
        let tamper = wire::Tamper {
            ip_checksum: wire::Checksum::Wrong,
            ..wire::Tamper::default()
        };
        let packet = wire::encode_with(&Packet::Tcp(seg), &tamper).expect("test segments encode");
        self.out
            .push((at, StackEvent::Sent(Outbound { at, packet })));
    }

    /// Completes the current syscall at once.
    pub fn done(&mut self, outcome: SyscallOutcome) {
        self.progress = Some(SyscallProgress::Done(outcome));
    }

    /// Blocks the current syscall forever (a later input may `release` it).
    pub fn block_forever(&mut self) {
        self.progress = Some(SyscallProgress::Blocked);
    }

    /// Returns a previously blocked syscall after `delay`.
    pub fn release(&mut self, delay: Duration, outcome: SyscallOutcome) {
        let at = self.now + delay;
        self.out.push((at, StackEvent::Returned { at, outcome }));
    }
}

type Behaviour = Box<dyn FnMut(&mut Actions, Input<'_>)>;
type States = Box<dyn Fn(Duration) -> Vec<Connection>>;

/// The fake stack.
pub struct Fake {
    pub caps: Capabilities,
    now: Duration,
    queue: BTreeMap<(Duration, u64), StackEvent>,
    order: u64,
    behaviour: Behaviour,
    states: States,
    next_fd: i32,
    /// Every injected segment, decoded, with its time.
    pub injected: Vec<(Duration, Segment)>,
    /// Injected packets that are not TCP (ICMP).
    pub other_injected: Vec<Packet>,
    /// Every syscall, with its time.
    pub calls: Vec<(Duration, Syscall)>,
    pub setup_error: Option<fn() -> StackError>,
    pub torn_down: bool,
    /// Shell commands run (only when `caps.shell`), with the exit code each one gets.
    pub commands: Vec<String>,
    pub shell_exit: i32,
}

impl Fake {
    /// A virtual-time IPv4/IPv6 fake that answers syscalls with success and sends nothing unless
    /// `behaviour` says otherwise.
    pub fn new(behaviour: impl FnMut(&mut Actions, Input<'_>) + 'static) -> Fake {
        Fake {
            caps: Capabilities {
                time: TimeModel::Virtual,
                ipv4: true,
                ipv6: true,
                ipv4_mapped_ipv6: true,
                shell: false,
                fdless_states: true,
                accept_backlog: true,
                shut_rd: true,
                profiles: Vec::new(),
            },
            now: Duration::ZERO,
            queue: BTreeMap::new(),
            order: 0,
            behaviour: Box::new(behaviour),
            states: Box::new(|_| Vec::new()),
            next_fd: 3,
            injected: Vec::new(),
            other_injected: Vec::new(),
            calls: Vec::new(),
            setup_error: None,
            torn_down: false,
            commands: Vec::new(),
            shell_exit: 0,
        }
    }

    /// Answers [`Stack::connections`] with `states(now)`.
    pub fn with_states(mut self, states: impl Fn(Duration) -> Vec<Connection> + 'static) -> Fake {
        self.states = Box::new(states);
        self
    }

    fn enqueue(&mut self, actions: Actions) -> Option<SyscallProgress> {
        for (at, ev) in actions.out {
            self.order += 1;
            self.queue.insert((at, self.order), ev);
        }
        actions.progress
    }

    fn default_outcome(&mut self, call: &Syscall) -> SyscallOutcome {
        match call {
            Syscall::Socket { .. } | Syscall::Accept { .. } => {
                let fd = self.next_fd;
                self.next_fd += 1;
                SyscallOutcome::ok(i64::from(fd))
            }
            Syscall::Write { data, .. } => SyscallOutcome::ok(data.len() as i64),
            Syscall::Read { len, .. } => SyscallOutcome::ok(*len as i64),
            _ => SyscallOutcome::ok(0),
        }
    }
}

impl Stack for Fake {
    fn info(&self) -> StackInfo {
        StackInfo {
            name: "fake".into(),
            version: "0".into(),
            profile: "test".into(),
            capabilities: self.caps.clone(),
        }
    }

    fn setup(&mut self, _net: &NetConfig, _clock: RealClock) -> Result<(), StackError> {
        match self.setup_error {
            Some(e) => Err(e()),
            None => Ok(()),
        }
    }

    fn inject(&mut self, now: Duration, packet: &[u8]) -> Result<(), StackError> {
        self.now = now;
        let seg = match wire::decode(packet) {
            Ok(Packet::Tcp(s)) => s,
            Ok(other) => {
                self.other_injected.push(other);
                return Ok(());
            }
            Err(e) => {
                return Err(StackError::Adapter(format!(
                    "fake got an undecodable packet: {e}"
                )));
            }
        };
        let mut actions = Actions {
            now,
            ..Actions::default()
        };
        (self.behaviour)(&mut actions, Input::Inject(&seg));
        self.injected.push((now, seg));
        self.enqueue(actions);
        Ok(())
    }

    fn wait(&mut self, until: Duration) -> Result<Vec<StackEvent>, StackError> {
        let first = self
            .queue
            .keys()
            .next()
            .map(|k| k.0)
            .filter(|t| *t <= until);
        let Some(t) = first else {
            self.now = self.now.max(until);
            return Ok(Vec::new());
        };
        self.now = self.now.max(t);
        let keys: Vec<_> = self
            .queue
            .keys()
            .take_while(|k| k.0 == t)
            .copied()
            .collect();
        Ok(keys
            .into_iter()
            .filter_map(|k| self.queue.remove(&k))
            .collect())
    }

    fn syscall(&mut self, now: Duration, call: &Syscall) -> Result<SyscallProgress, StackError> {
        self.now = now;
        self.calls.push((now, call.clone()));
        let mut actions = Actions {
            now,
            ..Actions::default()
        };
        (self.behaviour)(&mut actions, Input::Call(call));
        match self.enqueue(actions) {
            Some(p) => Ok(p),
            None => Ok(SyscallProgress::Done(self.default_outcome(call))),
        }
    }

    fn connections(&mut self) -> Result<Vec<Connection>, StackError> {
        Ok((self.states)(self.now))
    }

    fn shell(&mut self, command: &str) -> Result<std::process::ExitStatus, StackError> {
        use std::os::unix::process::ExitStatusExt;
        if !self.caps.shell {
            return Err(StackError::Unsupported("no shell in the fake".into()));
        }
        self.commands.push(command.to_string());
        Ok(std::process::ExitStatus::from_raw(self.shell_exit << 8))
    }

    fn teardown(&mut self) -> Result<(), StackError> {
        self.torn_down = true;
        Ok(())
    }
}

/// A segment from the stack back to the sender of `to`.
pub fn reply(
    to: &Segment,
    flags: TcpFlags,
    seq: u32,
    ack: u32,
    options: Vec<TcpOption>,
    len: usize,
) -> Segment {
    let mut s = Segment::new(to.ip.reversed(), to.dst_port, to.src_port);
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.window = 65535;
    s.options = options;
    s.payload = vec![0; len];
    s
}

/// A segment from the stack (192.168.0.1:`sport`) to tcpconf (192.0.2.1:`dport`).
pub fn from_stack(sport: u16, dport: u16, flags: TcpFlags, seq: u32, ack: u32) -> Segment {
    let ip = IpHeader::new(
        "192.168.0.1".parse().expect("ip"),
        "192.0.2.1".parse().expect("ip"),
    )
    .expect("v4");
    let mut s = Segment::new(ip, sport, dport);
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.window = 65535;
    s
}
