//! Retransmission timeout estimation (RFC 6298, Karn's algorithm; MUST-18) and congestion
//! control (RFC 5681 slow start, congestion avoidance, fast retransmit and fast recovery, with
//! RFC 6582's NewReno handling of partial acknowledgments; MUST-19).

use std::time::Duration;

use super::seq::Seq;

/// Clock granularity G of RFC 6298 §2: this stack measures time exactly, so 1 ms is a floor.
const GRANULARITY: Duration = Duration::from_millis(1);

/// Most doublings of the RTO kept (2^16 times any RTO exceeds every sane maximum).
const MAX_BACKOFF: u32 = 16;

/// RFC 6298 RTT estimator. One segment at a time is timed; segments that were retransmitted are
/// never timed (Karn, RFC 6298 §3).
///
/// The RTO backs off on each expiry (§5.5) and stays backed off until a new RTT sample is taken,
/// which only a segment sent once and acknowledged can give: "once a new RTT measurement is
/// obtained ... [the RTO] may result in "collapsing" RTO back down" (RFC 6298 §5), and RFC 9293
/// §3.8.2 "keeping the backed-off value until a subsequent segment with new data has been sent and
/// acknowledged without retransmission". An ACK of retransmitted data does not reset it.
#[derive(Debug, Clone)]
pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    /// Doublings of `rto` since the last sample (RFC 6298 §5.5).
    backoff: u32,
    /// The segment being timed: its last sequence number and when it was sent.
    timed: Option<(Seq, Duration)>,
}

impl RttEstimator {
    pub fn new(initial_rto: Duration) -> RttEstimator {
        RttEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            rto: initial_rto,
            backoff: 0,
            timed: None,
        }
    }

    /// Current RTO before backoff.
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// The RTO with its backoff applied, capped at `max_rto` (RFC 6298 §2.5).
    pub fn backed_off(&self, max_rto: Duration) -> Duration {
        self.rto
            .saturating_mul(1 << self.backoff.min(MAX_BACKOFF))
            .min(max_rto)
    }

    /// RFC 6298 §5.5: the timer expired: double the RTO.
    pub fn back_off(&mut self) {
        self.backoff = (self.backoff + 1).min(MAX_BACKOFF);
    }

    /// Smoothed RTT, once a sample exists.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// Starts timing the segment ending at `end`, unless one is already timed.
    pub fn start(&mut self, end: Seq, now: Duration) {
        if self.timed.is_none() {
            self.timed = Some((end, now));
        }
    }

    /// Karn: a retransmission makes the pending measurement ambiguous, so it is dropped.
    pub fn discard(&mut self) {
        self.timed = None;
    }

    /// An ACK up to `ack` arrived at `now`: take a sample if it covers the timed segment.
    pub fn on_ack(&mut self, ack: Seq, now: Duration, min_rto: Duration, max_rto: Duration) {
        let Some((end, sent)) = self.timed else {
            return;
        };
        if ack < end {
            return;
        }
        self.timed = None;
        self.backoff = 0;
        let r = now.saturating_sub(sent);
        match self.srtt {
            // RFC 6298 §2.2: first measurement.
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            // RFC 6298 §2.3 with alpha = 1/8, beta = 1/4.
            Some(srtt) => {
                let delta = srtt.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + delta) / 4;
                self.srtt = Some((srtt * 7 + r) / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        self.rto = (srtt + (self.rttvar * 4).max(GRANULARITY)).clamp(min_rto, max_rto);
    }

    /// RFC 6298 §5.7: if the SYN was retransmitted and no RTT sample exists, "the RTO MUST be
    /// re-initialized to 3 seconds when data transmission begins" (re-initialized: the SYN's
    /// backoff goes).
    pub fn after_syn_retransmission(&mut self) {
        if self.srtt.is_none() {
            self.rto = self.rto.max(Duration::from_secs(3));
            self.backoff = 0;
        }
    }
}

/// RFC 5681 congestion state.
#[derive(Debug, Clone)]
pub struct Congestion {
    pub cwnd: u32,
    pub ssthresh: u32,
    /// Consecutive duplicate ACKs (RFC 5681 §2 definition).
    pub dupacks: u32,
    /// In fast recovery until SND.UNA passes this (RFC 6582 "recover").
    pub recover: Option<Seq>,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681 §3.1, ABC).
    acked_in_ca: u32,
}

impl Congestion {
    /// Initial window per RFC 5681 §3.1.
    pub fn new(smss: u32) -> Congestion {
        let iw = if smss > 2190 {
            2 * smss
        } else if smss > 1095 {
            3 * smss
        } else {
            4 * smss
        };
        Congestion {
            cwnd: iw,
            ssthresh: u32::MAX,
            dupacks: 0,
            recover: None,
            acked_in_ca: 0,
        }
    }

    /// New data was acknowledged outside fast recovery.
    pub fn on_ack(&mut self, acked: u32, smss: u32) {
        self.dupacks = 0;
        if self.cwnd < self.ssthresh {
            // Slow start (RFC 5681 §3.1, eq. 2).
            self.cwnd = self.cwnd.saturating_add(acked.min(smss));
        } else {
            // Congestion avoidance: one SMSS per cwnd of acknowledged bytes.
            self.acked_in_ca = self.acked_in_ca.saturating_add(acked);
            if self.acked_in_ca >= self.cwnd {
                self.acked_in_ca -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(smss);
            }
        }
    }

    /// RFC 5681 §3.2 steps 2–3 on the third duplicate ACK: halve and inflate.
    pub fn enter_recovery(&mut self, flight: u32, smss: u32, recover: Seq) {
        self.ssthresh = (flight / 2).max(2 * smss);
        self.cwnd = self.ssthresh + 3 * smss;
        self.recover = Some(recover);
    }

