"""Grouped-query attention: K and V are read per KV head, not per query head (hand-derived bytes)."""
from __future__ import annotations

import pytest

from fusemax.experiments import sweep
from fusemax.render import render
from fusemax.workload import Hardware, Workload, get_model

B, WORD = 64, 2


def _einsums(config: str, model: str, seq_len: int, phase: str, mask: str | None = None) -> dict:
    outcome = sweep.evaluate_point(sweep.Point(config, model, seq_len, phase, mask=mask), with_energy=False)
    assert outcome.error is None, outcome.error
    return {e.einsum: e for e in outcome.result.einsums}


@pytest.mark.parametrize("config", ["binding", "arch", "cascade"])
def test_llama3_decode_reads_the_kv_cache_once_per_kv_head(config):
    # Llama-3-8B: H 32, KV 8, E = F = 128; decode at 4K keys: one query per head, P2 = G1 = 1.
    M, H, KV, E = 4096, 32, 8, 128
    e = _einsums(config, "Llama-3-8B", M, "decode")
    k_bytes, v_bytes, q_bytes = B * KV * M * E * WORD, B * KV * M * E * WORD, B * H * 1 * E * WORD
    assert e["QK"].read_bytes == q_bytes + k_bytes        # 537,395,200
    assert e["SLNV"].read_bytes == v_bytes                # 536,870,912: 4x less than per query head


def test_mqa_prefill_kv_traffic_shrinks_by_h():
    # Falcon-7B (H 71, one KV head) against the same layer with 71 KV heads, binding prefill at 1K: every
    # K/V byte is read for 71 heads in the second, for one in the first; Q is the same in both.
    M, E = 1024, 64
    # (both bidirectional: Falcon-7B's causal mask would split its prefill into rectangles)
    mqa = _einsums("binding", "Falcon-7B", M, "prefill", "none")
    mha = _einsums("binding", "MHA71:D=4544,H=71,E=64,S=18176", M, "prefill")
    # The MQA tile holds all 71 heads (G0 = 71): per query (64 + 1 + 1 + 64) x 2 = 260 B, so beside the
    # 256-key K/V block (64 KiB) the 16 MiB L3 holds floor((16 MiB - 64 KiB) / (260 x 256 x 71)) = 3 tiles
    # of 256 queries; P1 = 2 (the largest divisor of the 4 tiles of 1K) and K/V stream P2 = 2 times.
    # With 71 KV heads a tile is one head: P1 = 4, P2 = 1.
    q_bytes = B * 71 * M * E * WORD
    assert mqa["QK"].read_bytes == q_bytes + 2 * B * 1 * M * E * WORD
    assert mha["QK"].read_bytes == q_bytes + B * 71 * M * E * WORD
    assert mqa["SLNV"].read_bytes == 2 * B * 1 * M * E * WORD
    assert mha["SLNV"].read_bytes == B * 71 * M * E * WORD
    assert mqa["QK"].computes == mha["QK"].computes == B * 71 * M * M * E


def test_group_rank_only_when_kv_is_below_h():
    mha = render("binding", Workload(get_model("BERT"), 1024), Hardware())
    gqa = render("binding", Workload(get_model("Llama-3-8B"), 1024), Hardware())
    assert "G" not in mha.einsums["QK"].problem_yaml.split("dimensions:")[1].split("\n")[0]
    assert "dimensions: [B, E, G, H, M, N, P]" in gqa.einsums["QK"].problem_yaml
    assert "    G: 4\n    H: 8\n" in gqa.einsums["QK"].problem_yaml


# --- FLAT and unfused under GQA/MQA (issue 23): against the compulsory bytes and the roofline -------------
#: (H, KV heads, E = F) from the models' config.json files (problems/models.yaml cites them)
DIMS = {"Llama-3-8B": (32, 8, 128), "Falcon-7B": (71, 1, 64)}
BANDWIDTH, CLOCK, PES_2D, PES_1D = 400 * 2**30, 940e6, 256 * 256, 256  # the default Hardware


def _bounds(model: str, seq_len: int, phase: str, batch: int) -> tuple[float, float, float]:
    """(compulsory DRAM bytes, roofline bound in s, FLAT's softmax on the 1D array in s), by hand: Q and the
    output once per query head, K and V once per KV head, 2 B a word; E + F MACs per query-key pair on the
    2D array; FLAT's four softmax passes (max, exp-sum, sum, divide) each touch every score once on the
    1D array's PEs."""
    H, KV, E = DIMS[model]
    P, M = (1, seq_len) if phase == "decode" else (seq_len, seq_len)
    compulsory = batch * (H * P * 2 * E + KV * M * 2 * E) * WORD
    macs = batch * H * P * M * 2 * E
    softmax = 4 * batch * H * P * M / (PES_1D * CLOCK)
    return compulsory, max(compulsory / BANDWIDTH, macs / (PES_2D * CLOCK)), softmax


