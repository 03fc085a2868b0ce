//! SEGMENT ARRIVES for SYN-RECEIVED and the synchronized states (RFC 9293 §3.10.7.4), in the RFC's
//! order of checks: sequence number, RST, security, SYN, ACK, URG, text, FIN. The RFC 5961
//! variants (challenge ACKs, ACK range check) apply under [`Profile::rfc5961`]; RFC 793's rules
//! otherwise.
//!
//! [`Profile::rfc5961`]: crate::tcp::Profile::rfc5961

use std::time::Duration;

use super::open::send_rst_for_ack;
use super::{AckDue, Ctx, State, Tcb};
use crate::tcp::codec::{Flags, Packet};
use crate::tcp::error::Error;
use crate::tcp::seq::Seq;

impl Tcb {
    /// Processes one inbound segment addressed to this connection.
    pub fn on_segment(&mut self, cx: &mut Ctx<'_>, now: Duration, p: &Packet<'_>) {
        match self.state {
            State::Closed | State::Listen => {}
            State::SynSent => self.on_syn_sent(cx, now, p),
            _ => {
                self.on_synchronized(cx, now, p);
                if self.state != State::Closed {
                    self.output(cx, now);
                }
            }
        }
    }

    fn on_synchronized(&mut self, cx: &mut Ctx<'_>, now: Duration, p: &Packet<'_>) {
        let h = &p.tcp;
        let profile = cx.profile;
        let mut flags = h.flags;
        let mut seq = h.seq;
        // RFC 7323 §3.2: once timestamps are agreed, a non-RST segment without TSopt is dropped.
        if self.ts_enabled && !flags.has(Flags::RST) && h.options.timestamps.is_none() {
            return;
        }
        let mut data = p.payload;
        let seg_len =
            data.len() as u32 + u32::from(flags.has(Flags::SYN)) + u32::from(flags.has(Flags::FIN));

        // First: sequence number (Table 6). PAWS (RFC 7323 §5.3 R1) rejects old timestamps like a
        // bad sequence number. A simultaneous open's SYN,ACK (Figure 7 line 6) repeats the SYN
        // already received at IRS = RCV.NXT-1: wholly below RCV.NXT, it is unacceptable, answered
        // with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and dropped; that ACK, and the peer's own ACK
        // of our SYN,ACK, then complete the handshake.
        let paws_reject = match (self.ts_enabled, h.options.timestamps) {
            (true, Some((val, _))) if !flags.has(Flags::RST) => {
                (val.wrapping_sub(self.ts_recent) as i32) < 0
            }
            _ => false,
        };
        let wnd = self.rcv_accept_window();
        let edge = self.rcv_nxt + wnd;
        let mut acceptable = !paws_reject
            && match (seg_len, wnd) {
                (0, 0) => seq == self.rcv_nxt,
                (0, _) => seq.in_range(self.rcv_nxt, edge),
                (_, 0) => false,
                (len, _) => {
                    seq.in_range(self.rcv_nxt, edge)
                        || (seq + (len - 1)).in_range(self.rcv_nxt, edge)
                }
            };
        // MUST-66: with a zero window, valid ACKs, URGs and RSTs are still processed; the text of
        // such a segment is trimmed away below.
        if !acceptable && !paws_reject && wnd == 0 && seq == self.rcv_nxt {
            acceptable = true;
        }
        if !acceptable {
            // "If an incoming segment is not acceptable, an acknowledgment should be sent in reply
            // (unless the RST bit is set, if so drop the segment and return)".
            if flags.has(Flags::RST) {
                return;
            }
            // §3.6.1 / MUST-13: the only thing expected in TIME-WAIT is a retransmission of the
            // peer's FIN; acknowledge it and restart the 2 MSL timeout.
            if self.state == State::TimeWait
                && flags.has(Flags::FIN)
                && seq + seg_len == self.rcv_nxt
            {
                self.timers.time_wait = Some(now + profile.time_wait());
            }
            self.send_ack(cx, now);
            return;
        }
        self.last_recv_at = now;
        self.keep_probes = 0;
        self.ecn_on_arrival(p);
        // Trim to the window: bytes before RCV.NXT are old, bytes beyond the right edge are not
        // accepted now ("trimming off any portions that lie outside the window (including SYN
        // and FIN) and only processing further if the segment then begins at RCV.NXT"; segments
        // beginning later are held, SHLD-31).
        if seq < self.rcv_nxt {
            let mut old = self.rcv_nxt - seq;
            if flags.has(Flags::SYN) {
                flags = flags.without(Flags::SYN);
                old -= 1;
                seq += 1;
            }
            let cut = (old as usize).min(data.len());
            data = data.get(cut..).unwrap_or_default();
            seq += cut as u32;
            if old as usize > cut {
                flags = flags.without(Flags::FIN);
            }
        }
        let room = if seq.in_range_incl(self.rcv_nxt, edge) {
            (edge - seq) as usize
        } else {
            0
        };
        if data.len() > room {
            // Text beyond the window is not accepted; the ACK tells the sender where it stands.
            data = data.get(..room).unwrap_or_default();
            flags = flags.without(Flags::FIN);
            self.ack_due = AckDue::Now;
        }

        // Second: the RST bit (RFC 5961 §3.2, checks 1-3: out of window was dropped above; reset
        // only on an exact match of RCV.NXT; otherwise a challenge ACK), in every state of
        // §3.10.7.4 including SYN-RECEIVED and TIME-WAIT.
        if flags.has(Flags::RST) {
            if profile.rfc5961 && h.seq != self.rcv_nxt {
                self.challenge_ack(cx, now);
                return;
            }
            match self.state {
                State::SynReceived if self.passive => self.delete(),
                State::SynReceived => self.abort_with(Some(Error::ConnectionRefused)),
                State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                    self.abort_with(Some(Error::ConnectionReset))
                }
                State::TimeWait if profile.rfc1337 => {}
                _ => self.delete(),
            }
            return;
        }