    /// RFC 5681 §3.2 step 4: another duplicate ACK during recovery.
    pub fn inflate(&mut self, smss: u32) {
        self.cwnd = self.cwnd.saturating_add(smss);
    }

    /// RFC 6582 §3.2 step 3: a partial ACK deflates by the amount acknowledged, plus one SMSS.
    pub fn partial_ack(&mut self, acked: u32, smss: u32) {
        self.cwnd = self
            .cwnd
            .saturating_sub(acked)
            .saturating_add(smss)
            .max(smss);
    }

    /// RFC 6582 §3.2 step 3: a full ACK ends recovery.
    pub fn exit_recovery(&mut self, flight: u32, smss: u32) {
        self.cwnd = self.ssthresh.min(flight.saturating_add(smss)).max(smss);
        self.recover = None;
        self.dupacks = 0;
        self.acked_in_ca = 0;
    }

    /// RFC 3168 §6.1.2: an ECN-Echo halves the window as a loss would (RFC 5681 eq. 4's
    /// ssthresh), without retransmitting.
    pub fn on_ecn(&mut self, flight: u32, smss: u32) {
        self.ssthresh = (flight / 2).max(2 * smss);
        self.cwnd = self.ssthresh;
        self.dupacks = 0;
        self.acked_in_ca = 0;
    }

    /// RFC 5681 §3.1 eq. 4 on a retransmission timeout: the loss window is one segment.
    pub fn on_timeout(&mut self, flight: u32, smss: u32) {
        self.ssthresh = (flight / 2).max(2 * smss);
        self.cwnd = smss;
        self.recover = None;
        self.dupacks = 0;
        self.acked_in_ca = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(1);
    const MAX: Duration = Duration::from_secs(60);

    /// RFC 6298 §2.2–2.4: first sample sets SRTT=R, RTTVAR=R/2; RTO is floored at min RTO.
    #[test]
    fn rto_follows_rfc6298() {
        let mut r = RttEstimator::new(Duration::from_secs(1));
        r.start(Seq(100), Duration::ZERO);
        r.on_ack(Seq(100), Duration::from_millis(800), MIN, MAX);
        assert_eq!(r.srtt(), Some(Duration::from_millis(800)));
        // 800 + 4*400 = 2400 ms.
        assert_eq!(r.rto(), Duration::from_millis(2400));
        r.start(Seq(200), Duration::from_secs(10));
        r.on_ack(Seq(200), Duration::from_millis(10_800), MIN, MAX);
        // RTTVAR = 3/4*400 + 0 = 300, RTO = 800 + 1200.
        assert_eq!(r.rto(), Duration::from_millis(2000));
    }

    /// RFC 6298 §5.5 and Karn: the backed-off RTO stays until a new sample collapses it.
    #[test]
    fn backoff_lasts_until_a_new_sample() {
        let mut r = RttEstimator::new(Duration::from_secs(1));
        r.back_off();
        r.back_off();
        assert_eq!(r.backed_off(MAX), Duration::from_secs(4));
        for _ in 0..40 {
            r.back_off();
        }
        assert_eq!(r.backed_off(MAX), MAX);
        r.start(Seq(100), Duration::ZERO);
        r.on_ack(Seq(100), Duration::from_millis(100), MIN, MAX);
        assert_eq!(r.backed_off(MAX), MIN);
    }

    /// Karn: a discarded (retransmitted) measurement yields no sample.
    #[test]
    fn karn_discards_retransmitted_samples() {
        let mut r = RttEstimator::new(Duration::from_secs(1));
        r.start(Seq(100), Duration::ZERO);
        r.discard();
        r.on_ack(Seq(100), Duration::from_secs(5), MIN, MAX);
        assert_eq!(r.srtt(), None);
        r.after_syn_retransmission();
        assert_eq!(r.rto(), Duration::from_secs(3));
    }

    /// RFC 3168 §6.1.2: ECE halves the window to half the flight, never below two segments.
    #[test]
    fn ecn_echo_halves_the_window() {
        let mut c = Congestion::new(1000);
        c.cwnd = 20_000;
        c.on_ecn(16_000, 1000);
        assert_eq!((c.cwnd, c.ssthresh), (8000, 8000));
        c.on_ecn(1000, 1000);
        assert_eq!((c.cwnd, c.ssthresh), (2000, 2000));
    }

    /// RFC 5681 §3.1: IW, slow start, congestion avoidance, loss window.
    #[test]
    fn slow_start_then_avoidance_then_timeout() {
        let mut c = Congestion::new(1460);
        assert_eq!(c.cwnd, 3 * 1460);
        c.on_ack(1460, 1460);
        assert_eq!(c.cwnd, 4 * 1460);
        c.on_timeout(8 * 1460, 1460);
        assert_eq!((c.cwnd, c.ssthresh), (1460, 4 * 1460));
        c.cwnd = c.ssthresh;
        for _ in 0..4 {
            c.on_ack(1460, 1460);
        }
        assert_eq!(c.cwnd, 5 * 1460);
    }

    /// RFC 5681 §3.2 and RFC 6582: enter, inflate, partial and full ACK.
    #[test]
    fn fast_recovery_arithmetic() {
        let mut c = Congestion::new(1000);
        c.enter_recovery(10_000, 1000, Seq(10_000));
        assert_eq!((c.ssthresh, c.cwnd), (5000, 8000));
        c.inflate(1000);
        assert_eq!(c.cwnd, 9000);
        c.partial_ack(3000, 1000);
        assert_eq!(c.cwnd, 7000);
        c.exit_recovery(4000, 1000);
        assert_eq!(c.cwnd, 5000);
        assert_eq!(c.recover, None);
    }
}
