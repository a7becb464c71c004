"""The first pass over a batch of factor choices, all at once (numpy): which overflow a level, and a
lower bound on each one's first optimization metric whatever its loop orders and keeps.

The search tries a batch's legal factor choices in order of this bound and stops once the bound passes
the best score found: a choice whose bound is above the best can neither win nor tie. The bound counts
each tensor's accesses as :func:`fusemax.engine.evaluate` does (first-read elision, multicast). The
engine prices each tensor on its own, so a tensor whose keeps are free counts its cheapest keep chain
(among the levels that can hold its tile beside the tensors they must keep). Below the outermost level
an output is read back and filled but for its partition: those counts take the partition at its largest
(the engine's recurrence in real numbers, without its 64-bit wrap or floor). Cycles are at least the
product of the temporal loop bounds.

Every tile's delta depends on the loop orders above it, which all tensors of a candidate share. The
bound comes in two strengths (:meth:`Bound.lower`):

* exact orders: the least, over every combination of the levels' orders, of the tensors' sum under it
  (where the combinations are few, :data:`EXACT_ORDERS`: the study's searches have 6);
* per-tensor orders: each tensor's sum under its own least-filling orders (at each level the loops over
  ranks the tensor ignores go innermost, where they re-use its tile; pinned permutations stay pinned).
  Looser (the orders a tensor wants are not the ones the others want), but one row of arrays instead of
  one per combination: the search ranks a large batch by it and works out the exact bound only for the
  choices it is about to try.

The bound applies only where the engine's counts follow this closed form (no sliding windows, no fan-out
right under the innermost level: :attr:`MapSpace.merge_orders`); elsewhere it is 0 and nothing is cut.
Counts are float64: exact below 2**53 (every capacity check), and the search cuts only past a relative
margin far above rounding.

Over the 302 searches of a cold ``run_all.py`` with 256 or more factor choices (the layer's matrix
multiplies, long unfused attention), 1 legal choice in 125 has an exact bound at or below the best score,
1 in 15 a per-tensor one; the search's result is the same (``tests/mapper/test_bound.py``: neither bound
exceeds any candidate's score, and searches with and without them agree).
"""
from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from fusemax.energy.tables import ERT
from fusemax.engine.evaluate import access_energies, compute_energy
from fusemax.engine.model import DataSpace

from .space import MapSpace

#: The most combinations of the levels' loop orders the exact bound prices one by one (a row of arrays
#: each); past it, the exact bound is the per-tensor one.
EXACT_ORDERS = 24


@dataclass
class FirstPass:
    """One batch: per choice, whether its spatial loops fit every level's fan-out, the innermost level its
    tiles overflow (-1: none) and the words that level's fixed keeps need there; and the factor arrays
    (float64 ``[choice, level, rank]``) and tile sizes (``[choice, level, tensor]``) that
    :meth:`Bound.lower` bounds them by."""

    fits: np.ndarray
    overflow: np.ndarray
    need: np.ndarray
    temporal: np.ndarray
    spatial: np.ndarray
    ext: np.ndarray
    tiles: np.ndarray

    @property
    def legal(self) -> np.ndarray:
        """Indices of the choices that fit every fan-out and overflow no level."""
        return np.flatnonzero(self.fits & (self.overflow < 0))


