"""The pure combination of a rendered configuration (combine_point), FLAT's spill, the roofline, the
headline table and the CLI contract."""
from __future__ import annotations

import pytest

from fusemax.cli import main
from fusemax.combine.flat import flat_softmax_spill
from fusemax.combine.point import combine_point
from fusemax.combine.roofline import einsum_roofline, phase_roofline, roofs
from fusemax.combine.schedule import combine
from fusemax.configs import REGISTRY, resolve_hardware
from fusemax.experiments import sweep
from fusemax.experiments.headline import format_headline, headline
from fusemax.render.flat_dataflow import FlatDataflow
from fusemax.results import einsum_frame
from fusemax.workload import Hardware, Workload, get_model

from .helpers import make_stats
from .test_combine import COMPUTES, DRAM, FUSEMAX_COST, PAPER, PE1, PE2, cascade_metrics

BERT_1K = Workload(get_model("BERT"), 1024)


def test_combine_point_binding_matches_hand_waterfall():
    on_2d = {"QK", "LM", "SLN", "SLD", "SLNV"}
    stats = {n: make_stats(COMPUTES[n], PE2 if n in on_2d else PE1, dram=DRAM.get(n, {})) for n in COMPUTES}
    energy = lambda name, st, cost, m, from_traffic: (1.0, {"mac": 1.0})
    r = combine_point(REGISTRY["binding"], BERT_1K, resolve_hardware(REGISTRY["binding"], Hardware()), FUSEMAX_COST, {"p1": 4},
                      stats, energy)
    assert r.latency == pytest.approx(0.002013140425531915, rel=1e-12)
    assert r.energy == 12.0
    assert (r.model, r.seq_len, r.params["p1"]) == ("BERT", "1K", 4)


def test_missing_einsum_is_one_clear_error():
    from fusemax.errors import FusemaxError
    with pytest.raises(FusemaxError, match="no statistics for Einsum"):
        combine_point(REGISTRY["binding"], BERT_1K, resolve_hardware(REGISTRY["binding"], Hardware()), FUSEMAX_COST, {}, {}, None)


ROW = {"Q_loc": "onchip", "K_loc": "offchip", "QK_loc": "offchip", "A_loc": "offchip", "V_loc": "offchip",
       "AV_loc": "onchip", "QK_stationarity": "weight", "AV_stationarity": "weight",
       "fusion_granularity": "row", "P1": 1024, "proportion_spilled": 0.0}


def test_flat_choice_from_validation_columns():
    choice = FlatDataflow.from_params(ROW)
    assert "Q" in choice.onchip and not choice.qk_onchip
    assert (choice.p1, choice.qk_stationarity) == (1024, "weight")


def test_flat_softmax_gets_the_l3_left_by_qk_and_av():
    # QK off chip: the softmax row buffer is what Q's and AV's tiles leave of the 32 MiB L3.
    choice = FlatDataflow.from_params(ROW)
    qk = make_stats(1, 1, l3_capacity={"Q": 2**20, "K": 999})      # K is off chip: not counted
    av = make_stats(1, 1, l3_capacity={"AV": 2**20})
    free = 32 * 2**20 - 2 * 2**20 * 2
    keys = 2**24
    assert flat_softmax_spill(choice, qk, av, 32 * 2**20, keys, 2) == pytest.approx(1 - free / (keys * 2))
    onchip = FlatDataflow(frozenset(["Q", "K", "QK", "A", "V", "AV"]), spilled=0.25)
    assert flat_softmax_spill(onchip, qk, av, 32 * 2**20, keys, 2) == 0.25


def test_headline_means_over_common_points():
    ours = combine(REGISTRY["binding"], "BERT", "1K", cascade_metrics("binding"), **PAPER)
    ours.energy = 1.0
    base = combine(REGISTRY["cascade"], "BERT", "1K", cascade_metrics("cascade"), **PAPER)
    base.config, base.energy = "flat", 2.0
    [h] = headline([ours, base])
    assert h.points == 1 and h.baseline == "flat"
    assert h.mean_speedup == pytest.approx(base.latency / ours.latency)
    assert h.mean_energy_ratio == 0.5
    assert "binding over flat" in format_headline([h])


def test_roofline_from_einsums():
    r = roofs(Hardware())
    assert r["2d"].peak_flops == pytest.approx(123.2e12, rel=1e-3)
    assert r["1d"].peak_flops == pytest.approx(481.28e9, rel=1e-3)
    result = combine(REGISTRY["binding"], "BERT", "1K", cascade_metrics("binding"), **PAPER)
    frame = einsum_frame([result])
    per_einsum = einsum_roofline(frame)
    qk = per_einsum[per_einsum.einsum == "QK"].iloc[0]
    assert qk.flops == 2 * COMPUTES["QK"]
    assert qk.bound == "compute"     # 2·E FLOP per word of Q/K moved once: far above the ridge
    phase = phase_roofline(frame)
    assert len(phase) == 1
    assert phase.loc[0, "flops"] == pytest.approx(frame.flops.sum())
    assert phase.loc[0, "flops_2d"] + phase.loc[0, "flops_1d"] == pytest.approx(phase.loc[0, "flops"])
    assert phase.loc[0, "intensity"] == pytest.approx(frame.flops.sum() / 402653184)


def test_points_reject_unknown_config():
    from fusemax.errors import FusemaxError
    with pytest.raises(FusemaxError, match="unknown configuration"):
        sweep.points(["fast"], ["BERT"], [1024])


@pytest.mark.parametrize("argv, message", [
    (["run", "--out", "X", "--models", "Nope"], "fusemax run: error: --models: unknown model 'Nope'"),
    (["run", "--out", "X", "--seq-lens", "4Q"], "fusemax run: error: --seq-lens: bad sequence length"),
    (["run", "--out", "X", "--configs", "fast"], "fusemax run: error: --configs: unknown configuration"),
    (["run", "--out", "X", "--scheduler", "tcp://h:1"], "fusemax run: error: --scheduler: --scheduler needs --executor dask"),
    (["validate", "nowhere"], "fusemax validate: error: nowhere: no such folder"),
])
def test_cli_errors_are_one_line_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message)


def test_models_list_keeps_inline_specs_whole():
    from fusemax.cli.run import _model_list
    assert _model_list("BERT,MyNet:D=2048,H=16,E=128,S=8192,T5") == ["BERT", "MyNet:D=2048,H=16,E=128,S=8192", "T5"]


def test_a_result_read_back_from_the_cache_keeps_its_csv_columns_in_einsum_order(tmp_path):
    """A warm run's attn-*.csv must list the per-Einsum utilization columns in the cascade's order (QK, LM,
    SLN, SLD, ...), as a cold run writes them: the cache keeps a result's key order."""
    from fusemax.orchestrator import Cache
    from fusemax.pipeline import cached_result, store_result
    fresh = sweep.evaluate_point(sweep.Point("binding", "BERT", 1024), with_energy=False).result
    assert list(fresh.einsum_util)[:2] == ["QK", "LM"]
    store_result(Cache(tmp_path), "k" * 64, fresh, "label", "builtin")
    cached = cached_result(Cache(tmp_path), "k" * 64)
    assert cached is not None and list(cached.csv_row()) == list(fresh.csv_row())
