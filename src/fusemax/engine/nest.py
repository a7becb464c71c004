"""Closed-form nest analysis with the semantics of Timeloop v3's legacy ``NestAnalysis`` + ``tiling``.

Vocabulary (as in Timeloop): storage levels are indexed innermost first; each level owns spatial loops
(innermost, fanning out to the level below) and temporal loops. The *tile* of a data space at a level is
the box of data touched by all loops at or below that level. Its *delta* is the data that enters the
level over the whole run: Timeloop subtracts the previous tile from the current one at every invocation,
so a loop over a rank the data space does not use re-uses the tile, and only the outermost loops from
the innermost relevant one contribute.

Timeloop does not walk every iteration: each temporal loop runs iteration 0, then iteration 1 standing
in for the remaining ``n-1`` ("temporal extrapolation"), and a delta is only taken against the previous
tile when the tile moved by the same stride as last time. For data spaces whose tiles never overlap
that is equivalent to the textbook product; for sliding windows (a data dimension that sums ranks) we
replay exactly that 0/1 walk over the loops above the level (2^m steps for m non-trivial loops).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Iterable

from fusemax.engine.model import DataSpace, LevelMapping, Problem


@dataclass
class NestInfo:
    """Per-level loop facts shared by every data space."""

    ext: list[dict[str, int]]          # rank extent of the tile at level i (loops at or below i)
    spatial_ext: list[dict[str, int]]  # rank extent of the fan-out at level i (loops below i + i's spatial)
    fanout: list[int]                  # product of level i's spatial loops
    fanout_x: list[int]
    fanout_y: list[int]
    compute_cycles: int                # product of all temporal loop bounds
    #: The non-trivial temporal loops of the whole nest, innermost first: ``(level, rank, stride, bound)``,
    #: ``stride`` being the operation-space extent of ``rank`` inside the loop (one iteration's step).
    #: Kept once here so that the loops above a level cost their number, not the number of levels: a
    #: spec with thousands of levels stays linear (loops of bound 1 change neither strides nor deltas).
    loops: list[tuple[int, str, int, int]]
    #: ``loops_above[i]``: index in :attr:`loops` of the first loop of a level above ``i``.
    loops_above: list[int]

    def temporal_loops_above(self, level: int) -> list[tuple[str, int, int]]:
        """``(rank, stride, bound)`` of the non-trivial temporal loops of the levels above ``level``
        (``-1``: every level), outermost first."""
        start = self.loops_above[level] if level >= 0 else 0
        return [(rank, stride, bound) for _, rank, stride, bound in reversed(self.loops[start:])]

    def with_order(self, levels: list[LevelMapping]) -> "NestInfo":
        """This nest with the temporal loops of ``levels`` (the same bounds per level and rank, perhaps in
        another order): the extents, fan-outs and cycles do not depend on the order, only :attr:`loops`
        does. A mapper trying every order of one factor choice builds the rest once."""
        loops, above = _temporal_loops(levels, self.spatial_ext)
        return NestInfo(self.ext, self.spatial_ext, self.fanout, self.fanout_x, self.fanout_y,
                        self.compute_cycles, loops, above)


def nest_info(problem: Problem, levels: list[LevelMapping]) -> NestInfo:
    ext, spatial_ext, fanout, fx, fy = [], [], [], [], []
    cur = {r: 1 for r in problem.ranks}
    cycles = 1
    for lm in levels:
        f = x = y = 1
        for loop in lm.spatial:
            cur[loop.rank] *= loop.bound
            f *= loop.bound
            if loop.spatial == "Y":
                y *= loop.bound
            else:
                x *= loop.bound
        spatial_ext.append(dict(cur))
        for loop in lm.temporal:
            cur[loop.rank] *= loop.bound
            cycles *= loop.bound
        ext.append(dict(cur))
        fanout.append(f)
        fx.append(x)
        fy.append(y)
    loops, above = _temporal_loops(levels, spatial_ext)
    return NestInfo(ext, spatial_ext, fanout, fx, fy, cycles, loops, above)


def _temporal_loops(levels: list[LevelMapping],
                    spatial_ext: list[dict[str, int]]) -> tuple[list[tuple[int, str, int, int]], list[int]]:
    """:attr:`NestInfo.loops` and :attr:`NestInfo.loops_above`: a loop's stride is its rank's extent below
    it, i.e. the level's spatial extent times the level's temporal loops inside it."""
    loops: list[tuple[int, str, int, int]] = []
    above = []
    for li, lm in enumerate(levels):
        cur = None
        for loop in lm.temporal:
            if loop.bound > 1:
                if cur is None:
                    cur = dict(spatial_ext[li])
                loops.append((li, loop.rank, cur[loop.rank], loop.bound))
                cur[loop.rank] *= loop.bound
        above.append(len(loops))
    return loops, above


def box_extents(ds: DataSpace, ext: dict[str, int]) -> list[int]:
    """Extent of each data dimension of the box that an operation-space box of ``ext`` projects to."""
    return [sum(c * (ext[r] - 1) for r, c in dim) + 1 for dim in ds.projection]


def box_size(ds: DataSpace, ext: dict[str, int]) -> int:
    """Words in that box: the product of :func:`box_extents`, computed inline because the engine and the
    mapper call it for every level and tensor of every candidate (one-term dimensions, the usual case,
    skip the generator)."""
    size = 1
    unit = ds.unit_ranks
    if unit is not None:
        for r in unit:
            size *= ext[r]
        return size
    for dim in ds.projection:
        if len(dim) == 1:
            r, c = dim[0]
            size *= c * (ext[r] - 1) + 1
        else:
            size *= sum(c * (ext[r] - 1) for r, c in dim) + 1
    return size


def multicast(ds: DataSpace, lm: LevelMapping) -> int:
    """Product of a level's spatial loops over ranks the data space ignores: those children share data."""
    m = 1
    ranks = ds.ranks
    for loop in lm.spatial:
        if loop.rank not in ranks:
            m *= loop.bound
    return m


