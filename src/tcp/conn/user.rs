//! SEND and RECEIVE (RFC 9293 §3.10.2–3.10.3) on the TCB, with receiver-side SWS avoidance when
//! the application frees buffer space (§3.8.6.2.2, MUST-39).

use std::time::Duration;

use super::{AckDue, Ctx, SockSettings, Tcb};

impl Tcb {
    /// SEND in ESTABLISHED or CLOSE-WAIT: "Segmentize the buffer and send it with a piggybacked
    /// acknowledgment" -- as much of `data` as the send buffer takes, what may go now (Nagle, SWS,
    /// the windows) at once. In the other states `Host::send` answers first: EAGAIN before
    /// ESTABLISHED, EPIPE for "error: connection closing".
    pub fn send(&mut self, cx: &mut Ctx<'_>, now: Duration, data: &[u8]) -> usize {
        let n = self.tx.push(data);
        if n > 0 {
            self.output(cx, now);
        }
        n
    }

    /// RECEIVE: up to `len` readable bytes; unless `peek`, they are consumed and the window may
    /// open (§3.10.3: "the TCP endpoint takes responsibility for delivering data to the user,
    /// that fact must be communicated to the sender via an acknowledgment").
    pub fn recv(&mut self, cx: &mut Ctx<'_>, now: Duration, len: usize, peek: bool) -> Vec<u8> {
        let [a, b] = self.rx.slices(0, len);
        let mut out = Vec::with_capacity(a.len() + b.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b);
        if !peek && !out.is_empty() {
            self.rx.consume(out.len());
            self.open_window(cx, now);
        }
        out
    }

    /// Receiver SWS avoidance (§3.8.6.2.2, MUST-39): keep RCV.NXT+RCV.WND fixed until
    /// "RCV.BUFF - RCV.USER - RCV.WND >= min( Fr * RCV.BUFF, Eff.snd.MSS )" with Fr = 1/2 ("the
    /// receiver must use its own Eff.snd.MSS"), then set RCV.WND to RCV.BUFF-RCV.USER. A window
    /// update is sent when the offered window was small or doubles.
    fn open_window(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        let free = self.rcv_wnd_for(self.rx.free());
        let step = ((self.rx.capacity() / 2) as u32)
            .min(self.eff_snd_mss())
            .max(1);
        if free <= self.rcv_wnd || free - self.rcv_wnd < step {
            return;
        }
        let old = self.rcv_wnd;
        self.rcv_wnd = free;
        if self.state.is_synchronized() && (old < step || free >= 2 * old) {
            self.ack_due = AckDue::Now;
            self.output(cx, now);
        }
    }

    /// Applies socket options set at `now` after the connection exists: resizes the buffers and
    /// re-arms the keep-alive timer, so that SO_KEEPALIVE or TCP_KEEPIDLE on an idle connection
    /// takes effect without waiting for the next segment (MUST-24, MUST-27). Switching
    /// keep-alives on starts their idle interval now.
    pub fn apply_settings(&mut self, settings: SockSettings, now: Duration) {
        if settings.keepalive && !self.settings.keepalive {
            self.keep_since = now;
            self.keep_probes = 0;
        }
        self.set_buffers(settings.rcvbuf, settings.sndbuf);
        self.settings = settings;
        self.arm_keepalive(now);
    }

    /// Resizes the buffers (SO_RCVBUF / SO_SNDBUF before or during the connection).
    /// The receive buffer keeps out-of-order data in place, so it is only resized while none is
    /// held; RCV.WND never exceeds the new free space.
    fn set_buffers(&mut self, rcvbuf: usize, sndbuf: usize) {
        if self.ooo.is_empty() {
            self.rx.set_capacity(rcvbuf.max(self.rx.len()));
            if self.rcv_accept_window() as usize > self.rx.free() {
                // The application shrank the buffer: the window shrinks with it, as asked.
                self.rcv_wnd = self.rcv_wnd_for(self.rx.free());
                self.rcv_adv = None;
            }
        }
        self.tx.set_capacity(sndbuf.max(self.tx.len()));
    }
}