class Bound:
    """``bound(ks)``: the :class:`FirstPass` of the factor choices numbered ``ks`` (see
    :meth:`MapSpace.factors_at`); ``bound.lower(first_pass, idx)``: the lower bound on ``metric`` of its
    choices ``idx``."""

    def __init__(self, space: MapSpace, ert: ERT | None, metric: str):
        self.space, self.metric = space, metric
        arch, problem = space.architecture, space.problem
        self.applies = space.merge_orders
        self.top = len(space.levels) - 1
        self.rank_index = {r: j for j, r in enumerate(problem.ranks)}
        self.energies = [access_energies(ert, lv.name) for lv in arch.storage]
        self.blocks = [lv.block_size for lv in arch.storage]
        self.mac_energy = problem.computes * compute_energy(ert, arch.arithmetic.name)
        self.fanout = np.array([ls.fanout for ls in space.levels], dtype=np.float64)
        self.spaces = problem.data_spaces
        self.index = {ds.name: t for t, ds in enumerate(self.spaces)}
        self.own = [[self.rank_index[r] for r in ds.ranks] for ds in self.spaces]
        self.mine = np.array([[r in ds.ranks for r in problem.ranks] for ds in self.spaces])  # [tensor, rank]
        # Per tensor: every chain of levels that may keep it (innermost first).
        self.chains = []
        for ds in self.spaces:
            fixed = [ls.index for ls in space.levels if ds.name in ls.keep_fixed]
            free = [ls.index for ls in space.levels if ds.name in ls.keep_free]
            self.chains.append([sorted(fixed + list(extra)) for n in range(len(free) + 1)
                                for extra in itertools.combinations(free, n)])
        # per level, the ranks whose temporal loop there may have a bound above 1 (dummy levels have none);
        # only the levels with such loops fill the tiles below them
        self.loop_ranks = [set() if ls.is_dummy else {rs.rank for rs in space.ranks if (ls.index, False) in rs.slots
                                                      or rs.fixed.get((ls.index, False), 1) > 1}
                           for ls in space.levels]
        self.looping = {i for i, ranks in enumerate(self.loop_ranks) if ranks}
        self.exact_orders = self._exact_orders()

    def __call__(self, ks: np.ndarray) -> FirstPass:
        t, s = self.space.factor_arrays(ks)
        fits = np.all(np.prod(s, axis=2) <= self.fanout, axis=1)
        ext = np.cumprod(t * s, axis=1)                              # [choice, level, rank]
        tiles = np.stack([self._box(ds, ext) for ds in self.spaces], axis=2)  # [choice, level, tensor]
        overflow, need = self._capacity(tiles)
        return FirstPass(fits, overflow, need, t, s, ext, tiles)

    @property
    def two_strengths(self) -> bool:
        """Whether the per-tensor bound differs from the exact one (looser and cheaper): not where every
        bound is 0, the metric is the delay (no order matters) or the orders combine in too many ways."""
        return self.applies and self.metric != "delay" and self.exact_orders is not None

    def lower(self, fp: FirstPass, idx: np.ndarray, exact: bool = True) -> np.ndarray:
        """The lower bound of ``fp``'s choices ``idx`` (legal ones: see :attr:`FirstPass.legal`), with the
        loop orders combined exactly or per tensor (see the module doc); 0 where the bound does not apply."""
        if not self.applies:
            return np.zeros(len(idx))
        orders = self.exact_orders if exact and self.exact_orders is not None else self.per_tensor_orders
        return self._bound(fp.temporal[idx], fp.spatial[idx], fp.ext[idx], fp.tiles[idx], orders)

    def _box(self, ds: DataSpace, ext: np.ndarray) -> np.ndarray:
        """Words of ``ds``'s box per choice and level (:func:`fusemax.engine.nest.box_size`, vectorised)."""
        size = np.ones(ext.shape[:2])
        for dim in ds.projection:
            size = size * (sum(c * (ext[:, :, self.rank_index[r]] - 1) for r, c in dim) + 1)
        return size

    def _fixed_words(self, tiles: np.ndarray, level: int) -> np.ndarray:
        """Words the tensors ``level`` must keep take there, per choice."""
        return sum((tiles[:, level, self.index[n]] for n in self.space.levels[level].keep_fixed),
                   np.zeros(len(tiles)))

    def _capacity(self, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        overflow = np.full(len(tiles), -1)
        need = np.zeros(len(tiles))
        for ls in reversed(self.space.levels):  # innermost last, so it wins: the scalar check stops there
            if ls.capacity is None:
                continue
            words = self._fixed_words(tiles, ls.index)
            over = words > ls.capacity
            overflow = np.where(over, ls.index, overflow)
            need = np.where(over, words, need)
        return overflow, need

    def _bound(self, t: np.ndarray, s: np.ndarray, ext: np.ndarray, tiles: np.ndarray,
               orders: list[np.ndarray]) -> np.ndarray:
        level_t = np.prod(t, axis=2)                                  # [choice, level]
        cycles = np.prod(level_t, axis=1)
        if self.metric == "delay":
            return cycles
        fanout = np.prod(s, axis=2)
        ones = np.ones((len(t), 1))
        # temporal loops and fan-out from a level up: [choice, level + 1]
        outside = np.concatenate([np.cumprod(level_t[:, ::-1], axis=1)[:, ::-1], ones], axis=1)
        above = np.concatenate([np.cumprod(fanout[:, ::-1], axis=1)[:, ::-1], ones], axis=1)
        total = np.zeros(len(t)) if self.metric == "last_level_accesses" else np.full(len(t), self.mac_energy)
        # the box of each level's fan-out (its spatial loops and every loop below), levels 1 and up
        spatial_ext = ext[:, :-1, :] * s[:, 1:, :]
        fixed_words = {ls.index: self._fixed_words(tiles, ls.index) for ls in self.space.levels
                       if ls.keep_free and ls.capacity is not None}
        every_fills = self._fills(t, outside, orders)
        for tensor, (ds, chains) in enumerate(zip(self.spaces, self.chains)):
            tile = tiles[:, :, tensor]                                # [choice, level]
            part = self._most_partition(ds, tile, fanout, spatial_ext) if ds.read_write else tile  # (unused)
            # children sharing a word are served by one multicast read: scale by the fan-out over ds's ranks
            spread = np.cumprod(np.prod(s[:, :, self.own[tensor]], axis=2), axis=1)  # levels up to each
            fills = [f[tensor] if len(f) > 1 else f[0] for f in every_fills]
            # A chain's cost is a sum over its levels of a term that depends on the level and on the kept
            # level below it (whose delta it reads out): each term is worked out once for every chain.
            terms: dict[tuple[int, int], np.ndarray | float] = {}
            least: np.ndarray | float = np.inf
            for kept in chains:
                cost: np.ndarray | float = 0.0
                for child, k in zip([-1] + kept, kept):
                    if (child, k) not in terms:
                        terms[child, k] = self._term(ds, k, child, cycles, spread, tile, part, fills, above,
                                                     fixed_words.get(k))
                    cost = cost + terms[child, k]
                least = np.minimum(least, cost)
            total = total + least
        # every candidate has one of the order rows: the least over them  ([row, choice] -> [choice])
        total = np.atleast_2d(total).min(axis=0)
        return total * cycles if self.metric == "edp" else total

    def _term(self, ds: DataSpace, k: int, child: int, cycles: np.ndarray, spread: np.ndarray, tile: np.ndarray,
              part: np.ndarray, fills: list[np.ndarray], above: np.ndarray,
              fixed_words: np.ndarray | None) -> np.ndarray | float:
        """What keeping ``ds`` at level ``k`` adds to the metric when ``child`` is the next level below that
        keeps it (-1: none, the computes read it): inf where ``k`` cannot hold its tile beside the tensors
        it must keep (``fixed_words``, when ``ds`` is free there)."""
        # what arrives from below: the computes or the child's delta, through the fan-outs in between
        arriving = cycles if child < 0 else tile[:, child] * fills[child]
        content = arriving * (spread[:, k] if child < 0 else spread[:, k] / spread[:, child])
        if k == self.top:  # nothing enters the outermost level
            reads, filled = (content - tile[:, k] if ds.read_write else content), 0.0
        elif ds.read_write:  # read back and filled but what the partition holds
            reads = np.maximum(content - part[:, k], 0)
            filled = np.maximum(tile[:, k] * fills[k] - part[:, k], 0)
        else:
            reads, filled = content, tile[:, k] * fills[k]
        updates = content if ds.read_write else 0.0
        term: np.ndarray | float
        if self.metric != "last_level_accesses":
            term = above[:, k + 1] * self._access_energy(k, reads, filled, updates)
        else:
            term = reads + filled + updates if k == self.top else 0.0
        if fixed_words is not None and ds.name in self.space.levels[k].keep_free:
            term = np.where(tile[:, k] + fixed_words > self.space.levels[k].capacity, np.inf, term)
        return term

    def _access_energy(self, level: int, reads, fills, updates):
        """pJ of one instance's accesses at ``level`` (:func:`~fusemax.engine.evaluate.access_energy`)."""
        e_read, e_write = self.energies[level]
        block = self.blocks[level]
        if block == 1:
            return reads * e_read + (fills + updates) * e_write
        return np.ceil(reads / block) * e_read + (np.ceil(fills / block) + np.ceil(updates / block)) * e_write

    def _most_partition(self, ds: DataSpace, tile: np.ndarray, fanout: np.ndarray,
                        spatial_ext: np.ndarray) -> np.ndarray:
        """An upper bound on the engine's partition size of ``ds`` per choice and level
        (:func:`~fusemax.engine.evaluate.build_tiling`): the same recurrence in real numbers, without the
        64-bit wrap or the floor (each only makes it smaller)."""
        spatial_box = self._box(ds, spatial_ext)  # [choice, level - 1]
        part = np.empty(tile.shape)
        part[:, -1] = tile[:, -1]
        for k in reversed(range(tile.shape[1] - 1)):
            denom = np.where(fanout[:, k + 1] > 1, spatial_box[:, k], tile[:, k])
            part[:, k] = part[:, k + 1] * tile[:, k] / denom
        return part

    def _fills(self, t: np.ndarray, outside: np.ndarray, orders: list[np.ndarray]) -> list[np.ndarray]:
        """Per level ``k``: :func:`~fusemax.engine.nest.delta_multiplier` of each tensor's tile at ``k`` per
        order row of ``orders`` and choice (``[tensor, row, choice]``; a first axis of 1 while no loop
        fills any tile): the loops from the innermost non-trivial one over a rank of the tensor outwards.
        From the first level above ``k`` with such a loop, the levels above it multiply whole
        (``outside``); so one pass from the outermost level in finds every level's."""
        ranks = self.mine.shape[1]
        found = np.ones((1, 1, len(t)))  # the multiplier of a tile below the current level
        out = []
        for ls in reversed(self.space.levels):
            out.append(found)
            if ls.index not in self.looping:
                continue
            bounds = t[:, ls.index, :]                                        # [choice, rank]
            pos = orders[ls.index][:, :, None, :]                              # [tensor, row, 1, rank]
            mine = ((bounds > 1) & self.mine[:, None, :])[:, None, :, :]       # [tensor, 1, choice, rank]
            first = np.min(np.where(mine, pos, ranks), axis=3)                # [tensor, row, choice]
            here = np.prod(np.where(pos >= first[..., None], bounds, 1), axis=3)
            found = np.where(first < ranks, here * outside[:, ls.index + 1], found)
        return out[::-1]

    def _exact_orders(self) -> list[np.ndarray] | None:
        """``[level]``: per combination of the levels' orders (rows), each rank's position (innermost
        first) in the temporal order of that level (``[1, row, rank]``: the same for every tensor). The
        orders of a level are the permutations of its free ranks (those not pinned that may loop there)
        after the pinned ones: merged and unit-loop orders are among them up to loops of bound 1, which
        count nothing. None when they combine in more than :data:`EXACT_ORDERS` ways."""
        ranks = self.space.problem.ranks
        per_level = []
        for ls, looping in zip(self.space.levels, self.loop_ranks):
            free = [r for r in ranks if r in looping and r not in ls.order_prefix]
            rest = [r for r in ranks if r not in free and r not in ls.order_prefix]
            per_level.append([list(ls.order_prefix) + list(p) + rest for p in itertools.permutations(free)])
        if math.prod(len(orders) for orders in per_level) > EXACT_ORDERS:
            return None
        rows = list(itertools.product(*per_level))
        return [np.array([[self._positions(row[i]) for row in rows]]) for i in range(len(per_level))]

    @functools.cached_property
    def per_tensor_orders(self) -> list[np.ndarray]:
        """``[level]``: per tensor, one row: the positions of the ranks in the tensor's least-filling order
        of that level (``[tensor, 1, rank]``): pinned loops innermost (as pinned), then the loops over other
        ranks (they re-use the tile), then those over the tensor's ranks. Worked out when first asked for:
        most searches bound every choice exactly."""
        out = []
        for ls in self.space.levels:
            rest = [r for r in self.space.problem.ranks if r not in ls.order_prefix]
            out.append(np.array([[self._positions(list(ls.order_prefix) + [r for r in rest if r not in ds.ranks]
                                                  + [r for r in rest if r in ds.ranks])] for ds in self.spaces]))
        return out

    def _positions(self, order: list[str]) -> list[int]:
        """Each rank's position in ``order`` (innermost first), ranks in problem order."""
        where = {r: p for p, r in enumerate(order)}
        return [where[r] for r in self.space.problem.ranks]
