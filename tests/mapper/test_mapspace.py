"""The mapper on tiny mapspaces whose legal mappings and best mapping are derived by hand."""
from __future__ import annotations

import itertools

import pytest

from fusemax import yamlio
from fusemax.energy import reference_tables
from fusemax.engine import evaluate, spec_from_texts
from fusemax.engine.model import LevelMapping, Loop, Mapping, Spec
from fusemax.errors import MappingError
from fusemax.mapper import constraints_from_dict, mapping_to_yaml, search
from fusemax.mapper.search import _accesses


TINY_ARCH = """
architecture:
  version: 0.4
  nodes:
  - !Container {{name: system, attributes: {{technology: "16nm"}}}}
  - !Component {{name: DRAM, class: DRAM, attributes: {{type: LPDDR4, width: 64, datawidth: 16}}}}
  - !Component {{name: Buffer, class: storage, subclass: aladdin_register,
                attributes: {{depth: {capacity}, width: 16, datawidth: 16}}}}
  - !Component {{name: mac, class: intmac, attributes: {{multiplier_width: 16, adder_width: 16}}}}
"""


def tiny(capacity: int, M: int, N: int, K: int) -> Spec:
    """DRAM -> Buffer (``capacity`` words, one word per row) -> one MAC, computing Z[m,n] += A[m,k] B[k,n]."""
    arch = TINY_ARCH.format(capacity=capacity)
    problem = f"""
problem:
  shape:
    name: mm
    dimensions: [M, N, K]
    data_spaces:
    - {{name: A, projection: [[[M]], [[K]]]}}
    - {{name: B, projection: [[[K]], [[N]]]}}
    - {{name: Z, projection: [[[M]], [[N]]], read_write: true}}
  instance: {{M: {M}, N: {N}, K: {K}}}
"""
    return spec_from_texts({"arch": arch, "problem": problem, "mapping": "mapping: []\n"})


def constraints(spec: Spec, targets: list, metrics=("last_level_accesses",)):
    return constraints_from_dict({"constraints": {"targets": targets},
                                  "mapper": {"optimization_metrics": list(metrics)}}, spec.problem)


KEEP_ALL = {"target": "Buffer", "type": "dataspace", "keep": ["A", "B", "Z"]}


def dram_accesses(result) -> int:
    return _accesses(result.stats, "DRAM")


def test_candidate_count_by_hand():
    # M=4, N=2, K=1, factors free at DRAM and Buffer, keeps fixed. Factor choices: M in (1,4) (2,2) (4,1)
    # x N in (1,2) (2,1) = 6. Orders per level: M and N index different tensors, so a level with both
    # loops above 1 has 2 orders, else 1: (M 1|4, N 1|2): 1x2, (1|4, 2|1): 1x1, (2|2, 1|2): 1x2,
    # (2|2, 2|1): 2x1, (4|1, 1|2): 1x1, (4|1, 2|1): 2x1  ->  10 candidates.
    spec = tiny(64, 4, 2, 1)
    result = search(spec, constraints(spec, [KEEP_ALL]), prune=False)
    assert result.candidates_evaluated == 10
    assert result.exhaustive


@pytest.mark.parametrize("capacity, best", [(12, 12), (8, 12), (7, 16)])
def test_fewest_dram_accesses_by_hand(capacity, best):
    # M=N=K=2: A, B, Z hold 4 words each. Every tensor crossing DRAM once costs 4 + 4 + 4 = 12 accesses.
    # A Buffer tile (m, n, k) needs m*k + k*n + m*n words. With 8 words (2,2,1) fits: the DRAM K loop
    # reuses the Z tile, A and B move once -> 12. With 7 words no tile above 5 words fits; the best
    # is e.g. (2,1,1) under DRAM loops [K inner, N outer]: A 2*2*2 = 8, B 1*2*2 = 4, Z 4 -> 16
    # (the other orders and tiles give 16 or 20).
    spec = tiny(capacity, 2, 2, 2)
    result = search(spec, constraints(spec, [KEEP_ALL]))
    assert dram_accesses(result) == best
    assert sum(d.utilized_capacity for d in result.stats.levels["Buffer"].dataspaces.values()) <= capacity


