"""Data transfer and its timers, written from RFC 9293 §3.7.4 and §3.8 (and RFC 6298): the send
window shrunk by the peer (MUST-34/35, SHLD-15/16/17), zero-window probing (MUST-36/37,
SHLD-30), sender and receiver SWS avoidance (MUST-38/39), Nagle, ACK generation (MUST-58,
SHLD-19, SHLD-27), the RTO's backoff under Karn's algorithm, R2 and the user timeout, and
keep-alives beside retransmission and probing (MUST-26/29, SHLD-12)."""

from __future__ import annotations

from corpus_lib import ACK, NODELAY4, RWIN, Corpus, E, add, ev, listen, passive_established


def keepalive_on(idle: int, interval: int | None = None) -> E:
    """Keep-alives on fd 4 after `idle` s; TCP_KEEPINTVL only when the script needs a second probe
    (smoltcp has no such option)."""
    opts = ev("+0", f"setsockopt(4, IPPROTO_TCP, TCP_KEEPIDLE, [{idle}], 4) = 0")
    if interval is not None:
        opts += ev("+0", f"setsockopt(4, IPPROTO_TCP, TCP_KEEPINTVL, [{interval}], 4) = 0")
    return opts + ev("+0", "setsockopt(4, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0")


def two_segments_in_flight() -> E:
    """With Nagle off, 2000 octets leave as 1460 + 540: SND.UNA = 1, SND.NXT = 2001."""
    return [NODELAY4] + ev("+.01", "write(4, ..., 2000) = 2000",
                           "+0", "> . 1:1461(1460) ack 1 win *",
                           "+0", "> P. 1461:2001(540) ack 1 win *")


def shrunk_window(c: Corpus) -> None:
    a = "data"
    est = passive_established()
    shrink = ["The peer then advertises a window that ends left of what was already sent: its right",
              "edge moves from 65536 to 1561 (ACK 1461, window 100) while SND.NXT = 2001, so the usable",
              "window U = SND.UNA + SND.WND - SND.NXT is negative (§3.8.6.2.1)."]
    add(c, "data/window-shrunk-no-new-data", "After the peer shrinks its window, no new data is sent", a,
        ["MUST-34", "SHLD-15", "RFC 9293 §3.8.6"],
        ["MUST-34: \"a sending TCP peer MUST be robust against window shrinking, which may cause",
         "the usable window to become negative\"; SHLD-15: then \"the sender SHOULD NOT send new",
         "data\". 2000 octets are in flight;"] + shrink
        + ["The application writes 100 more octets: they wait. When the peer acknowledges",
           "everything with a full window 0.1 s later (before any retransmission timeout), they go."],
        est + two_segments_in_flight() + ev(
            "+.01", f"< . 1:1(0) ack 1461 win 100",
            "+0", "write(4, ..., 100) = 100",
            "+.1", f"< . 1:1(0) ack 2001 win {RWIN}",
            "+0", "> P. 2001:2101(100) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 2101 win {RWIN}",
            "+0", "assert state == ESTABLISHED"))
    add(c, "data/window-shrunk-old-data-retransmitted", "After the peer shrinks its window, the old data is still retransmitted", a,
        ["SHLD-16", "MUST-34", "RFC 9293 §3.8.6"],
        ["SHLD-16: after a shrink the sender \"SHOULD retransmit normally the old unacknowledged",
         "data between SND.UNA and SND.UNA+SND.WND\" (it MAY also send old data beyond, MAY-7, so",
         "the retransmission is not matched, strict end off). 2000 octets are in flight;"] + shrink
        + ["Nothing more is acknowledged: a retransmission follows after the RTO (measured)."],
        est + two_segments_in_flight() + ev(
            "+.01", f"< . 1:1(0) ack 1461 win 100",
            "+0", "measure rto_after_shrink until packet within 10"),
        strict="off")
    add(c, "data/window-shrunk-to-zero-probed", "A window shrunk to zero with data in flight is probed", a,
        ["MUST-35", "MUST-34", "MUST-36", "RFC 9293 §3.8.6", "RFC 9293 §3.8.6.1"],
        ["2000 octets are in flight when the peer acknowledges none of them and closes its window",
         "(ACK 1, window 0). MUST-35: \"If the window shrinks to zero, the TCP implementation MUST",
         "probe it in the standard way\": \"transmit at least one octet of new data (if",
         "available), or retransmit to the receiving TCP peer even if the send window is zero\"",
         "(§3.8.6.1). Probe and retransmission differ between stacks and are not matched (strict",
         "end off): a segment must come, its delay is measured."],
        est + two_segments_in_flight() + ev(
            "+.01", "< . 1:1(0) ack 1 win 0",
            "+0", "measure shrunk_window_probe until packet within 120"),
        strict="off")
    acks = []
    for _ in range(16):
        acks += ev("+20", "< . 1:1(0) ack 1 win 0")
    add(c, "data/zero-window-acked-keeps-connection", "A peer that keeps acknowledging a closed window keeps the connection", a,
        ["MUST-37", "SHLD-17", "RFC 9293 §3.8.6", "RFC 9293 §3.8.6.1"],
        ["2000 octets are in flight when the peer closes its window, and for 320 s it keeps",
         "acknowledging (every 20 s, window still 0) without accepting anything: every octet",
         "sent lies beyond its right edge. MUST-37: \"As long as the receiving TCP peer continues",
         "to send acknowledgments in response to the probe segments, the sending TCP peer MUST",
         "allow the connection to stay open\"; SHLD-17: the sender \"SHOULD NOT time out the",
         "connection if data beyond the right window edge is not acknowledged\". The probes are not",
         "matched (their form varies; strict end off). 320 s is beyond R2 (SHLD-11 asks for at",
         "least 100 s, this reference stack uses 300 s)."],
        est + two_segments_in_flight() + ev("+.01", "< . 1:1(0) ack 1 win 0") + acks
        + ev("+0", "assert state == ESTABLISHED"),
        strict="off")


