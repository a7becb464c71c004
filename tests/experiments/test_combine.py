"""The latency waterfall, utilization and traffic rules against numbers derived by hand.

BERT at 1K tokens: B=64, H=12, E=F=64, M=P=1024, N=256, M1=4. On the 256x256 array QK takes
B·H·E·M·P / 65536 = 786432 cycles; the artifact's published rows are reproduced from these hand counts.
"""
from __future__ import annotations

import pytest

from fusemax.combine.metrics import dram_traffic, einsum_metrics
from fusemax.combine.roles import roles
from fusemax.combine.schedule import combine, total_latency
from fusemax.configs import REGISTRY, get_config, resolve_hardware
from fusemax.paper import CLOCK_HZ, PE_DIM, WORD_BYTES
from fusemax.render.flat_dataflow import FlatDataflow, softmax_spill
from fusemax.workload import PREFILL, Hardware

from .helpers import make_stats

#: The paper's hardware, as a point resolved at the defaults hands it to combine
PAPER = {"phase": PREFILL, "pe_dim": PE_DIM, "clock_hz": CLOCK_HZ}

B, H, E, F, M, P, N = 64, 12, 64, 64, 1024, 1024, 256
HW = resolve_hardware(REGISTRY["binding"])   # the paper's clock (940 MHz), bandwidth (400 GiB/s) and 2-byte words
M1 = M // N
PE2, PE1 = 65536, 256
WORDS_QKV = B * H * P * E          # one of Q, K, V or AV
FUSEMAX_COST = {"QK": {"mac": 1}, "LM": {"max": 1}, "RM": {"max": 1}, "PRM": {"mac": 6, "add": 1},
                "SPD": {"mac": 1}, "SPNV": {"mac": 1}, "SLN": {"mac": 6, "add": 1}, "SLD": {"add": 1},
                "SLNV": {"mac": 1}, "RD": {"add": 1}, "RNV": {"add": 1}, "AV": {"divide": 1}}
CASCADE_COST = {**FUSEMAX_COST, "PRM": {"exponential": 1, "add": 1}, "SLN": {"exponential": 1, "add": 1}}

# Computes per Einsum (ranks each one iterates).
COMPUTES = {"QK": B * H * E * M * P, "LM": B * H * M * P, "RM": B * H * M1 * P, "PRM": B * H * M1 * P,
            "SPD": B * H * M1 * P, "SPNV": B * H * F * M1 * P, "SLN": B * H * M * P, "SLD": B * H * M * P,
            "SLNV": B * H * F * M * P, "RD": B * H * M1 * P, "RNV": B * H * F * M1 * P, "AV": B * H * F * P}
DRAM = {"QK": {"Q": (WORDS_QKV, 0), "BK": (WORDS_QKV, 0)}, "SLNV": {"BV": (WORDS_QKV, 0)},
        "AV": {"AV": (0, WORDS_QKV)}}


def cascade_metrics(config: str):
    cost = CASCADE_COST if config == "cascade" else FUSEMAX_COST
    out = []
    for name, role in roles(get_config(config)).items():
        stats = make_stats(COMPUTES[name], PE2 if role.array == "2d" else PE1, dram=DRAM.get(name, {}))
        out.append(einsum_metrics(stats, role, cost[name], HW))
    return out


@pytest.mark.parametrize("config, cycles, published", [
    # max(QK+LM, RD+RNV+AV) + RM + max(SLN+SLD, PRM+SPD) + max(SLNV, SPNV)
    ("binding", max(786432 + 12288, 12288 + 786432 + 196608) + 12288 + 98304 + 786432,
     0.002013140425531915),
    # max(QK+LM, RD+AV) + 256·LM + RM + max(SLN+SLD, PRM+SPD) + max(SLNV, SPNV+RNV)
    ("arch", 798720 + 256 * 12288 + 12288 + 98304 + 2 * 786432, 0.005987131914893616),
    # max(Σ2D, Σ1D): the 1D array runs LM, SLN (exp+add), SLD over all of M
    ("cascade", 3145728 * 4 + 12288 * 3 + 24576 + 2 * 786432 + 196608, 0.015333855319148937),
])
def test_waterfall_reproduces_published_bert_1k(config, cycles, published):
    result = combine(REGISTRY[config], "BERT", "1K", cascade_metrics(config), **PAPER)
    assert result.latency == pytest.approx(cycles / 940e6, rel=1e-12)
    assert result.latency == pytest.approx(published, rel=1e-9)
    assert result.traffic == 4 * WORDS_QKV * 2 == 402653184


