"""Scenario scripts by area: handshake, close, half-close, simultaneous close, TIME-WAIT, RST,
options, data and timers. Each scenario is written out event by event; corpus_lib only supplies
the openings (listen, handshakes, the ways into each closing state)."""

from __future__ import annotations

from corpus_lib import (ACK, NODELAY3, NODELAY4, RWIN, Corpus, Script, active_established, add,
                        close_wait, complete_active, ev, fin_wait_1, fin_wait_2, listen,
                        passive_established, syn_received, syn_sent, time_wait)

LINGER0 = "setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0"


# ---------------------------------------------------------------------------------------------


def handshake(c: Corpus) -> None:
    a = "handshake"
    add(c, "handshake/passive-open", "Passive open: SYN, SYN+ACK, ACK", a,
        ["RFC 9293 §3.5", "RFC 9293 §3.10.7.2", "RFC 9293 §3.10.7.4"],
        ["The three-way handshake from the listener's side (RFC 9293 Figure 6)."],
        syn_received() + ev("+0", "assert state == SYN_RECEIVED",
                            "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
                            "+0", "accept(3, ..., ...) = 4",
                            "+0", "assert state(4) == ESTABLISHED"))
    add(c, "handshake/active-open", "Active open: SYN, SYN+ACK, ACK", a,
        ["RFC 9293 §3.5", "RFC 9293 §3.10.7.3"],
        ["The three-way handshake from the connecting side (RFC 9293 Figure 6)."],
        syn_sent() + ev("+0", "assert state == SYN_SENT") + complete_active()
        + ev("+0", "getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0"))
    add(c, "handshake/simultaneous-open", "Simultaneous open: crossing SYNs establish a connection that carries data", a,
        ["MUST-10", "RFC 9293 §3.5", "RFC 9293 §3.10.7.3", "RFC 9293 §3.10.7.4"],
        ["Our SYN (seq 0) crosses the peer's SYN (seq 0): SYN-SENT answers <SEQ=ISS><ACK=RCV.NXT>",
         "<CTL=SYN,ACK> and enters SYN-RECEIVED (MUST-10); the peer's ACK of our SYN establishes",
         "the connection, which then carries data both ways.",
         "RFC 9293 Figure 7 has the peer answer with a SYN+ACK instead. That segment repeats the",
         "peer's SYN below RCV.NXT: the sequence test of §3.10.7.4 calls it unacceptable (answer",
         "with an ACK, drop it), while the figure shows it establishing the connection silently;",
         "stacks differ (Linux ACKs and establishes), so this script uses the unambiguous ACK."],
        syn_sent() + ev(
            "+.01", f"< S 0:0(0) win {RWIN} <mss 1460>",
            "+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>",
            "+0", "assert state == SYN_RECEIVED",
            "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
            "+0", "assert state == ESTABLISHED",
            "+0", "write(3, ..., 10) = 10",
            "+0", "> P. 1:11(10) ack 1 win *",
            "+.01", f"< P. 1:6(5) ack 11 win {RWIN}",
            ACK, "> . 11:11(0) ack 6 win *",
            "+0", "read(3, ..., 100) = 5"))
    add(c, "handshake/simultaneous-open-rst-refuses", "Simultaneous open: a RST in SYN-RECEIVED refuses an active connection", a,
        ["MUST-11", "MUST-12", "RFC 9293 §3.10.7.4"],
        ["SYN-RECEIVED entered from SYN-SENT (active OPEN). A RST at RCV.NXT: the connection was",
         "refused: signal \"connection refused\", enter CLOSED (it does not go to LISTEN, MUST-11)."],
        syn_sent() + ev(
            "+.01", f"< S 0:0(0) win {RWIN} <mss 1460>",
            "+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>",
            "+0", "assert state == SYN_RECEIVED",
            "+.01", f"< R 1:1(0) win {RWIN}",
            "+0", "assert state == CLOSED",
            "+0", "getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0"))
    add(c, "handshake/syn-received-rst-returns-to-listen", "SYN-RECEIVED from LISTEN returns to LISTEN on RST", a,
        ["MUST-11", "RFC 9293 §3.5.3", "RFC 9293 §3.10.7.4"],
        ["A passive connection in SYN-RECEIVED that receives a RST at RCV.NXT returns to LISTEN",
         "and the user is not told (MUST-11). The listener then completes a new handshake; its",
         "SYN+ACK starts a new incarnation, so its sequence number is written 0 again."],
        syn_received() + ev(
            "+.01", f"< R 1:1(0) win {RWIN}",
            "+0", "assert state == CLOSED",
            "+0", "assert state(3) == LISTEN",
            "+.01", f"< S 0:0(0) win {RWIN} <mss 1460>",
            "+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>",
            "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
            "+0", "accept(3, ..., ...) = 4",
            "+0", "assert state(4) == ESTABLISHED"))
    add(c, "handshake/syn-retransmission-backoff", "SYN retransmissions: the schedule is measured", a,
        ["MUST-19", "MUST-22", "RFC 9293 §3.8.1", "RFC 6298 §5"],
        ["An unanswered SYN is retransmitted like data (MUST-22), with the RTO backed off",
         "(RFC 6298 §5.5: doubled) after each expiry. The intervals are recorded as",
         "syn_rto_1..3 (RFC 6298: first RTO 1 s, then 2 s, 4 s). The fourth SYN is answered."],
        syn_sent() + ev(
            "+0", "measure syn_rto_1 until packet within 10",
            "+0", "> S 0:0(0) win * <{mss *, ...}>",
            "+0", "measure syn_rto_2 until packet within 20",
            "+0", "> S 0:0(0) win * <{mss *, ...}>",
            "+0", "measure syn_rto_3 until packet within 40",
            "+0", "> S 0:0(0) win * <{mss *, ...}>") + complete_active())
    add(c, "handshake/syn-ack-retransmission", "SYN-RECEIVED retransmits its SYN+ACK: the delay is measured", a,
        ["MUST-22", "RFC 9293 §3.8.1", "RFC 6298 §2"],
        ["Our SYN+ACK is not acknowledged; it is retransmitted after the RTO (recorded as",
         "synack_rto_1); the peer's ACK then completes the handshake."],
        syn_received() + ev(
            "+0", "measure synack_rto_1 until packet within 10",
            "+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>",
            "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
            "+0", "accept(3, ..., ...) = 4",
            "+0", "assert state(4) == ESTABLISHED"))
    add(c, "handshake/duplicate-syn-in-syn-received", "SYN-RECEIVED: a retransmitted SYN is answered with an ACK", a,
        ["RFC 9293 §3.10.7.4", "RFC 9293 §3.3"],
        ["The peer's SYN (seq 0) arrives again. It lies wholly below RCV.NXT = 1, so the sequence",
         "test (first step of §3.10.7.4) finds it unacceptable: send <SEQ=SND.NXT><ACK=RCV.NXT>",
         "<CTL=ACK> and drop it. (Stacks that answer with a new SYN+ACK deviate.)"],
        syn_received() + ev(
            "+.01", f"< S 0:0(0) win {RWIN} <mss 1460>",
            ACK, "> . 1:1(0) ack 1 win *",
            "+0", "assert state == SYN_RECEIVED",
            "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
            "+0", "accept(3, ..., ...) = 4"))
    add(c, "handshake/syn-to-closed-port", "A SYN to a port nobody listens on is answered with RST+ACK", a,
        ["RFC 9293 §3.5.2", "RFC 9293 §3.10.7.1"],
        ["No socket on port 8080: CLOSED. <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; the SYN",
         "counts one. There is no ISN of ours, so the RST's sequence number is absolute."],
        ev("0", f"< S 0:0(0) win {RWIN} <mss 1460>", "+0", "> R. 0:0(0) ack 1 win *"))
    add(c, "handshake/syn-to-bound-unlistened-port", "A SYN to a bound but not listening socket is answered with RST+ACK", a,
        ["RFC 9293 §3.5.2", "RFC 9293 §3.10.7.1"],
        ["A socket bound to the port without listen() has no connection and accepts none: the",
         "SYN finds no TCB (CLOSED) and is answered <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>."],
        ev("0", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
           "+0", "bind(3, ..., ...) = 0",
           "+.01", f"< S 0:0(0) win {RWIN} <mss 1460>",
           "+0", "> R. 0:0(0) ack 1 win *"))
    add(c, "handshake/connect-refused", "connect() to a closed port fails with ECONNREFUSED", a,
        ["MUST-12", "RFC 9293 §3.10.7.3", "RFC 9293 §3.5.3"],
        ["The peer answers our SYN with <SEQ=0><ACK=1><CTL=RST,ACK>: the ACK acknowledges our",
         "SYN, so the RST is acceptable: \"connection reset\", CLOSED; the application sees",
         "ECONNREFUSED, and a later write fails."],
        syn_sent() + ev(
            "+.01", f"< R. 0:0(0) ack 1 win {RWIN}",
            "+0", "assert state == CLOSED",
            "+0", "getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0"))
    add(c, "handshake/close-in-syn-sent", "close() in SYN-SENT deletes the connection silently; a late SYN+ACK gets a RST", a,
        ["RFC 9293 §3.10.4", "RFC 9293 §3.10.7.1"],
        ["CLOSE in SYN-SENT: delete the TCB, send nothing. The peer's SYN+ACK then finds no",
         "connection (CLOSED) and is answered <SEQ=SEG.ACK><CTL=RST> = seq 1."],
        syn_sent() + ev(
            "+.01", "close(3) = 0",
            "+0", "assert state == CLOSED",
            "+.01", f"< S. 0:0(0) ack 1 win {RWIN} <mss 1460>",
            "+0", "> R 1:1(0) win *"))
    add(c, "handshake/syn-with-data", "Data on a SYN is queued and delivered once the connection is established", a,
        ["RFC 9293 §3.10.7.2", "RFC 9293 §3.10.7.4", "RFC 9293 §3.4"],
        ["LISTEN: RCV.NXT = SEG.SEQ+1 and \"any other control or text should be queued for",
         "processing later\"; the SYN+ACK acknowledges the SYN only (ack 1). The peer's ACK",
         "(seq 11, after its 10 octets) establishes the connection; the queued text is then",
         "processed: RCV.NXT = 11, acknowledged, and read() returns it."],
        listen() + ev(
            "+0", f"< S 0:10(10) win {RWIN} <mss 1460>",
            "+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>",
            "+.01", f"< . 11:11(0) ack 1 win {RWIN}",
            ACK, "> . 1:1(0) ack 11 win *",
            "+0", "accept(3, ..., ...) = 4",
            "+0", "read(4, ..., 100) = 10"))
    # MSS negotiation.
    add(c, "handshake/mss-1460-passive", "Our SYN+ACK advertises MSS 1460 on an Ethernet-sized MTU", a,
        ["MUST-14", "SHLD-5", "MAY-3", "MUST-67", "RFC 9293 §3.7.1"],
        ["With a 1500-octet MTU, MMS_R = 1480 and the advertised MSS is MMS_R - 20 = 1460."],
        syn_received(synack_opts="<{mss 1460, ...}>")
        + ev("+.01", f"< . 1:1(0) ack 1 win {RWIN}", "+0", "accept(3, ..., ...) = 4"))
    add(c, "handshake/mss-1460-active", "Our SYN advertises MSS 1460 on an Ethernet-sized MTU", a,
        ["MUST-14", "SHLD-5", "MAY-3", "MUST-67", "RFC 9293 §3.7.1"],
        ["With a 1500-octet MTU, the SYN carries MSS 1460; the handshake then completes."],
        ev("0", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
           "+0", "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0",
           "+0", "connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)",
           "+0", "> S 0:0(0) win * <{mss 1460, ...}>") + complete_active())
    mss_notes = ["TCP_NODELAY lets the whole write leave at once, so the segment sizes show the",
                 "effective send MSS; the peer's window (65535) and the initial window allow it."]
    add(c, "handshake/mss-default-536", "No MSS option from the peer: segments of 536 octets", a,
        ["MUST-15", "MUST-16", "RFC 9293 §3.7.1"],
        ["The peer's SYN carries no MSS option: the send MSS is 536 (MUST-15, IPv4). A write of",
         "1000 octets leaves as 536 + 464."] + mss_notes,
        syn_received(syn_opts="") + ev(
            "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
            "+0", "accept(3, ..., ...) = 4") + [NODELAY4] + ev(
            "+0", "write(4, ..., 1000) = 1000",
            "+0", "> . 1:537(536) ack 1 win *",
            "+0", "> P. 537:1001(464) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 1001 win {RWIN}"))
    add(c, "handshake/mss-default-536-active", "No MSS option in the SYN+ACK: segments of 536 octets", a,
        ["MUST-15", "MUST-16", "RFC 9293 §3.7.1"],
        ["The peer's SYN+ACK carries no MSS option: the send MSS is 536 (MUST-15)."] + mss_notes,
        syn_sent() + complete_active(synack_opts="") + [NODELAY3] + ev(
            "+0", "write(3, ..., 1000) = 1000",
            "+0", "> . 1:537(536) ack 1 win *",
            "+0", "> P. 537:1001(464) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 1001 win {RWIN}"))
    add(c, "handshake/mss-peer-1000", "The peer's MSS 1000 bounds our segments", a,
        ["MUST-14", "MUST-16", "RFC 9293 §3.7.1"],
        ["Effective send MSS = min(SendMSS+20, MMS_S) - 20 = 1000: a 1500-octet write leaves as",
         "1000 + 500."] + mss_notes,
        passive_established(syn_opts="<mss 1000>") + [NODELAY4] + ev(
            "+0", "write(4, ..., 1500) = 1500",
            "+0", "> . 1:1001(1000) ack 1 win *",
            "+0", "> P. 1001:1501(500) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 1501 win {RWIN}"))
    add(c, "handshake/mss-peer-1000-active", "The MSS 1000 in the peer's SYN+ACK bounds our segments", a,
        ["MUST-14", "MUST-16", "RFC 9293 §3.7.1"],
        ["Effective send MSS = 1000: a 1500-octet write leaves as 1000 + 500."] + mss_notes,
        syn_sent() + complete_active(synack_opts="<mss 1000>") + [NODELAY3] + ev(
            "+0", "write(3, ..., 1500) = 1500",
            "+0", "> . 1:1001(1000) ack 1 win *",
            "+0", "> P. 1001:1501(500) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 1501 win {RWIN}"))
    add(c, "handshake/mss-peer-9000-clamped", "A peer MSS above our MTU is clamped to 1460", a,
        ["MUST-16", "RFC 9293 §3.7.1"],
        ["Effective send MSS = min(9000+20, MMS_S = 1480) - 20 = 1460: a 2000-octet write leaves",
         "as 1460 + 540."] + mss_notes,
        passive_established(syn_opts="<mss 9000>") + [NODELAY4] + ev(
            "+0", "write(4, ..., 2000) = 2000",
            "+0", "> . 1:1461(1460) ack 1 win *",
            "+0", "> P. 1461:2001(540) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 2001 win {RWIN}"))
    # Option negotiation.
    add(c, "handshake/only-mss-when-peer-offers-only-mss", "A SYN with only MSS gets a SYN+ACK without wscale, TS or sackOK", a,
        ["RFC 7323 §2.2", "RFC 7323 §3.2", "RFC 2018 §2", "MUST-14"],
        ["Window scale, timestamps and SACK-permitted may appear in a SYN+ACK only when the SYN",
         "carried them (RFC 7323 §1.3/§2.2/§3.2, RFC 2018 §2). The SYN+ACK carries exactly MSS",
         "(NOP/EOL padding aside)."],
        syn_received(synack_opts="<{mss *}>")
        + ev("+.01", f"< . 1:1(0) ack 1 win {RWIN}", "+0", "accept(3, ..., ...) = 4"))
    add(c, "handshake/wscale-negotiated", "Window scale offered by the peer is answered in the SYN+ACK", a,
        ["RFC 7323 §2.2", "RFC 9293 §3.1"],
        ["The peer offers wscale 7; a stack that implements RFC 7323 answers with its own",
         "shift count (0..14) in the SYN+ACK."],
        syn_received(syn_opts="<mss 1460, nop, wscale 7>", synack_opts="<{mss *, wscale 0..14, ...}>")
        + ev("+.01", "< . 1:1(0) ack 1 win 512", "+0", "accept(3, ..., ...) = 4"))
    add(c, "handshake/sack-permitted-negotiated", "SACK-permitted offered by the peer is answered in the SYN+ACK", a,
        ["RFC 2018 §2", "RFC 9293 §3.1"],
        ["The peer offers SACK-permitted; a stack that implements RFC 2018 answers with it."],
        syn_received(syn_opts="<mss 1460, nop, nop, sackOK>", synack_opts="<{mss *, sackOK, ...}>")
        + ev("+.01", f"< . 1:1(0) ack 1 win {RWIN}", "+0", "accept(3, ..., ...) = 4"))
    add(c, "handshake/ecn-negotiated", "An ECN-setup SYN is answered with an ECN-setup SYN+ACK", a,
        ["SHLD-8", "RFC 3168 §6.1.1", "RFC 9293 §3.8.2"],
        ["TCP SHOULD implement ECN (SHLD-8). The peer's SYN carries ECE and CWR; a stack that",
         "implements RFC 3168 answers with a SYN+ACK carrying ECE (and not CWR)."],
        listen() + ev(
            "+0", f"< SEW 0:0(0) win {RWIN} <mss 1460>",
            "+0", "> SE. 0:0(0) ack 1 win * <{mss *, ...}>",
            "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
            "+0", "accept(3, ..., ...) = 4",
            "+0", "assert state(4) == ESTABLISHED"))
    add(c, "handshake/timestamps-negotiated", "Timestamps offered by the peer are echoed in the SYN+ACK", a,
        ["RFC 7323 §3.2", "RFC 9293 §3.1"],
        ["The peer's SYN carries TSval 100; a stack that implements RFC 7323 answers with its own",
         "TSval and TSecr = 100."],
        syn_received(syn_opts="<mss 1460, nop, nop, TS val 100 ecr 0>",
                     synack_opts="<{mss *, TS val * ecr 100, ...}>")
        + ev("+0", "assert state == SYN_RECEIVED"))


