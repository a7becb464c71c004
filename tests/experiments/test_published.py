"""Every published row (BERT, TrXL, T5 x 6 lengths x 5 configurations) within the project's tolerance:
0.1 % for traffic, latency, utilization and per-Einsum columns, 1 % for energy.

Unfused QK/AV use the ideal-mapping stand-in until the mapper exists; its rows are checked separately at
the same tolerance on traffic/latency/utilization (they happen to agree).

Energy is checked per row for all five configurations, priced on the builtin ERTs of ``arch/energy``; the rows
in ``EXTRA_L3_READS`` are strict xfails with the measured reason.
"""
from __future__ import annotations

import math

import pytest

from fusemax import results, validate
from fusemax.experiments import sweep
from fusemax.experiments.configs import CONFIGS
from fusemax.workload import parse_seq_len

REFERENCE = validate.default_reference()
pytestmark = pytest.mark.skipif(REFERENCE is None, reason="../shared/reference/fusemax-artifact not present")
MODELS = ("BERT", "TrXL", "T5")


@pytest.fixture(scope="module")
def ours():
    pts = sweep.points(CONFIGS, MODELS, [parse_seq_len(s) for s in sweep.DEFAULT_SEQ_LENS])
    outcomes = sweep.run_sweep(pts, jobs=2)
    assert not [o.error for o in outcomes if o.error]
    return {(o.point.config, o.result.model, o.result.seq_len): o.result.csv_row() for o in outcomes}


def _published():
    if REFERENCE is None:
        return []
    rows = []
    pub = results.load(REFERENCE)
    for config in CONFIGS:
        for row in pub[config].to_dict("records"):
            rows.append(pytest.param(config, row, id=f"{config}-{row['model']}-{row['seq_len']}"))
    return rows


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else abs(a)


@pytest.mark.parametrize("config, published", _published())
def test_published_row(ours, config, published):
    mine = ours[(config, published["model"], published["seq_len"])]
    for column, value in published.items():
        if column in ("model", "seq_len", "energy"):
            continue
        assert _rel(mine[column], value) <= 1e-3, (column, mine[column], value)


#: Published energies our counts cannot reach: each exceeds ours by a whole number of L3 word reads per
#: attention-score element (B x H x M x P x the L3's read energy / 256 words): exactly 1 for FLAT and unfused
#: (1.0000 at 64K, 1.0003-1.0006 at 256K/1M), 2 and 2.25 for the cascade at 256K and 1M. Other lengths, and
#: these lengths for other models (FLAT BERT/T5 256K), match to 1e-6 with the same ERTs, so it is not pricing.
#: Cause: Timeloop's ComputePartitionSizes (src/loop-analysis/tiling.cpp) computes
#: ``partition_size = partition_size * tile.size / denominator`` in 64-bit unsigned integers; for a score-sized
#: output kept at L3 the product (e.g. B*H*M*P * M for the softmax's SN: 2^64 exactly for TrXL 256K, a multiple
#: of 2^64 for every 1M row, 3*2^62 and 2^63 - no wrap - for BERT and T5 256K) wraps to 0, first-read elision
#: subtracts nothing, and Timeloop reports reads == updates. The artifact's traffic skips reads equal to updates,
#: its energy (except at DRAM) does not. Our engine computes the partition exactly (binding/arch show the
#: same effect at 0.17-0.25 reads, 0.3-0.5 % of their energy, inside the tolerance).
EXTRA_L3_READS = {
    "flat": {("BERT", "64K"), ("TrXL", "64K"), ("T5", "64K"), ("TrXL", "256K"),
             ("BERT", "1M"), ("TrXL", "1M"), ("T5", "1M")},
    "unfused": {("TrXL", "256K"), ("BERT", "1M"), ("TrXL", "1M"), ("T5", "1M")},
    "cascade": {(m, s) for m in MODELS for s in ("256K", "1M")},
}


def _published_energy():
    params = []
    for param in _published():
        config, row = param.values
        marks = ()
        if (row["model"], row["seq_len"]) in EXTRA_L3_READS.get(config, ()):
            marks = pytest.mark.xfail(strict=True, reason="the artifact's Timeloop overflowed a partition size and "
                                                          "counted extra L3 reads here (see EXTRA_L3_READS)")
        params.append(pytest.param(config, row, id=param.id, marks=marks))
    return params


@pytest.mark.parametrize("config, published", _published_energy())
def test_published_energy(ours, config, published):
    mine = ours[(config, published["model"], published["seq_len"])]["energy"]
    assert not math.isnan(mine) and _rel(mine, published["energy"]) <= 1e-2, (mine, published["energy"])


@pytest.mark.parametrize("baseline", ["flat", "unfused"])
def test_headline_energy_ratio_on_the_published_models(ours, baseline):
    # Mean energy of binding over the baseline on BERT/TrXL/T5 (XLM is withheld), against the same mean over
    # the published rows (76.3 % over FLAT, 74.3 % over unfused); the EXTRA_L3_READS rows move it < 1 point.
    pub = results.load(REFERENCE)
    published = {c: {(r["model"], r["seq_len"]): r["energy"] for r in pub[c].to_dict("records")}
                 for c in ("binding", baseline)}
    keys = sorted(published["binding"])
    want = sum(published["binding"][k] / published[baseline][k] for k in keys) / len(keys)
    got = sum(ours[("binding", *k)]["energy"] / ours[(baseline, *k)]["energy"] for k in keys) / len(keys)
    assert got == pytest.approx(want, abs=0.01)


def test_headline_on_the_published_models(ours):
    # Over BERT/TrXL/T5 only (XLM is withheld), binding vs FLAT is 7.63x in the published rows.
    speedups = [ours[("flat", m, s)]["latency"] / ours[("binding", m, s)]["latency"]
                for m in MODELS for s in sweep.DEFAULT_SEQ_LENS]
    assert sum(speedups) / len(speedups) == pytest.approx(7.6300606921195815, rel=1e-3)
