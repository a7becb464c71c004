"""Search a mapspace for the best mapping under Timeloop's optimization metrics.

The order of preference is the ordered metric list (``edp``, ``delay``, ``energy``,
``last_level_accesses``; later ones break ties of earlier ones), then fewer cycles, then fewer word
accesses at the outermost level, then at the next level in, and so on; the first candidate in
enumeration order wins a remaining tie, so the result is deterministic. Without an ERT every energy is
0, so ``edp`` and ``energy`` fall through to cycles and then to accesses, outermost level first.
"""
from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from fusemax.energy.tables import ERT
from fusemax.engine import evaluate
from fusemax.engine.evaluate import (
    Tiling,
    access_energies,
    access_energy,
    build_tiling,
    compute_energy,
    tensor_counts,
    throttled_cycles,
)
from fusemax.engine.model import DataSpace, LevelMapping, Loop, Mapping, Spec
from fusemax.errors import MappingError
from fusemax.stats import Stats

from .bound import Bound
from .constraints import Constraints, parse_metrics
from .space import Factors, MapSpace, build_mapspace

#: Above this many candidates (an upper bound: factor choices x keep sets x orders) the search samples
#: factor choices at an even stride instead of trying them all, and says so.
DEFAULT_MAX_CANDIDATES = 400_000

#: Factor choices sorted by their lower bound at a time: enough for the bound to find a good mapping early,
#: few enough that a time budget is checked often and memory stays small on huge mapspaces.
_BATCH = 2048

#: Legal factor choices bounded exactly at a time, in order of the per-tensor bound (:mod:`.bound`).
_EXACT_AT_ONCE = 128


@dataclass
class MapperResult:
    """The best mapping found, its statistics and how it was found."""

    mapping: Mapping
    stats: Stats
    spec: Spec                  # the input spec with ``mapping`` in place
    candidates_evaluated: int
    exhaustive: bool
    method: str                 # one line: what was enumerated and what was cut


def _score(energy: float, cycles: int, accesses: dict[str, int], metrics: tuple[str, ...],
           outer_first: list[str]) -> tuple:
    values = []
    for m in metrics:
        if m == "edp":
            values.append(energy * cycles)
        elif m == "delay":
            values.append(cycles)
        elif m == "energy":
            values.append(energy)
        else:  # last_level_accesses
            values.append(accesses[outer_first[0]])
    values.append(cycles)
    values.extend(accesses[name] for name in outer_first)
    return tuple(values)


def _accesses(stats: Stats, level: str) -> int:
    ls = stats.levels.get(level)
    if ls is None:
        return 0
    return sum(_word_accesses(d.reads_per_instance, d.fills_per_instance, d.updates_per_instance,
                              d.utilized_instances) for d in ls.dataspaces.values())


def _word_accesses(reads: int, fills: int, updates: int, instances: int) -> int:
    """A tensor's word accesses at a level, over all its instances: what the access metrics count (the
    same from a full evaluation's statistics and from the per-tensor pricing)."""
    return (reads + fills + updates) * instances


class _Nest:
    """The loops of one factor choice, built once and shared by every loop order and keep choice tried
    with it (the engine only reads them): spatial loops per level, each level's loops per order, and the
    engine's order-independent analysis of them (:attr:`base`, a :class:`~fusemax.engine.evaluate.Tiling`
    whose tile sizes the keep choices are checked against)."""

    def __init__(self, space: MapSpace, factors: Factors):
        self.factors = factors
        self.spatial = [[Loop(r, factors.spatial[ls.index].get(r, 1), ls.spatial_axis[r]) for r in ls.spatial_order]
                        for ls in space.levels]
        self._levels: dict[tuple[int, int], LevelMapping] = {}
        # the loops in any one order (the factors' own): each order tried re-orders it (:meth:`tiling`)
        self.base = build_tiling(space.architecture, space.problem, [
            LevelMapping(temporal=[Loop(r, f) for r, f in factors.temporal[i].items()], spatial=sp)
            for i, sp in enumerate(self.spatial)])

    def level(self, level: int, order: list[str]) -> LevelMapping:
        """The loops of ``level`` in ``order`` (innermost first), nothing kept: keeps are priced per tensor."""
        key = (level, id(order))  # orders are the mapspace's shared lists: one object per distinct order
        lm = self._levels.get(key)
        if lm is None:
            bounds = self.factors.temporal[level]
            lm = self._levels[key] = LevelMapping(temporal=[Loop(r, bounds.get(r, 1)) for r in order],
                                                  spatial=self.spatial[level])
        return lm

    def orders(self, orders: list[list[list[str]]]) -> Iterator[tuple[tuple, list[LevelMapping]]]:
        """Every combination of the levels' ``orders`` (``itertools.product`` order) with its loops."""
        per_level = [[self.level(i, order) for order in level_orders] for i, level_orders in enumerate(orders)]
        for order, levels in zip(itertools.product(*orders), itertools.product(*per_level)):
            yield order, list(levels)

    def mapping(self, keeps: tuple, orders: tuple) -> Mapping:
        return Mapping(levels=[LevelMapping(temporal=lm.temporal, spatial=lm.spatial, keep=set(keep))
                               for lm, keep in zip((self.level(i, o) for i, o in enumerate(orders)), keeps)])

    def tiling(self, levels: list[LevelMapping]) -> Tiling:
        """The engine's :class:`~fusemax.engine.evaluate.Tiling` of ``levels`` (this choice's loops in some
        order)."""
        return self.base.with_order(levels)