def zero_window(c: Corpus) -> None:
    est = passive_established()
    probe = "> P. 1:2(1) ack 1 win *"
    add(c, "timers/zero-window-probe-backoff", "Zero-window probes carry new data and back off: the intervals are measured", "timers",
        ["SHLD-30", "MUST-36", "SHLD-29", "RFC 9293 §3.8.6.1"],
        ["The peer closes its window with one octet waiting. §3.8.6.1: \"The sending TCP peer must",
         "regularly transmit at least one octet of new data (if available) [...] in order to",
         "'probe' the window\": the octet, 1:2 (with one octet queued, every probe that carries",
         "new data has this form). The first probe comes after one RTO (SHLD-29), and the sender",
         "\"SHOULD increase exponentially the interval between successive probes\" (SHLD-30):",
         "zero_window_probe_1..3 (1 s, 2 s, 4 s with RFC 6298's 1 s RTO). Each probe is answered",
         "with the window still closed; then the peer takes the octet and opens its window."],
        est + ev("+.01", "< . 1:1(0) ack 1 win 0",
                 "+0", "write(4, ..., 1) = 1",
                 "+0", "measure zero_window_probe_1 until packet within 120",
                 "+0", probe,
                 "+.01", "< . 1:1(0) ack 1 win 0",
                 "+0", "measure zero_window_probe_2 until packet within 240",
                 "+0", probe,
                 "+.01", "< . 1:1(0) ack 1 win 0",
                 "+0", "measure zero_window_probe_3 until packet within 480",
                 "+0", probe,
                 "+.01", f"< . 1:1(0) ack 2 win {RWIN}",
                 "+0", "assert state == ESTABLISHED"))


