//! The engine: runs one script against one [`Stack`] and says what happened.
//!
//! [`run`] resolves the run's [`Settings`] (defaults, the script's option lines, then the caller's
//! flags), checks that the stack can run the script at all (a missing capability is a `skip`),
//! sets the stack up, plays the script's events in time (the `runner` module), applies the strict
//! end, and tears the stack down. The [`RunResult`] carries the [`Verdict`], the [`Trace`] and any
//! [`Measurement`]s.

mod conn;
mod defines;
mod inbound;
mod matcher;
pub mod notation;
pub mod options;
pub mod priority;
mod result;
mod runner;
mod stop;
mod syscalls;
mod timing;
mod trace;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Instant;

use crate::clock::RealClock;
use crate::script::ast::{Action, Direction, Item, PacketKind, Script};
use crate::stack::Stack;

pub use options::{Flag, IpVersion, OptionError, RunOptions, Settings};
pub use result::{Failure, Location, Measurement, RunResult, Verdict};
pub use trace::{Trace, TraceEntry, TraceKind};

use runner::Runner;
use stop::{Stop, location};

/// Runs `script` against `stack`. Never panics on bad input; every outcome is a verdict.
pub fn run(script: &Script, stack: &mut dyn Stack, opts: &RunOptions) -> RunResult {
    run_with(script, stack, opts, false)
}

/// [`run`], and before every event that starts at a fixed time (not `>` lines) the trace records
/// the state of the connection under test, as a `State` entry whose query is `state`: what each
/// line found, judged by nothing. `tcpconf explore` compares stacks by it.
pub fn run_tracing_states(script: &Script, stack: &mut dyn Stack, opts: &RunOptions) -> RunResult {
    run_with(script, stack, opts, true)
}

fn run_with(
    script: &Script,
    stack: &mut dyn Stack,
    opts: &RunOptions,
    trace_states: bool,
) -> RunResult {
    let started = Instant::now();
    let info = stack.info();
    let (verdict, trace, measurements) = match prepare(script, stack, opts) {
        Err(stop) => (stop.into_verdict(), Trace::default(), Vec::new()),
        Ok(prepared) => execute(&prepared, stack, opts, trace_states),
    };
    RunResult {
        path: PathBuf::new(),
        stack: Some(info),
        verdict,
        measurements,
        trace,
        wall_time: started.elapsed(),
    }
}

/// Parses `source` (the text of the script at `path`) and runs it: the result carries the path and
/// quotes the source at the line it points to. A script that does not parse is an `error`.
pub fn run_source(
    path: &std::path::Path,
    source: &str,
    stack: &mut dyn Stack,
    opts: &RunOptions,
) -> RunResult {
    let mut result = match crate::script::parse(source) {
        Ok(script) => {
            let mut opts = opts.clone();
            if opts.shell_dir.is_none() {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                opts.shell_dir =
                    dir.map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf()));
            }
            run(&script, stack, &opts)
        }
        Err(diag) => {
            let mut r = RunResult::not_run(
                path.to_path_buf(),
                Verdict::Error {
                    message: match &diag.help {
                        Some(help) => {
                            format!("the script does not parse: {} (help: {help})", diag.message)
                        }
                        None => format!("the script does not parse: {}", diag.message),
                    },
                    location: Some(location(diag.span)),
                },
            );
            r.stack = Some(stack.info());
            r
        }
    };
    result.path = path.to_path_buf();
    result.attach_source(source);
    result
}

/// A script ready to run: settings resolved, `#ifdef`s applied, capabilities checked.
struct Prepared {
    settings: Settings,
    script: Script,
    net: crate::stack::NetConfig,
    strict: bool,
}

