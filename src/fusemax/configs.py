"""The configuration registry: every per-configuration fact, written once, and the hardware resolver.

A *configuration* is one accelerator the experiments evaluate. Each is one frozen :class:`Configuration`
record in :data:`REGISTRY`; render, the experiments, the energy model and the reports look facts up here, so
adding a configuration means adding a record (and its templates), nothing else.

===========  ==============================================================================================
unfused      QK and AV mapped by the mapper (constraints), softmax passes M SN SD A on the 1D array
flat         FLAT: QK and AV on the 2D array with FLAT's dataflow, softmax passes M SN SD A on the 1D array
cascade      the FuseMax cascade on FLAT's hardware: only QK and SLNV on the 2D array
arch         FuseMax architecture without interleaving: same specs as binding (differs in the schedule)
binding      FuseMax: the 12-Einsum cascade, QK LM SLN SLD SLNV on the 2D array, the rest on the 1D array
end2end      the layer's matrix multiplies Q K V Z FFN1 FFN2, mapped by the mapper (the paper's constraints)
layer        the rest of the layer for the study: norms, projections, MLP, activation, residual adds, the
             matmuls mapped under the platform's real limits (a reduction may be split across DRAM tiles)
layer-fused  the same Einsums with the element-wise ones fused into their matrix multiplies (``--layer-fusion
             fused``): their operands stay on chip and their 1D work overlaps the 2D work (schedule "fused")
lm-head      the whole model's LM head: B tokens x (D x vocab), mapped like the layer's matmuls
===========  ==============================================================================================

Hardware is resolved once per point (:func:`resolve_hardware`): the user's :class:`~fusemax.workload.Hardware`
against the configuration's defaults gives a :class:`ResolvedHardware` that render, the metrics and the
energy model all read, so a default spelled out (``--l3-bytes 16MiB`` for binding) gives the same numbers as
the default left implicit.

Energy sizing: the artifact prices each configuration on its energy design's Accelergy run
(:data:`ENERGY_DESIGNS`), whose buffers are not always the sizes its Timeloop specs use (binding's 2D PEs
hold 16 words in Timeloop but are priced as 12; the cascade is tiled for a 16 MiB L3 but priced on FLAT's
32 MiB). A configuration's priced size is therefore its design's size scaled by the resolved size over the
configuration's default: at the defaults this is the published pricing, and an L3 or register sweep scales
the priced buffer with the real one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from fusemax import paper
from fusemax.errors import WorkloadError
from fusemax.workload import Hardware

MiB = 2**20


@dataclass(frozen=True)
class Einsum:
    """One Einsum of a configuration: where it runs, what one compute costs, which templates render it.

    ``cost`` counts functional-unit operations per Timeloop compute. ``mapping`` is None when the mapper
    searches one under ``constraints``. ``dram`` names the tensors that travel to DRAM whatever the mapping
    keeps there (None: decided per workload, FLAT's placements and the softmax's spill). ``group`` is the
    phase the schedule sums (unfused, end2end) and the report's grouping. ``cost_scales_latency`` is False
    for the baselines' softmax passes, whose units the artifact pipelines (one compute per cycle).
    ``flops`` counts the algorithm's floating-point operations per compute (a multiply-accumulate is two,
    an exponential of a difference two), the same for an Einsum in every configuration, whatever its
    implementation costs (``cost``): intensities compare data movement, not implementations.
    ``per_pair`` marks the Einsums that work on every query-key pair (a mask scales their FLOPs).
    """

    name: str
    array: str
    cost: Mapping[str, int]
    arch: str
    problem: str
    mapping: str | None = None
    constraints: str | None = None
    dram: frozenset[str] | None = None
    group: str = "attention"
    cost_scales_latency: bool = True
    flops: int = 1
    #: True when the Einsum does work for every query-key pair (its ranks cover P and all of the keys), so
    #: an attention mask removes its algorithmic FLOPs pair by pair (:mod:`fusemax.render.mask`)
    per_pair: bool = False
    #: The fused group it belongs to (the "fused" schedule overlaps each group's 1D and 2D work), or None.
    fusion: str | None = None


@dataclass(frozen=True)
class Registers:
    """Register words of the Timeloop specs as functions of the PE dimension: each 2D PE, the 2D array's
    ``reg_file_1d`` row buffer, each 1D PE."""

    pe: Callable[[int], int]
    row_buffer: Callable[[int], int]
    pe_1d: Callable[[int], int]


@dataclass(frozen=True)
class EnergyDesign:
    """One Accelergy design the energies are priced on (``arch/energy``): its L3 and register sizes and
    the functional units of each array (the artifact's ``func_2d`` / ``func_1d``; "fusemax" is its
    ``"proposal"``). Unit names are the ERT component names of ``arch/energy``; the artifact's own FLAT
    ERT spells the exponential unit ``exponentiatial``."""

    name: str
    l3_bytes: int
    reg_2d: int
    reg_1d: int
    units_2d: tuple[str, ...]
    units_1d: tuple[str, ...]


ENERGY_DESIGNS: dict[str, EnergyDesign] = {
    "fusemax": EnergyDesign("fusemax", 16 * MiB, 12, 32, ("mac", "max", "add"), ("mac", "max", "add", "divide")),
    "flat": EnergyDesign("flat", 32 * MiB, 4, 16, ("mac", "add"), ("mac", "max", "exponential", "add", "divide")),
}


@dataclass(frozen=True)
class Configuration:
    """Everything the pipeline needs to know about one configuration (see the module doc)."""

    name: str
    label: str                  # legend name (the paper's Figs. 6-11)
    short: str                  # Fig. 7's x label
    color: str
    hatch: str
    marker: str
    tiling: str                 # how render factors it: "fusemax", "flat", "unfused", "matmul", "layer", "lm-head"
    einsums: tuple[Einsum, ...]  # in evaluation (dataflow) order, as render writes them
    l3_bytes: int
    registers: Registers
    energy_design: str
    schedule: str               # compute-latency rule of fusemax.combine.schedule.SCHEDULES
    platform: str               # the end-to-end platform its layer's other matmuls run on (PLATFORMS)
    cascade_buffers: bool = False       # the cascade's per-query L3 buffers (QK and SLN rows on chip)
    occupancy_weighted: bool = False    # 2D utilization weighted by the PEs the mapping occupies
    einsum_columns: bool = True         # attn-<config>.csv has a utilization column per 2D Einsum
    uncharged_units: frozenset[str] = frozenset()
    #: priced sizes at the defaults when they are not the energy design's own (end2end's registers)
    energy_sizes: Mapping[str, int] = field(default_factory=dict)
    #: The order the artifact's post-processing visits the Einsums (empty: evaluation order): the rows of
    #: ``einsums.csv`` and the order latencies are summed in. Floating-point sums depend on it, so keeping
    #: it reproduces the published rows bit for bit.
    post_order: tuple[str, ...] = ()

    def __hash__(self) -> int:
        # the generated hash would hash every field, and the Einsums' cost dicts are not hashable; a
        # record's name identifies it (equal records have equal names), so a ResolvedHardware that carries
        # one stays hashable
        return hash(self.name)

    def __reduce__(self) -> tuple[Callable[[str], "Configuration"], tuple[str]]:
        # A record crosses to worker processes (and Dask) by its name and arrives as the registry's own
        # record: its register rules are lambdas, which pickle cannot send. Only registry records pickle,
        # so a modified copy can never come back as the registry's record under its name.
        if REGISTRY.get(self.name) is not self:
            raise TypeError(f"configuration {self.name!r} is not the registry's record: only those pickle")
        return _registered, (self.name,)

    def einsum(self, name: str) -> Einsum:
        for e in self.einsums:
            if e.name == name:
                return e
        raise KeyError(f"{self.name} has no Einsum {name}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.einsums)

    @property
    def post_processed(self) -> tuple[Einsum, ...]:
        """The Einsums in :attr:`post_order`."""
        return tuple(self.einsum(n) for n in self.post_order) if self.post_order else self.einsums


# --- the records -----------------------------------------------------------------------------------------

#: The FuseMax cascade in evaluation order (methodology.md, "The cascade"), and in the artifact's
#: post-processing order (the rescaling PRM SPD SPNV before the local SLN SLD SLNV).
_CASCADE = ("QK", "LM", "RM", "SLN", "SLD", "SLNV", "PRM", "SPD", "SPNV", "RD", "RNV", "AV")
_CASCADE_POST = ("QK", "LM", "RM", "PRM", "SPD", "SPNV", "SLN", "SLD", "SLNV", "RD", "RNV", "AV")
#: The baselines: QK, the softmax passes, AV; post-processed as the two matmuls, then the softmax.
_BASELINE_POST = ("QK", "AV", "M", "SN", "SD", "A")
_FUSEMAX_COST: dict[str, dict[str, int]] = {
    "QK": {"mac": 1}, "LM": {"max": 1}, "RM": {"max": 1}, "PRM": {"mac": 6, "add": 1}, "SPD": {"mac": 1},
    "SPNV": {"mac": 1}, "SLN": {"mac": 6, "add": 1}, "SLD": {"add": 1}, "SLNV": {"mac": 1}, "RD": {"add": 1},
    "RNV": {"add": 1}, "AV": {"divide": 1}}
# On FLAT's hardware the 1D array has an exponential unit, so the exponentials are one operation there.
_CASCADE_COST = {**_FUSEMAX_COST, "SLN": {"exponential": 1, "add": 1}, "PRM": {"exponential": 1, "add": 1}}
#: Only attention's inputs and output travel to DRAM in the cascade.
_CASCADE_DRAM = frozenset({"Q", "BK", "BV", "AV"})
_SOFTMAX_COST = {"M": {"max": 1}, "SN": {"exponential": 1, "add": 1}, "SD": {"add": 1}, "A": {"divide": 1}}
#: Algorithmic FLOPs per compute: multiply-accumulates 2, exp(x - y) 2 (subtract, exponential), the rest 1.
_FLOPS = {"QK": 2, "SLNV": 2, "SLN": 2, "PRM": 2, "SN": 2}
#: The cascade's Einsums over every query-key pair; the rest work per key block (RM, PRM, SPD, SPNV, RD,
#: RNV) or per query (AV).
_CASCADE_PER_PAIR = frozenset({"QK", "LM", "SLN", "SLD", "SLNV"})
#: The layer's matrix multiplies (methodology.md, "End-to-end").
MATMULS: tuple[str, ...] = ("Q", "K", "V", "Z", "FFN1", "FFN2")


def _cascade(on_2d: tuple[str, ...], arch: str, mappings: str, cost: Mapping[str, Mapping[str, int]]) -> tuple:
    return tuple(Einsum(n, "2d" if n in on_2d else "1d", cost[n], f"arch/{arch}-{'2d' if n in on_2d else '1d'}.yaml.j2",
                        f"problems/fusemax/{n.lower()}.yaml.j2", f"mappings/{mappings}/{n.lower()}.yaml.j2",
                        dram=_CASCADE_DRAM, flops=_FLOPS.get(n, 1), per_pair=n in _CASCADE_PER_PAIR)
                 for n in _CASCADE)


def _softmax() -> tuple[Einsum, ...]:
    """The baselines' numerically stable softmax, four passes on the 1D array."""
    return tuple(Einsum(n, "1d", c, "arch/baseline-1d.yaml.j2", f"problems/baseline/{n.lower()}.yaml.j2",
                        f"mappings/softmax/{n.lower()}.yaml.j2", group="softmax", cost_scales_latency=False,
                        flops=_FLOPS.get(n, 1), per_pair=True)
                 for n, c in _SOFTMAX_COST.items())