def test_binding_utilization_bert_1k():
    result = combine(REGISTRY["binding"], "BERT", "1K", cascade_metrics("binding"), **PAPER)
    assert list(result.einsum_util) == ["QK", "LM", "SLN", "SLD", "SLNV"]
    assert result.einsum_util["QK"] == pytest.approx(0.4155844155844156, rel=1e-12)
    assert result.einsum_util["SLN"] == pytest.approx(0.045454545454545456, rel=1e-12)
    assert result.util_2d == pytest.approx(0.8896103896103895, rel=1e-12)
    assert result.util_1d == pytest.approx(1.0, rel=1e-12)


def test_memory_bound_when_traffic_dominates():
    ms = cascade_metrics("binding")
    for m in ms:
        m.mem_latency *= 1000
    lat, mem, comp = total_latency(REGISTRY["binding"], {m.einsum: m for m in ms}, PE_DIM)
    assert lat == mem > comp


def test_first_read_elision_reads_are_dropped():
    # A read-modify-write output at DRAM reports reads == updates: those reads are not real traffic.
    stats = make_stats(1, 1, dram={"AV": (100, 100), "Q": (7, 0)})
    from fusemax.combine.roles import TrafficRule
    rd, wr = dram_traffic(stats, TrafficRule(dram=frozenset({"AV", "Q"})), word_bytes=WORD_BYTES)
    assert (rd, wr) == (7 * 2, 100 * 2)
    stats = make_stats(1, 1, dram={"AV": (60, 100)})
    assert dram_traffic(stats, TrafficRule(dram=frozenset({"AV"})), word_bytes=WORD_BYTES) == (120, 200)


def test_tensors_outside_the_rule_are_on_chip():
    stats = make_stats(1, 1, dram={"QK": (5, 5), "Q": (3, 0)})
    from fusemax.combine.roles import TrafficRule
    assert dram_traffic(stats, TrafficRule(dram=frozenset({"Q"})), word_bytes=WORD_BYTES) == (6, 0)


def test_spilled_proportion_moves_buffered_traffic_to_dram():
    from fusemax.combine.roles import TrafficRule
    # Q in DRAM and in a spillable L3: only the buffered 3/4 is filled separately, a 1/4 of the L3
    # accesses go to DRAM instead.
    stats = make_stats(1, 1, dram={"Q": (400, 0)}, l3={"Q": (1000, 0), "QK": (80, 80)})
    rule = TrafficRule(dram=frozenset({"Q"}), spillable=frozenset({"Q", "QK"}), spilled=0.25)
    rd, wr = dram_traffic(stats, rule, word_bytes=WORD_BYTES)
    assert rd == pytest.approx((400 * 0.75 + 1000 * 0.25) * 2)
    assert wr == pytest.approx(80 * 0.25 * 2)
    no_opt = TrafficRule(rule.dram, rule.spillable, 0.25, skip_spilled_fills=False)
    assert dram_traffic(stats, no_opt, word_bytes=WORD_BYTES)[0] == pytest.approx((400 + 1000 * 0.25) * 2)


def softmax_stats(qk_onchip: bool):
    """The four softmax passes over B·H·M·P on 256 PEs, one cycle each, with QK/A through DRAM or not."""
    n = B * H * M * P
    return {
        "M": make_stats(n, PE1, dram={} if qk_onchip else {"QK": (n, 0)}, l3={"QK": (n, 0)}),
        "SN": make_stats(n, PE1, l3={"QK": (n, 0), "SN": (0, n)}),
        "SD": make_stats(n, PE1),
        "A": make_stats(n, PE1, dram={} if qk_onchip else {"A": (0, n)}, l3={"SN": (n, 0)}),
    }


