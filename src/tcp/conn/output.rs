//! Sending (RFC 9293 §3.8): SYN and SYN-ACK, segmentation to the effective MSS (MUST-16,
//! SHLD-28), Nagle (§3.7.4, SHLD-7), sender SWS avoidance (§3.8.6.2.1, MUST-38), the
//! congestion window (RFC 5681), FIN after the data, ACKs owed, and the timers that follow.

use std::time::Duration;

use super::{AckDue, Ctx, State, Tcb};
use crate::tcp::codec::Flags;
use crate::tcp::options::Options;

impl Tcb {
    /// Sends whatever the state, windows and owed ACKs allow now, then re-arms the timers.
    pub fn output(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        self.output_with(cx, now, false);
    }

    /// `force` lets one segment bypass Nagle and SWS avoidance (the override timeout of
    /// §3.8.6.2.1).
    pub(super) fn output_with(&mut self, cx: &mut Ctx<'_>, now: Duration, force: bool) {
        match self.state {
            State::Closed | State::Listen => return,
            State::SynSent | State::SynReceived => {
                if self.send_ptr == self.iss {
                    self.send_syn(cx, now);
                }
            }
            State::TimeWait => {}
            _ => self.send_data(cx, now, force),
        }
        if self.ack_due == AckDue::Now && self.state != State::SynSent {
            self.send_ack(cx, now);
        }
        self.arm_timers(cx, now);
    }

    /// `<SEQ=ISS><CTL=SYN>` in SYN-SENT, `<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>` in SYN-RECEIVED.
    fn send_syn(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        let flags = if self.state == State::SynSent {
            Flags::SYN
        } else {
            Flags::SYN | Flags::ACK | self.ecn_syn_flags()
        };
        let opts = self.syn_options(cx.profile, now);
        self.emit(cx, self.iss, flags, opts);
        self.send_ptr = self.iss + 1;
        if self.snd_nxt == self.iss {
            self.snd_nxt = self.iss + 1;
            self.progress_at = now;
            self.rtt.start(self.snd_nxt, now);
        }
    }

    fn send_data(&mut self, cx: &mut Ctx<'_>, now: Duration, mut force: bool) {
        let smss = self.eff_snd_mss();
        loop {
            let sent_off = self.send_ptr - self.snd_una;
            let buffered = self.tx.len() as u32;
            let data_end = self.snd_una + buffered;
            let unsent = buffered.saturating_sub(sent_off);
            let usable = self.snd_wnd.min(self.cc.cwnd).saturating_sub(sent_off);
            let len = unsent.min(usable).min(smss);
            // FIN follows the last byte, once, unless already acknowledged (§3.10.4).
            let fin = self.fin_queued && !self.fin_acked() && self.send_ptr + len == data_end;
            if len == 0 && !fin {
                break;
            }
            if !force && !fin && len < smss && self.send_ptr == self.snd_nxt {
                // New data smaller than a segment: Nagle (nothing unacknowledged, or
                // TCP_NODELAY) and SWS avoidance (all queued data fits, or at least half the
                // largest window the peer offered).
                let pushes_all = len == unsent;
                let nagle_ok = self.settings.nodelay || self.snd_nxt == self.snd_una;
                let half_window = self.max_snd_wnd > 0 && len >= self.max_snd_wnd / 2;
                if !((pushes_all && nagle_ok) || half_window) {
                    break;
                }
            }
            force = false;
            self.send_segment(cx, now, len, fin);
        }
    }

