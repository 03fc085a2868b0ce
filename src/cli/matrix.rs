//! `tcpconf matrix`: runs the corpus on stacks and writes `conformance-report/`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tcpconf::report::Counts;
use tcpconf::report::matrix::{self, Generate, Status};
use tcpconf::stack;

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
    /// Scripts run at once per stack, each on its own stack instance [default: number of CPUs].
    #[arg(short = 'j', long = "jobs")]
    jobs: Option<usize>,
    /// On real-time stacks, run a script again up to N times when its verdict differs from the
    /// expectation (the harness can be late on a loaded machine); the report shows the attempts.
    #[arg(long, default_value_t = 0)]
    retries: u32,
    /// Only print what would change; exit 1 if the committed report is stale.
    #[arg(long)]
    check: bool,
    /// The corpus root; script ids are paths under it.
    #[arg(default_value = "scripts")]
    scripts: PathBuf,
}

/// Exit 0 when every cell of the stacks run is as expected, 1 otherwise (or, with `--check`, when
/// the report on disk is stale), 2 on a usage or I/O error.
pub fn run(args: &MatrixArgs) -> anyhow::Result<ExitCode> {
    for name in &args.stacks {
        stack::check_name(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let g = Generate {
        scripts: args.scripts.clone(),
        out: args.out.clone(),
        expectations: args
            .expectations
            .clone()
            .unwrap_or_else(|| args.out.join("expectations")),
        stacks: args.stacks.clone(),
        jobs,
        retries: args.retries,
    };
    let (report, runs) = matrix::generate(&g)?;
    let mut all_expected = true;
    for run in &runs {
        let counts = Counts::of(&run.results);
        println!(
            "{}: {counts} in {:.3} s wall ({} job(s))",
            run.stack,
            run.wall.as_secs_f64(),
            jobs
        );
        for id in &run.unknown_expectations {
            println!("  warning: expectations list `{id}`, which is not in the corpus");
        }
        if let Some(column) = report.column(&run.stack) {
            for (id, cell) in &column.cells {
                if !cell.status.as_expected() {
                    all_expected = false;
                    let line = cell.line.map(|l| format!(" line {l}")).unwrap_or_default();
                    let tries = if cell.attempts > 1 {
                        format!(" [{} attempts]", cell.attempts)
                    } else {
                        String::new()
                    };
                    println!(
                        "  {}: {id}{line}: {} (expected {}){tries}",
                        cell.status.name(),
                        cell.message.as_deref().unwrap_or(&cell.verdict),
                        cell.expected.name()
                    );
                }
            }
            let deviations = column
                .cells
                .values()
                .filter(|c| c.status == Status::Deviation)
                .count();
            println!("  {deviations} known deviation(s)");
        }
    }
    if args.check {
        let stale = matrix::stale_files(&args.out, &report);
        if stale.is_empty() {
            println!("{} is up to date", args.out.display());
            return Ok(ExitCode::SUCCESS);
        }
        println!("stale in {}: {}", args.out.display(), stale.join(", "));
        return Ok(ExitCode::from(1));
    }
    matrix::write(&args.out, &report).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} ({})",
        args.out.display(),
        matrix::FILES.join(", ")
    );
    Ok(if all_expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
