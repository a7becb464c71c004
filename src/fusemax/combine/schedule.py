"""Per-configuration combination of per-Einsum metrics: latency waterfall, utilization, traffic, energy.

Memory latency is the sum over Einsums (the DRAM is one shared resource). Compute latency follows each
configuration's schedule (methodology.md, "the waterfall"), and the total is whichever bound dominates.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Sequence

from fusemax.configs import Configuration

from .metrics import EinsumMetrics


@dataclass
class ConfigResult:
    """One row of ``attn-<config>.csv`` plus everything behind it."""

    config: str
    model: str
    seq_len: str                      # the artifact's spelling, e.g. "4K"
    phase: str
    traffic: float                    # bytes
    latency: float                    # s
    energy: float                     # pJ
    util_2d: float
    util_1d: float
    einsum_util: dict[str, float]     # per 2D Einsum: its busy share of the total latency
    mem_latency: float
    comp_latency: float
    comp_2d: float
    comp_1d: float
    #: PE-array utilization (see :func:`pe_utilization`); ``util_2d``/``util_1d`` are the artifact's busy
    #: fractions, which count an array busy however few of its PEs work.
    pe_util_2d: float
    pe_util_1d: float
    einsums: list[EinsumMetrics] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (what the result cache stores; ``dataclasses.asdict``'s, by hand, since every
        cold point and layer stores one); :meth:`from_json` rebuilds it exactly."""
        data = {name: getattr(self, name) for name in _RESULT_FIELDS}
        data["einsum_util"] = dict(self.einsum_util)
        data["params"] = copy.deepcopy(self.params)
        data["einsums"] = [{**{name: getattr(e, name) for name in _EINSUM_FIELDS},
                            "energy_breakdown": dict(e.energy_breakdown)} for e in self.einsums]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ConfigResult":
        return cls(**{**data, "einsums": [EinsumMetrics(**e) for e in data["einsums"]]})

    def csv_row(self) -> dict[str, Any]:
        """The artifact's columns in its order, then the PE utilizations."""
        return {"model": self.model, "seq_len": self.seq_len, "traffic": self.traffic,
                "latency": self.latency, "energy": self.energy, "util_2d": self.util_2d,
                "util_1d": self.util_1d, **self.einsum_util,
                "pe_util_2d": self.pe_util_2d, "pe_util_1d": self.pe_util_1d}


_RESULT_FIELDS = tuple(f.name for f in fields(ConfigResult))
_EINSUM_FIELDS = tuple(f.name for f in fields(EinsumMetrics))


def pe_utilization(metrics: list[EinsumMetrics], array: str, pes: int, latency: float, clock_hz: float) -> float:
    """Σ computes on ``array`` / (its ``pes`` x ``latency`` x ``clock_hz``): the fraction of the array's
    PE-cycles that did work. A compute is one engine compute (a PE step), whatever its operation cost, so a
    fully used array reads 1 only for one-op Einsums; idle PEs (a decode point's one query row) lower it."""
    computes = sum(e.computes for e in metrics if e.array == array)
    return computes / (pes * latency * clock_hz) if latency > 0 else 0.0


def _c(m: dict[str, EinsumMetrics], *names: str) -> float:
    return sum(m[n].comp_latency for n in names)


def binding_compute(m: dict[str, EinsumMetrics], pe_dim: int) -> float:
    """FuseMax with the interleaved binding: the 1D array's tail of one M1 iteration (RD, RNV, AV) hides
    under the 2D array's next QK+LM, and the 1D rescaling (PRM+SPD, SPNV) under SLN+SLD and SLNV."""
    return (max(_c(m, "QK", "LM"), _c(m, "RD", "RNV", "AV")) + _c(m, "RM")
            + max(_c(m, "SLN", "SLD"), _c(m, "PRM", "SPD")) + max(_c(m, "SLNV"), _c(m, "SPNV")))


