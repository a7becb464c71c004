"""The study runner: every point of its grid, whole layer, both phases and batches in one folder."""
from __future__ import annotations

import pytest

from fusemax import results
from fusemax.experiments import study
from fusemax.orchestrator import Cache

GRID = {"models": ("Pythia-14M",), "lengths": (1, 256), "phases": ("prefill", "decode"), "batches": (1, 4)}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return study.run_study(**GRID, jobs=1, cache=Cache(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def written(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    folder = results.write_study(out, run, {"note": "test"})
    return out, folder, results.load_study(out / "study")


def test_every_point_has_its_whole_layer(run, written):
    layer = written[2].layer
    assert run.failed == []
    assert len(layer) == len(study.CONFIGS) * 2 * 2 * 2
    keys = set(zip(layer.config, layer.seq_len, layer.phase, layer.batch))
    assert len(keys) == len(layer)  # no point twice
    # the layer's FLOPs grow with the batch: 4 sequences do 4x one sequence's work, in either phase
    by = layer.set_index(["config", "seq_len", "phase", "batch"])["flops"]
    for config in study.CONFIGS:
        for phase in GRID["phases"]:
            assert by[(config, "256", phase, 4)] == 4 * by[(config, "256", phase, 1)]


def test_einsums_and_rooflines_keep_both_batches(written):
    loaded = written[2]
    assert set(loaded.einsums.batch) == {1, 4} and set(loaded.roofline.batch) == {1, 4}
    groups = set(loaded.einsums.group)
    assert {"attention", "projection", "mlp", "elementwise"} <= groups


def test_written_folder_loads_and_the_headline_is_per_phase(run, written):
    out, folder, loaded = written
    assert folder == out / "study" / "results"
    assert len(loaded.layer) == len(run.layer) and loaded.run["note"] == "test"
    text = study.format_study_headline(run.layer, lengths=(1, 256))
    assert "binding over flat (decode)" in text and "binding over flat " in text
    assert "batch 1 " in text and "batch 4 " in text


def test_a_warm_rerun_serves_every_point_whole_without_rendering(run, tmp_path_factory, monkeypatch):
    """The second run over the same cache takes each point's and each layer's combined result from it (no
    render, no job) and writes byte-identical tables; other hardware is another key, so it misses."""
    import fusemax.render as render_module
    cache_dir = tmp_path_factory.mktemp("warm-cache")
    cold = study.run_study(**GRID, jobs=1, cache=Cache(cache_dir))

    def no_render(*args, **kwargs):
        raise AssertionError("a cached point was rendered")
    monkeypatch.setattr(render_module, "render", no_render)
    warm = study.run_study(**GRID, jobs=1, cache=Cache(cache_dir))
    assert [(j["cached_points"], j["jobs"]) for j in warm.jobs] == [(len(study.CONFIGS) * 2 * 4, 0)]
    assert len(warm.results) == len(cold.results) == len(study.CONFIGS) * 2 * 4 + 2 * 2 * 4  # + rest per platform
    folders = []
    for name, done in (("cold", cold), ("warm", warm)):
        out = tmp_path_factory.mktemp(name)
        folders.append(results.write_study(out, done, {"note": "test"}))
    for table in ("layer.csv", "einsums.csv", "roofline.csv"):
        assert (folders[0] / table).read_bytes() == (folders[1] / table).read_bytes(), table
    from fusemax.workload import Hardware
    with pytest.raises(AssertionError, match="was rendered"):
        study.run_study(**GRID, jobs=1, cache=Cache(cache_dir), hardware=Hardware(dram_bandwidth=1e11))


def test_a_cached_result_that_is_not_one_is_rejected_and_recomputed(tmp_path):
    """An entry under a point's or a layer's key that passes its checksum yet holds no result counts as
    corrupt: it is rejected and the result recomputed, for attention points and the rest of the layer alike."""
    from fusemax.experiments import layer, sweep
    from fusemax.workload import Hardware, Workload, resolve_model
    grid = {"configs": ("binding",), "models": ("Pythia-14M",), "lengths": (16,), "phases": ("prefill",),
            "batches": (1,)}
    truth = study.run_study(**grid, jobs=1, cache=Cache(tmp_path / "truth"))
    point = sweep.points(["binding"], ["Pythia-14M"], [16], "prefill", 1)[0]
    workload = Workload(resolve_model("Pythia-14M", None), 16, "prefill", 1)
    keys = [sweep.point_key(point, workload, Hardware(), "builtin"),
            layer._rest_key("proposal", workload, Hardware(), "builtin", layer.DEFAULT_LAYER_FUSION)]
    forged = Cache(tmp_path / "forged")
    for key in keys:
        forged.put(key, {"config_result": {"config": "binding"}})  # valid checksum, not a result
    cache = Cache(tmp_path / "forged")
    again = study.run_study(**grid, jobs=1, cache=cache)
    assert sorted(map(str, cache.rejected)) == sorted(str(cache.path(k)) for k in keys)
    assert again.layer == truth.layer


def test_attention_alone_at_long_lengths_next_to_the_layer_grid(tmp_path):
    """--study-attention-to: attention rows at the long lengths (einsums, roofline), layer rows only on the
    layer grid; the long attention is the same result as a plain sweep of that point."""
    from fusemax.experiments import sweep
    run = study.run_study(models=("Pythia-14M",), lengths=(256,), phases=("decode",), batches=(1,),
                          attention_lengths=(8192,), jobs=1, cache=Cache(tmp_path / "cache"))
    results.write_study(tmp_path, run, {})
    loaded = results.load_study(tmp_path / "study")
    assert set(loaded.layer.seq_len.astype(str)) == {"256"}
    assert {"256", "8K"} <= set(loaded.roofline.seq_len.astype(str))
    attention = [r for r in run.results if r.seq_len == "8K"]
    assert sorted(r.config for r in attention) == sorted(study.CONFIGS)
    alone = sweep.run_points(sweep.points(["binding"], ["Pythia-14M"], [8192], "decode", 1), jobs=1).outcomes[0]
    ours = next(r for r in attention if r.config == "binding")
    assert (ours.latency, ours.traffic, ours.energy) == (alone.result.latency, alone.result.traffic,
                                                         alone.result.energy)


def test_long_lengths_are_the_powers_of_two_past_4k():
    assert study.long_lengths(2 ** 20) == tuple(2 ** k for k in range(13, 21))
    assert study.long_lengths(4096) == () and study.long_lengths(10000) == (8192,)


def test_result_json_is_dataclasses_asdict(run):
    """ConfigResult.to_json is written by hand for speed: it must be exactly dataclasses.asdict (the
    independent truth), for attention and for the layer's rest (energy breakdowns, params), and a copy."""
    from dataclasses import asdict
    for result in run.results:
        data = result.to_json()
        assert data == asdict(result)
        data["einsums"][0]["energy_breakdown"]["x"] = 1.0
        data["params"]["x"] = 1
        assert "x" not in result.einsums[0].energy_breakdown and "x" not in result.params
    assert any(r.config == "proposal" for r in run.results) and any(r.config == "binding" for r in run.results)
