"""The state x event matrix of RFC 9293 §3.10.7 (SEGMENT ARRIVES): scripts/matrix/<state>/<event>.

For each of the eleven states and each kind of arriving segment, one script brings the stack into
the state with as few events as possible, injects the segment and checks the reaction the RFC
requires: the segment sent in answer (or silence, checked by the strict end) and the state after.
Where RFC 793 and RFC 9293 (with the RFC 5961 mitigations) disagree, the RFC 793 reaction is a
separate script with `-rfc793` in its name and `profile: rfc793`.

Kinds of segment, with SND.NXT = s and RCV.NXT = r in the synchronized states:
  syn                 SYN, no ACK, at r+100 (inside any receive window a stack offers)
  syn-ack             SYN+ACK at r+100, ACK = s
  ack                 an acceptable ACK (acknowledging something outstanding when there is any)
  ack-unacceptable    ACK = s+1000, acknowledging data never sent
  data                10 octets at r
  fin                 FIN at r (in states where the peer's FIN was already received: its retransmission)
  rst-exact           RST at r
  rst-in-window       RST at r+100
  rst-out-of-window   RST at r+1000000
  rst-ack             RST+ACK at r, ACK = s
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus_lib import (RWIN, Corpus, Script, active_established, close_wait, closing,
                        complete_active, fin_wait_1, fin_wait_2, last_ack, listen,
                        passive_established, syn_received, syn_sent, time_wait)

SEC_CLOSED = "RFC 9293 §3.10.7.1"
SEC_LISTEN = "RFC 9293 §3.10.7.2"
SEC_SYN_SENT = "RFC 9293 §3.10.7.3"
SEC_OTHER = "RFC 9293 §3.10.7.4"
SEC_RESET_GEN = "RFC 9293 §3.5.2"
SEC_RESET_PROC = "RFC 9293 §3.5.3"
RFC5961_RST = "RFC 5961 §3.2"
RFC5961_SYN = "RFC 5961 §4"
RFC793_ARRIVES = "RFC 793 §3.9"

IN_WINDOW = 100
OUT_OF_WINDOW = 1000000
BAD_ACK = 1000


@dataclass
class Sync:
    """A synchronized state and how the generator reaches and leaves it."""

    key: str
    state: str
    label: str
    setup: list
    s: int
    r: int
    area: str
    read_fd: int | None  # fd on which read() must report ECONNRESET after an abort
    after_fin_ack: str | None  # state after the peer ACKs our FIN (None: our FIN is not outstanding)
    how: str  # one line saying how the state is reached


def sync_states() -> list[Sync]:
    est = passive_established()
    return [
        Sync("established", "ESTABLISHED", "ESTABLISHED", est, 1, 1, "data", 4, None,
             "passive open, accepted as fd 4"),
        Sync("fin-wait-1", "FIN_WAIT_1", "FIN-WAIT-1", est + fin_wait_1(), 2, 1, "close", 4,
             "FIN_WAIT_2", "passive open, then shutdown(SHUT_WR): our FIN (seq 1) is unacknowledged"),
        Sync("fin-wait-2", "FIN_WAIT_2", "FIN-WAIT-2", est + fin_wait_2(), 2, 1, "close", 4, None,
             "passive open, shutdown(SHUT_WR), the peer ACKs our FIN"),
        Sync("close-wait", "CLOSE_WAIT", "CLOSE-WAIT", est + close_wait(), 1, 2, "half-close", None,
             None, "passive open, the peer's FIN (seq 1) is ACKed"),
        Sync("closing", "CLOSING", "CLOSING", est + closing(), 2, 2, "simultaneous-close", None,
             "TIME_WAIT", "shutdown(SHUT_WR), then the peer's FIN crosses ours (it does not ACK our FIN)"),
        Sync("last-ack", "LAST_ACK", "LAST-ACK", est + last_ack(), 2, 2, "close", None, "CLOSED",
             "passive open, the peer's FIN, then close(): our FIN (seq 1) is unacknowledged"),
        Sync("time-wait", "TIME_WAIT", "TIME-WAIT", est + time_wait(), 2, 2, "time-wait", None, None,
             "close() and the peer's FIN+ACK acknowledges ours (FIN-WAIT-1 straight to TIME-WAIT)"),
    ]


def cleanup(st: Sync) -> list[tuple[str, str]]:
    """When our FIN is still outstanding, the peer ACKs it so no retransmission follows the script."""
    if st.after_fin_ack is None:
        return []
    return [
        ("+.01", f"< . {st.r}:{st.r}(0) ack {st.s} win {RWIN}"),
        ("+0", f"assert state == {st.after_fin_ack}"),
    ]


def aborted(st: Sync) -> list[tuple[str, str]]:
    ev = [("+0", "assert state == CLOSED")]
    if st.read_fd is not None:
        ev.append(("+0", f"read({st.read_fd}, ..., 100) = -1 ECONNRESET (Connection reset by peer)"))
    return ev


def ack_line(s: int, r: int) -> tuple[str, str]:
    return ("+0~+0.5", f"> . {s}:{s}(0) ack {r} win *")


def sync_script(st: Sync, kind: str, profile: str) -> Script | None:
    s, r = st.s, st.r
    name = kind if profile == "rfc9293" else f"{kind}-rfc793"
    area = "rst" if kind.startswith("rst") else st.area
    refs = [SEC_OTHER]
    sc = Script(f"matrix/{st.key}/{name}", "", area, refs, profile)
    sc.notes.append(f"State: {st.label}, reached by {st.how}.")
    sc.notes.append(f"Here SND.NXT = {s} and RCV.NXT = {r} (relative sequence numbers).")
    sc.extend(st.setup)
    same = ("+0", f"assert state == {st.state}")

    if kind == "syn":
        if profile != "rfc9293":
            return None
        if st.key == "time-wait":
            # A new SYN above RCV.NXT may legitimately reopen the connection (MAY-2, see
            # scripts/time-wait/); an old duplicate SYN must be answered with an ACK.
            sc.title = "TIME-WAIT: an old duplicate SYN is answered with an ACK"
            sc.rfc += [RFC5961_SYN, "RFC 9293 §3.6.1", "MAY-2"]
            sc.notes += [
                "The SYN repeats the peer's first SYN (seq 0, below RCV.NXT): it fails the sequence",
                "test and is answered <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 5961 §4 sends the same",
                "segment as a challenge ACK). A new SYN above RCV.NXT is MAY-2's case: see time-wait/.",
            ]
            sc.ev("+.01", f"< S 0:0(0) win {RWIN}")
        else:
            sc.title = f"{st.label}: an in-window SYN draws a challenge ACK (RFC 5961)"
            sc.rfc += [RFC5961_SYN]
            sc.notes += [
                "RFC 9293 §3.10.7.4 (fourth, check the SYN bit): whatever its sequence number, a SYN in",
                "a synchronized state MUST be answered with a challenge ACK",
                "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the connection is kept.",
            ]
            sc.ev("+.01", f"< S {r + IN_WINDOW}:{r + IN_WINDOW}(0) win {RWIN}")
        sc.extend([ack_line(s, r), same] + cleanup(st))
        return sc

    if kind == "syn-ack":
        seq = r + IN_WINDOW
        sc.ev("+.01", f"< S. {seq}:{seq}(0) ack {s} win {RWIN}")
        if profile == "rfc9293":
            sc.title = f"{st.label}: an in-window SYN+ACK draws a challenge ACK (RFC 5961)"
            sc.rfc += [RFC5961_SYN]
            sc.notes += [
                "The SYN check comes before the ACK check, so a SYN+ACK is handled like a SYN:",
                "a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, the connection is kept.",
            ]
            sc.extend([ack_line(s, r), same] + cleanup(st))
        else:
            sc.title = f"{st.label}: an in-window SYN resets the connection (RFC 793)"
            sc.rfc = [RFC793_ARRIVES, "RFC 793 §3.4"]
            sc.notes += [
                "RFC 793 p. 71: a SYN in the window is an error: send a reset, flush the queues and",
                "enter CLOSED. The segment carries an ACK field, so the reset is <SEQ=SEG.ACK><CTL=RST>",
                "(§3.4, reset generation); SEG.ACK = SND.NXT, so both readings of the RST's sequence",
                "number agree. (A bare SYN would need an RST with absolute SEQ=0, which relative",
                "sequence numbers cannot express: this SYN+ACK form covers the rule.)",
            ]
            sc.ev("+0", f"> R {s}:{s}(0) win *")
            sc.extend(aborted(st))
        return sc

    if kind == "ack":
        if st.key in ("established", "close-wait"):
            sc.title = f"{st.label}: an ACK of outstanding data is accepted silently"
            sc.notes += ["The application sends 10 octets; the peer's ACK of them advances SND.UNA",
                         "and needs no answer."]
            sc.ev("+.01", "write(4, ..., 10) = 10")
            sc.ev("+0", f"> P. {s}:{s + 10}(10) ack {r} win *")
            sc.ev("+.01", f"< . {r}:{r}(0) ack {s + 10} win {RWIN}")
            sc.extend([same])
        elif st.after_fin_ack is not None:
            sc.title = f"{st.label}: the ACK of our FIN moves the connection to {st.after_fin_ack.replace('_', '-')}"
            sc.notes += [f"SEG.ACK = SND.NXT = {s} acknowledges our FIN; no answer is due."]
            sc.extend(cleanup(st))
        else:
            sc.title = f"{st.label}: a duplicate ACK is ignored"
            sc.notes += ["Nothing is outstanding; SEG.ACK = SND.UNA is a duplicate and is ignored."]
            sc.ev("+.01", f"< . {r}:{r}(0) ack {s} win {RWIN}")
            sc.extend([same])
        return sc

    if kind == "ack-unacceptable":
        sc.title = f"{st.label}: an ACK of data never sent is answered with an ACK and dropped"
        if st.key in ("last-ack", "time-wait"):
            # RFC 9293 gives these states no ESTABLISHED processing, but the RFC 5961 check that
            # precedes every state's ACK processing does apply.
            sc.rfc += ["MAY-12", "RFC 5961 §5"]
            sc.notes += [
                "The fifth step's per-state text for LAST-ACK and TIME-WAIT expects no such ACK, but",
                "before it (RFC 5961 §5, MAY-12, implemented by this profile): \"TCP stacks that",
                "implement RFC 5961 MUST add an input check that the ACK value is acceptable only if",
                "it is in the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All incoming",
                "segments whose ACK value doesn't satisfy the above condition MUST be discarded and an",
                "ACK sent back.\"",
            ]
        else:
            sc.notes += [
                "ESTABLISHED processing (shared by FIN-WAIT-1/2, CLOSE-WAIT and CLOSING): if SEG.ACK >",
                "SND.NXT, send an ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, drop the segment and return.",
            ]
        sc.ev("+.01", f"< . {r}:{r}(0) ack {s + BAD_ACK} win {RWIN}")
        sc.extend([ack_line(s, r), same] + cleanup(st))
        return sc

    if kind == "data":
        if st.key in ("established", "fin-wait-1", "fin-wait-2"):
            sc.title = f"{st.label}: in-window data is queued, acknowledged and readable"
            sc.rfc += ["MUST-40"]
            sc.notes += ["The text is delivered and RCV.NXT advances by 10; the ACK may be delayed,",
                         "but by less than 0.5 s (MUST-40)."]
            sc.ev("+.01", f"< P. {r}:{r + 10}(10) ack {s - 1 if st.key == 'fin-wait-1' else s} win {RWIN}")
            sc.extend([ack_line(s, r + 10), same, ("+0", "read(4, ..., 100) = 10")])
            if st.after_fin_ack is not None:
                sc.extend([("+.01", f"< . {r + 10}:{r + 10}(0) ack {s} win {RWIN}"),
                           ("+0", f"assert state == {st.after_fin_ack}")])
        elif st.key == "time-wait":
            sc.title = "TIME-WAIT: data after the peer's FIN is acknowledged, not delivered"
            sc.notes += [
                "The text \"should not occur\" and is ignored (seventh step), so RCV.NXT stays 2. The",
                "ACK step for TIME-WAIT says the only thing that can arrive is a retransmission of the",
                "remote FIN: acknowledge it and restart the 2 MSL timeout; the segment is answered",
                "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (as BSD and Linux do).",
            ]
            sc.ev("+.01", f"< P. {r}:{r + 10}(10) ack {s} win {RWIN}")
            sc.extend([ack_line(s, r), same])
        else:
            sc.title = f"{st.label}: data after the peer's FIN is ignored"
            sc.notes += [
                "The peer's FIN was received, so text \"should not occur\": RFC 9293 says ignore",
                "the segment text. No ACK is due for ignored text.",
            ]
            ack = 1 if st.after_fin_ack is not None else s
            sc.ev("+.01", f"< P. {r}:{r + 10}(10) ack {ack} win {RWIN}")
            sc.extend([same] + cleanup(st))
        return sc

    if kind == "fin":
        if st.key == "established":
            sc.title = "ESTABLISHED: the peer's FIN is acknowledged and leads to CLOSE-WAIT"
            sc.rfc += ["RFC 9293 §3.6"]
            sc.notes += ["RCV.NXT advances over the FIN; read() then returns 0 (end of stream)."]
            sc.ev("+.01", f"< F. {r}:{r}(0) ack {s} win {RWIN}")
            sc.extend([ack_line(s, r + 1), ("+0", "assert state == CLOSE_WAIT"), ("+0", "read(4, ..., 100) = 0")])
        elif st.key == "fin-wait-1":
            sc.title = "FIN-WAIT-1: a FIN that does not ACK ours leads to CLOSING"
            sc.rfc += ["RFC 9293 §3.6"]
            sc.notes += ["Simultaneous close: the FIN is acknowledged and, our FIN being unacknowledged,",
                         "the connection enters CLOSING; the ACK of our FIN then leads to TIME-WAIT."]
            sc.ev("+.01", f"< F. {r}:{r}(0) ack 1 win {RWIN}")
            sc.extend([ack_line(s, r + 1), ("+0", "assert state == CLOSING"),
                       ("+.01", f"< . {r + 1}:{r + 1}(0) ack {s} win {RWIN}"),
                       ("+0", "assert state == TIME_WAIT")])
        elif st.key == "fin-wait-2":
            sc.title = "FIN-WAIT-2: the peer's FIN is acknowledged and leads to TIME-WAIT"
            sc.rfc += ["RFC 9293 §3.6", "MUST-13"]
            sc.ev("+.01", f"< F. {r}:{r}(0) ack {s} win {RWIN}")
            sc.extend([ack_line(s, r + 1), ("+0", "assert state == TIME_WAIT"), ("+0", "read(4, ..., 100) = 0")])
        else:
            sc.title = f"{st.label}: a retransmitted FIN is acknowledged again"
            sc.notes += [
                "The peer's FIN (seq 1) was already received; its retransmission lies below RCV.NXT,",
                "fails the sequence test and is answered <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.",
            ]
            if st.key == "time-wait":
                sc.rfc += ["MUST-13"]
                sc.notes += ["In TIME-WAIT the retransmitted FIN also restarts the 2 MSL timer."]
            ack = 1 if st.after_fin_ack is not None else s
            sc.ev("+.01", f"< F. 1:1(0) ack {ack} win {RWIN}")
            sc.extend([ack_line(s, r), same] + cleanup(st))
        return sc

    if kind in ("rst-exact", "rst-ack"):
        sc.rfc += [SEC_RESET_PROC, RFC5961_RST]
        if kind == "rst-exact":
            sc.ev("+.01", f"< R {r}:{r}(0) win {RWIN}")
            what = "a RST at exactly RCV.NXT"
        else:
            sc.ev("+.01", f"< R. {r}:{r}(0) ack {s} win {RWIN}")
            what = "a RST+ACK at exactly RCV.NXT"
            sc.notes += ["The RST check comes before the ACK check: the ACK field changes nothing."]
        if st.key in ("closing", "last-ack", "time-wait"):
            sc.title = f"{st.label}: {what} closes the connection"
            sc.notes += ["RFC 9293 §3.10.7.4 (second, check the RST bit): enter CLOSED, delete the TCB."]
            if st.key == "time-wait":
                sc.rfc += ["RFC 1337"]
                sc.notes += ["This is RFC 1337's hazard (TIME-WAIT assassination); the RFC 9293 rule is",
                             "still to close, and stacks that apply RFC 1337's fix F1 deviate here."]
        else:
            sc.title = f"{st.label}: {what} aborts the connection"
            sc.rfc += ["MUST-12"]
            sc.notes += ["RFC 9293 §3.10.7.4 (second, check the RST bit): the connection is reset,",
                         "the user is told (read() fails with ECONNRESET) and it enters CLOSED."]
        sc.extend(aborted(st))
        return sc

    if kind == "rst-in-window":
        seq = r + IN_WINDOW
        sc.ev("+.01", f"< R {seq}:{seq}(0) win {RWIN}")
        sc.rfc += [SEC_RESET_PROC]
        if profile == "rfc9293":
            sc.title = f"{st.label}: an in-window RST not at RCV.NXT draws a challenge ACK"
            sc.rfc += [RFC5961_RST]
            sc.notes += [
                "RFC 9293 §3.10.7.4 (second, check the RST bit, RFC 5961 §3.2): a RST inside the",
                "window but not exactly at RCV.NXT MUST be answered with a challenge ACK",
                "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and dropped; the connection is kept.",
            ]
            if st.key == "time-wait":
                sc.rfc += ["RFC 1337"]
            sc.extend([ack_line(s, r), same] + cleanup(st))
        else:
            sc.title = f"{st.label}: any in-window RST resets the connection (RFC 793)"
            sc.rfc = [RFC793_ARRIVES, "RFC 793 §3.4"]
            sc.notes += ["RFC 793: a reset is valid if its sequence number is in the window; the",
                         "connection enters CLOSED."]
            sc.extend(aborted(st))
        return sc

    if kind == "rst-out-of-window":
        seq = r + OUT_OF_WINDOW
        sc.title = f"{st.label}: a RST outside the window is dropped silently"
        sc.rfc += [SEC_RESET_PROC, RFC5961_RST]
        sc.notes += ["RFC 9293 §3.10.7.4 (first, check the sequence number): an unacceptable segment",
                     "carrying RST is dropped without an answer; the connection is kept."]
        sc.ev("+.01", f"< R {seq}:{seq}(0) win {RWIN}")
        sc.extend([same] + cleanup(st))
        return sc

    raise ValueError(kind)


SYNC_KINDS = [
    ("syn", "rfc9293"), ("syn-ack", "rfc9293"), ("syn-ack", "rfc793"), ("ack", "rfc9293"),
    ("ack-unacceptable", "rfc9293"), ("data", "rfc9293"), ("fin", "rfc9293"),
    ("rst-exact", "rfc9293"), ("rst-in-window", "rfc9293"), ("rst-in-window", "rfc793"),
    ("rst-out-of-window", "rfc9293"), ("rst-ack", "rfc9293"),
]


# ---------------------------------------------------------------------------------------------
# CLOSED: no socket at all on 192.168.0.1:8080.


def closed_scripts(c: Corpus) -> None:
    base_notes = [
        "State: CLOSED (no socket is bound to the port). There is no TCB, so no ISN: sequence",
        "numbers in this script are the absolute values on the wire.",
    ]

    def mk(kind: str, title: str, inbound: str, reply: str | None, extra: list[str]) -> None:
        sc = Script(f"matrix/closed/{kind}", f"CLOSED: {title}", "rst" if kind.startswith("rst") else "handshake",
                    [SEC_CLOSED, SEC_RESET_GEN], "rfc9293")
        sc.notes += base_notes + extra
        sc.ev("0", inbound)
        if reply:
            sc.ev("+0", reply)
        sc.ev("+0", "assert state == CLOSED")
        c.add(sc)

    rz = ["A segment without ACK is answered <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;",
          "SYN and FIN count in SEG.LEN."]
    rk = ["A segment with ACK is answered <SEQ=SEG.ACK><CTL=RST>."]
    mk("syn", "a SYN to a closed port is answered with RST+ACK", f"< S 0:0(0) win {RWIN} <mss 1460>",
       "> R. 0:0(0) ack 1 win *", rz)
    mk("syn-ack", "a SYN+ACK is answered with a RST at SEG.ACK", f"< S. 0:0(0) ack 1000 win {RWIN} <mss 1460>",
       "> R 1000:1000(0) win *", rk)
    mk("ack", "an ACK is answered with a RST at SEG.ACK", f"< . 1:1(0) ack 1000 win {RWIN}",
       "> R 1000:1000(0) win *", rk)
    mk("data", "data with ACK is answered with a RST at SEG.ACK", f"< P. 1:11(10) ack 1000 win {RWIN}",
       "> R 1000:1000(0) win *", rk)
    mk("data-no-ack", "data without ACK is answered with RST+ACK covering it", f"< P 1:11(10) win {RWIN}",
       "> R. 0:0(0) ack 11 win *", rz)
    mk("fin", "a FIN with ACK is answered with a RST at SEG.ACK", f"< F. 1:1(0) ack 1000 win {RWIN}",
       "> R 1000:1000(0) win *", rk)
    mk("fin-no-ack", "a FIN without ACK is answered with RST+ACK covering it", f"< F 1:1(0) win {RWIN}",
       "> R. 0:0(0) ack 2 win *", rz)
    mk("rst", "a RST is dropped silently", f"< R 1:1(0) win {RWIN}", None,
       ["An incoming segment containing a RST is discarded: never answer a RST."])
    mk("rst-ack", "a RST+ACK is dropped silently", f"< R. 1:1(0) ack 1000 win {RWIN}", None,
       ["An incoming segment containing a RST is discarded: never answer a RST."])


# ---------------------------------------------------------------------------------------------
# LISTEN: fd 3 listens on 192.168.0.1:8080.


def listen_scripts(c: Corpus) -> None:
    notes = ["State: LISTEN (fd 3). There is no connection yet, so no ISN of ours: sequence and",
             "acknowledgment numbers the peer sends are the absolute values on the wire."]

    def mk(kind: str, title: str, events: list[tuple[str, str]], extra: list[str], area: str = "handshake") -> None:
        sc = Script(f"matrix/listen/{kind}", f"LISTEN: {title}", area, [SEC_LISTEN], "rfc9293")
        sc.notes += notes + extra
        sc.extend(listen())
        sc.extend(events)
        sc.ev("+0", "assert state(3) == LISTEN")
        c.add(sc)

    probe = [
        ("//", "the listener still accepts a connection"),
        ("+.01", f"< S 0:0(0) win {RWIN} <mss 1460>"),
        ("+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>"),
        ("+.01", f"< . 1:1(0) ack 1 win {RWIN}"),
        ("+0", "accept(3, ..., ...) = 4"),
        ("+0", "assert state(4) == ESTABLISHED"),
    ]

    mk("syn", "a SYN is answered with SYN+ACK and leads to SYN-RECEIVED", [
        ("+.01", f"< S 0:0(0) win {RWIN} <mss 1460>"),
        ("+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>"),
        ("+0", "assert state == SYN_RECEIVED"),
        ("+.01", f"< . 1:1(0) ack 1 win {RWIN}"),
        ("+0", "accept(3, ..., ...) = 4"),
        ("+0", "assert state(4) == ESTABLISHED"),
    ], ["Third, check for a SYN: RCV.NXT = SEG.SEQ+1, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>,",
        "enter SYN-RECEIVED. The peer's ACK then completes the three-way handshake."])
    rk = ["Second, check for an ACK: any acknowledgment is bad in LISTEN and is answered",
          "<SEQ=SEG.ACK><CTL=RST>; the listener stays in LISTEN."]
    mk("syn-ack", "a SYN+ACK is answered with a RST at SEG.ACK", [
        ("+.01", f"< S. 0:0(0) ack 1000 win {RWIN} <mss 1460>"),
        ("+0", "> R 1000:1000(0) win *"),
    ] + probe, rk + ["The ACK check comes before the SYN check."])
    mk("ack", "an ACK is answered with a RST at SEG.ACK", [
        ("+.01", f"< . 1:1(0) ack 1000 win {RWIN}"),
        ("+0", "> R 1000:1000(0) win *"),
    ] + probe, rk)
    mk("data", "data with ACK is answered with a RST at SEG.ACK", [
        ("+.01", f"< P. 1:11(10) ack 1000 win {RWIN}"),
        ("+0", "> R 1000:1000(0) win *"),
    ] + probe, rk, "data")
    mk("data-no-ack", "data without ACK or SYN is dropped silently", [
        ("+.01", f"< P 1:11(10) win {RWIN}"),
    ] + probe, ["Fourth, other text or control: a segment with neither SYN nor ACK is dropped."], "data")
    mk("fin", "a FIN with ACK is answered with a RST at SEG.ACK", [
        ("+.01", f"< F. 1:1(0) ack 1000 win {RWIN}"),
        ("+0", "> R 1000:1000(0) win *"),
    ] + probe, rk, "close")
    mk("fin-no-ack", "a FIN without ACK or SYN is dropped silently", [
        ("+.01", f"< F 1:1(0) win {RWIN}"),
    ] + probe, ["Fourth, other text or control: a segment with neither SYN nor ACK is dropped."], "close")
    mk("rst", "a RST is ignored", [("+.01", f"< R 1:1(0) win {RWIN}")] + probe,
       ["First, check for a RST: an incoming RST is ignored."], "rst")
    mk("rst-ack", "a RST+ACK is ignored", [("+.01", f"< R. 1:1(0) ack 1000 win {RWIN}")] + probe,
       ["First, check for a RST: an incoming RST is ignored, and never answered."], "rst")


# ---------------------------------------------------------------------------------------------
# SYN-SENT: a non-blocking connect() from fd 3; our SYN is seq 0, so SND.NXT = 1.


def syn_sent_scripts(c: Corpus) -> None:
    notes = ["State: SYN-SENT (non-blocking connect() on fd 3). Our SYN has seq 0, SND.NXT = 1.",
             "Nothing was received yet: the peer's sequence numbers are absolute."]
    retransmit = [("+0~+3.5", "> S 0:0(0) win * <{mss *, ...}>")]

    def mk(kind: str, title: str, events: list[tuple[str, str]], extra: list[str], area: str = "handshake",
           refs: list[str] | None = None) -> None:
        sc = Script(f"matrix/syn-sent/{kind}", f"SYN-SENT: {title}", area, [SEC_SYN_SENT] + (refs or []), "rfc9293")
        sc.notes += notes + extra
        sc.extend(syn_sent())
        sc.extend(events)
        c.add(sc)

    survives = ["The connection is not harmed: the peer's real SYN+ACK still completes it."]
    mk("syn", "a SYN (simultaneous open) is answered with SYN+ACK and leads to SYN-RECEIVED", [
        ("+.01", f"< S 0:0(0) win {RWIN} <mss 1460>"),
        ("+0", "> S. 0:0(0) ack 1 win * <{mss *, ...}>"),
        ("+0", "assert state == SYN_RECEIVED"),
        ("+.01", f"< . 1:1(0) ack 1 win {RWIN}"),
        ("+0", "assert state == ESTABLISHED"),
    ], ["Fourth, check the SYN bit (no ACK): RCV.NXT = SEG.SEQ+1, enter SYN-RECEIVED and send",
        "<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. The peer's ACK of our SYN then establishes (MUST-10)."],
       refs=["MUST-10", "RFC 9293 §3.5"])
    mk("syn-ack", "an acceptable SYN+ACK is acknowledged and leads to ESTABLISHED",
       complete_active(),
       ["SND.UNA < SEG.ACK =< SND.NXT: the SYN is acknowledged; send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>",
        "and enter ESTABLISHED."], refs=["RFC 9293 §3.5"])
    mk("syn-ack-unacceptable", "a SYN+ACK with a bad ACK is answered with a RST at SEG.ACK", [
        ("+.01", f"< S. 0:0(0) ack 1000 win {RWIN} <mss 1460>"),
        ("+0", "> R 1000:1000(0) win *"),
        ("+0", "assert state == SYN_SENT"),
        ("//", "our SYN is retransmitted when its timer expires; then the real answer comes"),
    ] + retransmit + complete_active(),
       ["First, check the ACK bit: SEG.ACK > SND.NXT is unacceptable: send <SEQ=SEG.ACK><CTL=RST>",
        "and discard the segment; the connection stays in SYN-SENT."] + survives, refs=[SEC_RESET_GEN])
    mk("ack", "an acceptable ACK without SYN is dropped", [
        ("+.01", f"< . 0:0(0) ack 1 win {RWIN}"),
        ("+0", "assert state == SYN_SENT"),
    ] + complete_active(),
       ["Fifth, if neither SYN nor RST is set, drop the segment and return."] + survives, area="data")
    mk("ack-unacceptable", "an ACK of something never sent is answered with a RST at SEG.ACK", [
        ("+.01", f"< . 0:0(0) ack 1000 win {RWIN}"),
        ("+0", "> R 1000:1000(0) win *"),
        ("+0", "assert state == SYN_SENT"),
    ] + retransmit + complete_active(),
       ["First, check the ACK bit: SEG.ACK > SND.NXT: send <SEQ=SEG.ACK><CTL=RST>, discard."] + survives,
       area="data", refs=[SEC_RESET_GEN])
    mk("data", "data without SYN is dropped", [
        ("+.01", f"< P. 0:10(10) ack 1 win {RWIN}"),
        ("+0", "assert state == SYN_SENT"),
    ] + complete_active(),
       ["Fifth, if neither SYN nor RST is set, drop the segment and return."] + survives, area="data")
    mk("fin", "a FIN without SYN is dropped", [
        ("+.01", f"< F. 0:0(0) ack 1 win {RWIN}"),
        ("+0", "assert state == SYN_SENT"),
    ] + complete_active(),
       ["Fifth, if neither SYN nor RST is set, drop the segment and return (FIN is not processed",
        "in SYN-SENT)."] + survives, area="close")
    mk("rst", "a RST without ACK is dropped", [
        ("+.01", f"< R 0:0(0) win {RWIN}"),
        ("+0", "assert state == SYN_SENT"),
    ] + complete_active(),
       ["Second, check the RST bit: without an acceptable ACK, drop the segment (RFC 5961 §3.2:",
        "a RST in SYN-SENT is acceptable only if it acknowledges our SYN)."] + survives,
       area="rst", refs=[RFC5961_RST])
    mk("rst-ack", "a RST acknowledging our SYN refuses the connection", [
        ("+.01", f"< R. 0:0(0) ack 1 win {RWIN}"),
        ("+0", "assert state == CLOSED"),
        ("+0", "getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0"),
    ], ["Second, check the RST bit: the ACK was acceptable: signal \"connection reset\" (the",
        "connect() fails with ECONNREFUSED), enter CLOSED."], area="rst", refs=[SEC_RESET_PROC, "MUST-12"])
    mk("rst-ack-unacceptable", "a RST+ACK with a bad ACK is dropped", [
        ("+.01", f"< R. 0:0(0) ack 1000 win {RWIN}"),
        ("+0", "assert state == SYN_SENT"),
    ] + retransmit + complete_active(),
       ["First, check the ACK bit: a bad ACK on a RST: drop the segment (never answer a RST)."] + survives,
       area="rst", refs=[RFC5961_RST])


# ---------------------------------------------------------------------------------------------
# SYN-RECEIVED from a passive OPEN: our SYN+ACK has seq 0 (SND.NXT = 1), the peer's SYN seq 0
# (RCV.NXT = 1). No fd exists until accept().


def syn_received_scripts(c: Corpus) -> None:
    notes = ["State: SYN-RECEIVED, entered from LISTEN (passive OPEN on fd 3). SND.NXT = 1,",
             "RCV.NXT = 1."]
    back_to_listen = [("+0", "assert state == CLOSED"), ("+0", "assert state(3) == LISTEN")]
    complete = [("+.01", f"< . 1:1(0) ack 1 win {RWIN}"), ("+0", "accept(3, ..., ...) = 4"),
                ("+0", "assert state(4) == ESTABLISHED")]

    def mk(kind: str, title: str, events: list[tuple[str, str]], extra: list[str], area: str = "handshake",
           refs: list[str] | None = None, profile: str = "rfc9293") -> None:
        sc = Script(f"matrix/syn-received/{kind}", f"SYN-RECEIVED: {title}", area,
                    [SEC_OTHER] + (refs or []), profile)
        sc.notes += notes + extra
        sc.extend(syn_received())
        sc.extend(events)
        c.add(sc)

    mk("syn", "an in-window SYN returns a passive connection to LISTEN", [
        ("+.01", f"< S {1 + IN_WINDOW}:{1 + IN_WINDOW}(0) win {RWIN}"),
    ] + back_to_listen,
       ["RFC 9293 §3.10.7.4 (fourth, check the SYN bit): in SYN-RECEIVED, if the connection was",
        "initiated with a passive OPEN, return it to LISTEN and return (nothing is sent)."],
       refs=["RFC 9293 §3.5", "MUST-11"])
    mk("syn-ack", "an in-window SYN+ACK returns a passive connection to LISTEN", [
        ("+.01", f"< S. {1 + IN_WINDOW}:{1 + IN_WINDOW}(0) ack 1 win {RWIN}"),
    ] + back_to_listen,
       ["The SYN check (fourth) comes before the ACK check (fifth): a passive connection returns",
        "to LISTEN; nothing is sent."], refs=["MUST-11"])
    mk("syn-ack-rfc793", "an in-window SYN+ACK resets the connection (RFC 793)", [
        ("+.01", f"< S. {1 + IN_WINDOW}:{1 + IN_WINDOW}(0) ack 1 win {RWIN}"),
        ("+0", "> R 1:1(0) win *"),
    ] + back_to_listen,
       ["RFC 793 p. 71: a SYN in the window is an error: send a reset (<SEQ=SEG.ACK><CTL=RST>,",
        "the segment having an ACK field) and delete the connection; the listener is unaffected."],
       refs=[RFC793_ARRIVES], profile="rfc793")
    mk("ack", "the ACK of our SYN completes the handshake", complete,
       ["Fifth, check the ACK field: SND.UNA < SEG.ACK =< SND.NXT: enter ESTABLISHED."],
       refs=["RFC 9293 §3.5"])
    mk("ack-unacceptable", "an unacceptable ACK is answered with a RST at SEG.ACK", [
        ("+.01", f"< . 1:1(0) ack {1 + BAD_ACK} win {RWIN}"),
        ("+0", f"> R {1 + BAD_ACK}:{1 + BAD_ACK}(0) win *"),
        ("+0", "assert state == SYN_RECEIVED"),
    ] + complete,
       ["Fifth, check the ACK field: an unacceptable ACK is answered <SEQ=SEG.ACK><CTL=RST>; the",
        "half-open connection stays, and the peer's real ACK still completes it."],
       area="data", refs=[SEC_RESET_GEN])
    mk("data", "data with the ACK of our SYN establishes and is delivered", [
        ("+.01", f"< P. 1:11(10) ack 1 win {RWIN}"),
        ack_line(1, 11),
        ("+0", "accept(3, ..., ...) = 4"),
        ("+0", "assert state(4) == ESTABLISHED"),
        ("+0", "read(4, ..., 100) = 10"),
    ], ["The ACK establishes the connection, then the text is queued and acknowledged (the ACK",
        "may be delayed by less than 0.5 s, MUST-40)."], area="data", refs=["MUST-40"])
    mk("fin", "a FIN with the ACK of our SYN establishes and leads to CLOSE-WAIT", [
        ("+.01", f"< F. 1:1(0) ack 1 win {RWIN}"),
        ack_line(1, 2),
        ("+0", "accept(3, ..., ...) = 4"),
        ("+0", "assert state(4) == CLOSE_WAIT"),
        ("+0", "read(4, ..., 100) = 0"),
    ], ["Fifth: the ACK moves the connection to ESTABLISHED; eighth: the FIN is acknowledged",
        "and the connection enters CLOSE-WAIT."], area="close")
    rst_refs = [SEC_RESET_PROC, "MUST-11"]
    mk("rst-exact", "a RST at RCV.NXT returns a passive connection to LISTEN", [
        ("+.01", f"< R 1:1(0) win {RWIN}"),
    ] + back_to_listen,
       ["Second, check the RST bit: a connection from a passive OPEN returns to LISTEN; the",
        "user need not be informed (MUST-11)."], area="rst", refs=rst_refs)
    mk("rst-in-window", "an in-window RST not at RCV.NXT draws a challenge ACK", [
        ("+.01", f"< R {1 + IN_WINDOW}:{1 + IN_WINDOW}(0) win {RWIN}"),
        ack_line(1, 1),
        ("+0", "assert state == SYN_RECEIVED"),
    ] + complete,
       ["Second, check the RST bit (RFC 5961 §3.2): not exactly RCV.NXT but in the window:",
        "send a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the connection is kept."],
       area="rst", refs=rst_refs + [RFC5961_RST])
    mk("rst-in-window-rfc793", "any in-window RST returns a passive connection to LISTEN (RFC 793)", [
        ("+.01", f"< R {1 + IN_WINDOW}:{1 + IN_WINDOW}(0) win {RWIN}"),
    ] + back_to_listen,
       ["RFC 793: a RST is valid if its sequence number is in the window; a connection from a",
        "passive OPEN returns to LISTEN."], area="rst", refs=[RFC793_ARRIVES, "MUST-11"], profile="rfc793")
    mk("rst-out-of-window", "a RST outside the window is dropped silently", [
        ("+.01", f"< R {1 + OUT_OF_WINDOW}:{1 + OUT_OF_WINDOW}(0) win {RWIN}"),
        ("+0", "assert state == SYN_RECEIVED"),
    ] + complete,
       ["First, check the sequence number: an unacceptable RST is dropped without an answer."],
       area="rst", refs=[SEC_RESET_PROC, RFC5961_RST])
    mk("rst-ack", "a RST+ACK at RCV.NXT returns a passive connection to LISTEN", [
        ("+.01", f"< R. 1:1(0) ack 1 win {RWIN}"),
    ] + back_to_listen,
       ["The RST check comes before the ACK check; a passive connection returns to LISTEN."],
       area="rst", refs=rst_refs)


def matrix(c: Corpus) -> None:
    closed_scripts(c)
    listen_scripts(c)
    syn_sent_scripts(c)
    syn_received_scripts(c)
    for st in sync_states():
        for kind, profile in SYNC_KINDS:
            sc = sync_script(st, kind, profile)
            if sc is not None:
                c.add(sc)



def client_states() -> list[Sync]:
    """The synchronized states again, reached from an active OPEN (fd 3, the stack is the client)."""
    est = active_established()
    return [
        Sync("established", "ESTABLISHED", "ESTABLISHED", est, 1, 1, "rst", 3, None,
             "active open (non-blocking connect() on fd 3)"),
        Sync("fin-wait-1", "FIN_WAIT_1", "FIN-WAIT-1", est + fin_wait_1(3), 2, 1, "rst", 3, "FIN_WAIT_2",
             "active open, then shutdown(SHUT_WR): our FIN (seq 1) is unacknowledged"),
        Sync("fin-wait-2", "FIN_WAIT_2", "FIN-WAIT-2", est + fin_wait_2(3), 2, 1, "rst", 3, None,
             "active open, shutdown(SHUT_WR), the peer ACKs our FIN"),
        Sync("close-wait", "CLOSE_WAIT", "CLOSE-WAIT", est + close_wait(3), 1, 2, "rst", None, None,
             "active open, the peer's FIN (seq 1) is ACKed"),
        Sync("closing", "CLOSING", "CLOSING", est + closing(3), 2, 2, "rst", None, "TIME_WAIT",
             "active open, shutdown(SHUT_WR), the peer's FIN crosses ours"),
        Sync("last-ack", "LAST_ACK", "LAST-ACK", est + last_ack(3), 2, 2, "rst", None, "CLOSED",
             "active open, the peer's FIN, then close()"),
        Sync("time-wait", "TIME_WAIT", "TIME-WAIT", est + time_wait(3), 2, 2, "rst", None, None,
             "active open, close(), the peer's FIN+ACK"),
    ]


def client_rst(c: Corpus) -> None:
    """scripts/rst/<state>-<position>: the RST column once more, on the active opener's side."""
    names = {"rst-exact": "exact", "rst-in-window": "in-window", "rst-out-of-window": "out-of-window"}
    for st in client_states():
        for kind, profile in [("rst-exact", "rfc9293"), ("rst-in-window", "rfc9293"),
                              ("rst-in-window", "rfc793"), ("rst-out-of-window", "rfc9293")]:
            sc = sync_script(st, kind, profile)
            if sc is None:
                continue
            suffix = "" if profile == "rfc9293" else "-rfc793"
            sc.path = f"rst/{st.key}-{names[kind]}{suffix}"
            sc.title = sc.title.replace(f"{st.label}:", f"{st.label} (active opener):", 1)
            c.add(sc)