def _baseline_matmul(name: str, arch: str, mapped: bool, dram: frozenset[str] | None) -> Einsum:
    return Einsum(name, "2d", {"mac": 1}, arch, f"problems/baseline/{name.lower()}.yaml.j2",
                  f"mappings/flat/{name.lower()}.yaml.j2" if mapped else None,
                  None if mapped else f"mappings/unfused/{name.lower()}.constraints.yaml.j2",
                  dram=dram, group=name, flops=2, per_pair=True)


_FUSEMAX_REGISTERS = Registers(pe=lambda pe: 16, row_buffer=lambda pe: 32 * pe, pe_1d=lambda pe: 32)
# FLAT's hardware buffers a whole QK tile in the row buffer and a key block per 1D PE.
_FLAT_HW_REGISTERS = Registers(pe=lambda pe: 16, row_buffer=lambda pe: pe * pe, pe_1d=lambda pe: max(2 * pe, 3))
_UNFUSED_REGISTERS = Registers(pe=lambda pe: 4, row_buffer=lambda pe: 32 * pe, pe_1d=lambda pe: 32)
_BINDING_2D = ("QK", "LM", "SLN", "SLD", "SLNV")

#: The rest of a transformer layer for the study, in evaluation order: the projections, the MLP and the
#: element-wise work between them (pre-norm layer: norm, attention, residual add, norm, MLP, residual add).
#: Element-wise costs count the FuseMax 1D array's operations per element (its units: mac, max, add,
#: divide; an exponential is 6 macs and an add, as in the binding): LayerNorm accumulates the mean (add),
#: the variance (mac) and normalises and scales (2 macs); GELU (tanh form) is 4 macs for the polynomial
#: and the scaling, and a tanh as an exponential plus a divide; a residual is one add. Algorithmic FLOPs:
#: LayerNorm 8 (mean 1, variance 3, normalise-and-scale 4), GELU 8, residual 1.
_NORM_COST, _ACT_COST, _RES_COST = {"add": 1, "mac": 3}, {"mac": 10, "add": 1, "divide": 1}, {"add": 1}
LAYER_REST: tuple[str, ...] = ("NORM1", "Q", "K", "V", "Z", "RES1", "NORM2", "FFN1", "ACT", "FFN2", "RES2")
#: The gated (Llama-family) layer: RMSNorm squares and accumulates (mac) and normalises and scales (2 macs),
#: 4 FLOPs; FFN1 is the gate and up projections as one matrix multiply of 2 x S outputs (their shared
#: input read once); GLU = SiLU(gate) x up: an exponential (6 macs and an add), an add, a divide and two
#: multiplies, 5 FLOPs (exponential, add, divide, x gate, x up).
_RMS_COST, _GLU_COST = {"mac": 3}, {"mac": 8, "add": 2, "divide": 1}
LAYER_REST_GATED: tuple[str, ...] = ("NORM1", "Q", "K", "V", "Z", "RES1", "NORM2", "FFN1", "GLU", "FFN2", "RES2")
#: Per element-wise Einsum kind and layer (plain, gated): its cost and FLOPs per element.
_ELEMENTWISE: dict[tuple[str, bool], tuple[dict[str, int], int]] = {
    ("NORM", False): (_NORM_COST, 8), ("NORM", True): (_RMS_COST, 4), ("ACT", False): (_ACT_COST, 8),
    ("GLU", True): (_GLU_COST, 5), ("RES", False): (_RES_COST, 1), ("RES", True): (_RES_COST, 1)}


