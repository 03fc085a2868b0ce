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
from corpus_matrix import client_rst, matrix  # noqa: E402


def main() -> int:
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")
    corpus = Corpus()
    matrix(corpus)
    client_rst(corpus)
    areas(corpus)
    corpus.write(root)
    print(f"wrote {len(corpus.scripts)} scripts under {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
