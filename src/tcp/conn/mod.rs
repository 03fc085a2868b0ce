//! One connection's transmission control block (RFC 9293 §3.3.1) and the rules that drive it,
//! split by RFC section: [`open`] (§3.5, §3.10.7.2–3), [`arrive`] (§3.10.7.4), [`close`] (§3.6),
//! [`output`] (§3.8), [`timer`] (§3.8.1, §3.8.4, §3.10.8), [`icmp`] (§3.9.2.2) and [`ecn`]
//! (§3.8.2, RFC 3168).

mod arrive;
mod close;
mod ecn;
mod icmp;
mod open;
mod output;
mod timer;
mod user;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use super::buffer::{Assembler, Ring};
use super::codec::{self, Flags, TcpHeader};
use super::congestion::{Congestion, RttEstimator};
use super::error::Error;
use super::options::Options;
use super::profile::Profile;
use super::seq::Seq;

/// TCP connection states (RFC 9293 §3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl State {
    /// Every state, in RFC order.
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    /// States after the handshake completed (RFC 9293 §3.10.7.4 "synchronized states").
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// The RFC's spelling: `ESTABLISHED`, `FIN-WAIT-1`, …
    pub fn rfc_name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }
}

/// Packets waiting for the caller to take them, and the IPv4 identification counter.
#[derive(Debug, Default)]
pub struct Outbox {
    pub packets: VecDeque<Vec<u8>>,
    ip_id: u16,
}

impl Outbox {
    /// Emits one segment from `src` to `dst`.
    pub fn send(&mut self, src: SocketAddr, dst: SocketAddr, hdr: &TcpHeader, data: [&[u8]; 2]) {
        self.send_marked(src, dst, hdr, data, false);
    }

    /// Emits one segment, marked ECN-capable (ECT(0), RFC 3168 §5) if `ect`.
    pub fn send_marked(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        hdr: &TcpHeader,
        data: [&[u8]; 2],
        ect: bool,
    ) {
        self.ip_id = self.ip_id.wrapping_add(1);
        let mut packet = codec::emit(src.ip(), dst.ip(), hdr, data, self.ip_id);
        if ect {
            codec::set_ect0(&mut packet);
        }
        self.packets.push_back(packet);
    }
}

/// What a connection needs from its host while it runs.
pub struct Ctx<'a> {
    pub profile: &'a Profile,
    pub out: &'a mut Outbox,
}

/// Per-socket settings an application can change (setsockopt) that the TCB consults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockSettings {
    pub nodelay: bool,
    pub keepalive: bool,
    pub keep_idle: Duration,
    pub keep_interval: Duration,
    pub keep_count: u32,
    /// TCP_USER_TIMEOUT (MUST-21: the application sets R2); `None` uses the profile's R2.
    pub user_timeout: Option<Duration>,
    /// TCP_SYNCNT: SYN retransmissions before giving up; `None` uses the profile's R2 for SYN.
    pub syn_count: Option<u32>,
    /// TCP_MAXSEG.
    pub max_seg: Option<u16>,
    pub rcvbuf: usize,
    pub sndbuf: usize,
}

impl SockSettings {
    pub fn from_profile(p: &Profile) -> SockSettings {
        SockSettings {
            nodelay: !p.nagle,
            keepalive: false,
            keep_idle: p.keepalive_idle,
            keep_interval: p.keepalive_interval,
            keep_count: p.keepalive_count,
            user_timeout: None,
            syn_count: p.syn_retries,
            max_seg: None,
            rcvbuf: p.rcvbuf,
            sndbuf: p.sndbuf,
        }
    }
}

/// Whether an ACK is owed to the peer, and how urgently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckDue {
    No,
    /// Delayed-ACK timer running (RFC 9293 §3.8.6.3).
    Delayed,
    /// Send with the next output.
    Now,
}

/// Deadlines of the connection's timers (RFC 9293 §3.8).
#[derive(Debug, Clone, Copy, Default)]
struct Timers {
    /// Retransmission, or persist/SWS-override when nothing is in flight (§3.8.1, §3.8.6.1).
    rtx: Option<Duration>,
    delayed_ack: Option<Duration>,
    keepalive: Option<Duration>,
    time_wait: Option<Duration>,
    /// The host's quiet time after a restart (RFC 9293 §3.4.3): nothing is sent before it ends.
    quiet: Option<Duration>,
}