def _brute_force_best(spec: Spec, buffer_keeps: list[set[str]], score=lambda st: _accesses(st, "DRAM"),
                      ert=None):
    """Every perfect factorization x every full loop order at both levels x every Buffer keep set in
    ``buffer_keeps``, each evaluated in full by the engine (capacity checked there)."""
    ranks = spec.problem.ranks
    splits = {r: [(d, spec.problem.instance[r] // d) for d in range(1, spec.problem.instance[r] + 1)
                  if spec.problem.instance[r] % d == 0] for r in ranks}
    best = None
    for combo in itertools.product(*(splits[r] for r in ranks)):
        inner = {r: c[0] for r, c in zip(ranks, combo)}
        outer = {r: c[1] for r, c in zip(ranks, combo)}
        for p_in in itertools.permutations(ranks):
            for p_out in itertools.permutations(ranks):
                for keep in buffer_keeps:
                    levels = [LevelMapping([Loop(r, inner[r]) for r in p_in], [Loop(r, 1) for r in ranks],
                                           set(keep)),
                              LevelMapping([Loop(r, outer[r]) for r in p_out], [Loop(r, 1) for r in ranks],
                                           {"A", "B", "Z"})]
                    stats = evaluate(Spec(spec.architecture, spec.problem, Mapping(levels)), ert)
                    if stats.valid:
                        n = score(stats)
                        best = n if best is None else min(best, n)
    return best


@pytest.mark.parametrize("capacity", [5, 9, 20])
def test_pruning_loses_nothing_against_brute_force(capacity):
    # Merged loop orders and capacity cuts are exact: the best equals that of the unpruned space.
    spec = tiny(capacity, 4, 2, 3)
    result = search(spec, constraints(spec, [KEEP_ALL]))
    assert dram_accesses(result) == _brute_force_best(spec, [{"A", "B", "Z"}])


ALL_KEEP_SETS = [set(c) for k in range(4) for c in itertools.combinations("ABZ", k)]


@pytest.mark.parametrize("capacity", [3, 6, 14])
def test_free_keeps_priced_per_tensor_match_full_evaluation(capacity):
    # The mapper prices keep choices per tensor (2 engine runs instead of 8 per loop nest); the best EDP
    # must equal the best over all 8 keep sets evaluated in full, with real Accelergy-style energies.
    spec = tiny(capacity, 4, 2, 3)
    ert, _ = reference_tables(yamlio.loads(TINY_ARCH.format(capacity=capacity)))
    result = search(spec, constraints(spec, [], metrics=("edp",)), ert=ert)
    brute = _brute_force_best(spec, ALL_KEEP_SETS, lambda st: st.energy_pj * st.cycles, ert)
    assert result.stats.energy_pj * result.stats.cycles == pytest.approx(brute, rel=1e-12)


def test_free_keep_sets_are_searched():
    # Buffer of 4 words, M=N=K=2: with the keep sets left free the mapper chooses among all 8 of them, the
    # fixed keep-all set included, so it can only do as well or better.
    spec = tiny(4, 2, 2, 2)
    free = search(spec, constraints(spec, []))
    fixed = search(spec, constraints(spec, [KEEP_ALL]))
    assert dram_accesses(free) <= dram_accesses(fixed)
    bypassed = search(spec, constraints(spec, [{"target": "Buffer", "type": "dataspace", "keep": [],
                                                 "bypass": ["A", "B", "Z"]}]))
    # Nothing buffered: every one of the 8 computes reads A and B and updates Z at DRAM.
    assert bypassed.mapping.levels[0].keep == set()
    assert _accesses(bypassed.stats, "DRAM") == 8 + 8 + 8 + 4  # Z: 8 updates + 4 reads (first read elided)


def test_metric_list_orders_preferences():
    spec = tiny(7, 2, 2, 2)
    by_accesses = search(spec, constraints(spec, [KEEP_ALL]), metric=["delay", "last_level_accesses"])
    assert dram_accesses(by_accesses) == 16


def test_deterministic():
    spec = tiny(7, 4, 2, 3)
    c = constraints(spec, [KEEP_ALL], metrics=("edp",))
    a, b = search(spec, c), search(spec, c)
    assert mapping_to_yaml(a.mapping, spec.architecture) == mapping_to_yaml(b.mapping, spec.architecture)
    assert a.candidates_evaluated == b.candidates_evaluated


def test_fixed_factors_and_prefix_are_honoured():
    spec = tiny(64, 4, 2, 3)
    result = search(spec, constraints(spec, [
        KEEP_ALL, {"target": "DRAM", "type": "temporal", "factors": ["M=2"], "permutation": ["N"]}]))
    dram = result.mapping.levels[1].temporal
    assert {lp.rank: lp.bound for lp in dram}["M"] == 2
    assert dram[0].rank == "N"


def test_capacity_error_names_the_level():
    spec = tiny(5, 2, 2, 2)
    c = constraints(spec, [KEEP_ALL, {"target": "Buffer", "type": "temporal", "factors": ["M=2", "N=2", "K=2"]}])
    with pytest.raises(MappingError, match="level Buffer cannot fit.*needs 12 words, capacity 5"):
        search(spec, c)


def test_contradictory_factors_name_the_rank():
    spec = tiny(64, 4, 2, 3)
    with pytest.raises(MappingError, match="rank K"):
        search(spec, constraints(spec, [{"target": "Buffer", "type": "temporal", "factors": ["K=2"]}]))
    with pytest.raises(MappingError, match="unknown target 'L9'"):
        search(spec, constraints(spec, [{"target": "L9", "type": "temporal", "factors": ["K=3"]}]))


def test_bad_metric_is_a_clear_error():
    spec = tiny(64, 2, 2, 2)
    with pytest.raises(Exception, match="unknown optimization metric 'speed'"):
        search(spec, constraints(spec, []), metric="speed")


def test_large_spaces_are_sampled_and_say_so():
    # M=64, N=32, K=16 with free orders at both levels: far more than 50 candidates, so factor choices are
    # sampled at an even stride; the result is still a legal mapping.
    spec = tiny(64, 64, 32, 16)
    result = search(spec, constraints(spec, [KEEP_ALL]), max_candidates=50)
    assert not result.exhaustive and result.method.startswith("sampled every")
    assert result.stats.valid


@pytest.mark.parametrize("stride", [1, 2, 5, 7])
def test_sampled_factor_choices_are_those_of_the_full_enumeration(stride):
    # Independent truth: itertools.product over the ranks' choices, filtered by fan-out, taken at the stride.
    from fusemax.mapper.space import build_mapspace
    spec = tiny(64, 64, 32, 16)
    space = build_mapspace(spec.architecture, spec.problem, constraints(spec, [KEEP_ALL]))
    expected = []
    for k, combo in enumerate(itertools.product(*(r.choices for r in space.ranks))):
        if k % stride == 0:
            factors = {rs.rank: dict(zip(rs.slots, values)) for rs, values in zip(space.ranks, combo)}
            expected.append(factors)
    # What the search tries: the numbers in batches (small ones here, to cross batch edges), those the
    # first pass finds within the fan-out, decoded.
    from fusemax.mapper.bound import Bound
    numbers = [int(k) for ks in space.choice_numbers(stride, batch=3) for k in ks[Bound(space, None, "edp")(ks).fits]]
    got = [{rs.rank: {slot: (f.spatial if slot[1] else f.temporal)[slot[0]][rs.rank] for slot in rs.slots}
            for rs in space.ranks} for f in map(space.factors_at, numbers)]
    assert got == expected and len(got) == -(-space.count_factor_choices() // stride)


def test_unconstrained_mapspace_of_10_to_the_14_choices_is_sampled_without_enumerating_it():
    from fusemax.render import render
    from fusemax.workload import Workload, get_model
    files = dict(render("unfused", Workload(get_model("BERT"), 1024)).einsums["QK"].files())
    files.pop("constraints.yaml")
    from fusemax.mapper.files import search_texts
    result = search_texts(files, max_candidates=100)
    assert result.stats.valid and result.method.startswith("sampled every")


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_max_candidates_must_be_at_least_one(bad):
    spec = tiny(64, 4, 2, 1)
    with pytest.raises(MappingError, match="--max-candidates: expected at least 1"):
        search(spec, constraints(spec, [KEEP_ALL]), max_candidates=bad)


def test_time_budget_keeps_the_first_legal_mapping_and_says_so():
    spec = tiny(64, 64, 32, 16)
    result = search(spec, constraints(spec, [KEEP_ALL]), time_budget=0)
    full = search(spec, constraints(spec, [KEEP_ALL]))
    assert result.stats.valid and not result.exhaustive and "time budget of 0 s" in result.method
    assert result.candidates_evaluated < full.candidates_evaluated


@pytest.mark.parametrize("model, tokens, platform, einsum", [("BERT", 4096, "proposal", "FFN1"),
                                                             ("OPT-66B", 2048, "proposal", "FFN2"),
                                                             ("Llama-3-8B", 512, "flat", "Q")])
def test_merging_equivalent_orders_keeps_the_same_best_mapping(model, tokens, platform, einsum, monkeypatch):
    """Orders with the same loops outside each tensor's innermost loop give identical statistics, so the
    mapper tries the first of them only: on layer matrix multiplies of the study it finds the very mapping
    (and statistics) that trying every order finds, with far fewer candidates."""
    from fusemax.experiments.layer import layer_config, platform_hardware
    from fusemax.mapper.files import search_texts
    from fusemax.mapper.space import MapSpace
    from fusemax.render import render
    from fusemax.workload import Workload, get_model
    w = Workload(get_model(model), tokens, "prefill", 1)
    files = render(layer_config(w), w, platform_hardware(platform)).einsums[einsum].files()
    merged = search_texts(files, einsum)
    monkeypatch.setattr(MapSpace, "merge_orders", property(lambda self: False))
    every = search_texts(files, einsum)
    arch = merged.spec.architecture
    assert mapping_to_yaml(merged.mapping, arch) == mapping_to_yaml(every.mapping, arch)
    assert merged.stats.to_json() == every.stats.to_json()
    assert merged.candidates_evaluated < 0.75 * every.candidates_evaluated
