"""Sweep files (flags override them; bad keys are one clear error) and progress output (tqdm on a
terminal, plain lines otherwise)."""
from __future__ import annotations

import io
import json

import pytest

from fusemax.cli import main
from fusemax.errors import FusemaxError
from fusemax.orchestrator import Progress, load_sweep_file


def test_sweep_file_is_read_and_paths_are_relative_to_it(tmp_path):
    (tmp_path / "sweep.yaml").write_text("configs: [binding]\nmodels: BERT\nseq_lens: [1K, 4K]\n"
                                         "phase: decode\nmodels_file: zoo.yaml\n")
    spec = load_sweep_file(tmp_path / "sweep.yaml")
    assert (spec.configs, spec.models, spec.seq_lens, spec.phase) == (("binding",), ("BERT",), ("1K", "4K"),
                                                                      "decode")
    assert spec.models_file == str(tmp_path / "zoo.yaml")
    assert spec.merged(models=["T5"], phase=None).models == ["T5"]


@pytest.mark.parametrize("text, key", [("model: [BERT]\n", "model"), ("seq_lens: []\n", "seq_lens"),
                                       ("phase: [prefill]\n", "phase")])
def test_bad_sweep_file_names_file_and_key(text, key, tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    with pytest.raises(FusemaxError) as err:
        load_sweep_file(path)
    assert str(err.value).startswith(f"{path}: {key}: ")


def test_cli_runs_a_sweep_file_with_flags_overriding_it(tmp_path, capsys):
    (tmp_path / "sweep.yaml").write_text("configs: [binding, flat]\nmodels: [BERT]\nseq_lens: [1K]\n")
    out = tmp_path / "out"
    assert main(["run", "--sweep", str(tmp_path / "sweep.yaml"), "--configs", "binding", "--out", str(out),
                 "--jobs", "1"]) == 0
    assert sorted(p.name for p in (out / "results").glob("attn-*.csv")) == ["attn-binding.csv"]
    info = json.loads((out / "results" / "run.json").read_text())
    assert info["jobs"]["evaluated"] == 12 and (out / "runs" / "cache").is_dir()
    err = capsys.readouterr().err
    assert "12 jobs: 0 cached, 12 to evaluate" in err and "12/12 (100%)" in err


@pytest.mark.parametrize("argv, message", [
    (["--sweep", "nowhere.yaml"], "fusemax run: error: nowhere.yaml"),
    (["--scheduler", "tcp://h:1"], "fusemax run: error: --scheduler: --scheduler needs --executor dask"),
    (["--jobs", "-1"], "fusemax run: error: --jobs: expected 0"),
])
def test_cli_errors_are_one_line_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--out", "X", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message)


def test_timeloop_backend_without_timeloop_is_one_clear_error(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("TIMELOOP_MODEL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["run", "--out", str(tmp_path), "--backend", "timeloop", "--configs", "binding"]) == 2
    assert "timeloop-model is not installed" in capsys.readouterr().err


def test_plain_lines_with_rate_and_eta_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(4, stream, every_seconds=0)
    for _ in range(4):
        progress.update()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and lines[1].startswith("jobs: 2/4 (50%)")
    assert "jobs/s" in lines[1] and "ETA" in lines[1]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_tqdm_bar_on_a_terminal():
    stream = _Terminal()
    progress = Progress(4, stream, desc="evaluating")
    for _ in range(4):
        progress.update()
    progress.close()
    assert "evaluating: 100%" in stream.getvalue() and "4/4" in stream.getvalue()


def test_silent_without_a_stream():
    Progress(3, None).update()  # nothing to write to, nothing raised


def test_heartbeat_repeats_the_line_while_no_job_finishes():
    stream = io.StringIO()
    progress = Progress(3, stream, desc="evaluating", every_seconds=3600)
    progress.last -= 3600  # as if an hour passed without a finished job
    progress.beat()
    progress.close()
    assert stream.getvalue().startswith("evaluating: 0/3 (0%)") and "still running" in stream.getvalue()


def _cache_entries(out) -> int:
    return sum(1 for _ in (out / "runs" / "cache").glob("??/*.json"))


def test_a_point_that_cannot_be_planned_fails_fast_naming_it(tmp_path, capsys):
    """A 512-byte L3 (one row) cannot hold even the cascade's smallest tile (one query, 2 x (64 + 2 + 2 + 64)
    bytes, beside a one-key K/V block, 2 x 128 bytes):
    the run stops at that point with exit 2, before evaluating flat or unfused (planned first)."""
    out = tmp_path / "out"
    assert main(["run", "--out", str(out), "--models", "BERT", "--seq-lens", "1K", "--l3-bytes", "512",
                 "--jobs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fusemax run: error: point cascade BERT 1K prefill: --l3-bytes: ")
    assert "cannot hold" in err[0]
    assert _cache_entries(out) == 0 and not (out / "results").exists()


def test_every_hardware_variant_is_planned_before_any_runs(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--out", str(out), "--configs", "binding", "--models", "BERT", "--seq-lens", "1K",
                 "--l3-bytes", "16MiB,512", "--jobs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fusemax run: error: hardware l3_bytes=512B: point binding BERT 1K prefill: ")
    assert _cache_entries(out) == 0 and not list(out.glob("*/results"))


def test_planning_shows_progress_unless_quiet(tmp_path, capsys):
    argv = ["run", "--configs", "binding,flat", "--models", "BERT", "--seq-lens", "1K", "--jobs", "1"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "planning: 2/2 (100%)" in err and "points/s" in err
    assert err.index("planning:") < err.index("jobs: 0 cached")
    assert main([*argv, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_eta_prices_each_kind_of_job_at_its_own_pace(monkeypatch):
    """Two workers: 6 mapper searches of 10 s first, then 100 evaluations of 0.1 s (finishing every 0.05 s).
    The truth is the schedule's remaining time; one overall rate would say 510 s after the first 4 searches."""
    from fusemax.orchestrator import progress as progress_module
    clock = [0.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: clock[0])
    stream = io.StringIO()
    progress = Progress(106, stream, every_seconds=0, kinds=["mapper"] * 6 + ["model"] * 100)

    def finish(at: float, kind: str) -> str:
        clock[0] = at
        progress.update(kind=kind)
        return stream.getvalue().splitlines()[-1]

    finish(10, "mapper")
    assert finish(10, "mapper").endswith("ETA unknown")  # nothing has a pace yet
    finish(20, "mapper")
    # 2 searches left at 5 s each (two workers); the evaluations have no pace yet: a lower bound, not a guess
    assert finish(20, "mapper").endswith("ETA >10s")
    finish(30, "mapper")
    finish(30, "mapper")
    for k in range(1, 11):
        line = finish(30 + 0.05 * k, "model")
    assert line.endswith("ETA 4s")  # 90 evaluations x 0.05 s = 4.5 s
    for k in range(11, 101):
        line = finish(30 + 0.05 * k, "model")
    assert line.endswith("ETA 0s") and line.startswith("jobs: 106/106 (100%)")
