//! `tcpconf explore`: differential testing across stacks.
//!
//! A case brings one connection to a chosen state through a known-good prefix ([`prefix`]), then
//! plays a few events whose values sit on the edges that matter relative to the connection's own
//! variables ([`model`], [`generate`]). The same case runs on every stack through the engine
//! ([`build`], [`observe`]); what each stack sent is normalized ([`normalize`]) and the reactions
//! are compared event by event. The first event at which they differ gives the divergence's
//! signature — the state, the event's kind, each stack's reaction ([`signature`]) — and the
//! signatures deduplicate divergences into classes. Each new class is shrunk while its signature
//! holds ([`shrink`]) and written out as a script that passes on one side's stacks and fails on the
//! others, checked by running it ([`emit`]), with a summary ([`summary`]) that names the RFC 9293
//! rule at stake ([`rfc`]) and the known deviations it may be ([`known`]).
//!
//! Everything is deterministic for a seed: the cases come from [`rng`], and the stacks run in
//! virtual time.

pub mod build;
pub mod emit;
pub mod generate;
pub mod known;
pub mod model;
pub mod normalize;
pub mod observe;
pub mod oracle;
pub mod output;
pub mod prefix;
pub mod rfc;
pub mod rng;
pub mod shrink;
pub mod signature;
pub mod summary;

use std::collections::HashMap;

use crate::engine::{self, RunOptions, TraceKind, Verdict};
use crate::script::ast::TcpState;
use crate::stack::{self, Stack, StackError, StackOptions};
use crate::wire::{Packet, TcpFlags};

use model::{Case, Event, Windows};
use observe::Observation;
use prefix::Prefix;
use signature::{Divergence, Signature};

/// Why exploration cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error("stack `{name}`: {source}")]
    Stack {
        name: String,
        #[source]
        source: StackError,
    },
    #[error("explore compares stacks: give at least two (or one with an oracle), not {0}")]
    TooFewStacks(usize),
    #[error("stack `{0}` is named twice")]
    Duplicate(String),
    #[error("no prefix reaches a chosen state on two stacks or more: {0}")]
    NoPrefix(String),
    #[error("internal: a prefix does not parse: {0}")]
    Prefix(String),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the summary as JSON: {0}")]
    Json(String),
}

/// The most case runs shrinking one class may take when a stack runs in real time.
pub const REAL_TIME_SHRINK_BUDGET: usize = 20;

/// What to explore.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Stack names, as `--stack` takes them.
    pub stacks: Vec<String>,
    /// The states cases start in (all eleven when empty).
    pub states: Vec<TcpState>,
    pub seed: u64,
    /// At most this many events after the prefix.
    pub max_events: usize,
    /// At most this many case runs to shrink one class.
    pub shrink_budget: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            stacks: Vec::new(),
            states: Vec::new(),
            seed: 1,
            max_events: 3,
            shrink_budget: 400,
        }
    }
}

/// How a prefix fared on the stacks.
#[derive(Debug, Clone)]
pub struct PrefixUse {
    /// The stacks (indices) it brings to its state.
    pub stacks: Vec<usize>,
    /// The stacks it does not, with the verdict's message.
    pub failures: Vec<(String, String)>,
    pub windows: Windows,
}

/// A class of divergences.
#[derive(Debug, Clone)]
pub struct Class {
    /// 1-based, in the order found.
    pub id: usize,
    pub signature: Signature,
    /// The case as shrunk.
    pub case: Case,
    /// The case that found it.
    pub found_by: Case,
    /// Which case (1-based) found it.
    pub found_at: u64,
    /// How many cases diverged with this signature.
    pub hits: u64,
    /// The shrunk case's divergence and observations.
    pub divergence: Divergence,
    pub observations: Vec<(String, Observation)>,
}

impl Class {
    /// The corpus area of the class's script.
    pub fn area(&self) -> crate::script::meta::Area {
        let options = matches!(
            self.case.events.get(self.divergence.event),
            Some(Event::Segment(s)) if s.opts != model::Opts::None
        );
        rfc::area(self.signature.state, &self.signature.event, options)
    }
}

