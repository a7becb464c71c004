"""A lower bound on a factor choice's first optimization metric, whatever its loop orders.

The search sorts the factor choices of a batch by this bound and stops trying them once the bound passes
the best score found: a choice whose bound is above the best can neither win nor tie. The bound counts
each tensor's accesses as :func:`fusemax.engine.evaluate` does (first-read elision, multicast), with
every tile's delta at its minimum over the loop orders for that tensor alone: at each level the loops
over ranks the tensor ignores go innermost, where they re-use its tile (pinned permutations stay as
pinned). The engine prices each tensor on its own, so a tensor whose keeps are free counts its cheapest
keep chain. Reads and fills of an output below the outermost level are left out (they are not
negative). Cycles are at least the product of the temporal loop bounds. The bound applies only where the
engine's counts follow this closed form (no sliding windows, no fan-out right under the innermost level:
:attr:`MapSpace.merge_orders`); elsewhere it is 0 and nothing is cut.

On the study's layer matrix multiplies and the unfused QK/AV searches it cuts 7-9 in 10 factor choices; the search's result is the same
(``tests/mapper/test_bound.py``: the bound never exceeds any candidate's score, and searches with and
without it agree).
"""
from __future__ import annotations

import itertools

from fusemax.energy.tables import ERT
from fusemax.engine.evaluate import access_energies, access_energy, compute_energy
from fusemax.engine.nest import delta_multiplier

from .space import Factors, MapSpace


class Bound:
    """``bound(factors, tiles)``: a lower bound on ``metric`` of every candidate with these factors."""

    def __init__(self, space: MapSpace, ert: ERT | None, metric: str):
        self.space, self.metric = space, metric
        arch = space.architecture
        problem = space.problem
        self.applies = space.merge_orders
        self.top = len(space.levels) - 1
        # per level, None where it has no temporal loops (dummies): the levels a delta looks through
        self.timed = [None if ls.is_dummy else ls for ls in space.levels]
        self.energies = [access_energies(ert, lv.name) for lv in arch.storage]
        self.blocks = [lv.block_size for lv in arch.storage]
        self.mac_energy = problem.computes * compute_energy(ert, arch.arithmetic.name)
        # Per tensor: every chain of levels that may keep it (innermost first); the engine prices each
        # tensor on its own, so its cheapest chain bounds it whatever the other tensors keep.
        self.chains = []
        for ds in problem.data_spaces:
            fixed = [ls.index for ls in space.levels if ds.name in ls.keep_fixed]
            free = [ls.index for ls in space.levels if ds.name in ls.keep_free]
            self.chains.append((ds, [sorted(fixed + list(extra)) for n in range(len(free) + 1)
                                     for extra in itertools.combinations(free, n)]))

    def __call__(self, factors: Factors, tiles: list[dict[str, int]]) -> float:
        if not self.applies:
            return 0.0
        cycles = 1
        for temporal in factors.temporal:
            for f in temporal.values():
                cycles *= f
        if self.metric == "delay":
            return float(cycles)
        energy, top_accesses = self._accesses(factors, tiles, cycles)
        if self.metric == "edp":
            return energy * cycles
        return energy if self.metric == "energy" else float(top_accesses)

    def _accesses(self, factors: Factors, tiles: list[dict[str, int]], cycles: int) -> tuple[float, int]:
        levels = self.space.levels
        n = len(levels)
        fanout = [1] * n
        for i in range(n):
            for f in factors.spatial[i].values():
                fanout[i] *= f
        above = [1] * (n + 1)      # fan-out of the levels at and above i
        outside = [1] * (n + 1)    # temporal loops of the levels at and above i
        for i in reversed(range(n)):
            above[i] = above[i + 1] * fanout[i]
            outside[i] = outside[i + 1]
            for f in factors.temporal[i].values():
                outside[i] *= f
        energy, top_accesses = self.mac_energy, 0
        for ds, chains in self.chains:
            fewest = {}
            least: tuple[float, int] | None = None
            for kept in chains:
                chain_energy, chain_top = 0.0, 0
                content, child = cycles, -1
                for k in kept:
                    for j in range(child + 1, k + 1):
                        if fanout[j] > 1:
                            shared = 1
                            for r, f in factors.spatial[j].items():
                                if r not in ds.ranks:
                                    shared *= f
                            content = content * fanout[j] // shared
                    if k not in fewest:
                        fewest[k] = tiles[k][ds.name] * self._fewest_fills(ds.ranks, factors, k, outside)
                    delta = fewest[k]
                    if ds.read_write:
                        reads, fills, updates = ((content - tiles[k][ds.name], 0, content) if k == self.top
                                                 else (0, 0, content))
                    else:
                        reads, fills, updates = content, 0 if k == self.top else delta, 0
                    e_read, e_write = self.energies[k]
                    chain_energy += access_energy(above[k + 1], reads, fills, updates, self.blocks[k], e_read, e_write)
                    if k == self.top:
                        chain_top = reads + fills + updates
                    content, child = delta, k
                # the chain that is cheapest by the metric's own measure (ties: the other one)
                if self.metric == "last_level_accesses":
                    better = least is None or (chain_top, chain_energy) < (least[1], least[0])
                else:
                    better = least is None or (chain_energy, chain_top) < least
                if better:
                    least = (chain_energy, chain_top)
            assert least is not None
            energy += least[0]
            top_accesses += least[1]
        return energy, top_accesses

    def _fewest_fills(self, ranks: frozenset[str], factors: Factors, level: int, outside: list[int]) -> int:
        """:func:`~fusemax.engine.nest.delta_multiplier` of a tile over ``ranks`` at ``level`` for the loop
        orders that fill it least often: at each level above, pinned loops innermost (as pinned), then the
        loops over other ranks (they re-use the tile), then those over ``ranks``. From the first level with
        a non-trivial loop over ``ranks``, the levels above multiply whole (``outside``: products from a
        level up)."""
        for ls in self.timed[level + 1:]:
            if ls is None:
                continue
            bounds = factors.temporal[ls.index]
            pinned = ls.order_prefix
            here = delta_multiplier(ranks, [(r, bounds.get(r, 1)) for r in pinned]) if pinned else 1
            if here > 1:
                for r, f in bounds.items():
                    if r not in pinned:
                        here *= f
            else:
                for r, f in bounds.items():
                    if r in ranks and r not in pinned:
                        here *= f
            if here > 1:
                return here * outside[ls.index + 1]
        return 1
