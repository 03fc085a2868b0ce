//! The known-good prefixes: the ways into each of RFC 9293's eleven states (active and passive
//! open, simultaneous open, each close path, half-close, simultaneous close, reset and abort),
//! written like the corpus's openings (`scripts/README.md`, *Conventions*) so that conformant
//! stacks agree on them. Each is parsed once; [`validate`](super::Explorer) runs it on every stack
//! before any case uses it, and a stack it does not bring to its state does not run its cases.

use crate::script::ast::{Event, Item, TcpState};

use super::model::Vars;

/// One way into a state.
#[derive(Debug, Clone)]
pub struct Prefix {
    /// A short name: `fin-wait-1-shutdown`.
    pub name: &'static str,
    /// How it gets there, for the output scripts' comments.
    pub how: &'static str,
    pub state: TcpState,
    /// The script fd calls go to.
    pub fd: i64,
    /// The connection's variables at the end.
    pub vars: Vars,
    /// The parsed lines.
    pub events: Vec<Event>,
}

const LISTEN: &str = "
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0
";

const SYN_RECEIVED: &str = "
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win * <{mss *, ...}>
";

const ESTABLISH_PASSIVE: &str = "
+.01  < . 1:1(0) ack 1 win 65535
+0    accept(3, ..., ...) = 4
+0    fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
";

// The active opener binds first: a port of its own keeps lwIP from drawing an ephemeral one, whose
// cursor its adapter then has to walk back before the next run (`src/stack/lwip`).
const SYN_SENT: &str = "
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    bind(3, ..., ...) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > S 0:0(0) win * <{mss *, ...}>
";

const ESTABLISH_ACTIVE: &str = "
+.01  < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0    > . 1:1(0) ack 1 win *
";

const SIMULTANEOUS_OPEN: &str = "
+.01  < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win * <{mss *, ...}>
";