def _flat(model: str, seq_len: int, phase: str, batch: int):
    outcome = sweep.evaluate_point(sweep.Point("flat", model, seq_len, phase, batch), with_energy=False)
    assert outcome.error is None, outcome.error
    return outcome.result


FLAT_DECODE = [(m, n, b) for m in DIMS for n in (4096, 32768, 131072) for b in (1, 16)]


@pytest.mark.parametrize("model, seq_len, batch", FLAT_DECODE, ids=[f"{m}-{n}-b{b}" for m, n, b in FLAT_DECODE])
def test_flat_decode_reads_kv_once_per_kv_head_and_sits_on_its_bound(model, seq_len, batch):
    # Before K/V were shared across a group, FLAT at 128K read them once per query head (its K tile does not
    # fit the L3 there): Llama-3-8B 3.3x its bound (66.2 ms at batch 16), Falcon-7B 36x; at 32K 1.006x.
    compulsory, bound, softmax = _bounds(model, seq_len, "decode", batch)
    result = _flat(model, seq_len, "decode", batch)
    # the dataflow FLAT picks moves nothing but the compulsory bytes (QK and A stay on chip, none spills)
    assert result.traffic == compulsory
    assert result.latency >= bound * (1 - 1e-12)
    # FLAT runs its softmax on the 1D array: for Falcon-7B's 71 query heads of 64 dims its four passes take
    # 4 x 71 / 256 cycles a key against 2 x 64 x 2 / 400 GiB/s of K/V bytes, 1.98x the bytes; for
    # Llama-3-8B 0.06x, so there FLAT is within 1.25x of the roofline itself.
    assert result.latency <= 1.25 * max(bound, softmax)
    if model == "Llama-3-8B":
        assert softmax < bound and result.latency <= 1.25 * bound


def test_flat_llama3_decode_128k_moves_exactly_the_compulsory_bytes():
    # Llama-3-8B, 128K cache, batch 16: Q 16 x 32 x 128 words, K and V 16 x 8 x 131072 x 128 each, O as Q.
    B16, M, H, KV, E = 16, 131072, 32, 8, 128
    result = _flat("Llama-3-8B", M, "decode", B16)
    e = {x.einsum: x for x in result.einsums}
    q = o = B16 * H * E * WORD
    k = v = B16 * KV * M * E * WORD                                   # 4,294,967,296 B each
    assert e["QK"].read_bytes == q + k and e["AV"].read_bytes == v and e["AV"].write_bytes == o
    assert result.traffic == q + k + v + o == 8_590_196_736         # was 28.4 GB (3.3x)
    assert result.latency == pytest.approx(result.traffic / BANDWIDTH, rel=1e-3)  # 20.0 ms, was 66.2 ms
    rendered = sweep.plan_point(sweep.Point("flat", "Llama-3-8B", M, "decode", B16)).rendered
    assert rendered.params["flat_dataflow"]["group_heads"] == H // KV  # the tile holds the whole group


FLAT_PREFILL = [(m, b) for m in DIMS for b in (1, 16)]


@pytest.mark.parametrize("model, batch", FLAT_PREFILL, ids=[f"{m}-b{b}" for m, b in FLAT_PREFILL])
def test_flat_prefill_4k_is_never_below_its_bound(model, batch):
    # Prefill is compute-bound: FLAT's softmax on the 1D array (4 x 65536 / 256 = 1024 scores a cycle against
    # 65536 MACs of E + F = 256 or 128 per score) makes it 4x (Llama-3-8B) or 8x (Falcon-7B) the 2D MACs.
    compulsory, bound, softmax = _bounds(model, 4096, "prefill", batch)
    result = _flat(model, 4096, "prefill", batch)
    assert result.traffic >= compulsory * (1 - 1e-12)
    assert bound * (1 - 1e-12) <= result.latency <= 1.25 * max(bound, softmax)


UNFUSED = [(m, n) for m in DIMS for n in (4096, 32768, 131072)]


@pytest.mark.parametrize("model, seq_len", UNFUSED, ids=[f"{m}-{n}" for m, n in UNFUSED])
def test_unfused_decode_reads_kv_once_per_kv_head(model, seq_len):
    # unfused keeps the score matrix in DRAM: QK reads Q and K, AV reads the probabilities A and V.
    H, KV, E = DIMS[model]
    outcome = sweep.evaluate_point(sweep.Point("unfused", model, seq_len, "decode", 1), with_energy=False)
    assert outcome.error is None, outcome.error
    e = {x.einsum: x for x in outcome.result.einsums}
    q, k, scores = H * E * WORD, KV * seq_len * E * WORD, H * seq_len * WORD
    assert e["QK"].read_bytes == q + k
    assert e["AV"].read_bytes == scores + k  # V is K's size
