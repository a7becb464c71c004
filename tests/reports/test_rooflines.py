"""Roofline and scaling points against sums over ``einsums.csv`` and the attention latency of ``attn-*.csv``
(read with the csv module), and roofs against the methodology's hand-derived peaks."""
from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from fusemax import results
from fusemax.combine.roofline import einsum_roofline
from fusemax.reports import frames, rooflines, scaling


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def loaded(run_dir):
    res = results.load(run_dir)
    table = frames.attn_table(res)
    return res, table, rooflines.hardware_of(res)


def test_phase_points_are_sums_over_their_einsums(run_dir, loaded):
    res, table, hardware = loaded
    folder = run_dir / "results"
    flops, traffic = defaultdict(float), defaultdict(float)
    for r in rows(folder / "einsums.csv"):
        key = (r["config"], r["model"], r["seq_len"], r["phase"])
        flops[key + (r["array"],)] += float(r["flops"])
        traffic[key] += float(r["traffic"])
    latency = {}
    for config in ("unfused", "flat", "cascade", "binding"):
        for r in rows(folder / f"attn-{config}.csv"):
            latency[(config, r["model"], r["seq_len"], "prefill")] = float(r["latency"])

    phases = rooflines.phase_points(res.einsums, table, hardware)
    points = einsum_roofline(res.einsums, hardware)
    fig = rooflines.roofline(points[points["model"] == "XLM"], phases[phases["model"] == "XLM"], hardware, "XLM")
    seen = 0
    for ax in fig.axes:
        for coll in ax.collections:
            gid = coll.get_gid() or ""
            if not gid.startswith("attention "):
                continue
            _, config, model, length, phase, array = gid.split()
            key = (config, model, length, phase)
            (x, y), = coll.get_offsets()
            assert x == pytest.approx(flops[key + (array,)] / traffic[key])
            assert y == pytest.approx(flops[key + (array,)] / latency[key])
            seen += 1
    assert seen == 4 * 2 * 2   # 4 configurations x 2 lengths x 2 arrays, all with FLOPs on both arrays


def test_einsum_points_and_roofs(run_dir, loaded):
    res, table, hardware = loaded
    want = {}
    for r in rows(run_dir / "results" / "einsums.csv"):
        if r["model"] == "BERT" and float(r["traffic"]) > 0 and float(r["flops"]) > 0:
            want[f"einsum {r['config']} BERT {r['seq_len']} {r['phase']} {r['einsum']}"] = (
                float(r["flops"]) / float(r["traffic"]), float(r["flops"]) / float(r["latency"]))
    points = einsum_roofline(res.einsums, hardware)
    phases = rooflines.phase_points(res.einsums, table, hardware)
    fig = rooflines.roofline(points[points["model"] == "BERT"], phases[phases["model"] == "BERT"], hardware, "BERT")
    drawn = {c.get_gid(): tuple(c.get_offsets()[0]) for ax in fig.axes for c in ax.collections
             if (c.get_gid() or "").startswith("einsum ")}
    assert drawn.keys() == want.keys()
    for gid, (x, y) in want.items():
        assert drawn[gid] == (pytest.approx(x), pytest.approx(y))
    # methodology.md: 2D peak = 65,536 PEs x 2 FLOP x 940 MHz ~ 123.2 TFLOP/s; 1D ~ 481 GFLOP/s.
    roof2d = next(ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "roof 2d")
    roof1d = next(ln for ln in fig.axes[1].get_lines() if ln.get_gid() == "roof 1d")
    assert max(roof2d.get_ydata()) == pytest.approx(123.2e12, rel=1e-3)
    assert max(roof1d.get_ydata()) == pytest.approx(481.28e9, rel=1e-3)


def test_intensity_lines_are_phase_totals(run_dir, loaded):
    res, table, hardware = loaded
    flops, traffic = defaultdict(float), defaultdict(float)
    for r in rows(run_dir / "results" / "einsums.csv"):
        key = (r["config"], r["model"], r["seq_len"])
        flops[key] += float(r["flops"])
        traffic[key] += float(r["traffic"])
    phases = scaling.attention_phases(res.einsums, table)
    fig = scaling.intensity_vs_length(phases, hardware)
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines()}
    line = lines["intensity binding XLM prefill"]
    assert list(line.get_xdata()) == [1024, 4096]
    assert list(line.get_ydata()) == [pytest.approx(flops[("binding", "XLM", n)] / traffic[("binding", "XLM", n)])
                                      for n in ("1K", "4K")]
    ridge = lines["ridge 2d"]
    assert ridge.get_ydata()[0] == pytest.approx(123.2e12 / (400 * 2**30), rel=1e-3)
    scaled = scaling.model_scaling(phases, "4K")
    lat = {ln.get_gid(): ln for ln in scaled.axes[0].get_lines()}["latency unfused"]
    published = {r["model"]: float(r["latency"]) for r in rows(run_dir / "results" / "attn-unfused.csv")
                 if r["seq_len"] == "4K"}
    assert list(lat.get_ydata()) == [published["BERT"], published["XLM"]]   # BERT has fewer FLOPs: first