def sws_and_nagle(c: Corpus) -> None:
    a = "data"
    est = passive_established()
    add(c, "data/nagle-holds-segment-below-mss", "Nagle holds a segment smaller than the MSS even when it fills half the window", a,
        ["SHLD-7", "MUST-38", "RFC 9293 §3.7.4", "RFC 9293 §3.8.6.2.1"],
        ["The peer offers MSS 1460 but a window of only 1000 (Max(SND.WND) = 1000). 100 octets are",
         "sent and outstanding when the application writes 600 more. §3.7.4: \"If there is",
         "unacknowledged data (i.e., SND.NXT > SND.UNA), then the sending TCP endpoint buffers all",
         "user data (regardless of the PSH bit) until the outstanding data has been acknowledged",
         "or until the TCP endpoint can send a full-sized segment (Eff.snd.MSS bytes)\". 600 < 1460;",
         "the SWS rule that would send 600 >= Fs * Max(SND.WND) = 500 carries the same bracket,",
         "\"[SND.NXT = SND.UNA and]\" (§3.8.6.2.1 rule 3). The 600 octets go with the ACK of the 100."],
        listen() + ev(
            "+0", "< S 0:0(0) win 1000 <mss 1460>",
            "+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>",
            "+.01", "< . 1:1(0) ack 1 win 1000",
            "+0", "accept(3, ..., ...) = 4",
            "+.01", "write(4, ..., 100) = 100",
            "+0", "> P. 1:101(100) ack 1 win *",
            "+.01", "write(4, ..., 600) = 600",
            "+.05", "< . 1:1(0) ack 101 win 1000",
            "+0", "> P. 101:701(600) ack 1 win *",
            "+.01", "< . 1:1(0) ack 701 win 1000"))
    add(c, "data/sender-sws-override", "Sender SWS avoidance: a sliver of window is used only at the override timeout", a,
        ["MUST-38", "RFC 9293 §3.8.6.2.1"],
        ["MUST-38: \"A TCP implementation MUST include a SWS avoidance algorithm in the sender\".",
         "Nagle is off. The ACK of a first write offers only 100 octets more (Max(SND.WND) = 65535)",
         "while 1000 wait: no rule of §3.8.6.2.1 allows sending now (min(D,U) = 100 < Eff.snd.MSS;",
         "D > U; 100 < Fs * Max(SND.WND)) until \"(4) the override timeout occurs\", which \"should",
         "be in the range 0.1 - 1.0 seconds\". (The forced segment carries PSH, as Linux's, lwIP's and",
         "this stack's do; the RFC neither asks for it nor forbids it.) Then the window opens and",
         "the rest follows."],
        est + [NODELAY4] + ev(
            "+.01", "write(4, ..., 100) = 100",
            "+0", "> P. 1:101(100) ack 1 win *",
            "+.01", "< . 1:1(0) ack 101 win 100",
            "+0", "write(4, ..., 1000) = 1000",
            "+.1~+1", "> P. 101:201(100) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 201 win {RWIN}",
            "+0", "> P. 201:1101(900) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 1101 win {RWIN}"))
    add(c, "data/window-decrease-at-same-ack-applied", "A smaller window at an unchanged SEG.SEQ and SEG.ACK is applied", a,
        ["MUST-34", "RFC 9293 §3.10.7.4", "RFC 9293 §3.8.6"],
        ["§3.10.7.4 (fifth step, ESTABLISHED): \"If SND.UNA =< SEG.ACK =< SND.NXT, the send window",
         "should be updated. If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)),",
         "set SND.WND <- SEG.WND\". The peer repeats its SEG.SEQ and SEG.ACK with a window of 100:",
         "SND.WL2 = SEG.ACK, so the window becomes 100 (the peer shrank it, which a sender must",
         "tolerate, MUST-34). 100 octets written (Nagle off) fill it and go at once; 100 more must",
         "wait: they leave only when the peer acknowledges the first and opens its window 0.1 s",
         "later (before any retransmission or probe timer)."],
        est + [NODELAY4] + ev(
            "+.01", "< . 1:1(0) ack 1 win 100",
            "+0", "write(4, ..., 100) = 100",
            "+0", "> P. 1:101(100) ack 1 win *",
            "+.01", "write(4, ..., 100) = 100",
            "+.1", f"< . 1:1(0) ack 101 win {RWIN}",
            "+0", "> P. 101:201(100) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 201 win {RWIN}"))
    add(c, "data/receiver-sws-small-read-no-update", "Receiver SWS avoidance: reading a few octets sends no window update", a,
        ["MUST-39", "RFC 9293 §3.8.6.2.2"],
        ["MUST-39: the receiver \"MUST include a SWS avoidance algorithm\": keep RCV.NXT+RCV.WND",
         "fixed until the reduction reaches min(Fr * RCV.BUFF, Eff.snd.MSS). Reading 1 octet, twice,",
         "frees 2 octets: the right edge may not move, and no window update is sent (strict end)."],
        est + ev("+.01", f"< P. 1:1001(1000) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 1001 win *",
                 "+0", "read(4, ..., 1) = 1",
                 "+.01", "read(4, ..., 1) = 1",
                 "+0", "assert state == ESTABLISHED"))
    add(c, "data/push-bits-collapsed", "Two pushed writes held by Nagle leave as one segment with one PSH", a,
        ["SHLD-27", "SHLD-7", "RFC 9293 §3.9.1.2"],
        ["SHLD-27: \"the sender SHOULD collapse successive bits when it packetizes data, to send",
         "the largest possible segment\". Every write is pushed (there is no PUSH call, MUST-60);",
         "two 10-octet writes wait behind unacknowledged data (Nagle, SHLD-7) and leave together,",
         "as one 20-octet segment with PSH."],
        est + ev("+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+.01", "write(4, ..., 10) = 10",
                 "+.01", "write(4, ..., 10) = 10",
                 "+.03", f"< . 1:1(0) ack 11 win {RWIN}",
                 "+0", "> P. 11:31(20) ack 1 win *",
                 "+.01", f"< . 1:1(0) ack 31 win {RWIN}"))


