"""Attention masks: causal and sliding-window prefill as dense rectangles, windowed decode.

Every expected number here is derived by hand from the model's dimensions and the mask, not from the code:
the query-key pairs a mask leaves, the algorithmic FLOPs of the Einsums over those pairs, and the physical
bound max(compulsory DRAM bytes / bandwidth, masked MACs / (PE^2 x clock)).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import fusemax.render.mask as mask_module
from fusemax import yamlio
from fusemax.errors import WorkloadError
from fusemax.experiments.sweep import Point, evaluate_point
from fusemax.render.mask import Piece, pieces
from fusemax.workload import Workload, get_model, parse_mask

BANDWIDTH, CLOCK, PES = 400 * 2**30, 940e6, 256 * 256
MODELS = {"BERT": (12, 12, 64), "Llama-3-8B": (32, 8, 128), "Mistral-7B": (32, 8, 128), "Falcon-7B": (71, 1, 64)}


def hand_pairs(model: str, n: int, phase: str, mask: str | None = None) -> int:
    """Query-key pairs per sequence and head, counted one query at a time."""
    kind = mask or {"BERT": "none", "Mistral-7B": "window:4096"}.get(model, "causal")
    window = int(kind.split(":")[1]) if kind.startswith("window") else None
    if phase == "decode":
        return min(n, window) if window else n
    if kind == "none":
        return n * n
    return sum(min(q + 1, window or q + 1) for q in range(n))


def hand_bound(model: str, n: int, phase: str, batch: int, mask: str | None = None) -> float:
    heads, kv, e = MODELS[model]
    queries = n if phase == "prefill" else 1
    keys = min(n, 4096) if (model == "Mistral-7B" and phase == "decode" and mask is None) else n
    compulsory = 2 * batch * (2 * heads * queries * e + 2 * kv * keys * e)   # Q, O; K, V once per KV head
    macs = batch * heads * hand_pairs(model, n, phase, mask) * 2 * e          # QK and AV
    return max(compulsory / BANDWIDTH, macs / (PES * CLOCK))


def test_mask_spellings():
    assert parse_mask("none") == ("none", None)
    assert parse_mask("causal") == ("causal", None)
    assert parse_mask("window:4096") == ("window", 4096)
    for bad in ("window", "window:0", "window:x", "diagonal", "causal:3"):
        with pytest.raises(WorkloadError, match="none, causal or window:N"):
            parse_mask(bad)


def test_zoo_masks():
    assert get_model("BERT").mask == "none"
    assert get_model("Llama-3-8B").mask == "causal"
    assert (get_model("Mistral-7B").mask, get_model("Mistral-7B").window) == ("window", 4096)
    for paper in ("BERT", "TrXL", "T5", "XLM"):   # the artifact's definition: the paper's rows stay as published
        assert get_model(paper).mask == "none"


def test_causal_rectangles_by_hand():
    # 1000 tokens in blocks of 256: block i reads keys up to its last query, rounded up to a block
    w = Workload(get_model("Llama-3-8B"), 1000)
    assert pieces(w, 256) == (Piece(256, 256, 1), Piece(256, 512, 1), Piece(256, 768, 1), Piece(232, 1000, 1))
    # every pair a query sees is inside its rectangle; partly masked blocks are computed in full
    assert sum(p.queries * p.keys * p.count for p in pieces(w, 256)) >= 1000 * 1001 // 2


def test_window_rectangles_by_hand():
    # window 512 at 2048 tokens: block 0 reads 1 block, block 1 two, then every block three (the key
    # block holding its first query's oldest key, through its own)
    w = Workload(replace(get_model("Mistral-7B"), window=512), 2048)
    assert pieces(w, 256) == (Piece(256, 256, 1), Piece(256, 512, 1), Piece(256, 768, 6))


def test_decode_under_a_window_reads_only_the_window():
    w = Workload(get_model("Mistral-7B"), 32768, "decode")
    assert (w.P, w.M) == (1, 4096)
    assert Workload(get_model("Llama-3-8B"), 32768, "decode").M == 32768


LENGTHS = (1, 256, 1000, 4096, 32768)


@pytest.mark.parametrize("config, lengths", [("binding", (*LENGTHS, 131072)), ("flat", LENGTHS), ("unfused", LENGTHS)])
def test_flops_latency_bound_on_the_grid(config, lengths):
    """For BERT (none), Llama-3-8B (causal), Mistral-7B (window 4,096), Falcon-7B (MQA, causal):
    FLOPs of the pair Einsums equal the hand count; latency >= the bound; binding within 1.5x from 4K up
    (FLAT and unfused at 128K: benchmarks/bench_mask.py, a few seconds a point)."""
    grid = [(model, n, phase, batch) for model in MODELS for n in lengths for phase in ("prefill", "decode")
            for batch in (1, 16)]
    for model, n, phase, batch in grid:
        outcome = evaluate_point(Point(config, model, n, phase, batch), with_energy=False)
        assert outcome.error is None, outcome.error
        r, (heads, _, e) = outcome.result, MODELS[model]
        einsums = {x.einsum: x for x in r.einsums}
        pairs = batch * heads * hand_pairs(model, n, phase)
        where = f"{config} {model} {n} {phase} batch {batch}"
        assert einsums["QK"].flops == 2 * e * pairs, where
        value = "SLNV" if config == "binding" else "AV"
        assert einsums[value].flops == 2 * e * pairs, where
        assert einsums["SLN" if config == "binding" else "SN"].flops == 2 * pairs, where
        bound = hand_bound(model, n, phase, batch)
        assert r.latency >= bound * (1 - 1e-9), where
        assert sum(x.ops for x in r.einsums) >= sum(x.flops for x in r.einsums if x.einsum in ("QK", value)), where
        if config == "binding" and n >= 4096:
            assert r.latency <= 1.5 * bound, (where, r.latency / bound)


@pytest.mark.parametrize("n", [4096, 32768])
def test_causal_prefill_about_halves_binding(n):
    causal = evaluate_point(Point("binding", "Llama-3-8B", n, "prefill", 1), with_energy=False).result
    dense = evaluate_point(Point("binding", "Llama-3-8B", n, "prefill", 1, "none"), with_energy=False).result
    assert 0.5 <= causal.latency / dense.latency <= 0.6


@pytest.mark.parametrize("config, model, n", [(c, "Llama-3-8B", 6144) for c in ("binding", "arch", "cascade", "flat",
                                                                                  "unfused")]
                         + [("flat", "Falcon-7B", 4096), ("unfused", "Pythia-14M", 4096), ("binding", "OPT-66B", 2048)])
def test_affine_rectangles_equal_the_plain_sum(config, model, n, monkeypatch):
    """Beyond EXACT_UP_TO rectangles, the whole-block ones are priced from the two at the ends of their
    range; that equals evaluating every one (6K tokens: 24 rectangles; FLAT's search and unfused's mapper
    choose each rectangle's mapping, and still the sum is affine)."""
    point = Point(config, model, n, "prefill", 1)
    derived = evaluate_point(point).result
    assert (derived.params["rectangles"], derived.params["rectangles_evaluated"]) == (n // 256, 3)  # 1, the ends
    monkeypatch.setattr(mask_module, "EXACT_UP_TO", 10**9)
    plain = evaluate_point(point).result
    for attr in ("latency", "traffic", "energy", "mem_latency", "comp_latency"):
        assert math.isclose(getattr(derived, attr), getattr(plain, attr), rel_tol=1e-12), attr
    for a, b in zip(derived.einsums, plain.einsums):
        assert (a.einsum, a.computes, a.cycles, a.flops, a.ops) == (b.einsum, b.computes, b.cycles, b.flops, b.ops)


def test_rendered_rectangles_run_one_by_one_sum_to_the_point(tmp_path):
    """`fusemax render --mask causal` writes one folder of specs per rectangle; `fusemax model` on each
    Einsum's spec, times the rectangle's count, sums to the point's computes and cycles."""
    def cli(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "fusemax", *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    cli("render", "--config", "binding", "--model", "BERT", "--seq-len", "1K", "--batch", "2", "--mask", "causal",
        "-o", str(tmp_path / "specs"))
    listing = yamlio.load(tmp_path / "specs" / "rectangles.yaml")
    assert [(r["queries"], r["keys"], r["count"]) for r in listing["rectangles"]] == [
        (256, 256, 1), (256, 512, 1), (256, 768, 1), (256, 1024, 1)]
    assert listing["live_pairs_per_head"] == 1024 * 1025 // 2
    totals: dict[str, list[int]] = {}
    for rect in listing["rectangles"]:
        for folder in sorted((tmp_path / "specs" / rect["folder"]).iterdir()):
            if not folder.is_dir():
                continue
            out = tmp_path / "stats" / rect["folder"] / folder.name
            cli("model", *map(str, sorted(folder.glob("*.yaml"))), "-o", str(out))
            stats = json.loads((out / "stats.json").read_text())
            mac = stats["arithmetic"]["mac"]
            total = totals.setdefault(folder.name.upper(), [0, 0])
            total[0] += rect["count"] * mac["computes"]
            total[1] += rect["count"] * mac["cycles"]
    point = evaluate_point(Point("binding", "BERT", 1024, "prefill", 2, "causal"), with_energy=False).result
    assert {e.einsum: [e.computes, e.cycles] for e in point.einsums} == totals


def test_mask_recorded_in_the_tables(tmp_path):
    from fusemax.cli import main
    assert main(["run", "--out", str(tmp_path), "--configs", "binding", "--models", "Llama-3-8B", "--seq-lens", "512",
                 "--batch", "1", "--mask", "window:256", "--quiet"]) == 0
    import pandas as pd
    einsums = pd.read_csv(Path(tmp_path) / "results" / "einsums.csv")
    assert set(einsums["mask"]) == {"window:256"}
    roofline = pd.read_csv(Path(tmp_path) / "results" / "roofline.csv")
    assert set(roofline["mask"]) == {"window:256"}
    info = json.loads((Path(tmp_path) / "results" / "run.json").read_text())
    assert info["mask"] == "window:256"


def test_run_json_states_the_assumptions_and_each_models_mask(tmp_path):
    from fusemax.cli import main
    assert main(["run", "--out", str(tmp_path), "--configs", "binding", "--models", "BERT,Llama-3-8B,Mistral-7B",
                 "--seq-lens", "256", "--batch", "1", "--quiet"]) == 0
    info = json.loads((Path(tmp_path) / "results" / "run.json").read_text())
    assert info["masks"] == {"BERT": "none", "Llama-3-8B": "causal", "Mistral-7B": "window:4096"}
    assert {"mask", "gqa", "decode", "layer_fusion"} <= info["assumptions"].keys()
