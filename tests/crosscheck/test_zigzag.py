"""fusemax's engine against ZigZag-DSE on the transformer layer's matrix multiplies (issue 14's cross-check).

Each case takes the same hardware (the default FuseMax 2D array: 256x256 PEs, 16 MiB L3, 16-bit words)
and the same mapping -- the one fusemax's mapper finds for the layer Einsum, or a hand-written one -- and
asks both models for compute cycles and DRAM traffic, which must agree within 1 %. The quantities and the
conventions behind them are listed in :mod:`fusemax.crosscheck.zigzag`.
"""
from __future__ import annotations

import pytest

pytest.importorskip("zigzag", reason="ZigZag-DSE (pip install zigzag-dse six) is a test dependency of this cross-check")

from fusemax.crosscheck.zigzag import Measures, ZigZagMeasures, fusemax_measures, zigzag_measures
from fusemax.engine import spec_from_texts
from fusemax.engine.model import Spec
from fusemax.mapper.files import search_texts
from fusemax.render import render
from fusemax.workload import Workload, get_model

TOLERANCE = 0.01

#: (model, seq_len, phase, batch, Einsum): prefill GEMMs (M = 256 tokens), decode GEMVs (M = 1) and
#: batched decode (M = 64 tokens) of the projections and the MLP.
MAPPED = [
    ("BERT", 256, "prefill", 1, "Q"),
    ("BERT", 256, "prefill", 1, "FFN1"),
    ("BERT", 256, "prefill", 1, "FFN2"),
    ("BERT", 256, "decode", 1, "Q"),
    ("BERT", 256, "decode", 1, "FFN2"),
    ("Llama-2-7B", 256, "decode", 64, "Q"),
    ("Llama-2-7B", 256, "decode", 64, "FFN1"),
    ("OPT-66B", 256, "decode", 1, "FFN1"),
]


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1)


def _assert_agree(ours: Measures, theirs: ZigZagMeasures) -> None:
    diffs = {
        "compute cycles": (ours.cycles, theirs.cycles),
        "cycles with stalls": (ours.cycles, theirs.cycles_with_stalls),
        **{f"DRAM reads of {t}": (ours.dram_reads[t], theirs.dram_reads[t]) for t in ours.dram_reads},
        **{f"DRAM writes of {t}": (ours.dram_writes[t], theirs.dram_writes[t]) for t in ours.dram_writes},
    }
    off = {what: (a, b, f"{_rel(a, b):.2%}") for what, (a, b) in diffs.items() if _rel(a, b) > TOLERANCE}
    assert not off, f"fusemax vs ZigZag differ by more than {TOLERANCE:.0%}: {off}"


def _spatial(spec: Spec) -> dict[str, dict[str, float]]:
    """The spatial unrolling of ``spec`` as ZigZag names it (meshX -> D1, meshY -> D2), non-unit loops only."""
    out: dict[str, dict[str, float]] = {}
    for lm in spec.mapping.levels:
        for loop in lm.spatial:
            if loop.bound > 1:
                out.setdefault({"X": "D1", "Y": "D2"}[loop.spatial or "X"], {})[loop.rank] = loop.bound
    return out


@pytest.mark.parametrize(("model", "seq_len", "phase", "batch", "einsum"), MAPPED,
                         ids=[f"{m}-{s}-{p}-b{b}-{e}" for m, s, p, b, e in MAPPED])
def test_mapper_mapping_agrees_with_zigzag(model: str, seq_len: int, phase: str, batch: int, einsum: str) -> None:
    rendered = render("end2end", Workload(get_model(model), seq_len, phase, batch=batch)).einsums[einsum]
    spec = search_texts(rendered.files()).spec
    theirs = zigzag_measures(spec)
    # ZigZag may shrink a spatial unrolling it finds illegal; the comparison holds only if it kept ours.
    assert {d: u for d, u in theirs.spatial_mapping.items() if any(f > 1 for f in u.values())} == _spatial(spec)
    _assert_agree(fusemax_measures(spec), theirs)


def _split_reduction_spec(k_dram: int, *, reduction_outermost: bool) -> Spec:
    """OPT-66B's decode FFN2 (K = 36864, M = 1, N = 9216), whose weights tile cannot hold the whole K in the
    L3: a hand-written mapping splits K into ``k_dram`` DRAM tiles, so the output's partial sums go back to
    DRAM between them when the K loop is outside the N loop."""
    rendered = render("end2end", Workload(get_model("OPT-66B"), 256, "decode", batch=1)).einsums["FFN2"]
    k, n = 36864, 9216
    dram_order = "[M, N, K]" if reduction_outermost else "[K, M, N]"
    mapping = f"""
mapping:
- {{target: DRAM, type: temporal, factors: [K={k_dram}, M=1, N={n // 256}], permutation: {dram_order}}}
- {{target: DRAM, type: dataspace, keep: [A, B, Z], bypass: []}}
- {{target: L3, type: temporal, factors: [K={k // k_dram}, M=1, N=1], permutation: [K, M, N]}}
- {{target: L3, type: dataspace, keep: [A, B], bypass: [Z]}}
- {{target: reg_file_1d, type: temporal, factors: [K=1, M=1, N=1], permutation: [K, M, N]}}
- {{target: reg_file_1d, type: dataspace, keep: [], bypass: [A, B, Z]}}
- {{target: PE_col, type: spatial, factors: [K=1, M=1, N=1], permutation: [K, M, N], split: 3}}
- {{target: PE, type: spatial, factors: [K=1, M=1, N=256], permutation: [K, M, N], split: 0}}
- {{target: reg_file, type: temporal, factors: [K=1, M=1, N=1], permutation: [K, M, N]}}
- {{target: reg_file, type: dataspace, keep: [A, B, Z], bypass: []}}
"""
    return spec_from_texts({"arch.yaml": rendered.arch_yaml, "problem.yaml": rendered.problem_yaml,
                            "mapping.yaml": mapping})


@pytest.mark.parametrize("reduction_outermost", [True, False], ids=["psums-to-dram", "psums-on-chip"])
def test_split_reduction_agrees_with_zigzag(reduction_outermost: bool) -> None:
    spec = _split_reduction_spec(4, reduction_outermost=reduction_outermost)
    theirs = zigzag_measures(spec)
    # The case is only a test of the partial-sum convention if ZigZag itself sees read-backs (or none).
    assert (theirs.dram_reads["Z"] > 0) == reduction_outermost
    _assert_agree(fusemax_measures(spec), theirs)
