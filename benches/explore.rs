//! `cargo bench --bench explore [--features lwip]`: how many cases per second `tcpconf explore`
//! runs on one core across the virtual-time stacks (reference, smoltcp, and lwip when built with
//! the feature). A case is one prefix and its events, run on every stack and compared.
//!
//! Two rates: *raw* (draw, run on every stack, normalize, compare) and *exploring* after a
//! warm-up (which also pays for shrinking the classes it finds). Each is given per second of the
//! process's CPU time — the machine may be shared, and a busy neighbour lengthens wall time but not
//! the work — and per second of wall time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::time::{Duration, Instant};

use nix::time::{ClockId, clock_gettime};
use tcpconf::explore::{Explorer, Settings};

const WARM_UP: u64 = 3_000;
const MEASURED: u64 = 20_000;

fn cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

/// Runs `f` `n` times: cases per CPU second and per wall second.
fn rate(n: u64, mut f: impl FnMut()) -> (f64, f64) {
    let (c0, w0) = (cpu(), Instant::now());
    for _ in 0..n {
        f();
    }
    let (c, w) = ((cpu() - c0).as_secs_f64(), w0.elapsed().as_secs_f64());
    (n as f64 / c.max(1e-9), n as f64 / w.max(1e-9))
}

fn main() {
    let mut stacks = vec!["reference".to_string(), "smoltcp".to_string()];
    if cfg!(feature = "lwip") {
        stacks.push("lwip".into());
    } else {
        println!("built without the lwip feature: measuring reference and smoltcp only");
    }
    let settings = Settings {
        stacks: stacks.clone(),
        seed: 1,
        ..Settings::default()
    };
    let mut explorer = match Explorer::new(settings) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("explore bench: {e}");
            std::process::exit(1);
        }
    };
    let (raw_cpu, raw_wall) = rate(MEASURED, || {
        let case = explorer.draw();
        let observations = explorer.run_case(&case);
        std::hint::black_box(explorer.divergence(&case, &observations));
    });
    for _ in 0..WARM_UP {
        explorer.step();
    }
    let (first, classes) = (explorer.stats.cases + 1, explorer.classes.len());
    let (exp_cpu, exp_wall) = rate(MEASURED, || {
        explorer.step();
    });
    println!(
        "explore on {}, one core: raw {raw_cpu:.0} cases per CPU second ({raw_wall:.0} per wall \
         second); exploring {exp_cpu:.0} per CPU second ({exp_wall:.0} per wall second; cases \
         {first}..{}, {} new classes shrunk on the way)",
        stacks.join(","),
        explorer.stats.cases,
        explorer.classes.len() - classes
    );
}
