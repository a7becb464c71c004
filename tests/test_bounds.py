"""Issue 28: the engine's cost is linear in the number of storage levels, and sweeps announce their size
and refuse one past the documented caps."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from fusemax import yamlio
from fusemax.cli import main
from fusemax.configs import REGISTRY
from fusemax.engine import evaluate, nest, spec_from_dict

_BENCH = importlib.util.spec_from_file_location(
    "bench_levels", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_levels.py")
bench_levels = importlib.util.module_from_spec(_BENCH)
_BENCH.loader.exec_module(bench_levels)


def _loops_visited(levels: int, monkeypatch) -> int:
    """How many (rank, bound) loops the delta computation visits in one evaluation of a chain of
    ``levels`` storage levels (its inner loop: quadratic in the levels before issue 28)."""
    visited = 0
    real = nest.delta_multiplier

    def counting(ranks, loops):
        nonlocal visited
        loops = list(loops)
        visited += len(loops)
        return real(ranks, loops)

    monkeypatch.setattr(nest, "delta_multiplier", counting)
    spec = spec_from_dict(yamlio.loads(bench_levels.chain_spec(levels), "chain.yaml"), "chain.yaml")
    stats = evaluate(spec)
    assert stats.valid and stats.computes == 48    # R x P = 3 x 16 MACs, whatever the number of levels
    return visited


def test_the_delta_work_grows_linearly_with_the_levels(monkeypatch):
    small, large = _loops_visited(100, monkeypatch), _loops_visited(400, monkeypatch)
    # four times the levels: four times the work at most (a quadratic walk would be sixteen times)
    assert large <= 4 * small + 16


SWEEP = ["run", "--configs", "binding", "--models", "BERT"]


def test_a_sweep_announces_its_size(tmp_path, capsys):
    assert main([*SWEEP, "--seq-lens", "1K,4K", "--out", str(tmp_path), "--jobs", "1"]) == 0
    # two lengths share no spec: every Einsum of binding is a job of its own at each
    jobs = 2 * len(REGISTRY["binding"].einsums)
    assert f"fusemax run: 2 points (2 per hardware variant x 1 variant), {jobs} distinct jobs" in capsys.readouterr().err


@pytest.mark.parametrize("argv, flag, count", [
    (["--seq-lens", ",".join(str(1024 * i) for i in range(1, 12)), "--max-points", "10"], "--max-points", "11 points"),
    (["--seq-lens", "1K", "--pe-dim", "16,32,64", "--clock-hz", "1e9,2e9", "--max-variants", "5"], "--max-variants",
     "6 hardware variants"),
])
def test_a_sweep_past_its_cap_is_refused_before_any_work(tmp_path, capsys, argv, flag, count):
    assert main([*SWEEP, *argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fusemax run: error: {flag}: {count}") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_the_default_caps_refuse_two_million_points(tmp_path, capsys):
    sweep = tmp_path / "huge.yaml"
    lengths = ", ".join(str(512 * i) for i in range(1, 2001))
    sweep.write_text(f"configs: [binding, flat, cascade, unfused]\nmodels: [BERT, XLM, T5]\nseq_lens: [{lengths}]\n"
                     "hardware:\n  pe_dim: [16, 32, 64, 128, 256, 512, 1024, 2048]\n"
                     "  clock_hz: [1e9, 2e9, 3e9, 4e9, 5e9, 6e9, 7e9, 8e9, 9e9, 10e9]\n")
    assert main(["run", "--sweep", str(sweep), "--out", str(tmp_path / "out")]) == 2
    assert "1,920,000 points" in capsys.readouterr().err
