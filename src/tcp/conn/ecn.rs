//! Explicit Congestion Notification (RFC 9293 §3.8.2, SHLD-8; RFC 3168 §6.1): answering an
//! ECN-setup SYN, echoing Congestion Experienced with ECE until CWR arrives, and halving the
//! window once per window of data on ECE, announced with CWR.
//!
//! This stack does not send ECN-setup SYNs itself (as Linux's default `tcp_ecn = 2`): ECN is
//! used on passively opened connections whose peer asked for it.

use crate::tcp::codec::{Flags, Packet};
use crate::tcp::profile::Profile;
use crate::tcp::seq::Seq;

use super::Tcb;

/// A connection's ECN state.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Ecn {
    /// Both SYNs were ECN-setup (§6.1.1): the connection is ECN-capable.
    pub on: bool,
    /// A CE-marked segment arrived: ACKs carry ECE until a CWR arrives (§6.1.3).
    pub echo: bool,
    /// The window was reduced for an ECE: the next new data segment carries CWR (§6.1.2).
    pub cwr_pending: bool,
    /// SND.NXT when the window was last reduced: ECE is acted on again only on an ACK beyond it,
    /// i.e. once per window of data (§6.1.2).
    recover: Option<Seq>,
}

impl Tcb {
    /// LISTEN: an ECN-setup SYN (ECE and CWR set, §6.1.1) makes the connection ECN-capable if
    /// the profile agrees; its SYN-ACK is then ECN-setup (ECE without CWR).
    pub(super) fn ecn_on_syn(&mut self, profile: &Profile, syn: &Packet<'_>) {
        self.ecn.on = profile.ecn && syn.tcp.flags.has(Flags::ECE | Flags::CWR);
    }

    /// The ECE bit of our SYN-ACK.
    pub(super) fn ecn_syn_flags(&self) -> Flags {
        if self.ecn.on { Flags::ECE } else { Flags(0) }
    }

    /// Receiver side (§6.1.3) for an acceptable segment: CWR stops the echo, CE (re)starts it.
    pub(super) fn ecn_on_arrival(&mut self, p: &Packet<'_>) {
        if !self.ecn.on {
            return;
        }
        if p.tcp.flags.has(Flags::CWR) {
            self.ecn.echo = false;
        }
        if p.ce {
            self.ecn.echo = true;
        }
    }

    /// Sender side (§6.1.2) after the ACK of `flags` was processed: ECE halves the congestion
    /// window, at most once per window of data and not again inside fast recovery, and asks
    /// for CWR on the next new data.
    pub(super) fn ecn_on_ack(&mut self, flags: Flags) {
        if !self.ecn.on || !flags.has(Flags::ECE) || flags.has(Flags::SYN) {
            return;
        }
        if self.ecn.recover.is_some_and(|r| self.snd_una <= r) {
            return;
        }
        if self.cc.recover.is_none() {
            let flight = self.snd_nxt - self.snd_una;
            self.cc.on_ecn(flight, self.eff_snd_mss());
        }
        self.ecn.cwr_pending = true;
        self.ecn.recover = Some(self.snd_nxt);
    }

    /// CWR and ECT for a data segment about to leave: only new data is ECN-capable (§6.1.5
    /// keeps ECT off retransmissions, §6.1.6 off window probes; pure ACKs carry none, §6.1.4).
    pub(super) fn ecn_for_data(&mut self, len: u32, retransmission: bool) -> (Flags, bool) {
        let new_data = self.ecn.on && len > 0 && !retransmission;
        if !new_data {
            return (Flags(0), false);
        }
        let cwr = if std::mem::take(&mut self.ecn.cwr_pending) {
            Flags::CWR
        } else {
            Flags(0)
        };
        (cwr, self.snd_wnd > 0)
    }
}
