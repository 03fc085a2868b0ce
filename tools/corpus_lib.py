"""Building blocks for tools/gen_corpus.py: a script model and the shared openings.

Every script the generator writes is plain tcpconf/packetdrill text; this module only saves us from
typing the same handshake 250 times. Sequence numbers are relative: the stack's ISN is 0 (its
first byte is 1) and the remote side always starts at 0, so SND.NXT/RCV.NXT arithmetic can be
read straight off each script.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# The window the remote side advertises on every injected segment (no window scaling).
RWIN = 65535


@dataclass
class Script:
    """One .pkt file: metadata, an explanatory comment and timed events."""

    path: str  # relative to scripts/, without .pkt
    title: str
    area: str
    rfc: list[str]
    profile: str = "rfc9293"
    strict: str | None = None
    notes: list[str] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)

    def ev(self, time: str, action: str) -> "Script":
        self.events.append((time, action))
        return self

    def extend(self, events: list[tuple[str, str]]) -> "Script":
        self.events.extend(events)
        return self

    def render(self) -> str:
        out = [f"//! title: {self.title}", f"//! area: {self.area}"]
        for ref in self.rfc:
            out.append(f"//! rfc: {ref}")
        out.append(f"//! profile: {self.profile}")
        if self.strict is not None:
            out.append(f"//! strict: {self.strict}")
        out.append("//")
        for line in self.notes:
            out.append(f"// {line}".rstrip())
        out.append("")
        for time, action in self.events:
            if time == "//":
                out.append(f"// {action}")
            else:
                out.append(f"{time:<9} {action}".rstrip())
        return "\n".join(out) + "\n"


class Corpus:
    """Collects scripts and writes them under a root directory."""

    def __init__(self) -> None:
        self.scripts: list[Script] = []

    def add(self, script: Script) -> Script:
        if any(s.path == script.path for s in self.scripts):
            raise ValueError(f"duplicate script path {script.path}")
        self.scripts.append(script)
        return script

    def write(self, root: str) -> None:
        for script in self.scripts:
            target = os.path.join(root, script.path + ".pkt")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as f:
                f.write(script.render())


# ---------------------------------------------------------------------------------------------
# Writing scenarios.

E = list[tuple[str, str]]

ACK = "+0~+0.5"  # an ACK may be delayed, by less than 0.5 s (MUST-40)
NODELAY4 = ("+0", "setsockopt(4, IPPROTO_TCP, TCP_NODELAY, [1], 4) = 0")
NODELAY3 = ("+0", "setsockopt(3, IPPROTO_TCP, TCP_NODELAY, [1], 4) = 0")


def add(c: Corpus, path: str, title: str, area: str, refs: list[str], notes: list[str], events: E,
        profile: str = "rfc9293", strict: str | None = None) -> None:
    c.add(Script(path, title, area, refs, profile, strict, list(notes), list(events)))


def ev(*pairs: str) -> E:
    """ev("+0", "a", "+.01", "b") -> [("+0", "a"), ("+.01", "b")]."""
    return [(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]


# ---------------------------------------------------------------------------------------------
# Openings. Each returns the events that bring the stack into a state; the docstring says the
# resulting SND.NXT (s) and RCV.NXT (r) in relative numbers.


def listen() -> list[tuple[str, str]]:
    """A listener on 192.168.0.1:8080 as fd 3."""
    return [
        ("0", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3"),
        ("+0", "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0"),
        ("+0", "bind(3, ..., ...) = 0"),
        ("+0", "listen(3, 1) = 0"),
    ]


def syn_received(syn_opts: str = "<mss 1460>", synack_opts: str = "<{mss *, ...}>") -> list[tuple[str, str]]:
    """Passive open up to SYN-RECEIVED (no fd yet): s=1, r=1."""
    return listen() + [
        ("+0", f"< S 0:0(0) win {RWIN} {syn_opts}".rstrip()),
        ("+0", f"> S. 0:0(0) ack 1 win * {synack_opts}".rstrip()),
    ]


def passive_established(syn_opts: str = "<mss 1460>", synack_opts: str = "<{mss *, ...}>") -> list[tuple[str, str]]:
    """Passive open: the accepted connection is fd 4 in ESTABLISHED; s=1, r=1."""
    return syn_received(syn_opts, synack_opts) + [
        ("+.01", f"< . 1:1(0) ack 1 win {RWIN}"),
        ("+0", "accept(3, ..., ...) = 4"),
        ("+0", "assert state(4) == ESTABLISHED"),
    ]


def syn_sent() -> list[tuple[str, str]]:
    """Non-blocking active open from fd 3 up to SYN-SENT: s=1 (the SYN), r undefined."""
    return [
        ("0", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3"),
        ("+0", "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0"),
        ("+0", "connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)"),
        ("+0", "> S 0:0(0) win * <{mss *, ...}>"),
    ]


def complete_active(delay: str = "+.01", synack_opts: str = "<mss 1460>") -> list[tuple[str, str]]:
    """The remote answers our SYN; we ACK it: s=1, r=1."""
    return [
        (delay, f"< S. 0:0(0) ack 1 win {RWIN} {synack_opts}".rstrip()),
        ("+0", "> . 1:1(0) ack 1 win *"),
        ("+0", "assert state(3) == ESTABLISHED"),
    ]


def active_established() -> list[tuple[str, str]]:
    """Active open: fd 3 in ESTABLISHED; s=1, r=1."""
    return syn_sent() + complete_active()


def fin_wait_1(fd: int = 4, how: str = "shutdown") -> list[tuple[str, str]]:
    """From passive ESTABLISHED, the application closes its side: s=2 (our FIN unacked), r=1."""
    call = f"shutdown({fd}, SHUT_WR) = 0" if how == "shutdown" else f"close({fd}) = 0"
    return [
        ("+.01", call),
        ("+0", "> F. 1:1(0) ack 1 win *"),
        ("+0", "assert state == FIN_WAIT_1"),
    ]


def fin_wait_2(fd: int = 4, how: str = "shutdown") -> list[tuple[str, str]]:
    """FIN-WAIT-1 and the peer ACKs our FIN: s=2, r=1."""
    return fin_wait_1(fd, how) + [
        ("+.01", f"< . 1:1(0) ack 2 win {RWIN}"),
        ("+0", "assert state == FIN_WAIT_2"),
    ]


def close_wait(fd: int = 4) -> list[tuple[str, str]]:
    """From passive ESTABLISHED, the peer closes: s=1, r=2 (its FIN consumed one)."""
    return [
        ("+.01", f"< F. 1:1(0) ack 1 win {RWIN}"),
        ("+0~+0.5", "> . 1:1(0) ack 2 win *"),
        ("+0", "assert state == CLOSE_WAIT"),
    ]


def closing(fd: int = 4) -> list[tuple[str, str]]:
    """FIN-WAIT-1 and the peer's FIN crosses ours (it does not ACK ours): s=2, r=2."""
    return fin_wait_1(fd) + [
        ("+.01", f"< F. 1:1(0) ack 1 win {RWIN}"),
        ("+0~+0.5", "> . 2:2(0) ack 2 win *"),
        ("+0", "assert state == CLOSING"),
    ]


def last_ack(fd: int = 4) -> list[tuple[str, str]]:
    """CLOSE-WAIT and the application closes: s=2 (our FIN unacked), r=2."""
    return close_wait(fd) + [
        ("+.01", f"close({fd}) = 0"),
        ("+0", "> F. 1:1(0) ack 2 win *"),
        ("+0", "assert state == LAST_ACK"),
    ]


def time_wait(fd: int = 4) -> list[tuple[str, str]]:
    """Active close; the peer's FIN also ACKs ours, straight from FIN-WAIT-1: s=2, r=2."""
    return [
        ("+.01", f"close({fd}) = 0"),
        ("+0", "> F. 1:1(0) ack 1 win *"),
        ("+.01", f"< F. 1:1(0) ack 2 win {RWIN}"),
        ("+0~+0.5", "> . 2:2(0) ack 2 win *"),
        ("+0", "assert state == TIME_WAIT"),
    ]
