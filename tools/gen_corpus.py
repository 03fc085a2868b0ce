#!/usr/bin/env python3
"""Regenerate the conformance corpus: `python3 tools/gen_corpus.py` (from the repository root).

Writes every script under scripts/ (the files are committed; this only keeps them consistent).
Files under scripts/ that the generator does not produce (scripts/README.md) are left alone.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from corpus_lib import Corpus  # noqa: E402
from corpus_areas import areas  # noqa: E402
from corpus_events import events  # noqa: E402
from corpus_matrix import client_rst, matrix  # noqa: E402
from corpus_readme import render  # noqa: E402
from corpus_window import window  # noqa: E402


def main() -> int:
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")
    corpus = Corpus()
    matrix(corpus)
    client_rst(corpus)
    areas(corpus)
    events(corpus)
    window(corpus)
    corpus.write(root)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "scripts-README.md.in"), encoding="utf-8") as f:
        template = f.read()
    with open(os.path.join(here, "linux-check.md"), encoding="utf-8") as f:
        template = template.replace("@@LINUX@@", f.read().rstrip("\n"))
    with open(os.path.join(root, "README.md"), "w", encoding="utf-8") as f:
        f.write(render(corpus, template))
    print(f"wrote {len(corpus.scripts)} scripts under {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
