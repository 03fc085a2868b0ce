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
        if self.timers.quiet.is_some() {
            return;
        }
        match self.state {
            State::Closed | State::Listen => return,
            State::TimeWait => {}
            state => {
                // The SYN (or SYN,ACK) goes first when it is due: initially, after its timeout,
                // and in FIN-WAIT-1 reached by a CLOSE in SYN-RECEIVED before it was ACKed.
                if !self.syn_acked && self.send_ptr == self.iss {
                    self.send_syn(cx, now);
                }
                if state.is_synchronized() {
                    self.send_data(cx, now, force);
                }
            }
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
            let sent_off = self.send_ptr - self.data_start();
            let buffered = self.tx.len() as u32;
            let data_end = self.data_start() + buffered;
            let unsent = buffered.saturating_sub(sent_off);
            // The usable window U = SND.UNA + SND.WND - SND.NXT (§3.8.6.2.1); a window the peer
            // shrank below what is in flight makes it zero, not negative (MUST-34), so no new data
            // goes (SHLD-15).
            let in_flight = self.send_ptr - self.snd_una;
            let usable = self.snd_wnd.min(self.cc.cwnd).saturating_sub(in_flight);
            let len = unsent.min(usable).min(smss);
            // FIN follows the last byte, once, unless already acknowledged (§3.10.4).
            let fin = self.fin_queued && !self.fin_acked() && self.send_ptr + len == data_end;
            if len == 0 && !fin {
                break;
            }
            if !force && !fin && len < smss && self.send_ptr == self.snd_nxt {
                // New data smaller than a full-sized segment (rule 1 of §3.8.6.2.1 fails). Rules
                // 2 and 3 both carry the bracket "[SND.NXT = SND.UNA and]" that Nagle imposes
                // (§3.7.4: with data unacknowledged, buffer "until the outstanding data has been
                // acknowledged or until [...] a full-sized segment"), dropped by TCP_NODELAY
                // (MUST-17). Rule 2: all queued data fits (D <= U; without a PUSH call every
                // write is pushed, MUST-60). Rule 3: at least Fs = 1/2 of Max(SND.WND).
                let nagle_ok = self.settings.nodelay || self.snd_nxt == self.snd_una;
                let pushes_all = len == unsent;
                let half_window = self.max_snd_wnd > 0 && len >= self.max_snd_wnd / 2;
                if !(nagle_ok && (pushes_all || half_window)) {
                    break;
                }
            }
            self.send_segment(cx, now, len, fin, force);
            force = false;
        }
    }

    /// Emits `len` bytes from the send pointer (plus FIN), ACK set, PSH on the last queued byte
    /// and on a segment the SWS override timeout forced out (its data was pushed, MUST-60, and
    /// waited: deliver it promptly, as BSD and Linux mark such segments too).
    fn send_segment(&mut self, cx: &mut Ctx<'_>, now: Duration, len: u32, fin: bool, forced: bool) {
        let sent_off = self.send_ptr - self.data_start();
        let data_end = self.data_start() + self.tx.len() as u32;
        let retransmission = self.send_ptr < self.snd_nxt;
        let (ecn_flags, ect) = self.ecn_for_data(len, retransmission);
        let mut flags = Flags::ACK | ecn_flags;
        if len > 0 && (forced || self.send_ptr + len == data_end) {
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
        let data_end = self.data_start() + self.tx.len() as u32;
        let fin = self.fin_seq == Some(data_end) && self.snd_una + len == data_end;
        if len == 0 && !fin {
            return;
        }
        let saved = self.send_ptr;
        self.send_ptr = self.snd_una;
        self.send_segment(cx, now, len, fin, false);
        self.send_ptr = self.send_ptr.max(saved);
    }

    /// Zero-window probe (§3.8.6.1, MUST-36): one octet at SND.UNA beyond the closed window, new
    /// data if nothing is in flight, else a retransmission of the first octet outstanding ("at
    /// least one octet of new data (if available), or retransmit").
    pub(super) fn send_probe(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        if self.tx.is_empty() {
            return;
        }
        let saved = self.send_ptr;
        self.send_ptr = self.snd_una;
        self.send_segment(cx, now, 1, false, false);
        self.send_ptr = self.send_ptr.max(saved);
    }

    /// Unsent data or an unsent FIN is waiting.
    fn has_unsent(&self) -> bool {
        let data_end = self.data_start() + self.tx.len() as u32;
        self.send_ptr < data_end || (self.fin_queued && self.fin_seq.is_none())
    }

    fn arm_timers(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        let outstanding = self.snd_nxt != self.snd_una;
        let waiting = self.state.is_synchronized() && self.has_unsent();
        if outstanding || waiting {
            // Retransmission (§3.8.1), or persist/SWS override when nothing is in flight.
            if self.timers.rtx.is_none() {
                let mut at = now + self.rtt.backed_off(cx.profile.max_rto);
                if let Some(limit) = self.settings.user_timeout.filter(|_| outstanding) {
                    // §3.10.8: the connection is aborted when the user timeout expires, not at
                    // the first retransmission timeout after it.
                    at = at.min(self.progress_at.saturating_add(limit).max(now));
                }
                self.timers.rtx = Some(at);
            }
        } else {
            self.timers.rtx = None;
        }
        self.arm_keepalive(now);
    }

    /// Keep-alive deadline (§3.8.4). MUST-26: "only sent when no sent data is outstanding, and no
    /// data or acknowledgment packets have been received for the connection within an interval":
    /// armed only while nothing is outstanding or queued (the retransmission and persist timers
    /// cover the rest; the ACK that empties the queue restarts the interval). The first probe
    /// follows the idle time, counted from the last segment received or from when keep-alives
    /// were switched on; each further one TCP_KEEPINTVL after the previous; never in the past
    /// (an idle time shortened below the time already idle probes at once, then at intervals).
    pub(super) fn arm_keepalive(&mut self, now: Duration) {
        let idle = self.snd_nxt == self.snd_una && self.tx.is_empty() && !self.fin_queued;
        self.timers.keepalive = (self.settings.keepalive
            && idle
            && matches!(self.state, State::Established | State::CloseWait))
        .then(|| {
            // Saturating: the times come from setsockopt and may be absurdly large.
            let due = if self.keep_probes == 0 {
                self.last_recv_at
                    .max(self.keep_since)
                    .saturating_add(self.settings.keep_idle)
            } else {
                self.keep_probe_at
                    .saturating_add(self.settings.keep_interval)
            };
            due.max(now)
        });
    }
}