def ack_generation(c: Corpus) -> None:
    a = "data"
    est = passive_established()
    add(c, "data/two-segments-one-ack", "Two segments arriving together are acknowledged by one ACK", a,
        ["MUST-58", "MUST-40", "RFC 9293 §3.10.7.4"],
        ["MUST-58: \"the processing of received segments MUST be implemented to aggregate ACK",
         "segments whenever possible\". Two 10-octet segments arrive at the same instant: one ACK",
         "(ack 21, within 0.5 s) answers both (strict end)."],
        est + ev("+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
                 "+0", f"< P. 11:21(10) ack 1 win {RWIN}",
                 ACK, "> . 1:1(0) ack 21 win *",
                 "+0", "read(4, ..., 100) = 20"))
    add(c, "data/ack-after-second-full-segment", "The second full-sized segment is acknowledged at once", a,
        ["SHLD-19", "SHLD-18", "RFC 9293 §3.8.6.3"],
        ["SHLD-19: \"An ACK SHOULD be generated for at least every second full-sized segment\"",
         "(RMSS = 1460, the MSS this stack announced). After two 1460-octet segments an ACK is due",
         "at once, not after a delayed-ACK timer. Stacks that acknowledge every segment conform",
         "too, so the first ACK's number is not checked and later ones are not (strict end off)."],
        est + ev("+.01", f"< . 1:1461(1460) ack 1 win {RWIN}",
                 "+0", f"< . 1461:2921(1460) ack 1 win {RWIN}",
                 "+0", "> . 1:1(0) ack * win *"),
        strict="off")


