"""Issue 28: a run commits its results folder as a whole, and readers refuse a folder that mixes runs."""
from __future__ import annotations

import errno
import json
import shutil

import pytest

from fusemax import fileio, results
from fusemax.cli import main
from fusemax.errors import FusemaxError
from tests.experiments.test_results import _result

RUN = ["run", "--configs", "binding,flat", "--models", "BERT", "--quiet", "--seq-lens", "1K"]


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_full_disk_mid_run_keeps_the_previous_run_whole(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert main([*RUN, "--out", str(out)]) == 0
    before = _snapshot(out / "results")
    # the second run differs (a 4K row), and the disk fills after its first table is written
    writes = []
    real = fileio.write_text_atomic

    def full_disk(path, text, mode=fileio.FILE_MODE):
        writes.append(path)
        if len(writes) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, text, mode)

    monkeypatch.setattr(results, "write_text_atomic", full_disk)
    capsys.readouterr()
    assert main([*RUN[:-1], "1K,4K", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    monkeypatch.undo()
    assert _snapshot(out / "results") == before
    assert [p.name for p in out.iterdir() if "staging" in p.name] == []   # nothing left behind
    assert sorted(results.load(out)["binding"]["seq_len"]) == ["1K"]
    assert main(["report", str(out)]) == 0


def test_a_folder_mixing_two_runs_is_refused_naming_the_files(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    results.write(first, [_result()], {"engine": "one"})
    results.write(second, [_result(latency=0.5)], {"engine": "two"})
    # what a writer without the staging folder left after a failure: one table new, run.json old
    shutil.copy(second / "results" / "attn-binding.csv", first / "results" / "attn-binding.csv")
    with pytest.raises(FusemaxError, match=r"attn-binding\.csv not from the run that run\.json records") as caught:
        results.load(first)
    assert str(first / "results") in str(caught.value) and "einsums.csv" not in str(caught.value)
    assert main(["report", str(first)]) == 2
    assert "attn-binding.csv not from the run" in capsys.readouterr().err


def test_a_table_the_run_did_not_write_is_named(tmp_path):
    folder = results.write(tmp_path, [_result()], {"engine": "one"})
    (folder / "attn-flat.csv").write_bytes((folder / "attn-binding.csv").read_bytes())
    with pytest.raises(FusemaxError, match=r"attn-flat\.csv not from the run"):
        results.load(tmp_path)


def test_a_folder_written_before_manifests_still_loads(tmp_path):
    folder = results.write(tmp_path, [_result()], {"engine": "one"})
    info = json.loads((folder / "run.json").read_text())
    del info["manifest"], info["run_id"]
    (folder / "run.json").write_text(json.dumps(info))
    assert results.load(tmp_path)["binding"]["latency"].tolist() == [0.002]


def test_each_run_gets_its_own_id_and_a_manifest_of_every_table(tmp_path):
    import hashlib
    folder = results.write(tmp_path, [_result()], {"engine": "one"})
    results.write_pareto(tmp_path, [])
    info = json.loads((folder / "run.json").read_text())
    assert info["manifest"] == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.csv")}
    assert set(info["manifest"]) == {"attn-binding.csv", "einsums.csv", "pareto.csv"}
    first_id = info["run_id"]
    results.write(tmp_path, [_result(phase="decode")], {"engine": "two", "phase": "decode"})
    info = json.loads((folder / "run.json").read_text())
    assert info["run_id"] != first_id and "attn-binding-decode.csv" in info["manifest"]
    assert set(results.load(tmp_path).keys()) == {"binding", "binding-decode"}
