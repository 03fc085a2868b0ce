//! `tcpconf run`: runs scripts against a stack through the suite runner and reports the verdicts
//! (or, with `--expect`, the matrix's cells).

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tcpconf::engine::{Flag, RunOptions};
use tcpconf::report::{self, Format, HumanOptions};
use tcpconf::stack::StackOptions;
use tcpconf::suite::{self, Expectations, Outcome, Plan, Target};

/// Arguments of `tcpconf run`. packetdrill's flags keep their packetdrill spelling
/// (`--tolerance_usecs=…`) and override the scripts' option lines.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The stack under test (`--help` lists them).
    #[arg(long, default_value = "reference", long_help = super::stacks_help())]
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
    /// Run this many scripts at once, each on its own stack instance [default: one per CPU;
    /// four per CPU on a real-time stack, see `suite::REAL_TIME_JOBS_PER_CPU`].
    #[arg(short = 'j', long = "jobs", value_parser = super::jobs)]
    jobs: Option<usize>,
    /// Judge each verdict against the stack's expectations in DIR/<stack>.toml (e.g.
    /// conformance-report/expectations), as the matrix does: the output shows each script's cell
    /// and the exit status is 0 when every cell is as expected.
    #[arg(long, value_name = "DIR")]
    expect: Option<PathBuf>,
    /// The corpus root script ids are taken under (the ids expectations files use).
    #[arg(long, default_value = "scripts")]
    root: PathBuf,
    /// On a real-time stack, run a script again up to N times when it does not pass (or, with
    /// --expect, when its cell is not as expected); the output shows the attempts.
    #[arg(long, default_value_t = 0)]
    retries: u32,
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

    /// Script files, or directories searched recursively for `*.pkt` (finding none is an error).
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

/// Exit 0 if every script passed (with `--expect`: every cell is as expected), 1 otherwise, 2 on
/// a usage or I/O error (a stack that cannot run here is one, said once).
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let opts = args.run_options();
    let scripts = suite::load::paths(
        &args.paths,
        Some(&args.root),
        &suite::load::defines(&opts.flags),
    )?;
    // Before anything runs: a mistyped pcap path must not cost a whole run.
    let pcap = match &args.pcap {
        Some(path) => Some((
            path,
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => None,
    };
    let target = Target::prepare(&args.stack, args.stack_options())?;
    let expectations = match &args.expect {
        Some(dir) => Some(Arc::new(Expectations::load(dir, &args.stack)?)),
        None => None,
    };
    let plan = Plan {
        run_options: opts,
        jobs: args
            .jobs
            .unwrap_or_else(|| suite::default_jobs(target.info.capabilities.time)),
        retries: args.retries,
        expectations,
    };

    // `tcpconf check`'s diagnostics first, on stderr as `check` prints them; a script with errors
    // then ends as an `error` at the same line and column.
    let color_err = std::io::stderr().is_terminal();
    let mut stderr = std::io::stderr().lock();
    for script in &scripts {
        for d in &script.diagnostics {
            let path = script.path.display().to_string();
            stderr.write_all(d.render(&path, &script.source, color_err).as_bytes())?;
        }
    }
    drop(stderr);

    let stdout = std::io::stdout();
    let human = HumanOptions {
        verbose: args.verbose,
        color: stdout.is_terminal(),
    };
    let progress = std::io::stderr().is_terminal() && scripts.len() > 1;
    let mut out = stdout.lock();
    let mut done: Vec<Option<Outcome>> = vec![None; scripts.len()];
    let (mut printed, mut finished) = (0usize, 0usize);
    let mut write_error: Option<std::io::Error> = None;
    let total = scripts.len();
    let stack_name = target.name.clone();
    let run = suite::run_stack(target, &scripts, &plan, |i, outcome| {
        finished += 1;
        if let Some(slot) = done.get_mut(i) {
            *slot = Some(outcome.clone());
        }
        if progress {
            super::progress(&format!(
                "[{finished}/{total}] {stack_name} running on {} job(s)",
                plan.jobs
            ));
        }
        // Print in path order as results arrive, whatever order the workers finish in; after a
        // failed write (a closed pipe) print nothing more.
        if args.format == Format::Human && write_error.is_none() {
            if progress {
                super::progress("");
            }
            while let Some(Some(o)) = done.get(printed) {
                if let Err(e) = report::write_result(o, &human, &mut out).and_then(|()| out.flush())
                {
                    write_error = Some(e);
                    break;
                }
                printed += 1;
            }
        }
    });
    if progress {
        super::progress("");
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    match args.format {
        Format::Human => report::write_summary(&run.outcomes, &mut out)?,
        other => report::write(other, &run.outcomes, &human, &mut out)?,
    }
    out.flush()?;
    if let Some((path, file)) = pcap {
        report::pcap::write_pcap(&run.outcomes, BufWriter::new(file))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if run.outcomes.iter().all(Outcome::as_expected) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