        // Third: security and compartment. This stack implements no IP security options
        // (RFC 9293 Appendix A.1), so every segment's compartment matches the TCB's.

        // Fourth: the SYN bit.
        if flags.has(Flags::SYN) {
            if self.state == State::SynReceived && self.passive && profile.rfc5961 {
                // §3.10.7.4: a passively opened connection returns to LISTEN. RFC 793 had no
                // such rule: its in-window SYN resets here as in every other state.
                self.delete();
                return;
            }
            if profile.rfc5961 {
                // RFC 5961 §4: challenge ACK whatever the sequence number.
                self.challenge_ack(cx, now);
            } else {
                // RFC 793 §3.9: an in-window SYN is an error: reset and abort. The RST takes its
                // sequence number from SEG.ACK if there is one (§3.4), else SND.NXT, which the
                // peer's window accepts.
                if h.flags.has(Flags::ACK) {
                    send_rst_for_ack(cx, self.local, self.remote, h.ack);
                } else {
                    self.send_reset(cx);
                }
                self.abort_with(Some(Error::ConnectionReset));
            }
            return;
        }

        // Fifth: the ACK field. "If the ACK bit is off, drop the segment and return".
        if !flags.has(Flags::ACK) {
            return;
        }
        // RFC 7323 §4.3: remember the timestamp of an in-sequence segment.
        if let Some((val, _)) = h.options.timestamps
            && self.ts_enabled
            && h.seq <= self.last_ack_sent
        {
            self.ts_recent = val;
        }
        if self.state == State::SynReceived {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue
            // processing with the variables below set to: SND.WND <- SEG.WND, SND.WL1 <-
            // SEG.SEQ, SND.WL2 <- SEG.ACK" (9293's erratum of 793's =<).
            if h.ack != self.snd_una && h.ack.in_range_incl(self.snd_una, self.snd_nxt) {
                self.snd_una = h.ack;
                self.send_ptr = self.send_ptr.max(h.ack);
                self.rtt
                    .on_ack(h.ack, now, profile.min_rto, profile.max_rto);
                self.state = State::Established;
                self.syn_acknowledged(now);
                self.snd_wnd = u32::from(h.window) << self.snd_wscale;
                self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
                self.snd_wl1 = h.seq;
                self.snd_wl2 = h.ack;
                self.deliver_syn_text(now, profile.delayed_ack);
            } else {
                // "If the segment acknowledgment is not acceptable, form a reset segment
                // <SEQ=SEG.ACK><CTL=RST> and send it."
                send_rst_for_ack(cx, self.local, self.remote, h.ack);
                return;
            }
        }
        // SND.UNA =< SEG.ACK =< SND.NXT is acceptable; below SND.UNA is a duplicate; anything else
        // (including an ACK exactly 2^31 away, which compares neither way) "acks something not
        // yet sent". RFC 5961 §5 (MAY-12), in every synchronized state: "TCP stacks that
        // implement RFC 5961 MUST add an input check that the ACK value is acceptable only if it
        // is in the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All incoming
        // segments whose ACK value doesn't satisfy the above condition MUST be discarded and an
        // ACK sent back." RFC 793's TIME-WAIT has no ACK check (its only rule follows).
        let checks_ack = self.state != State::TimeWait || profile.rfc5961;
        if checks_ack && !h.ack.in_range_incl(self.snd_una, self.snd_nxt) {
            let duplicate = h.ack < self.snd_una;
            if !duplicate {
                self.send_ack(cx, now);
                return;
            }
            if profile.rfc5961 && h.ack < self.snd_una - self.max_snd_wnd {
                self.challenge_ack(cx, now);
                return;
            }
        }
        if self.state == State::TimeWait {
            // "The only thing that can arrive in this state is a retransmission of the remote
            // FIN. Acknowledge it, and restart the 2 MSL timeout." A retransmitted FIN fails the
            // sequence check and was answered there; what reaches this step is in-window. Text
            // or a FIN is acknowledged (its text is then ignored, seventh check) and only a FIN
            // restarts the timer (eighth check); a bare ACK is neither answered (two TIME-WAIT ends
            // would acknowledge each other's ACKs forever) nor allowed to stretch TIME-WAIT past
            // 2 MSL (MUST-13).
            if flags.has(Flags::FIN) {
                self.timers.time_wait = Some(now + profile.time_wait());
            }
            if seg_len > 0 {
                self.ack_due = AckDue::Now;
            }
        } else {
            let pure = data.is_empty() && !flags.has(Flags::FIN);
            self.process_ack(cx, now, h.seq, h.ack, h.window, pure);
            self.ecn_on_ack(h.flags);
            let fin_acked = self.fin_acked();
            match self.state {
                State::FinWait1 if fin_acked => self.state = State::FinWait2,
                State::Closing if fin_acked => {
                    self.enter_time_wait(profile, now);
                    return;
                }
                State::Closing => return,
                State::LastAck if fin_acked => {
                    self.delete();
                    return;
                }
                _ => {}
            }
        }

