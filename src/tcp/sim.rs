//! A deterministic in-memory link between two [`Host`]s in virtual time, with optional loss,
//! duplication and reordering from a seeded generator. End-to-end tests and the benchmark drive
//! the reference stack through it; nothing here reads a clock.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use super::host::Host;

/// Impairments of the link, as probabilities in parts per million.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// One-way delay of every packet.
    pub delay: Duration,
    pub loss_ppm: u32,
    pub duplicate_ppm: u32,
    /// Packets picked for reordering are held back by up to `reorder_delay` more.
    pub reorder_ppm: u32,
    pub reorder_delay: Duration,
    pub seed: u64,
}

impl LinkConfig {
    /// A perfect link with this one-way delay.
    pub fn perfect(delay: Duration) -> LinkConfig {
        LinkConfig {
            delay,
            loss_ppm: 0,
            duplicate_ppm: 0,
            reorder_ppm: 0,
            reorder_delay: Duration::ZERO,
            seed: 1,
        }
    }
}

/// Counters of what the link did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub sent: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

/// A packet on the link: delivery time, tie-breaking order, receiving host, bytes.
type InFlight = (Duration, u64, usize, Vec<u8>);

/// Two hosts joined by one link: whatever host 0 sends reaches host 1 and vice versa.
#[derive(Debug)]
pub struct Pair {
    pub hosts: [Host; 2],
    pub now: Duration,
    pub stats: LinkStats,
    cfg: LinkConfig,
    rng: u64,
    order: u64,
    in_flight: BinaryHeap<Reverse<InFlight>>,
}

impl Pair {
    pub fn new(a: Host, b: Host, cfg: LinkConfig) -> Pair {
        Pair {
            hosts: [a, b],
            now: Duration::ZERO,
            stats: LinkStats::default(),
            cfg,
            rng: cfg.seed | 1,
            order: 0,
            in_flight: BinaryHeap::new(),
        }
    }

    /// xorshift64*: small, fast and deterministic.
    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn chance(&mut self, ppm: u32) -> bool {
        ppm > 0 && (self.next_random() % 1_000_000) < u64::from(ppm)
    }

    /// Puts every packet the hosts have sent onto the link.
    pub fn flush(&mut self) {
        for from in 0..2 {
            while let Some(packet) = self.hosts[from].pop_outbound() {
                self.stats.sent += 1;
                if self.chance(self.cfg.loss_ppm) {
                    self.stats.lost += 1;
                    continue;
                }
                if self.chance(self.cfg.duplicate_ppm) {
                    self.stats.duplicated += 1;
                    self.schedule(1 - from, packet.clone());
                }
                self.schedule(1 - from, packet);
            }
        }
    }

    fn schedule(&mut self, to: usize, packet: Vec<u8>) {
        let mut at = self.now + self.cfg.delay;
        if self.chance(self.cfg.reorder_ppm) {
            self.stats.reordered += 1;
            let max = self.cfg.reorder_delay.as_micros().max(1) as u64;
            at += Duration::from_micros(self.next_random() % max);
        }
        self.order += 1;
        self.in_flight.push(Reverse((at, self.order, to, packet)));
    }

    /// The next moment something happens: a delivery or a host timer.
    pub fn next_event(&self) -> Option<Duration> {
        let link = self.in_flight.peek().map(|Reverse(e)| e.0);
        [link, self.hosts[0].poll_at(), self.hosts[1].poll_at()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Advances to the next event (not beyond `limit`) and processes everything due then.
    /// Returns false when nothing is scheduled before `limit`.
    pub fn step(&mut self, limit: Duration) -> bool {
        self.flush();
        let Some(t) = self.next_event() else {
            return false;
        };
        if t > limit {
            return false;
        }
        self.now = self.now.max(t);
        while let Some(Reverse((at, _, _, _))) = self.in_flight.peek() {
            if *at > self.now {
                break;
            }
            if let Some(Reverse((_, _, to, packet))) = self.in_flight.pop() {
                self.hosts[to].receive(self.now, &packet);
            }
        }
        for h in &mut self.hosts {
            if h.poll_at().is_some_and(|d| d <= self.now) {
                h.poll(self.now);
            }
        }
        self.flush();
        true
    }

    /// Steps until `done` holds or nothing happens before `limit`; returns whether `done` held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Pair) -> bool) -> bool {
        loop {
            if done(self) {
                return true;
            }
            if !self.step(limit) {
                return done(self);
            }
        }
    }
}
