"""Turn a :class:`~fusemax.engine.model.Spec` into Timeloop-v3-compatible :class:`~fusemax.stats.Stats`.

This mirrors what ``timeloop-model`` does after the nest analysis: collapse loops into storage tiles,
remove bypassed levels (their accesses go to the next level that keeps the data, with multicast
de-duplication along the way), read-modify-write accounting with first-read elision, capacity and
fan-out checks, bandwidth throttling and ERT energies. Pure: no file I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from fusemax.energy.tables import ART, ERT
from fusemax.engine.model import Architecture, DataSpace, LevelMapping, Problem, Spec
from fusemax.engine.nest import (
    NestInfo,
    box_size,
    innermost_spatial_accesses,
    loop_nest_lines,
    multicast,
    nest_info,
    temporal_delta,
)
from fusemax.stats import ArithmeticStats, DataspaceStats, LevelStats, Stats

SOURCE = "fusemax builtin"

#: Timeloop's ``std::size_t`` arithmetic wraps modulo 2**64.
_SIZE_T = 2**64


def _invalid(level: str, reason: str) -> Stats:
    return Stats(valid=False, error=f"couldn't map level {level}: {reason}", source=SOURCE)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _physical_fanout(arch, i: int) -> tuple[int, int]:
    """Mesh fan-out from storage level ``i`` to the level below it (what the hardware offers)."""
    level = arch.storage[i]
    below = arch.storage[i - 1] if i > 0 else arch.arithmetic
    return max(1, below.mesh_x // max(1, level.mesh_x)), max(1, below.mesh_y // max(1, level.mesh_y))


def access_energies(ert: ERT | None, level: str) -> tuple[float, float]:
    """pJ of one (block) read and one write or update of ``level`` in ``ert`` (0, 0 without an entry)."""
    if ert is None or not ert.has(level):
        return 0.0, 0.0
    actions = ert.actions[level]
    return actions.get("read", 0.0), actions.get("write", actions.get("update", 0.0))


def access_energy(instances: int, reads: int, fills: int, updates: int, block: int, e_read: float,
                  e_write: float) -> float:
    """pJ of one tensor's accesses at one level: per-instance counts, whole blocks, over ``instances``."""
    return instances * (math.ceil(reads / block) * e_read
                        + (math.ceil(fills / block) + math.ceil(updates / block)) * e_write)


def throttled_cycles(compute_cycles: int, slowdown: float) -> int:
    """A level's cycles: the compute cycles stretched by its bandwidth ``slowdown`` (1.0: not throttled).
    Divided in floating point as Timeloop does, so past 2**53 even 1.0 may round them."""
    return int(math.ceil(compute_cycles / slowdown))


def compute_energy(ert: ERT | None, mac: str) -> float:
    """pJ of one compute of the arithmetic level ``mac`` (its ``compute`` action, else its dearest)."""
    if ert is None or not ert.has(mac):
        return 0.0
    actions = ert.actions[mac]
    return actions.get("compute", max(actions.values(), default=0.0))


@dataclass
class Tiling:
    """What :func:`evaluate` works out from a mapping's loop bounds alone, whatever the order of each
    level's temporal loops and whatever the levels keep: the nest (:class:`NestInfo`), every tensor's tile
    and partition at every level, the instances under each level and the fan-out check's verdict.

    A mapper tries many orders and keep sets with the same loop bounds (one factor choice): it builds this
    once per choice (:func:`build_tiling`), switches the order with :meth:`with_order` and passes it to
    :func:`evaluate` or :func:`tensor_counts`, instead of having every evaluation work it out again.
    """

    info: NestInfo
    sizes: list[dict[str, int]]            # sizes[i][tensor]: words of the tensor's tile at level i
    partitions: dict[str, list[int]]       # partitions[tensor][i]: Timeloop's partition size at level i
    #: spreads[tensor][i]: level i's fan-out over the children that share no word of the tensor (the others
    #: are served by one multicast read): its spatial loops over the tensor's ranks.
    spreads: dict[str, list[int]]
    above: list[int]                       # above[i]: product of the fan-outs of levels >= i
    fanout_error: tuple[str, str] | None   # (level, reason) of the first fan-out exceeded, or None

    def with_order(self, levels: list[LevelMapping]) -> Tiling:
        """The same tiling for ``levels``: the same loop bounds per level and rank, in any temporal order."""
        return Tiling(self.info.with_order(levels), self.sizes, self.partitions, self.spreads, self.above,
                      self.fanout_error)