#: Layer fusion policies (``--layer-fusion``): ``none`` runs every element-wise Einsum on its own from and
#: to DRAM, one Einsum after another; ``fused`` fuses each into a matrix multiply (:data:`FUSION_GROUPS`).
LAYER_FUSIONS: tuple[str, ...] = ("none", "fused")
#: The fused groups of the layer: each element-wise Einsum joins the matrix multiply that produces its
#: operand (an epilogue: the residual adds after Z and FFN2, the activation after FFN1) or consumes its
#: result (a prologue: each norm before the multiplies that read the normalized rows). Q, K and V share
#: NORM1's rows, so they are one group.
FUSION_GROUPS: dict[str, str] = {"NORM1": "QKV", "Q": "QKV", "K": "QKV", "V": "QKV", "Z": "Z", "RES1": "Z",
                                 "NORM2": "FFN1", "FFN1": "FFN1", "ACT": "FFN1", "GLU": "FFN1", "FFN2": "FFN2",
                                 "RES2": "FFN2"}
#: What a fused element-wise Einsum still moves to DRAM: a residual add reads the residual stream (R), which
#: no producer of its group leaves on chip; a norm reads its input (X) once more for its row statistics only
#: when the row block does not fit on chip (decided per workload by :mod:`fusemax.render.plan`). Everything
#: else stays on chip: the matrix multiplies' own DRAM reads and writes carry the fused results.
_FUSED_DRAM: dict[str, frozenset[str]] = {"NORM": frozenset({"X"}), "RES": frozenset({"R"}), "ACT": frozenset(),
                                          "GLU": frozenset()}



