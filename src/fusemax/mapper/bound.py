"""The first pass over a batch of factor choices, all at once (numpy): which overflow a level, and a
lower bound on each one's first optimization metric whatever its loop orders and keeps.

The search sorts a batch's legal factor choices by this bound and stops trying them once the bound passes
the best score found: a choice whose bound is above the best can neither win nor tie. The bound counts
each tensor's accesses as :func:`fusemax.engine.evaluate` does (first-read elision, multicast), with
every tile's delta at its minimum over the loop orders for that tensor alone: at each level the loops
over ranks the tensor ignores go innermost, where they re-use its tile (pinned permutations stay as
pinned). The engine prices each tensor on its own, so a tensor whose keeps are free counts its cheapest
keep chain. Below the outermost level an output is read back and filled but for its partition: those
counts take the partition at its largest (the engine's recurrence in real numbers, without its 64-bit
wrap or floor). Cycles are at least the product of the temporal loop bounds. The bound applies only where the
engine's counts follow this closed form (no sliding windows, no fan-out right under the innermost level:
:attr:`MapSpace.merge_orders`); elsewhere it is 0 and nothing is cut. Counts are float64: exact below
2**53 (every capacity check), and the search cuts only past a relative margin far above rounding.

On the study's layer matrix multiplies and the unfused QK/AV searches it cuts 7-9 in 10 factor choices;
the search's result is the same (``tests/mapper/test_bound.py``: the bound never exceeds any candidate's
score, and searches with and without it agree).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from fusemax.energy.tables import ERT
from fusemax.engine.evaluate import access_energies, compute_energy
from fusemax.engine.model import DataSpace

from .space import MapSpace


@dataclass
class FirstPass:
    """One batch: per choice, whether its spatial loops fit every level's fan-out, the innermost level its
    tiles overflow (-1: none), the words that level's fixed keeps need there, and the lower bound (0 where
    the bound does not apply or was not asked for)."""

    fits: np.ndarray
    overflow: np.ndarray
    need: np.ndarray
    bound: np.ndarray


class Bound:
    """``bound(ks)``: the :class:`FirstPass` of the factor choices numbered ``ks`` (see
    :meth:`MapSpace.factors_at`) for ``metric``."""

    def __init__(self, space: MapSpace, ert: ERT | None, metric: str):
        self.space, self.metric = space, metric
        arch, problem = space.architecture, space.problem
        self.applies = space.merge_orders
        self.top = len(space.levels) - 1
        self.rank_index = {r: j for j, r in enumerate(problem.ranks)}
        self.energies = [access_energies(ert, lv.name) for lv in arch.storage]
        self.blocks = [lv.block_size for lv in arch.storage]
        self.mac_energy = problem.computes * compute_energy(ert, arch.arithmetic.name)
        self.spaces = problem.data_spaces
        self.index = {ds.name: t for t, ds in enumerate(self.spaces)}
        # Per tensor: every chain of levels that may keep it (innermost first).
        self.chains = []
        for ds in self.spaces:
            fixed = [ls.index for ls in space.levels if ds.name in ls.keep_fixed]
            free = [ls.index for ls in space.levels if ds.name in ls.keep_free]
            self.chains.append([sorted(fixed + list(extra)) for n in range(len(free) + 1)
                                for extra in itertools.combinations(free, n)])

    def __call__(self, ks: np.ndarray, with_bound: bool = True) -> FirstPass:
        temporal, spatial = self.space.factor_arrays(ks)
        t = temporal.astype(np.float64)
        s = spatial.astype(np.float64)
        fanout = np.array([ls.fanout for ls in self.space.levels], dtype=np.float64)
        fits = np.all(np.prod(s, axis=2) <= fanout, axis=1)
        ext = np.cumprod(t * s, axis=1)                              # [choice, level, rank]
        tiles = np.stack([self._box(ds, ext) for ds in self.spaces], axis=2)  # [choice, level, tensor]
        overflow, need = self._capacity(tiles)
        bound = self._bound(t, s, ext, tiles) if with_bound and self.applies else np.zeros(len(ks))
        return FirstPass(fits, overflow, need, bound)

    def _box(self, ds: DataSpace, ext: np.ndarray) -> np.ndarray:
        """Words of ``ds``'s box per choice and level (:func:`fusemax.engine.nest.box_size`, vectorised)."""
        size = np.ones(ext.shape[:2])
        for dim in ds.projection:
            size = size * (sum(c * (ext[:, :, self.rank_index[r]] - 1) for r, c in dim) + 1)
        return size

    def _capacity(self, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        overflow = np.full(len(tiles), -1)
        need = np.zeros(len(tiles))
        for ls in reversed(self.space.levels):  # innermost last, so it wins: the scalar check stops there
            if ls.capacity is None:
                continue
            words = sum((tiles[:, ls.index, self.index[n]] for n in ls.keep_fixed), np.zeros(len(tiles)))
            over = words > ls.capacity
            overflow = np.where(over, ls.index, overflow)
            need = np.where(over, words, need)
        return overflow, need

    def _bound(self, t: np.ndarray, s: np.ndarray, ext: np.ndarray, tiles: np.ndarray) -> np.ndarray:
        n = len(self.space.levels)
        cycles = np.prod(t, axis=(1, 2))
        if self.metric == "delay":
            return cycles
        level_t = np.prod(t, axis=2)                                  # [choice, level]
        outside = np.ones((len(t), n + 1))                            # temporal loops from a level up
        above = np.ones((len(t), n + 1))                              # fan-out from a level up
        fanout = np.prod(s, axis=2)
        for i in reversed(range(n)):
            outside[:, i] = outside[:, i + 1] * level_t[:, i]
            above[:, i] = above[:, i + 1] * fanout[:, i]
        energy = np.full(len(t), self.mac_energy)
        top_accesses = np.zeros(len(t))
        zero = np.zeros(len(t))
        # the box of each level's fan-out (its spatial loops and every loop below), levels 1 and up
        spatial_ext = ext[:, :-1, :] * s[:, 1:, :]
        for ds, chains in zip(self.spaces, self.chains):
            own = [self.rank_index[r] for r in ds.ranks]
            part = self._most_partition(ds, tiles, fanout, spatial_ext) if ds.read_write else tiles[:, :, 0] * 0
            # children sharing a word are served by one multicast read: scale by the fan-out over ds's ranks
            spread = np.prod(s[:, :, own], axis=2)                    # [choice, level]
            fewest: dict[int, np.ndarray] = {}
            least_energy = np.full(len(t), np.inf)
            least_top = np.full(len(t), np.inf)
            for kept in chains:
                chain_energy = np.zeros(len(t))
                chain_top = np.zeros(len(t))
                content, child = cycles, -1
                for k in kept:
                    content = content * np.prod(spread[:, child + 1:k + 1], axis=1)
                    if k not in fewest:
                        fewest[k] = tiles[:, k, self.index[ds.name]] * self._fewest_fills(ds, t, k, outside)
                    delta = fewest[k]
                    if ds.read_write and k == self.top:
                        reads, fills, updates = content - tiles[:, k, self.index[ds.name]], zero, content
                    elif ds.read_write:  # read back and filled but what the partition holds
                        reads = np.maximum(content - part[:, k], 0)
                        fills, updates = np.maximum(delta - part[:, k], 0), content
                    else:
                        reads, fills, updates = content, zero if k == self.top else delta, zero
                    e_read, e_write = self.energies[k]
                    block = self.blocks[k]
                    chain_energy = chain_energy + above[:, k + 1] * (
                        np.ceil(reads / block) * e_read + (np.ceil(fills / block) + np.ceil(updates / block)) * e_write)
                    if k == self.top:
                        chain_top = reads + fills + updates
                    content, child = delta, k
                least_energy = np.minimum(least_energy, chain_energy)
                least_top = np.minimum(least_top, chain_top)
            energy = energy + least_energy
            top_accesses = top_accesses + least_top
        if self.metric == "edp":
            return energy * cycles
        return energy if self.metric == "energy" else top_accesses

    def _most_partition(self, ds: DataSpace, tiles: np.ndarray, fanout: np.ndarray,
                        spatial_ext: np.ndarray) -> np.ndarray:
        """An upper bound on the engine's partition size of ``ds`` per choice and level
        (:func:`~fusemax.engine.evaluate.build_tiling`): the same recurrence in real numbers, without the
        64-bit wrap or the floor (each only makes it smaller)."""
        t = self.index[ds.name]
        spatial_box = self._box(ds, spatial_ext)  # [choice, level - 1]
        part = np.empty(tiles.shape[:2])
        part[:, -1] = tiles[:, -1, t]
        for k in reversed(range(tiles.shape[1] - 1)):
            denom = np.where(fanout[:, k + 1] > 1, spatial_box[:, k], tiles[:, k, t])
            part[:, k] = part[:, k + 1] * tiles[:, k, t] / denom
        return part

    def _fewest_fills(self, ds: DataSpace, t: np.ndarray, level: int, outside: np.ndarray) -> np.ndarray:
        """:func:`~fusemax.engine.nest.delta_multiplier` of ``ds``'s tile at ``level`` for the loop orders
        that fill it least often: at each level above, pinned loops innermost (as pinned), then the loops
        over other ranks (they re-use the tile), then those over ``ds``'s ranks. From the first level with
        a non-trivial loop over ``ds``'s ranks, the levels above multiply whole (``outside``)."""
        result = np.ones(len(t))
        found = np.zeros(len(t), dtype=bool)
        for ls in self.space.levels[level + 1:]:
            if ls.is_dummy:
                continue
            bounds = t[:, ls.index, :]
            pinned = [self.rank_index[r] for r in ls.order_prefix]
            free = [j for r, j in self.rank_index.items() if j not in pinned]
            total = np.zeros(len(t))  # delta_multiplier over the pinned loops, 0 until one over ds's ranks
            for r, j in zip(ls.order_prefix, pinned):
                total = np.where(total > 0, total * bounds[:, j],
                                 np.where((bounds[:, j] > 1) & (r in ds.ranks), bounds[:, j], 0))
            mine = [self.rank_index[r] for r in ds.ranks if self.rank_index[r] in free]
            here = np.where(total > 0, total * np.prod(bounds[:, free], axis=1), np.prod(bounds[:, mine], axis=1))
            now = ~found & (here > 1)
            result = np.where(now, here * outside[:, ls.index + 1], result)
            found |= now
        return result
