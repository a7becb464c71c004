"""The mapper's lower bound (fusemax.mapper.bound): never above any candidate's score, so pruning by it
finds the very mapping an unpruned search finds."""
from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest

from fusemax import yamlio
from fusemax.energy import reference_tables
from fusemax.engine import evaluate
from fusemax.engine.model import Spec
from fusemax.mapper import mapping_to_yaml, search
from fusemax.mapper.bound import Bound
from fusemax.mapper.files import search_texts
from fusemax.mapper.search import _accesses, _Nest, _score
from fusemax.mapper.space import build_mapspace
from fusemax.render import render
from fusemax.workload import Workload, get_model

from .test_mapspace import KEEP_ALL, TINY_ARCH, constraints, tiny

METRICS = ("edp", "energy", "delay", "last_level_accesses")


def _study_files(config: str, model: str, tokens: int, einsum: str, phase: str = "prefill",
                 platform: str | None = None) -> dict[str, str]:
    from fusemax.experiments.layer import platform_hardware
    w = Workload(get_model(model), tokens, phase, 1)
    hw = platform_hardware(platform) if platform else None
    rendered = render(config, w, hw) if hw else render(config, w)
    return dict(rendered.einsums[einsum].files())


def _spec_and_constraints(files: dict[str, str], metric: str):
    """The spec, constraints and ERT the mapper would search (search_texts's inputs), via a capture."""
    files_module = importlib.import_module("fusemax.mapper.files")
    seen = {}

    def capture(spec, constraints, metric=None, ert=None, **kwargs):
        seen.update(spec=spec, constraints=constraints, ert=ert)
        raise StopIteration

    real = files_module.search
    files_module.search = capture
    try:
        with pytest.raises(StopIteration):
            search_texts(files, "case", metric=metric)
    finally:
        files_module.search = real
    return seen["spec"], seen["constraints"], seen["ert"]


def _fanout(factors, level: int) -> int:
    out = 1
    for f in factors.spatial[level].values():
        out *= f
    return out


def _every_candidate_respects_the_bound(spec: Spec, cons, ert, metric: str) -> int:
    """Evaluates every candidate of the mapspace in full and checks the bound of its factor choice is not
    above its first metric; returns how many candidates were checked."""
    space = build_mapspace(spec.architecture, spec.problem, cons)
    bound = Bound(space, ert, metric)
    first_pass = bound(np.arange(space.count_factor_choices()))
    legal = first_pass.legal
    exact = dict(zip(legal, bound.lower(first_pass, legal)))
    per_tensor = dict(zip(legal, bound.lower(first_pass, legal, exact=False)))
    outer_first = [ls.name for ls in reversed(space.levels) if not ls.is_dummy]
    checked = 0
    for k in range(space.count_factor_choices()):
        factors = space.factors_at(k)
        nest = _Nest(space, factors)
        keep_sets = [space.keep_choices(ls, nest.base.sizes[ls.index]) for ls in space.levels]
        # the first pass's fan-out and capacity checks are the scalar ones
        fits = all(_fanout(factors, i) <= ls.fanout for i, ls in enumerate(space.levels))
        assert bool(first_pass.fits[k]) == fits
        if not fits:
            continue
        assert (first_pass.overflow[k] < 0) == all(keep_sets)
        if not all(keep_sets):
            continue
        low = exact[k]
        # each tensor in its own least-filling orders: never above the orders all tensors share
        assert per_tensor[k] <= low * (1 + 1e-12)
        orders = [space.orders(ls, factors.temporal[ls.index]) for ls in space.levels]
        for order in itertools.product(*orders):
            for keeps in itertools.product(*keep_sets):
                stats = evaluate(Spec(spec.architecture, spec.problem, nest.mapping(keeps, order), spec.source), ert)
                if not stats.valid:
                    continue
                value = _score(stats.energy_pj, stats.cycles, {n: _accesses(stats, n) for n in outer_first},
                               (metric,), outer_first)[0]
                assert low <= value * (1 + 1e-12), (metric, factors, order, keeps, low, value)
                checked += 1
    return checked


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("case, candidates", [
    (("layer", "BERT", 4096, "FFN1", "prefill", "proposal"), 1000),
    (("layer", "OPT-66B", 256, "FFN2", "prefill", "flat"), 500),
    (("layer", "BERT", 64, "Q", "decode", "flat"), 50),
    (("unfused", "BERT", 1024, "QK", "prefill", None), 1000),
    (("end2end", "BERT", 4096, "Q", "prefill", None), 10),
])
def test_the_bound_is_below_every_candidate(case, candidates, metric):
    """Independent truth: the engine's full evaluation of every candidate (factors x orders x keeps)."""
    spec, cons, ert = _spec_and_constraints(_study_files(*case), metric)
    assert _every_candidate_respects_the_bound(spec, cons, ert, metric) >= candidates


