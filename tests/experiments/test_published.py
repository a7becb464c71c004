"""Every published row (BERT, TrXL, T5 x 6 lengths x 5 configurations) within the project's tolerance:
0.1 % for traffic, latency, utilization and per-Einsum columns, 1 % for energy.

Unfused QK/AV are mapped by the builtin mapper under the artifact's constraints.

Energy is checked per row for all five configurations, priced on the builtin ERTs of ``arch/energy``.
"""
from __future__ import annotations

import math

import pytest

from fusemax import paper, results, validate
from fusemax.experiments import sweep
from fusemax.configs import ATTENTION_CONFIGS as CONFIGS
from fusemax.workload import parse_seq_len

REFERENCE = validate.default_reference()
pytestmark = pytest.mark.skipif(REFERENCE is None, reason="../shared/reference/fusemax-artifact not present")
MODELS = ("BERT", "TrXL", "T5")


@pytest.fixture(scope="module")
def ours():
    pts = sweep.points(CONFIGS, MODELS, [parse_seq_len(s) for s in paper.SEQ_LENS])
    outcomes = sweep.run_sweep(pts, jobs=2)
    assert not [o.error for o in outcomes if o.error]
    return {(o.point.config, o.result.model, o.result.seq_len): o.result.csv_row() for o in outcomes}


def _published():
    if REFERENCE is None:
        return []
    rows = []
    pub = results.read_paper(REFERENCE)
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


# Rows at 64K-1M only match because the engine wraps partition sizes modulo 2**64 as Timeloop's
# std::size_t arithmetic does (see engine/evaluate.py): the artifact's counts carry that overflow.
@pytest.mark.parametrize("config, published", _published())
def test_published_energy(ours, config, published):
    mine = ours[(config, published["model"], published["seq_len"])]["energy"]
    assert not math.isnan(mine) and _rel(mine, published["energy"]) <= 1e-2, (mine, published["energy"])


@pytest.mark.parametrize("baseline", ["flat", "unfused"])
def test_headline_energy_ratio_on_the_published_models(ours, baseline):
    # Mean energy of binding over the baseline on BERT/TrXL/T5 (XLM is withheld), against the same mean over
    # the published rows (76.3 % over FLAT, 74.3 % over unfused).
    pub = results.read_paper(REFERENCE)
    published = {c: {(r["model"], r["seq_len"]): r["energy"] for r in pub[c].to_dict("records")}
                 for c in ("binding", baseline)}
    keys = sorted(published["binding"])
    want = sum(published["binding"][k] / published[baseline][k] for k in keys) / len(keys)
    got = sum(ours[("binding", *k)]["energy"] / ours[(baseline, *k)]["energy"] for k in keys) / len(keys)
    assert got == pytest.approx(want, abs=0.01)


def test_headline_on_the_published_models(ours):
    # Over BERT/TrXL/T5 only (XLM is withheld), the mean speedup of binding over FLAT of the published rows.
    pub = results.read_paper(REFERENCE)
    latency = {c: {(r["model"], r["seq_len"]): r["latency"] for r in pub[c].to_dict("records")}
               for c in ("binding", "flat")}
    keys = sorted(latency["binding"])
    want = sum(latency["flat"][k] / latency["binding"][k] for k in keys) / len(keys)
    got = sum(ours[("flat", *k)]["latency"] / ours[("binding", *k)]["latency"] for k in keys) / len(keys)
    assert got == pytest.approx(want, rel=1e-3)
