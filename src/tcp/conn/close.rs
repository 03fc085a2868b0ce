//! Closing (RFC 9293 §3.6, §3.10.4 CLOSE, §3.10.5 ABORT): orderly close and half-close, RST when
//! unread data is discarded (SHLD-3, RFC 2525 §2.17), SO_LINGER {1,0} abort, SHUT_RD.

use std::time::Duration;

use super::{Ctx, State, Tcb};

impl Tcb {
    /// CLOSE (§3.10.4) from the application giving up its fd. `abort` is SO_LINGER {1,0}, which
    /// the socket API makes an ABORT (§3.10.5).
    pub fn close(&mut self, cx: &mut Ctx<'_>, now: Duration, abort: bool) {
        self.app_closed = true;
        let unread = !self.rx.is_empty() || !self.ooo.is_empty();
        match self.state {
            // LISTEN is the host's listener (`Host::close`); CLOSING, LAST-ACK and TIME-WAIT:
            // "Respond with 'error: connection closing'" -- the fd goes, the connection finishes.
            // ABORT would delete a TIME-WAIT TCB; MUST-13 keeps it, and no socket call aborts a
            // connection in TIME-WAIT on Linux either.
            State::Closed | State::Listen | State::TimeWait => {}
            // SYN-SENT: "Delete the TCB and return 'error: closing' responses to any queued
            // SENDs, or RECEIVEs" (ABORT: the same, with nothing sent).
            State::SynSent => self.delete(),
            _ if abort => self.abort(cx),
            // SHLD-3: "If such a host issues a CLOSE call while received data is still pending
            // in TCP [...] its TCP implementation SHOULD send a RST to show that data was lost".
            // Queued out-of-order data counts: it was received and is pending in TCP. Linux,
            // smoltcp and lwIP count only in-order data and send a FIN (`tcpconf explore` finds
            // the difference); the peer's retransmission of the unacknowledged data then draws
            // their RST ("or if new data is received after CLOSE is called"), so both readings
            // end in a reset, ours one round trip sooner.
            _ if unread && cx.profile.rst_on_discard && self.state.is_synchronized() => {
                self.abort(cx)
            }
            // SYN-RECEIVED, ESTABLISHED, CLOSE-WAIT: a FIN after the queued data; FIN-WAIT-1/2:
            // "an 'ok' response would be acceptable, too, as long as a second FIN is not emitted".
            _ => self.shutdown_write(cx, now),
        }
    }

    /// ABORT (§3.10.5): a reset at SND.NXT (with the ACK field, see `send_reset`) in SYN-RECEIVED
    /// and the synchronized states that still have a peer, then CLOSED without TIME-WAIT.
    pub fn abort(&mut self, cx: &mut Ctx<'_>) {
        if matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        ) {
            self.send_reset(cx);
        }
        self.abort_with(None);
    }

    /// SHUT_WR: queue a FIN after the data (ESTABLISHED → FIN-WAIT-1, CLOSE-WAIT → LAST-ACK).
    pub fn shutdown_write(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        let next = match self.state {
            // §3.10.4 SYN-RECEIVED: "If no SENDs have been issued and there is no pending data
            // to send, then form a FIN segment and send it, and enter FIN-WAIT-1 state". SEND in
            // SYN-RECEIVED would block (`Host::send`), so nothing is ever pending here: the FIN
            // goes now, after the SYN,ACK and before its ACK.
            State::SynReceived | State::Established => State::FinWait1,
            State::CloseWait => State::LastAck,
            State::SynSent => {
                self.delete();
                return;
            }
            _ => return,
        };
        self.fin_queued = true;
        if self.rd_shut {
            self.app_closed = true;
        }
        self.state = next;
        self.output(cx, now);
    }

    /// SHUT_RD: later data is discarded. With SHUT_WR as well this counts as a full close for
    /// SHLD-3.
    pub fn shutdown_read(&mut self) {
        self.rd_shut = true;
        if self.fin_queued {
            self.app_closed = true;
        }
    }
}

impl Tcb {
    /// MAY-2 (RFC 1122 §4.2.2.13) and RFC 6191 §2: may a new SYN end this TIME-WAIT? With
    /// timestamps the SYN's TSval must be newer than TS.Recent; without, its sequence number must
    /// lie beyond RCV.NXT.
    pub fn accepts_new_incarnation(&self, seq: crate::tcp::seq::Seq, tsval: Option<u32>) -> bool {
        match (self.ts_enabled, tsval) {
            (true, Some(v)) => (v.wrapping_sub(self.ts_recent) as i32) > 0,
            _ => seq > self.rcv_nxt,
        }
    }

    /// SND.NXT: the new incarnation's ISS must lie beyond it.
    pub fn highest_sent(&self) -> crate::tcp::seq::Seq {
        self.snd_nxt
    }
}
