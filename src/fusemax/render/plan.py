"""What one configuration renders for one workload: each registry Einsum's templates and their variables.

The configurations, their Einsums, templates and default hardware are in :mod:`fusemax.configs`; the
factors come from :mod:`fusemax.render.tiling`. This module joins them: one :class:`EinsumPlan` per Einsum
(template paths + the Jinja variables) and the derived parameters the experiments read back. It takes the
configuration's record (:class:`~fusemax.configs.Configuration`), resolved from a name at the edge.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping

from fusemax.configs import Configuration, ResolvedHardware, resolve_hardware
from fusemax.errors import WorkloadError
from fusemax.render.flat_dataflow import FlatDataflow, flat_dataflow, softmax_spill, spilled_proportion
from fusemax.render.tiling import Spread, cascade_tiling, flat_tiling, spatial_factor, spread
from fusemax.workload import Hardware, Workload, format_seq_len, mask_label


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
    """All Einsums of one configuration, its resolved hardware and the derived parameters."""

    einsums: tuple[EinsumPlan, ...]
    hardware: ResolvedHardware
    params: dict[str, Any] = field(default_factory=dict)
    #: FLAT's dataflow with its spilled proportion (``flat`` only)
    flat_dataflow: FlatDataflow | None = None


def _plans(conf: Configuration, contexts: Mapping[str, Mapping[str, Any]]) -> tuple[EinsumPlan, ...]:
    return tuple(EinsumPlan(e.name, e.array, e.arch, e.problem, e.mapping, e.constraints, contexts[e.name], e.cost)
                 for e in conf.einsums)


def _spread_context(B: int, H: int, KV: int, x: Spread, y: Spread) -> dict[str, int]:
    """Template variables of the (batch, head) spreads over an array's two axes (``y`` is empty on the 1D
    array) and what they leave at DRAM: BD, HD (query heads) and KVD (K/V heads, the H rank of QK/SLNV)."""
    return {"Bx": x.b, "Hx": x.h, "Gx": x.g, "KVx": x.kv, "Fx": x.f, "By": y.b, "Hy": y.h, "Gy": y.g, "KVy": y.kv,
            "BD": B // (x.b * y.b), "HD": H // (x.h * y.h), "KVD": KV // (x.kv * y.kv), "GD": H // KV // (x.g * y.g)}


def _fusemax(conf: Configuration, workload: Workload, hw: ResolvedHardware) -> tuple[dict, dict]:
    tiling = cascade_tiling(workload, hw, cascade_buffers=conf.cascade_buffers)
    model, B = workload.model, workload.batch
    base = {"B": B, "E": model.E, "F": model.F, "H": model.H, "M1": tiling.M1, "N": tiling.N,
            "P": workload.P, "P2": tiling.P2, "G": tiling.G, "G0": tiling.G0, "G1": tiling.G1, **hw.context()}
    spatial = {"2d": {"P1": tiling.P1, "P0": tiling.P0, **_spread_context(B, model.H, model.KV, tiling.x, tiling.y)},
               "1d": {"P1": tiling.P1_1d, "P0": tiling.P0_1d,
                      **_spread_context(B, model.H, model.KV, tiling.x_1d, Spread())}}
    contexts = {e.name: {**base, **spatial[e.array]} for e in conf.einsums}
    params = {"p0": tiling.P0, "p1": tiling.P1, "p2": tiling.P2, "m1": tiling.M1, "n": tiling.N,
              "p0_1d": tiling.P0_1d, "p1_1d": tiling.P1_1d, "bytes_per_query": tiling.bytes_per_query,
              "tiles_that_fit": tiling.tiles_that_fit, "g": tiling.G, "g0": tiling.G0, "g1": tiling.G1,
              "spread": {axis: asdict(getattr(tiling, axis)) for axis in ("x", "y", "x_1d")}}
    return contexts, params


def _baseline_problem(workload: Workload) -> dict[str, int]:
    model = workload.model
    # G query heads share one K/V head (grouped-query attention): QK and AV index K and V by KV head
    return {"B": workload.batch, "E": model.E, "F": model.F, "G": model.H // model.KV, "H": model.H,
            "M": workload.M, "P": workload.P}


def _softmax_context(workload: Workload, hw: ResolvedHardware, qk_a_onchip: bool) -> dict[str, Any]:
    m0 = spatial_factor(workload.M, hw.pe_1d, "M (keys on the 1D array)")
    return {"B": workload.batch, "H": workload.model.H, "M": workload.M, "P": workload.P, "M1": workload.M // m0,
            "M0": m0, "qk_a_onchip": qk_a_onchip, **hw.context()}


def _flat(conf: Configuration, workload: Workload, hw: ResolvedHardware,
          dataflow: FlatDataflow | None) -> tuple[dict, dict, FlatDataflow]:
    dataflow = dataflow or flat_dataflow(workload.model.E, workload.M)
    tiling = flat_tiling(workload, hw.pe_dim, dataflow)
    base = {**_baseline_problem(workload), "P2": tiling.P2, "G1": tiling.G1, "onchip": sorted(dataflow.onchip),
            **hw.context()}
    qk_a_onchip = "QK" in dataflow.onchip
    softmax = _softmax_context(workload, hw, qk_a_onchip)
    contexts: dict[str, Any] = {e.name: softmax for e in conf.einsums if e.group == "softmax"}
    for name, t in (("QK", tiling.qk), ("AV", tiling.av)):
        contexts[name] = {**base, "l3": t.l3, "l3_perm": t.l3_perm, "pe_col": t.pe_col, "pe": t.pe}
    spilled = spilled_proportion(dataflow, tiling.rows, workload.M, workload.model.E, workload.model.F,
                                 hw.pe_dim, hw.l3_words)
    params = {"flat_dataflow": {**dataflow.as_dict(), "spilled": spilled}, "p1": tiling.P1, "p2": tiling.P2,
              "qk_a_onchip": qk_a_onchip, "proportion_spilled": spilled,
              # With QK on chip the softmax spills like FLAT's tensors; otherwise the artifact derives it
              # after running QK and AV, from the L3 they leave free.
              "softmax_spilled": spilled if qk_a_onchip else None}
    return contexts, params, replace(dataflow, spilled=spilled)


def _unfused(conf: Configuration, workload: Workload, hw: ResolvedHardware) -> tuple[dict, dict]:
    model, B = workload.model, workload.batch
    p0 = spatial_factor(workload.P, hw.pe_dim, "P (queries)")
    m0 = spatial_factor(workload.M, hw.pe_dim, "M (keys)")
    # (batch, head) pairs on the PEs the queries and keys leave idle, as FuseMax's tiling does
    x = spread(B, model.H // model.KV, model.KV, hw.pe_dim // p0)
    y = spread(B // x.b, model.H // model.KV // x.g, model.KV // x.kv, hw.pe_dim // m0)
    matmul = {**_baseline_problem(workload), **hw.context(), "P0": p0, "M0": m0,
              **_spread_context(B, model.H, model.KV, x, y)}
    softmax = _softmax_context(workload, hw, qk_a_onchip=False)
    contexts = {e.name: softmax if e.group == "softmax" else matmul for e in conf.einsums}
    # one QK row must fit in L3 or it spills
    return contexts, {"qk_a_onchip": False, "softmax_spilled": softmax_spill(hw.l3_bytes, workload.M, hw.word_bytes)}


def matmul_shapes(workload: Workload) -> dict[str, tuple[int, int]]:
    """(K, N) of each of the layer's matrix multiplies; M = tokens (batch x queries)."""
    model = workload.model
    ffn1 = 2 * model.S if model.mlp == "gated" else model.S  # gate and up as one multiply
    return {"Q": (model.D, model.E * model.H), "K": (model.D, model.E * model.KV), "V": (model.D, model.F * model.KV),
            "Z": (model.F * model.H, model.D), "FFN1": (model.D, ffn1), "FFN2": (model.S, model.D)}


