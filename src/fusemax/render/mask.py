"""Attention masks as sums of dense rectangles, which is what Timeloop can model.

Timeloop evaluates dense boxes, so a masked prefill (``causal``, or a sliding ``window``) is split into
rectangles, each an ordinary dense workload with a span of (queries, keys):

* the queries are cut into blocks of ``block`` rows (the 2D array's tile: ``pe_dim`` queries against
  ``pe_dim`` keys per step in every configuration);
* a query block reads the key blocks that hold at least one key some query of the block sees, and skips
  the key blocks none of its queries sees (a FlashAttention-style kernel's loop bounds); a key block that is
  only partly visible is computed in full, so an implementation's ``ops`` exceed the algorithm's ``flops``;
* query blocks that read the same number of keys form one :class:`Piece`: one spec of ``block`` queries
  against those keys, counted ``count`` times. Each query block streams its own K and V from DRAM (no
  reuse of K/V between query blocks is modelled).

Decode needs no rectangles: its one query sees every cached key (``causal``) or the last ``window`` of them
(:attr:`fusemax.workload.Workload.M`). Without a mask (``none``) the point is its own single rectangle.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from fusemax.workload import PREFILL, Workload


@dataclass(frozen=True)
class Piece:
    """``count`` query blocks of ``queries`` rows, each reading ``keys`` keys."""

    queries: int
    keys: int
    count: int


def is_masked(workload: Workload) -> bool:
    """True when the mask removes work from ``workload`` (a prefill under a causal or window mask)."""
    return workload.phase == PREFILL and workload.span is None and workload.model.mask != "none"


def pieces(workload: Workload, block: int) -> tuple[Piece, ...]:
    """The dense rectangles of ``workload`` with query and key blocks of ``block`` (ordered by keys)."""
    if not is_masked(workload):
        return (Piece(workload.P, workload.M, 1),)
    length, window = workload.seq_len, workload.model.window
    counts: Counter[tuple[int, int]] = Counter()
    for first in range(0, length, block):
        last = min(length, first + block)          # one past the block's last query
        lowest = 0 if window is None else max(0, first - window + 1)   # the first query's oldest key
        start = lowest // block * block
        end = min(length, -(-last // block) * block)
        counts[(last - first, end - start)] += 1
    return tuple(Piece(q, k, c) for (q, k), c in sorted(counts.items(), key=lambda item: (item[0][1], item[0][0])))


def live_pairs(workload: Workload) -> int:
    """Query-key pairs the mask leaves, per sequence and head: the algorithm's work (P x M without a mask;
    P (P + 1) / 2 for a causal prefill of P tokens)."""
    if not is_masked(workload):
        return workload.P * workload.M
    length, window = workload.seq_len, workload.model.window
    if window is None or window >= length:
        return length * (length + 1) // 2
    return window * (window + 1) // 2 + (length - window) * window


#: Rectangles of one query size evaluated one by one up to this many; beyond it, the whole-block ones are
#: priced from the two at the ends of their range (see :func:`evaluation_weights`), so a point evaluates at
#: most three per query size (FLAT searches a dataflow for each: the study's cost).
EXACT_UP_TO = 3


def evaluation_weights(parts: tuple[Piece, ...], block: int) -> list[tuple[Piece, float]]:
    """The rectangles to evaluate and their weights: Σ weight x statistics = Σ count x statistics of every
    piece.

    A rectangle of q queries against k whole key blocks (k >= 2) is one loop nest whose key loop runs k
    times, so its statistics are affine in k; for a causal prefill of n blocks there are n such rectangles
    and only the smallest and largest are evaluated, each weighted by what interpolating the others between
    them gives (tests/experiments/test_mask.py checks the result against the plain sum for every
    configuration). Up to :data:`EXACT_UP_TO` rectangles of a query size, every one is evaluated.
    """
    by_queries: dict[int, list[Piece]] = {}
    for piece in parts:
        by_queries.setdefault(piece.queries, []).append(piece)
    out: list[tuple[Piece, float]] = []
    for group in by_queries.values():
        linear = [p for p in group if p.keys % block == 0 and p.keys >= 2 * block]
        if len(group) <= EXACT_UP_TO or len(linear) < 3:
            out += [(p, float(p.count)) for p in group]
            continue
        out += [(p, float(p.count)) for p in group if p not in linear]
        low, high = min(linear, key=lambda p: p.keys), max(linear, key=lambda p: p.keys)
        width = high.keys - low.keys
        out.append((low, sum(p.count * (high.keys - p.keys) for p in linear) / width))
        out.append((high, sum(p.count * (p.keys - low.keys) for p in linear) / width))
    return out
