"""What each attention configuration is, as far as combining per-Einsum statistics is concerned.

A configuration (``unfused``, ``flat``, ``cascade``, ``arch``, ``binding``) evaluates a set of Einsums on a
2D and a 1D array. Turning one Einsum's Timeloop statistics into traffic and latency needs to know:

* which tensors travel to DRAM (everything else stays on chip, whatever the mapping keeps at DRAM),
* which tensors sit in a *spillable* L3 (FLAT's overbooked buffer) and what proportion of them spills,
* whether the compute latency is the compute-unit cycles times the Einsum's ops per compute (the cascade
  Einsums, whose costs are modelled as repeated use of a PE) or the cycles alone (the four softmax passes of
  the baselines, which the artifact pipelines).

These facts are the methodology (``shared/docs/methodology.md``), written once here as data.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: The five configurations of the paper's Figs. 6-9, in the artifact's order.
CONFIGS: tuple[str, ...] = ("unfused", "flat", "cascade", "arch", "binding")

#: The cascade's twelve Einsums (methodology.md, "The cascade").
CASCADE_EINSUMS: tuple[str, ...] = (
    "QK", "LM", "RM", "PRM", "SPD", "SPNV", "SLN", "SLD", "SLNV", "RD", "RNV", "AV")

#: The numerically stable softmax of the baselines, evaluated as four passes on the 1D array.
SOFTMAX_EINSUMS: tuple[str, ...] = ("M", "SN", "SD", "A")

#: Einsums on the 2D array per configuration; the rest run on the 1D array.
EINSUMS_2D: dict[str, tuple[str, ...]] = {
    "binding": ("QK", "LM", "SLN", "SLD", "SLNV"),
    "arch": ("QK", "LM", "SLN", "SLD", "SLNV"),
    "cascade": ("QK", "SLNV"),
    "flat": ("QK", "AV"),
    "unfused": ("QK", "AV"),
}

#: Which component family's energy tables price a configuration (FuseMax or FLAT hardware).
ENERGY_PLATFORM: dict[str, str] = {
    "binding": "fusemax", "arch": "fusemax", "cascade": "flat", "flat": "flat", "unfused": "flat"}

#: Tensors of the cascade that live in DRAM: the inputs and the output of attention.
CASCADE_DRAM_TENSORS = frozenset({"Q", "BK", "BV", "AV"})
#: The baselines' true inputs and output (FLAT and unfused name the keys and values K and V).
BASELINE_IO_TENSORS = frozenset({"Q", "K", "V", "AV"})


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


@dataclass(frozen=True)
class FlatChoice:
    """FLAT's dataflow for one model and length (a row of the artifact's ``flat_validation.csv``).

    ``locations`` maps each of Q, K, QK, A, V, AV to ``"onchip"`` or ``"offchip"``.
    """

    locations: dict[str, str]
    qk_stationarity: str = "output"
    av_stationarity: str = "output"
    fusion_granularity: str = "head"
    p1: int = 256
    proportion_spilled: float = 0.0
    source: str = "flat_validation.csv"

    def onchip(self, tensor: str) -> bool:
        return self.locations.get(tensor, "offchip") == "onchip"

    @property
    def qk_onchip(self) -> bool:
        """The softmax works on QK / A in the L3 only when FLAT keeps the score matrix on chip."""
        return self.onchip("QK")


@dataclass(frozen=True)
class ConfigPlan:
    """All roles of one configuration plus how its per-Einsum numbers combine."""

    config: str
    roles: dict[str, EinsumRole] = field(default_factory=dict)

    @property
    def einsums_2d(self) -> tuple[str, ...]:
        return tuple(n for n, r in self.roles.items() if r.array == "2d")

    @property
    def einsums_1d(self) -> tuple[str, ...]:
        return tuple(n for n, r in self.roles.items() if r.array == "1d")


def cascade_plan(config: str) -> ConfigPlan:
    """binding, arch and cascade: twelve Einsums, only Q, K, V and the output touch DRAM."""
    rule = TrafficRule(dram=CASCADE_DRAM_TENSORS)
    on_2d = EINSUMS_2D[config]
    roles = {name: EinsumRole(name, "2d" if name in on_2d else "1d", rule) for name in CASCADE_EINSUMS}
    return ConfigPlan(config, roles)


def softmax_roles(qk_onchip: bool, spilled: float) -> dict[str, EinsumRole]:
    """The baselines' four softmax passes (FLAT and unfused).

    QK and A are DRAM tensors only when the score matrix is off chip; every pass reads its big operands
    (QK, SN, and A when on chip) from the spillable L3, while the per-row M and SD stay resident. SD's own
    read of SN streams straight from the previous pass's output and is never spilled.
    """
    def rule(dram: set[str], spillable: set[str]) -> TrafficRule:
        return TrafficRule(dram=frozenset(dram), spillable=frozenset(spillable), spilled=spilled)

    off = not qk_onchip
    rules = {
        "M": rule({"QK"} if off else set(), {"QK"}),
        "SN": rule(set(), {"QK", "SN"}),
        "SD": rule(set(), set()),
        "A": rule({"A"} if off else set(), {"SN"} | ({"A"} if qk_onchip else set())),
    }
    return {name: EinsumRole(name, "1d", rules[name], cost_scales_latency=False, group="softmax",
                             dram_energy_from_traffic=True)
            for name in SOFTMAX_EINSUMS}


def softmax_spill(avail_bytes: float, keys: int, word_bytes: int = 2) -> float:
    """Proportion of a softmax row (M keys) that does not fit in ``avail_bytes`` of L3."""
    return 1.0 - min(1.0, avail_bytes / (keys * word_bytes))


def flat_plan(choice: FlatChoice, softmax_spilled: float) -> ConfigPlan:
    """FLAT: QK and AV on the 2D array with FLAT's tensor placement; softmax on the 1D array."""
    def rule(tensors: tuple[str, ...]) -> TrafficRule:
        dram = {t for t in tensors if t in BASELINE_IO_TENSORS or not choice.onchip(t)}
        spillable = {t for t in tensors if choice.onchip(t)}
        return TrafficRule(frozenset(dram), frozenset(spillable), choice.proportion_spilled)

    roles = {
        "QK": EinsumRole("QK", "2d", rule(("Q", "K", "QK")), group="QK", dram_energy_from_traffic=True),
        "AV": EinsumRole("AV", "2d", rule(("A", "V", "AV")), group="AV", dram_energy_from_traffic=True),
    }
    roles.update(softmax_roles(choice.qk_onchip, softmax_spilled))
    return ConfigPlan("flat", roles)


def unfused_plan(softmax_spilled: float) -> ConfigPlan:
    """Unfused: QK and AV go entirely through DRAM; the softmax passes spill only what does not fit."""
    roles = {
        "QK": EinsumRole("QK", "2d", TrafficRule(dram=frozenset({"Q", "K", "QK"})), group="QK"),
        "AV": EinsumRole("AV", "2d", TrafficRule(dram=frozenset({"A", "V", "AV"})), group="AV"),
    }
    roles.update(softmax_roles(False, softmax_spilled))
    return ConfigPlan("unfused", roles)