def retransmission(c: Corpus) -> None:
    a = "timers"
    est = passive_established()
    add(c, "timers/rto-backoff-kept-until-new-sample", "The backed-off RTO is kept until a new RTT sample (Karn)", a,
        ["MUST-18", "MUST-19", "RFC 6298 §5", "RFC 9293 §3.8.1", "RFC 9293 §3.8.2"],
        ["10 octets are retransmitted after the RTO (1 s: RFC 6298 §2.4 rounds up to 1 s) and the",
         "RTO doubles (§5.5). The ACK of the retransmission gives no RTT sample (Karn, §3), so the",
         "doubled RTO stays: RFC 9293 §3.8.2 describes \"keeping the backed-off value until a",
         "subsequent segment with new data has been sent and acknowledged without",
         "retransmission\". The next 10 octets are lost once: retransmitted after 2 s, not 1 s."],
        est + [NODELAY4] + ev(
            "+.01", "write(4, ..., 10) = 10",
            "+0", "> P. 1:11(10) ack 1 win *",
            "+1", "> P. 1:11(10) ack 1 win *",
            "+.1", f"< . 1:1(0) ack 11 win {RWIN}",
            "+0", "write(4, ..., 10) = 10",
            "+0", "> P. 11:21(10) ack 1 win *",
            "+2", "> P. 11:21(10) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 21 win {RWIN}"))
    add(c, "timers/ack-during-retransmission-carries-snd-nxt", "An ACK sent while retransmitting carries SEQ=SND.NXT", a,
        ["RFC 9293 §3.10.7.4", "RFC 6298 §5", "MUST-40"],
        ["2920 octets are in flight (SND.NXT = 2921). After the RTO the first segment is",
         "retransmitted (the congestion window is one segment, RFC 5681 §3.1), so the sender is",
         "rewinding from SND.UNA. The peer's 10 octets are acknowledged, and §3.10.7.4 (seventh",
         "step) gives the form: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, seq 2921, not the sequence",
         "number the retransmission reached."],
        est + [NODELAY4] + ev(
            "+.01", "write(4, ..., 2920) = 2920",
            "+0", "> . 1:1461(1460) ack 1 win *",
            "+0", "> P. 1461:2921(1460) ack 1 win *",
            "+0", "measure data_rto until packet within 10",
            "+0", "> . 1:1461(1460) ack 1 win *",
            "+.01", f"< P. 1:11(10) ack 1 win {RWIN}",
            ACK, "> . 2921:2921(0) ack 11 win *",
            "+.01", f"< . 11:11(0) ack 2921 win {RWIN}",
            "+0", "assert state == ESTABLISHED"))
    add(c, "timers/user-timeout-aborts-on-time", "The user timeout aborts the connection when it expires", a,
        ["MUST-21", "MUST-20", "RFC 9293 §3.10.8", "RFC 9293 §3.8.3"],
        ["TCP_USER_TIMEOUT is 5 s (MUST-21: the application sets R2). 10 octets are never",
         "acknowledged. §3.10.8: \"if the user timeout expires, flush all queues, signal the user",
         "'error: connection aborted due to user timeout' [...] enter the CLOSED state\" -- at 5 s",
         "(checked between 4.5 and 5.5 s, for timer granularity), not at the first retransmission",
         "timeout after it (7 s with RFC 6298's 1, 2, 4 s). The retransmissions are not matched",
         "(strict end off)."],
        est + ev("+0", "setsockopt(4, IPPROTO_TCP, TCP_USER_TIMEOUT, [5000], 4) = 0",
                 "+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+4.5", "assert state == ESTABLISHED",
                 "+1", "assert state == CLOSED",
                 "+0", "read(4, ..., 100) = -1 ETIMEDOUT (Connection timed out)"),
        strict="off")
    add(c, "timers/data-retransmitted-for-100s", "Unacknowledged data is retransmitted for at least 100 s", a,
        ["SHLD-11", "MUST-20", "RFC 9293 §3.8.3"],
        ["SHLD-11: \"The value of R2 SHOULD correspond to at least 100 seconds\". 10 octets are",
         "never acknowledged; 100 s later the connection is still trying (ESTABLISHED). The",
         "retransmissions are not matched (strict end off)."],
        est + ev("+.01", "write(4, ..., 10) = 10",
                 "+0", "> P. 1:11(10) ack 1 win *",
                 "+100", "assert state == ESTABLISHED"),
        strict="off")


