//! `tcpconf run`: runs scripts against a stack and reports the verdicts.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use tcpconf::engine::{self, Flag, RunOptions, RunResult, Verdict};
use tcpconf::report::{self, Counts, Format, HumanOptions};
use tcpconf::script::corpus;
use tcpconf::script::meta::ScriptMeta;
use tcpconf::stack::{self, StackOptions};
use tcpconf::wire::pcap::PcapWriter;

/// Arguments of `tcpconf run`. packetdrill's flags keep their packetdrill spelling
/// (`--tolerance_usecs=…`) and override the scripts' option lines.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The stack under test.
    #[arg(long, default_value = "reference")]
    stack: String,
    /// Behaviour profile of the stack, where it has several (`rfc9293`, `rfc793`).
    #[arg(long)]
    profile: Option<String>,
    /// How to reach an in-process stack (`tun`: through a TUN device, in real time).
    #[arg(long)]
    via: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write every injected and observed packet to this pcap file (LINKTYPE_RAW).
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Print each script's full trace (human format).
    #[arg(short, long)]
    verbose: bool,
    /// Run this many scripts at once, each on its own stack instance.
    #[arg(short = 'j', long = "jobs", default_value_t = 1)]
    jobs: usize,
    /// Fail on packets no line expects, at the end or within the quiet period after it.
    #[arg(long)]
    strict: bool,
    /// The strict-end quiet period in microseconds (default 200000).
    #[arg(long = "quiet_usecs", alias = "quiet-usecs")]
    quiet_usecs: Option<u64>,
    /// Run the scripts' backtick shell commands (never do this with scripts you do not trust).
    #[arg(long = "allow-shell")]
    allow_shell: bool,

    /// packetdrill: timing tolerance in microseconds (default 4000).
    #[arg(long = "tolerance_usecs", alias = "tolerance-usecs")]
    tolerance_usecs: Option<String>,
    /// packetdrill: timing tolerance in percent of the gap since the previous event (default 12.5).
    #[arg(long = "tolerance_percent", alias = "tolerance-percent")]
    tolerance_percent: Option<String>,
    /// packetdrill: ipv4, ipv4-mapped-ipv6 or ipv6.
    #[arg(long = "ip_version", alias = "ip-version")]
    ip_version: Option<String>,
    /// packetdrill: the stack's address (may carry /prefix).
    #[arg(long = "local_ip", alias = "local-ip")]
    local_ip: Option<String>,
    /// packetdrill: the address injected packets come from.
    #[arg(long = "remote_ip", alias = "remote-ip")]
    remote_ip: Option<String>,
    /// packetdrill: the gateway the route to the remote address uses.
    #[arg(long = "gateway_ip", alias = "gateway-ip")]
    gateway_ip: Option<String>,
    /// packetdrill: the local netmask.
    #[arg(long = "netmask_ip", alias = "netmask-ip")]
    netmask_ip: Option<String>,
    /// packetdrill: the port the stack listens on (default 8080).
    #[arg(long = "bind_port", alias = "bind-port")]
    bind_port: Option<String>,
    /// packetdrill: the port connect() goes to (default 8080).
    #[arg(long = "connect_port", alias = "connect-port")]
    connect_port: Option<String>,
    /// packetdrill: the link MTU (default 1500).
    #[arg(long)]
    mtu: Option<String>,
    /// packetdrill: don't merge consecutive outbound segments to match one script packet.
    #[arg(long = "strict_segments", alias = "strict-segments")]
    strict_segments: bool,
    /// packetdrill: infer inbound TS ecr values the stack never sent by offset.
    #[arg(long = "tcp_ts_ecr_scaled", alias = "tcp-ts-ecr-scaled")]
    tcp_ts_ecr_scaled: bool,
    /// packetdrill: check outbound TS val at this tick (microseconds; 0 = don't).
    #[arg(long = "tcp_ts_tick_usecs", alias = "tcp-ts-tick-usecs")]
    tcp_ts_tick_usecs: Option<String>,
    /// packetdrill: keep send buffers alive (accepted for runner compatibility; no effect here).
    #[arg(long = "send_omit_free", hide = true)]
    send_omit_free: bool,
    /// packetdrill: define SYM=value (for `#ifdef` and symbols in the script).
    #[arg(short = 'D', long = "define", value_name = "SYM=VALUE")]
    define: Vec<String>,

    /// Script files, or directories searched recursively for `*.pkt`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

