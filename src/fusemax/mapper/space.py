"""The mapspace that constraints leave open on one architecture + problem, with exact pruning.

A candidate is (loop factors, temporal loop orders, keep sets). This module enumerates them level by
level so that whole families are cut before any evaluation:

* **factors** — each rank's bound left after the fixed factors is split over its free slots (temporal
  loops of real storage levels, spatial loops of levels that fan out) as ordered perfect factorizations;
  a spatial slot never exceeds its level's fan-out, and a factor choice whose tiles overflow a level's
  capacity (with the fewest tensors that level may keep) is dropped before orders and keeps are tried;
* **keep sets** — subsets of the tensors the constraints leave free, filtered by capacity per level;
* **orders** — only loops with a bound above 1 are ordered, and two ranks that index exactly the same
  tensors are interchangeable (swapping them changes no tile, delta or access), so one canonical order
  per equivalence class is tried. Both cuts are exact: the best mapping is never lost.
* **equivalent orders** — Timeloop's delta of a tile (:func:`fusemax.engine.nest.temporal_delta`) multiplies
  the loops above it from the innermost non-trivial loop over a rank of the tensor outwards; so a level's
  order reaches every count only through, per tensor, the set of that level's loops at or outside the
  tensor's innermost loop there. Orders with equal sets for every tensor give identical statistics, and
  only the first of them (in enumeration order, so ties still go to the same candidate) is tried. This
  does not hold where the engine replays the walk loop by loop (sliding windows, link transfers between
  the PEs of a fanned-out innermost level), so there every order is tried.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from fusemax.engine.model import Architecture, Problem
from fusemax.errors import MappingError

from .constraints import Constraints, TargetConstraint


@dataclass
class LevelSpace:
    """What is open at one storage level (index ``index``, innermost first)."""

    index: int
    name: str
    fanout_x: int
    fanout_y: int
    capacity: float | None
    is_dummy: bool
    order_prefix: list[str]           # temporal ranks pinned innermost, innermost first
    spatial_order: list[str]          # every rank, innermost first
    spatial_axis: dict[str, str]      # rank -> "X" / "Y"
    keep_fixed: frozenset[str]
    keep_free: tuple[str, ...]

    @property
    def fanout(self) -> int:
        return self.fanout_x * self.fanout_y


@dataclass
class RankSpace:
    """One rank: its fixed factors, its free slots ``(level, spatial?)`` and the ways to fill them."""

    rank: str
    fixed: dict[tuple[int, bool], int]
    slots: list[tuple[int, bool]]
    choices: tuple[tuple[int, ...], ...] = ()


@dataclass
class Factors:
    """One factor choice: ``temporal[i][rank]`` and ``spatial[i][rank]`` per level (innermost first)."""

    temporal: list[dict[str, int]]
    spatial: list[dict[str, int]]


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(n ** 0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


@functools.lru_cache(maxsize=4096)
def ordered_factorizations(n: int, caps: tuple[int | None, ...]) -> tuple[tuple[int, ...], ...]:
    """All ways to write ``n`` as an ordered product of ``len(caps)`` factors, factor ``j`` <= ``caps[j]``.
    Memoised: a sweep's searches factor the same rank sizes over the same slots again and again."""
    if not caps:
        return ((),) if n == 1 else ()
    out: list[tuple[int, ...]] = []
    cap = caps[0]
    for d in _divisors(n):
        if cap is not None and d > cap:
            break
        out.extend((d,) + rest for rest in ordered_factorizations(n // d, caps[1:]))
    return tuple(out)


def _physical_fanout(arch: Architecture, i: int) -> tuple[int, int]:
    level = arch.storage[i]
    below = arch.storage[i - 1] if i > 0 else arch.arithmetic
    return max(1, below.mesh_x // max(1, level.mesh_x)), max(1, below.mesh_y // max(1, level.mesh_y))


@dataclass
class MapSpace:
    architecture: Architecture
    problem: Problem
    levels: list[LevelSpace]
    ranks: list[RankSpace]
    _orders: dict[tuple[int, tuple[str, ...]], list[list[str]]] = field(default_factory=dict, repr=False)
    _rank_tables: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    # --- factors -------------------------------------------------------------------------------------
    def choice_numbers(self, stride: int = 1, batch: int = 2048) -> Iterator[np.ndarray]:
        """The numbers 0, ``stride``, 2 ``stride``, ... of the mapspace's factor choices (in
        ``itertools.product`` order over the ranks, see :meth:`factors_at`), ``batch`` at a time; Python ints
        past int64. Choices are decoded from their numbers, so sampling a huge mapspace costs the samples,
        not the whole space; which fit the fan-out is the first pass's to say (:mod:`.bound`)."""
        n = self.count_factor_choices()
        for start in range(0, n, stride * batch):
            yield choice_range(start, min(n, start + stride * batch), stride)

    def factors_at(self, k: int) -> Factors:
        """Factor choice number ``k`` (mixed radix over the ranks' choices, the last rank varying fastest)."""
        n = len(self.levels)
        temporal: list[dict[str, int]] = [{} for _ in range(n)]
        spatial: list[dict[str, int]] = [{} for _ in range(n)]
        for rs, digit in zip(self.ranks, self._digits(k)):
            for (lv, sp), f in itertools.chain(rs.fixed.items(), zip(rs.slots, rs.choices[digit])):
                (spatial if sp else temporal)[lv][rs.rank] = f
        return Factors(temporal, spatial)

    def _digits(self, k):
        """Each rank's choice index in factor choice ``k`` (ints, or arrays of them for an array of ``k``)."""
        digits = []
        for rs in reversed(self.ranks):
            k, digit = k // len(rs.choices), k % len(rs.choices)  # divmod has no object-array loop
            digits.append(digit)
        return digits[::-1]

    def factor_arrays(self, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(temporal, spatial)`` factors of the choices numbered ``ks``, as float64 arrays (exact: a factor
        is at most its rank's size) indexed ``[choice, level, rank]`` (ranks in problem order; 1 where a
        level has no loop)."""
        n = len(self.levels)
        temporal, spatial = [], []
        for rs, digit in zip(self.ranks, self._digits(ks)):
            table = self._rank_tables.get(rs.rank)
            if table is None:
                table = self._rank_tables[rs.rank] = _rank_table(rs, n)
            digit = np.asarray(digit, dtype=np.int64)  # an object array where the mapspace passes 2**63
            temporal.append(table[0][digit])
            spatial.append(table[1][digit])
        return np.stack(temporal, axis=2), np.stack(spatial, axis=2)

    def count_factor_choices(self) -> int:
        return _product(len(r.choices) for r in self.ranks)

    # --- keep sets -----------------------------------------------------------------------------------
    def keep_choices(self, level: LevelSpace, tiles: dict[str, int]) -> list[frozenset[str]]:
        """Keep sets of ``level`` that fit its capacity (fixed tensors plus every subset of the free ones)."""
        out = []
        for k in range(len(level.keep_free) + 1):
            for extra in itertools.combinations(level.keep_free, k):
                keep = level.keep_fixed | frozenset(extra)
                if level.capacity is None or sum(tiles[t] for t in keep) <= level.capacity:
                    out.append(keep)
        return out

    # --- loop orders ---------------------------------------------------------------------------------
    def orders(self, level: LevelSpace, temporal: dict[str, int]) -> list[list[str]]:
        """Canonical temporal orders (innermost first) of ``level`` for these bounds (shared lists: do not
        change them). They depend only on which loops have a bound above 1, so they are worked out once
        per level and set of such loops."""
        nontrivial = tuple(r for r in self.problem.ranks if temporal.get(r, 1) > 1)
        key = (level.index, nontrivial)
        if key not in self._orders:
            self._orders[key] = self._canonical_orders(level, set(nontrivial))
        return self._orders[key]

    def _canonical_orders(self, level: LevelSpace, nontrivial: set[str]) -> list[list[str]]:
        rest = [r for r in self.problem.ranks if r not in level.order_prefix]
        moving = [r for r in rest if r in nontrivial]
        still = [r for r in rest if r not in nontrivial]
        signature = {r: frozenset(ds.name for ds in self.problem.data_spaces if r in ds.ranks)
                     for r in moving}
        rank_pos = {r: i for i, r in enumerate(self.problem.ranks)}
        out = []
        seen: set[tuple[frozenset[str], ...]] = set()
        for perm in itertools.permutations(moving):
            # Interchangeable ranks (same tensors) keep their problem order: one representative per class.
            if any(signature[a] == signature[b] and rank_pos[a] > rank_pos[b]
                   for a, b in itertools.combinations(perm, 2)):
                continue
            order = list(level.order_prefix) + list(perm) + still
            if self.merge_orders:
                effect = self._order_effect(order, nontrivial)
                if effect in seen:
                    continue
                seen.add(effect)
            out.append(order)
        return out

    def _order_effect(self, order: list[str], nontrivial: set[str]) -> tuple[frozenset[str], ...]:
        """Per tensor, the ranks of the non-trivial loops of ``order`` (innermost first) at or outside its
        innermost one over a rank of the tensor: all that the order changes in the counts."""
        moving = [r for r in order if r in nontrivial]
        effect = []
        for ds in self.problem.data_spaces:
            first = next((i for i, r in enumerate(moving) if r in ds.ranks), len(moving))
            effect.append(frozenset(moving[first:]))
        return tuple(effect)

    @property
    def merge_orders(self) -> bool:
        """True when equivalent orders may be merged (see the module doc): no sliding windows and no
        fan-out right under the innermost level."""
        return not any(ds.sliding for ds in self.problem.data_spaces) and self.levels[0].fanout == 1


def choice_range(start: int, stop: int, stride: int) -> np.ndarray:
    """Factor choice numbers ``start``, ``start + stride``, ... below ``stop``: int64, or Python ints (an
    object array) past int64."""
    if stop < 2**62:
        return np.arange(start, stop, stride, dtype=np.int64)
    return np.array(range(start, stop, stride), dtype=object)


def _rank_table(rs: RankSpace, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """One rank's (temporal, spatial) factor per choice and level: ``[choice, level]`` float64 arrays."""
    temporal = np.ones((len(rs.choices), levels))
    spatial = np.ones_like(temporal)
    for c, values in enumerate(rs.choices):
        for (lv, sp), f in itertools.chain(rs.fixed.items(), zip(rs.slots, values)):
            (spatial if sp else temporal)[c, lv] = f
    return temporal, spatial


def _product(values) -> int:
    p = 1
    for v in values:
        p *= v
    return p


def _target_index(arch: Architecture) -> dict[str, int]:
    names = {lv.name: i for i, lv in enumerate(arch.storage)}
    for i, lv in enumerate(arch.storage):
        if lv.is_dummy and lv.name.startswith("inter_") and lv.name.endswith("_spatial"):
            names.setdefault(lv.name[len("inter_"):-len("_spatial")], i)
    return names


def build_mapspace(arch: Architecture, problem: Problem, constraints: Constraints) -> MapSpace:
    """The open choices of ``constraints``; raises :class:`MappingError` when they contradict the problem."""
    src = constraints.source
    index = _target_index(arch)
    per_level: dict[int, TargetConstraint] = {}
    for name, tc in constraints.targets.items():
        if name not in index:
            if name == arch.arithmetic.name:
                continue
            raise MappingError(f"unknown target '{name}' (levels are {', '.join(index)})", source=src,
                               key=f"constraints.targets ({name})")
        per_level[index[name]] = tc
    n = len(arch.storage)
    all_spaces = [ds.name for ds in problem.data_spaces]
    levels = []
    for i, lv in enumerate(arch.storage):
        tc = per_level.get(i, TargetConstraint())
        fx, fy = (lv.fanout_x or 1, lv.fanout_y or 1) if lv.is_dummy else _physical_fanout(arch, i)
        order = list(tc.spatial_permutation) + [r for r in problem.ranks if r not in tc.spatial_permutation]
        axis = {}
        for j, r in enumerate(order):
            if r in tc.spatial_permutation and tc.split is not None:
                axis[r] = "X" if j < tc.split else "Y"
            else:
                axis[r] = "X" if fx > 1 or fy == 1 else "Y"
        keep_fixed: frozenset[str]
        keep_free: tuple[str, ...]
        if lv.is_dummy:
            keep_fixed, keep_free = frozenset(), ()
        elif i == n - 1:
            keep_fixed, keep_free = frozenset(all_spaces), ()  # the outermost level holds every tensor
        else:
            keep_fixed = frozenset(tc.keep)
            keep_free = tuple(d for d in all_spaces if d not in tc.keep and d not in tc.bypass)
        if i == n - 1 and tc.bypass:
            raise MappingError(f"the outermost level {lv.name} must keep every tensor; it bypasses "
                               f"{', '.join(sorted(tc.bypass))}", source=src, key=f"constraints.targets ({lv.name})")
        levels.append(LevelSpace(i, lv.name, fx, fy, lv.effective_size, lv.is_dummy, list(tc.temporal_permutation),
                                 order, axis, keep_fixed, keep_free))
    ranks = []
    for r in problem.ranks:
        fixed: dict[tuple[int, bool], int] = {}
        slots: list[tuple[int, bool]] = []
        caps: list[int | None] = []
        for i, ls in enumerate(levels):
            tc = per_level.get(i, TargetConstraint())
            if r in tc.spatial_factors:
                f = tc.spatial_factors[r]
                if f > 1 and f > ls.fanout:
                    raise MappingError(f"spatial factor {r}={f} at {ls.name} exceeds its fan-out {ls.fanout}",
                                       source=src, key=f"constraints.targets ({ls.name} spatial)")
                fixed[(i, True)] = f
            elif ls.fanout > 1:
                slots.append((i, True))
                caps.append(ls.fanout // _product(v for k, v in tc.spatial_factors.items()))
            if ls.is_dummy:
                if tc.temporal_factors.get(r, 1) != 1:
                    raise MappingError(f"{ls.name} holds no data, so it has no temporal loops",
                                       source=src, key=f"constraints.targets ({ls.name} temporal)")
            elif r in tc.temporal_factors:
                fixed[(i, False)] = tc.temporal_factors[r]
            else:
                slots.append((i, False))
                caps.append(None)
        inst = problem.instance[r]
        known = _product(fixed.values())
        if inst % known:
            raise MappingError(f"fixed factors of rank {r} multiply to {known}, which does not divide {r}={inst}",
                               source=src, key="constraints.targets")
        choices = ordered_factorizations(inst // known, tuple(caps))
        if not choices:
            where = ", ".join(levels[i].name for i, _ in slots) or "no level"
            raise MappingError(f"rank {r}: fixed factors give {known} but {r}={inst}, and the free slots "
                               f"({where}) cannot take the remaining {inst // known}", source=src,
                               key="constraints.targets")
        ranks.append(RankSpace(r, fixed, slots, choices))
    return MapSpace(arch, problem, levels, ranks)
