//! Opening a connection (RFC 9293 §3.5): active OPEN, the passive side's SYN-RECEIVED child, option
//! negotiation (§3.7.1, RFC 7323, RFC 2018) and SEGMENT ARRIVES in SYN-SENT (§3.10.7.3).

use std::net::SocketAddr;
use std::time::Duration;

use super::{AckDue, Ctx, SockSettings, State, Tcb};
use crate::tcp::codec::{Flags, Packet};
use crate::tcp::congestion::Congestion;
use crate::tcp::error::Error;
use crate::tcp::options::{MAX_WSCALE, Options};
use crate::tcp::profile::Profile;
use crate::tcp::seq::Seq;

/// Smallest peer MSS honoured; smaller values would turn a transfer into a packet flood.
const MIN_PEER_MSS: u16 = 48;

impl Tcb {
    /// Active OPEN (§3.10.1): select an ISS, send `<SEQ=ISS><CTL=SYN>`, enter SYN-SENT. During
    /// the host's quiet time after a restart (`quiet_until`, §3.4.3: "delay emitting any TCP
    /// segments for at least the agreed MSL") the SYN waits until it ends; `iss` is the clock's
    /// value then.
    pub fn connect(
        cx: &mut Ctx<'_>,
        settings: SockSettings,
        (local, remote): (SocketAddr, SocketAddr),
        iss: Seq,
        now: Duration,
        quiet_until: Option<Duration>,
    ) -> Tcb {
        let mut tcb = Tcb::new(cx.profile, settings, local, remote, iss, now);
        tcb.state = State::SynSent;
        tcb.rcv_wscale = cx.profile.window_scale.map_or(0, |w| w.min(MAX_WSCALE));
        tcb.init_rcv_wnd();
        match quiet_until.filter(|&t| t > now) {
            Some(t) => tcb.timers.quiet = Some(t),
            None => tcb.output(cx, now),
        }
        tcb
    }

    /// LISTEN receiving an acceptable SYN (§3.10.7.2 third check): a new TCB in SYN-RECEIVED that
    /// remembers its passive origin (MUST-11), with `<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>` sent.
    pub fn passive_open(
        cx: &mut Ctx<'_>,
        settings: SockSettings,
        local: SocketAddr,
        remote: SocketAddr,
        iss: Seq,
        now: Duration,
        syn: &Packet<'_>,
    ) -> Tcb {
        let mut tcb = Tcb::new(cx.profile, settings, local, remote, iss, now);
        tcb.state = State::SynReceived;
        tcb.passive = true;
        let profile = cx.profile;
        tcb.negotiate(
            profile,
            &syn.tcp.options,
            profile.window_scale,
            profile.timestamps,
            profile.sack_permitted,
        );
        tcb.ecn_on_syn(profile, syn);
        tcb.init_rcv_wnd();
        tcb.accept_peer_syn(syn);
        tcb.output(cx, now);
        tcb
    }

    /// RCV.WND before any data: the buffer, within what the scale can express.
    fn init_rcv_wnd(&mut self) {
        self.rcv_wnd = self.rcv_wnd_for(self.rx.capacity());
    }

