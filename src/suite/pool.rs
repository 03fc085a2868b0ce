//! The worker pool: `jobs` threads take items in the schedule's order; results come back to the
//! calling thread as they finish, so the caller can print progress while the others run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Runs `work` on every item of `items`, starting them in `order` (indices into `items`) on `jobs`
/// threads at once, and hands each result to `done` on the calling thread with its index.
pub(super) fn run<T, R>(
    items: &[T],
    order: &[usize],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
    mut done: impl FnMut(usize, R),
) where
    T: Sync,
    R: Send,
{
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, order.len().max(1)) {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let Some(item) = items.get(i) else { break };
                    if tx.send((i, work(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            done(i, r);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_runs_once_in_the_given_order_on_one_thread() {
        let items: Vec<u32> = (0..5).collect();
        let mut seen = Vec::new();
        run(
            &items,
            &[4, 0, 3, 1, 2],
            1,
            |x| x * 10,
            |i, r| seen.push((i, r)),
        );
        assert_eq!(seen, [(4, 40), (0, 0), (3, 30), (1, 10), (2, 20)]);
        let mut count = 0;
        run(&items, &[0, 1, 2, 3, 4], 3, |x| *x, |_, _| count += 1);
        assert_eq!(count, 5);
    }
}