def _no_legal_mapping(space: MapSpace, failures: Counter, smallest: dict[str, int]) -> MappingError:
    if failures:
        level, _ = failures.most_common(1)[0]
        cap = next(ls.capacity for ls in space.levels if ls.name == level)
        need = smallest.get(level)
        detail = f"; its smallest allowed tile needs {need} words, capacity {cap:g}" if need is not None else ""
        return MappingError(f"no legal mapping: level {level} cannot fit any tile the constraints allow{detail}",
                            key=level)
    return MappingError("no legal mapping: every candidate exceeds a level's fan-out")


class _Family:
    """Scores every keep choice of one (factors, loop orders) pair.

    Timeloop analyses each tensor on its own: a tensor's accesses and energy at every level depend on the
    loops and on which levels keep *that* tensor, never on the other tensors' keep choices (capacity aside,
    which :meth:`MapSpace.keep_choices` has already checked). So the engine prices each tensor once per
    chain of levels that keeps it (:func:`~fusemax.engine.evaluate.tensor_counts`), and a keep choice's
    totals are sums of per-tensor numbers: 2 chains per tensor instead of 8 evaluations for one level with
    three free tensors. ``evaluations`` counts the keep patterns so priced (kept / bypassed free tensors
    per level: one engine evaluation's worth each). Levels with bandwidth limits couple the tensors through
    throttling, so then every keep choice is evaluated in full.
    """

    def __init__(self, spec: Spec, space: MapSpace, ert: ERT | None):
        self.spec, self.space, self.ert = spec, space, ert
        arch = spec.architecture
        self.decomposable = all(lv.read_bandwidth is None and lv.write_bandwidth is None
                                and lv.shared_bandwidth is None for lv in arch.storage)
        self.free = [ls.index for ls in space.levels if ls.keep_free]
        self.spaces = spec.problem.data_spaces
        self.energies = [access_energies(ert, lv.name) for lv in arch.storage]
        self.blocks = [lv.block_size for lv in arch.storage]
        self.mac_energy = spec.problem.computes * compute_energy(ert, arch.arithmetic.name)
        self.evaluations = 0
        self._keep_choices: dict[tuple, list[tuple[tuple, tuple]]] = {}

    def keep_choices(self, keep_sets: list[list[frozenset[str]]]) -> list[tuple[tuple, tuple]]:
        """Every keep choice of ``keep_sets`` (one list of sets per level), in enumeration order, with the
        levels that keep each tensor (innermost first): what :meth:`scores` prices them by. Shared (do not
        change it): the factor choices of a search have few distinct keep sets."""
        key = tuple(map(tuple, keep_sets))
        choices = self._keep_choices.get(key)
        if choices is None:
            choices = self._keep_choices[key] = [
                (keeps, tuple(tuple(i for i, keep in enumerate(keeps) if ds.name in keep) for ds in self.spaces))
                for keeps in itertools.product(*keep_sets)]
        return choices

    def scores(self, nest: _Nest, order: tuple, levels: list[LevelMapping], choices: list[tuple[tuple, tuple]],
               metrics: tuple[str, ...], outer_first: list[str], failures: Counter) -> list[tuple[tuple, tuple]]:
        """(score, keeps) of every keep choice in ``choices`` (from :meth:`keep_choices`) with the loop
        orders ``order`` (``levels``: their loops, from :meth:`_Nest.orders`)."""
        tiling = nest.tiling(levels)
        if not self.decomposable:
            out = []
            for keeps, _ in choices:
                self.evaluations += 1
                stats = evaluate(Spec(self.spec.architecture, self.spec.problem, nest.mapping(keeps, order),
                                      self.spec.source), self.ert, tiling=tiling)
                if not stats.valid:
                    failures[_failed_level(stats)] += 1
                    continue
                acc = {n: _accesses(stats, n) for n in outer_first}
                out.append((_score(stats.energy_pj, stats.cycles, acc, metrics, outer_first), keeps))
            return out
        if tiling.fanout_error is not None:  # fan-out: the same for every keep choice
            self.evaluations += 1
            failures[tiling.fanout_error[0]] += 1
            return []
        self.evaluations += 2 ** len(self.free)
        compute_cycles = tiling.info.compute_cycles
        cycles = max(compute_cycles, throttled_cycles(compute_cycles, 1.0))  # no level has a bandwidth limit
        names = [lv.name for lv in self.spec.architecture.storage]
        position = {names.index(n): p for p, n in enumerate(outer_first)}
        # priced[tensor, levels keeping it] = (energy, accesses per level of outer_first)
        priced: dict[tuple[int, tuple[int, ...]], tuple[float, list[int]]] = {}
        out = []
        for keeps, chains in choices:
            energy = self.mac_energy
            level_accesses = [0] * len(outer_first)
            for t, kept in enumerate(chains):
                got = priced.get((t, kept))
                if got is None:
                    got = priced[t, kept] = self._price(self.spaces[t], kept, levels, tiling, position,
                                                        len(outer_first))
                e, a = got
                energy += e
                level_accesses = [x + y for x, y in zip(level_accesses, a)]
            out.append((_score(energy, cycles, dict(zip(outer_first, level_accesses)), metrics, outer_first), keeps))
        return out

    def _price(self, ds: DataSpace, kept: tuple[int, ...], levels: list[LevelMapping], tiling: Tiling,
               position: dict[int, int], n_outer: int) -> tuple[float, list[int]]:
        """Energy of ``ds`` over the levels in ``kept`` (summed innermost first, as the engine's level
        statistics are) and its word accesses at each level of ``position`` (level -> place outermost first)."""
        energy = 0.0
        accesses = [0] * n_outer
        if not kept:
            return energy, accesses
        for c in tensor_counts(ds, list(kept), self.spec.architecture, levels, tiling):
            k = c.level
            instances = tiling.above[k + 1]
            e_read, e_write = self.energies[k]
            energy += access_energy(instances, c.reads, c.fills, c.updates, self.blocks[k], e_read, e_write)
            if k in position:
                accesses[position[k]] = _word_accesses(c.reads, c.fills, c.updates, instances)
        return energy, accesses


