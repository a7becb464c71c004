"""Hand-derived facts of the tiny binding and FLAT nests, the P rescaling rule, sizes and limits.

binding, B=1,H=1,M=8,P=4,E=2 on a 2x2 array (paper's tiling rule): keys M = M1 x N with N = PE dim = 2,
M1 = 4 at DRAM; queries P = P1 x P0 with P0 = 2 over the array's columns (x) and P1 = 2 at L3; the key
block N over the rows (y); E = 2 at L3, innermost (L3 permutation E, P, ...). So 4 x 2 x 2 = 16 steps,
step 1 is the second e, and PE (x, y) works on query p = x and key n = y of the block.
"""
from __future__ import annotations

import pytest

from fusemax.animate import PECoord, assignments, loop_nest, parse_pe, parse_size, rescale_rank, tiny_einsums
from fusemax.errors import WorkloadError

SIZE = parse_size("B=1,H=1,M=8,P=4,E=2")


def _at(records, step, x, y, tensor):
    [r] = [r for r in records if r.step == step and r.pe == PECoord(r.pe.array, x, y) and r.tensor == tensor]
    return r.element


def test_binding_qk_by_hand():
    qk = tiny_einsums("binding", SIZE, einsums=["QK"])[0]
    records = assignments("QK", qk.spec, qk.array)
    assert loop_nest(qk.spec).steps == 16
    assert {r.pe for r in records} == {PECoord("2d", x, y) for x in (0, 1) for y in (0, 1)}
    # Q[b,e,h,p], BK[b,e,h,m1,n], QK[b,h,m1,n,p]
    assert _at(records, 0, 1, 0, "Q") == (0, 0, 0, 1)
    assert _at(records, 0, 0, 1, "BK") == (0, 0, 0, 0, 1)
    assert _at(records, 0, 1, 1, "QK") == (0, 0, 0, 1, 1)
    assert _at(records, 1, 0, 0, "Q") == (0, 1, 0, 0)          # E is the innermost loop
    assert _at(records, 2, 0, 0, "Q") == (0, 0, 0, 2)          # then the next query tile P1
    assert _at(records, 4, 1, 1, "QK") == (0, 0, 1, 1, 1)      # then the next key block M1
    assert _at(records, 15, 1, 1, "QK") == (0, 0, 3, 1, 3)


def test_binding_rm_runs_on_the_1d_array():
    rm = tiny_einsums("binding", SIZE, einsums=["RM"])[0]
    records = assignments("RM", rm.spec, rm.array)
    assert {r.pe for r in records} == {PECoord("1d", 0, 0), PECoord("1d", 1, 0)}
    assert loop_nest(rm.spec).steps == 4 * 2  # M1 at DRAM x P1_1d = 4 / 2 at L3


def test_flat_qk_spreads_queries_over_rows_and_keys_over_columns():
    qk = tiny_einsums("flat", SIZE, einsums=["QK"])[0]
    records = assignments("QK", qk.spec, qk.array)
    # FLAT's QK[b,h,m,p]: M over the columns (x), P over the rows (y); steps E x M/2 x P/2 = 16
    assert loop_nest(qk.spec).steps == 16
    assert _at(records, 0, 1, 0, "QK") == (0, 0, 1, 0)
    assert _at(records, 0, 0, 1, "QK") == (0, 0, 0, 1)


def _p_factors(spec):
    return [(lv.name, [lp.bound for lp in lm.spatial + lm.temporal if lp.rank == "P"])
            for lv, lm in zip(spec.architecture.storage, spec.mapping.levels)]


@pytest.mark.parametrize("config", ["binding", "cascade", "flat"])
def test_rescaled_p_equals_rendering_with_that_p(config):
    """Rendering M = P = 4 directly gives the query factors that rescaling the M = 8 rendering to P = 4 gives."""
    direct = {e.name: e for e in tiny_einsums(config, parse_size("B=1,H=1,M=4,P=4,E=2"))}
    for e in tiny_einsums(config, SIZE):
        assert e.spec.problem.instance["P"] == 4
        if "P" in direct[e.name].spec.problem.ranks:
            assert _p_factors(e.spec) == _p_factors(direct[e.name].spec), e.name


def test_rescale_puts_growth_on_the_outermost_query_loop():
    qk = tiny_einsums("binding", SIZE, einsums=["QK"])[0]
    bigger = rescale_rank(qk.spec, "P", 12)  # P0 = 2 stays, P1 = 2 -> 6 at L3
    assert dict(_p_factors(bigger))["L3"] == [1, 6]
    assert loop_nest(bigger).steps == 4 * 2 * 6


def test_parse_size_and_pe():
    assert parse_size("b=2, h=1,M=8,P=4,E=2,F=3") == {"B": 2, "H": 1, "M": 8, "P": 4, "E": 2, "F": 3}
    assert SIZE["F"] == 2
    assert parse_pe("3x3") == 3 and parse_pe("2") == 2
    for bad in ("B=1,H=1,M=8,P=4", "B=1,H=1,M=8,P=4,E=0", "B=1,H=1,M=8,P=4,E=2,Z=1", "B1,H=1,M=8,P=4,E=2"):
        with pytest.raises(WorkloadError, match="--size"):
            parse_size(bad)
    for bad in ("2x3", "two", "0x0"):
        with pytest.raises(WorkloadError, match="--pe"):
            parse_pe(bad)


def test_drawing_limits():
    with pytest.raises(WorkloadError, match="over the drawing limit of 256; use a smaller --size"):
        tiny_einsums("binding", parse_size("B=1,H=1,M=32,P=32,E=2"), einsums=["QK"])
    with pytest.raises(WorkloadError, match="16 PEs is over the drawing limit of 9"):
        tiny_einsums("binding", SIZE, pe=4)
    with pytest.raises(WorkloadError, match="unknown Einsum"):
        tiny_einsums("binding", SIZE, einsums=["QK", "NOPE"])