def _matmul_context(name: str, tokens: int, k: int, n: int, hw: ResolvedHardware) -> dict[str, Any]:
    """Template variables of one (tokens x K) x (K x N) multiply: tokens over the PE columns, N over the rows."""
    return {"K": k, "M": tokens, "N": n, "M0": spatial_factor(tokens, hw.pe_dim, "B x P (tokens)"),
            "N0": spatial_factor(n, hw.pe_dim, f"N of {name} ({n})"), **hw.context()}


def _matmul(conf: Configuration, workload: Workload, hw: ResolvedHardware) -> tuple[dict, dict]:
    tokens = workload.batch * workload.P
    shapes = matmul_shapes(workload)
    contexts = {e.name: _matmul_context(e.name, tokens, *shapes[e.name], hw) for e in conf.einsums if e.name in shapes}
    same = {name: "Q" for name in ("K", "V") if shapes[name] == shapes["Q"]}
    return contexts, {"same_as": same}


def _lm_head(conf: Configuration, workload: Workload, hw: ResolvedHardware) -> tuple[dict, dict]:
    """The LM head: one token per sequence (the prompt's last in prefill, the new one in decode), so B
    tokens whatever the phase, times the D x vocab output embedding."""
    model = workload.model
    if model.vocab is None:
        raise WorkloadError("the LM head needs the model's vocabulary (vocab: N in its entry, vocab=N inline)",
                            source=model.name)
    return {e.name: _matmul_context(e.name, workload.batch, model.D, model.vocab, hw) for e in conf.einsums}, {}