# ---------------------------------------------------------------------------------------------


def close(c: Corpus) -> None:
    a = "close"
    est = passive_established()
    add(c, "close/active-four-way", "Active close: FIN, ACK, FIN, ACK through FIN-WAIT-1, FIN-WAIT-2 and TIME-WAIT", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.4", "MUST-13"],
        ["RFC 9293 Figure 12, case 1: the application closes first."],
        est + ev("+.01", "close(4) = 0",
                 "+0", "> F. 1:1(0) ack 1 win *",
                 "+0", "assert state == FIN_WAIT_1",
                 "+.01", f"< . 1:1(0) ack 2 win {RWIN}",
                 "+0", "assert state == FIN_WAIT_2",
                 "+.01", f"< F. 1:1(0) ack 2 win {RWIN}",
                 ACK, "> . 2:2(0) ack 2 win *",
                 "+0", "assert state == TIME_WAIT"))
    add(c, "close/active-four-way-client", "Active close by the connecting side", a,
        ["RFC 9293 §3.6", "MUST-13"],
        ["As close/active-four-way, on a connection this stack opened."],
        active_established() + ev(
            "+.01", "close(3) = 0",
            "+0", "> F. 1:1(0) ack 1 win *",
            "+0", "assert state == FIN_WAIT_1",
            "+.01", f"< . 1:1(0) ack 2 win {RWIN}",
            "+0", "assert state == FIN_WAIT_2",
            "+.01", f"< F. 1:1(0) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 2 win *",
            "+0", "assert state == TIME_WAIT"))
    add(c, "close/passive-four-way", "Passive close: the peer's FIN, read() = 0, close(), LAST-ACK, CLOSED", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.4", "MUST-12"],
        ["RFC 9293 Figure 12, case 2: the peer closes first; read() returns 0 (a FIN, not an",
         "abort, MUST-12); our close() sends FIN and the peer's ACK of it deletes the TCB."],
        est + close_wait() + ev(
            "+0", "read(4, ..., 100) = 0",
            "+.01", "close(4) = 0",
            "+0", "> F. 1:1(0) ack 2 win *",
            "+0", "assert state == LAST_ACK",
            "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "assert state == CLOSED"))
    add(c, "close/passive-four-way-client", "Passive close on a connection this stack opened", a,
        ["RFC 9293 §3.6", "MUST-12"],
        ["As close/passive-four-way, on the connecting side."],
        active_established() + close_wait(3) + ev(
            "+0", "read(3, ..., 100) = 0",
            "+.01", "close(3) = 0",
            "+0", "> F. 1:1(0) ack 2 win *",
            "+0", "assert state == LAST_ACK",
            "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "assert state == CLOSED"))
    add(c, "close/fin-ack-in-fin-wait-1", "FIN+ACK in FIN-WAIT-1 goes straight to TIME-WAIT", a,
        ["RFC 9293 §3.10.7.4", "MUST-13"],
        ["The peer's FIN also acknowledges ours: the ACK step moves FIN-WAIT-1 to FIN-WAIT-2 and",
         "the FIN step then to TIME-WAIT; the FIN is acknowledged."],
        est + time_wait())
    add(c, "close/last-ack-then-stray-ack-reset", "After LAST-ACK the connection is gone: a stray ACK meets the listener's RST", a,
        ["RFC 9293 §3.10.7.4", "RFC 9293 §3.10.7.2"],
        ["The ACK of our FIN deletes the TCB (LAST-ACK). The same ACK again reaches only the",
         "listener, where any ACK is answered <SEQ=SEG.ACK><CTL=RST>."],
        est + close_wait() + ev(
            "+.01", "close(4) = 0",
            "+0", "> F. 1:1(0) ack 2 win *",
            "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "assert state == CLOSED",
            "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "> R 2:2(0) win *"))
    add(c, "close/unread-data-rst", "close() with unread received data sends a RST", a,
        ["SHLD-3", "RFC 9293 §3.6.1", "RFC 2525 §2.17"],
        ["10 octets arrive and are never read. Closing then cannot deliver them: the stack SHOULD",
         "send a RST to show the data was lost (SHLD-3). The RST carries <SEQ=SND.NXT> and, the",
         "connection being synchronized, the ACK of RCV.NXT."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+.01", "close(4) = 0",
                 "+0", "> R. 1:1(0) ack 11 win *",
                 "+0", "assert state == CLOSED"))
    add(c, "close/unread-data-in-close-wait-rst", "close() in CLOSE-WAIT with unread data sends a RST", a,
        ["SHLD-3", "RFC 9293 §3.6.1", "RFC 2525 §2.17"],
        ["Data then FIN arrive; the application closes without reading: data is lost, so a RST",
         "(SHLD-3) replaces the FIN."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+.01", f"< F. 11:11(0) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 12 win *",
                 "+0", "assert state == CLOSE_WAIT",
                 "+.01", "close(4) = 0",
                 "+0", "> R. 1:1(0) ack 12 win *",
                 "+0", "assert state == CLOSED"))
    add(c, "close/linger-zero-abort", "SO_LINGER {1, 0}: close() aborts with a RST, no TIME-WAIT", a,
        ["RFC 9293 §3.10.5", "RFC 9293 §3.6"],
        ["A zero linger time turns close() into ABORT: send <SEQ=SND.NXT><CTL=RST> (with the ACK of",
         "RCV.NXT on a synchronized connection) and delete the TCB at once."],
        est + ev("+0", LINGER0,
                 "+.01", "close(4) = 0",
                 "+0", "> R. 1:1(0) ack 1 win *",
                 "+0", "assert state == CLOSED"))
    add(c, "close/linger-zero-abort-in-close-wait", "SO_LINGER {1, 0} in CLOSE-WAIT: close() aborts with a RST", a,
        ["RFC 9293 §3.10.5"],
        ["ABORT in CLOSE-WAIT: <SEQ=SND.NXT><CTL=RST> (ACK = RCV.NXT = 2), TCB deleted."],
        est + close_wait() + ev("+0", LINGER0,
                                "+.01", "close(4) = 0",
                                "+0", "> R. 1:1(0) ack 2 win *",
                                "+0", "assert state == CLOSED"))
    add(c, "close/linger-zero-abort-client", "SO_LINGER {1, 0} on a connection this stack opened", a,
        ["RFC 9293 §3.10.5"],
        ["ABORT: <SEQ=SND.NXT><CTL=RST> (ACK = RCV.NXT), no FIN, no TIME-WAIT."],
        active_established() + ev(
            "+0", "setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0",
            "+.01", "close(3) = 0",
            "+0", "> R. 1:1(0) ack 1 win *",
            "+0", "assert state == CLOSED"))
    add(c, "close/data-after-close-rst", "Data arriving after close() is answered with a RST", a,
        ["SHLD-3", "MAY-1", "RFC 9293 §3.6.1", "RFC 9293 §3.5.2"],
        ["The application closed (full close): new data can never be delivered, so the stack",
         "SHOULD reset (SHLD-3). The data segment ACKs our FIN (FIN-WAIT-2) and carries text; the",
         "RST takes its sequence number from SEG.ACK: <SEQ=2><CTL=RST>."],
        est + ev("+.01", "close(4) = 0",
                 "+0", "> F. 1:1(0) ack 1 win *",
                 "+.01", f"< P. 1:11(10) ack 2 win {RWIN}",
                 "+0", "> R 2:2(0) win *",
                 "+0", "assert state == CLOSED"))
    add(c, "close/data-after-close-in-fin-wait-1-rst", "Data arriving in FIN-WAIT-1 after close() is answered with a RST", a,
        ["SHLD-3", "RFC 9293 §3.6.1", "RFC 9293 §3.5.2"],
        ["As close/data-after-close-rst, but the data does not ACK our FIN: the RST takes",
         "SEG.ACK = 1 as its sequence number, which is the peer's RCV.NXT."],
        est + ev("+.01", "close(4) = 0",
                 "+0", "> F. 1:1(0) ack 1 win *",
                 "+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 "+0", "> R 1:1(0) win *",
                 "+0", "assert state == CLOSED"))
    add(c, "close/shutdown-rdwr", "shutdown(SHUT_RDWR) sends a FIN; read() then returns 0", a,
        ["RFC 9293 §3.10.4", "RFC 9293 §3.6"],
        ["Shutting down both directions sends our FIN (FIN-WAIT-1) and ends reading."],
        est + ev("+.01", "shutdown(4, SHUT_RDWR) = 0",
                 "+0", "> F. 1:1(0) ack 1 win *",
                 "+0", "assert state == FIN_WAIT_1",
                 "+0", "read(4, ..., 100) = 0",
                 "+.01", f"< . 1:1(0) ack 2 win {RWIN}",
                 "+0", "assert state == FIN_WAIT_2"))
    add(c, "close/fin-after-queued-data", "close() after a write: the FIN follows the data", a,
        ["RFC 9293 §3.10.4", "RFC 9293 §3.6"],
        ["CLOSE: \"queue this until all preceding SENDs have been segmentized, then form a FIN",
         "segment\". The FIN takes sequence number 11, after the 10 octets; the peer's ACK of 12",
         "covers both."],
        est + ev("+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+0", "close(4) = 0",
                 "+0", "> F. 11:11(0) ack 1 win *",
                 "+.01", f"< . 1:1(0) ack 12 win {RWIN}",
                 "+0", "assert state == FIN_WAIT_2",
                 "+.01", f"< F. 1:1(0) ack 12 win {RWIN}",
                 ACK, "> . 12:12(0) ack 2 win *",
                 "+0", "assert state == TIME_WAIT"))
    add(c, "close/fin-not-acked-by-data-ack", "FIN-WAIT-1 stays until the FIN itself is acknowledged", a,
        ["RFC 9293 §3.10.7.4"],
        ["The peer acknowledges our data (ack 11) but not our FIN (seq 11): FIN-WAIT-1 remains;",
         "only ack 12 moves to FIN-WAIT-2."],
        est + ev("+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+0", "close(4) = 0",
                 "+0", "> F. 11:11(0) ack 1 win *",
                 "+.01", f"< . 1:1(0) ack 11 win {RWIN}",
                 "+0", "assert state == FIN_WAIT_1",
                 "+.01", f"< . 1:1(0) ack 12 win {RWIN}",
                 "+0", "assert state == FIN_WAIT_2"))
    add(c, "close/fin-wait-1-retransmits-fin", "An unacknowledged FIN is retransmitted: the delay is measured", a,
        ["RFC 9293 §3.8.1", "RFC 9293 §3.10.8", "MUST-18"],
        ["The FIN occupies sequence space and is retransmitted like data when the RTO expires",
         "(recorded as fin_rto_1)."],
        est + fin_wait_1(4, "close") + ev(
            "+0", "measure fin_rto_1 until packet within 10",
            "+0", "> F. 1:1(0) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 2 win {RWIN}",
            "+0", "assert state == FIN_WAIT_2"))
    add(c, "close/last-ack-retransmits-fin", "LAST-ACK retransmits its FIN until acknowledged", a,
        ["RFC 9293 §3.8.1", "RFC 9293 §3.10.8"],
        ["Our FIN in LAST-ACK is not acknowledged: it is retransmitted after the RTO (recorded",
         "as last_ack_fin_rto_1); the ACK then deletes the TCB."],
        est + close_wait() + ev(
            "+.01", "close(4) = 0",
            "+0", "> F. 1:1(0) ack 2 win *",
            "+0", "measure last_ack_fin_rto_1 until packet within 10",
            "+0", "> F. 1:1(0) ack 2 win *",
            "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "assert state == CLOSED"))
    add(c, "close/close-wait-send-then-close", "CLOSE-WAIT: queued data goes out before our FIN", a,
        ["RFC 9293 §3.10.4", "RFC 9293 §3.6"],
        ["The application writes after the peer's FIN, then closes: the data (1..10) and then the",
         "FIN (seq 11); ACK 12 from the peer deletes the TCB."],
        est + close_wait() + ev(
            "+.01", "write(4, ..., 10) = 10",
            "+0", "> P. 1:11(10) ack 2 win *",
            "+0", "close(4) = 0",
            "+0", "> F. 11:11(0) ack 2 win *",
            "+.01", f"< . 2:2(0) ack 12 win {RWIN}",
            "+0", "assert state == CLOSED"))
    add(c, "close/write-after-shutdown-epipe", "write() after shutdown(SHUT_WR) fails with EPIPE", a,
        ["RFC 9293 §3.10.2"],
        ["SEND in FIN-WAIT-1/2: \"error: connection closing\" (EPIPE in the socket API); nothing",
         "is sent."],
        est + fin_wait_2() + ev("+.01", "write(4, ..., 10) = -1 EPIPE (Broken pipe)",
                                "+0", "assert state == FIN_WAIT_2"))


# ---------------------------------------------------------------------------------------------


def half_close(c: Corpus) -> None:
    a = "half-close"
    est = passive_established()
    add(c, "half-close/shutdown-wr-peer-keeps-sending", "After shutdown(SHUT_WR) the peer keeps sending; FIN-WAIT-2 ACKs and delivers it", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.7.4"],
        ["Half-close: our direction is closed, the peer's stays open. FIN-WAIT-2 queues and",
         "acknowledges data (§3.10.7.4, seventh step) and read() returns it; the peer's FIN then",
         "leads to TIME-WAIT and read() returns 0."],
        est + fin_wait_2() + ev(
            "+.01", f"< P. 1:11(10) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 11 win *",
            "+0", "read(4, ..., 100) = 10",
            "+.01", f"< P. 11:31(20) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 31 win *",
            "+0", "read(4, ..., 100) = 20",
            "+.01", f"< F. 31:31(0) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 32 win *",
            "+0", "assert state == TIME_WAIT",
            "+0", "read(4, ..., 100) = 0"))
    add(c, "half-close/shutdown-wr-peer-keeps-sending-client", "Half-close by the connecting side: FIN-WAIT-2 keeps receiving", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.7.4"],
        ["As half-close/shutdown-wr-peer-keeps-sending, on a connection this stack opened."],
        active_established() + fin_wait_2(3) + ev(
            "+.01", f"< P. 1:11(10) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 11 win *",
            "+0", "read(3, ..., 100) = 10",
            "+.01", f"< F. 11:11(0) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 12 win *",
            "+0", "assert state == TIME_WAIT",
            "+0", "read(3, ..., 100) = 0"))
    add(c, "half-close/fin-wait-1-receives-data", "FIN-WAIT-1 accepts data before our FIN is acknowledged", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.7.4"],
        ["Data at RCV.NXT = 1 is queued and acknowledged (ACK = SND.NXT 2, after our FIN)."],
        est + fin_wait_1() + ev(
            "+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
            ACK, "> . 2:2(0) ack 11 win *",
            "+0", "read(4, ..., 100) = 10",
            "+.01", f"< . 11:11(0) ack 2 win {RWIN}",
            "+0", "assert state == FIN_WAIT_2"))
    add(c, "half-close/fin-wait-2-data-with-fin", "FIN-WAIT-2: data and FIN in one segment", a,
        ["RFC 9293 §3.10.7.4"],
        ["The text (1..10) is delivered and the FIN (seq 11) acknowledged: ACK 12, TIME-WAIT."],
        est + fin_wait_2() + ev(
            "+.01", f"< FP. 1:11(10) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 12 win *",
            "+0", "assert state == TIME_WAIT",
            "+0", "read(4, ..., 100) = 10",
            "+0", "read(4, ..., 100) = 0"))
    add(c, "half-close/fin-wait-2-out-of-order-data", "FIN-WAIT-2 holds out-of-order data until the gap is filled", a,
        ["SHLD-31", "RFC 9293 §3.10.7.4"],
        ["Octets 11..20 arrive first (held, duplicate ACK of 1); 1..10 then fill the gap: ACK 21,",
         "and read() returns all 20."],
        est + fin_wait_2() + ev(
            "+.01", f"< P. 11:21(10) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 1 win *",
            "+.01", f"< P. 1:11(10) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 21 win *",
            "+0", "read(4, ..., 100) = 20"))
    add(c, "half-close/close-wait-app-keeps-sending", "CLOSE-WAIT held by the application while it keeps sending", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.2", "RFC 9293 §3.10.4"],
        ["After the peer's FIN the application may still SEND (CLOSE-WAIT: \"segmentize the",
         "buffer and send it\"); its later close() sends our FIN after the data."],
        est + close_wait() + ev(
            "+0", "read(4, ..., 100) = 0",
            "+.01", "write(4, ..., 10) = 10",
            "+0", "> P. 1:11(10) ack 2 win *",
            "+.01", f"< . 2:2(0) ack 11 win {RWIN}",
            "+0", "assert state == CLOSE_WAIT",
            "+.01", "write(4, ..., 20) = 20",
            "+0", "> P. 11:31(20) ack 2 win *",
            "+.01", f"< . 2:2(0) ack 31 win {RWIN}",
            "+0", "assert state == CLOSE_WAIT",
            "+.01", "close(4) = 0",
            "+0", "> F. 31:31(0) ack 2 win *",
            "+0", "assert state == LAST_ACK",
            "+.01", f"< . 2:2(0) ack 32 win {RWIN}",
            "+0", "assert state == CLOSED"))
    add(c, "half-close/close-wait-app-keeps-sending-client", "CLOSE-WAIT on the connecting side: the application keeps sending", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.2"],
        ["As half-close/close-wait-app-keeps-sending, on a connection this stack opened."],
        active_established() + close_wait(3) + ev(
            "+.01", "write(3, ..., 10) = 10",
            "+0", "> P. 1:11(10) ack 2 win *",
            "+.01", f"< . 2:2(0) ack 11 win {RWIN}",
            "+0", "assert state == CLOSE_WAIT",
            "+.01", "close(3) = 0",
            "+0", "> F. 11:11(0) ack 2 win *",
            "+.01", f"< . 2:2(0) ack 12 win {RWIN}",
            "+0", "assert state == CLOSED"))
    add(c, "half-close/read-returns-zero-after-fin", "read() returns the data, then 0 after the peer's FIN", a,
        ["RFC 9293 §3.10.3", "MUST-12"],
        ["RECEIVE in CLOSE-WAIT returns the remaining text, then \"connection closing\" (read() = 0),",
         "as often as it is called."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+.01", f"< F. 11:11(0) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 12 win *",
                 "+0", "assert state == CLOSE_WAIT",
                 "+0", "read(4, ..., 100) = 10",
                 "+0", "read(4, ..., 100) = 0",
                 "+0", "read(4, ..., 100) = 0"))
    add(c, "half-close/data-and-fin-in-one-segment", "Data and FIN in one segment: ACK covers both, read() = data then 0", a,
        ["RFC 9293 §3.10.7.4", "MUST-12"],
        ["The text (1..10) is queued, then the FIN (seq 11) is processed: ACK 12, CLOSE-WAIT."],
        est + ev("+.01", f"< FP. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 12 win *",
                 "+0", "assert state == CLOSE_WAIT",
                 "+0", "read(4, ..., 100) = 10",
                 "+0", "read(4, ..., 100) = 0"))
    add(c, "half-close/close-wait-shutdown-wr", "shutdown(SHUT_WR) in CLOSE-WAIT leads to LAST-ACK", a,
        ["RFC 9293 §3.10.4"],
        ["CLOSE in CLOSE-WAIT: send our FIN and enter LAST-ACK (the fd stays open); the ACK of the",
         "FIN then closes the connection."],
        est + close_wait() + ev(
            "+.01", "shutdown(4, SHUT_WR) = 0",
            "+0", "> F. 1:1(0) ack 2 win *",
            "+0", "assert state == LAST_ACK",
            "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "assert state == CLOSED"))
    add(c, "half-close/write-after-shutdown-wr-epipe", "Half-closed: write() fails with EPIPE while reading still works", a,
        ["RFC 9293 §3.10.2", "RFC 9293 §3.6"],
        ["After shutdown(SHUT_WR), SEND is refused (EPIPE) but the receive direction still",
         "delivers data."],
        est + fin_wait_2() + ev(
            "+.01", "write(4, ..., 10) = -1 EPIPE (Broken pipe)",
            "+.01", f"< P. 1:11(10) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 11 win *",
            "+0", "read(4, ..., 100) = 10"))
    add(c, "half-close/fin-wait-2-peer-data-then-rst", "FIN-WAIT-2: data is delivered, then the peer's RST aborts", a,
        ["RFC 9293 §3.10.7.4", "MUST-12"],
        ["Half-closed connection: 10 octets are delivered; a RST at the new RCV.NXT (11) then",
         "resets the connection and read() reports ECONNRESET."],
        est + fin_wait_2() + ev(
            "+.01", f"< P. 1:11(10) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 11 win *",
            "+0", "read(4, ..., 100) = 10",
            "+.01", f"< R 11:11(0) win {RWIN}",
            "+0", "assert state == CLOSED",
            "+0", "read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)"))


# ---------------------------------------------------------------------------------------------


def simultaneous_close(c: Corpus) -> None:
    a = "simultaneous-close"
    est = passive_established()
    readme = Script("simultaneous_close", "Simultaneous close passes through CLOSING", a,
                    ["RFC 9293 §3.6, RFC 9293 §3.10.7.4", "MUST-13"], "rfc9293")
    readme.notes += [
        "The README's first example. Both sides close at once (RFC 9293 Figure 13): our FIN",
        "(seq 1) crosses the peer's FIN (seq 1), which does not ACK ours. FIN-WAIT-1 acknowledges",
        "it and enters CLOSING; the peer's ACK of our FIN then leads to TIME-WAIT, whose length",
        "is measured (RFC: 2 MSL = 240 s).",
    ]
    readme.extend(ev(
        "0", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
        "+0", "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0",
        "+0", "bind(3, ..., ...) = 0",
        "+0", "listen(3, 1) = 0",
        "+0", f"< S 0:0(0) win {RWIN} <mss 1460>",
        "+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>",
        "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
        "+0", "accept(3, ..., ...) = 4",
        "+0", "assert state(4) == ESTABLISHED",
        "+0", "close(4) = 0",
        "+0", "> F. 1:1(0) ack 1 win *",
        "+0", f"< F. 1:1(0) ack 1 win {RWIN}",
        "+0", "> . 2:2(0) ack 2 win *",
        "+0", "assert state == CLOSING",
        "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
        "+0", "assert state == TIME_WAIT",
        "+0", "measure time_wait until state != TIME_WAIT within 600"))
    c.add(readme)
    add(c, "simultaneous-close/through-closing", "Simultaneous close: FIN-WAIT-1, CLOSING, TIME-WAIT", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.7.4", "MUST-13"],
        ["RFC 9293 Figure 13 without the TIME-WAIT measurement."],
        est + ev("+.01", "close(4) = 0",
                 "+0", "> F. 1:1(0) ack 1 win *",
                 "+0", "assert state == FIN_WAIT_1",
                 "+.01", f"< F. 1:1(0) ack 1 win {RWIN}",
                 ACK, "> . 2:2(0) ack 2 win *",
                 "+0", "assert state == CLOSING",
                 "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
                 "+0", "assert state == TIME_WAIT"))
    add(c, "simultaneous-close/through-closing-client", "Simultaneous close on a connection this stack opened", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.7.4"],
        ["As simultaneous-close/through-closing, on the connecting side."],
        active_established() + ev(
            "+.01", "close(3) = 0",
            "+0", "> F. 1:1(0) ack 1 win *",
            "+.01", f"< F. 1:1(0) ack 1 win {RWIN}",
            ACK, "> . 2:2(0) ack 2 win *",
            "+0", "assert state == CLOSING",
            "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "assert state == TIME_WAIT"))
    add(c, "simultaneous-close/through-closing-shutdown", "Simultaneous close after shutdown(SHUT_WR)", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.7.4"],
        ["Half-close on our side crossing the peer's FIN: CLOSING, then TIME-WAIT; read() = 0."],
        est + fin_wait_1() + ev(
            "+.01", f"< F. 1:1(0) ack 1 win {RWIN}",
            ACK, "> . 2:2(0) ack 2 win *",
            "+0", "assert state == CLOSING",
            "+0", "read(4, ..., 100) = 0",
            "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "assert state == TIME_WAIT"))
    add(c, "simultaneous-close/closing-retransmits-fin", "CLOSING retransmits our FIN until it is acknowledged", a,
        ["RFC 9293 §3.8.1", "RFC 9293 §3.10.7.4"],
        ["In CLOSING our FIN is still unacknowledged: it is retransmitted after the RTO (recorded",
         "as closing_fin_rto_1); its ACK then leads to TIME-WAIT."],
        est + ev("+.01", "close(4) = 0",
                 "+0", "> F. 1:1(0) ack 1 win *",
                 "+.01", f"< F. 1:1(0) ack 1 win {RWIN}",
                 ACK, "> . 2:2(0) ack 2 win *",
                 "+0", "assert state == CLOSING",
                 "+0", "measure closing_fin_rto_1 until packet within 10",
                 "+0", "> F. 1:1(0) ack 2 win *",
                 "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
                 "+0", "assert state == TIME_WAIT"))
    add(c, "simultaneous-close/after-data-both-ways", "Simultaneous close after data in both directions", a,
        ["RFC 9293 §3.6", "RFC 9293 §3.10.7.4"],
        ["We send 10 octets (1..10), the peer 5 (1..5). Our FIN is seq 11, the peer's seq 6: after",
         "the crossing FINs SND.NXT = 12 and RCV.NXT = 7."],
        est + ev("+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+.01", f"< P. 1:6(5) ack 11 win {RWIN}",
                 ACK, "> . 11:11(0) ack 6 win *",
                 "+0", "read(4, ..., 100) = 5",
                 "+.01", "shutdown(4, SHUT_WR) = 0",
                 "+0", "> F. 11:11(0) ack 6 win *",
                 "+.01", f"< F. 6:6(0) ack 11 win {RWIN}",
                 ACK, "> . 12:12(0) ack 7 win *",
                 "+0", "assert state == CLOSING",
                 "+.01", f"< . 7:7(0) ack 12 win {RWIN}",
                 "+0", "assert state == TIME_WAIT",
                 "+0", "read(4, ..., 100) = 0"))
    add(c, "simultaneous-close/old-fin-carrying-ack-is-unacceptable", "CLOSING: a retransmitted FIN that ACKs ours is unacceptable: ACKed, CLOSING kept", a,
        ["RFC 9293 §3.10.7.4", "RFC 9293 §3.3"],
        ["In CLOSING (RCV.NXT = 2) the peer retransmits its FIN (seq 1), now acknowledging ours.",
         "The segment lies wholly below RCV.NXT: the sequence test rejects it before its ACK",
         "field is looked at, so it is answered <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and dropped",
         "(CLOSING remains). The peer's separate ACK then leads to TIME-WAIT."],
        est + ev("+.01", "close(4) = 0",
                 "+0", "> F. 1:1(0) ack 1 win *",
                 "+.01", f"< F. 1:1(0) ack 1 win {RWIN}",
                 ACK, "> . 2:2(0) ack 2 win *",
                 "+0", "assert state == CLOSING",
                 "+.01", f"< F. 1:1(0) ack 2 win {RWIN}",
                 ACK, "> . 2:2(0) ack 2 win *",
                 "+0", "assert state == CLOSING",
                 "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
                 "+0", "assert state == TIME_WAIT"))


# ---------------------------------------------------------------------------------------------


def time_wait_area(c: Corpus) -> None:
    a = "time-wait"
    est = passive_established()
    add(c, "time-wait/duration", "TIME-WAIT lasts 2 MSL: its length is measured", a,
        ["MUST-13", "RFC 9293 §3.6.1", "RFC 9293 §3.4.2"],
        ["The active closer lingers in TIME-WAIT for 2 MSL (RFC: MSL = 2 min, so 240 s) and then",
         "deletes the TCB. The value is recorded as time_wait; the RFC leaves MSL an engineering",
         "choice, so the number is reported rather than judged here."],
        est + time_wait() + ev("+0", "measure time_wait until state != TIME_WAIT within 600",
                               "+0", "assert state == CLOSED"))
    add(c, "time-wait/lasts-2msl-240s", "TIME-WAIT lasts 2 MSL, with the RFC's MSL of 2 minutes (240 s)", a,
        ["MUST-13", "RFC 9293 §3.6.1", "RFC 9293 §3.4.2", "RFC 9293 §3.10.8"],
        ["MUST-13: the active closer lingers in TIME-WAIT for 2 MSL; when the time-wait timeout",
         "expires the TCB is deleted (RFC 9293 §3.10.8). RFC 9293 §3.4.2 calls MSL \"an engineering",
         "choice\" and takes 2 minutes for it; this script judges against that literal value,",
         "240 s. A stack with a shorter MSL (Linux: 60 s, smoltcp: 10 s) fails at the first",
         "assert; time-wait/duration records the value instead of judging it.",
         "The timer starts when the peer's FIN arrives (t); our ACK leaves at t + d, d < 0.5 s:",
         "at t + d + 239 < t + 240 the connection is still in TIME-WAIT, at t + d + 241 > t + 240",
         "it is gone (1 s of slack for the timer's granularity)."],
        est + time_wait() + ev("+239", "assert state == TIME_WAIT",
                               "+2", "assert state == CLOSED"))
    add(c, "time-wait/fin-retransmission-restarts-timer", "A retransmitted FIN in TIME-WAIT is re-ACKed and restarts the timer", a,
        ["MUST-13", "RFC 9293 §3.10.7.4", "RFC 9293 §3.6.1"],
        ["TIME-WAIT, eighth step: the only thing that can arrive is a retransmission of the",
         "remote FIN: acknowledge it and restart the 2 MSL timeout. One second into TIME-WAIT the",
         "FIN comes again; the remaining TIME-WAIT (time_wait_after_fin) should be a full 2 MSL",
         "again, not 2 MSL - 1 s."],
        est + time_wait() + ev(
            "+1", f"< F. 1:1(0) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 2 win *",
            "+0", "assert state == TIME_WAIT",
            "+0", "measure time_wait_after_fin until state != TIME_WAIT within 600"))
    add(c, "time-wait/fin-retransmissions-reacked", "Each retransmitted FIN in TIME-WAIT is acknowledged", a,
        ["RFC 9293 §3.10.7.4"],
        ["Our last ACK was lost twice: each FIN retransmission is acknowledged again."],
        est + time_wait() + ev(
            "+.2", f"< F. 1:1(0) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 2 win *",
            "+.4", f"< F. 1:1(0) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 2 win *",
            "+0", "assert state == TIME_WAIT"))
    add(c, "time-wait/syn-higher-seq-reopens", "A new SYN above RCV.NXT may reopen a connection in TIME-WAIT", a,
        ["MAY-2", "RFC 9293 §3.6.1", "RFC 1122 §4.2.2.13"],
        ["MAY-2: a SYN whose sequence number is above the old connection's may be accepted from",
         "TIME-WAIT (RFC 1122 §4.2.2.13). This records whether the stack implements it: the SYN",
         "(seq 1000 > RCV.NXT = 2) gets a SYN+ACK of a new incarnation (its sequence number is",
         "written 0 again) and the listener accepts the new connection. A stack that does not",
         "implement the MAY answers with an ACK instead (and fails this script)."],
        est + time_wait() + ev(
            "+.01", f"< S 1000:1000(0) win {RWIN} <mss 1460>",
            "+0", "> S. 0:0(0) ack 1001 win * <{mss *, ...}>",
            "+.01", f"< . 1001:1001(0) ack 1 win {RWIN}",
            "+0", "accept(3, ..., ...) = 5",
            "+0", "assert state(5) == ESTABLISHED"))
    bind_tw = est + ev("+0", "close(3) = 0") + time_wait() + ev(
        "+0", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 5")
    add(c, "time-wait/bind-same-port-eaddrinuse", "bind() of the port held in TIME-WAIT fails with EADDRINUSE", a,
        ["MUST-13", "RFC 9293 §3.6.1"],
        ["The 4-tuple is unusable for 2 MSL after an active close; the socket API protects it by",
         "refusing to bind the local port again (EADDRINUSE) unless SO_REUSEADDR is set."],
        bind_tw + ev("+0", "bind(5, ..., ...) = -1 EADDRINUSE (Address already in use)"))
    add(c, "time-wait/bind-same-port-reuseaddr", "With SO_REUSEADDR, bind() of a port in TIME-WAIT succeeds", a,
        ["MUST-13", "RFC 9293 §3.6.1"],
        ["SO_REUSEADDR on both the old and the new socket allows binding the local port while",
         "a connection on it is in TIME-WAIT; TIME-WAIT itself continues."],
        bind_tw + ev("+0", "setsockopt(5, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0",
                     "+0", "bind(5, ..., ...) = 0",
                     "+0", "assert state == TIME_WAIT"))
    add(c, "time-wait/passive-closer-skips-time-wait", "The passive closer does not enter TIME-WAIT", a,
        ["MUST-13", "RFC 9293 §3.6"],
        ["Only the side that closes first waits 2 MSL: LAST-ACK goes straight to CLOSED when our",
         "FIN is acknowledged."],
        est + close_wait() + ev(
            "+.01", "close(4) = 0",
            "+0", "> F. 1:1(0) ack 2 win *",
            "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "assert state == CLOSED"))
    add(c, "time-wait/client-active-close", "The connecting side enters TIME-WAIT after an active close", a,
        ["MUST-13", "RFC 9293 §3.6"],
        ["Active close on the client side: FIN-WAIT-1 straight to TIME-WAIT on the peer's FIN+ACK."],
        active_established() + time_wait(3))
    add(c, "time-wait/rst-assassination", "RST at RCV.NXT in TIME-WAIT closes it (RFC 1337 hazard)", a,
        ["RFC 9293 §3.10.7.4", "RFC 1337", "MUST-13"],
        ["RFC 9293 (like RFC 793) lets a RST at RCV.NXT end TIME-WAIT early: \"If the RST bit is",
         "set then enter the CLOSED state\". RFC 1337 calls this TIME-WAIT assassination and its",
         "fix F1 ignores such RSTs; stacks applying F1 deviate from this expectation (recorded).",
         "Here the RST arrives after a retransmitted FIN was re-acknowledged."],
        est + time_wait() + ev(
            "+.1", f"< F. 1:1(0) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 2 win *",
            "+.01", f"< R 2:2(0) win {RWIN}",
            "+0", "assert state == CLOSED"))


# ---------------------------------------------------------------------------------------------


def rst_area(c: Corpus) -> None:
    a = "rst"
    est = passive_established()
    add(c, "rst/challenge-ack-then-exact-rst", "A challenge ACK is followed by the peer's exact RST, which aborts", a,
        ["RFC 5961 §3.2", "RFC 9293 §3.10.7.4", "MUST-12"],
        ["RFC 5961 §3.2's exchange: an in-window RST not at RCV.NXT draws a challenge ACK; a",
         "legitimate peer answers it with a RST at exactly the acknowledged number, which resets",
         "the connection."],
        est + ev("+.01", f"< R 101:101(0) win {RWIN}",
                 ACK, "> . 1:1(0) ack 1 win *",
                 "+0", "assert state == ESTABLISHED",
                 "+.01", f"< R 1:1(0) win {RWIN}",
                 "+0", "assert state == CLOSED",
                 "+0", "read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)"))
    add(c, "rst/rst-with-data", "A RST carrying data is accepted", a,
        ["SHLD-2", "RFC 9293 §3.5.3", "MUST-12"],
        ["A RST may carry diagnostic data (SHLD-2); at RCV.NXT it resets the connection; the",
         "data is not delivered."],
        est + ev("+.01", f"< R. 1:11(10) ack 1 win {RWIN}",
                 "+0", "assert state == CLOSED",
                 "+0", "read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)"))
    add(c, "rst/rst-with-unacceptable-ack", "A RST at RCV.NXT resets even when its ACK field is unacceptable", a,
        ["RFC 9293 §3.10.7.4"],
        ["The RST check (second) precedes the ACK check (fifth): the bogus acknowledgment (1000)",
         "does not matter."],
        est + ev("+.01", f"< R. 1:1(0) ack 1000 win {RWIN}",
                 "+0", "assert state == CLOSED"))
    add(c, "rst/after-data-exact", "After data both ways, a RST at the advanced RCV.NXT resets", a,
        ["RFC 9293 §3.10.7.4", "RFC 5961 §3.2"],
        ["RCV.NXT moved from 1 to 11 with the peer's 10 octets; SND.NXT to 21. The RST at 11 is",
         "exact."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+0", "read(4, ..., 100) = 10",
                 "+.01", "write(4, ..., 20) = 20",
                 "+0", "> P. 1:21(20) ack 11 win *",
                 "+.01", f"< . 11:11(0) ack 21 win {RWIN}",
                 "+.01", f"< R 11:11(0) win {RWIN}",
                 "+0", "assert state == CLOSED",
                 "+0", "read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)"))
    add(c, "rst/after-data-old-seq", "A RST at the old RCV.NXT (below the window) is dropped", a,
        ["RFC 9293 §3.10.7.4", "RFC 5961 §3.2"],
        ["After 10 octets RCV.NXT = 11; a RST at 1 lies below the window: unacceptable, dropped",
         "silently."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+.01", f"< R 1:1(0) win {RWIN}",
                 "+0", "assert state == ESTABLISHED",
                 "+0", "read(4, ..., 100) = 10"))
    add(c, "rst/after-data-in-window", "After data, a RST between RCV.NXT and the window's edge draws a challenge ACK", a,
        ["RFC 9293 §3.10.7.4", "RFC 5961 §3.2"],
        ["RCV.NXT = 11: a RST at 12 is in the window but not exact: challenge ACK",
         "<SEQ=1><ACK=11>."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+.01", f"< R 12:12(0) win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+0", "assert state == ESTABLISHED"))
    add(c, "rst/established-left-of-window", "ESTABLISHED: a RST at RCV.NXT-1 is dropped", a,
        ["RFC 9293 §3.10.7.4", "RFC 5961 §3.2"],
        ["Sequence number 0 is just left of the window (RCV.NXT = 1): unacceptable, dropped."],
        est + ev("+.01", f"< R 0:0(0) win {RWIN}", "+0", "assert state == ESTABLISHED"))
    add(c, "rst/close-wait-left-of-window", "CLOSE-WAIT: a RST at RCV.NXT-1 is dropped", a,
        ["RFC 9293 §3.10.7.4", "RFC 5961 §3.2"],
        ["RCV.NXT = 2 after the peer's FIN; a RST at 1 (the FIN's own number) is left of the",
         "window: unacceptable, dropped. (Stacks that accept RCV.NXT-1 here deviate.)"],
        est + close_wait() + ev("+.01", f"< R 1:1(0) win {RWIN}", "+0", "assert state == CLOSE_WAIT"))
    add(c, "rst/last-ack-left-of-window", "LAST-ACK: a RST at RCV.NXT-1 is dropped", a,
        ["RFC 9293 §3.10.7.4", "RFC 5961 §3.2"],
        ["As rst/close-wait-left-of-window, in LAST-ACK; the peer then ACKs our FIN."],
        est + close_wait() + ev(
            "+.01", "close(4) = 0",
            "+0", "> F. 1:1(0) ack 2 win *",
            "+.01", f"< R 1:1(0) win {RWIN}",
            "+0", "assert state == LAST_ACK",
            "+.01", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "assert state == CLOSED"))
    add(c, "rst/rst-ack-in-window", "A RST+ACK in the window but not at RCV.NXT draws a challenge ACK", a,
        ["RFC 9293 §3.10.7.4", "RFC 5961 §3.2"],
        ["The ACK bit does not make an inexact RST acceptable."],
        est + ev("+.01", f"< R. 101:101(0) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 1 win *",
                 "+0", "assert state == ESTABLISHED"))
    def icmp_syn_sent(name: str, code: str, hard: bool, refs: list[str], notes: list[str]) -> None:
        tail = ev("+0", "assert state == CLOSED") if hard else ev("+0", "assert state == SYN_SENT") + complete_active()
        add(c, f"rst/icmp-{name}-in-syn-sent", f"SYN-SENT: ICMP {code.replace('_', ' ')} {'aborts' if hard else 'does not abort'} the connection",
            a, refs, notes, syn_sent() + ev("+.01", f"< icmp unreachable {code} [0:0(0)]") + tail)

    soft = ["MUST-56", "MUST-54", "RFC 9293 §3.9.2.2", "RFC 1122 §4.2.3.9"]
    hard = ["SHLD-26", "MUST-54", "RFC 9293 §3.9.2.2", "RFC 1122 §4.2.3.9"]
    soft_note = ["Destination Unreachable codes 0, 1 and 5 are soft errors: TCP MUST NOT abort the",
                 "connection (MUST-56). The ICMP message quotes our SYN (seq 0); the connection stays",
                 "in SYN-SENT and the peer's SYN+ACK still completes it."]
    hard_note = ["Destination Unreachable codes 2-4 are hard errors: TCP SHOULD abort the connection",
                 "(SHLD-26). The ICMP message quotes our SYN (seq 0), so it belongs to this",
                 "connection (MUST-54)."]
    icmp_syn_sent("net-unreachable", "net_unreachable", False, soft, soft_note)
    icmp_syn_sent("host-unreachable", "host_unreachable", False, soft, soft_note)
    icmp_syn_sent("port-unreachable", "port_unreachable", True, hard, hard_note)
    icmp_syn_sent("protocol-unreachable", "protocol_unreachable", True, hard, hard_note)
    for name, code, is_hard in [("net-unreachable", "net_unreachable", False),
                                ("port-unreachable", "port_unreachable", True)]:
        tail = (ev("+0", "assert state == CLOSED") if is_hard else
                ev("+0", "assert state == ESTABLISHED", "+.01", f"< . 1:1(0) ack 11 win {RWIN}"))
        add(c, f"rst/icmp-{name}-in-established",
            f"ESTABLISHED: ICMP {code.replace('_', ' ')} {'aborts' if is_hard else 'does not abort'} the connection", a,
            hard if is_hard else soft,
            (hard_note if is_hard else soft_note)[:2] + ["The message quotes our data segment 1..10."],
            est + ev("+.01", "write(4, ..., 10) = 10",
                     "+0", "> P. 1:11(10) ack 1 win *",
                     "+.01", f"< icmp unreachable {code} [1:11(10)]") + tail)
    add(c, "rst/write-after-reset", "write() after the peer's RST reports the reset", a,
        ["MUST-12", "RFC 9293 §3.10.7.4"],
        ["The connection was reset: the next SEND reports \"connection reset\" (ECONNRESET) and",
         "nothing is sent."],
        est + ev("+.01", f"< R 1:1(0) win {RWIN}",
                 "+0", "assert state == CLOSED",
                 "+0", "write(4, ..., 10) = -1 ECONNRESET (Connection reset by peer)"))


# ---------------------------------------------------------------------------------------------


def options(c: Corpus) -> None:
    a = "options"

    def mss_seen(path: str, title: str, refs: list[str], notes: list[str], syn_opts: str, mss: int) -> None:
        total = mss + 100 if mss > 536 else 600
        rest = total - mss
        add(c, path, title, a, refs,
            notes + [f"The effective send MSS shows in the sizes of a {total}-octet write",
                     "(TCP_NODELAY: the write leaves at once)."],
            passive_established(syn_opts=syn_opts) + [NODELAY4] + ev(
                "+0", f"write(4, ..., {total}) = {total}",
                "+0", f"> . 1:{mss + 1}({mss}) ack 1 win *",
                "+0", f"> P. {mss + 1}:{total + 1}({rest}) ack 1 win *",
                "+.01", f"< . 1:1(0) ack {total + 1} win {RWIN}"))

    mss_seen("options/mss-unaligned", "An MSS option that is not word-aligned is parsed", ["MUST-64", "MUST-4"],
             ["The MSS option starts at offset 1, after one NOP: options need not be aligned."],
             "<nop, mss 1000, nop, nop, nop>", 1000)
    mss_seen("options/mss-after-nops", "NOPs before the MSS option are skipped", ["MUST-4", "MUST-68"],
             ["Four one-octet NOPs, then MSS 1000."], "<nop, nop, nop, nop, mss 1000>", 1000)
    mss_seen("options/mss-then-eol", "EOL after the MSS option ends the list", ["MUST-4", "MUST-69"],
             ["MSS 1000, then EOL; the rest of the option space is zero padding (more EOLs)."],
             "<mss 1000, eol, eol, eol, eol>", 1000)
    mss_seen("options/option-after-eol-ignored", "An option after EOL is not interpreted", ["MUST-4", "MUST-69"],
             ["EOL ends the option list; what follows is padding. An MSS option placed after it",
              "must not be used, so the send MSS stays at the default 536 (MUST-15)."],
             "<eol, nop, nop, nop, mss 1000>", 536)
    mss_seen("options/eol-only", "A SYN with only EOL: no MSS, default 536", ["MUST-4", "MUST-15"],
             ["The option list is just EOL and zero padding: no MSS was received."], "<eol, eol, eol, eol>", 536)
    mss_seen("options/unknown-option-in-syn-skipped", "An unknown option in the SYN is skipped by its length", ["MUST-6", "MUST-68", "MUST-5"],
             ["Kind 99 (unassigned) with 4 data octets precedes MSS 1000; the receiver skips it using",
              "its length field and still finds the MSS."], "<gen-99 01020304, mss 1000, nop, nop>", 1000)
    mss_seen("options/unknown-option-after-mss", "An unknown option after the MSS option does not disturb it", ["MUST-6"],
             ["MSS 1000, then an unknown kind 99 of length 4."], "<mss 1000, gen-99 0102>", 1000)
    mss_seen("options/unknown-and-known-options-mixed", "Known and unknown options mixed in a SYN", ["MUST-6", "MUST-4", "MUST-64"],
             ["NOP, unknown kind 99, sackOK, unknown kind 200, MSS 1000: all are walked by length."],
             "<nop, gen-99 01, sackOK, gen-200 0a0b0c, mss 1000, nop>", 1000)
    add(c, "options/unknown-option-on-data", "An unknown option on a data segment is skipped; the data is accepted", a,
        ["MUST-5", "MUST-6", "RFC 9293 §3.1"],
        ["Options may appear on any segment (MUST-5); an unknown one is skipped (MUST-6)."],
        passive_established() + ev(
            "+.01", f"< P. 1:11(10) ack 1 win {RWIN} <gen-99 01020304, nop, nop>",
            ACK, "> . 1:1(0) ack 11 win *",
            "+0", "read(4, ..., 100) = 10"))
    add(c, "options/sack-permitted-on-data-ignored", "A SYN-only option on a data segment does no harm", a,
        ["MUST-5", "RFC 2018 §2"],
        ["SACK-permitted belongs on SYNs; on a data segment it is accepted and ignored."],
        passive_established() + ev(
            "+.01", f"< P. 1:11(10) ack 1 win {RWIN} <nop, nop, sackOK>",
            ACK, "> . 1:1(0) ack 11 win *",
            "+0", "read(4, ..., 100) = 10"))
    add(c, "options/mss-on-non-syn-ignored", "An MSS option outside a SYN does not change the send MSS", a,
        ["MUST-65", "MUST-5", "RFC 9293 §3.2"],
        ["MSS is a SYN-only option (MUST-65). The connection negotiated 1000; a later ACK with",
         "MSS 500 must not shrink our segments: 1500 octets still leave as 1000 + 500."],
        passive_established(syn_opts="<mss 1000>") + ev(
            "+.01", f"< . 1:1(0) ack 1 win {RWIN} <mss 500>") + [NODELAY4] + ev(
            "+0", "write(4, ..., 1500) = 1500",
            "+0", "> . 1:1001(1000) ack 1 win *",
            "+0", "> P. 1001:1501(500) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 1501 win {RWIN}"))
    add(c, "options/no-mss-in-data-segments", "Our data segments carry no MSS option", a,
        ["MUST-65", "RFC 9293 §3.2"],
        ["MSS MUST only be sent in SYN segments: a data segment on a connection without",
         "timestamps carries no options at all."],
        passive_established() + ev(
            "+.01", "write(4, ..., 10) = 10",
            "+0", "> P. 1:11(10) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 11 win {RWIN}"))
    add(c, "options/unknown-option-in-syn-ack", "An unknown option in the peer's SYN+ACK is skipped", a,
        ["MUST-6", "MUST-14"],
        ["Active open; the SYN+ACK carries MSS 1000 and an unknown kind 99: the handshake",
         "completes and MSS 1000 is used."],
        syn_sent() + complete_active(synack_opts="<mss 1000, gen-99 0102>") + [NODELAY3] + ev(
            "+0", "write(3, ..., 1100) = 1100",
            "+0", "> . 1:1001(1000) ack 1 win *",
            "+0", "> P. 1001:1101(100) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 1101 win {RWIN}"))
    add(c, "options/options-on-fin", "Options on a FIN segment are accepted", a,
        ["MUST-5", "RFC 9293 §3.1"],
        ["A FIN padded with NOPs and an unknown option is processed as a FIN."],
        passive_established() + ev(
            "+.01", f"< F. 1:1(0) ack 1 win {RWIN} <nop, nop, gen-99 0102, nop, nop>",
            ACK, "> . 1:1(0) ack 2 win *",
            "+0", "assert state == CLOSE_WAIT"))
    add(c, "options/advertised-mss-bounded", "The MSS we advertise fits the interface MTU", a,
        ["MUST-67", "MUST-14", "RFC 9293 §3.7.1"],
        ["The advertised MSS MUST NOT exceed MMS_R - 20 (1460 with a 1500-octet MTU); RFC 9293",
         "gives no lower bound beyond the 536 default."],
        syn_received(synack_opts="<{mss 536..1460, ...}>")
        + ev("+.01", f"< . 1:1(0) ack 1 win {RWIN}", "+0", "accept(3, ..., ...) = 4"))
    add(c, "options/window-scale-applied", "The peer's window scale multiplies its advertised window", a,
        ["RFC 7323 §2.3", "MUST-1"],
        ["Both sides sent wscale; the peer's shift is 1, so its window field 1460 means 2920",
         "octets: a 2920-octet write leaves as two full segments without waiting for an ACK."],
        syn_received(syn_opts="<mss 1460, nop, wscale 1>", synack_opts="<{mss *, wscale *, ...}>") + ev(
            "+.01", "< . 1:1(0) ack 1 win 1460",
            "+0", "accept(3, ..., ...) = 4") + [NODELAY4] + ev(
            "+0", "write(4, ..., 2920) = 2920",
            "+0", "> . 1:1461(1460) ack 1 win *",
            "+0", "> P. 1461:2921(1460) ack 1 win *",
            "+.01", "< . 1:1(0) ack 2921 win 1460"))


# ---------------------------------------------------------------------------------------------


def data(c: Corpus) -> None:
    a = "data"
    est = passive_established()
    add(c, "data/delayed-ack-bound", "The ACK of a data segment comes within 0.5 s: the delay is measured", a,
        ["MUST-40", "SHLD-18", "RFC 9293 §3.8.6.3"],
        ["An ACK may be delayed, but by less than 0.5 s (MUST-40). The delay is recorded as",
         "data_ack_delay and must stay under the bound."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 "+0", "measure data_ack_delay until packet within 0.5",
                 "+0", "> . 1:1(0) ack 11 win *",
                 "+0", "read(4, ..., 100) = 10"))
    add(c, "data/out-of-order-held", "An out-of-order segment is held and delivered once the gap is filled", a,
        ["SHLD-31", "MAY-13", "RFC 9293 §3.10.7.4"],
        ["Octets 11..20 arrive before 1..10: they are held (SHLD-31), and the ACK still says 1;",
         "once 1..10 arrive the ACK jumps to 21 and read() returns all 20."],
        est + ev("+.01", f"< P. 11:21(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 1 win *",
                 "+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 21 win *",
                 "+0", "read(4, ..., 100) = 20"))
    add(c, "data/out-of-order-two-segments-held", "Two out-of-order segments are held until the first arrives", a,
        ["SHLD-31", "RFC 9293 §3.10.7.4"],
        ["21..30, then 11..20 arrive early (each draws a duplicate ACK of 1); 1..10 fills the",
         "gap: ACK 31, 30 octets readable."],
        est + ev("+.01", f"< P. 21:31(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 1 win *",
                 "+.01", f"< P. 11:21(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 1 win *",
                 "+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 31 win *",
                 "+0", "read(4, ..., 100) = 30"))
    add(c, "data/duplicate-segment-reacked", "A duplicate data segment is acknowledged again and not delivered twice", a,
        ["RFC 9293 §3.10.7.4", "RFC 9293 §3.3"],
        ["The retransmitted 1..10 lies below RCV.NXT = 11: unacceptable, answered",
         "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; read() returns the 10 octets once."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+0", "read(4, ..., 100) = 10"))
    add(c, "data/segment-beyond-window", "Data far beyond the window is answered with an ACK and dropped", a,
        ["RFC 9293 §3.10.7.4", "RFC 9293 §3.3"],
        ["Sequence number 1000001 is outside any receive window: ACK <SEQ=1><ACK=1>, drop."],
        est + ev("+.01", f"< P. 1000001:1000011(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 1 win *",
                 "+0", "assert state == ESTABLISHED"))
    add(c, "data/partial-overlap-trimmed", "A segment overlapping received data is trimmed to its new part", a,
        ["RFC 9293 §3.10.7.4", "RFC 9293 §3.3"],
        ["After 1..10, a segment 6..15 straddles RCV.NXT = 11: only 11..15 are new and",
         "processed: ACK 16, 15 octets readable in all."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+.01", f"< P. 6:16(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 16 win *",
                 "+0", "read(4, ..., 100) = 15"))
    add(c, "data/too-old-ack-challenge", "An ACK far below SND.UNA draws a challenge ACK and is dropped", a,
        ["MAY-12", "RFC 5961 §5", "RFC 9293 §3.10.7.4"],
        ["RFC 5961 §5 (MAY-12): SEG.ACK below SND.UNA - MAX.SND.WND is dropped with an ACK. The",
         "data it carries is not delivered. (4294000000 is 967296 below 0 in relative numbers.)"],
        est + ev("+.01", f"< P. 1:11(10) ack 4294000000 win {RWIN}",
                 ACK, "> . 1:1(0) ack 1 win *",
                 "+0", "assert state == ESTABLISHED"))
    add(c, "data/old-ack-data-accepted", "Data carrying an ACK just below SND.UNA is still accepted", a,
        ["RFC 9293 §3.10.7.4", "RFC 5961 §5"],
        ["Our 10 octets are acknowledged (SND.UNA = 11), then the peer sends 10 octets whose ACK",
         "field still says 1. SND.UNA - MAX.SND.WND <= SEG.ACK < SND.UNA: RFC 9293 §3.10.7.4",
         "(fifth, check the ACK field): \"If the ACK is a duplicate (SEG.ACK =< SND.UNA), it can be",
         "ignored\" -- the ACK field is ignored, and processing goes on to the segment text, which",
         "is acknowledged (ACK 11) and readable. RFC 5961 §5 keeps this: only an ACK below",
         "SND.UNA - MAX.SND.WND is dropped (see data/too-old-ack-challenge)."],
        est + ev("+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+.01", f"< . 1:1(0) ack 11 win {RWIN}",
                 "+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 11:11(0) ack 11 win *",
                 "+0", "read(4, ..., 100) = 10",
                 "+0", "assert state == ESTABLISHED"))
    add(c, "data/push-on-write", "A write's last segment carries PSH", a,
        ["MUST-61", "MUST-60", "RFC 9293 §3.9.1.2"],
        ["Without a PUSH call in the API, the last buffered segment carries PSH (MUST-61)."],
        est + ev("+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+.01", f"< . 1:1(0) ack 11 win {RWIN}"))
    add(c, "data/nodelay-small-writes", "TCP_NODELAY sends small writes without waiting for ACKs", a,
        ["MUST-17", "RFC 9293 §3.7.4"],
        ["With Nagle off (MUST-17), the second small write leaves while the first is unacknowledged."],
        est + [NODELAY4] + ev(
            "+0", "write(4, ..., 10) = 10",
            "+0", "> P. 1:11(10) ack 1 win *",
            "+.01", "write(4, ..., 10) = 10",
            "+0", "> P. 11:21(10) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 21 win {RWIN}"))
    add(c, "data/nagle-holds-small-segment", "Nagle: a small write waits while a small segment is unacknowledged", a,
        ["SHLD-7", "RFC 9293 §3.7.4", "RFC 896"],
        ["The second 10-octet write is held while 1..10 are outstanding, and leaves when they",
         "are acknowledged."],
        est + ev("+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+.01", "write(4, ..., 10) = 10",
                 "+.05", f"< . 1:1(0) ack 11 win {RWIN}",
                 "+0", "> P. 11:21(10) ack 1 win *",
                 "+.01", f"< . 1:1(0) ack 21 win {RWIN}"))
    add(c, "data/full-sized-segments", "A bulk write is sent in full-sized segments", a,
        ["SHLD-28", "RFC 9293 §3.9.1.2"],
        ["2920 octets leave as two 1460-octet segments (SHLD-28); PSH on the last."],
        est + ev("+.01", "write(4, ..., 2920) = 2920",
                 "+0", "> . 1:1461(1460) ack 1 win *",
                 "+0", "> P. 1461:2921(1460) ack 1 win *",
                 "+.01", f"< . 1:1(0) ack 2921 win {RWIN}"))
    add(c, "data/echo-exchange-client", "Data both ways on a connection this stack opened", a,
        ["RFC 9293 §3.10.7.4", "RFC 9293 §3.3"],
        ["SND.NXT and RCV.NXT advance independently: 10 octets out, 20 in."],
        active_established() + ev(
            "+.01", "write(3, ..., 10) = 10",
            "+0", "> P. 1:11(10) ack 1 win *",
            "+.01", f"< P. 1:21(20) ack 11 win {RWIN}",
            ACK, "> . 11:11(0) ack 21 win *",
            "+0", "read(3, ..., 100) = 20"))
    add(c, "data/partial-reads", "read() returns queued data in pieces", a,
        ["RFC 9293 §3.10.3"],
        ["RECEIVE returns at most the buffer's size; the rest stays queued."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+0", "read(4, ..., 4) = 4",
                 "+0", "read(4, ..., 100) = 6"))
    add(c, "data/duplicate-ack-ignored", "A duplicate ACK with nothing outstanding draws no answer", a,
        ["RFC 9293 §3.10.7.4"],
        ["SEG.ACK = SND.UNA: a duplicate, ignored (no segment is sent)."],
        est + ev("+.01", f"< . 1:1(0) ack 1 win {RWIN}",
                 "+0", "assert state == ESTABLISHED"))
    add(c, "data/window-update-accepted", "A window update from the peer is accepted silently", a,
        ["RFC 9293 §3.10.7.4", "MUST-1"],
        ["SND.WL1/WL2 rule: a segment at the same seq with a changed window updates SND.WND;",
         "nothing is sent in answer."],
        est + ev("+.01", "< . 1:1(0) ack 1 win 30000",
                 "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
                 "+0", "assert state == ESTABLISHED"))


# ---------------------------------------------------------------------------------------------


def timers(c: Corpus) -> None:
    a = "timers"
    est = passive_established()
    add(c, "timers/data-rto-backoff", "Data retransmission: the RTO is measured and backs off", a,
        ["MUST-18", "MUST-19", "RFC 6298 §5", "RFC 9293 §3.8.1"],
        ["10 octets are never acknowledged: they are retransmitted when the RTO expires, and the",
         "RTO doubles each time (RFC 6298 §5.5). The intervals are recorded as data_rto_1..3;",
         "the fourth copy is acknowledged."],
        est + ev("+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+0", "measure data_rto_1 until packet within 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+0", "measure data_rto_2 until packet within 20",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+0", "measure data_rto_3 until packet within 40",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+.01", f"< . 1:1(0) ack 11 win {RWIN}",
                 "+0", "assert state == ESTABLISHED"))
    add(c, "timers/syn-give-up", "An unanswered SYN is retried for a while, then connect() fails: the time is measured", a,
        ["MUST-20", "MUST-23", "RFC 9293 §3.8.3"],
        ["The SYN is never answered. R2 for a SYN must allow at least 3 minutes (MUST-23); the",
         "time until the stack gives up is recorded as syn_give_up. The retransmitted SYNs are",
         "not scripted (strict end off); connect() reports ETIMEDOUT."],
        syn_sent() + ev("+0", "measure syn_give_up until state != SYN_SENT within 600",
                        "+0", "getsockopt(3, SOL_SOCKET, SO_ERROR, [ETIMEDOUT], [4]) = 0"),
        strict="off")
    add(c, "timers/zero-window-probe", "A zero window is probed after an RTO: the delay is measured", a,
        ["MUST-35", "MUST-36", "SHLD-29", "RFC 9293 §3.8.6.1"],
        ["The peer closes its window; 10 octets wait. The sender must probe the zero window",
         "(MUST-36), the first probe after one RTO (SHLD-29). Stacks probe with one new octet or",
         "with an old sequence number, so the probe itself is not matched (strict end off): only",
         "its delay is recorded as zero_window_probe_1."],
        est + ev("+.01", "< . 1:1(0) ack 1 win 0",
                 "+0", "write(4, ..., 10) = 10",
                 "+0", "measure zero_window_probe_1 until packet within 120"),
        strict="off")
    add(c, "timers/retransmission-stops-on-ack", "A retransmitted segment's ACK stops the timer", a,
        ["MUST-18", "RFC 6298 §5"],
        ["After one retransmission the ACK arrives; nothing more is sent (strict end)."],
        est + ev("+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+0", "measure data_rto_first until packet within 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+.01", f"< . 1:1(0) ack 11 win {RWIN}",
                 "+0", "assert state == ESTABLISHED"))


def keepalive(c: Corpus) -> None:
    a = "timers"
    est = passive_established()
    add(c, "timers/keepalive-off-by-default", "Keep-alives are off by default", a,
        ["MUST-25", "MUST-28", "RFC 9293 §3.8.4"],
        ["Keep-alives MUST default to off (MUST-25): the socket reports SO_KEEPALIVE 0, and an idle",
         "connection sends nothing for 3 s (strict end). (MUST-28's two-hour minimum applies once",
         "enabled; it is not waited for.)"],
        est + ev("+0", "getsockopt(4, SOL_SOCKET, SO_KEEPALIVE, [0], [4]) = 0",
                 "+3", "assert state == ESTABLISHED"))
    add(c, "timers/keepalive-after-idle", "An enabled keep-alive is sent only after the idle interval: the delay is measured", a,
        ["MUST-24", "MUST-26", "MUST-27", "MAY-5", "RFC 9293 §3.8.4"],
        ["The application turns keep-alives on (MUST-24) with a 2 s idle interval (MUST-27). The",
         "first keep-alive comes only after the connection was idle that long (MUST-26); its delay",
         "is recorded as keepalive_idle. Its form (SEG.SEQ = SND.NXT-1, with or without one garbage",
         "octet, MAY-6) varies, so it is not matched (strict end off). One unanswered probe does",
         "not end the connection."],
        est + ev("+0", "setsockopt(4, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0",
                 "+0", "setsockopt(4, IPPROTO_TCP, TCP_KEEPIDLE, [2], 4) = 0",
                 "+0", "setsockopt(4, IPPROTO_TCP, TCP_KEEPINTVL, [1], 4) = 0",
                 "+0", "measure keepalive_idle until packet within 10",
                 "+0", "assert state == ESTABLISHED"),
        strict="off")


def areas(c: Corpus) -> None:
    handshake(c)
    close(c)
    half_close(c)
    simultaneous_close(c)
    time_wait_area(c)
    rst_area(c)
    options(c)
    data(c)
    timers(c)
    keepalive(c)