def _study_matmul(name: str, group: str, fusion: str | None = None) -> Einsum:
    """A matrix multiply of the study's layer or LM head, mapped under the platform's real limits."""
    return Einsum(name, "2d", {"mac": 1}, "arch/fusemax-2d.yaml.j2", "problems/matmul.yaml.j2",
                  constraints="mappings/layer/matmul.constraints.yaml.j2", dram=frozenset({"A", "B", "Z"}),
                  group=group, flops=2, fusion=fusion)


#: The LM head's Einsum: the last hidden state of each of B sequences times the D x vocab output embedding.
LM_HEAD = "HEAD"


def _layer(gated: bool = False, fused: bool = False) -> tuple[Einsum, ...]:
    out = []
    for n in LAYER_REST_GATED if gated else LAYER_REST:
        fusion = FUSION_GROUPS[n] if fused else None
        if n in MATMULS:
            out.append(_study_matmul(n, "mlp" if n.startswith("FFN") else "projection", fusion))
        else:
            kind = n.rstrip("12")
            cost, flops = _ELEMENTWISE[(kind, gated)]
            dram = _FUSED_DRAM[kind] if fused else frozenset({"X", "R", "Y"} if kind in ("RES", "GLU") else {"X", "Y"})
            out.append(Einsum(n, "1d", cost, "arch/fusemax-1d.yaml.j2", "problems/elementwise.yaml.j2",
                              "mappings/layer/elementwise.yaml.j2", dram=dram, group="elementwise", flops=flops,
                              fusion=fusion))
    return tuple(out)


