"""The whole layer (attention + the rest on the configuration's platform) against physical bounds that come
from the model's dimensions alone: the weights (and in decode the KV cache) must cross the DRAM interface,
the multiply-accumulates must pass through the 2D array, the FLOPs are at least two per MAC."""
from __future__ import annotations

import pytest

from fusemax.cli import main
from fusemax.experiments.layer import run_layers
from fusemax.experiments.sweep import Point, run_points
from fusemax.results import load
from fusemax.workload import Hardware, get_model

HW = Hardware()
WORD = 2


def bounds(model_name: str, seq_len: int, phase: str, batch: int) -> dict[str, float]:
    m = get_model(model_name)
    queries = seq_len if phase == "prefill" else 1
    tokens = batch * queries
    mlp = 3 if m.mlp == "gated" else 2  # gate, up and down, or FFN1 and FFN2
    weights = m.D * m.E * m.H + 2 * m.D * m.E * m.KV + m.F * m.H * m.D + mlp * m.D * m.S
    # query-key pairs: a causal prefill's query q sees q + 1 keys (the zoo's decoder models are causal)
    pairs = seq_len * (seq_len + 1) // 2 if (phase == "prefill" and m.mask == "causal") else seq_len * queries
    attention_macs = batch * m.H * (m.E + m.F) * pairs
    macs = tokens * weights + attention_macs
    dram = weights * WORD + (2 * batch * m.KV * seq_len * m.E * WORD if phase == "decode" else 0)
    return {"dram": dram, "macs": macs}


CASES = [("Pythia-14M", 256, "prefill"), ("Pythia-14M", 2048, "decode"), ("BERT", 256, "decode"),
         ("BERT", 2048, "prefill"), ("OPT-66B", 256, "decode"), ("Llama-3-8B", 256, "prefill"),
         ("Llama-3-8B", 4096, "decode")]


@pytest.fixture(scope="module")
def layers():
    rows = {}
    for model, n, phase in CASES:
        run = run_points([Point(c, model, n, phase) for c in ("binding", "flat", "unfused")], HW, jobs=1)
        assert all(o.error is None for o in run.outcomes), [o.error for o in run.outcomes]
        got, _ = run_layers([(o.point.config, o.workload, o.result) for o in run.outcomes], HW)
        rows.update({(r.config, model, n, phase): r for r in got})
    return rows


@pytest.mark.parametrize("model, n, phase", CASES)
@pytest.mark.parametrize("config", ["binding", "flat", "unfused"])
def test_every_layer_row_is_physically_possible(layers, config, model, n, phase):
    row = layers[(config, model, n, phase)]
    b = bounds(model, n, phase, row.batch)
    assert row.traffic >= b["dram"]
    assert row.latency >= b["dram"] / HW.dram_bandwidth
    assert row.latency >= b["macs"] / (HW.pe_dim ** 2 * HW.clock_hz)
    assert row.flops >= 2 * b["macs"]
    assert 0 < row.attention_latency_share < 1 and 0 < row.attention_flops_share < 1


def test_decode_streams_the_weights_once_per_step(layers):
    # One new token per sequence: every weight is read from DRAM, and the KV cache on top for attention.
    row = layers[("binding", "OPT-66B", 256, "decode")]
    b = bounds("OPT-66B", 256, "decode", row.batch)
    assert b["dram"] <= row.traffic < 1.1 * b["dram"]


def test_fusemax_run_writes_the_layer(tmp_path):
    assert main(["run", "--out", str(tmp_path), "--configs", "binding,flat", "--models", "Pythia-14M",
                 "--seq-lens", "256", "--layer", "--quiet"]) == 0
    res = load(tmp_path)
    assert list(res.layer["config"]) == ["binding", "flat"]
    groups = set(res.einsums["group"])
    assert {"projection", "mlp", "elementwise"} <= groups
    # the rest of the layer is reported under each configuration's platform
    assert set(res.einsums.loc[res.einsums["group"] == "mlp", "config"]) == {"proposal", "flat"}


def test_gated_mlp_is_gate_and_up_then_silu_then_down(tmp_path):
    # Llama-3-8B, batch 1, 256 tokens: FFN1 is gate and up as one multiply, 2 x 256 x 4096 x (2 x 14336)
    # FLOPs, reading 4096 x 28672 weights; the GLU on its own (not fused) reads both halves and writes one:
    # 3 x 256 x 14336 words.
    assert main(["run", "--out", str(tmp_path), "--configs", "binding", "--layer", "--models", "Llama-3-8B",
                 "--seq-lens", "256", "--batch", "1", "--quiet", "--layer-fusion", "none"]) == 0
    e = load(tmp_path).einsums.set_index(["config", "einsum"])
    T, D, S = 256, 4096, 14336
    assert e.loc[("proposal", "FFN1"), "flops"] == 2 * T * D * 2 * S
    assert e.loc[("proposal", "FFN1"), "read_bytes"] >= D * 2 * S * WORD
    assert e.loc[("proposal", "GLU"), "traffic"] == 3 * T * S * WORD
    assert e.loc[("proposal", "FFN2"), "flops"] == 2 * T * S * D
    assert ("proposal", "ACT") not in e.index
