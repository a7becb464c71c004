"""The whole model (model.csv): TTFT and TPOT against hand computations from Llama-3-8B's published dimensions
(32 layers, D 4096, 32 heads of 128, 8 KV heads, SwiGLU MLP of 14336, vocabulary 128256) and the hardware's
DRAM bandwidth; physical bounds from the weights every token must stream."""
from __future__ import annotations

import math

import pytest

from fusemax.cli import main
from fusemax.experiments.layer import run_layers
from fusemax.experiments.sweep import Point, run_points
from fusemax.experiments.wholemodel import format_model_summary, head_workload, lm_heads, run_model
from fusemax.results import load
from fusemax.workload import Hardware, get_model

HW = Hardware()
BW = 400 * 2**30           # B/s, the default DRAM bandwidth
WORD = 2                   # bytes
LAYERS, D, H, KV, E, S, VOCAB = 32, 4096, 32, 8, 128, 14336, 128256
#: one layer's weights by hand: Q and O (D x H E), K and V (D x KV E), gate, up and down (D x S)
LAYER_WEIGHT_BYTES = (2 * D * H * E + 2 * D * KV * E + 3 * D * S) * WORD
HEAD_BYTES = VOCAB * D * WORD
CONFIGS = ("binding", "flat", "unfused")
BATCHES = (1, 16)
N = 4096


@pytest.fixture(scope="module")
def whole():
    pts = [Point(c, "Llama-3-8B", N, phase, b) for c in CONFIGS for phase in ("prefill", "decode") for b in BATCHES]
    run = run_points(pts, HW, jobs=1)
    assert all(o.error is None for o in run.outcomes), [o.error for o in run.outcomes]
    layer, _ = run_layers([(o.point.config, o.workload, o.result) for o in run.outcomes], HW)
    rows, left_out = run_model(layer, {"Llama-3-8B": get_model("Llama-3-8B")}, HW)
    assert left_out == []
    return {(r.config, r.batch): r for r in rows}, {(r.config, r.phase, r.batch): r for r in layer}


def test_the_weights_counted_by_hand():
    assert LAYER_WEIGHT_BYTES == 436_207_616 and HEAD_BYTES == 1_050_673_152  # 218.1 M and 525.3 M parameters


@pytest.mark.parametrize("batch", BATCHES)
def test_lm_head_is_one_weight_stream(batch):
    # (B x 4096) x (4096 x 128256): 2 B D vocab FLOPs; memory-bound at B <= 16, so its time is its weights
    # over the bandwidth (B x D x vocab / 256^2 MACs per cycle is 0.14 ms at B 16, against 2.45 ms).
    head = lm_heads({("proposal", get_model("Llama-3-8B"), batch)}, HW)[("proposal", "Llama-3-8B", batch)]
    assert sum(e.flops for e in head.einsums) == 2 * batch * D * VOCAB
    assert HEAD_BYTES <= head.traffic <= HEAD_BYTES + 2 * batch * (D + VOCAB) * WORD
    assert HEAD_BYTES / BW <= head.latency <= 1.01 * HEAD_BYTES / BW
    assert head_workload(get_model("Llama-3-8B"), batch).P == 1


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("batch", BATCHES)
def test_ttft_and_tpot_are_layers_times_the_layer_plus_the_head(whole, config, batch):
    rows, layer = whole
    row = rows[(config, batch)]
    assert (row.layers, row.vocab, row.seq_len) == (LAYERS, VOCAB, "4K")
    assert HEAD_BYTES / BW <= row.lm_head_latency <= 1.01 * HEAD_BYTES / BW
    prefill, decode = layer[(config, "prefill", batch)], layer[(config, "decode", batch)]
    assert row.ttft == pytest.approx(LAYERS * prefill.latency + row.lm_head_latency, rel=1e-12)
    assert row.tpot == pytest.approx(LAYERS * decode.latency + row.lm_head_latency, rel=1e-12)
    assert row.tokens_per_s == pytest.approx(batch / row.tpot)
    assert row.energy_per_token == pytest.approx((LAYERS * decode.energy + row.lm_head_energy) / batch)
    assert row.prefill_energy == pytest.approx(LAYERS * prefill.energy + row.lm_head_energy)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("batch", BATCHES)
def test_both_are_physically_possible(whole, config, batch):
    rows, _ = whole
    row = rows[(config, batch)]
    weights = (LAYERS * LAYER_WEIGHT_BYTES + HEAD_BYTES) / BW      # 35.0 ms: every weight crosses DRAM once
    assert row.ttft >= weights and row.tpot >= weights
    # prefill also does the work: 2 x tokens x weights' parameters FLOPs at 2 x 256^2 x 940e6 FLOP/s at best
    flops = 2 * batch * N * LAYERS * LAYER_WEIGHT_BYTES / WORD
    assert row.ttft >= flops / (2 * 256**2 * 940e6)


@pytest.mark.parametrize("config", ["binding", "flat"])
@pytest.mark.parametrize("batch", BATCHES)
def test_decode_is_memory_bound_within_five_percent_of_weights_and_kv_cache(whole, config, batch):
    # one step streams every weight, the LM head's and the KV cache (K and V: 8 heads x 128 x 4K per sequence)
    rows, _ = whole
    kv_cache = LAYERS * batch * 2 * KV * E * N * WORD
    bound = (LAYERS * LAYER_WEIGHT_BYTES + HEAD_BYTES + kv_cache) / BW   # 36.2 ms at B 1, 55.0 ms at 16
    assert bound <= rows[(config, batch)].tpot <= 1.05 * bound


def test_summary_names_each_configuration(whole):
    rows, _ = whole
    text = format_model_summary(list(rows.values()))
    assert "batch 1" in text and "binding TTFT" in text and "Llama-3-8B" in text
    ours, flat = rows[("binding", 1)], rows[("flat", 1)]
    assert f"{flat.ttft / ours.ttft:.2f}x" in text


def test_fusemax_run_writes_model_csv_and_merges_the_phases(tmp_path, capsys):
    args = ["run", "--out", str(tmp_path), "--configs", "binding", "--models", "Pythia-14M,tiny:D=128,H=4,E=32,S=512",
            "--seq-lens", "256", "--batch", "1", "--layer"]
    assert main([*args, "--phase", "prefill"]) == 0
    assert "model.csv leaves out tiny: no layers/vocab" in capsys.readouterr().err
    first = load(tmp_path).model
    assert list(first["model"]) == ["Pythia-14M"]   # tiny is left out, with the note
    assert math.isfinite(first["ttft"].iloc[0]) and math.isnan(first["tpot"].iloc[0])
    assert main([*args, "--phase", "decode", "--quiet"]) == 0
    both = load(tmp_path).model
    assert len(both) == 1 and both["ttft"].iloc[0] == first["ttft"].iloc[0]     # the prefill run's, kept
    assert math.isfinite(both["tpot"].iloc[0])
    layer = load(tmp_path).layer.set_index("phase")
    assert both["tpot"].iloc[0] == pytest.approx(6 * layer.loc["decode", "latency"] + both["lm_head_latency"].iloc[0])


def test_lm_head_of_a_model_without_vocab_is_one_clear_error(tmp_path, capsys):
    assert main(["render", "--config", "lm-head", "--model", "tiny:D=128,H=4,E=32,S=512", "--seq-len", "1",
                 "--batch", "1", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "tiny" in err and "vocab" in err
