//! Timeouts (RFC 9293 §3.8.1, §3.8.3, §3.8.4, §3.8.6.1, §3.10.8): retransmission with backoff and
//! the R2 / user-timeout limit, zero-window probing, delayed ACK, keep-alive, TIME-WAIT expiry.

use std::time::Duration;

use super::{AckDue, Ctx, State, Tcb};
use crate::tcp::codec::Flags;
use crate::tcp::error::Error;
use crate::tcp::options::Options;

impl Tcb {
    /// Runs every timer due at `now`.
    pub fn on_timer(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        if self.timers.quiet.is_some_and(|t| t <= now) {
            // The quiet time is over: the SYN that waited goes now (output below).
            self.timers.quiet = None;
        }
        if self.timers.time_wait.is_some_and(|t| t <= now) {
            // TIME-WAIT TIMEOUT (§3.10.8, MUST-13): 2×MSL elapsed; delete the TCB.
            self.delete();
            return;
        }
        if self.timers.delayed_ack.is_some_and(|t| t <= now) {
            // §3.8.6.3: the delayed ACK is due (MUST-40: less than 0.5 s after the data).
            self.timers.delayed_ack = None;
            self.ack_due = AckDue::Now;
        }
        if self.timers.rtx.is_some_and(|t| t <= now) {
            self.timers.rtx = None;
            if !self.on_rtx_timeout(cx, now) {
                return;
            }
        }
        if self.timers.keepalive.is_some_and(|t| t <= now) {
            self.timers.keepalive = None;
            if !self.on_keepalive(cx, now) {
                return;
            }
        }
        self.output(cx, now);
    }

    /// RETRANSMISSION TIMEOUT (§3.10.8): "send the segment at the front of the retransmission
    /// queue again, reinitialize the retransmission timer". The same timer probes a zero window
    /// (§3.8.6.1) and is the SWS override (§3.8.6.2.1). Returns false when the connection was
    /// given up (USER TIMEOUT, R2).
    fn on_rtx_timeout(&mut self, cx: &mut Ctx<'_>, now: Duration) -> bool {
        let profile = cx.profile;
        let waited = now.saturating_sub(self.progress_at);
        let user_limit = self.settings.user_timeout;
        match self.state {
            State::SynSent | State::SynReceived => {
                // MUST-22/23: SYNs are retransmitted like data; R2 for SYN is at least 3 min
                // unless TCP_SYNCNT or TCP_USER_TIMEOUT say otherwise.
                let give_up = match (self.settings.syn_count, user_limit) {
                    (_, Some(limit)) if waited >= limit => true,
                    (Some(n), _) => self.retries >= n,
                    (None, _) => waited >= profile.r2_syn,
                };
                if give_up {
                    if self.passive {
                        self.delete();
                    } else {
                        self.give_up();
                    }
                    return false;
                }
                self.retries += 1;
                self.syn_retransmitted = true;
                self.rtt.back_off();
                self.rtt.discard();
                self.send_ptr = self.iss;
            }
            State::TimeWait | State::Closed | State::Listen => {}
            _ => {
                let outstanding = self.snd_nxt - self.snd_una;
                // MUST-20 R2 / MUST-21 user timeout (§3.10.8): give up without progress. While
                // the window is zero, an ACK of a probe counts as progress (MUST-37, SHLD-17).
                if outstanding > 0 && waited >= user_limit.unwrap_or(profile.r2) {
                    self.give_up();
                    return false;
                }
                if self.snd_wnd == 0 && !self.tx.is_empty() {
                    // MUST-35/36: a zero window, opened or shrunk to zero with data in flight, is
                    // probed with one octet, the interval backing off (SHLD-29/30).
                    self.send_probe(cx, now);
                    self.rtt.back_off();
                    self.retries += 1;
                } else if outstanding > 0 {
                    // RFC 6298 §5.4–5.6 and RFC 5681 §3.1: retransmit from SND.UNA, back off, and
                    // collapse the congestion window to one segment. Go-back-N sends only what
                    // the window allows (SHLD-16).
                    let smss = self.eff_snd_mss();
                    self.cc.on_timeout(outstanding, smss);
                    self.rtt.back_off();
                    self.rtt.discard();
                    self.retries += 1;
                    self.send_ptr = self.snd_una;
                } else {
                    // SWS override timeout (§3.8.6.2.1 (4)): send what the window allows.
                    self.output_with(cx, now, true);
                }
            }
        }
        true
    }

    /// Aborts a connection whose timer gave up. It reports the last soft ICMP error if there
    /// was one (it says why nothing got through, SHLD-25), else ETIMEDOUT.
    fn give_up(&mut self) {
        let error = self.soft_error.take().unwrap_or(Error::TimedOut);
        self.abort_with(Some(error));
    }

    /// Keep-alive (§3.8.4, MUST-24..29): `<SEQ=SND.NXT-1><ACK=RCV.NXT>` without data (SHLD-12)
    /// after the idle time, and an abort after the configured number of unanswered probes
    /// (MUST-29: one unanswered probe is not a dead connection). The timer is armed only while
    /// nothing is outstanding (`arm_keepalive`), so SND.NXT-1 = SND.UNA-1.
    fn on_keepalive(&mut self, cx: &mut Ctx<'_>, now: Duration) -> bool {
        if self.keep_probes >= self.settings.keep_count {
            self.send_reset(cx);
            self.give_up();
            return false;
        }
        let opts = Options {
            timestamps: self.ts_option(now),
            ..Options::default()
        };
        self.emit(cx, self.snd_nxt - 1, Flags::ACK, opts);
        self.keep_probes += 1;
        self.keep_probe_at = now;
        true
    }
}
