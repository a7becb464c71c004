"""Hand-built engine statistics for the combination tests.

The counts are derived by hand from the methodology's formulas, not from an engine: an Einsum whose mapping
fills the array runs ``computes / PEs`` cycles, and each DRAM tensor is moved once unless stated.
"""
from __future__ import annotations

from fusemax.stats import ArithmeticStats, DataspaceStats, LevelStats, Stats


def make_stats(computes: int, pes: int, *, dram: dict[str, tuple[int, int]] | None = None,
               l3: dict[str, tuple[int, int]] | None = None, utilized: int | None = None,
               l3_capacity: dict[str, int] | None = None) -> Stats:
    """Stats with ``computes`` spread over ``utilized`` of ``pes`` compute units.

    ``dram``/``l3`` map tensor -> (reads, updates) in words; ``l3_capacity`` tensor -> utilized words.
    """
    used = utilized or pes
    cycles = -(-computes // used)
    levels = {}
    for name, table in (("L3", l3), ("DRAM", dram)):
        if table is None and not (name == "L3" and l3_capacity):
            continue
        spaces = {}
        for tensor, (reads, updates) in (table or {}).items():
            spaces[tensor] = DataspaceStats(utilized_instances=1, reads_per_instance=reads,
                                            updates_per_instance=updates)
        for tensor, cap in (l3_capacity or {}).items() if name == "L3" else ():
            spaces.setdefault(tensor, DataspaceStats(utilized_instances=1)).utilized_capacity = cap
        levels[name] = LevelStats(cycles=cycles, dataspaces=spaces)
    return Stats(computes=computes, cycles=cycles, levels=levels,
                 arithmetic={"mac": ArithmeticStats(instances=pes, utilized_instances=used,
                                                    computes=computes, cycles=cycles)})
