//! ICMP errors for one connection (RFC 9293 §3.9.2.2): the RFC 5927 §4.1 sequence check, soft
//! errors recorded for the application, hard errors aborting, path MTU updates.

use std::time::Duration;

use super::{Ctx, State, Tcb};
use crate::tcp::codec;
use crate::tcp::icmp::{IcmpKind, MIN_MTU_V4, MIN_MTU_V6};
use crate::tcp::seq::Seq;

impl Tcb {
    /// Acts on an ICMP error quoting a segment of this connection with sequence number `seq`.
    pub fn on_icmp(&mut self, cx: &mut Ctx<'_>, now: Duration, kind: IcmpKind, seq: Seq) {
        // RFC 5927 §4.1: only a segment in flight (SND.UNA =< SEG.SEQ < SND.NXT) can have drawn
        // the error; anything else is stale or forged. This also leaves TIME-WAIT alone.
        if !(self.snd_una <= seq && seq < self.snd_nxt) {
            return;
        }
        match kind {
            // MUST-55.
            IcmpKind::SourceQuench => {}
            // MUST-56: no abort; SHLD-25: SO_ERROR reports it.
            IcmpKind::Soft(e) => self.soft_error = Some(e),
            // SHLD-26: abort, in every state (RFC 5461's advice to treat hard errors as soft in
            // synchronized states is noted by RFC 9293 but not adopted). Nothing is sent: the
            // peer is unreachable. A passive SYN-RECEIVED has no user to tell.
            IcmpKind::Hard(e) => {
                if self.state == State::SynReceived && self.passive {
                    self.delete();
                } else {
                    self.abort_with(Some(e));
                }
            }
            IcmpKind::PacketTooBig(mtu) => self.on_packet_too_big(cx, now, mtu),
        }
    }

    /// Path MTU discovery (RFC 1191 §6.3–6.4, RFC 8201): lower the send MSS to what the reported
    /// MTU carries and resend what was lost at once, without backing off the RTO or shrinking
    /// the congestion window (the loss was not congestion). Reports of a larger MTU, or none
    /// (a router predating RFC 1191), change nothing.
    fn on_packet_too_big(&mut self, cx: &mut Ctx<'_>, now: Duration, mtu: u32) {
        if mtu == 0 {
            return;
        }
        let floor = if self.local.is_ipv4() {
            MIN_MTU_V4
        } else {
            MIN_MTU_V6
        };
        let headers = (codec::ip_header_len(self.local.ip()) + codec::TCP_HEADER_LEN) as u32;
        let mss = mtu
            .max(floor)
            .saturating_sub(headers)
            .min(u32::from(u16::MAX)) as u16;
        if self.path_mss.is_some_and(|m| m <= mss) || mss >= self.peer_mss {
            return;
        }
        self.path_mss = Some(mss);
        if self.state.is_synchronized() && self.snd_nxt != self.snd_una {
            self.send_ptr = self.snd_una;
            self.rtt.discard();
            self.timers.rtx = None;
            self.output(cx, now);
        }
    }
}
