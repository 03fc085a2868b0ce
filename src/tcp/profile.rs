//! Behaviour profiles: which edition of the RFC the stack reads, and its timer and buffer numbers.

use std::time::Duration;

/// Everything that makes one reading of TCP differ from another. Start from [`Profile::rfc9293`]
/// or [`Profile::rfc793`] and adjust fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Short name for reports (`rfc9293`, `rfc793`).
    pub name: String,
    /// RFC 5961 mitigations (RFC 9293 §3.10.7.4): exact-match RST, challenge ACKs for in-window RST
    /// and for SYN in synchronized states, and the ACK range check (MAY-12), with RFC 9293's return
    /// of a passive SYN-RECEIVED to LISTEN on a SYN. Off: RFC 793 behaviour (any in-window RST or
    /// SYN resets the connection, SYN-RECEIVED included) and RFC 793's ACK-range boundaries.
    pub rfc5961: bool,
    /// Most challenge ACKs sent per connection within [`Profile::challenge_ack_window`]
    /// (RFC 5961 §7 throttling).
    pub challenge_ack_limit: u32,
    /// Period of the challenge-ACK budget.
    pub challenge_ack_window: Duration,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this (MUST-13).
    pub msl: Duration,
    /// Ignore RST in TIME-WAIT (RFC 1337 fix F1). RFC 9293 itself closes on it, so off by default.
    pub rfc1337: bool,
    /// Accept a new SYN for a connection in TIME-WAIT when its sequence number (or timestamp, RFC
    /// 6191) is newer (MAY-2, SHLD-4).
    pub time_wait_reuse: bool,
    /// Send RST instead of FIN when the application closes with unread data, and answer data that
    /// arrives after a full close with RST (SHLD-3, RFC 2525 §2.17).
    pub rst_on_discard: bool,
    /// Delayed-ACK timeout (MUST-40: less than 0.5 s).
    pub delayed_ack: Duration,
    /// Initial retransmission timeout (RFC 6298 §2.1).
    pub initial_rto: Duration,
    /// Lower bound of the RTO (RFC 6298 §2.4 says 1 s).
    pub min_rto: Duration,
    /// Upper bound of the RTO (RFC 6298 §2.5 allows ≥ 60 s).
    pub max_rto: Duration,
    /// R1: retransmissions after which IP would be advised and the application told (MUST-20,
    /// SHLD-9, SHLD-10 ≥ 3); see `Host::retransmission_trouble`.
    pub r1: u32,
    /// R2 for data: give up after retransmitting for this long without progress (SHLD-11 ≥ 100 s).
    pub r2: Duration,
    /// R2 for SYNs: give up on the handshake after this long (MUST-23 ≥ 3 min).
    pub r2_syn: Duration,
    /// Default SYN retransmission count (TCP_SYNCNT) replacing `r2_syn`; `None` keeps the time
    /// limit. Linux's default of 6 gives up after about 127 s, short of MUST-23.
    pub syn_retries: Option<u32>,
    /// Default receive buffer (SO_RCVBUF), bytes.
    pub rcvbuf: usize,
    /// Default send buffer (SO_SNDBUF), bytes.
    pub sndbuf: usize,
    /// Link MTU; the MSS offered is this minus the IP and TCP headers (MUST-67).
    pub mtu: u16,
    /// Window-scale shift to offer (RFC 7323 §2); `None` sends no window-scale option.
    pub window_scale: Option<u8>,
    /// Offer timestamps (RFC 7323 §3).
    pub timestamps: bool,
    /// Offer SACK-permitted (RFC 2018); SACK blocks are not generated.
    pub sack_permitted: bool,
    /// Answer ECN-setup SYNs with ECN-setup SYN-ACKs and run RFC 3168's ECE/CWR signalling on
    /// such connections (SHLD-8, RFC 3168 §6.1). ECN-setup SYNs are not sent (Linux's default).
    pub ecn: bool,
    /// Nagle's algorithm on new sockets (SHLD-7; TCP_NODELAY turns it off, MUST-17).
    pub nagle: bool,
    /// Keep-alive idle time before the first probe (MUST-28: ≥ 2 h by default).
    pub keepalive_idle: Duration,
    /// Interval between keep-alive probes.
    pub keepalive_interval: Duration,
    /// Unanswered probes before the connection is dropped (MUST-29: more than one).
    pub keepalive_count: u32,
    /// Secret key of the RFC 6528 ISN function (and of timestamp offsets and ephemeral ports).
    pub secret: u128,
}

impl Profile {
    /// RFC 9293 as written, with the RFC 5961 mitigations it describes.
    pub fn rfc9293() -> Profile {
        Profile {
            name: "rfc9293".into(),
            rfc5961: true,
            challenge_ack_limit: 10,
            challenge_ack_window: Duration::from_secs(1),
            msl: Duration::from_secs(120),
            rfc1337: false,
            time_wait_reuse: true,
            rst_on_discard: true,
            delayed_ack: Duration::from_millis(200),
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_secs(1),
            max_rto: Duration::from_secs(120),
            r1: 3,
            r2: Duration::from_secs(300),
            r2_syn: Duration::from_secs(180),
            syn_retries: None,
            rcvbuf: 128 * 1024,
            sndbuf: 128 * 1024,
            mtu: 1500,
            window_scale: Some(7),
            timestamps: true,
            sack_permitted: true,
            ecn: true,
            nagle: true,
            keepalive_idle: Duration::from_secs(7200),
            keepalive_interval: Duration::from_secs(75),
            keepalive_count: 9,
            secret: 0x7463_7063_6f6e_662d_7265_6665_7265_6e63,
        }
    }

    /// RFC 793's original rules: any in-window RST or SYN resets, no challenge ACKs, no ACK range
    /// check, the window is updated only by ACKs that advance SND.UNA, and no ECN.
    pub fn rfc793() -> Profile {
        Profile {
            name: "rfc793".into(),
            rfc5961: false,
            // RFC 793 reserved the bits RFC 3168 gave to ECE and CWR.
            ecn: false,
            ..Profile::rfc9293()
        }
    }

    /// Length of TIME-WAIT: 2×MSL.
    pub fn time_wait(&self) -> Duration {
        self.msl * 2
    }
}

impl Default for Profile {
    fn default() -> Profile {
        Profile::rfc9293()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_rfc_numbers() {
        let p = Profile::rfc9293();
        assert_eq!(p.time_wait(), Duration::from_secs(240));
        assert!(p.delayed_ack < Duration::from_millis(500));
        assert_eq!(p.initial_rto, Duration::from_secs(1));
        assert!(p.r2_syn >= Duration::from_secs(180));
        assert!(p.r2 >= Duration::from_secs(100));
        assert!(p.keepalive_idle >= Duration::from_secs(7200));
        assert!(!Profile::rfc793().rfc5961);
        assert!(Profile::rfc9293().ecn && !Profile::rfc793().ecn);
    }
}
