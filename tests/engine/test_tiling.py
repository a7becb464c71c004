"""The engine's order-independent analysis (:class:`~fusemax.engine.evaluate.Tiling`), which a mapper
builds once per factor choice and re-orders for each loop order it tries."""
from __future__ import annotations

import json

import pytest

from fusemax.energy.tables import load_ert
from fusemax.engine import evaluate, load_spec
from fusemax.engine.evaluate import build_tiling
from fusemax.engine.model import Architecture, ArithmeticLevel, DataSpace, LevelMapping, Loop, Problem, StorageLevel
from fusemax.engine.nest import nest_info
from tests.engine.compare import compare
from tests.engine.test_conformance import CASES, XFAIL
from tests.shared_data import shared_dir

MM = Problem("mm", ["M", "N", "K"], {"M": 4, "N": 8, "K": 2},
             [DataSpace("A", [[("M", 1)], [("K", 1)]]), DataSpace("B", [[("K", 1)], [("N", 1)]]),
              DataSpace("Z", [[("M", 1)], [("N", 1)]], read_write=True)])


def _levels(inner: list[tuple[str, int]], outer: list[tuple[str, int]]) -> list[LevelMapping]:
    """Level 0 fans M out by 2 and runs ``inner`` (innermost first); level 1 runs ``outer``."""
    return [LevelMapping(temporal=[Loop(r, b) for r, b in inner], spatial=[Loop("M", 2, "X")]),
            LevelMapping(temporal=[Loop(r, b) for r, b in outer])]


def test_with_order_recomputes_only_the_loops_by_hand():
    info = nest_info(MM, _levels([("K", 2), ("N", 4)], [("M", 2), ("N", 2)]))
    # Strides by hand: at level 0, K and N start at 1 (M's spatial 2 does not touch them); at level 1, M's
    # stride is the level-0 extent 2 (spatial), N's is 4 (level 0's N loop).
    assert info.loops == [(0, "K", 1, 2), (0, "N", 1, 4), (1, "M", 2, 2), (1, "N", 4, 2)]
    assert info.loops_above == [2, 4]
    swapped = info.with_order(_levels([("N", 4), ("K", 2)], [("N", 2), ("M", 2)]))
    assert swapped.loops == [(0, "N", 1, 4), (0, "K", 1, 2), (1, "N", 4, 2), (1, "M", 2, 2)]
    assert swapped.loops_above == [2, 4]
    # Extents, fan-outs and cycles are the order's business no more: M 2*2, N 4*2, K 2; 2*4*2*2 cycles.
    assert swapped.ext == info.ext == [{"M": 2, "N": 4, "K": 2}, {"M": 4, "N": 8, "K": 2}]
    assert swapped.compute_cycles == 32 and swapped.fanout == [2, 1]
    # Unit loops are no loops: a level with only bound-1 loops adds none, and the count above stays.
    unit = info.with_order(_levels([("K", 2), ("N", 4), ("M", 1)], [("M", 2), ("N", 2), ("K", 1)]))
    assert unit.loops == info.loops and unit.loops_above == [2, 4]


def test_tiling_sizes_partitions_and_instances_by_hand():
    t = build_tiling(_two_level_arch(), MM, _levels([("K", 2), ("N", 4)], [("M", 2), ("N", 2)]))
    # Level 0's tile: M 2 (spatial) x N 4 x K 2 -> A 2*2, B 2*4, Z 2*4; level 1 holds every tensor whole.
    assert t.sizes == [{"A": 4, "B": 8, "Z": 8}, {"A": 8, "B": 16, "Z": 32}]
    # above[i]: the fan-out from level i up; the M loop fans level 0 out to 2 MACs, level 1 fans out none.
    assert t.above == [2, 1, 1]
    assert t.fanout_error is None
    # Partition at level 0: level 1's whole tensor x level 0's tile / the box of level 1's fan-out (none,
    # so level 0's tile): the whole tensor.
    assert t.partitions == {"A": [8, 8], "B": [16, 16], "Z": [32, 32]}


def _two_level_arch() -> Architecture:
    """An RF of 2 instances (one per MAC) under an unbounded DRAM."""
    return Architecture([StorageLevel("RF", instances=2, mesh_x=2), StorageLevel("DRAM")],
                        ArithmeticLevel("mac", instances=2, mesh_x=2))


def test_a_fanout_the_hardware_lacks_is_reported_for_every_order():
    arch = _two_level_arch()
    arch.arithmetic.instances = arch.arithmetic.mesh_x = 1
    t = build_tiling(arch, MM, _levels([("K", 2), ("N", 4)], [("M", 2), ("N", 2)]))
    assert t.fanout_error == ("mac", "mapped max Arithmetic instances 2 exceeds hardware instances 1")
    assert t.with_order(_levels([("N", 4), ("K", 2)], [("M", 2), ("N", 2)])).fanout_error == t.fanout_error


def _reversed_orders(levels: list[LevelMapping]) -> list[LevelMapping]:
    return [LevelMapping(temporal=lm.temporal[::-1], spatial=lm.spatial, keep=lm.keep) for lm in levels]


@pytest.mark.parametrize("case", CASES)
def test_a_tiling_built_for_another_order_gives_timeloops_statistics(case):
    """Independent truth: real timeloop-model's statistics of every conformance case, evaluated with a
    tiling built for the reversed temporal orders and switched back to the spec's orders."""
    folder = shared_dir("conformance", case)
    spec = load_spec(folder / "spec.yaml")
    ert = load_ert(folder / "ERT.yaml")
    arch, problem, levels = spec.architecture, spec.problem, spec.mapping.levels
    tiling = build_tiling(arch, problem, _reversed_orders(levels)).with_order(levels)
    assert tiling.info == nest_info(problem, levels)
    stats = evaluate(spec, ert, tiling=tiling)
    assert stats.to_json() == evaluate(spec, ert).to_json()
    if case in XFAIL:
        pytest.xfail(XFAIL[case])
    diffs = compare(stats.to_json(), json.loads((folder / "expected.json").read_text()))
    assert not diffs, diffs[:20]
