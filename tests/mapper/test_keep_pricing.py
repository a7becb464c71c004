"""The search prices keep choices per tensor (:class:`fusemax.mapper.search._Family`) from the engine's
per-tensor counts on one :class:`~fusemax.engine.evaluate.Tiling` per factor choice; every score must
be the one the engine's full evaluation of that candidate gives."""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

import pytest

from fusemax import yamlio
from fusemax.energy import reference_tables
from fusemax.engine import evaluate, spec_from_texts
from fusemax.engine.model import Architecture, Spec
from fusemax.mapper.search import _accesses, _Family, _Nest, _score
from fusemax.mapper.space import build_mapspace

from .test_bound import _spec_and_constraints, _study_files
from .test_mapspace import TINY_ARCH, constraints, tiny

METRICS = ("energy", "delay", "last_level_accesses")

#: DRAM -> Buffer -> 4 MACs: the Buffer fans out right above the arithmetic units (link transfers between
#: them; every loop order is tried), and may bypass any tensor.
FANNED_OUT = """
architecture:
  version: 0.4
  nodes:
  - !Container {name: system, attributes: {technology: "16nm"}}
  - !Component {name: DRAM, class: DRAM, attributes: {type: LPDDR4, width: 64, datawidth: 16}}
  - !Component {name: Buffer, class: storage, subclass: aladdin_register, attributes: {depth: 24, width: 16, datawidth: 16}}
  - !Container {name: PE, spatial: {meshX: 4}}
  - !Component {name: mac, class: intmac, attributes: {multiplier_width: 16, adder_width: 16}}
"""


def _check_every_candidate(spec: Spec, cons, ert, most: int) -> int:
    """Compares the family's score of every candidate of the first ``most`` factor choices that fit with
    the full evaluation's; returns how many candidates were compared."""
    space = build_mapspace(spec.architecture, spec.problem, cons)
    family = _Family(spec, space, ert)
    outer_first = [ls.name for ls in reversed(space.levels) if not ls.is_dummy]
    compared = tried = 0
    for k in range(space.count_factor_choices()):
        factors = space.factors_at(k)
        nest = _Nest(space, factors)
        keep_sets = [space.keep_choices(ls, nest.base.sizes[ls.index]) for ls in space.levels]
        if not all(keep_sets):
            continue
        tried += 1
        if tried > most:
            break
        for order, levels in nest.orders([space.orders(ls, factors.temporal[ls.index]) for ls in space.levels]):
            failures: Counter = Counter()
            got = family.scores(nest, order, levels, family.keep_choices(keep_sets), METRICS, outer_first, failures)
            want = []
            for keeps in itertools.product(*keep_sets):
                stats = evaluate(Spec(spec.architecture, spec.problem, nest.mapping(keeps, order)), ert)
                if stats.valid:
                    want.append((_score(stats.energy_pj, stats.cycles, {n: _accesses(stats, n) for n in outer_first},
                                        METRICS, outer_first), keeps))
                else:
                    assert stats.error.startswith("couldn't map level ")
            assert [keeps for _, keeps in got] == [keeps for _, keeps in want]
            assert bool(failures) == (not want)
            for (score, _), (truth, _) in zip(got, want):
                # Energy is summed per tensor here and per level there: equal up to rounding.
                assert score[0] == pytest.approx(truth[0], rel=1e-12)
                assert score[1:] == truth[1:]  # cycles and every level's accesses, exactly
                compared += 1
    return compared


@pytest.mark.parametrize("case, candidates", [
    (("unfused", "BERT", 1024, "QK", "prefill", None), 600),     # three tensors free at one level
    (("layer", "BERT", 4096, "FFN1", "prefill", "proposal"), 100),
    (("end2end", "BERT", 4096, "Q", "prefill", None), 10),
])
def test_scores_are_the_full_evaluations(case, candidates):
    spec, cons, ert = _spec_and_constraints(_study_files(*case), "edp")
    assert _check_every_candidate(spec, cons, ert, most=40) >= candidates


def test_scores_with_free_keeps_and_a_small_buffer_are_the_full_evaluations():
    # A, B, Z may each bypass a buffer too small for some tiles; a fan-out limit of 1 everywhere.
    spec = tiny(12, 8, 4, 6)
    ert, _ = reference_tables(yamlio.loads(TINY_ARCH.format(capacity=12)))
    assert _check_every_candidate(spec, constraints(spec, []), ert, most=10_000) > 1000


def test_scores_under_a_bandwidth_limit_are_the_full_evaluations():
    # A bandwidth limit couples the tensors: every keep choice is evaluated in full, on the shared tiling.
    spec = tiny(12, 8, 4, 6)
    arch = spec.architecture
    limited = Architecture([replace(arch.storage[0], read_bandwidth=0.5)] + arch.storage[1:], arch.arithmetic)
    spec = Spec(limited, spec.problem, spec.mapping)
    ert, _ = reference_tables(yamlio.loads(TINY_ARCH.format(capacity=12)))
    assert _check_every_candidate(spec, constraints(spec, []), ert, most=10_000) > 1000


def test_scores_with_a_fan_out_right_above_the_macs_are_the_full_evaluations():
    problem = yamlio.dumps({"problem": {"shape": {"name": "mm", "dimensions": ["M", "N", "K"], "data_spaces": [
        {"name": "A", "projection": [[["M"]], [["K"]]]}, {"name": "B", "projection": [[["K"]], [["N"]]]},
        {"name": "Z", "projection": [[["M"]], [["N"]]], "read_write": True}]},
        "instance": {"M": 4, "N": 4, "K": 2}}})
    spec = spec_from_texts({"arch": FANNED_OUT, "problem": problem, "mapping": "mapping: []\n"})
    assert spec.architecture.storage[0].is_dummy and spec.architecture.storage[0].fanout_x == 4
    ert, _ = reference_tables(yamlio.loads(FANNED_OUT))
    assert _check_every_candidate(spec, constraints(spec, []), ert, most=10_000) > 2000