SOFTMAX_COST = {"M": {"max": 1}, "SN": {"add": 1, "exponential": 1}, "SD": {"add": 1}, "A": {"divide": 1}}


def test_flat_bert_1k_latency_is_the_softmax_passes():
    # FLAT keeps QK and A on chip at 1K (flat_validation.csv); the 1D array's four passes, one cycle per
    # element each (pipelined exp and divide), bound the latency: 4·B·H·M·P/256 cycles.
    choice = FlatDataflow(frozenset({"QK", "A"}))
    plan = roles(get_config("flat"), choice.spilled, choice)
    # Stand-in QK/AV: FLAT's output-stationary mapping at 1K re-reads Q, K and V four times (13 units).
    stats = {"QK": make_stats(COMPUTES["QK"], PE2, utilized=PE2 // 8,
                              dram={"Q": (4 * WORDS_QKV, 0), "K": (4 * WORDS_QKV, 0)}),
             "AV": make_stats(COMPUTES["QK"], PE2, utilized=PE2 // 8,
                              dram={"V": (4 * WORDS_QKV, 0), "AV": (WORDS_QKV, WORDS_QKV)}),
             **softmax_stats(True)}
    cost = {"QK": {"mac": 1}, "AV": {"mac": 1}, **SOFTMAX_COST}
    ms = [einsum_metrics(stats[n], r, cost[n], HW) for n, r in plan.items()]
    result = combine(REGISTRY["flat"], "BERT", "1K", ms, **PAPER)
    assert result.latency == pytest.approx(0.013386076595744681, rel=1e-12)
    assert result.traffic == 1308622848
    assert result.util_1d == pytest.approx(1.0)
    # 2D utilization is weighted by the PEs the dataflow occupies.
    assert result.einsum_util["QK"] == pytest.approx(result.einsums[0].comp_latency / 8 / result.latency)
    assert result.util_2d == pytest.approx(sum(result.einsum_util.values()))


def test_unfused_sums_phases_bert_1k():
    # Ideal QK/AV (each tensor moved once) + softmax with QK read and A written through DRAM.
    spill = softmax_spill(32 * 2**20, M, WORD_BYTES)
    assert spill == 0.0
    plan = roles(get_config("unfused"), spill)
    big = B * H * M * P
    stats = {"QK": make_stats(COMPUTES["QK"], PE2, dram={"Q": (WORDS_QKV, 0), "K": (WORDS_QKV, 0),
                                                         "QK": (0, big)}),
             "AV": make_stats(COMPUTES["QK"], PE2, dram={"A": (big, 0), "V": (WORDS_QKV, 0),
                                                         "AV": (0, WORDS_QKV)}),
             **softmax_stats(False)}
    cost = {"QK": {"mac": 1}, "AV": {"mac": 1}, **SOFTMAX_COST}
    ms = [einsum_metrics(stats[n], r, cost[n], HW) for n, r in plan.items()]
    result = combine(REGISTRY["unfused"], "BERT", "1K", ms, **PAPER)
    assert result.traffic == 6845104128
    assert result.latency == pytest.approx(0.02182357659574468, rel=1e-12)
    assert result.util_2d == pytest.approx(0.0766721058359586, rel=1e-12)
    assert result.util_1d == pytest.approx(0.6133768466876688, rel=1e-12)
    assert result.einsum_util == {}


def test_softmax_spill_fraction():
    assert softmax_spill(1000, 1000, 2) == pytest.approx(0.5)
    assert softmax_spill(10**9, 10, 2) == 0.0


def test_timing_is_configurable():
    role = roles(get_config("binding"))["QK"]
    m = einsum_metrics(make_stats(940, 1, dram={"Q": (2**30, 0)}), role, {"mac": 1},
                       resolve_hardware(REGISTRY["binding"], Hardware(clock_hz=470.0, dram_bandwidth=2**31)))
    assert m.comp_latency == pytest.approx(2.0)
    assert m.mem_latency == pytest.approx(1.0)
    assert m.flops == 2 * 940