def layer_config_name(gated: bool, fusion: str) -> str:
    """The registry's layer for a model with a gated MLP or not, under ``fusion`` (:data:`LAYER_FUSIONS`)."""
    if fusion not in LAYER_FUSIONS:
        raise WorkloadError(f"unknown layer fusion {fusion!r}; use {' or '.join(LAYER_FUSIONS)}",
                            source="--layer-fusion")
    return "layer" + ("-gated" if gated else "") + ("-fused" if fusion == "fused" else "")


def _layer_configuration(gated: bool, fused: bool) -> Configuration:
    name = layer_config_name(gated, "fused" if fused else "none")
    label = "layer" + (" (gated MLP)" if gated else "") + (", fused" if fused else "")
    return Configuration(name, label, "LG" if gated else "L", "#777777" if gated else "#999999", "", "P",
                         tiling="layer", einsums=_layer(gated, fused), l3_bytes=16 * MiB,
                         registers=_FUSEMAX_REGISTERS, energy_design="fusemax",
                         schedule="fused" if fused else "sequential", platform="proposal",
                         energy_sizes={"reg_2d": 16})


REGISTRY: dict[str, Configuration] = {c.name: c for c in (
    Configuration(
        "unfused", "Unfused", "UF", "#D55E00", "", "s", tiling="unfused",
        einsums=(_baseline_matmul("QK", "arch/fusemax-2d.yaml.j2", False, frozenset({"Q", "K", "QK"})),
                 *_softmax(),
                 _baseline_matmul("AV", "arch/fusemax-2d.yaml.j2", False, frozenset({"A", "V", "AV"}))),
        l3_bytes=32 * MiB, registers=_UNFUSED_REGISTERS, energy_design="flat", schedule="phases",
        platform="flat", einsum_columns=False, post_order=_BASELINE_POST),
    Configuration(
        "flat", "FLAT", "FL", "#0072B2", "//", "^", tiling="flat",
        einsums=(_baseline_matmul("QK", "arch/baseline-2d.yaml.j2", True, None), *_softmax(),
                 _baseline_matmul("AV", "arch/baseline-2d.yaml.j2", True, None)),
        l3_bytes=32 * MiB, registers=_FUSEMAX_REGISTERS, energy_design="flat", schedule="parallel",
        platform="flat", occupancy_weighted=True, post_order=_BASELINE_POST),
    Configuration(
        "cascade", "FuseMax +Cascade", "+C", "#009E73", "..", "v", tiling="fusemax",
        einsums=_cascade(("QK", "SLNV"), "flat-hw", "cascade", _CASCADE_COST),
        l3_bytes=16 * MiB, registers=_FLAT_HW_REGISTERS, energy_design="flat", schedule="parallel",
        platform="proposal", cascade_buffers=True, post_order=_CASCADE_POST,
        # the artifact's FLAT-PE cascade names its unit "exponential", its FLAT ERT "exponentiatial": the
        # published rows never charge the cascade's exponentials
        uncharged_units=frozenset({"exponential"})),
    Configuration(
        "arch", "FuseMax +Architecture", "+A", "#CC79A7", "\\\\", "D", tiling="fusemax",
        einsums=_cascade(_BINDING_2D, "fusemax", "binding", _FUSEMAX_COST),
        l3_bytes=16 * MiB, registers=_FUSEMAX_REGISTERS, energy_design="fusemax", schedule="arch",
        platform="proposal", post_order=_CASCADE_POST),
    Configuration(
        "binding", "FuseMax +Binding", "+B", "#E69F00", "", "o", tiling="fusemax",
        einsums=_cascade(_BINDING_2D, "fusemax", "binding", _FUSEMAX_COST),
        l3_bytes=16 * MiB, registers=_FUSEMAX_REGISTERS, energy_design="fusemax", schedule="binding",
        platform="proposal", post_order=_CASCADE_POST),
    Configuration(
        "end2end", "end2end", "E2E", "#56B4E9", "", "o", tiling="matmul",
        einsums=tuple(Einsum(n, "2d", {"mac": 1}, "arch/fusemax-2d.yaml.j2", "problems/matmul.yaml.j2",
                             constraints="mappings/end2end/matmul.constraints.yaml.j2",
                             dram=frozenset({"A", "B", "Z"}), group=n, flops=2) for n in MATMULS),
        l3_bytes=16 * MiB, registers=_FUSEMAX_REGISTERS, energy_design="fusemax", schedule="phases",
        platform="proposal", energy_sizes={"reg_2d": 16}),
    *(_layer_configuration(gated, fused) for fused in (False, True) for gated in (False, True)),
    Configuration(
        "lm-head", "LM head", "LM", "#555555", "", "P", tiling="lm-head", einsums=(_study_matmul(LM_HEAD, "lm-head"),),
        l3_bytes=16 * MiB, registers=_FUSEMAX_REGISTERS, energy_design="fusemax", schedule="sequential",
        platform="proposal", energy_sizes={"reg_2d": 16}),
)}