def _failed_level(stats: Stats) -> str:
    return (stats.error or "").split(":")[0].removeprefix("couldn't map level ")


def search(spec: Spec, constraints: Constraints, metric: str | list[str] | tuple[str, ...] | None = None,
           ert: ERT | None = None, *, max_candidates: int = DEFAULT_MAX_CANDIDATES,
           time_budget: float | None = None, prune: bool = True) -> MapperResult:
    """Best mapping of ``spec``'s problem on its architecture within ``constraints``.

    ``spec.mapping`` is ignored. ``metric`` overrides ``constraints.metrics`` (Timeloop's
    ``optimization_metrics``). ``ert`` prices accesses (energies are 0 without one). ``max_candidates``
    (>= 1) bounds the candidates tried; above it, factor choices are sampled at an even stride.
    ``time_budget`` (seconds; timeloop-mapper bounds its searches similarly) stops the search at the first
    factor choice past it once a legal mapping is known, keeping the best so far; the result says so. Raises
    :class:`~fusemax.errors.MappingError` naming the level that cannot fit when nothing is legal.
    ``prune`` skips factor choices whose lower bound (:mod:`.bound`) is above the best score found, which
    never changes the result; off, every candidate is scored.
    """
    if isinstance(max_candidates, bool) or not isinstance(max_candidates, int) or max_candidates < 1:
        raise MappingError(f"expected at least 1 candidate, got {max_candidates!r}", source="--max-candidates")
    if time_budget is not None and not 0 <= time_budget < float("inf"):
        raise MappingError(f"expected a finite number of seconds >= 0, got {time_budget!r}", source="--time-budget")
    deadline = None if time_budget is None else time.monotonic() + time_budget
    metrics = parse_metrics(metric) if metric is not None else constraints.metrics
    space = build_mapspace(spec.architecture, spec.problem, constraints)
    outer_first = [ls.name for ls in reversed(space.levels) if not ls.is_dummy]
    n_factor = space.count_factor_choices()
    per_factor_bound = _product(2 ** len(ls.keep_free) for ls in space.levels) * _product(
        _factorial(len(space.problem.ranks) - len(ls.order_prefix)) for ls in space.levels if not ls.is_dummy)
    stride = max(1, -(-n_factor * per_factor_bound // max_candidates))
    exhaustive = stride == 1

    family = _Family(spec, space, ert)
    first_pass = Bound(space, ert, metrics[0])
    best = best_score = None
    scored = cut_capacity = cut_bound = 0
    failures: Counter = Counter()
    smallest: dict[str, int] = {}
    out_of_time = False
    for ks in space.choice_numbers(stride, _BATCH):
        fp = first_pass(ks)
        for ls in space.levels:
            over = fp.fits & (fp.overflow == ls.index)
            if over.any():
                failures[ls.name] += int(over.sum())
                cut_capacity += int(over.sum())
                need = int(fp.need[over].min())
                smallest[ls.name] = min(smallest.get(ls.name, need), need)
        legal = fp.legal
        # Likely winners first, so the bound cuts the rest (ties in mapspace order). A large batch is ranked by
        # the cheaper per-tensor bound and bounded exactly a slice at a time: most slices are never reached.
        rough, step = None, max(1, len(legal))
        if prune and first_pass.two_strengths and len(legal) > _EXACT_AT_ONCE:
            rough = first_pass.lower(fp, legal, exact=False)
            ranked = np.lexsort((legal, rough))
            legal, rough, step = legal[ranked], rough[ranked], _EXACT_AT_ONCE
        for start in range(0, len(legal), step):
            if rough is not None and best_score is not None and rough[start] * (1 - 1e-9) > best_score[0][0]:
                cut_bound += len(legal) - start  # ranked: every later choice is bounded above the best too
                break
            part = legal[start:start + step]
            if prune:
                low = first_pass.lower(fp, part)
                ranked = np.lexsort((part, low))
                part, low = part[ranked], low[ranked]
            for i, c in enumerate(part):
                if deadline is not None and time.monotonic() > deadline and best is not None:
                    out_of_time = True
                    break
                if prune and best_score is not None and low[i] * (1 - 1e-9) > best_score[0][0]:
                    cut_bound += len(part) - i  # sorted: every later choice of the slice is bounded above too
                    break
                pos = int(ks[c])
                factors = space.factors_at(pos)
                nest = _Nest(space, factors)
                keep_sets = [space.keep_choices(ls, nest.base.sizes[ls.index]) for ls in space.levels]
                if not all(keep_sets):  # the two capacity checks disagree: a bug, say so
                    raise MappingError(f"internal: factor choice {pos} passed the capacity check, yet a level "
                                       "has no keep choice that fits")
                orders = [space.orders(ls, factors.temporal[ls.index]) for ls in space.levels]
                choices = family.keep_choices(keep_sets)
                for j, (order, levels) in enumerate(nest.orders(orders)):
                    for k, (score, keeps) in enumerate(family.scores(nest, order, levels, choices, metrics,
                                                                     outer_first, failures)):
                        scored += 1
                        # Ties go to the first candidate in mapspace order, whatever order they were tried in.
                        ranked_score = (score, (pos, j, k))
                        if best_score is None or ranked_score < best_score:
                            best, best_score = (nest, keeps, order, levels), ranked_score
            if out_of_time:
                break
        if out_of_time:
            break
    if best is None:
        raise _no_legal_mapping(space, failures, smallest)
    nest, keeps, order, levels = best
    mapping = nest.mapping(keeps, order)
    stats = evaluate(Spec(spec.architecture, spec.problem, mapping, spec.source), ert, tiling=nest.tiling(levels))
    if not stats.valid:  # the capacity check of keep_choices and the engine's disagree: a bug, say so
        raise MappingError(f"internal: the best candidate is invalid in full evaluation ({stats.error})")
    how = "exhaustive" if exhaustive else f"sampled every {stride}th factor choice"
    if out_of_time:
        how = f"stopped at the time budget of {time_budget:g} s ({how.replace('exhaustive', 'in order of the lower bound')})"
        exhaustive = False
    method = (f"{how}: {scored} candidates scored with {family.evaluations} engine evaluations, "
              f"{n_factor} factor choices ({cut_capacity} cut for overflowing a level, {cut_bound} by the "
              "lower bound); equivalent loop orders merged, unit loops unordered, keep choices priced per tensor")
    return MapperResult(mapping, stats, Spec(spec.architecture, spec.problem, mapping, spec.source), scored,
                        exhaustive, method)


def _product(values) -> int:
    p = 1
    for v in values:
        p *= v
    return p


def _factorial(n: int) -> int:
    return _product(range(1, n + 1))
