"""What each configuration renders: its Einsums, templates, template variables and hardware sizing.

Configurations (the artifact's accelerators):

===========  ==============================================================================================
binding      FuseMax: the 12-Einsum cascade, QK LM SLN SLD SLNV on the 2D array, the rest on the 1D array
arch         FuseMax architecture without interleaving: same specs as binding (differs in post-processing)
cascade      the FuseMax cascade on FLAT's hardware: only QK and SLNV on the 2D array
flat         FLAT: QK and AV on the 2D array with FLAT's dataflow, softmax passes M SN SD A on the 1D array
unfused      QK and AV mapped by the mapper (constraints), softmax passes M SN SD A on the 1D array
end2end      the layer's matrix multiplies Q K V Z FFN1 FFN2, mapped by the mapper (constraints)
===========  ==============================================================================================

Hardware sizing (:class:`ArchParams`), defaults at pe_dim = 256 reproduce the artifact's files:

* L3 (``Hardware.l3_bytes``): 16 MiB for binding, arch, cascade and end2end (the FuseMax platform; the
  cascade's P1 rule and its flat_arch files use 16 MiB too), 32 MiB for flat and unfused. A row holds
  pe_dim words, so depth = L3 bytes / (pe_dim x word bytes). FLAT's and the softmax passes' L3 are huge on
  purpose (see arch/baseline-*.yaml.j2); their real size only enters the post-processing.
* Registers: FuseMax 2D PEs 16 words (unfused: 4, the FLAT platform's), row buffer 32 x pe_dim words
  (cascade: pe_dim x pe_dim, a whole QK tile), 1D PEs 32 words (cascade: 2 x pe_dim, a key block).
  ``Hardware.pe_reg_depth``/``row_buffer_depth``/``pe_1d_reg_depth`` override them.
* Clock: 940 MHz renders as the artifact's 1.0638297873e-9 s cycle; other clocks as 1 / clock_hz.

Compute cost per Einsum (functional-unit operations per Timeloop compute) follows the methodology; the
cascade's and baselines' exponentials are called ``exponential`` (the artifact's FLAT ERT spells the
component ``exponentiatial``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping

from fusemax.errors import WorkloadError
from fusemax.render.flat_dataflow import FlatDataflow, flat_dataflow, spilled_proportion
from fusemax.render.tiling import cascade_tiling, flat_tiling, spatial_factor
from fusemax.workload import Hardware, Workload, format_seq_len

CONFIGS = ("unfused", "flat", "cascade", "arch", "binding", "end2end")

MiB = 2**20
#: the artifact writes the 940 MHz cycle rounded like this; keep it so specs match its files exactly
PAPER_CLOCK_HZ = 940e6
PAPER_CYCLE_SECONDS = 1.0638297873e-9

#: the FuseMax cascade in the methodology's order
CASCADE_EINSUMS = ("QK", "LM", "RM", "SLN", "SLD", "SLNV", "PRM", "SPD", "SPNV", "RD", "RNV", "AV")
SOFTMAX_EINSUMS = ("M", "SN", "SD", "A")
END2END_EINSUMS = ("Q", "K", "V", "Z", "FFN1", "FFN2")

BINDING_2D = ("QK", "LM", "SLN", "SLD", "SLNV")
CASCADE_2D = ("QK", "SLNV")

BINDING_COST = {
    "QK": {"mac": 1}, "LM": {"max": 1}, "RM": {"max": 1}, "SLN": {"mac": 6, "add": 1}, "SLD": {"add": 1},
    "SLNV": {"mac": 1}, "PRM": {"mac": 6, "add": 1}, "SPD": {"mac": 1}, "SPNV": {"mac": 1}, "RD": {"add": 1},
    "RNV": {"add": 1}, "AV": {"divide": 1},
}
# On FLAT's hardware the 1D array has an exponential unit, so the exponentials are one operation there.
CASCADE_COST = {**BINDING_COST, "SLN": {"exponential": 1, "add": 1}, "PRM": {"exponential": 1, "add": 1}}
BASELINE_COST = {"QK": {"mac": 1}, "AV": {"mac": 1}, "M": {"max": 1}, "SN": {"exponential": 1, "add": 1},
                 "SD": {"add": 1}, "A": {"divide": 1}}

DEFAULT_L3_BYTES = {"binding": 16 * MiB, "arch": 16 * MiB, "cascade": 16 * MiB, "end2end": 16 * MiB,
                    "flat": 32 * MiB, "unfused": 32 * MiB}

# (2D PE registers, row buffer, 1D PE registers) in words, as functions of (pe_dim, pe_1d)
_REGISTERS: dict[str, Callable[[int, int], tuple[int, int, int]]] = {
    "fusemax": lambda pe, pe1: (16, 32 * pe, 32),
    "flat-hw": lambda pe, pe1: (16, pe * pe, 2 * pe),
    "unfused": lambda pe, pe1: (4, 32 * pe, 32),
}
_REGISTER_FAMILY = {"binding": "fusemax", "arch": "fusemax", "end2end": "fusemax", "cascade": "flat-hw",
                    "unfused": "unfused", "flat": "fusemax"}


@dataclass(frozen=True)
class ArchParams:
    """Every number of the architecture templates, resolved for one configuration."""

    cycle_seconds: float
    word_bits: int
    pe_dim: int
    pe_1d: int
    l3_bytes: int
    l3_depth: int
    l3_width_bits: int
    pe_reg_depth: int
    row_buffer_depth: int
    pe_1d_reg_depth: int

    def context(self) -> dict[str, Any]:
        return asdict(self)


def arch_params(config: str, hardware: Hardware) -> ArchParams:
    """Resolve the configuration's defaults against the user's :class:`Hardware`."""
    pe, pe1 = hardware.pe_dim, hardware.pe_1d_count
    l3 = hardware.l3_bytes or DEFAULT_L3_BYTES[config]
    regs = _REGISTERS[_REGISTER_FAMILY[config]](pe, pe1)
    row_bytes = pe * hardware.word_bytes
    if l3 < row_bytes:
        raise WorkloadError(f"L3 of {l3} bytes is smaller than one row of {pe} words", source="--l3-bytes")
    cycle = PAPER_CYCLE_SECONDS if hardware.clock_hz == PAPER_CLOCK_HZ else 1.0 / hardware.clock_hz
    return ArchParams(cycle_seconds=cycle, word_bits=8 * hardware.word_bytes, pe_dim=pe, pe_1d=pe1, l3_bytes=l3,
                      l3_depth=l3 // row_bytes, l3_width_bits=8 * row_bytes,
                      pe_reg_depth=hardware.pe_reg_depth or regs[0],
                      row_buffer_depth=hardware.row_buffer_depth or regs[1],
                      pe_1d_reg_depth=hardware.pe_1d_reg_depth or regs[2])


@dataclass(frozen=True)
class EinsumPlan:
    """One Einsum of a configuration before rendering: which templates, with which variables."""

    name: str
    array: str  # "2d" or "1d"
    arch_template: str
    problem_template: str
    mapping_template: str | None  # None: the mapper finds the mapping under constraints_template
    constraints_template: str | None
    context: Mapping[str, Any]
    compute_cost: Mapping[str, int]


@dataclass(frozen=True)
class Plan:
    """All Einsums of one configuration plus the derived parameters the experiments need."""

    einsums: tuple[EinsumPlan, ...]
    params: dict[str, Any] = field(default_factory=dict)


def _fusemax_plan(config: str, workload: Workload, hardware: Hardware, arch: ArchParams) -> Plan:
    cascade = config == "cascade"
    tiling = cascade_tiling(workload, hardware, arch.l3_bytes, cascade_buffers=cascade)
    model = workload.model
    problem = {"B": workload.batch, "E": model.E, "F": model.F, "H": model.H, "M1": tiling.M1, "N": tiling.N,
               "P": workload.P}
    base = {**problem, "P2": tiling.P2, **arch.context()}
    twod = CASCADE_2D if cascade else BINDING_2D
    arch_prefix = "flat-hw" if cascade else "fusemax"
    mapping_dir = "cascade" if cascade else "binding"
    cost = CASCADE_COST if cascade else BINDING_COST
    einsums = []
    for name in CASCADE_EINSUMS:
        array = "2d" if name in twod else "1d"
        spatial = {"P1": tiling.P1, "P0": tiling.P0} if array == "2d" else {"P1": tiling.P1_1d, "P0": tiling.P0_1d}
        einsums.append(EinsumPlan(
            name=name, array=array, arch_template=f"arch/{arch_prefix}-{array}.yaml.j2",
            problem_template=f"problems/fusemax/{name.lower()}.yaml.j2",
            mapping_template=f"mappings/{mapping_dir}/{name.lower()}.yaml.j2", constraints_template=None,
            context={**base, **spatial}, compute_cost=cost[name]))
    params = {"p0": tiling.P0, "p1": tiling.P1, "p2": tiling.P2, "m1": tiling.M1, "n": tiling.N,
              "p0_1d": tiling.P0_1d, "p1_1d": tiling.P1_1d, "bytes_per_query": tiling.bytes_per_query,
              "tiles_that_fit": tiling.tiles_that_fit}
    return Plan(tuple(einsums), params)


def _softmax_plans(workload: Workload, hardware: Hardware, arch: ArchParams, qk_a_onchip: bool) -> list[EinsumPlan]:
    m0 = spatial_factor(workload.M, hardware.pe_1d_count, "M (keys on the 1D array)")
    context = {"B": workload.batch, "H": workload.model.H, "M": workload.M, "P": workload.P, "M1": workload.M // m0,
               "M0": m0, "qk_a_onchip": qk_a_onchip, **arch.context()}
    return [EinsumPlan(name=name, array="1d", arch_template="arch/baseline-1d.yaml.j2",
                       problem_template=f"problems/baseline/{name.lower()}.yaml.j2",
                       mapping_template=f"mappings/softmax/{name.lower()}.yaml.j2", constraints_template=None,
                       context=context, compute_cost=BASELINE_COST[name]) for name in SOFTMAX_EINSUMS]


def _baseline_problem(workload: Workload) -> dict[str, int]:
    model = workload.model
    return {"B": workload.batch, "E": model.E, "F": model.F, "H": model.H, "M": workload.M, "P": workload.P}


def _flat_plan(workload: Workload, hardware: Hardware, arch: ArchParams, dataflow: FlatDataflow | None) -> Plan:
    dataflow = dataflow or flat_dataflow(workload.model.E, workload.M)
    tiling = flat_tiling(workload, hardware, dataflow)
    base = {**_baseline_problem(workload), "P2": tiling.P2, "onchip": sorted(dataflow.onchip), **arch.context()}

    def matmul(name: str, t) -> EinsumPlan:
        return EinsumPlan(name=name, array="2d", arch_template="arch/baseline-2d.yaml.j2",
                          problem_template=f"problems/baseline/{name.lower()}.yaml.j2",
                          mapping_template=f"mappings/flat/{name.lower()}.yaml.j2", constraints_template=None,
                          context={**base, "l3": t.l3, "l3_perm": t.l3_perm, "pe_col": t.pe_col, "pe": t.pe},
                          compute_cost=BASELINE_COST[name])

    qk_a_onchip = "QK" in dataflow.onchip
    softmax = _softmax_plans(workload, hardware, arch, qk_a_onchip)
    einsums = (matmul("QK", tiling.qk), *softmax, matmul("AV", tiling.av))
    spilled = spilled_proportion(dataflow, tiling.P1, workload.M, workload.model.E, workload.model.F,
                                 arch.pe_dim, arch.l3_bytes // hardware.word_bytes)
    params = {"flat_dataflow": {**dataflow.as_dict(), "spilled": spilled}, "p1": tiling.P1, "p2": tiling.P2,
              "qk_a_onchip": qk_a_onchip, "proportion_spilled": spilled,
              # With QK on chip the softmax spills like FLAT's tensors; otherwise the artifact derives it
              # after running QK and AV, from the L3 they leave free.
              "softmax_spilled": spilled if qk_a_onchip else None}
    return Plan(einsums, params)


def _unfused_plan(workload: Workload, hardware: Hardware, arch: ArchParams) -> Plan:
    context = {**_baseline_problem(workload), **arch.context(),
               "P0": spatial_factor(workload.P, hardware.pe_dim, "P (queries)"),
               "M0": spatial_factor(workload.M, hardware.pe_dim, "M (keys)")}
    matmuls = [EinsumPlan(name=name, array="2d", arch_template="arch/fusemax-2d.yaml.j2",
                          problem_template=f"problems/baseline/{name.lower()}.yaml.j2", mapping_template=None,
                          constraints_template=f"mappings/unfused/{name.lower()}.constraints.yaml.j2",
                          context=context, compute_cost=BASELINE_COST[name]) for name in ("QK", "AV")]
    softmax = _softmax_plans(workload, hardware, arch, qk_a_onchip=False)
    row_bytes = workload.M * hardware.word_bytes  # one QK row must fit in L3 or it spills
    params = {"qk_a_onchip": False, "softmax_spilled": 1 - min(1.0, arch.l3_bytes / row_bytes)}
    return Plan((matmuls[0], *softmax, matmuls[1]), params)


def _end2end_plan(workload: Workload, hardware: Hardware, arch: ArchParams) -> Plan:
    model = workload.model
    tokens = workload.batch * workload.P
    shapes = {  # (K, N) of each projection / FFN layer; M = tokens
        "Q": (model.D, model.E * model.H), "K": (model.D, model.E * model.KV), "V": (model.D, model.F * model.KV),
        "Z": (model.F * model.H, model.D), "FFN1": (model.D, model.S), "FFN2": (model.S, model.D),
    }
    m0 = spatial_factor(tokens, hardware.pe_dim, "B x P (tokens)")
    einsums = []
    for name in END2END_EINSUMS:
        k, n = shapes[name]
        context = {"K": k, "M": tokens, "N": n, "M0": m0,
                   "N0": spatial_factor(n, hardware.pe_dim, f"N of {name} ({n})"), **arch.context()}
        einsums.append(EinsumPlan(name=name, array="2d", arch_template="arch/fusemax-2d.yaml.j2",
                                  problem_template="problems/matmul.yaml.j2", mapping_template=None,
                                  constraints_template="mappings/end2end/matmul.constraints.yaml.j2",
                                  context=context, compute_cost={"mac": 1}))
    same = {name: "Q" for name in ("K", "V") if shapes[name] == shapes["Q"]}
    return Plan(tuple(einsums), {"same_as": same})


def plan(config: str, workload: Workload, hardware: Hardware,
         flat_dataflow_override: FlatDataflow | None = None) -> Plan:
    """The Einsums, template variables and derived parameters of ``config`` for ``workload``."""
    if config not in CONFIGS:
        raise WorkloadError(f"unknown configuration {config!r}; use one of {', '.join(CONFIGS)}", source="--config")
    arch = arch_params(config, hardware)
    if config in ("binding", "arch", "cascade"):
        result = _fusemax_plan(config, workload, hardware, arch)
    elif config == "flat":
        result = _flat_plan(workload, hardware, arch, flat_dataflow_override)
    elif config == "unfused":
        result = _unfused_plan(workload, hardware, arch)
    else:
        result = _end2end_plan(workload, hardware, arch)
    common = {"config": config, "model": workload.model.name, "seq_len": format_seq_len(workload.seq_len),
              "phase": workload.phase, "batch": workload.batch, "P": workload.P, "M": workload.M,
              "l3_bytes": arch.l3_bytes, "dram_bandwidth": hardware.dram_bandwidth, "clock_hz": hardware.clock_hz,
              "word_bytes": hardware.word_bytes, "arch": arch.context(),
              "einsums_2d": [e.name for e in result.einsums if e.array == "2d"],
              "einsums_1d": [e.name for e in result.einsums if e.array == "1d"]}
    return Plan(result.einsums, {**common, **result.params})