/// A transmission control block.
#[derive(Debug)]
pub struct Tcb {
    pub state: State,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// MUST-11: SYN-RECEIVED remembers whether it came from a passive OPEN.
    pub passive: bool,
    pub settings: SockSettings,

    // Send sequence space (RFC 9293 §3.3.1, Figure 4).
    iss: Seq,
    snd_una: Seq,
    /// Highest sequence number sent plus one (SND.NXT).
    snd_nxt: Seq,
    /// Where the next transmission starts: SND.NXT, or lower while retransmitting after a timeout.
    send_ptr: Seq,
    snd_wnd: u32,
    snd_wl1: Seq,
    snd_wl2: Seq,
    max_snd_wnd: u32,
    /// Sequence number of our FIN once it has been sent.
    fin_seq: Option<Seq>,
    /// Our SYN has been acknowledged (SND.UNA > ISS). Until then the first octet of `tx` is
    /// ISS+1, not SND.UNA; a FIN sent in FIN-WAIT-1 after a CLOSE in SYN-RECEIVED (§3.10.4) can
    /// precede that ACK.
    syn_acked: bool,

    // Receive sequence space.
    irs: Seq,
    rcv_nxt: Seq,
    rcv_wnd: u32,
    /// RCV.NXT + the window as last advertised: the right edge a receiver "SHOULD NOT" move left
    /// (SHLD-14). `None` until the first ACK, and after SO_RCVBUF shrank the buffer.
    rcv_adv: Option<Seq>,
    last_ack_sent: Seq,
    ack_due: AckDue,
    /// Bytes received since the last ACK we sent (SHLD-19).
    unacked_bytes: u32,
    /// Largest segment payload received, the "full-sized segment" of SHLD-19.
    rcv_mss: u32,
    /// Sequence number of the peer's FIN if it arrived beyond a hole.
    peer_fin: Option<Seq>,

    // Negotiated options.
    /// Both SYNs carried window scale (RFC 7323 §2.2).
    ws_agreed: bool,
    snd_wscale: u8,
    rcv_wscale: u8,
    ts_enabled: bool,
    ts_recent: u32,
    ts_offset: u32,
    sack_permitted: bool,
    /// The peer's MSS (or the 536/1220 default, MUST-15).
    peer_mss: u16,
    /// ECN negotiation and signalling (RFC 3168 §6.1).
    ecn: ecn::Ecn,
    /// MSS the path MTU allows, once an ICMP error reported it (RFC 1191, RFC 8201).
    path_mss: Option<u16>,

    // Buffers.
    tx: Ring,
    rx: Ring,
    ooo: Assembler,
    /// The application will send no more (close or SHUT_WR): a FIN follows the data.
    fin_queued: bool,
    /// End of stream from the peer has been reached.
    eof: bool,
    /// SHUT_RD: further data is discarded.
    rd_shut: bool,
    /// The application closed its fd (or shut both ways): data arriving now earns a RST (SHLD-3).
    app_closed: bool,

    /// Pending SO_ERROR.
    pub error: Option<Error>,
    /// The last soft error an ICMP message reported (SHLD-25): SO_ERROR returns it when no
    /// hard error is pending, and a connection that times out reports it instead of ETIMEDOUT.
    pub soft_error: Option<Error>,

    timers: Timers,
    rtt: RttEstimator,
    cc: Congestion,
    /// Consecutive retransmission timeouts of the segment at SND.UNA without progress (R1 of
    /// §3.8.3, TCP_SYNCNT). The RTO's own backoff lives in `rtt` (RFC 6298 §5.5).
    retries: u32,
    /// When the data (or SYN) now outstanding was first sent, or the last ACK made progress.
    progress_at: Duration,
    syn_retransmitted: bool,
    last_recv_at: Duration,
    /// When keep-alives were last switched on: the idle interval of MUST-26 cannot have begun
    /// before the mechanism existed (Linux also counts from the setsockopt).
    keep_since: Duration,
    /// Unanswered keep-alive probes, and when the last one left.
    keep_probes: u32,
    keep_probe_at: Duration,
    /// Start and count of the current challenge-ACK budget period (RFC 5961 §7).
    challenge_window: (Duration, u32),
}