#: Every configuration render knows, in the registry's order.
CONFIGS: tuple[str, ...] = tuple(REGISTRY)
#: The attention configurations of the paper's Figs. 6-9, in its order.
ATTENTION_CONFIGS: tuple[str, ...] = ("unfused", "flat", "cascade", "arch", "binding")

#: The two end-to-end platforms of the paper (Figs. 10-11): FuseMax ("proposal", 16 MiB L3, 16-word PE
#: registers) and FLAT (32 MiB, 4 words).
PLATFORMS: dict[str, Hardware] = {
    "proposal": Hardware(l3_bytes=16 * MiB, pe_reg_depth=16),
    "flat": Hardware(l3_bytes=32 * MiB, pe_reg_depth=4),
}


def get_config(name: str, source: str = "--config") -> Configuration:
    """The record of ``name``; an unknown name is one error listing the known ones.

    Called only at the edges, where a name comes in (the CLI's flags, the drivers' point lists, the public
    :func:`fusemax.render.render`); everything below them takes the record (``tests/test_config_edges.py``).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise WorkloadError(f"unknown configuration {name!r}; use one of {', '.join(CONFIGS)}",
                            source=source) from None


def _registered(name: str) -> Configuration:
    """The registry's record of ``name``, as an unpickled :class:`Configuration` arrives."""
    return REGISTRY[name]