/// Counters of a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Cases drawn and run.
    pub cases: u64,
    /// Cases that diverged.
    pub divergent: u64,
    /// Case runs spent shrinking.
    pub shrink_runs: u64,
}

/// The state of an exploration.
pub struct Explorer {
    pub settings: Settings,
    names: Vec<String>,
    stacks: Vec<Box<dyn Stack + Send>>,
    pub prefixes: Vec<Prefix>,
    pub prefix_use: Vec<PrefixUse>,
    /// Prefixes cases are drawn on.
    drawable: Vec<usize>,
    rng: rng::Rng,
    pub classes: Vec<Class>,
    by_signature: HashMap<Signature, usize>,
    pub stats: Stats,
}

impl Explorer {
    /// Builds the stacks through the registry and runs every prefix on each.
    pub fn new(settings: Settings) -> Result<Explorer, ExploreError> {
        keep_freed_memory();
        let mut names: Vec<String> = Vec::new();
        let mut stacks = Vec::new();
        for name in &settings.stacks {
            if names.contains(name) {
                return Err(ExploreError::Duplicate(name.clone()));
            }
            let s = stack::by_name(name, &StackOptions::default()).map_err(|source| {
                ExploreError::Stack {
                    name: name.clone(),
                    source,
                }
            })?;
            names.push(name.clone());
            stacks.push(s);
        }
        if stacks.len() < 2 {
            return Err(ExploreError::TooFewStacks(stacks.len()));
        }
        let mut settings = settings;
        if stacks
            .iter()
            .any(|s| s.info().capabilities.time == crate::stack::TimeModel::Real)
        {
            // Every shrinking step runs the case in real time there (a second or more).
            settings.shrink_budget = settings.shrink_budget.min(REAL_TIME_SHRINK_BUDGET);
        }
        let prefixes = prefix::all().map_err(|d| ExploreError::Prefix(d.message))?;
        let mut explorer = Explorer {
            rng: rng::Rng::new(settings.seed),
            settings,
            names,
            stacks,
            prefix_use: Vec::new(),
            drawable: Vec::new(),
            prefixes,
            classes: Vec::new(),
            by_signature: HashMap::new(),
            stats: Stats::default(),
        };
        explorer.validate_prefixes();
        let states = &explorer.settings.states;
        explorer.drawable = (0..explorer.prefixes.len())
            .filter(|&p| explorer.prefix_use[p].stacks.len() >= 2)
            .filter(|&p| states.is_empty() || states.contains(&explorer.prefixes[p].state))
            .collect();
        if explorer.drawable.is_empty() {
            let failures: Vec<String> = explorer
                .prefix_use
                .iter()
                .zip(&explorer.prefixes)
                .flat_map(|(u, p)| {
                    u.failures
                        .iter()
                        .map(move |(s, m)| format!("{} on {s}: {m}", p.name))
                })
                .collect();
            return Err(ExploreError::NoPrefix(failures.join("; ")));
        }
        Ok(explorer)
    }

    /// The stacks' names, in order.
    pub fn stack_names(&self) -> &[String] {
        &self.names
    }