    /// Records the peer's SYN: IRS, RCV.NXT, the unscaled window (RFC 7323 §2.2), and queues any
    /// text or FIN it carries for processing once ESTABLISHED is reached (§3.10.7.2, §3.10.7.3).
    fn accept_peer_syn(&mut self, syn: &Packet<'_>) {
        let h = &syn.tcp;
        self.irs = h.seq;
        self.rcv_nxt = h.seq + 1;
        self.snd_wnd = u32::from(h.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = h.seq;
        self.snd_wl2 = h.ack;
        if let Some((val, _)) = h.options.timestamps {
            self.ts_recent = val;
        }
        let stored = self.rx.write_at(0, syn.payload);
        if stored > 0 {
            self.ooo.add(0, stored as u32);
        }
        if h.flags.has(Flags::FIN) && stored == syn.payload.len() {
            self.peer_fin = Some(self.rcv_nxt + stored as u32);
        }
    }

    /// Option negotiation from the peer's SYN given what this side offers: MSS (MUST-14/15),
    /// window scale (RFC 7323 §2.2: both sides must send it), timestamps (§3.2), SACK-permitted.
    fn negotiate(
        &mut self,
        profile: &Profile,
        peer: &Options,
        offered_ws: Option<u8>,
        offered_ts: bool,
        offered_sack: bool,
    ) {
        if let Some(mss) = peer.mss {
            self.peer_mss = mss.max(MIN_PEER_MSS);
        }
        let ip_tcp = crate::tcp::codec::ip_header_len(self.local.ip()) + 20;
        let mtu_mss = usize::from(profile.mtu).saturating_sub(ip_tcp) as u16;
        self.peer_mss = self.peer_mss.min(mtu_mss.max(MIN_PEER_MSS));
        match (offered_ws, peer.wscale) {
            (Some(ours), Some(theirs)) => {
                self.ws_agreed = true;
                self.rcv_wscale = ours.min(MAX_WSCALE);
                self.snd_wscale = theirs.min(MAX_WSCALE);
            }
            _ => {
                self.ws_agreed = false;
                self.rcv_wscale = 0;
                self.snd_wscale = 0;
            }
        }
        self.ts_enabled = offered_ts && peer.timestamps.is_some();
        self.sack_permitted = offered_sack && peer.sack_permitted;
        self.cc = Congestion::new(self.eff_snd_mss());
    }

    /// Options for our SYN or SYN-ACK: MSS always (MAY-3), the rest as offered or agreed.
    pub(super) fn syn_options(&self, profile: &Profile, now: Duration) -> Options {
        let (ws, ts, sack) = if self.state == State::SynSent {
            (
                profile.window_scale.map(|w| w.min(MAX_WSCALE)),
                profile.timestamps,
                profile.sack_permitted,
            )
        } else {
            (
                self.ws_agreed.then_some(self.rcv_wscale),
                self.ts_enabled,
                self.sack_permitted,
            )
        };
        Options {
            mss: Some(self.advertised_mss(profile)),
            wscale: ws,
            sack_permitted: sack,
            timestamps: ts.then(|| (self.now_ts(now), self.ts_recent_for_syn())),
            ..Options::default()
        }
    }

    fn ts_recent_for_syn(&self) -> u32 {
        if self.state == State::SynSent {
            0
        } else {
            self.ts_recent
        }
    }

    /// SEGMENT ARRIVES in SYN-SENT (§3.10.7.3).
    pub(super) fn on_syn_sent(&mut self, cx: &mut Ctx<'_>, now: Duration, p: &Packet<'_>) {
        let h = &p.tcp;
        // First: check the ACK bit. "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless
        // the RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>". As a
        // range, so that an ACK 2^31 away (comparable neither way) is refused too; with SND.UNA =
        // ISS what is left is "SND.UNA < SEG.ACK =< SND.NXT" (9293's erratum of 793's =<).
        let ack_ok = h.flags.has(Flags::ACK);
        if ack_ok && (h.ack == self.iss || !h.ack.in_range_incl(self.iss, self.snd_nxt)) {
            if !h.flags.has(Flags::RST) {
                send_rst_for_ack(cx, self.local, self.remote, h.ack);
            }
            return;
        }
        // Second: the RST bit. Valid only if it acknowledges our SYN (RFC 5961 §3.2; RFC 9293's
        // "check SEQ = RCV.NXT" cannot apply before RCV.NXT exists).
        if h.flags.has(Flags::RST) {
            if ack_ok {
                self.abort_with(Some(Error::ConnectionRefused));
            }
            return;
        }
        // Third: security/compartment. No IP security options are implemented (Appendix A.1):
        // every compartment matches.
        // Fourth: the SYN bit.
        if !h.flags.has(Flags::SYN) {
            // Fifth: neither SYN nor RST: drop.
            return;
        }
        let profile = cx.profile;
        let offered_ws = profile.window_scale;
        self.negotiate(
            profile,
            &h.options,
            offered_ws,
            profile.timestamps,
            profile.sack_permitted,
        );
        self.init_rcv_wnd();
        self.accept_peer_syn(p);
        self.last_recv_at = now;
        if ack_ok {
            // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to
            // ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
            self.snd_una = h.ack;
            self.send_ptr = self.send_ptr.max(h.ack);
            self.rtt
                .on_ack(h.ack, now, profile.min_rto, profile.max_rto);
            self.state = State::Established;
            self.syn_acknowledged(now);
            self.snd_wl1 = h.seq;
            self.snd_wl2 = h.ack;
            self.ack_due = AckDue::Now;
            // "If there are other controls or text in the segment, then continue processing at
            // the sixth step under Section 3.10.7.4": the text (seventh) and a FIN (eighth: to
            // CLOSE-WAIT, the ACK covering it).
            self.deliver_queued();
            if self.peer_fin == Some(self.rcv_nxt) {
                self.fin_reached(profile, now);
            }
            self.output(cx, now);
        } else {
            // Simultaneous open (MUST-10): SYN-RECEIVED, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
            self.state = State::SynReceived;
            self.send_ptr = self.iss;
            self.timers.rtx = None;
            self.output(cx, now);
        }
    }

    /// Our SYN has been acknowledged: the handshake's timer bookkeeping, in ESTABLISHED or in
    /// FIN-WAIT-1 after a CLOSE in SYN-RECEIVED.
    pub(super) fn syn_acknowledged(&mut self, now: Duration) {
        self.syn_acked = true;
        self.timers.rtx = None;
        self.retries = 0;
        self.progress_at = now;
        if self.syn_retransmitted {
            self.rtt.after_syn_retransmission();
        }
    }
}

/// `<SEQ=SEG.ACK><CTL=RST>` (§3.10.7.3 first check, §3.10.7.4 fifth check in SYN-RECEIVED).
pub(super) fn send_rst_for_ack(cx: &mut Ctx<'_>, local: SocketAddr, remote: SocketAddr, ack: Seq) {
    let hdr = crate::tcp::codec::TcpHeader {
        src_port: local.port(),
        dst_port: remote.port(),
        seq: ack,
        flags: Flags::RST,
        ..Default::default()
    };
    cx.out.send(local, remote, &hdr, [&[], &[]]);
}