def temporal_delta(ds: DataSpace, level: int, info: NestInfo,
                   size: int | None = None) -> int:
    """Words of ``ds`` that enter the tile of ``level`` over the run (per instance), as Timeloop counts them.
    ``size``: the tile's words when the caller has them (``box_size(ds, info.ext[level])``)."""
    if ds.sliding:
        return _sliding_delta(ds, level, info)
    if size is None:
        size = box_size(ds, info.ext[level])
    return size * delta_multiplier(ds.ranks, info.loops[info.loops_above[level]:])


def delta_multiplier(ranks: frozenset[str], loops: Iterable[tuple[int, str, int, int]]) -> int:
    """How many times a tile over ``ranks`` is filled by the loops above it (:attr:`NestInfo.loops`
    entries, innermost first): the product of the bounds from the innermost non-trivial loop over one of
    ``ranks`` outwards (1 if there is none; the loops inside it re-use the tile). Non-overlapping tiles
    only."""
    total = 0
    for _, rank, _, bound in loops:
        if total:
            total *= bound
        elif bound > 1 and rank in ranks:
            total = bound
    return total or 1


def _sliding_delta(ds: DataSpace, level: int, info: NestInfo) -> int:
    """Replay Timeloop's extrapolated walk (iterations 0 and 1 of each loop) with stride-change resets."""
    extents = box_extents(ds, info.ext[level])
    size = 1
    for e in extents:
        size *= e
    # Loops above the level, outermost first, with the operation-space stride of one iteration.
    loops = info.temporal_loops_above(level)
    if not loops:
        return size
    # Data-space stride vector of one iteration of each loop.
    steps = []
    for rank, st, bound in loops:
        vec = tuple(sum(c * st for r, c in dim if r == rank) for dim in ds.projection)
        steps.append((vec, bound - 1))
    total = 0
    prev = None          # low corner of the previous tile
    prev_t = None        # translation Timeloop remembers (None = "order-0", no stride yet)
    ndim = len(extents)
    for idx in product((0, 1), repeat=len(steps)):
        weight = 1
        offsets = [0] * ndim
        for (vec, extra), i in zip(steps, idx):
            if i:
                weight *= extra
                for d in range(ndim):
                    offsets[d] += vec[d]
        pos = tuple(offsets)
        if prev is None:
            delta, prev_t = size, None
        else:
            t = tuple(p - q for p, q in zip(pos, prev))
            if prev_t is None or t == prev_t:
                overlap = 1
                for d in range(ndim):
                    overlap *= max(0, extents[d] - abs(t[d]))
                delta = size - overlap
                prev_t = t
            else:
                delta, prev_t = size, None
        prev = pos
        total += delta * weight
    return total


