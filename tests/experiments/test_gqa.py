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
