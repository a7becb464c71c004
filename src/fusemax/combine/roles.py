"""How each Einsum's statistics become DRAM traffic and latency: its role in the combination.

Turning one Einsum's Timeloop statistics into traffic and latency needs to know:

* which tensors travel to DRAM (everything else stays on chip, whatever the mapping keeps at DRAM),
* which tensors sit in a *spillable* L3 (FLAT's overbooked buffer) and what proportion of them spills,
* whether the compute latency is the compute-unit cycles times the Einsum's ops per compute (the cascade
  Einsums, whose costs are modelled as repeated use of a PE) or the cycles alone (the four softmax passes of
  the baselines, which the artifact pipelines).

The static facts (array, DRAM tensors, group) are the registry's (:mod:`fusemax.configs`); this module adds
what depends on the workload: FLAT's placements and the softmax's spill.
"""
from __future__ import annotations

from dataclasses import dataclass

from fusemax.configs import Configuration, Einsum
from fusemax.render.flat_dataflow import FlatDataflow

#: The baselines' true inputs and output (FLAT and unfused name the keys and values K and V).
BASELINE_IO_TENSORS = frozenset({"Q", "K", "V", "AV"})
#: FLAT's two matrix multiplies and their tensors.
FLAT_OPERANDS = {"QK": ("Q", "K", "QK"), "AV": ("A", "V", "AV")}


@dataclass(frozen=True)
class TrafficRule:
    """How one Einsum's DRAM and spillable-L3 accesses become DRAM traffic.

    ``dram`` tensors count their DRAM reads and updates. ``spillable`` tensors are buffered in an L3 that
    may be overbooked: a proportion ``spilled`` of their L3 accesses goes to DRAM instead. When a tensor is
    both in DRAM and spillable and ``skip_spilled_fills`` is set, only the part that is really buffered is
    moved separately between DRAM and L3 (FLAT does not load data that would be spilled at once).
    """

    dram: frozenset[str] = frozenset()
    spillable: frozenset[str] = frozenset()
    spilled: float = 0.0
    skip_spilled_fills: bool = True


@dataclass(frozen=True)
class EinsumRole:
    """How the combination treats one Einsum of a configuration."""

    name: str
    array: str                      # "2d" or "1d"
    traffic: TrafficRule
    cost_scales_latency: bool = True
    group: str = "attention"        # unfused sums max(memory, compute) per group
    # Price DRAM energy from the spill-adjusted traffic instead of the engine's DRAM counts (the baselines'
    # spillable buffers move data the engine does not see).
    dram_energy_from_traffic: bool = False
    flops_per_compute: int = 2      # algorithmic FLOPs (the registry's ``Einsum.flops``)


def _role(e: Einsum, rule: TrafficRule, from_traffic: bool = False) -> EinsumRole:
    return EinsumRole(e.name, e.array, rule, e.cost_scales_latency, e.group, from_traffic, e.flops)


def softmax_rule(name: str, qk_onchip: bool, spilled: float) -> TrafficRule:
    """The traffic of one of the baselines' four softmax passes (FLAT and unfused).

    QK and A are DRAM tensors only when the score matrix is off chip; every pass reads its big operands
    (QK, SN, and A when on chip) from the spillable L3, while the per-row M and SD stay resident. SD's own
    read of SN streams straight from the previous pass's output and is never spilled.
    """
    off = not qk_onchip
    dram, spillable = {
        "M": ({"QK"} if off else set(), {"QK"}),
        "SN": (set(), {"QK", "SN"}),
        "SD": (set(), set()),
        "A": ({"A"} if off else set(), {"SN"} | ({"A"} if qk_onchip else set())),
    }[name]
    return TrafficRule(dram=frozenset(dram), spillable=frozenset(spillable), spilled=spilled)


def _flat_rule(dataflow: FlatDataflow, tensors: tuple[str, ...]) -> TrafficRule:
    dram = {t for t in tensors if t in BASELINE_IO_TENSORS or t not in dataflow.onchip}
    spillable = {t for t in tensors if t in dataflow.onchip}
    return TrafficRule(frozenset(dram), frozenset(spillable), dataflow.spilled)


def roles(conf: Configuration, softmax_spilled: float = 0.0,
          dataflow: FlatDataflow | None = None) -> dict[str, EinsumRole]:
    """The role of every Einsum of ``conf``, in its post-processing order.

    Einsums with registry DRAM tensors keep those; FLAT's matrix multiplies (``dataflow``) move their
    inputs, output and off-chip tensors and spill from their on-chip ones; the softmax passes spill
    ``softmax_spilled`` of what they buffer.
    """
    qk_onchip = dataflow.qk_onchip if dataflow is not None else False
    out = {}
    for e in conf.post_processed:
        if e.group == "softmax":
            out[e.name] = _role(e, softmax_rule(e.name, qk_onchip, softmax_spilled), from_traffic=True)
        elif e.dram is not None:
            out[e.name] = _role(e, TrafficRule(dram=e.dram))
        elif dataflow is not None and e.name in FLAT_OPERANDS:
            out[e.name] = _role(e, _flat_rule(dataflow, FLAT_OPERANDS[e.name]), from_traffic=True)
        else:
            raise ValueError(f"{conf.name} {e.name}: no DRAM tensors in the registry and no FLAT dataflow")
    return out