def spatial_order(lm: LevelMapping) -> list:
    """A level's spatial loops innermost first, as Timeloop nests them: X loops inside Y loops."""
    return [lp for lp in lm.spatial if lp.spatial != "Y"] + [lp for lp in lm.spatial if lp.spatial == "Y"]


def innermost_spatial_accesses(ds: DataSpace, levels: list[LevelMapping], info: NestInfo,
                               phys_x: int, phys_y: int) -> int:
    """Accesses that the PEs under an innermost spatial level make to the level above, with link transfers.

    When the innermost storage level fans out directly to the arithmetic units, Timeloop compares every
    PE's operand with what its mesh neighbours (left/right/up/down, no wrap-around) held at the previous
    step; an operand a neighbour already had travels over the link instead of being read again, and
    Timeloop keeps that choice whenever it needs fewer reads than plain multicast. Replayed over the same
    extrapolated walk (iteration 0 and 1 of every temporal loop) that Timeloop uses.
    """
    lm = levels[0]
    sp = spatial_order(lm)
    # Operation-space offset and Timeloop's linear spatial index of every PE.
    pes = [({r: 0 for r in info.ext[0]}, 0)]
    stride = {r: 1 for r in info.ext[0]}
    weight_lin = 1
    for loop in sp:  # innermost first
        nxt = []
        for off, lin in pes:
            for i in range(loop.bound):
                o = dict(off)
                o[loop.rank] += i * stride[loop.rank]
                nxt.append((o, lin + i * weight_lin))
        pes = nxt
        stride[loop.rank] *= loop.bound
        weight_lin *= loop.bound
    h_size = max(phys_x, info.fanout_x[0])
    v_size = max(phys_y, info.fanout_y[0])
    by_lin = {}
    for off, lin in pes:
        by_lin[lin] = off
    neighbours = {}
    for lin in by_lin:
        h, v = lin % h_size, lin // h_size
        cand = []
        if v_size > 1:
            if v >= 1:
                cand.append((v - 1) * h_size + h)
            if v < v_size - 1:
                cand.append((v + 1) * h_size + h)
        if h_size > 1:
            if h >= 1:
                cand.append(v * h_size + h - 1)
            if h < h_size - 1:
                cand.append(v * h_size + h + 1)
        neighbours[lin] = [n for n in cand if n in by_lin]
    # Temporal loops of the whole nest, outermost first, with their operation-space strides (the stride
    # already covers the innermost level's spatial loops, walked above).
    loops = info.temporal_loops_above(-1)
    proj = ds.projection

    def point(base: dict[str, int], off: dict[str, int]) -> tuple:
        return tuple(sum(c * (base[r] + off[r]) for r, c in dim) for dim in proj)

    total = 0
    prev = None
    for idx in product((0, 1), repeat=len(loops)):
        weight = 1
        base = {r: 0 for r in info.ext[0]}
        for (rank, st, bound), i in zip(loops, idx):
            if i:
                weight *= bound - 1
                base[rank] += st
        pts = {lin: point(base, off) for lin, off in by_lin.items()}
        without = len(set(pts.values()))
        if prev is not None:
            rest = {p for lin, p in pts.items() if not any(prev[n] == p for n in neighbours[lin])}
            with_links = len(rest)
            accesses = min(without, with_links)
        else:
            accesses = without
        total += accesses * weight
        prev = pts
    return total


def loop_nest_lines(levels: list[LevelMapping]) -> list[list[str]]:
    """Each level's loops as Timeloop prints them (outermost first); unit loops are left out."""
    out = []
    for lm in levels:
        lines = [f"for {lp.rank} in [0:{lp.bound})" for lp in reversed(lm.temporal) if lp.bound > 1]
        lines += [f"for {lp.rank} in [0:{lp.bound}) (Spatial-{lp.spatial})"
                  for lp in reversed(spatial_order(lm)) if lp.bound > 1]
        out.append(lines)
    return out
