"""scripts/README.md: layout, conventions, and the RFC 9293 requirement coverage computed from the
scripts' own `//! rfc:` metadata (so the table cannot drift from the corpus)."""

from __future__ import annotations

import re
from collections import defaultdict

from corpus_lib import Corpus

# Packet-testable RFC 9293 requirement ids of the corpus's areas (handshake, close, half-close,
# RST/ICMP, TIME-WAIT, options, data/ACK, timers) that no script covers, and why.
UNCOVERED = {
    "MUST-50": "no syntax for IP options (packetdrill has none either)",
    "MUST-51": "no syntax for IP options (source route)",
    "MUST-52": "no syntax for IP options (source route)", "MUST-53": "no syntax for IP options (source route)",
    "SHLD-24": "no syntax for IP options (source route)", "MAY-10": "no syntax for IP options",
    "MAY-11": "no syntax for IP options",
    "MUST-59": "not observable on the wire: which segments a stack holds in a queue at once is internal",
    "MUST-66": "needs a receive window of exactly zero at a known RCV.NXT; the window a stack offers, and "
               "how SO_RCVBUF sizes it, differ per stack, so filling it is not portable (the reference "
               "stack's unit test `zero_window_still_accepts_ack_and_rst` covers it)",
    "SHLD-14": "a script compares each window field with a constant, never two fields with each other "
               "(W2 >= W1 - n); the values are the stack's choice. The property test "
               "`tests/tcp_proptest.rs` checks that the reference stack's right edge never moves left",
    "MAY-6": "keep-alive probes with a garbage octet are a configuration, off by default (SHLD-12)",
    "MAY-7": "a permission (retransmitting beyond the right edge), not a behaviour to require",
    "MAY-8": "a permission (keeping a window closed indefinitely), not a behaviour to require",
    "SHLD-10": "not observable on the wire (R1 is advice to IP)",
    "MAY-4": "the IPv4 ID is not matched by the language",
    "SHLD-6": "not observable on the wire", "MAY-18": "not observable on the wire",
    "MAY-16": "internal buffering, not observable portably",
}

AREA_IDS = [
    # handshake
    "MUST-10", "MUST-11", "SHLD-8",
    # close, half-close, TIME-WAIT
    "MUST-12", "MUST-13", "SHLD-3", "SHLD-4", "MAY-1", "MAY-2",
    # RST and ICMP
    "MUST-54", "MUST-56", "MUST-66", "SHLD-2", "SHLD-26",
    # options
    "MUST-4", "MUST-5", "MUST-6", "MUST-7", "MUST-14", "MUST-15", "MUST-16", "MUST-50", "MUST-51",
    "MUST-52", "MUST-53", "MUST-64", "MUST-65", "MUST-67", "MUST-68", "MUST-69", "SHLD-5", "SHLD-6",
    "SHLD-24", "MAY-3", "MAY-10", "MAY-11",
    # data and ACK
    "MUST-1", "MUST-2", "MUST-3", "MUST-17", "MUST-40", "MUST-58", "MUST-59", "MUST-60", "MUST-61",
    "SHLD-7", "SHLD-18", "SHLD-19", "SHLD-27", "SHLD-28", "SHLD-31", "MAY-12", "MAY-13", "MAY-16",
    # timers
    "MUST-18", "MUST-19", "MUST-20", "MUST-22", "MUST-23", "MUST-25", "MUST-26", "MUST-28", "MUST-29",
    "MUST-35", "MUST-36", "MUST-37", "SHLD-10", "SHLD-11", "SHLD-12", "SHLD-29", "SHLD-30", "MAY-4",
    "MAY-5", "MAY-6", "MAY-18",
    # window management (RFC 9293 §3.8.6)
    "MUST-34", "MUST-38", "MUST-39", "SHLD-14", "SHLD-15", "SHLD-16", "SHLD-17", "MAY-7", "MAY-8",
]

ID_RE = re.compile(r"\b(MUST|SHLD|MAY|REC)-\d+\b")


def folder(path: str) -> str:
    parts = path.split("/")
    if parts[0] == "matrix":
        return "matrix/" + parts[1]
    return parts[0] if len(parts) > 1 else path + ".pkt"


def sort_key(rid: str) -> tuple[int, int]:
    kind, num = rid.split("-")
    return (["MUST", "SHLD", "MAY", "REC"].index(kind), int(num))


def coverage(c: Corpus) -> dict[str, dict[str, int]]:
    cov: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in c.scripts:
        for ref in s.rfc:
            for m in ID_RE.finditer(ref):
                cov[m.group(0)][folder(s.path)] += 1
    return cov


def render(c: Corpus, template: str) -> str:
    cov = coverage(c)
    folders: dict[str, int] = defaultdict(int)
    profiles: dict[str, int] = defaultdict(int)
    for s in c.scripts:
        folders[folder(s.path)] += 1
        profiles[s.profile] += 1
    rows = ["| folder | scripts |", "|---|--:|"]
    rows += [f"| `{f}` | {n} |" for f, n in sorted(folders.items())]
    rows.append(f"| **total** | **{len(c.scripts)}** ({profiles['rfc9293']} `rfc9293`, {profiles['rfc793']} `rfc793`) |")
    cov_rows = ["| id | scripts | folders |", "|---|--:|---|"]
    for rid in sorted(cov, key=sort_key):
        where = ", ".join(f"`{f}` ({n})" for f, n in sorted(cov[rid].items()))
        cov_rows.append(f"| {rid} | {sum(cov[rid].values())} | {where} |")
    missing = [rid for rid in AREA_IDS if rid not in cov]
    unexplained = [rid for rid in missing if rid not in UNCOVERED]
    if unexplained:
        raise ValueError(f"ids neither covered nor explained: {unexplained}")
    stale = [rid for rid in UNCOVERED if rid in cov]
    if stale:
        raise ValueError(f"ids listed as uncovered but covered: {stale}")
    unc_rows = ["| id | why no script |", "|---|---|"]
    unc_rows += [f"| {rid} | {UNCOVERED[rid]} |" for rid in sorted(missing, key=sort_key)]
    covered_in_area = len([rid for rid in AREA_IDS if rid in cov])
    return (template
            .replace("@@FOLDERS@@", "\n".join(rows))
            .replace("@@COVERAGE@@", "\n".join(cov_rows))
            .replace("@@UNCOVERED@@", "\n".join(unc_rows))
            .replace("@@COUNTS@@", f"{covered_in_area} of the {len(AREA_IDS)} ids of these areas are covered; "
                                   f"{len(missing)} are not, each for the reason given; {len(cov)} ids "
                                   f"appear in the corpus in all."))