    /// Runs each prefix alone on each stack: it must pass (it asserts its state) on a stack for
    /// that stack to run its cases. The windows the stacks advertised in their SYN (or SYN+ACK)
    /// give the window edges cases aim at.
    fn validate_prefixes(&mut self) {
        let opts = RunOptions {
            strict: Some(false),
            ..RunOptions::default()
        };
        let mut uses = Vec::with_capacity(self.prefixes.len());
        for p in &self.prefixes {
            let script = build::assemble(p.events.clone());
            let mut u = PrefixUse {
                stacks: Vec::new(),
                failures: Vec::new(),
                windows: Windows {
                    min: u32::MAX,
                    max: 0,
                },
            };
            for (i, stack) in self.stacks.iter_mut().enumerate() {
                let result = engine::run(&script, stack.as_mut(), &opts);
                match &result.verdict {
                    Verdict::Pass => {
                        u.stacks.push(i);
                        if let Some(w) = syn_window(&result.trace) {
                            u.windows.min = u.windows.min.min(w);
                            u.windows.max = u.windows.max.max(w);
                        }
                    }
                    v => u.failures.push((self.names[i].clone(), verdict_text(v))),
                }
            }
            if u.windows.min > u.windows.max {
                // No SYN of the stack's in the prefix (LISTEN): its numbers are not windowed yet.
                u.windows = Windows {
                    min: 65535,
                    max: 65535,
                };
            }
            uses.push(u);
        }
        self.prefix_use = uses;
    }

    /// Runs `case` on every stack its prefix works on.
    pub fn run_case(&mut self, case: &Case) -> Vec<(String, Observation)> {
        let (Some(prefix), Some(usage)) = (
            self.prefixes.get(case.prefix),
            self.prefix_use.get(case.prefix),
        ) else {
            return Vec::new();
        };
        let (script, layout) = build::observation(prefix, case, &usage.windows);
        usage
            .stacks
            .iter()
            .filter_map(|&i| {
                let stack = self.stacks.get_mut(i)?;
                let o = observe::observe(stack.as_mut(), &script, &layout, &case.events);
                Some((self.names[i].clone(), o))
            })
            .collect()
    }

    /// The divergence of `case` given its observations.
    pub fn divergence(
        &self,
        case: &Case,
        observations: &[(String, Observation)],
    ) -> Option<Divergence> {
        let prefix = self.prefixes.get(case.prefix)?;
        let windows = self.prefix_use.get(case.prefix)?.windows;
        let vars = build::vars_along(prefix, case);
        signature::diverge(observations, &case.events, &vars, &windows)
    }

    /// Draws and runs one case; a divergence with a new signature becomes a class (shrunk at
    /// once). Returns the class's index when the case found a new one.
    pub fn step(&mut self) -> Option<usize> {
        let case = self.draw();
        self.stats.cases += 1;
        let observations = self.run_case(&case);
        let divergence = self.divergence(&case, &observations)?;
        self.stats.divergent += 1;
        if let Some(&i) = self.by_signature.get(&divergence.signature) {
            if let Some(c) = self.classes.get_mut(i) {
                c.hits += 1;
            }
            return None;
        }
        let signature = divergence.signature.clone();
        // What follows the divergent event does not change the divergence.
        let mut case = case;
        case.events.truncate(divergence.event + 1);
        let shrunk = self.shrink(case.clone(), &signature);
        let observations = self.run_case(&shrunk);
        let divergence = match self.divergence(&shrunk, &observations) {
            Some(d) if d.signature == signature => d,
            // Shrinking only keeps cases whose signature holds; this is the unshrunk case.
            _ => divergence,
        };
        let observations = if divergence.signature == signature && shrunk != case {
            observations
        } else {
            self.run_case(&case)
        };
        let index = self.classes.len();
        self.classes.push(Class {
            id: index + 1,
            signature: signature.clone(),
            case: if observations.is_empty() {
                case.clone()
            } else {
                shrunk
            },
            found_by: case,
            found_at: self.stats.cases,
            hits: 1,
            divergence,
            observations,
        });
        self.by_signature.insert(signature, index);
        Some(index)
    }

    /// The next case of the seed's sequence (one that the script language can write).
    pub fn draw(&mut self) -> Case {
        loop {
            let prefixes = &self.prefixes;
            let case = generate::case(
                &mut self.rng,
                &self.drawable,
                |p| prefixes.get(p).is_some_and(listens),
                self.settings.max_events,
            );
            if self.expressible(&case) {
                return case;
            }
        }
    }

    fn expressible(&self, case: &Case) -> bool {
        match (
            self.prefixes.get(case.prefix),
            self.prefix_use.get(case.prefix),
        ) {
            (Some(p), Some(u)) => build::expressible(p, case, &u.windows),
            _ => false,
        }
    }

