//! The connection under test and the translation between script and live numbers.
//!
//! A script writes sequence numbers relative to each side's initial sequence number; the stack uses
//! its own, random ISN. packetdrill rewrites both directions (`socket.h`,
//! `run_packet.c: map_inbound_packet / tcp_convert_seq_number`) and tcpconf does the same:
//!
//! - remote side (tcpconf): an injected SYN carries its script seq literally, which becomes the
//!   remote ISN; later inbound seqs and outbound acks are offset by it — except on SYN-flagged
//!   packets, whose numbers are absolute (hence FreeBSD's `> S. 0:0(0) ack 18` after `< S 17:17(0)`);
//! - local side (the stack): the first outbound SYN's script seq is mapped onto the live ISN; later
//!   local seqs, inbound acks and SACK blocks are offset by the live ISN, and on SYN-flagged packets
//!   by the difference between live and script ISN;
//! - ack and SACK numbers are translated only when the ACK flag is set, as in packetdrill;
//! - TS: an inbound `ecr` is rewritten to the live TS val the stack sent where the script showed
//!   that val (RFC 7323 §3: the echo must repeat a value the peer sent).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::stack::Fd;

/// How the connection under test came to be (packetdrill's socket states, reduced to what
/// translation and packet filtering need).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A socket listens; the next injected SYN creates the connection.
    Listening,
    /// `connect()` was called; the next outbound SYN to the connect port is ours.
    Connecting,
    /// The connection exists (its 4-tuple is known, or will be by its first outbound SYN).
    Open,
}

/// The connection under test: its 4-tuple and the state of number translation.
#[derive(Debug, Clone)]
pub struct Conn {
    pub phase: Phase,
    /// The stack's address and port (`None` until the first outbound SYN of an active open).
    pub local: IpAddr,
    pub local_port: Option<u16>,
    pub remote: IpAddr,
    pub remote_port: u16,
    /// The script fd of the listening or connecting socket, if any.
    pub fd: Option<Fd>,
    /// The remote ISN (script and live agree on it).
    remote_isn: u32,
    /// Whether `remote_isn` came from a SYN (it is 0 until then).
    remote_isn_known: bool,
    /// A SYN that may start a new incarnation of this connection: its seq, until the stack's
    /// SYN-ACK confirms it (see [`Conn::note_inbound`]).
    pending_incarnation: Option<u32>,
    /// An RST went either way since the ISNs were learned.
    reset_seen: bool,
    /// The local ISN as the script wrote it and as the stack chose it.
    script_local_isn: Option<u32>,
    live_local_isn: Option<u32>,
    /// script TS val → live TS val, learned from matched outbound packets.
    ts_vals: HashMap<u32, u32>,
    /// The first (script, live) TS val pair, for `--tcp_ts_ecr_scaled` and TS val checks.
    first_ts: Option<(u32, u32)>,
    /// The latest live TS val, once a `>` line left the val unnamed (`TS val *`, `<...>`).
    latest_unnamed_ts: Option<u32>,
}

/// An inbound TS ecr that cannot be mapped to anything the stack sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unable to infer live TS ecr for script TS ecr {0}; no matching or preceding outbound TS val"
)]
pub struct UnknownEcr(pub u32);

impl Conn {
    /// A connection in `phase` between these endpoints.
    pub fn new(
        phase: Phase,
        local: SocketAddr,
        local_port_known: bool,
        remote: SocketAddr,
    ) -> Conn {
        Conn {
            phase,
            local: local.ip(),
            local_port: local_port_known.then_some(local.port()),
            remote: remote.ip(),
            remote_port: remote.port(),
            fd: None,
            remote_isn: 0,
            remote_isn_known: false,
            pending_incarnation: None,
            reset_seen: false,
            script_local_isn: None,
            live_local_isn: None,
            ts_vals: HashMap::new(),
            first_ts: None,
            latest_unnamed_ts: None,
        }
    }

    /// Records the remote ISN (from an injected SYN, or a SYN-ACK answering our SYN).
    pub fn set_remote_isn(&mut self, isn: u32) {
        self.remote_isn = isn;
        self.remote_isn_known = true;
    }

    /// Bookkeeping for an injected segment with these flags and (script) seq on this existing
    /// connection.
    ///
    /// - A SYN-ACK answering our SYN fixes the remote ISN, once (packetdrill's `SYN_SENT` →
    ///   `SYN_ACKED`).
    /// - A bare SYN after an RST, or with another seq than the remote ISN, may open a new
    ///   incarnation (TIME-WAIT reopened by a higher seq, RFC 9293 §3.10.7.4 / RFC 6191; a
    ///   listener back from SYN-RECEIVED after an RST). packetdrill keeps the old numbers and
    ///   fails such scripts at the new SYN-ACK; tcpconf switches to the new numbers when — and
    ///   only when — the stack answers with a SYN. A retransmitted SYN (same seq, no RST) keeps
    ///   the old ones, so a stack answering it with another ISN still fails.
    pub fn note_inbound(&mut self, syn: bool, ack: bool, rst: bool, seq: u32) {
        if rst {
            self.reset_seen = true;
        }
        if syn && ack && !self.remote_isn_known {
            self.set_remote_isn(seq);
        }
        if syn && !ack && self.knows_local_isn() && (self.reset_seen || seq != self.remote_isn) {
            self.pending_incarnation = Some(seq);
        }
    }

