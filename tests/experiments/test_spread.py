"""Short contexts and decode on FuseMax: (batch, head) pairs spread over the PEs the query and key ranks
leave idle, so nothing runs on one PE (issue 13). Every expected number is derived by hand in comments."""
from __future__ import annotations

from fusemax.experiments import sweep
from fusemax.render import render
from fusemax.workload import Hardware, Workload, get_model

HW = Hardware()
B, H, E, F, WORD = 64, 12, 64, 64, 2  # BERT at the paper's batch


def _point(seq_len: int, phase: str):
    outcome = sweep.evaluate_point(sweep.Point("binding", "BERT", seq_len, phase), with_energy=False)
    assert outcome.error is None, outcome.error
    return outcome.result, {e.einsum: e for e in outcome.result.einsums}


def test_length_one_spreads_every_batch_and_head_and_is_memory_bound():
    # P = M = 1: the columns take 256 of the 768 (batch, head) pairs (64 sequences x 4 heads: 4 is the
    # only divisor of 12 whose complement divides 64 at 256), the rows the other 3 heads: all 768 pairs at
    # once. QK then takes E = 64 steps (E walked at L3), RNV on the 256 1D PEs 768 x 64 / 256 = 192.
    p = render("binding", Workload(get_model("BERT"), 1)).params
    assert (p["p0"], p["n"], p["p1"], p["p2"], p["m1"]) == (1, 1, 1, 1, 1)
    assert p["spread"]["x"] == {"b": 64, "h": 4, "g": 1, "f": 1}
    assert p["spread"]["y"] == {"b": 1, "h": 3, "g": 1, "f": 1}
    result, e = _point(1, "prefill")
    assert e["QK"].computes == B * H * E and e["QK"].cycles == E
    assert e["RNV"].cycles == B * H * F // 256
    # DRAM: Q, K, V and the output once: 768 pairs x (64 + 64 + 64 + 64) words x 2 B = 393,216 B, which
    # at 400 GiB/s (0.915 us) outlasts the ~600 compute cycles (0.64 us): the latency is the DRAM time.
    assert result.traffic == B * H * (E + E + F + F) * WORD == 393_216
    assert result.latency == result.traffic / HW.dram_bandwidth


def test_decode_streams_the_kv_cache_once_with_128_pairs_on_the_columns():
    # Decode at 4K keys: P0 = 1, the rows hold a 256-key block (N = 256, M1 = 16). A 256-key K/V block is
    # 256 x 128 words x 2 B = 64 KiB per (batch, head) pair, so 16 MiB cannot hold 256 of them beside the
    # queries; the spread limit halves to 128 columns: 32 sequences x 4 heads (ties go to more heads).
    p = render("binding", Workload(get_model("BERT"), 4096, phase="decode")).params
    assert (p["p0"], p["n"], p["m1"], p["p2"]) == (1, 256, 16, 1)
    assert p["spread"]["x"] == {"b": 32, "h": 4, "g": 1, "f": 1}
    result, e = _point(4096, "decode")
    # QK: 64 x 12 x 4096 x 64 MACs over 256 x 128 PEs = 6144 cycles (768 / 128 = 6 rounds of 1024).
    assert e["QK"].cycles == 6144
    kv = B * H * 4096 * (E + F) * WORD  # 805,306,368 B: the K/V cache once
    assert result.traffic == kv + B * H * (E + F) * WORD
    assert result.latency == result.traffic / HW.dram_bandwidth


def test_300_tokens_work_most_pes_without_extra_work_within_twice_the_bound():
    # 300 = 2^2 x 3 x 5^2 has no divisor between 150 and 256. The columns take 60 queries x 4 heads = 240,
    # the rows a 150-key block (M1 = 2). Computes are exactly the Einsums' MACs: idle PEs show as lower
    # utilization, never as extra work.
    p = render("binding", Workload(get_model("BERT"), 300)).params
    assert (p["p0"], p["n"], p["m1"]) == (60, 150, 2) and p["spread"]["x"]["h"] == 4
    result, e = _point(300, "prefill")
    macs = B * H * 300 * 300 * E
    assert e["QK"].computes == macs and e["SLNV"].computes == macs
    bound = max(B * H * 300 * (E + E + F + F) * WORD / HW.dram_bandwidth,
                2 * macs / (256 ** 2 * HW.clock_hz))
    assert bound < result.latency < 2 * bound