def arch_compute(m: dict[str, EinsumMetrics], pe_dim: int) -> float:
    """FuseMax hardware without interleaving: after LM the 2D array stalls while the running max drains
    through the array (one LM step per PE row, ``pe_dim`` of them), and RNV no longer overlaps QK."""
    return (max(_c(m, "QK", "LM"), _c(m, "RD", "AV")) + pe_dim * _c(m, "LM") + _c(m, "RM")
            + max(_c(m, "SLN", "SLD"), _c(m, "PRM", "SPD")) + max(_c(m, "SLNV"), _c(m, "SPNV", "RNV")))


def _split(m: dict[str, EinsumMetrics]) -> tuple[float, float]:
    return (sum(e.comp_latency for e in m.values() if e.array == "2d"),
            sum(e.comp_latency for e in m.values() if e.array == "1d"))


def parallel_compute(m: dict[str, EinsumMetrics], pe_dim: int) -> float:
    """cascade and FLAT: the two arrays overlap fully, so the busier one bounds compute."""
    return max(_split(m))


#: Overlapped compute-latency schedules by name (a configuration's ``schedule`` in :mod:`fusemax.configs`).
SCHEDULES: dict[str, Callable[[dict[str, EinsumMetrics], int], float]] = {
    "binding": binding_compute,
    "arch": arch_compute,
    "parallel": parallel_compute,
}


def pipelined(stages: list[EinsumMetrics], row_blocks: int) -> float:
    """Compute latency of one fused group whose 1D work (the element-wise Einsums) and 2D work (the matrix
    multiplies) run as a two-stage pipeline over ``row_blocks`` blocks of tokens: the busier array, plus
    the pipeline's fill and drain, one row block of the other array's work (the first block's prologue
    before the 2D array starts, or the last block's epilogue after it ends: a pipeline of n blocks of a
    and b seconds each takes (n - 1) x max(a, b) + a + b)."""
    comp_2d, comp_1d = _split({e.einsum: e for e in stages})
    return max(comp_2d, comp_1d) + min(comp_2d, comp_1d) / row_blocks


def total_latency(conf: Configuration, m: dict[str, EinsumMetrics], pe_dim: int,
                  row_blocks: int = 1) -> tuple[float, float, float]:
    """(total, memory, compute) latency of one configuration in seconds on a ``pe_dim`` x ``pe_dim`` array.

    The ``phases`` schedule (unfused) runs its groups (QK, softmax, AV) one after another, each bound by its
    own memory or compute time; the ``fused`` schedule (the fused layer) runs its fused groups one after
    another, each bound by its memory time or its :func:`pipelined` compute over ``row_blocks``; the other
    schedules overlap memory with all compute.
    """
    mem = sum(e.mem_latency for e in m.values())
    if conf.schedule == "fused":
        fused: dict[str, list[EinsumMetrics]] = {}
        for e in m.values():
            fused.setdefault(conf.einsum(e.einsum).fusion or e.einsum, []).append(e)
        comps = [(sum(e.mem_latency for e in g), pipelined(g, row_blocks)) for g in fused.values()]
        return sum(max(group_mem, comp) for group_mem, comp in comps), mem, sum(comp for _, comp in comps)
    if conf.schedule == "sequential":  # one Einsum after another, each bound by its memory or compute
        comp = sum(e.comp_latency for e in m.values())
        return sum(max(e.mem_latency, e.comp_latency) for e in m.values()), mem, comp
    if conf.schedule == "phases":
        groups: dict[str, list[EinsumMetrics]] = {}
        for e in m.values():
            groups.setdefault(e.group, []).append(e)
        comp = sum(e.comp_latency for e in m.values())
        total = sum(max(sum(e.mem_latency for e in g), sum(e.comp_latency for e in g))
                    for g in groups.values())
        return total, mem, comp
    missing = [n for n in conf.names if n not in m]
    if missing:
        raise KeyError(f"{conf.name} needs the Einsums {', '.join(missing)}")
    comp = SCHEDULES[conf.schedule](m, pe_dim)
    return max(comp, mem), mem, comp


