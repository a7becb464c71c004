"""The per-step assignments (walk of the loop nest) against the engine's access counts for the same tiny spec.

Two independent code paths: ``fusemax.animate.walk`` enumerates every (step, PE, tensor) and
``fusemax.engine.evaluate`` counts accesses in closed form. For every Einsum of binding, cascade and FLAT
at B=1,H=1,M=8,P=4,E=2 on a 2x2 / 1x2 array:

* compute events = Timeloop computes; one per tensor per event = reads (inputs) or updates (outputs) of the
  innermost storage level that keeps the tensor, summed over its utilized instances;
* PEs used = utilized arithmetic instances; steps = compute cycles;
* per PE, the elements that enter its tile (tile = what the level's own loops touch) = the engine's fills
  (+ the partition for outputs, whose first fill Timeloop elides), summed over instances;
* distinct (tile step, element) pairs among those fills = reads of the next level keeping the tensor
  (shared elements are multicast once);
* every element of every tensor is touched exactly (product of the ranks it does not use) times.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from itertools import product

import pytest

from fusemax.animate import assignments, parse_size, tiny_einsums
from fusemax.engine import evaluate
from fusemax.engine.nest import box_extents

SIZE = parse_size("B=1,H=1,M=8,P=4,E=2")
CASES = [(config, e) for config in ("binding", "cascade", "flat")
         for e in tiny_einsums(config, SIZE, pe=2, pe1d=2)]


def _ids(case) -> str:
    return f"{case[0]}-{case[1].name}"


@pytest.fixture(scope="module", params=CASES, ids=_ids)
def walked(request):
    config, einsum = request.param
    stats = evaluate(einsum.spec)
    assert stats.valid, stats.error
    return einsum, assignments(einsum.name, einsum.spec, einsum.array), stats


def _keeping(spec, tensor: str) -> list[int]:
    return [i for i, lm in enumerate(spec.mapping.levels) if tensor in lm.keep]


def _inner_steps(spec, level: int) -> int:
    """Temporal steps inside one tile of ``level`` (its own and inner levels' temporal loops)."""
    total = 1
    for lm in spec.mapping.levels[:level + 1]:
        for loop in lm.temporal:
            total *= loop.bound
    return total


def test_compute_events_match_engine_counts(walked):
    einsum, records, stats = walked
    spec = einsum.spec
    per_tensor = Counter(r.tensor for r in records)
    for ds in spec.problem.data_spaces:
        assert per_tensor[ds.name] == stats.computes
        k = _keeping(spec, ds.name)[0]
        d = stats.levels[spec.architecture.storage[k].name].dataspaces[ds.name]
        accesses = d.updates_per_instance if ds.read_write else d.reads_per_instance
        assert per_tensor[ds.name] == accesses * d.utilized_instances, ds.name
    mac = next(iter(stats.arithmetic.values()))
    assert len({r.pe for r in records}) == mac.utilized_instances
    assert len({r.step for r in records}) == mac.cycles


def test_tile_fills_match_engine(walked):
    einsum, records, stats = walked
    spec = einsum.spec
    checked = 0
    for ds in spec.problem.data_spaces:
        kept = _keeping(spec, ds.name)
        k = kept[0]
        if k == kept[-1]:
            continue  # the outermost keeper is never filled
        inner = _inner_steps(spec, k)
        tiles = defaultdict(lambda: defaultdict(set))  # pe -> tile step -> elements
        for r in records:
            if r.tensor == ds.name:
                tiles[r.pe][r.step // inner].add(r.element)
        entering = 0
        fill_events = set()
        for pe, by_step in tiles.items():
            previous: set = set()
            for t in sorted(by_step):
                new = by_step[t] - previous
                entering += len(new)
                fill_events.update((t, e) for e in new)
                previous = by_step[t]
        d = stats.levels[spec.architecture.storage[k].name].dataspaces[ds.name]
        expected = d.fills_per_instance + (d.partition_size if ds.read_write else 0)
        assert entering == expected * d.utilized_instances, ds.name
        if not ds.read_write:
            parent = stats.levels[spec.architecture.storage[kept[1]].name].dataspaces[ds.name]
            assert len(fill_events) == parent.reads_per_instance * parent.utilized_instances, ds.name
        checked += 1
    if einsum.name in ("QK", "SLNV"):
        assert checked, "the matrix multiplies refill their PE registers from L3"


def test_every_element_is_covered_evenly(walked):
    einsum, records, _ = walked
    problem = einsum.spec.problem
    for ds in problem.data_spaces:
        unused = 1
        for rank in problem.ranks:
            if rank not in ds.ranks:
                unused *= problem.instance[rank]
        counts = Counter(r.element for r in records if r.tensor == ds.name)
        every = set(product(*(range(e) for e in box_extents(ds, problem.instance))))
        assert set(counts) == every, ds.name
        assert set(counts.values()) == {unused}, ds.name