# --- the hardware resolver -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResolvedHardware:
    """The hardware of one configuration with every default applied: what the specs, the metrics and the
    energy model of a point read. Sizes in bytes and words, bandwidth in B/s.

    ``config`` is the configuration's record the defaults came from, so whatever reads the hardware has
    the configuration too (``config.name`` where a name is wanted).

    ``energy_l3_bytes``, ``energy_reg_2d`` and ``energy_reg_1d`` are the sizes the energy design prices
    (see the module doc), which :func:`fusemax.energy.designs.energy_arch` reads.
    """

    config: Configuration
    pe_dim: int
    pe_1d: int
    word_bytes: int
    clock_hz: float
    cycle_seconds: float
    dram_bandwidth: float
    l3_bytes: int
    pe_reg_depth: int
    row_buffer_depth: int
    pe_1d_reg_depth: int
    energy_design: str
    energy_l3_bytes: int
    energy_reg_2d: int
    energy_reg_1d: int

    @property
    def word_bits(self) -> int:
        return 8 * self.word_bytes

    @property
    def l3_words(self) -> int:
        return self.l3_bytes // self.word_bytes

    def context(self) -> dict[str, Any]:
        """The variables of the architecture templates (``arch/*.yaml.j2``)."""
        row_bytes = self.pe_dim * self.word_bytes
        return {"cycle_seconds": self.cycle_seconds, "word_bits": self.word_bits, "pe_dim": self.pe_dim,
                "pe_1d": self.pe_1d, "l3_bytes": self.l3_bytes, "l3_depth": self.l3_bytes // row_bytes,
                "l3_width_bits": 8 * row_bytes, "pe_reg_depth": self.pe_reg_depth,
                "row_buffer_depth": self.row_buffer_depth, "pe_1d_reg_depth": self.pe_1d_reg_depth}


def cycle_seconds(clock_hz: float) -> float:
    """The cycle of ``clock_hz``, written like the artifact's files at the paper's clock."""
    return paper.CYCLE_SECONDS if clock_hz == paper.CLOCK_HZ else 1.0 / clock_hz


def _scaled(priced: int, resolved: int, default: int) -> int:
    return max(1, round(priced * resolved / default))


def resolve_hardware(conf: Configuration, hardware: Hardware = Hardware()) -> ResolvedHardware:
    """``hardware`` with the defaults of ``conf`` applied (the one place defaults are resolved)."""
    pe, pe1 = hardware.pe_dim, hardware.pe_1d_count
    l3 = hardware.l3_bytes or conf.l3_bytes
    if l3 < pe * hardware.word_bytes:
        raise WorkloadError(f"L3 of {l3} bytes is smaller than one row of {pe} words", source="--l3-bytes")
    regs = conf.registers
    pe_reg, row_buffer, pe_1d_reg = (hardware.pe_reg_depth or regs.pe(pe), hardware.row_buffer_depth or regs.row_buffer(pe),
                                     hardware.pe_1d_reg_depth or regs.pe_1d(pe))
    design = ENERGY_DESIGNS[conf.energy_design]
    priced = {"l3_bytes": design.l3_bytes, "reg_2d": design.reg_2d, "reg_1d": design.reg_1d, **conf.energy_sizes}
    return ResolvedHardware(
        config=conf, pe_dim=pe, pe_1d=pe1, word_bytes=hardware.word_bytes, clock_hz=hardware.clock_hz,
        cycle_seconds=cycle_seconds(hardware.clock_hz), dram_bandwidth=hardware.dram_bandwidth, l3_bytes=l3,
        pe_reg_depth=pe_reg, row_buffer_depth=row_buffer, pe_1d_reg_depth=pe_1d_reg,
        energy_design=design.name, energy_l3_bytes=priced["l3_bytes"] * l3 // conf.l3_bytes,
        energy_reg_2d=_scaled(priced["reg_2d"], pe_reg, regs.pe(pe)),
        energy_reg_1d=_scaled(priced["reg_1d"], pe_1d_reg, regs.pe_1d(pe)))