    /// Bookkeeping for a matched outbound segment that is not a SYN: an RST counts as a reset,
    /// and any answer but a SYN means a pending new incarnation did not happen (e.g. RFC 5961's
    /// challenge ACK to a SYN in ESTABLISHED).
    pub fn note_outbound_non_syn(&mut self, rst: bool) {
        if rst {
            self.reset_seen = true;
        }
        self.pending_incarnation = None;
    }

    /// Learns the local ISN from an outbound SYN matched against a script SYN with seq
    /// `script`: the first one of a connection, or the first after a new incarnation's SYN.
    pub fn learn_from_syn(&mut self, script: u32, live: u32) {
        if let Some(remote) = self.pending_incarnation.take() {
            self.set_remote_isn(remote);
            self.reset_seen = false;
            self.set_local_isn(script, live);
        } else if !self.knows_local_isn() {
            self.set_local_isn(script, live);
        }
    }

    /// Whether the local ISN has been learned.
    pub fn knows_local_isn(&self) -> bool {
        self.live_local_isn.is_some()
    }

    /// Records the local ISN: the script's seq on the first outbound SYN and the live one.
    pub fn set_local_isn(&mut self, script: u32, live: u32) {
        self.script_local_isn = Some(script);
        self.live_local_isn = Some(live);
    }

    fn local_offset(&self, syn: bool) -> u32 {
        let live = self.live_local_isn.unwrap_or(0);
        if syn {
            live.wrapping_sub(self.script_local_isn.unwrap_or(0))
        } else {
            live
        }
    }

    fn remote_offset(&self, syn: bool) -> u32 {
        if syn { 0 } else { self.remote_isn }
    }

    /// Inbound seq, script → live.
    pub fn inbound_seq(&self, seq: u32, syn: bool) -> u32 {
        seq.wrapping_add(self.remote_offset(syn))
    }

    /// Inbound ack (or SACK edge), script → live.
    pub fn inbound_ack(&self, ack: u32, syn: bool) -> u32 {
        ack.wrapping_add(self.local_offset(syn))
    }

    /// Outbound seq, live → script.
    pub fn outbound_seq(&self, seq: u32, syn: bool) -> u32 {
        seq.wrapping_sub(self.local_offset(syn))
    }

    /// Outbound ack (or SACK edge), live → script.
    pub fn outbound_ack(&self, ack: u32, syn: bool) -> u32 {
        ack.wrapping_sub(self.remote_offset(syn))
    }

    /// Remembers that the script's TS val `script` was live `live` (outbound packet matched).
    pub fn record_ts_val(&mut self, script: u32, live: u32) {
        self.ts_vals.insert(script, live);
        if self.first_ts.is_none() {
            self.first_ts = Some((script, live));
        }
    }

    /// Remembers a live TS val the script matched without naming it (`TS val *` or `<...>`).
    pub fn record_unnamed_ts_val(&mut self, live: u32) {
        self.latest_unnamed_ts = Some(live);
    }

    /// The live TS val as the script would have written it (offset from the first pair seen).
    pub fn outbound_ts_val(&self, live: u32) -> u32 {
        match self.first_ts {
            Some((script, first_live)) => script.wrapping_add(live.wrapping_sub(first_live)),
            None => live,
        }
    }

    /// Inbound TS ecr, script → live. `scaled` is `--tcp_ts_ecr_scaled`.
    ///
    /// An ecr that names no val the script showed is an error in packetdrill. tcpconf lets it
    /// echo the latest val the stack sent — what a real peer's TS.Recent holds (RFC 7323 §4.3) —
    /// once the script matched a val without naming it (`TS val *`, `<...>`), since such a
    /// script has no number to write.
    pub fn inbound_ecr(&self, ecr: u32, scaled: bool) -> Result<u32, UnknownEcr> {
        if let Some(live) = self.ts_vals.get(&ecr) {
            return Ok(*live);
        }
        match (self.first_ts, self.latest_unnamed_ts) {
            (Some((script, live)), _) if scaled => Ok(ecr.wrapping_sub(script).wrapping_add(live)),
            (_, Some(latest)) => Ok(latest),
            _ => Err(UnknownEcr(ecr)),
        }
    }

