//! `tcpconf explore`: draws cases until the budget is spent (or Ctrl-C), showing progress, then
//! writes the classes' scripts and the summary (`docs/explore.md`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use tcpconf::explore::output::{self, Outputs};
use tcpconf::explore::{Explorer, Settings};
use tcpconf::script::ast::TcpState;

/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, clap::Args)]
pub struct ExploreArgs {
    /// The stacks to compare, comma-separated (virtual-time ones: reference, smoltcp, lwip).
    #[arg(long, value_delimiter = ',', required = true)]
    stacks: Vec<String>,
    /// Only cases starting in these states (comma-separated: ESTABLISHED,TIME_WAIT,…).
    #[arg(long, value_delimiter = ',')]
    states: Vec<String>,
    /// The seed of the case generator: one seed and one --cases give one result.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this long (`90s`, `10m`, `1h`); the default budget is 60 s.
    #[arg(long, value_parser = parse_duration, conflicts_with = "cases")]
    budget: Option<Duration>,
    /// Stop after this many cases (deterministic, unlike --budget).
    #[arg(long)]
    cases: Option<u64>,
    /// At most this many events after a case's prefix.
    #[arg(long, default_value_t = 3)]
    max_events: usize,
    /// Where the class scripts (classes/*.pkt), summary.md and summary.json go.
    #[arg(long)]
    out: PathBuf,
    /// Re-run every class on this stack too and add its reaction (`linux`: needs root, real time).
    #[arg(long)]
    oracle: Option<String>,
    /// The known deviations to match classes with.
    #[arg(long, default_value = "conformance-report/expectations")]
    expectations: PathBuf,
    /// The corpus those deviations name scripts of.
    #[arg(long, default_value = "scripts")]
    corpus: PathBuf,
    /// No progress line.
    #[arg(short, long)]
    quiet: bool,
}

/// `90s`, `10m`, `1h`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((t, "s"), |i| (&t[..i], &t[i..]));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 10m or 1h"))?;
    let scale = match unit {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("unknown unit `{unit}` in `{text}` (s, m, h)")),
    };
    Duration::try_from_secs_f64(value * scale).map_err(|e| e.to_string())
}

pub fn run(args: &ExploreArgs) -> anyhow::Result<ExitCode> {
    let states = args
        .states
        .iter()
        .map(|s| {
            TcpState::from_script_name(&s.to_ascii_uppercase().replace('-', "_"))
                .with_context(|| format!("unknown TCP state `{s}`"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.max_events == 0 {
        bail!("--max-events must be at least 1");
    }
    let settings = Settings {
        stacks: args.stacks.clone(),
        states,
        seed: args.seed,
        max_events: args.max_events,
        ..Settings::default()
    };
    let mut explorer = Explorer::new(settings)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("cannot install the Ctrl-C handler")?;
    }
    let budget = match (args.budget, args.cases) {
        (Some(b), _) => Some(b),
        (None, None) => Some(Duration::from_secs(60)),
        (None, Some(_)) => None,
    };
    let started = Instant::now();
    let mut shown = started;
    while !stop.load(Ordering::SeqCst)
        && budget.is_none_or(|b| started.elapsed() < b)
        && args.cases.is_none_or(|n| explorer.stats.cases < n)
    {
        let found = explorer.step();
        if !args.quiet && (found.is_some() || shown.elapsed() >= PROGRESS_EVERY) {
            shown = Instant::now();
            progress(&explorer, started.elapsed(), found);
        }
    }
    let elapsed = started.elapsed();
    if !args.quiet {
        eprintln!();
        if stop.load(Ordering::SeqCst) {
            eprintln!("interrupted: writing what was found");
        }
        eprintln!("checking each class's script on the stacks…");
    }
    let outputs = Outputs {
        dir: args.out.clone(),
        expectations: Some(args.expectations.clone()),
        corpus: Some(args.corpus.clone()),
        oracle: args.oracle.clone(),
    };
    let summary = output::write(&mut explorer, &outputs)?;
    let unverified = summary.classes.iter().filter(|c| !c.verified).count();
    // A closed stdout (`| head`) is no reason to fail after the outputs are written.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{} cases in {:.1} s ({:.0} cases/s), {} divergent, {} classes ({} resemble listed deviations, {} new); {} scripts not verified",
        summary.cases,
        elapsed.as_secs_f64(),
        summary.cases as f64 / elapsed.as_secs_f64().max(1e-9),
        summary.divergent_cases,
        summary.classes.len(),
        summary.known_classes,
        summary.new_classes,
        unverified
    );
    let _ = writeln!(out, "wrote {}", args.out.join("summary.md").display());
    Ok(ExitCode::SUCCESS)
}

fn progress(explorer: &Explorer, elapsed: Duration, found: Option<usize>) {
    let rate = explorer.stats.cases as f64 / elapsed.as_secs_f64().max(1e-9);
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r{} cases ({rate:.0}/s), {} divergent, {} classes   ",
        explorer.stats.cases,
        explorer.stats.divergent,
        explorer.classes.len()
    );
    if let Some(c) = found.and_then(|i| explorer.classes.get(i)) {
        let _ = writeln!(err, "\n  class {}: {}", c.id, c.signature.text());
    }
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