def _layer(conf: Configuration, workload: Workload, hw: ResolvedHardware) -> tuple[dict, dict]:
    contexts, params = _matmul(conf, workload, hw)
    tokens = workload.batch * workload.P
    features = {"NORM": workload.model.D, "RES": workload.model.D, "ACT": workload.model.S, "GLU": workload.model.S}
    fused = conf.schedule == "fused"
    # A fused norm needs its rows' statistics before it normalizes. Its row block (the M0 tokens the 2D
    # array holds at once x D features) is on chip when it takes at most half the L3 (the other half holds
    # the multiply's weight and output tiles); otherwise the norm reads its input from DRAM once more.
    m0 = contexts["Q"]["M0"]
    rows_onchip = 2 * m0 * workload.model.D * hw.word_bytes <= hw.l3_bytes
    for e in conf.einsums:
        if e.name in contexts:
            continue
        kind = e.name.rstrip("12")
        d = features[kind]
        d0 = spatial_factor(d, hw.pe_1d, f"D of {e.name} ({d})")
        dram = set(e.dram or ())
        if fused and kind == "NORM" and rows_onchip:
            dram.discard("X")  # no statistics pass: the row block is on chip
        # a residual add and the GLU read two operands (X and R: the skip input, or the gate and up halves)
        contexts[e.name] = {"T": tokens, "D": d, "D1": d // d0, "D0": d0, "residual": kind in ("RES", "GLU"),
                            "dram": sorted(dram), **hw.context()}
    if fused:
        # the fused pipeline's stages work on one row block of M0 tokens at a time (combine's "fused" schedule)
        params.update(row_blocks=tokens // m0, norm_rows_onchip=rows_onchip)
    return contexts, params


def plan(conf: Configuration, workload: Workload, hardware: Hardware | ResolvedHardware,
         flat_dataflow_override: FlatDataflow | None = None) -> Plan:
    """The Einsums, template variables and derived parameters of ``conf`` for ``workload`` (on ``hardware``
    as given, or as the resolve stage resolved it for ``conf``)."""
    if isinstance(hardware, ResolvedHardware):
        if hardware.config != conf:
            raise WorkloadError(f"hardware resolved for {hardware.config.name}, not {conf.name}", source="render")
        hw = hardware
    else:
        hw = resolve_hardware(conf, hardware)
    chosen = None
    if conf.tiling == "fusemax":
        contexts, params = _fusemax(conf, workload, hw)
    elif conf.tiling == "flat":
        contexts, params, chosen = _flat(conf, workload, hw, flat_dataflow_override)
    elif conf.tiling == "unfused":
        contexts, params = _unfused(conf, workload, hw)
    elif conf.tiling == "layer":
        contexts, params = _layer(conf, workload, hw)
    elif conf.tiling == "lm-head":
        contexts, params = _lm_head(conf, workload, hw)
    else:
        contexts, params = _matmul(conf, workload, hw)
    common = {"config": conf.name, "model": workload.model.name, "seq_len": format_seq_len(workload.seq_len),
              "phase": workload.phase, "batch": workload.batch, "mask": mask_label(workload.model),
              "P": workload.P, "M": workload.M,
              "l3_bytes": hw.l3_bytes, "dram_bandwidth": hw.dram_bandwidth, "clock_hz": hw.clock_hz,
              "word_bytes": hw.word_bytes, "arch": hw.context()}
    return Plan(_plans(conf, contexts), hw, {**common, **params}, chosen)
