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

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tcpconf::engine::{self, Flag, RunOptions, RunResult, Verdict};
use tcpconf::script::meta::ScriptMeta;
use tcpconf::stack::{self, StackOptions};

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
    let run_opts = RunOptions {
        flags: ip_version
            .map(|v| vec![Flag::new("ip_version", v)])
            .unwrap_or_default(),
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

/// The TTL (IPv4) or hop limit (IPv6) of every packet the stack sent.
fn observed_ttls(result: &RunResult) -> Vec<u8> {
    result
        .trace
        .packets()
        .filter(|(_, injected, _)| !injected)
        .filter_map(|(_, _, p)| match p.first().map(|b| b >> 4) {
            Some(4) => p.get(8).copied(),
            Some(6) => p.get(7).copied(),
            _ => None,
        })
        .collect()
}

/// Runs one script both ways; `Err` says how they disagree.
fn compare(path: &Path, ip_version: Option<&str>) -> Result<(RunResult, Duration), String> {
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
    let forwarded: Vec<u8> = observed_ttls(&virt)
        .iter()
        .map(|t| t.saturating_sub(1))
        .collect();
    let seen = observed_ttls(&tun);
    if matches!(tun.verdict, Verdict::Pass) && seen != forwarded {
        return Err(format!(
            "observed TTLs {seen:?}, expected those of virtual time less one hop {forwarded:?}: \
             the packets did not cross the namespace's kernel"
        ));
    }
    Ok((tun, wall))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("{NAME}: test");
        return ExitCode::SUCCESS;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| NAME.contains(f.as_str())) {
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
    for (script, ip_version) in runs {
        total += 1;
        let label = match ip_version {
            Some(v) => format!("{script} --ip_version={v}"),
            None => script.to_string(),
        };
        match compare(&corpus.join(script), ip_version) {
            Ok((result, wall)) => {
                let verdict = result.verdict.name();
                passed += usize::from(verdict == "pass");
                println!(
                    "  {verdict:<5} {label} ({:.3} s via tun)",
                    wall.as_secs_f64()
                );
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
    if disagreements.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("disagreements: {}", disagreements.join(", "));
        ExitCode::FAILURE
    }
}