impl Tcb {
    fn new(
        profile: &Profile,
        settings: SockSettings,
        local: SocketAddr,
        remote: SocketAddr,
        iss: Seq,
        now: Duration,
    ) -> Tcb {
        let ts_offset = super::isn::tuple_hash(profile.secret, 1, local, remote) as u32;
        let default_mss = if remote.is_ipv4() { 536 } else { 1220 };
        let rx = Ring::new(settings.rcvbuf);
        let tx = Ring::new(settings.sndbuf);
        Tcb {
            state: State::Closed,
            local,
            remote,
            passive: false,
            settings,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            send_ptr: iss,
            snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: Seq(0),
            max_snd_wnd: 0,
            fin_seq: None,
            syn_acked: false,
            irs: Seq(0),
            rcv_nxt: Seq(0),
            rcv_wnd: 0,
            rcv_adv: None,
            last_ack_sent: Seq(0),
            ack_due: AckDue::No,
            unacked_bytes: 0,
            rcv_mss: 0,
            peer_fin: None,
            ws_agreed: false,
            snd_wscale: 0,
            rcv_wscale: 0,
            ts_enabled: false,
            ts_recent: 0,
            ts_offset,
            sack_permitted: false,
            peer_mss: default_mss,
            ecn: ecn::Ecn::default(),
            path_mss: None,
            tx,
            rx,
            ooo: Assembler::default(),
            fin_queued: false,
            eof: false,
            rd_shut: false,
            app_closed: false,
            error: None,
            soft_error: None,
            timers: Timers::default(),
            rtt: RttEstimator::new(profile.initial_rto),
            cc: Congestion::new(u32::from(default_mss)),
            retries: 0,
            progress_at: now,
            syn_retransmitted: false,
            last_recv_at: now,
            keep_since: now,
            keep_probes: 0,
            keep_probe_at: now,
            challenge_window: (now, 0),
        }
    }

    // ----- Queries for the socket layer -----

    /// Bytes the application can read now.
    pub fn readable(&self) -> usize {
        self.rx.len()
    }

    /// Bytes the application can still queue for sending.
    pub fn send_space(&self) -> usize {
        self.tx.free()
    }

    /// Bytes queued for sending and not yet acknowledged (SIOCOUTQ).
    pub fn unacked(&self) -> usize {
        self.tx.len()
    }

    /// The peer's FIN has been consumed: reads return end of file.
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// The application may still queue data.
    pub fn can_send(&self) -> bool {
        !self.fin_queued && matches!(self.state, State::Established | State::CloseWait)
    }

    /// The application has shut down reading.
    pub fn read_shut(&self) -> bool {
        self.rd_shut
    }

    /// The application has shut down writing (or closed).
    pub fn write_shut(&self) -> bool {
        self.fin_queued
    }

    /// Consecutive retransmission timeouts without progress.
    pub fn retransmissions(&self) -> u32 {
        self.retries
    }

    /// Effective MSS for sending, for getsockopt(TCP_MAXSEG).
    pub fn mss(&self) -> u32 {
        self.eff_snd_mss()
    }

    /// Heap bytes held outside the data buffers (out-of-order bookkeeping).
    pub fn heap_bytes_outside_buffers(&self) -> usize {
        self.ooo.heap_bytes()
    }

    /// Heap bytes of the data buffers.
    pub fn buffer_heap_bytes(&self) -> usize {
        self.tx.heap_bytes() + self.rx.heap_bytes()
    }

    /// Earliest timer deadline.
    pub fn poll_at(&self) -> Option<Duration> {
        let t = &self.timers;
        [t.rtx, t.delayed_ack, t.keepalive, t.time_wait, t.quiet]
            .into_iter()
            .flatten()
            .min()
    }