    fn shrink(&mut self, case: Case, signature: &Signature) -> Case {
        let budget = self.settings.shrink_budget;
        let prefixes = self.prefixes.clone();
        let stacks = self.prefix_use[case.prefix].stacks.clone();
        // Another prefix must run on the same stacks, or the comparison would change.
        let usable: Vec<bool> = self.prefix_use.iter().map(|u| u.stacks == stacks).collect();
        let mut runs = 0u64;
        let shrunk = shrink::shrink(
            case,
            &prefixes,
            |p| usable.get(p).copied().unwrap_or(false),
            |candidate| {
                if !self.expressible(candidate) {
                    return false;
                }
                runs += 1;
                let observations = self.run_case(candidate);
                self.divergence(candidate, &observations)
                    .is_some_and(|d| d.signature == *signature)
            },
            budget,
        );
        self.stats.shrink_runs += runs;
        shrunk
    }

    /// The exploring stack called `name` (verification reuses it: every run sets it up anew).
    pub fn stack_mut(&mut self, name: &str) -> Option<&mut dyn Stack> {
        let i = self.names.iter().position(|n| n == name)?;
        match self.stacks.get_mut(i) {
            Some(s) => Some(s.as_mut()),
            None => None,
        }
    }

    /// Builds a fresh stack by name (for verification and oracles, which must not disturb the
    /// exploring ones).
    pub fn fresh_stack(name: &str) -> Result<Box<dyn Stack + Send>, ExploreError> {
        stack::by_name(name, &StackOptions::default()).map_err(|source| ExploreError::Stack {
            name: name.to_string(),
            source,
        })
    }
}

/// Exploring sets up and tears down stacks thousands of times a second, and with them the same
/// large buffers (smoltcp's socket buffers are 64 KiB each, three sockets per passive open).
/// glibc hands freed memory back to the kernel once 128 KiB lie free at the top of the heap, and
/// serves blocks of 128 KiB and more from fresh mappings, so every run would fault the same pages
/// in again: about a fifth of a case's time. Raising both thresholds keeps the memory in the
/// process (the bench `cargo bench --bench explore` shows the difference).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only sets glibc allocator parameters; it is called before the
            // explorer allocates anything large and never concurrently with itself (Once).
            unsafe {
                nix::libc::mallopt(nix::libc::M_TRIM_THRESHOLD, 256 << 20);
                nix::libc::mallopt(nix::libc::M_MMAP_THRESHOLD, 32 << 20);
            }
        });
    }
}

/// Whether a prefix leaves a listening socket (fd 3) that `accept()` applies to.
fn listens(p: &Prefix) -> bool {
    p.fd == 3
        && p.events.iter().any(|e| {
            matches!(&e.action, crate::script::ast::Action::Syscall(s) if s.name.node == "listen")
        })
}

/// The window of the stack's first SYN in a trace.
fn syn_window(trace: &engine::Trace) -> Option<u32> {
    trace.entries().iter().find_map(|e| match &e.kind {
        TraceKind::Observed { bytes, .. } => match crate::wire::decode(bytes) {
            Ok(Packet::Tcp(s)) if s.flags.contains(TcpFlags::SYN) => Some(u32::from(s.window)),
            _ => None,
        },
        _ => None,
    })
}

/// A verdict in one line.
pub fn verdict_text(v: &Verdict) -> String {
    let at =
        |l: Option<&engine::Location>| l.map_or(String::new(), |l| format!(" (line {})", l.line));
    match v {
        Verdict::Pass => "pass".into(),
        Verdict::Fail(f) => format!("fail{}: {}", at(f.location.as_ref()), f.message),
        Verdict::Skip { reason, location } => format!("skip{}: {reason}", at(location.as_ref())),
        Verdict::Error { message, location } => {
            format!("error{}: {message}", at(location.as_ref()))
        }
    }
}