/// The table of prefixes, simplest way into each state first (shrinking prefers earlier ones).
/// `fd` 4 is the accepted socket of a passive open, 3 the listener or the active opener.
fn table() -> Vec<(&'static str, &'static str, TcpState, i64, Vars, String)> {
    let passive = format!("{LISTEN}{SYN_RECEIVED}{ESTABLISH_PASSIVE}");
    let active = format!("{SYN_SENT}{ESTABLISH_ACTIVE}");
    let v = |snd_una, snd_nxt, rcv_nxt, can_send| Vars {
        snd_una,
        snd_nxt,
        rcv_nxt,
        synchronized: true,
        can_send,
        can_receive: true,
        awaits_syn_ack: false,
    };
    let unsynchronized = |snd_nxt| Vars {
        snd_una: 0,
        snd_nxt,
        rcv_nxt: 0,
        synchronized: false,
        can_send: true,
        can_receive: true,
        awaits_syn_ack: false,
    };
    let fin_wait_1 = |how: &str| format!("{passive}+.01  {how}\n+0    > F. 1:1(0) ack 1 win *\n");
    let fin_wait_2 = |how: &str| format!("{}+.01  < . 1:1(0) ack 2 win 65535\n", fin_wait_1(how));
    let close_wait =
        format!("{passive}+.01  < F. 1:1(0) ack 1 win 65535\n+0~+0.5 > . 1:1(0) ack 2 win *\n");
    let last_ack = format!("{close_wait}+.01  close(4) = 0\n+0    > F. 1:1(0) ack 2 win *\n");
    use TcpState::*;
    vec![
        (
            "listen",
            "a passive OPEN: socket, bind, listen (fd 3, non-blocking)",
            Listen,
            3,
            unsynchronized(0),
            LISTEN.to_string(),
        ),
        (
            "syn-sent",
            "an active OPEN: non-blocking connect() on fd 3, our SYN sent",
            SynSent,
            3,
            unsynchronized(1),
            SYN_SENT.to_string(),
        ),
        (
            "syn-received",
            "a passive OPEN and the peer's SYN, answered by our SYN+ACK (fd 3 is the listener)",
            SynReceived,
            3,
            v(0, 1, 1, true),
            format!("{LISTEN}{SYN_RECEIVED}"),
        ),
        (
            "syn-received-simultaneous",
            "a simultaneous open: our SYN crosses the peer's SYN, we answer SYN+ACK",
            SynReceived,
            3,
            v(0, 1, 1, true),
            format!("{SYN_SENT}{SIMULTANEOUS_OPEN}"),
        ),
        (
            "established",
            "a passive open completed by the peer's ACK, accepted as fd 4",
            Established,
            4,
            v(1, 1, 1, true),
            passive.clone(),
        ),
        (
            "established-active",
            "an active open: our SYN, the peer's SYN+ACK, our ACK (fd 3)",
            Established,
            3,
            v(1, 1, 1, true),
            active.clone(),
        ),
        (
            "established-unacked",
            "a passive open, then 10 bytes written and not yet acknowledged",
            Established,
            4,
            v(1, 11, 1, true),
            format!("{passive}+.01  write(4, ..., 10) = 10\n+0    > P. 1:11(10) ack 1 win *\n"),
        ),
        (
            "established-unread",
            "a passive open, then 10 bytes received and not read",
            Established,
            4,
            v(1, 1, 11, true),
            format!(
                "{passive}+.01  < P. 1:11(10) ack 1 win 65535\n+0~+0.5 > . 1:1(0) ack 11 win *\n"
            ),
        ),
        (
            "fin-wait-1",
            "a passive open, then close(): our FIN is not yet acknowledged",
            FinWait1,
            4,
            v(1, 2, 1, false),
            fin_wait_1("close(4) = 0"),
        ),
        (
            "fin-wait-1-shutdown",
            "a passive open, then shutdown(SHUT_WR): our FIN is not yet acknowledged, fd 4 still reads",
            FinWait1,
            4,
            v(1, 2, 1, false),
            fin_wait_1("shutdown(4, SHUT_WR) = 0"),
        ),
        (
            "fin-wait-2",
            "a passive open, close(), and the peer's ACK of our FIN",
            FinWait2,
            4,
            v(2, 2, 1, false),
            fin_wait_2("close(4) = 0"),
        ),
        (
            "fin-wait-2-shutdown",
            "a passive open, shutdown(SHUT_WR), and the peer's ACK of our FIN (half-close)",
            FinWait2,
            4,
            v(2, 2, 1, false),
            fin_wait_2("shutdown(4, SHUT_WR) = 0"),
        ),
        (
            "close-wait",
            "a passive open, then the peer's FIN",
            CloseWait,
            4,
            v(1, 1, 2, true),
            close_wait,
        ),
        (
            "closing",
            "shutdown(SHUT_WR), then the peer's FIN crosses ours (simultaneous close)",
            Closing,
            4,
            v(1, 2, 2, false),
            format!(
                "{}+.01  < F. 1:1(0) ack 1 win 65535\n+0~+0.5 > . 2:2(0) ack 2 win *\n",
                fin_wait_1("shutdown(4, SHUT_WR) = 0")
            ),
        ),
        (
            "last-ack",
            "the peer's FIN, then close(): our FIN is not yet acknowledged",
            LastAck,
            4,
            v(1, 2, 2, false),
            last_ack.clone(),
        ),
        (
            "time-wait",
            "close(), the peer's ACK of our FIN, then the peer's FIN",
            TimeWait,
            4,
            v(2, 2, 2, false),
            format!(
                "{}+.01  < F. 1:1(0) ack 2 win 65535\n+0~+0.5 > . 2:2(0) ack 2 win *\n",
                fin_wait_2("close(4) = 0")
            ),
        ),
        (
            "time-wait-active",
            "an active open, close(), then the peer's FIN+ACK acknowledging ours",
            TimeWait,
            3,
            v(2, 2, 2, false),
            format!(
                "{active}+.01  close(3) = 0\n+0    > F. 1:1(0) ack 1 win *\n+.01  < F. 1:1(0) ack 2 win 65535\n+0~+0.5 > . 2:2(0) ack 2 win *\n"
            ),
        ),
        (
            "closed-reset",
            "a passive open, then the peer's RST (fd 4 stays open)",
            Closed,
            4,
            v(1, 1, 1, false),
            format!("{passive}+.01  < R. 1:1(0) ack 1 win 65535\n"),
        ),
        (
            "closed-abort",
            "a passive open, then SO_LINGER {1, 0} and close(): our RST",
            Closed,
            4,
            v(1, 1, 1, false),
            format!(
                "{passive}+.01  setsockopt(4, SOL_SOCKET, SO_LINGER, {{onoff=1, linger=0}}, 8) = 0\n+0    close(4) = 0\n+0    > R. 1:1(0) ack 1 win *\n"
            ),
        ),
        (
            "closed-after-last-ack",
            "a passive close completed: LAST-ACK and the peer's ACK of our FIN",
            Closed,
            4,
            v(2, 2, 2, false),
            format!("{last_ack}+.01  < . 2:2(0) ack 2 win 65535\n"),
        ),
    ]
}

/// Every prefix, parsed, each ending with an assertion of its state.
pub fn all() -> Result<Vec<Prefix>, crate::script::diag::Diagnostic> {
    table()
        .into_iter()
        .map(|(name, how, state, fd, mut vars, text)| {
            vars.awaits_syn_ack = matches!(name, "syn-sent" | "syn-received-simultaneous");
            // After the peer's FIN (or a reset) no more data is taken.
            vars.can_receive = matches!(
                state,
                TcpState::Listen
                    | TcpState::SynSent
                    | TcpState::SynReceived
                    | TcpState::Established
                    | TcpState::FinWait1
                    | TcpState::FinWait2
            );
            let text = format!("{text}+0    assert state == {}\n", state.script_name());
            let script = crate::script::parse(&text)?;
            let events = script
                .body
                .into_iter()
                .filter_map(|item| match item {
                    Item::Event(e) => Some(e),
                    Item::Ifdef(_) => None,
                })
                .collect();
            Ok(Prefix {
                name,
                how,
                state,
                fd,
                vars,
                events,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_a_prefix_and_every_prefix_parses() {
        let prefixes = all().expect("prefixes parse");
        for state in TcpState::ALL {
            assert!(
                prefixes.iter().any(|p| p.state == state),
                "no prefix reaches {state}"
            );
        }
        let mut names: Vec<_> = prefixes.iter().map(|p| p.name).collect();
        names.dedup();
        assert_eq!(names.len(), prefixes.len(), "names are unique");
    }
}