    /// Checks the invariants every state must keep; returns a description of the first broken one.
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.snd_una > self.snd_nxt {
            return Err(format!(
                "SND.UNA {} > SND.NXT {}",
                self.snd_una, self.snd_nxt
            ));
        }
        if !self.send_ptr.in_range_incl(self.snd_una, self.snd_nxt) {
            return Err(format!(
                "send pointer {} outside [{}, {}]",
                self.send_ptr, self.snd_una, self.snd_nxt
            ));
        }
        if self.tx.len() > self.tx.capacity() || self.rx.len() > self.rx.capacity() {
            return Err("buffer over capacity".into());
        }
        if self.state.is_synchronized() {
            let in_flight = self.snd_nxt - self.snd_una;
            let controls = u32::from(self.fin_seq.is_some()) + u32::from(!self.syn_acked);
            if in_flight as usize > self.tx.len() + controls as usize {
                return Err(format!(
                    "{} bytes in flight but only {} buffered",
                    in_flight,
                    self.tx.len()
                ));
            }
            if self.ooo.highest() as usize > self.rx.free() {
                return Err("out-of-order data beyond the receive buffer".into());
            }
            if self.rcv_accept_window() as usize > self.rx.free() {
                return Err(format!(
                    "RCV.WND {} exceeds free space {}",
                    self.rcv_accept_window(),
                    self.rx.free()
                ));
            }
            // SHLD-14, with RFC 7323 §2.4's allowance: a scaled window may retract by less than
            // one unit, never more; an unscaled one not at all.
            let edge = self.rcv_nxt + (u32::from(self.window_field(false)) << self.rcv_wscale);
            let unit = 1u32 << self.rcv_wscale;
            if let Some(adv) = self.rcv_adv
                && edge + (unit - 1) < adv
            {
                return Err(format!(
                    "SHLD-14: the next ACK would move the right window edge left, from {adv} to \
                     {edge}"
                ));
            }
        }
        Ok(())
    }

    // ----- Helpers shared by the rule files -----

    fn now_ts(&self, now: Duration) -> u32 {
        (now.as_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// MSS this side advertises (MUST-67: at most the MTU minus fixed IP and TCP headers).
    fn advertised_mss(&self, profile: &Profile) -> u16 {
        let ip = codec::ip_header_len(self.local.ip());
        let mss = usize::from(profile.mtu).saturating_sub(ip + codec::TCP_HEADER_LEN);
        let mss = mss.min(usize::from(u16::MAX)) as u16;
        self.settings.max_seg.map_or(mss, |m| m.min(mss)).max(64)
    }

    /// Effective send MSS (MUST-16): the peer's MSS capped by our MTU, TCP_MAXSEG and the path
    /// MTU, less the options every segment carries.
    fn eff_snd_mss(&self) -> u32 {
        let mut mss = u32::from(self.peer_mss);
        for m in [self.settings.max_seg, self.path_mss].into_iter().flatten() {
            mss = mss.min(u32::from(m));
        }
        let opts = if self.ts_enabled { 12 } else { 0 };
        mss.saturating_sub(opts).max(1)
    }

    /// RCV.WND as advertised, rounded up to the window scale's unit: a scaled window field counts
    /// in units of 2^Rcv.Wind.Shift, and rounding the shrinking RCV.WND down would move the right
    /// edge left by up to a unit as each octet arrives (SHLD-14: "A TCP receiver SHOULD NOT shrink
    /// the window"). Rounded up, every edge advertised since the window last opened lies within a
    /// unit above that opening's edge; [`Tcb::rcv_wnd_for`] keeps the buffer room for it.
    fn rcv_window(&self) -> u32 {
        let unit = 1u32 << self.rcv_wscale;
        self.rcv_wnd.div_ceil(unit) * unit
    }

    /// The window the sequence test accepts: RCV.WND as advertised, and never less than the
    /// largest right edge ever advertised. RFC 7323 §2.4: with a scale, an ACK can retract the
    /// window by less than a unit, and "the receiver must honor, as in a window, any segment that
    /// would have been in window for any ACK sent by the receiver".
    fn rcv_accept_window(&self) -> u32 {
        let promised = self
            .rcv_adv
            .filter(|&adv| adv > self.rcv_nxt)
            .map_or(0, |adv| adv - self.rcv_nxt);
        self.rcv_window().max(promised)
    }

    /// The RCV.WND to offer from `free` octets of buffer: no more than the scaled field can say,
    /// a whole number of scale units, and one unit less one octet to spare, so that
    /// [`Tcb::rcv_window`] never advertises room the buffer lacks (no slack without scaling).
    fn rcv_wnd_for(&self, free: usize) -> u32 {
        let unit = 1u32 << self.rcv_wscale;
        let max = 65535u32 << self.rcv_wscale;
        let w = u32::try_from(free)
            .unwrap_or(u32::MAX)
            .saturating_sub(unit - 1)
            .min(max);
        w - w % unit
    }

    /// The window field for an outgoing segment (RFC 7323 §2.3: never scaled on a SYN).
    fn window_field(&self, syn: bool) -> u16 {
        if syn {
            self.rcv_wnd.min(65535) as u16
        } else {
            (self.rcv_window() >> self.rcv_wscale).min(65535) as u16
        }
    }

    /// The timestamp option for a non-SYN segment, if negotiated.
    fn ts_option(&self, now: Duration) -> Option<(u32, u32)> {
        self.ts_enabled.then(|| (self.now_ts(now), self.ts_recent))
    }

    /// The header of an outgoing segment from this connection. ACKs echo congestion with ECE
    /// while the peer has not answered it with CWR (RFC 3168 §6.1.3).
    fn header(&self, seq: Seq, flags: Flags, options: Options) -> TcpHeader {
        let flags = if self.ecn.echo && flags.has(Flags::ACK) && !flags.has(Flags::SYN) {
            flags | Flags::ECE
        } else {
            flags
        };
        TcpHeader {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq,
            ack: if flags.has(Flags::ACK) {
                self.rcv_nxt
            } else {
                Seq(0)
            },
            flags,
            window: self.window_field(flags.has(Flags::SYN)),
            urgent: 0,
            options,
        }
    }

    /// Bookkeeping after a segment left: an ACK carried on it satisfies any ACK owed.
    fn after_emit(&mut self, flags: Flags) {
        if flags.has(Flags::ACK) {
            let window = u32::from(self.window_field(flags.has(Flags::SYN)));
            let shift = if flags.has(Flags::SYN) {
                0
            } else {
                self.rcv_wscale
            };
            let edge = self.rcv_nxt + (window << shift);
            self.rcv_adv = Some(self.rcv_adv.map_or(edge, |a| a.max(edge)));
            self.last_ack_sent = self.rcv_nxt;
            self.ack_due = AckDue::No;
            self.unacked_bytes = 0;
            self.timers.delayed_ack = None;
        }
    }

    /// Sends one segment without payload.
    fn emit(&mut self, cx: &mut Ctx<'_>, seq: Seq, flags: Flags, options: Options) {
        let hdr = self.header(seq, flags, options);
        cx.out.send(self.local, self.remote, &hdr, [&[], &[]]);
        self.after_emit(flags);
    }

    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`, sent now. SND.NXT, not the send pointer: while
    /// go-back-N retransmits from SND.UNA after a timeout, SND.NXT still names the next new
    /// octet (§3.10.7.4 first and seventh steps write `<SEQ=SND.NXT>`).
    fn send_ack(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        let opts = Options {
            timestamps: self.ts_option(now),
            ..Options::default()
        };
        self.emit(cx, self.snd_nxt, Flags::ACK, opts);
    }

    /// Sequence number of the first octet in `tx`: SND.UNA, or ISS+1 while our SYN is
    /// unacknowledged.
    fn data_start(&self) -> Seq {
        self.snd_una + u32::from(!self.syn_acked)
    }

    /// An RFC 5961 challenge ACK, within the per-connection budget (RFC 5961 §7).
    fn challenge_ack(&mut self, cx: &mut Ctx<'_>, now: Duration) {
        let (start, count) = self.challenge_window;
        let (start, count) = if now.saturating_sub(start) >= cx.profile.challenge_ack_window {
            (now, 0)
        } else {
            (start, count)
        };
        if count >= cx.profile.challenge_ack_limit {
            self.challenge_window = (start, count);
            return;
        }
        self.challenge_window = (start, count + 1);
        self.send_ack(cx, now);
    }

    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>`: the reset an application abort sends.
    ///
    /// §3.10.5 writes it `<SEQ=SND.NXT><CTL=RST>`, but §3.1 says the acknowledgment number "is
    /// always sent" once the connection is synchronized; every state that aborts with a RST has
    /// RCV.NXT, so the ACK bit is set, as Linux and the BSDs do.
    fn send_reset(&mut self, cx: &mut Ctx<'_>) {
        self.emit(
            cx,
            self.snd_nxt,
            Flags::RST | Flags::ACK,
            Options::default(),
        );
    }

    /// Enters CLOSED after an abort: queues flushed, timers stopped, error recorded for the
    /// application (RFC 9293 §3.10.7.4 "connection reset", §3.10.8 timeouts).
    fn abort_with(&mut self, error: Option<Error>) {
        self.state = State::Closed;
        self.error = error;
        self.tx.clear();
        self.rx.clear();
        self.ooo.clear();
        self.timers = Timers::default();
    }

    /// Deletes the TCB without telling anyone (normal end, or SYN-RECEIVED back to LISTEN).
    fn delete(&mut self) {
        self.state = State::Closed;
        self.tx.clear();
        self.ooo.clear();
        self.timers = Timers::default();
    }

    fn enter_time_wait(&mut self, profile: &Profile, now: Duration) {
        self.state = State::TimeWait;
        self.timers = Timers {
            time_wait: Some(now + profile.time_wait()),
            ..Timers::default()
        };
        self.ack_due = AckDue::No;
        self.tx.clear();
    }
}

#[cfg(test)]
pub(crate) mod tests;
