"""Search a mapspace for the best mapping under Timeloop's optimization metrics.

The order of preference is the ordered metric list (``edp``, ``delay``, ``energy``,
``last_level_accesses``; later ones break ties of earlier ones), then fewer cycles, then fewer word
accesses at the outermost level, then at the next level in, and so on; the first candidate in
enumeration order wins a remaining tie, so the result is deterministic. Without an ERT every energy is
0, so ``edp`` and ``energy`` fall through to cycles and then to accesses, outermost level first.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

from fusemax.energy.tables import ERT
from fusemax.engine import evaluate
from fusemax.engine.model import LevelMapping, Loop, Mapping, Spec
from fusemax.errors import MappingError
from fusemax.stats import Stats

from .constraints import Constraints, parse_metrics
from .space import Factors, MapSpace, build_mapspace

#: Above this many candidates (an upper bound: factor choices x keep sets x orders) the search samples
#: factor choices at an even stride instead of trying them all, and says so.
DEFAULT_MAX_CANDIDATES = 400_000


@dataclass
class MapperResult:
    """The best mapping found, its statistics and how it was found."""

    mapping: Mapping
    stats: Stats
    spec: Spec                  # the input spec with ``mapping`` in place
    candidates_evaluated: int
    exhaustive: bool
    method: str                 # one line: what was enumerated and what was cut


def _score(stats: Stats, metrics: tuple[str, ...], outer_first: list[str]) -> tuple:
    values = []
    for m in metrics:
        if m == "edp":
            values.append(stats.energy_pj * stats.cycles)
        elif m == "delay":
            values.append(stats.cycles)
        elif m == "energy":
            values.append(stats.energy_pj)
        else:  # last_level_accesses
            values.append(_accesses(stats, outer_first[0]))
    values.append(stats.cycles)
    values.extend(_accesses(stats, name) for name in outer_first)
    return tuple(values)


def _accesses(stats: Stats, level: str) -> int:
    ls = stats.levels.get(level)
    if ls is None:
        return 0
    return sum((d.reads_per_instance + d.fills_per_instance + d.updates_per_instance) * d.utilized_instances
               for d in ls.dataspaces.values())


def _mapping(space: MapSpace, factors: Factors, keeps: tuple, orders: tuple) -> Mapping:
    levels = []
    for ls, keep, order in zip(space.levels, keeps, orders):
        sp = factors.spatial[ls.index]
        levels.append(LevelMapping(
            temporal=[Loop(r, factors.temporal[ls.index].get(r, 1)) for r in order],
            spatial=[Loop(r, sp.get(r, 1), ls.spatial_axis[r]) for r in ls.spatial_order],
            keep=set(keep)))
    return Mapping(levels=levels)


def _no_legal_mapping(space: MapSpace, failures: Counter, smallest: dict[str, int]) -> MappingError:
    if failures:
        level, _ = failures.most_common(1)[0]
        cap = next(ls.capacity for ls in space.levels if ls.name == level)
        need = smallest.get(level)
        detail = f"; its smallest allowed tile needs {need} words, capacity {cap:g}" if need is not None else ""
        return MappingError(f"no legal mapping: level {level} cannot fit any tile the constraints allow{detail}",
                            key=level)
    return MappingError("no legal mapping: every candidate exceeds a level's fan-out")


def search(spec: Spec, constraints: Constraints, metric: str | list[str] | tuple[str, ...] | None = None,
           ert: ERT | None = None, *, max_candidates: int = DEFAULT_MAX_CANDIDATES) -> MapperResult:
    """Best mapping of ``spec``'s problem on its architecture within ``constraints``.

    ``spec.mapping`` is ignored. ``metric`` overrides ``constraints.metrics`` (Timeloop's
    ``optimization_metrics``). ``ert`` prices accesses (energies are 0 without one). Raises
    :class:`~fusemax.errors.MappingError` naming the level that cannot fit when nothing is legal.
    """
    metrics = parse_metrics(metric) if metric is not None else constraints.metrics
    space = build_mapspace(spec.architecture, spec.problem, constraints)
    outer_first = [ls.name for ls in reversed(space.levels) if not ls.is_dummy]
    n_factor = space.count_factor_choices()
    per_factor_bound = _product(2 ** len(ls.keep_free) for ls in space.levels) * _product(
        _factorial(len(space.problem.ranks) - len(ls.order_prefix)) for ls in space.levels if not ls.is_dummy)
    stride = max(1, -(-n_factor * per_factor_bound // max_candidates))
    exhaustive = stride == 1

    best = best_score = best_stats = None
    evaluated = cut_capacity = 0
    failures: Counter = Counter()
    smallest: dict[str, int] = {}
    for k, factors in enumerate(space.factor_choices()):
        if k % stride:
            continue
        tiles = space.tile_sizes(factors)
        keep_sets = []
        for ls in space.levels:
            choices = space.keep_choices(ls, tiles[ls.index])
            if not choices:
                need = sum(tiles[ls.index][t] for t in ls.keep_fixed)
                smallest[ls.name] = min(smallest.get(ls.name, need), need)
                failures[ls.name] += 1
                break
            keep_sets.append(choices)
        else:
            orders = [space.orders(ls, factors.temporal[ls.index]) for ls in space.levels]
            for order in itertools.product(*orders):
                for keeps in itertools.product(*keep_sets):
                    mapping = _mapping(space, factors, keeps, order)
                    stats = evaluate(Spec(spec.architecture, spec.problem, mapping, spec.source), ert)
                    evaluated += 1
                    if not stats.valid:
                        failures[stats.error.split(":")[0].removeprefix("couldn't map level ")] += 1
                        continue
                    score = _score(stats, metrics, outer_first)
                    if best_score is None or score < best_score:
                        best, best_score, best_stats = mapping, score, stats
            continue
        cut_capacity += 1
    if best is None:
        raise _no_legal_mapping(space, failures, smallest)
    how = "exhaustive" if exhaustive else f"sampled every {stride}th factor choice"
    method = (f"{how}: {evaluated} candidates evaluated out of {n_factor} factor choices "
              f"({cut_capacity} cut for overflowing a level); equivalent loop orders merged, unit loops unordered")
    return MapperResult(best, best_stats, Spec(spec.architecture, spec.problem, best, spec.source), evaluated,
                        exhaustive, method)


def _product(values) -> int:
    p = 1
    for v in values:
        p *= v
    return p


def _factorial(n: int) -> int:
    return _product(range(1, n + 1))