def combine(conf: Configuration, model: str, seq_len: str, metrics: list[EinsumMetrics], *,
            phase: str, pe_dim: int, pe_1d: int | None = None, clock_hz: float,
            params: dict[str, Any] | None = None) -> ConfigResult:
    """Configuration ``conf`` at one workload point from its per-Einsum metrics (``pe_1d`` defaults to
    ``pe_dim``; ``pe_dim``, ``pe_1d`` and ``clock_hz``, the point's resolved hardware, size the PE
    utilizations); the row names it ``conf.name``."""
    by_name = {e.einsum: e for e in metrics}
    latency, mem, comp = total_latency(conf, by_name, pe_dim, (params or {}).get("row_blocks", 1))
    comp_2d, comp_1d = _split(by_name)
    weighted = conf.occupancy_weighted
    einsum_util = {} if not conf.einsum_columns else {
        e.einsum: e.comp_latency * (e.occupancy if weighted else 1.0) / latency
        for e in metrics if e.array == "2d"}
    util_2d = sum(einsum_util.values()) if weighted else comp_2d / latency
    energies = [e.energy_pj for e in metrics]
    return ConfigResult(
        config=conf.name, model=model, seq_len=seq_len, phase=phase,
        traffic=sum(e.traffic for e in metrics),
        latency=latency,
        energy=math.fsum(energies) if energies else float("nan"),
        util_2d=util_2d,
        util_1d=comp_1d / latency,
        einsum_util=einsum_util,
        mem_latency=mem, comp_latency=comp, comp_2d=comp_2d, comp_1d=comp_1d,
        einsums=list(metrics), params=dict(params or {}),
        pe_util_2d=pe_utilization(metrics, "2d", pe_dim * pe_dim, latency, clock_hz),
        pe_util_1d=pe_utilization(metrics, "1d", pe_1d or pe_dim, latency, clock_hz),
    )


def merge_rectangles(conf: Configuration, parts: Sequence[tuple[float, int, ConfigResult]], live_pairs: int, *,
                     pe_dim: int, pe_1d: int | None, clock_hz: float, params: dict[str, Any]) -> ConfigResult:
    """One masked point from the dense rectangles it is made of (:mod:`fusemax.render.mask`).

    ``parts`` are (weight, queries x keys of the rectangle, its result): every count, byte, time and pJ
    of an Einsum is the weighted sum over rectangles, which run one after another; the schedule then
    overlaps the summed times as it does a dense point's. The algorithmic FLOPs of the Einsums that work
    on every query-key pair count only the ``live_pairs`` the mask leaves (per sequence and head); their
    ``ops`` keep what the rectangles compute, partly masked key blocks in full.
    """
    per_pair = {e.name for e in conf.einsums if e.per_pair}
    first = parts[0][2]
    merged = []
    for i, base in enumerate(first.einsums):
        items = [(weight, area, result.einsums[i]) for weight, area, result in parts]

        def total(attr: str, items: list = items) -> float:
            return math.fsum(weight * getattr(e, attr) for weight, _, e in items)

        cycles = total("cycles")
        if base.einsum in per_pair:  # FLOPs per pair, from a rectangle (exact: its FLOPs are pairs x that)
            flops: float = base.flops // parts[0][1] * live_pairs
        else:
            flops = round(total("flops"))
        merged.append(EinsumMetrics(
            einsum=base.einsum, array=base.array, computes=round(total("computes")), cycles=round(cycles),
            cost=base.cost, read_bytes=total("read_bytes"), write_bytes=total("write_bytes"),
            mem_latency=total("mem_latency"), comp_latency=total("comp_latency"),
            occupancy=math.fsum(w * e.occupancy * e.cycles for w, _, e in items) / cycles if cycles else base.occupancy,
            flops=flops, ops=round(total("ops")), group=base.group, energy_pj=total("energy_pj"),
            energy_breakdown={k: math.fsum(w * e.energy_breakdown.get(k, 0.0) for w, _, e in items)
                              for k in dict.fromkeys(k for _, _, e in items for k in e.energy_breakdown)}))
    return combine(conf, first.model, first.seq_len, merged, phase=first.phase, pe_dim=pe_dim, pe_1d=pe_1d,
                   clock_hz=clock_hz, params=params)
