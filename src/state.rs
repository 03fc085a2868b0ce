//! The TCP connection states of RFC 9293 §3.3.2, by the names scripts use.
//!
//! Shared by the script language (`assert state == TIME_WAIT`) and by every stack adapter's state
//! query, so that neither depends on the other. The bundled reference TCP keeps its own state enum:
//! it depends on nothing of the harness.

use std::fmt;

/// TCP connection states (RFC 9293 §3.3.2), plus `NEW_SYN_RECV` style children reported as
/// `SynReceived`. `Closed` is what a query answers for a connection that no longer exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TcpState {
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

impl TcpState {
    /// Every state, in RFC order.
    pub const ALL: [TcpState; 11] = [
        TcpState::Closed,
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynReceived,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
    ];

    /// The name scripts use: `ESTABLISHED`, `FIN_WAIT_1`, `TIME_WAIT`, …
    pub fn script_name(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynReceived => "SYN_RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
        }
    }

    /// Parses a script state name; `TCP_`/`TCPI_`/`TCPS_` prefixes (Linux, nplab, FreeBSD) and
    /// `SYN_RECV` are accepted as aliases.
    pub fn from_script_name(name: &str) -> Option<TcpState> {
        let bare = ["TCPI_", "TCPS_", "TCP_"]
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .unwrap_or(name);
        let bare = match bare {
            "SYN_RECV" | "SYN_RCVD" => "SYN_RECEIVED",
            "FIN_WAIT1" => "FIN_WAIT_1",
            "FIN_WAIT2" => "FIN_WAIT_2",
            "CLOSE" => "CLOSED",
            other => other,
        };
        TcpState::ALL.into_iter().find(|s| s.script_name() == bare)
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.script_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip_and_aliases_resolve() {
        for s in TcpState::ALL {
            assert_eq!(TcpState::from_script_name(s.script_name()), Some(s));
        }
        assert_eq!(
            TcpState::from_script_name("TCP_SYN_RECV"),
            Some(TcpState::SynReceived)
        );
        assert_eq!(
            TcpState::from_script_name("TCPI_TIME_WAIT"),
            Some(TcpState::TimeWait)
        );
        assert_eq!(TcpState::from_script_name("ESTABLISH"), None);
    }
}
