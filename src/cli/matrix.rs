//! `tcpconf matrix`: runs the corpus on stacks through the suite runner and writes
//! `conformance-report/`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tcpconf::report::Counts;
use tcpconf::report::matrix::{self, Kept, Status};
use tcpconf::stack::{self, StackOptions};
use tcpconf::suite::{self, Expectations, Plan, StackRun, SuiteError, Target};

/// Arguments of `tcpconf matrix`.
#[derive(Debug, clap::Args)]
pub struct MatrixArgs {
    /// Stacks to run, comma-separated. Columns of other stacks already in `results.json` are kept,
    /// so the Linux column can be produced as root and the reference column anywhere.
    #[arg(long, value_delimiter = ',', default_value = "reference")]
    stacks: Vec<String>,
    /// The report directory.
    #[arg(long, default_value = "conformance-report")]
    out: PathBuf,
    /// Where the per-stack expectations (`<stack>.toml`) live [default: OUT/expectations].
    #[arg(long)]
    expectations: Option<PathBuf>,
    /// Scripts run at once per stack, each on its own stack instance [default: one per CPU;
    /// four per CPU on a real-time stack, see `suite::REAL_TIME_JOBS_PER_CPU`].
    #[arg(short = 'j', long = "jobs", value_parser = super::jobs)]
    jobs: Option<usize>,
    /// On real-time stacks, run a script again up to N times when its verdict differs from the
    /// expectation; the report shows the attempts. Off by default: a flaky cell should be seen.
    #[arg(long, default_value_t = 0)]
    retries: u32,
    /// Replace a stack's column even when its run had harness errors (by default the committed
    /// column is kept and the run reported as incomplete).
    #[arg(long)]
    force: bool,
    /// Only print what would change; exit 1 if the committed report is stale.
    #[arg(long)]
    check: bool,
    /// The corpus root; script ids are paths under it.
    #[arg(default_value = "scripts")]
    scripts: PathBuf,
}

/// Exit 0 when every stack asked for was run completely and every cell is as expected, 1
/// otherwise (or, with `--check`, when the report on disk is stale), 2 on a usage or I/O error.
pub fn run(args: &MatrixArgs) -> anyhow::Result<ExitCode> {
    for name in &args.stacks {
        stack::check_name(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let dir = args
        .expectations
        .clone()
        .unwrap_or_else(|| args.out.join("expectations"));
    let scripts = suite::load::corpus(&args.scripts, &Default::default())?;
    let ids: Vec<&str> = scripts.iter().map(|s| s.id.as_str()).collect();
    let mut out = std::io::stdout().lock();
    let mut runs: Vec<StackRun> = Vec::new();
    let mut kept: Vec<Kept> = Vec::new();
    for name in &args.stacks {
        let target = match Target::prepare(name, StackOptions::default()) {
            Ok(t) => t,
            Err(e @ (SuiteError::Unavailable { .. } | SuiteError::Stack { .. })) => {
                kept.push(Kept {
                    stack: name.clone(),
                    reason: format!("not run: {e}; the committed column is kept"),
                });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let expectations = Expectations::load(&dir, name)?;
        for id in expectations.unknown(&ids) {
            writeln!(
                out,
                "{name}: warning: expectations list `{id}`, which is not in the corpus"
            )?;
        }
        let plan = Plan {
            run_options: Default::default(),
            jobs: args
                .jobs
                .unwrap_or_else(|| suite::default_jobs(target.info.capabilities.time)),
            retries: args.retries,
            expectations: Some(Arc::new(expectations)),
        };
        let progress = std::io::stderr().is_terminal();
        let mut finished = 0usize;
        let run = suite::run_stack(target, &scripts, &plan, |_, _| {
            finished += 1;
            if progress {
                super::progress(&format!(
                    "[{finished}/{}] {name} on {} job(s)",
                    scripts.len(),
                    plan.jobs
                ));
            }
        });
        if progress {
            super::progress("");
        }
        summarize(&run, &mut out)?;
        runs.push(run);
    }
    let previous = matrix::read_results(&args.out)?;
    let (report, incomplete) = matrix::assemble(&scripts, &runs, previous, &dir, args.force)?;
    kept.extend(incomplete);
    for k in &kept {
        writeln!(out, "{}: {}", k.stack, k.reason)?;
    }
    let all_expected = runs
        .iter()
        .all(|r| r.outcomes.iter().all(suite::Outcome::as_expected));
    if args.check {
        let stale = matrix::stale_files(&args.out, &report);
        if stale.is_empty() && kept.is_empty() {
            writeln!(out, "{} is up to date", args.out.display())?;
            return Ok(ExitCode::SUCCESS);
        }
        if !stale.is_empty() {
            writeln!(out, "stale in {}: {}", args.out.display(), stale.join(", "))?;
        }
        return Ok(ExitCode::from(1));
    }
    matrix::write(&args.out, &report).with_context(|| format!("writing {}", args.out.display()))?;
    writeln!(
        out,
        "wrote {} ({})",
        args.out.display(),
        matrix::FILES.join(", ")
    )?;
    Ok(if all_expected && kept.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One stack's lines: counts, wall time, every cell that is not as expected, known deviations,
/// and the scripts that needed a retry.
fn summarize(run: &StackRun, out: &mut dyn Write) -> std::io::Result<()> {
    let counts = Counts::of(run.outcomes.iter().map(|o| &o.result));
    writeln!(
        out,
        "{}: {counts} in {:.3} s wall ({} job(s))",
        run.target.name,
        run.wall.as_secs_f64(),
        run.jobs
    )?;
    let mut deviations = 0;
    for o in &run.outcomes {
        let Some(j) = &o.judged else { continue };
        if j.status == Status::Deviation {
            deviations += 1;
        }
        if j.status.as_expected() {
            continue;
        }
        let line = o
            .result
            .verdict
            .location()
            .map(|l| format!(" line {}", l.line))
            .unwrap_or_default();
        let tries = if o.attempts > 1 {
            format!(" [{} attempts]", o.attempts)
        } else {
            String::new()
        };
        let why = suite::mismatch(&o.result.verdict, j.expectation.verdict).unwrap_or_default();
        writeln!(out, "  {}: {}{line}: {why}{tries}", j.status.name(), o.id)?;
    }
    writeln!(out, "  {deviations} known deviation(s)")?;
    let retried: Vec<&str> = run.retried().map(|o| o.id.as_str()).collect();
    if !retried.is_empty() {
        writeln!(
            out,
            "  {} script(s) needed a retry: {}",
            retried.len(),
            retried.join(", ")
        )?;
    }
    Ok(())
}