def build_tiling(arch: Architecture, problem: Problem, levels: list[LevelMapping]) -> Tiling:
    """The :class:`Tiling` of ``levels`` (one :class:`LevelMapping` per storage level of ``arch``)."""
    info = nest_info(problem, levels)
    nlev = len(levels)
    # Instances below level i see every spatial loop above them.
    above = [1] * (nlev + 1)        # above[i]: product of fan-outs of levels >= i
    above_x = [1] * (nlev + 1)
    above_y = [1] * (nlev + 1)
    for i in reversed(range(nlev)):
        above[i] = above[i + 1] * info.fanout[i]
        above_x[i] = above_x[i + 1] * info.fanout_x[i]
        above_y[i] = above_y[i + 1] * info.fanout_y[i]
    spaces = problem.data_spaces
    sizes = [{ds.name: box_size(ds, info.ext[i]) for ds in spaces} for i in range(nlev)]
    partitions = {}
    for ds in spaces:
        partition = [0] * nlev
        partition[nlev - 1] = sizes[nlev - 1][ds.name]
        for k in reversed(range(nlev - 1)):
            # the box of level k + 1's fan-out; without spatial loops there, level k's tile
            denom = box_size(ds, info.spatial_ext[k + 1]) if info.fanout[k + 1] > 1 else sizes[k][ds.name]
            # Timeloop multiplies in a 64-bit std::size_t before dividing, so huge partitions wrap
            # (e.g. the softmax at 1M tokens); a wrapped partition of 0 disables first-read elision.
            partition[k] = (partition[k + 1] * sizes[k][ds.name]) % _SIZE_T // denom
        partitions[ds.name] = partition
    # multicast divides the fan-out (both multiply the level's spatial loops), so this is exact
    spreads = {ds.name: [f // multicast(ds, lm) if f > 1 else 1 for f, lm in zip(info.fanout, levels)]
               for ds in spaces}
    return Tiling(info, sizes, partitions, spreads, above, _fanout_check(arch, above, above_x, above_y))


def _fanout_check(arch: Architecture, above: list[int], above_x: list[int],
                  above_y: list[int]) -> tuple[str, str] | None:
    """Fan-out checks: the arithmetic level first, then storage levels (whole-mesh semantics); the level
    and reason of the first one exceeded."""
    mac = arch.arithmetic
    used, ux, uy = above[0], above_x[0], above_y[0]
    if used > mac.instances:
        return mac.name, f"mapped max Arithmetic instances {used} exceeds hardware instances {mac.instances}"
    if ux > mac.mesh_x:
        return mac.name, f"mapped max Arithmetic X expansion {ux} exceeds hardware instances {mac.mesh_x}"
    if uy > mac.mesh_y:
        return mac.name, f"mapped max Arithmetic Y expansion {uy} exceeds hardware instances {mac.mesh_y}"
    for i, level in enumerate(arch.storage):
        u, x, y = above[i + 1], above_x[i + 1], above_y[i + 1]
        if u > level.instances:
            return level.name, f"mapped instances {u} exceeds available hardware instances {level.instances}"
        if x > level.mesh_x:
            return level.name, f"mapped X expansion {x} exceeds available hardware instances {level.mesh_x}"
        if y > level.mesh_y:
            return level.name, f"mapped Y expansion {y} exceeds available hardware instances {level.mesh_y}"
    return None


class TensorCounts(NamedTuple):
    """One tensor's per-instance accesses at one level that keeps it (the level's index: ``level``)."""

    level: int
    reads: int
    fills: int
    updates: int
    temporal_reductions: int
    address_generations: int


def tensor_counts(ds: DataSpace, kept: list[int], arch: Architecture, levels: list[LevelMapping],
                  tiling: Tiling) -> list[TensorCounts]:
    """The accesses of ``ds`` at each level of ``kept`` (the indices of the levels that keep it, innermost
    first) under the loops of ``levels``. Timeloop analyses every tensor on its own: these depend on the
    loops and on which levels keep this tensor, never on what the levels keep of the others."""
    info = tiling.info
    partition, spread = tiling.partitions[ds.name], tiling.spreads[ds.name]
    top = kept[-1]
    out = []
    # Accesses arriving from below: computes, then each kept child's delta, scaled up through the
    # fan-outs in between (children that share a word are served by one multicast read).
    content = info.compute_cycles
    child = -1
    for k in kept:
        for j in range(child + 1, k + 1):
            if j == 0 and info.fanout[0] > 1:
                # PEs right under the innermost level may pass operands to neighbours (link transfers).
                content = innermost_spatial_accesses(ds, levels, info, *_physical_fanout(arch, 0))
            else:
                content *= spread[j]
        # what enters the level: nothing enters the outermost one (so its delta is not worked out)
        delta = 0 if k == top else temporal_delta(ds, k, info, tiling.sizes[k][ds.name])
        part = partition[k]
        if ds.read_write:
            reads = content - part
            fills = 0 if k == top else delta - part
            out.append(TensorCounts(k, reads, fills, content, reads, content + fills))
        else:
            out.append(TensorCounts(k, content, delta, 0, 0, content + delta))
        content = delta
        child = k
    return out


def evaluate(spec: Spec, ert: ERT | None = None, art: ART | None = None, *, tiling: Tiling | None = None) -> Stats:
    """Evaluate one problem + mapping on one architecture; energies are 0 when ``ert`` is None.

    ``tiling``: the mapping's :class:`Tiling` when the caller has it (it must be of these loops and this
    architecture; :func:`build_tiling` otherwise works it out)."""
    del art  # areas are not part of the statistics contract
    arch, problem, mapping = spec.architecture, spec.problem, spec.mapping
    levels = mapping.levels
    nlev = len(levels)
    if mapping.error:
        return Stats(valid=False, error=mapping.error, source=SOURCE)
    if tiling is None:
        tiling = build_tiling(arch, problem, levels)
    info, sizes, above = tiling.info, tiling.sizes, tiling.above
    spaces = problem.data_spaces

    # --- Capacity check (Timeloop's PreEvaluationCheck), innermost level first.
    for i, level in enumerate(arch.storage):
        cap = level.effective_size
        if cap is None:
            continue
        need = sum(sizes[i][ds.name] for ds in spaces if ds.name in levels[i].keep)
        if need > cap:
            return _invalid(level.name, f"mapped tile size {need} exceeds buffer capacity {_fmt(cap)}")
    if tiling.fanout_error is not None:
        return _invalid(*tiling.fanout_error)

    cycles_compute = info.compute_cycles
    computes = problem.computes
    mac = arch.arithmetic

    # --- Per data space: the chain of levels that keep it and its accesses there.
    per_level: list[dict[str, DataspaceStats]] = [dict() for _ in range(nlev)]
    for ds in spaces:
        kept = [k for k in range(nlev) if ds.name in levels[k].keep]
        if not kept:
            continue
        for c in tensor_counts(ds, kept, arch, levels, tiling):
            k = c.level
            utilized = above[k + 1]
            per_level[k][ds.name] = DataspaceStats(
                utilized_capacity=sizes[k][ds.name], utilized_instances=utilized,
                reads_per_instance=c.reads, fills_per_instance=c.fills, updates_per_instance=c.updates,
                temporal_reductions_per_instance=c.temporal_reductions, partition_size=tiling.partitions[ds.name][k],
                utilized_clusters=min(utilized, arch.storage[k].instances),
                address_generations_per_cluster=c.address_generations)

    # --- Bandwidth throttling, energies, level statistics.
    level_stats: dict[str, LevelStats] = {}
    total_energy = 0.0
    max_cycles = cycles_compute
    for i, level in enumerate(arch.storage):
        dstats = per_level[i]
        has_ert = ert is not None and ert.has(level.name)
        e_read, e_write = access_energies(ert, level.name)
        block = level.block_size
        energy = 0.0
        read_bw = write_bw = 0.0
        for d in dstats.values():
            e = access_energy(d.utilized_instances, d.reads_per_instance, d.fills_per_instance,
                              d.updates_per_instance, block, e_read, e_write)
            d.energy_pj = e
            energy += e
            read_bw += d.reads_per_instance / cycles_compute
            write_bw += (d.fills_per_instance + d.updates_per_instance) / cycles_compute
        slowdown = 1.0
        if level.read_bandwidth is not None and level.read_bandwidth < read_bw:
            slowdown = min(slowdown, level.read_bandwidth / read_bw)
        if level.write_bandwidth is not None and level.write_bandwidth < write_bw:
            slowdown = min(slowdown, level.write_bandwidth / write_bw)
        if level.shared_bandwidth is not None and level.shared_bandwidth < read_bw + write_bw:
            slowdown = min(slowdown, level.shared_bandwidth / (read_bw + write_bw))
        cycles = throttled_cycles(cycles_compute, slowdown)
        max_cycles = max(max_cycles, cycles)
        total_energy += energy
        level_stats[level.name] = LevelStats(
            cycles=cycles, energy_pj=energy, bandwidth_throttling=slowdown, instances=level.instances,
            block_size=block, size=level.size, vector_access_energy_source="ERT" if has_ert else "PAT",
            dataspaces=dstats)

    mac_energy = computes * compute_energy(ert, mac.name)
    total_energy += mac_energy
    names = [mac.name] + [lv.name for lv in arch.storage]
    networks = {f"{names[i + 1]} <==> {names[i]}": 0.0 for i in reversed(range(len(names) - 1))}
    return Stats(
        valid=True, computes=computes, cycles=max_cycles,
        utilization=round(computes / (max_cycles * mac.instances), 2),
        energy_pj=total_energy, pj_per_compute=total_energy / computes,
        levels=level_stats,
        arithmetic={mac.name: ArithmeticStats(instances=mac.instances, utilized_instances=above[0],
                                              computes=computes, cycles=cycles_compute, energy_pj=mac_energy)},
        networks=networks, source=SOURCE)


def loop_nests(spec: Spec) -> dict[str, list[str]]:
    """Loop lines per storage level name (outermost first), for the MAPPING sections of a stats file."""
    return {lv.name: lines for lv, lines in zip(spec.architecture.storage, loop_nest_lines(spec.mapping.levels))}
