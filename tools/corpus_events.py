"""Event-processing scripts (RFC 9293 §3.4, §3.10): checksums and broken options, the handshake
corner cases of §3.10.7.3-4, CLOSE in SYN-RECEIVED, ACK checks in TIME-WAIT, sequence numbers
half the space apart, and the quiet time after a restart (§3.4.3). Written from the RFC text;
each says which words it checks."""

from __future__ import annotations

from corpus_lib import (ACK, RWIN, Corpus, add, ev, listen, passive_established, syn_sent,
                        time_wait)


def checksums(c: Corpus) -> None:
    est = passive_established()
    add(c, "data/bad-checksum-dropped", "A data segment with a bad checksum is discarded", "data",
        ["MUST-2", "MUST-3", "RFC 9293 §3.1"],
        ["MUST-3: \"the receiver MUST check the checksum\"; a segment whose checksum does not verify",
         "is discarded: the 10 octets with a broken checksum draw no ACK (an ACK sent for them",
         "would arrive before the next line's time and fail it). The same octets with a good",
         "checksum are then accepted. MUST-2 (the sender always fills in the checksum) is",
         "checked on every segment the stack sends."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN} bad_csum",
                 "+.5", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+0", "read(4, ..., 100) = 10"))
    add(c, "handshake/syn-bad-checksum-ignored", "A SYN with a bad checksum gets no answer", "handshake",
        ["MUST-3", "RFC 9293 §3.1", "RFC 9293 §3.10.7.2"],
        ["The listener receives a SYN whose checksum does not verify: it is discarded before any",
         "state is looked at (no SYN,ACK, no RST). The retransmitted, intact SYN is answered."],
        [("0", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3"),
         ("+0", "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0"),
         ("+0", "bind(3, ..., ...) = 0"),
         ("+0", "listen(3, 1) = 0")]
        + ev("+0", f"< S 0:0(0) win {RWIN} <mss 1460> bad_csum",
             "+1", f"< S 0:0(0) win {RWIN} <mss 1460>",
             "+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>",
             "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
             "+0", "accept(3, ..., ...) = 4"))
    add(c, "options/illegal-option-length-survived", "An option with length 0 does not break the connection", "options",
        ["MUST-7", "RFC 9293 §3.1"],
        ["MUST-7: \"TCP implementations MUST be prepared to handle an illegal option length (e.g.,",
         "zero)\". An ACK carries an unknown option kind 0x99 with length 0, which the option walker",
         "cannot step over. Whether the stack ignores the options after it or drops the segment,",
         "nothing is sent, and the connection goes on: the next data is acknowledged and readable.",
         "(RFC 9293 suggests resetting the connection instead; a stack that does conforms too, and",
         "fails this script.)"],
        est + ev("+.01", f"< . 1:1(0) ack 1 win {RWIN} <nop, raw 9900>",
                 "+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 11 win *",
                 "+0", "read(4, ..., 100) = 10",
                 "+0", "assert state == ESTABLISHED"))


def handshake(c: Corpus) -> None:
    a = "handshake"
    add(c, "handshake/simultaneous-open-syn-ack-acked", "Simultaneous open: the peer's SYN,ACK below RCV.NXT is answered with an ACK", a,
        ["MUST-10", "RFC 9293 §3.5", "RFC 9293 §3.10.7.4"],
        ["RFC 9293 Figure 7, line 6: in SYN-RECEIVED (entered from SYN-SENT) the peer's SYN,ACK",
         "arrives. It repeats the SYN already received (SEG.SEQ = IRS = RCV.NXT-1, SEG.LEN = 1), so",
         "it lies wholly below RCV.NXT and fails the sequence test (§3.10.7.4 Table 6): \"If an",
         "incoming segment is not acceptable, an acknowledgment should be sent in reply\",",
         "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> = seq 1, ack 1. The peer's ACK of our SYN,ACK then",
         "establishes the connection (a stack that takes Figure 7's ESTABLISHED from the SYN,ACK",
         "itself, after sending the same ACK, ends in the same state)."],
        syn_sent() + ev(
            "+.01", f"< S 0:0(0) win {RWIN} <mss 1460>",
            "+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>",
            "+0", "assert state == SYN_RECEIVED",
            "+.01", f"< S. 0:0(0) ack 1 win {RWIN} <mss 1460>",
            "+0", "> . 1:1(0) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
            "+0", "assert state == ESTABLISHED"))
    add(c, "handshake/syn-ack-carrying-fin", "A SYN,ACK that carries a FIN establishes and then closes the receiving side", a,
        ["MUST-12", "RFC 9293 §3.10.7.3", "RFC 9293 §3.10.7.4"],
        ["SYN-SENT, fourth step: our SYN is acknowledged, so ESTABLISHED; \"If there are other",
         "controls or text in the segment, then continue processing at the sixth step under",
         "Section 3.10.7.4\". The eighth step then processes the FIN: RCV.NXT advances over it",
         "(SYN 0, FIN 1: ack 2), the FIN is acknowledged, the state is CLOSE-WAIT and read()",
         "returns 0 (end of stream, MUST-12). (One ACK covers both; a stack that first sends the",
         "ACK of the SYN alone, as §3.10.7.3 also allows, would send ack 1 before it.)"],
        syn_sent() + ev(
            "+.01", f"< SF. 0:0(0) ack 1 win {RWIN} <mss 1460>",
            ACK, "> . 1:1(0) ack 2 win *",
            "+0", "assert state == CLOSE_WAIT",
            "+0", "read(3, ..., 100) = 0"))
    add(c, "handshake/close-in-syn-received-sends-fin", "CLOSE in SYN-RECEIVED sends a FIN at once and enters FIN-WAIT-1", a,
        ["MUST-13", "RFC 9293 §3.10.4", "RFC 9293 §3.6"],
        ["A simultaneous open reaches SYN-RECEIVED with an fd; the application closes it.",
         "§3.10.4, SYN-RECEIVED STATE: \"If no SENDs have been issued and there is no pending data",
         "to send, then form a FIN segment and send it, and enter FIN-WAIT-1 state\". The FIN",
         "follows our SYN (seq 1), before the SYN,ACK is acknowledged. The peer's ACK 2 covers",
         "SYN and FIN (FIN-WAIT-2); its FIN leads to TIME-WAIT."],
        syn_sent() + ev(
            "+.01", f"< S 0:0(0) win {RWIN} <mss 1460>",
            "+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>",
            "+0", "assert state == SYN_RECEIVED",
            "+.01", "close(3) = 0",
            "+0", "> F. 1:1(0) ack 1 win *",
            "+0", "assert state == FIN_WAIT_1",
            "+.01", f"< . 1:1(0) ack 2 win {RWIN}",
            "+0", "assert state == FIN_WAIT_2",
            "+.01", f"< F. 1:1(0) ack 2 win {RWIN}",
            ACK, "> . 2:2(0) ack 2 win *",
            "+0", "assert state == TIME_WAIT"))


def sequence_space(c: Corpus) -> None:
    est = passive_established()
    half = 1 + (1 << 31)  # SND.NXT = 1, plus 2^31
    common = ["SND.UNA = SND.NXT = 1; the peer's ACK says 2147483649 = SND.NXT + 2^31, half the",
              "sequence space away. RFC 9293 §3.10.7: arithmetic is modulo 2^32, and numbers 2^31",
              "apart compare neither way (RFC 1982 §3.2 leaves the comparison undefined), so the ACK",
              "is not in SND.UNA < SEG.ACK =< SND.NXT: it acknowledges nothing and SND.UNA stays.",
              "Taken as acknowledging something not yet sent, \"send an ACK, drop the segment, and",
              "return\" (§3.10.7.4 fifth step); the next write then starts at SND.UNA = 1."]
    for profile, suffix, extra_refs, extra in [
        ("rfc793", "-rfc793", ["RFC 793 §3.9"],
         ["RFC 793 has no ACK range check (RFC 5961 §5), so only the comparison decides."]),
        ("rfc9293", "", ["MAY-12", "RFC 5961 §5"],
         ["RFC 5961 §5 (MAY-12): SEG.ACK is outside (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT:",
          "\"discarded and an ACK sent back\"."]),
    ]:
        add(c, f"data/ack-half-the-space-ahead{suffix}", "An ACK 2^31 beyond SND.NXT acknowledges nothing", "data",
            ["RFC 9293 §3.10.7.4", "RFC 9293 §3.4", "RFC 1982 §3.2"] + extra_refs, common + extra,
            est + ev("+.01", f"< . 1:1(0) ack {half} win {RWIN}",
                     "+0", "> . 1:1(0) ack 1 win *",
                     "+.01", "write(4, ..., 10) = 10",
                     "+0", "> P. 1:11(10) ack 1 win *",
                     "+.01", f"< . 1:1(0) ack 11 win {RWIN}",
                     "+0", "assert state == ESTABLISHED"),
            profile=profile)


def time_wait_rules(c: Corpus) -> None:
    a = "time-wait"
    est = passive_established()
    add(c, "time-wait/ack-does-not-restart-timer", "An ACK in TIME-WAIT does not restart the 2 MSL timer", a,
        ["MUST-13", "RFC 9293 §3.10.7.4", "RFC 9293 §3.6.1"],
        ["TIME-WAIT is entered at t (the peer's FIN). Only a FIN restarts the time-wait timeout",
         "(§3.10.7.4: the first step for a retransmitted FIN, the eighth for a FIN in the window);",
         "an in-window ACK 30 s later is no FIN and is ignored, so TIME-WAIT still ends 2 MSL =",
         "240 s after t (MUST-13). Checked as time-wait/lasts-2msl-240s does: at t + d + 239 (d < 0.5 s",
         "the delay of our ACK) still TIME-WAIT, at t + d + 241 gone; a timer restarted by the ACK",
         "would run until t + 270."],
        est + time_wait() + ev("+30", f"< . 2:2(0) ack 2 win {RWIN}",
                               "+209", "assert state == TIME_WAIT",
                               "+2", "assert state == CLOSED"))


def timestamps_reopen(c: Corpus) -> None:
    ts = "<nop, nop, TS val {} ecr 0!>"
    add(c, "time-wait/syn-newer-timestamp-reopens", "A SYN with a newer timestamp reopens a connection in TIME-WAIT", "time-wait",
        ["SHLD-4", "RFC 6191 §2", "RFC 9293 §3.6.1", "RFC 7323 §3.2"],
        ["SHLD-4: TIME-WAIT SHOULD be shortened with timestamps (RFC 6191). The connection agreed on",
         "timestamps (TSopt in both SYNs; RFC 7323 §3.2 then puts one on every segment, the echoed",
         "values are not what this checks: `ecr 0!`). In TIME-WAIT a new SYN arrives whose sequence",
         "number (1) is not above RCV.NXT (2), so RFC 1122's MAY-2 test would refuse it, but whose",
         "TSval 130 is newer than the last one seen (120): RFC 6191 accepts it, and the listener",
         "answers with the SYN,ACK of a new incarnation (its sequence number written 0 again)."],
        listen() + ev(
            "+0", f"< S 0:0(0) win {RWIN} <mss 1460, nop, nop, TS val 100 ecr 0>",
            "+0", "> S. 0:0(0) ack 1 win * <{mss *, TS val * ecr 100, ...}>",
            "+.01", f"< . 1:1(0) ack 1 win {RWIN} {ts.format(110)}",
            "+0", "accept(3, ..., ...) = 4",
            "+.01", "close(4) = 0",
            "+0", "> F. 1:1(0) ack 1 win * <...>",
            "+.01", f"< F. 1:1(0) ack 2 win {RWIN} {ts.format(120)}",
            ACK, "> . 2:2(0) ack 2 win * <...>",
            "+0", "assert state == TIME_WAIT",
            "+1", f"< S 1:1(0) win {RWIN} <mss 1460, nop, nop, TS val 130 ecr 0>",
            "+0", "> S. 0:0(0) ack 2 win * <{mss *, TS val * ecr 130, ...}>",
            "+.01", f"< . 2:2(0) ack 1 win {RWIN} {ts.format(140)}",
            "+0", "accept(3, ..., ...) = 4",
            "+0", "assert state(4) == ESTABLISHED"))


def restart(c: Corpus) -> None:
    est = passive_established()
    add(c, "time-wait/restart-keeps-quiet-for-msl", "After losing its memory a host keeps quiet for an MSL", "time-wait",
        ["MUST-13", "RFC 9293 §3.4.2", "RFC 9293 §3.4.3", "RFC 9293 §3.6.1"],
        ["While its TIME-WAIT lasts, the host guards the old connection's sequence numbers: bind()",
         "of its port fails (EADDRINUSE). Then the host restarts and loses that memory (`restart`):",
         "bind() succeeds, nothing remembers the old incarnation. RFC 9293 §3.4.2: the host \"must",
         "keep quiet for an MSL before assigning any sequence numbers upon starting up or recovering",
         "from a situation where memory of sequence numbers in use was lost\"; §3.4.3: it \"shall",
         "delay emitting any TCP segments for at least the agreed MSL\" (2 minutes), even with a",
         "clock-driven ISN. So an old duplicate of the earlier connection arriving one second after",
         "the restart is not answered (a host without the quiet time would send a RST), and a",
         "connect() one second after the restart sends its SYN only when the MSL is over, 120 s",
         "after the restart."],
        est + ev("+0", "close(3) = 0") + time_wait() + ev(
            "+0", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 5",
            "+0", "bind(5, ..., ...) = -1 EADDRINUSE (Address already in use)",
            "+.01", "restart",
            "+0", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
            "+0", "bind(3, ..., ...) = 0",
            "+1", f"< . 2:2(0) ack 2 win {RWIN}",
            "+0", "assert state == CLOSED",
            "+0", "close(3) = 0",
            "+0", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
            "+0", "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0",
            "+0", "connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)",
            "+119", "> S 0:0(0) win * <{mss *, ...}>",
            "+.01", f"< S. 0:0(0) ack 1 win {RWIN} <mss 1460>",
            "+0", "> . 1:1(0) ack 1 win *",
            "+0", "assert state(3) == ESTABLISHED"))


def events(c: Corpus) -> None:
    checksums(c)
    handshake(c)
    sequence_space(c)
    time_wait_rules(c)
    timestamps_reopen(c)
    restart(c)