    /// Emits `len` bytes from the send pointer (plus FIN), ACK set, PSH on the last queued byte.
    fn send_segment(&mut self, cx: &mut Ctx<'_>, now: Duration, len: u32, fin: bool) {
        let sent_off = self.send_ptr - self.snd_una;
        let data_end = self.snd_una + self.tx.len() as u32;
        let retransmission = self.send_ptr < self.snd_nxt;
        let (ecn_flags, ect) = self.ecn_for_data(len, retransmission);
        let mut flags = Flags::ACK | ecn_flags;
        if len > 0 && self.send_ptr + len == data_end {
            // MUST-61: PSH on the last buffered segment (no PUSH call in this API).
            flags = flags | Flags::PSH;
        }
        if fin {
            flags = flags | Flags::FIN;
            self.fin_seq = Some(data_end);
        }
        let opts = Options {
            timestamps: self.ts_option(now),
            ..Options::default()
        };
        let hdr = self.header(self.send_ptr, flags, opts);
        cx.out.send_marked(
            self.local,
            self.remote,
            &hdr,
            self.tx.slices(sent_off as usize, len as usize),
            ect,
        );
        self.after_emit(flags);
        self.send_ptr += len + u32::from(fin);
        if retransmission {
            // Karn (RFC 6298 §3): retransmitted data is never timed.
            self.rtt.discard();
        }
        if self.send_ptr > self.snd_nxt {
            if self.snd_nxt == self.snd_una {
                // First data in flight: a persist/override timer gives way to a fresh RTO
                // (RFC 6298 §5.1).
                self.progress_at = now;
                self.timers.rtx = None;
            }
            self.snd_nxt = self.send_ptr;
            if !retransmission {
                self.rtt.start(self.snd_nxt, now);
            }
        }
    }

    /// Retransmits one segment at SND.UNA without moving the send pointer (fast retransmit, RFC
    /// 5681 §3.2 step 2; partial ACK, RFC 6582).
    pub(super) fn retransmit_first(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        let smss = self.eff_snd_mss();
        // Only data already sent once is retransmitted.
        let sent = self.snd_nxt - self.snd_una;
        let len = (self.tx.len() as u32).min(smss).min(sent);
        let data_end = self.snd_una + self.tx.len() as u32;
        let fin = self.fin_seq == Some(data_end) && self.snd_una + len == data_end;
        if len == 0 && !fin {
            return;
        }
        let saved = self.send_ptr;
        self.send_ptr = self.snd_una;
        self.send_segment(cx, now, len, fin);
        self.send_ptr = self.send_ptr.max(saved);
    }

    /// Zero-window probe (§3.8.6.1, MUST-36): one octet at SND.UNA beyond the closed window.
    pub(super) fn send_probe(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        if self.tx.is_empty() {
            return;
        }
        let saved = self.send_ptr;
        self.send_ptr = self.snd_una;
        self.send_segment(cx, now, 1, false);
        self.send_ptr = self.send_ptr.max(saved);
    }

    /// Unsent data or an unsent FIN is waiting.
    fn has_unsent(&self) -> bool {
        let data_end = self.snd_una + self.tx.len() as u32;
        self.send_ptr < data_end || (self.fin_queued && self.fin_seq.is_none())
    }

    /// The backed-off RTO (RFC 6298 §5.5), capped at the profile's maximum.
    pub(super) fn backed_off_rto(&self, cx: &Ctx<'_>) -> Duration {
        let factor = 1u32 << self.backoff.min(16);
        (self.rtt.rto() * factor).min(cx.profile.max_rto)
    }

    fn arm_timers(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        let outstanding = self.snd_nxt != self.snd_una;
        let waiting = self.state.is_synchronized() && self.has_unsent();
        if outstanding || waiting {
            // Retransmission (§3.8.1), or persist/SWS override when nothing is in flight.
            if self.timers.rtx.is_none() {
                self.timers.rtx = Some(now + self.backed_off_rto(cx));
            }
        } else {
            self.timers.rtx = None;
        }
        self.arm_keepalive();
    }

    /// Keep-alive deadline (§3.8.4, MUST-26): the idle interval counts from the last segment
    /// received, so it needs no `now` and can be re-armed whenever the settings change.
    pub(super) fn arm_keepalive(&mut self) {
        self.timers.keepalive = (self.settings.keepalive
            && matches!(self.state, State::Established | State::CloseWait))
        .then(|| {
            // Saturating: the times come from setsockopt and may be absurdly large.
            self.last_recv_at
                .saturating_add(self.settings.keep_idle)
                .saturating_add(self.settings.keep_interval.saturating_mul(self.keep_probes))
        });
    }
}