        // Sixth: URG — the urgent pointer is not surfaced; urgent data is delivered inline.

        // Seventh: segment text.
        match self.state {
            State::Established | State::FinWait1 | State::FinWait2 => {
                if !data.is_empty() && self.app_closed && profile.rst_on_discard {
                    // SHLD-3: data arriving after a full close cannot be delivered: reset. The
                    // reset answers this segment, so it takes SEG.ACK as its sequence number
                    // (§3.5.2): the peer's RCV.NXT, which an RFC 5961 receiver needs exactly;
                    // SND.NXT may lie beyond it when our FIN is not yet acknowledged.
                    send_rst_for_ack(cx, self.local, self.remote, h.ack);
                    self.delete();
                    return;
                }
                if !data.is_empty() || flags.has(Flags::FIN) {
                    self.receive(now, seq, data, flags.has(Flags::FIN), profile.delayed_ack);
                }
            }
            // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "this should not occur, since a FIN has
            // been received"; the text is ignored.
            _ => {}
        }

        // Eighth: FIN (processed when it becomes in-order, see `fin_reached`).
        if self.peer_fin == Some(self.rcv_nxt) {
            self.fin_reached(profile, now);
        }
    }

    /// Our FIN has been sent and acknowledged.
    pub(super) fn fin_acked(&self) -> bool {
        self.fin_seq.is_some_and(|f| self.snd_una > f)
    }

    /// The ACK processing of §3.10.7.4 for ESTABLISHED and the closing states: advance SND.UNA,
    /// update the send window, run RFC 6298 and RFC 5681.
    fn process_ack(
        &mut self,
        cx: &mut Ctx<'_>,
        now: Duration,
        seg_seq: Seq,
        ack: Seq,
        window: u16,
        pure: bool,
    ) {
        let profile = cx.profile;
        let wnd = u32::from(window) << self.snd_wscale;
        let smss = self.eff_snd_mss();
        let una_before = self.snd_una;
        if self.snd_una < ack {
            let acked = ack - self.snd_una;
            let fin_covered = self.fin_seq.is_some_and(|f| ack > f);
            // FIN-WAIT-1 after a CLOSE in SYN-RECEIVED: this ACK may cover our SYN too.
            let syn_covered = !self.syn_acked;
            let controls = u32::from(fin_covered) + u32::from(syn_covered);
            let data_acked = acked.saturating_sub(controls).min(self.tx.len() as u32);
            self.tx.consume(data_acked as usize);
            self.snd_una = ack;
            self.send_ptr = self.send_ptr.max(ack);
            self.rtt.on_ack(ack, now, profile.min_rto, profile.max_rto);
            if syn_covered {
                self.syn_acknowledged(now);
                self.deliver_syn_text(now, profile.delayed_ack);
            }
            match self.cc.recover {
                Some(recover) if ack >= recover => {
                    let flight = self.snd_nxt - self.snd_una;
                    self.cc.exit_recovery(flight, smss);
                }
                Some(_) => {
                    // RFC 6582 §3.2 step 3: partial ACK: retransmit the next hole, deflate.
                    self.cc.partial_ack(acked, smss);
                    self.retransmit_first(cx, now);
                }
                None => self.cc.on_ack(acked, smss),
            }
            // Progress: the R1/R2 count starts over. The RTO keeps its backoff until a new RTT
            // sample (Karn; RFC 6298 §5), which `rtt.on_ack` took if this ACK allowed one.
            self.retries = 0;
            self.progress_at = now;
            // RFC 6298 §5.3: restart the timer for the data still outstanding.
            self.timers.rtx = None;
        } else if ack == self.snd_una
            && pure
            && self.snd_nxt != self.snd_una
            && wnd == self.snd_wnd
            && wnd > 0
        {
            // RFC 5681 §2: a duplicate ACK (answers to zero-window probes are not).
            self.cc.dupacks += 1;
            if self.cc.recover.is_none() && self.cc.dupacks == 3 {
                // RFC 5681 §3.2 fast retransmit.
                let flight = self.snd_nxt - self.snd_una;
                self.cc.enter_recovery(flight, smss, self.snd_nxt);
                self.retransmit_first(cx, now);
            } else if self.cc.recover.is_some() {
                self.cc.inflate(smss);
            }
        }
        // Window update: SND.UNA =< SEG.ACK =< SND.NXT (RFC 793: SND.UNA < SEG.ACK) and the
        // segment is not older than the last one used (SND.WL1, SND.WL2).
        let ack_in_range = if profile.rfc5961 {
            una_before <= ack
        } else {
            una_before < ack
        };
        if ack_in_range
            && (self.snd_wl1 < seg_seq || (self.snd_wl1 == seg_seq && self.snd_wl2 <= ack))
        {
            self.snd_wnd = wnd;
            self.snd_wl1 = seg_seq;
            self.snd_wl2 = ack;
            self.max_snd_wnd = self.max_snd_wnd.max(wnd);
        }
        if self.snd_wnd == 0 {
            // MUST-37: a peer that keeps answering zero-window probes keeps the connection; data
            // beyond its closed window going unacknowledged is no reason to time out (SHLD-17).
            self.progress_at = now;
            self.retries = 0;
        }
    }

    /// Accepts in-window text (and a FIN) starting at `seq` (§3.10.7.4 seventh check), holding
    /// out-of-order data (SHLD-31) and deciding how soon to acknowledge (§3.8.6.3).
    fn receive(&mut self, now: Duration, seq: Seq, data: &[u8], fin: bool, delack: Duration) {
        let offset = seq - self.rcv_nxt;
        let had_holes = !self.ooo.is_empty();
        if self.rd_shut {
            // SHUT_RD: in-order data is acknowledged and discarded, like Linux.
            if offset == 0 {
                self.rcv_nxt += data.len() as u32;
                if fin {
                    self.peer_fin = Some(self.rcv_nxt);
                }
            }
            self.ack_due = AckDue::Now;
            return;
        }
        let stored = if offset == 0 && !had_holes {
            let n = self.rx.push(data);
            self.advance_rcv(n as u32);
            n
        } else {
            let n = self.rx.write_at(offset as usize, data);
            if n > 0 && !self.ooo.add(offset, offset + n as u32) {
                // Too many holes: drop it; the sender will retransmit.
                self.ack_due = AckDue::Now;
                return;
            }
            self.deliver_queued();
            n
        };
        if fin && stored == data.len() {
            self.peer_fin = Some(seq + data.len() as u32);
        }
        self.rcv_mss = self.rcv_mss.max(data.len() as u32);
        if offset != 0 || had_holes || fin {
            // RFC 5681 §4.2 / MAY-13: out-of-order segments and hole fills are ACKed at once.
            self.ack_due = AckDue::Now;
        } else {
            self.unacked_bytes = self.unacked_bytes.saturating_add(stored as u32);
            if self.unacked_bytes >= 2 * self.rcv_mss.max(1) {
                // SHLD-19: ACK at least every second full-sized segment.
                self.ack_due = AckDue::Now;
            } else if self.ack_due == AckDue::No {
                self.ack_due = AckDue::Delayed;
                self.timers.delayed_ack = Some(now + delack);
            }
        }
    }

    fn advance_rcv(&mut self, n: u32) {
        self.rcv_nxt += n;
        self.rcv_wnd = self.rcv_wnd.saturating_sub(n);
    }

    /// Moves data that has become contiguous with RCV.NXT into the readable part of the buffer.
    pub(super) fn deliver_queued(&mut self) {
        let n = self.ooo.contiguous();
        if n > 0 {
            self.rx.commit(n as usize);
            self.ooo.advance(n);
            self.advance_rcv(n);
        }
    }

    /// Text that came on the peer's SYN, queued "for processing later" (§3.10.7.2-3), is
    /// processed once our SYN is acknowledged: accepting it advances RCV.NXT and owes an ACK,
    /// which may be delayed like any in-order text (seventh check, §3.8.6.3).
    pub(super) fn deliver_syn_text(&mut self, now: Duration, delack: Duration) {
        let before = self.rcv_nxt;
        self.deliver_queued();
        if self.rcv_nxt != before && self.ack_due == AckDue::No {
            self.ack_due = AckDue::Delayed;
            self.timers.delayed_ack = Some(now + delack);
        }
    }

    /// The peer's FIN is now in order (§3.10.7.4 eighth check).
    pub(super) fn fin_reached(&mut self, profile: &crate::tcp::Profile, now: Duration) {
        self.peer_fin = None;
        self.rcv_nxt += 1;
        self.eof = true;
        self.ack_due = AckDue::Now;
        match self.state {
            State::SynReceived | State::Established => self.state = State::CloseWait,
            State::FinWait1 if self.fin_acked() => self.enter_time_wait(profile, now),
            State::FinWait1 => self.state = State::Closing,
            State::FinWait2 => self.enter_time_wait(profile, now),
            State::TimeWait => self.timers.time_wait = Some(now + profile.time_wait()),
            _ => {}
        }
        if self.state == State::TimeWait {
            // The FIN is acknowledged on entering TIME-WAIT; the timers were reset.
            self.ack_due = AckDue::Now;
        }
    }
}