fn prepare(script: &Script, stack: &dyn Stack, opts: &RunOptions) -> Result<Prepared, Stop> {
    let info = stack.info();
    let caps = &info.capabilities;
    let mut settings = Settings::default();
    for o in &script.options {
        let flag = Flag {
            name: o.name.node.clone(),
            value: o.value.as_ref().map(|v| v.node.clone()),
        };
        settings
            .apply(&flag)
            .map_err(|e| option_stop(e, Some(location(o.span))))?;
    }
    settings
        .apply_run_options(opts)
        .map_err(|e| option_stop(e, None))?;
    let net = settings
        .net_config()
        .map_err(|e| Stop::error(None, e.to_string()))?;
    let strict = strict_mode(script, opts, &settings);
    let mut script = script.resolve_ifdefs(&settings.defines);
    defines::substitute(&mut script, &settings.defines)?;

    if script.all_events().next().is_none() {
        // Nothing would run, and nothing that did not run may pass.
        return Err(Stop::error(None, "the script has no events to run"));
    }
    let (family_ok, family) = match settings.ip_version {
        IpVersion::V4 => (caps.ipv4, "IPv4"),
        IpVersion::V6 => (caps.ipv6, "IPv6"),
        IpVersion::V4MappedV6 => (caps.ipv4_mapped_ipv6, "IPv4-mapped IPv6"),
    };
    if !family_ok {
        return Err(Stop::skip(
            None,
            format!("stack `{}` does not support {family}", info.name),
        ));
    }
    let commands = script
        .init_command
        .iter()
        .chain(script.cleanup_command.iter())
        .map(|c| c.span)
        .chain(script.all_events().filter_map(|e| match &e.action {
            Action::Shell(c) => Some(c.span),
            _ => None,
        }));
    if let Some(span) = commands.min_by_key(|s| s.start) {
        if !opts.allow_shell {
            return Err(Stop::skip(
                Some(location(span)),
                "the script runs shell commands; they run only with --allow-shell",
            ));
        }
        if !caps.shell {
            return Err(Stop::skip(
                Some(location(span)),
                format!("stack `{}` cannot run shell commands", info.name),
            ));
        }
    }
    for ev in script.all_events() {
        match &ev.action {
            Action::Code(c) => {
                return Err(Stop::skip(
                    Some(location(c.span)),
                    "python `%{ }%` blocks are never run by tcpconf (use `assert state` instead)",
                ));
            }
            Action::Packet(p)
                if matches!(p.kind, PacketKind::Udp(_))
                    || (matches!(p.kind, PacketKind::Icmp(_))
                        && p.direction.node == Direction::Outbound) =>
            {
                return Err(Stop::skip(
                    Some(location(p.span)),
                    "UDP packets and outbound ICMP are not supported yet",
                ));
            }
            Action::Syscall(call)
                if !caps.shut_rd
                    && call.name.node == "shutdown"
                    && call.args.get(1).is_some_and(|a| {
                        matches!(&a.kind, crate::script::ast::ExprKind::Symbol(s) if s == "SHUT_RD")
                    }) =>
            {
                return Err(Stop::skip(
                    Some(location(call.span)),
                    format!("stack `{}` has no shutdown(SHUT_RD) of its own", info.name),
                ));
            }
            Action::Packet(p)
                if p.direction.node == Direction::Outbound
                    && matches!(&p.kind, PacketKind::Tcp(t) if t.udp_encap.is_some() || t.psp_spi.is_some()) =>
            {
                return Err(Stop::skip(
                    Some(location(p.span)),
                    "TCP-over-UDP and PSP encapsulation are not supported",
                ));
            }
            _ => {}
        }
    }
    Ok(Prepared {
        settings,
        script,
        net,
        strict,
    })
}

/// Strict end is on when asked for on the command line, else as the script's `//! strict:` says,
/// else as an option line says, else for scripts with `//!` metadata (`docs/language.md`).
fn strict_mode(script: &Script, opts: &RunOptions, settings: &Settings) -> bool {
    let (meta, _) = crate::script::meta::ScriptMeta::from_script(script);
    opts.strict
        .or(meta.strict)
        .or(settings.strict)
        .unwrap_or(meta.present)
}

fn option_stop(e: OptionError, loc: Option<Location>) -> Stop {
    match e {
        OptionError::Unsupported(_) => Stop::skip(loc, e.to_string()),
        other => Stop::error(loc, other.to_string()),
    }
}

/// Sets the stack up, plays the script and tears the stack down: the verdict, with the trace and
/// measurements of whatever ran.
fn execute(
    p: &Prepared,
    stack: &mut dyn Stack,
    opts: &RunOptions,
    trace_states: bool,
) -> (Verdict, Trace, Vec<Measurement>) {
    let caps = stack.info().capabilities;
    // Before set-up, so that the adapter's threads inherit it.
    let priority = (caps.time == crate::stack::TimeModel::Real).then(priority::raise);
    let clock = RealClock::start();
    if let Err(e) = stack.setup(&p.net, clock) {
        // Whatever the failed set-up left behind is released; its own error matters less.
        let _ = stack.teardown();
        return (
            Stop::from_stack(e, None).into_verdict(),
            Trace::default(),
            Vec::new(),
        );
    }
    let mut runner = Runner::new(stack, caps, p.settings.clone(), p.net.clone(), clock);
    runner.shell_dir = opts.shell_dir.clone();
    runner.trace_states = trace_states;
    if let Some(guard) = &priority {
        runner.note_priority(guard.raised());
    }
    let outcome = play(p, &mut runner, opts);
    // The cleanup command runs even after a failure (packetdrill's `die()`), but only with
    // --allow-shell (checked in `prepare`).
    let cleanup = match (&p.script.cleanup_command, opts.allow_shell) {
        (Some(c), true) => runner.cleanup(&c.text, location(c.span)),
        _ => Ok(()),
    };
    let trace = std::mem::take(&mut runner.trace);
    let measurements = std::mem::take(&mut runner.measurements);
    drop(runner);
    // Off real-time priority: a teardown's kernel work must not delay other runs' events.
    let teardown = priority::at_normal_priority(|| stack.teardown());
    let verdict = match outcome.and(cleanup) {
        Ok(()) => Verdict::Pass,
        Err(stop) => stop.into_verdict(),
    };
    let verdict = match (verdict, teardown) {
        (Verdict::Pass, Err(e)) => Stop::from_stack(e, None).into_verdict(),
        (v, _) => v,
    };
    (verdict, trace, measurements)
}

fn play(p: &Prepared, runner: &mut Runner<'_>, opts: &RunOptions) -> Result<(), Stop> {
    if let (Some(c), true) = (&p.script.init_command, opts.allow_shell) {
        runner.init(&c.text, location(c.span))?;
    }
    runner.start();
    for item in &p.script.body {
        if let Item::Event(ev) = item {
            runner.event(ev)?;
        }
    }
    runner.finish(p.strict)
}