def keepalives(c: Corpus) -> None:
    a = "timers"
    est = passive_established()
    probe = "> . 0:0(0) ack 1 win *"
    add(c, "timers/keepalive-enabled-after-idle", "Keep-alives switched on after an idle period probe without data", a,
        ["MUST-24", "MUST-26", "MUST-27", "SHLD-12", "RFC 9293 §3.8.4"],
        ["TCP_KEEPIDLE is 2 s, but keep-alives are switched on (MUST-24) only after 10 s of idle",
         "time. MUST-26 allows a probe once \"no data or acknowledgment packets have been received",
         "for the connection within an interval\": that holds already, so the first probe may come",
         "at once, and comes within the 2 s interval at the latest (Linux counts the interval from",
         "the setsockopt, lwIP from the last segment received). It has SEG.SEQ = SND.NXT-1 and no",
         "data (SHLD-12: \"SHOULD send a keep-alive segment with no data\")."],
        est + ev("+0", "setsockopt(4, IPPROTO_TCP, TCP_KEEPIDLE, [2], 4) = 0",
                 "+10", "setsockopt(4, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0",
                 "+0~+2.5", probe,
                 "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
                 "+0", "assert state == ESTABLISHED"))
    add(c, "timers/keepalive-unanswered-probe-not-fatal", "One unanswered keep-alive does not end the connection", a,
        ["MUST-29", "SHLD-12", "MUST-26", "RFC 9293 §3.8.4"],
        ["MUST-29: a keep-alive mechanism \"MUST NOT interpret failure to respond to any specific",
         "probe as a dead connection\". The first probe (after 2 s idle) is not answered; a second",
         "follows (TCP_KEEPINTVL = 1 s) and is answered; the connection stays. Both carry no data",
         "(SHLD-12). The delays are measured (timer granularity differs between stacks)."],
        est + keepalive_on(2, 1) + ev(
            "+0", "measure keepalive_1 until packet within 10",
            "+0", probe,
            "+0", "measure keepalive_2 until packet within 10",
            "+0", probe,
            "+0", "assert state == ESTABLISHED",
            "+.01", f"< . 1:1(0) ack 1 win {RWIN}",
            "+0", "assert state == ESTABLISHED"))
    add(c, "timers/keepalive-while-data-outstanding", "Keep-alives wait while data is outstanding; retransmission goes on", a,
        ["MUST-26", "MUST-18", "RFC 9293 §3.8.4", "RFC 6298 §5"],
        ["MUST-26: \"Keep-alive packets MUST only be sent when no sent data is outstanding\".",
         "Keep-alives are on with a 2 s idle time when 10 octets are sent and lost: the idle time",
         "passes while they are outstanding, no keep-alive is sent, and the retransmissions",
         "(RTO, then doubled) go on as if keep-alives were off. The last one is acknowledged."],
        est + keepalive_on(2) + ev(
            "+.01", "write(4, ..., 10) = 10",
            "+0", "> P. 1:11(10) ack 1 win *",
            "+0", "measure data_rto_1 until packet within 10",
            "+0", "> P. 1:11(10) ack 1 win *",
            "+0", "measure data_rto_2 until packet within 20",
            "+0", "> P. 1:11(10) ack 1 win *",
            "+.01", f"< . 1:1(0) ack 11 win {RWIN}",
            "+0", "assert state == ESTABLISHED"))
    add(c, "timers/keepalive-during-zero-window", "Keep-alives wait while a zero window is probed", a,
        ["MUST-26", "MUST-36", "RFC 9293 §3.8.4", "RFC 9293 §3.8.6.1"],
        ["Keep-alives are on with a 1 s idle time; the peer closes its window, and half a second",
         "later 10 octets are queued. The connection is not idle (MUST-26: \"no new or",
         "unacknowledged data to be sent\", §3.8.4), so no keep-alive replaces the zero-window",
         "probe (MUST-36), which comes after an RTO. Its form varies (one octet of new data, or an",
         "old sequence number), so only its delay is recorded (strict end off)."],
        est + keepalive_on(1) + ev(
            "+.01", "< . 1:1(0) ack 1 win 0",
            "+.5", "write(4, ..., 10) = 10",
            "+0", "measure zero_window_probe until packet within 10"),
        strict="off")


def window(c: Corpus) -> None:
    shrunk_window(c)
    zero_window(c)
    sws_and_nagle(c)
    ack_generation(c)
    retransmission(c)
    keepalives(c)