impl RunArgs {
    fn run_options(&self) -> RunOptions {
        let mut flags = Vec::new();
        let valued = [
            ("tolerance_usecs", &self.tolerance_usecs),
            ("tolerance_percent", &self.tolerance_percent),
            ("ip_version", &self.ip_version),
            ("local_ip", &self.local_ip),
            ("remote_ip", &self.remote_ip),
            ("gateway_ip", &self.gateway_ip),
            ("netmask_ip", &self.netmask_ip),
            ("bind_port", &self.bind_port),
            ("connect_port", &self.connect_port),
            ("mtu", &self.mtu),
            ("tcp_ts_tick_usecs", &self.tcp_ts_tick_usecs),
        ];
        for (name, value) in valued {
            if let Some(v) = value {
                flags.push(Flag::new(name, v.clone()));
            }
        }
        for (name, set) in [
            ("strict_segments", self.strict_segments),
            ("tcp_ts_ecr_scaled", self.tcp_ts_ecr_scaled),
            ("send_omit_free", self.send_omit_free),
        ] {
            if set {
                flags.push(Flag::new(name, "1"));
            }
        }
        flags.extend(self.define.iter().map(|d| Flag::new("define", d.clone())));
        RunOptions {
            flags,
            strict: self.strict.then_some(true),
            quiet_usecs: self.quiet_usecs,
            allow_shell: self.allow_shell,
            shell_dir: None,
        }
    }

    fn stack_options(&self) -> StackOptions {
        StackOptions {
            profile: self.profile.clone(),
            script_profile: None,
            via: self.via.clone(),
        }
    }
}

/// Runs one script file on a fresh stack instance.
fn run_one(path: &PathBuf, args: &RunArgs, opts: &RunOptions) -> RunResult {
    let source = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            return RunResult::not_run(
                path.clone(),
                Verdict::Error {
                    message: format!("cannot read the script: {e}"),
                    location: None,
                },
            );
        }
    };
    let mut stack_opts = args.stack_options();
    if let Ok(script) = tcpconf::script::parse(&source) {
        // The script's `//! profile:` selects the behaviour of stacks that have several.
        let (meta, _) = ScriptMeta::from_script(&script);
        stack_opts.script_profile = meta.profile.map(|p| p.name().to_string());
    }
    match stack::by_name(&args.stack, &stack_opts) {
        Ok(mut stack) => engine::run_source(path, &source, stack.as_mut(), opts),
        Err(e) => RunResult::not_run(
            path.clone(),
            Verdict::Error {
                message: e.to_string(),
                location: None,
            },
        ),
    }
}

/// Exit 0 if every script passed, 1 otherwise, 2 on a usage or I/O error.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    // A stack name that does not exist is a usage error, not one error verdict per script.
    stack::check_name(&args.stack).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut files = corpus::collect_scripts(&args.paths)?;
    files.sort();
    files.dedup();
    let opts = args.run_options();
    let stdout = std::io::stdout();
    let human = HumanOptions {
        verbose: args.verbose,
        color: stdout.is_terminal(),
    };
    let progress = std::io::stderr().is_terminal() && files.len() > 1;
    let jobs = args.jobs.clamp(1, files.len().max(1));

    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, RunResult)>();
    let mut results: Vec<Option<RunResult>> = files.iter().map(|_| None).collect();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, files, opts) = (&next, &files, &opts);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(path) = files.get(i) else { break };
                    if tx.send((i, run_one(path, args, opts))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Print in path order as results arrive, whatever order the workers finish in.
        let mut printed = 0usize;
        let mut done = 0usize;
        let mut out = stdout.lock();
        for (i, r) in rx {
            done += 1;
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
            if args.format == Format::Human {
                if progress {
                    eprint!("\r\x1b[K");
                }
                while let Some(Some(r)) = results.get(printed) {
                    report::write_result(r, &human, &mut out)?;
                    printed += 1;
                }
                out.flush()?;
            }
            if progress {
                eprint!(
                    "\r\x1b[K[{done}/{}] {} running on {} job(s)",
                    files.len(),
                    args.stack,
                    jobs
                );
            }
        }
        if progress {
            eprint!("\r\x1b[K");
        }
        Ok(())
    })?;
    let results: Vec<RunResult> = results.into_iter().flatten().collect();
    let mut out = stdout.lock();
    match args.format {
        Format::Human => report::write_summary(&results, &mut out)?,
        other => report::write(other, &results, &human, &mut out)?,
    }
    out.flush()?;
    if let Some(path) = &args.pcap {
        write_pcap(path, &results).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if Counts::of(&results).all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Every injected and observed packet of every run, one run after the other (each run's times
/// shifted past the previous run's last packet, so Wireshark shows them in order).
fn write_pcap(path: &PathBuf, results: &[RunResult]) -> anyhow::Result<()> {
    let mut w = PcapWriter::new(BufWriter::new(File::create(path)?))?;
    let mut offset = Duration::ZERO;
    for r in results {
        let mut last = Duration::ZERO;
        for (at, _, bytes) in r.trace.packets() {
            w.write_packet(offset + at, bytes)?;
            last = last.max(at);
        }
        offset += last + Duration::from_secs(1);
    }
    w.into_inner()?.flush()?;
    Ok(())
}
