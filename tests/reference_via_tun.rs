//! `--stack reference --via tun` against virtual time: a subset of the corpus (handshake, close,
//! half-close, RST, simultaneous close — no script that waits out a long timer) runs on the reference
//! stack in process and in virtual time, then again with the same stack behind a TUN device in a
//! private namespace in real time, and every script must get the same verdict both ways. Observed
//! packets must have crossed the namespace's kernel: each carries the TTL (hop limit) of its virtual
//! twin minus the one the forwarding took.
//!
//! Needs root (a network namespace and TUN devices); CI runs as root. Without it the test prints a
//! skip line and passes. It runs without the libtest harness so that the skip line and the
//! measurements (wall time, passes) always show, not only under `--nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tcpconf::engine::{self, Flag, RunOptions, RunResult, TraceKind, Verdict};
use tcpconf::script::meta::ScriptMeta;
use tcpconf::stack::{self, StackOptions};

/// Timing tolerance of both runs (packetdrill's default is 4 ms).
const TOLERANCE_USECS: &str = "25000";

const NAME: &str = "reference_via_tun_agrees_with_virtual_time";

/// The subset, relative to `scripts/`: each finishes in well under a second of real time.
const SCRIPTS: &[&str] = &[
    "handshake/active-open.pkt",
    "handshake/passive-open.pkt",
    "handshake/close-in-syn-sent.pkt",
    "handshake/connect-refused.pkt",
    "handshake/duplicate-syn-in-syn-received.pkt",
    "handshake/simultaneous-open.pkt",
    "handshake/syn-received-rst-returns-to-listen.pkt",
    "handshake/syn-with-data.pkt",
    "close/active-four-way.pkt",
    "close/passive-four-way-client.pkt",
    "close/close-wait-send-then-close.pkt",
    "close/data-after-close-rst.pkt",
    "close/linger-zero-abort.pkt",
    "close/write-after-shutdown-epipe.pkt",
    "half-close/close-wait-shutdown-wr.pkt",
    "half-close/data-and-fin-in-one-segment.pkt",
    "half-close/fin-wait-2-data-with-fin.pkt",
    "half-close/read-returns-zero-after-fin.pkt",
    "rst/established-exact.pkt",
    "rst/established-out-of-window.pkt",
    "rst/challenge-ack-then-exact-rst.pkt",
    "rst/fin-wait-1-exact.pkt",
    "rst/last-ack-exact.pkt",
    "rst/time-wait-exact.pkt",
    "rst/icmp-port-unreachable-in-established.pkt",
    "simultaneous-close/through-closing.pkt",
    "simultaneous-close/through-closing-client.pkt",
    "simultaneous-close/after-data-both-ways.pkt",
];

/// Scripts run once more over IPv6 and IPv4-mapped IPv6 sockets (the kernel forwards IPv6 too).
const OTHER_FAMILIES: &[(&str, &str)] = &[
    ("handshake/passive-open.pkt", "ipv6"),
    ("close/active-four-way.pkt", "ipv6"),
    ("rst/established-exact.pkt", "ipv6"),
    ("handshake/active-open.pkt", "ipv4-mapped-ipv6"),
];

/// CAP_NET_ADMIN (12) and CAP_SYS_ADMIN (21) in the effective set.
fn privileged() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let hex = s
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))?
                .trim()
                .to_string();
            u64::from_str_radix(&hex, 16).ok()
        })
        .is_some_and(|caps| caps & (1 << 12) != 0 && caps & (1 << 21) != 0)
}

fn run(path: &Path, ip_version: Option<&str>, via: Option<&str>) -> Result<RunResult, String> {
    let source = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let script = tcpconf::script::parse(&source)
        .map_err(|d| format!("{}: {}", path.display(), d.message))?;
    let (meta, _) = ScriptMeta::from_script(&script);
    let opts = StackOptions {
        script_profile: meta.profile.map(|p| p.name().to_string()),
        via: via.map(str::to_string),
        ..StackOptions::default()
    };
    let mut stack = stack::by_name("reference", &opts).map_err(|e| e.to_string())?;
    // The tolerance allows for a loaded CI machine waking the stack's thread late: this test
    // checks the path through the kernel, not the machine's scheduling latency (which it prints).
    let mut flags = vec![Flag::new("tolerance_usecs", TOLERANCE_USECS)];
    flags.extend(ip_version.map(|v| Flag::new("ip_version", v)));
    let run_opts = RunOptions {
        flags,
        ..RunOptions::default()
    };
    Ok(engine::run_source(path, &source, stack.as_mut(), &run_opts))
}

/// The verdict's name and the line it points at, which must agree between the two runs.
fn verdict_key(v: &Verdict) -> (String, Option<usize>) {
    let line = match v {
        Verdict::Pass => None,
        Verdict::Fail(f) => f.location.as_ref().map(|l| l.line),
        Verdict::Skip { location, .. } | Verdict::Error { location, .. } => {
            location.as_ref().map(|l| l.line)
        }
    };
    (v.name().to_string(), line)
}

fn describe(v: &Verdict) -> String {
    match v {
        Verdict::Pass => "pass".into(),
        Verdict::Fail(f) => format!("fail: {}", f.message),
        Verdict::Skip { reason, .. } => format!("skip: {reason}"),
        Verdict::Error { message, .. } => format!("error: {message}"),
    }
}

