//! Drawing cases: a prefix, then one to `max_events` events whose values are drawn from the
//! edges that matter (model.rs), weighted towards the common ones so that most cases probe one
//! thing and the rarer values still come up thousands of times in a minute.

use super::model::{
    Ack, Call, Case, Event, Flags, Len, Opts, SegmentEvent, Seq, WAITS, WRITE_LENGTHS, Win,
};
use super::rng::Rng;

/// Draws one case on one of the `prefixes` (indices into the prefix table); `listener` says
/// which of them have a listening socket that `accept()` applies to.
pub fn case(
    rng: &mut Rng,
    prefixes: &[usize],
    listener: impl Fn(usize) -> bool,
    max_events: usize,
) -> Case {
    let prefix = rng.pick(prefixes).copied().unwrap_or(0);
    // Half the cases have one event, a third two, the rest up to `max_events`.
    let n = match rng.below(6) {
        0..=2 => 1,
        3 | 4 => 2,
        _ => 3 + rng.below(max_events.saturating_sub(2).max(1)),
    }
    .min(max_events.max(1));
    let events = (0..n).map(|_| event(rng, listener(prefix))).collect();
    Case { prefix, events }
}

fn event(rng: &mut Rng, listener: bool) -> Event {
    match rng.below(20) {
        0..=12 => Event::Segment(segment(rng)),
        13..=17 => Event::Call(call(rng, listener)),
        _ => Event::Wait(weighted(rng, &WAITS, &[60, 25, 15])),
    }
}

fn segment(rng: &mut Rng) -> SegmentEvent {
    SegmentEvent {
        flags: *rng.pick(&Flags::ALL).unwrap_or(&Flags::Ack),
        seq: if rng.chance(30) {
            Seq::Nxt
        } else {
            *rng.pick(&Seq::ALL).unwrap_or(&Seq::Nxt)
        },
        ack: if rng.chance(30) {
            Ack::Nxt
        } else {
            *rng.pick(&Ack::ALL).unwrap_or(&Ack::Nxt)
        },
        len: weighted(rng, &Len::ALL, &[50, 15, 20, 15]),
        win: weighted(rng, &Win::ALL, &[80, 10, 10]),
        opts: if rng.chance(75) {
            Opts::None
        } else {
            *rng.pick(&Opts::ALL[1..]).unwrap_or(&Opts::Mss)
        },
    }
}

fn call(rng: &mut Rng, listener: bool) -> Call {
    let calls = [
        Call::Read,
        Call::Write(0),
        Call::ShutdownWr,
        Call::Close,
        Call::Abort,
        Call::Accept,
    ];
    let n = if listener {
        calls.len()
    } else {
        calls.len() - 1
    };
    match calls.get(rng.below(n)).copied().unwrap_or(Call::Read) {
        Call::Write(_) => Call::Write(*rng.pick(&WRITE_LENGTHS).unwrap_or(&10)),
        c => c,
    }
}

/// One of `items`, item `i` with weight `weights[i]`.
fn weighted<T: Copy>(rng: &mut Rng, items: &[T], weights: &[usize]) -> T {
    let total: usize = weights.iter().sum();
    let mut r = rng.below(total);
    for (item, w) in items.iter().zip(weights) {
        if r < *w {
            return *item;
        }
        r -= w;
    }
    items[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_reproducible_and_bounded() {
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| case(&mut rng, &[2, 5, 7], |p| p == 2, 4))
                .collect::<Vec<_>>()
        };
        let a = draw(3);
        assert_eq!(a, draw(3));
        assert_ne!(a, draw(4));
        for c in &a {
            assert!([2, 5, 7].contains(&c.prefix));
            assert!((1..=4).contains(&c.events.len()), "{c:?}");
            if c.prefix != 2 {
                assert!(!c.events.contains(&Event::Call(Call::Accept)));
            }
        }
    }
}