    /// The stack's endpoint, once known.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_port.map(|p| SocketAddr::new(self.local, p))
    }

    /// The remote endpoint (tcpconf's side).
    pub fn remote_addr(&self) -> SocketAddr {
        SocketAddr::new(self.remote, self.remote_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        Conn::new(
            Phase::Open,
            "192.168.0.1:8080".parse().unwrap(),
            true,
            "192.0.2.1:40000".parse().unwrap(),
        )
    }

    #[test]
    fn passive_open_with_zero_isn() {
        let mut c = conn();
        c.set_remote_isn(0);
        // > S. 0:0(0) ack 1 — the stack chose ISN 1000.
        c.set_local_isn(0, 1000);
        assert_eq!(c.outbound_seq(1000, true), 0);
        assert_eq!(c.outbound_ack(1, true), 1);
        // < . 1:1(0) ack 1
        assert_eq!(c.inbound_seq(1, false), 1);
        assert_eq!(c.inbound_ack(1, false), 1001);
        // > P. 1:1001(1000) ack 1
        assert_eq!(c.outbound_seq(1001, false), 1);
    }

    #[test]
    fn literal_syn_seq_and_absolute_numbers_on_syn_packets() {
        let mut c = conn();
        // < S 17:17(0): the SYN is sent with seq 17, which becomes the remote ISN.
        assert_eq!(c.inbound_seq(17, true), 17);
        c.set_remote_isn(17);
        // > S. 0:0(0) ack 18: on a SYN-flagged packet the ack is absolute.
        c.set_local_isn(0, 5000);
        assert_eq!(c.outbound_ack(18, true), 18);
        // < . 1:1(0) ack 1: relative to the remote ISN 17.
        assert_eq!(c.inbound_seq(1, false), 18);
        assert_eq!(c.inbound_ack(1, false), 5001);
        // > . 1:1(0) ack 1 after that: live ack 18 is script 1.
        assert_eq!(c.outbound_ack(18, false), 1);
    }

    #[test]
    fn nonzero_script_local_isn_on_syn() {
        let mut c = conn();
        // > S 100:100(0): script ISN 100, live ISN 7.
        c.set_local_isn(100, 7);
        assert_eq!(c.outbound_seq(7, true), 100);
        // < S. 0:0(0) ack 101 (SYN-flagged: absolute in script space).
        assert_eq!(c.inbound_ack(101, true), 8);
        // Later numbers are relative to the live ISN.
        assert_eq!(c.inbound_ack(1, false), 8);
    }

    #[test]
    fn numbers_wrap_around() {
        let mut c = conn();
        c.set_local_isn(0, u32::MAX - 1);
        assert_eq!(c.inbound_ack(3, false), 1);
        assert_eq!(c.outbound_seq(1, false), 3);
    }

    #[test]
    fn ts_ecr_maps_to_the_live_val_the_stack_sent() {
        let mut c = conn();
        assert_eq!(c.inbound_ecr(100, false), Err(UnknownEcr(100)));
        c.record_ts_val(100, 987_654);
        assert_eq!(c.inbound_ecr(100, false), Ok(987_654));
        assert_eq!(c.inbound_ecr(110, false), Err(UnknownEcr(110)));
        assert_eq!(c.inbound_ecr(110, true), Ok(987_664));
        assert_eq!(c.outbound_ts_val(987_700), 146);
    }

    #[test]
    fn a_new_incarnation_switches_numbers_only_when_the_stack_answers_with_a_syn() {
        let mut c = conn();
        c.set_remote_isn(0);
        c.learn_from_syn(0, 1000);
        // A retransmitted SYN keeps the numbers: the stack must answer with the same ISN.
        c.note_inbound(true, false, false, 0);
        c.learn_from_syn(0, 7777);
        assert_eq!(c.outbound_seq(7777, true), 6777);
        // A SYN with a higher seq (TIME-WAIT reopen) answered by a SYN-ACK: new numbers.
        c.note_inbound(true, false, false, 1000);
        assert_eq!(
            c.inbound_seq(1, false),
            1,
            "nothing changes before the stack answers"
        );
        c.learn_from_syn(0, 50_000);
        assert_eq!(c.outbound_seq(50_000, true), 0);
        assert_eq!(c.inbound_seq(1, false), 1001);
        assert_eq!(c.inbound_ack(1, false), 50_001);
        // A SYN answered by a challenge ACK changes nothing.
        c.note_inbound(true, false, false, 5);
        c.note_outbound_non_syn(false);
        c.learn_from_syn(0, 50_000);
        assert_eq!(c.inbound_seq(1, false), 1001);
        // After an RST, even the same seq starts over.
        c.note_inbound(false, false, true, 1);
        c.note_inbound(true, false, false, 1000);
        c.learn_from_syn(0, 90_000);
        assert_eq!(c.inbound_ack(1, false), 90_001);
        // A SYN-ACK fixes the remote ISN only once.
        let mut active = conn();
        active.note_inbound(true, true, false, 300);
        active.note_inbound(true, true, false, 400);
        assert_eq!(active.inbound_seq(1, false), 301);
    }

    #[test]
    fn unnamed_ts_vals_let_any_ecr_echo_the_latest() {
        let mut c = conn();
        c.record_unnamed_ts_val(5000);
        c.record_unnamed_ts_val(5007);
        assert_eq!(c.inbound_ecr(1, false), Ok(5007));
        c.record_ts_val(100, 9000);
        assert_eq!(
            c.inbound_ecr(100, false),
            Ok(9000),
            "a named val still maps exactly"
        );
    }
}