@pytest.mark.parametrize("metric", METRICS)
def test_the_bound_holds_with_free_keeps_and_small_buffers(metric):
    # Free keeps (A, B, Z may each bypass the buffer) and a buffer too small for some tiles.
    spec = tiny(12, 8, 4, 6)
    ert, _ = reference_tables(yamlio.loads(TINY_ARCH.format(capacity=12)))
    cons = constraints(spec, [], metrics=(metric,))
    assert _every_candidate_respects_the_bound(spec, cons, ert, metric) > 20


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("case", [
    ("layer", "OPT-66B", 2048, "FFN1", "prefill", "proposal"),
    ("layer", "Llama-3-8B", 256, "FFN2", "decode", "flat"),
    ("unfused", "BERT", 1024, "AV", "prefill", None),
    ("end2end", "BERT", 1024, "FFN1", "prefill", None),
])
def test_pruned_search_finds_the_unpruned_mapping(case, metric):
    spec, cons, ert = _spec_and_constraints(_study_files(*case), metric)
    pruned = search(spec, cons, metric, ert)
    every = search(spec, cons, metric, ert, prune=False)
    arch = spec.architecture
    assert mapping_to_yaml(pruned.mapping, arch) == mapping_to_yaml(every.mapping, arch)
    assert pruned.stats.to_json() == every.stats.to_json()
    assert pruned.candidates_evaluated <= every.candidates_evaluated
    if metric == "edp" and case[0] == "layer":
        assert pruned.candidates_evaluated < 0.5 * every.candidates_evaluated


def test_tiny_search_with_keep_choices_is_unchanged_by_pruning():
    spec = tiny(7, 4, 2, 3)
    c = constraints(spec, [KEEP_ALL], metrics=("edp",))
    ert, _ = reference_tables(yamlio.loads(TINY_ARCH.format(capacity=7)))
    a, b = search(spec, c, ert=ert), search(spec, c, ert=ert, prune=False)
    assert mapping_to_yaml(a.mapping, spec.architecture) == mapping_to_yaml(b.mapping, spec.architecture)


def test_factor_numbers_past_int64_decode_like_small_ones():
    # A mapspace of more than 2**63 factor choices is numbered with Python ints: the arrays of the first
    # pass must decode them as factors_at does.
    from fusemax.mapper.space import choice_range
    spec = tiny(64, 64, 32, 16)
    space = build_mapspace(spec.architecture, spec.problem, constraints(spec, [KEEP_ALL]))
    n = space.count_factor_choices()
    ks = choice_range(2**63 + 5, 2**63 + 5 + 3 * n, 3)
    assert ks.dtype == object
    temporal, _ = space.factor_arrays(ks)
    ranks = spec.problem.ranks
    for row, k in zip(temporal, ks):
        # the mixed radix wraps at n: choice k is choice k mod n
        expected = space.factors_at(int(k) % n)
        assert [[expected.temporal[i].get(r, 1) for r in ranks] for i in range(len(space.levels))] == row.tolist()


def test_the_bound_of_a_single_candidate_is_its_energy():
    # One factor choice, one order, Z accumulated in the Buffer: every count the bound takes is exact, so
    # the bound is the candidate's energy (independent truth: the full evaluation), the Buffer's reads of Z
    # back for accumulation and its refills of Z from DRAM included. By hand: 24 MACs update Z's Buffer
    # tile (2x2); its partition is all of Z (8 words), so 24 - 8 = 16 reads; DRAM's K loop outside its M
    # loop refills the tile 2 x 3 times, 4 x 6 - 8 = 16 fills.
    spec = tiny(64, 4, 2, 3)
    order = ["M", "N", "K"]  # innermost first
    fixed = [KEEP_ALL, {"target": "Buffer", "type": "temporal", "factors": ["M=2", "N=2", "K=1"], "permutation": order},
             {"target": "DRAM", "type": "temporal", "factors": ["M=2", "N=1", "K=3"], "permutation": order}]
    c = constraints(spec, fixed, metrics=("energy",))
    ert, _ = reference_tables(yamlio.loads(TINY_ARCH.format(capacity=64)))
    space = build_mapspace(spec.architecture, spec.problem, c)
    assert space.count_factor_choices() == 1
    result = search(spec, c, ert=ert)
    assert result.candidates_evaluated == 1
    z = result.stats.levels["Buffer"].dataspaces["Z"]
    assert (z.updates_per_instance, z.reads_per_instance, z.fills_per_instance) == (24, 16, 16)
    bound = Bound(space, ert, "energy")
    assert bound.lower(bound(np.arange(1)), np.arange(1))[0] == pytest.approx(result.stats.energy_pj, rel=1e-12)


def test_the_exact_bound_takes_the_orders_all_tensors_share():
    # The same single factor choice with DRAM's order left free: its M (2) and K (3) loops go either way.
    # B (ranks K, N) is filled least with M innermost (its tile re-used over M: 3 fills, not 6); Z (M, N)
    # with K innermost (2 fills, not 6). No order gives both, so each tensor in its own best order is
    # below every candidate, while the least over the two orders all tensors share is the best
    # candidate's energy (independent truth: the full evaluation of the exhaustive search's result).
    spec = tiny(64, 4, 2, 3)
    fixed = [KEEP_ALL, {"target": "Buffer", "type": "temporal", "factors": ["M=2", "N=2", "K=1"],
                        "permutation": ["M", "N", "K"]},
             {"target": "DRAM", "type": "temporal", "factors": ["M=2", "N=1", "K=3"]}]
    c = constraints(spec, fixed, metrics=("energy",))
    ert, _ = reference_tables(yamlio.loads(TINY_ARCH.format(capacity=64)))
    space = build_mapspace(spec.architecture, spec.problem, c)
    result = search(spec, c, ert=ert, prune=False)
    assert result.candidates_evaluated == 2
    bound = Bound(space, ert, "energy")
    first_pass = bound(np.arange(1))
    assert bound.lower(first_pass, np.arange(1))[0] == pytest.approx(result.stats.energy_pj, rel=1e-12)
    assert bound.lower(first_pass, np.arange(1), exact=False)[0] < result.stats.energy_pj * (1 - 1e-3)
