"""Per-Einsum metrics from one engine evaluation: DRAM traffic, memory and compute latency, FLOPs.

The rules follow the artifact's post-processing of Timeloop statistics (methodology.md, "From Timeloop stats
to numbers"); DRAM bandwidth is applied here rather than inside the engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from fusemax.configs import ResolvedHardware
from fusemax.errors import FusemaxError
from fusemax.stats import ArithmeticStats, Stats

from .roles import EinsumRole, TrafficRule

DRAM_LEVEL = "DRAM"
L3_LEVEL = "L3"

#: FLOPs per operation of a compute cost: a multiply-accumulate is two floating-point operations.
FLOPS_PER_OP = {"mac": 2}


@dataclass
class EinsumMetrics:
    """One Einsum of one configuration at one workload point."""

    einsum: str
    array: str
    computes: int              # compute-unit operations, summed over PEs
    cycles: int                # compute-unit cycles
    cost: int                  # ops per compute (Σ of the compute cost)
    read_bytes: float
    write_bytes: float
    mem_latency: float         # s
    comp_latency: float        # s
    occupancy: float           # utilized / available compute instances
    flops: float               # algorithmic FLOPs: the same for this Einsum in every configuration
    ops: float                 # the implementation's operations as FLOPs (computes x cost, a mac two)
    group: str = "attention"
    energy_pj: float = float("nan")
    energy_breakdown: dict[str, float] = field(default_factory=dict)

    @property
    def traffic(self) -> float:
        return self.read_bytes + self.write_bytes


def compute_unit(stats: Stats, source: str = "") -> ArithmeticStats:
    """The arithmetic level of an evaluation (the artifact names it ``mac`` on every array)."""
    if "mac" in stats.arithmetic:
        return stats.arithmetic["mac"]
    if len(stats.arithmetic) == 1:
        return next(iter(stats.arithmetic.values()))
    raise FusemaxError(f"expected one compute level, found {sorted(stats.arithmetic) or 'none'}",
                       source=source)


def _dataspace_counts(stats: Stats, level: str, tensor: str) -> tuple[int, int]:
    """(reads, updates) of ``tensor`` at ``level``; a tensor the level does not keep has none."""
    lv = stats.levels.get(level)
    ds = lv.dataspaces.get(tensor) if lv else None
    if ds is None:
        return 0, 0
    # Counts are per instance; DRAM and L3 are single-instance, but stay correct if they are not.
    n = max(ds.utilized_instances, 1)
    return ds.reads_per_instance * n, ds.updates_per_instance * n


def _skip_elided(reads: float, updates: float) -> float:
    """Reads of a read-modify-write tensor equal to its updates are an artefact of Timeloop's first-read
    elision (it reports a read for every update); the artifact drops them, and so do we."""
    return 0.0 if reads == updates else reads


def dram_traffic(stats: Stats, rule: TrafficRule, tensors: list[str] | None = None, *,
                 word_bytes: int) -> tuple[float, float]:
    """(read bytes, write bytes) that one Einsum moves to and from DRAM under ``rule``, in words of
    ``word_bytes`` (the point's resolved hardware).

    Spillable tensors add ``spilled`` of their L3 traffic; their separate DRAM<->L3 movement is scaled by
    the buffered proportion when ``skip_spilled_fills`` is set.
    """
    names = tensors if tensors is not None else sorted(rule.dram | rule.spillable)
    mem_rd = mem_wr = buf_rd = buf_wr = 0.0
    for tensor in names:
        if tensor in rule.spillable:
            rd, wr = _dataspace_counts(stats, L3_LEVEL, tensor)
            buf_rd += _skip_elided(rd, wr)
            buf_wr += wr
        if tensor in rule.dram:
            moved = 1.0 - rule.spilled if (tensor in rule.spillable and rule.skip_spilled_fills) else 1.0
            rd, wr = _dataspace_counts(stats, DRAM_LEVEL, tensor)
            mem_rd += _skip_elided(rd * moved, wr * moved)
            mem_wr += wr * moved
    return ((mem_rd + buf_rd * rule.spilled) * word_bytes,
            (mem_wr + buf_wr * rule.spilled) * word_bytes)


def flops(computes: float, compute_cost: Mapping[str, int]) -> float:
    """Floating-point operations an implementation performs: each op of its cost per compute, a mac
    counting two (FuseMax's SLN runs its exponential as 6 macs and an add: 13 per compute)."""
    return computes * sum(FLOPS_PER_OP.get(op, 1) * n for op, n in compute_cost.items())


def einsum_metrics(stats: Stats, role: EinsumRole, compute_cost: Mapping[str, int], hardware: ResolvedHardware,
                   source: str = "") -> EinsumMetrics:
    """Traffic, memory latency and compute latency of one evaluated Einsum (clock, bandwidth and word size
    from the point's resolved hardware)."""
    if not stats.valid:
        raise FusemaxError(f"the engine rejected the mapping of {role.name}: {stats.error}", source=source)
    unit = compute_unit(stats, source)
    read_b, write_b = dram_traffic(stats, role.traffic, word_bytes=hardware.word_bytes)
    cost = sum(compute_cost.values()) or 1
    scale = cost if role.cost_scales_latency else 1
    return EinsumMetrics(
        einsum=role.name,
        array=role.array,
        computes=unit.computes,
        cycles=unit.cycles,
        cost=cost,
        read_bytes=read_b,
        write_bytes=write_b,
        mem_latency=(read_b + write_b) / hardware.dram_bandwidth,
        comp_latency=unit.cycles * scale / hardware.clock_hz,
        occupancy=unit.utilized_instances / unit.instances if unit.instances else 1.0,
        flops=unit.computes * role.flops_per_compute,
        ops=flops(unit.computes, compute_cost),
        group=role.group,
    )