/// For every packet the stack sent: how long after the last thing tcpconf did (inject a packet,
/// start a syscall) it was seen, and its TTL (IPv4) or hop limit (IPv6).
fn observed(result: &RunResult) -> Vec<(Duration, u8)> {
    let mut last_action = Duration::ZERO;
    let mut seen = Vec::new();
    for entry in result.trace.entries() {
        match &entry.kind {
            TraceKind::Injected { .. } | TraceKind::Syscall { .. } => last_action = entry.at,
            TraceKind::Observed { bytes, .. } => {
                let ttl = match bytes.first().map(|b| b >> 4) {
                    Some(4) => bytes.get(8),
                    Some(6) => bytes.get(7),
                    _ => None,
                };
                if let Some(ttl) = ttl {
                    seen.push((entry.at.saturating_sub(last_action), *ttl));
                }
            }
            _ => {}
        }
    }
    seen
}

/// What one script's two runs showed.
struct Agreement {
    tun: RunResult,
    wall: Duration,
    /// For each packet the stack sent, how much longer it took to appear after the action before
    /// it via the TUN than in virtual time: the round trip through the kernel and the stack's
    /// thread, or a timer's lateness.
    lateness: Vec<Duration>,
}

/// Runs one script both ways; `Err` says how they disagree.
fn compare(path: &Path, ip_version: Option<&str>) -> Result<Agreement, String> {
    let virt = run(path, ip_version, None)?;
    let started = Instant::now();
    let tun = run(path, ip_version, Some("tun"))?;
    let wall = started.elapsed();
    if verdict_key(&virt.verdict) != verdict_key(&tun.verdict) {
        return Err(format!(
            "virtual time: {}; via tun: {}",
            describe(&virt.verdict),
            describe(&tun.verdict)
        ));
    }
    let (virt_seen, tun_seen) = (observed(&virt), observed(&tun));
    let forwarded: Vec<u8> = virt_seen.iter().map(|(_, t)| t.saturating_sub(1)).collect();
    let seen: Vec<u8> = tun_seen.iter().map(|(_, t)| *t).collect();
    if matches!(tun.verdict, Verdict::Pass) && seen != forwarded {
        return Err(format!(
            "observed TTLs {seen:?}, expected those of virtual time less one hop {forwarded:?}: \
             the packets did not cross the namespace's kernel"
        ));
    }
    let lateness = virt_seen
        .iter()
        .zip(&tun_seen)
        .map(|((v, _), (t, _))| t.saturating_sub(*v))
        .collect();
    Ok(Agreement {
        tun,
        wall,
        lateness,
    })
}

/// The `q`-quantile (0..=1) of sorted values.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// Whether libtest's command line (as `cargo test [FILTER] -- [ARGS]` passes it) selects this
/// test: `--list` is answered here; `--ignored`, `--skip` and filters are honoured.
fn selected(args: &[String]) -> bool {
    const WITH_VALUE: &[&str] = &[
        "--test-threads",
        "--color",
        "--format",
        "--logfile",
        "--shuffle-seed",
        "-Z",
    ];
    let (mut filters, mut args) = (Vec::new(), args.iter());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => {
                println!("{NAME}: test");
                return false;
            }
            "--ignored" => return false,
            "--skip" => {
                if args.next().is_some_and(|skip| NAME.contains(skip.as_str())) {
                    return false;
                }
            }
            a if WITH_VALUE.contains(&a) => {
                args.next();
            }
            a if a.starts_with('-') => {}
            filter => filters.push(filter),
        }
    }
    filters.is_empty() || filters.iter().any(|f| NAME.contains(f))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !selected(&args) {
        return ExitCode::SUCCESS;
    }
    if !privileged() {
        println!(
            "test {NAME} ... skipped: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) for a private \
             network namespace with TUN devices"
        );
        return ExitCode::SUCCESS;
    }
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let runs = SCRIPTS
        .iter()
        .map(|s| (*s, None))
        .chain(OTHER_FAMILIES.iter().map(|(s, v)| (*s, Some(*v))));
    let started = Instant::now();
    let (mut passed, mut total, mut disagreements) = (0, 0, Vec::new());
    let mut lateness = Vec::new();
    for (script, ip_version) in runs {
        total += 1;
        let label = match ip_version {
            Some(v) => format!("{script} --ip_version={v}"),
            None => script.to_string(),
        };
        match compare(&corpus.join(script), ip_version) {
            Ok(agreement) => {
                let verdict = agreement.tun.verdict.name();
                passed += usize::from(verdict == "pass");
                println!(
                    "  {verdict:<5} {label} ({:.3} s via tun)",
                    agreement.wall.as_secs_f64()
                );
                lateness.extend(agreement.lateness);
            }
            Err(why) => {
                println!("  DIFF  {label}: {why}");
                disagreements.push(label);
            }
        }
    }
    println!(
        "test {NAME}: {total} runs via tun, {passed} passed, {} disagreed with virtual time; \
         {:.1} s wall time (both ways)",
        disagreements.len(),
        started.elapsed().as_secs_f64()
    );
    lateness.sort();
    println!(
        "  delay of the stack's packets after tcpconf's action before them, via tun less virtual \
         time: {} packets, p50 {:?}, p99 {:?}, max {:?}",
        lateness.len(),
        quantile(&lateness, 0.5),
        quantile(&lateness, 0.99),
        lateness.last().copied().unwrap_or_default()
    );
    if disagreements.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("disagreements: {}", disagreements.join(", "));
        ExitCode::FAILURE
    }
}
