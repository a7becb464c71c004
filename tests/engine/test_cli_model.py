"""``fusemax model``: outputs and exit status."""
from __future__ import annotations

import json

import pytest

from fusemax.cli import main
from fusemax.energy.tables import load_ert
from fusemax.engine import evaluate, load_spec
from tests.shared_data import shared_dir

from .test_engine_units import CONV1D


def test_model_writes_stats_json_and_txt(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(CONV1D)
    assert main(["model", str(spec), "-o", str(tmp_path / "out")]) == 0
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["valid"] and stats["computes"] == 48
    assert "Buffer" in (tmp_path / "out" / "timeloop-model.stats.txt").read_text()


def test_model_invalid_mapping_exits_2(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(CONV1D.replace("depth: 64", "depth: 8"))
    assert main(["model", str(spec), "-o", str(tmp_path / "out")]) == 2
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["valid"] is False and "exceeds buffer capacity" in stats["error"]


def test_model_malformed_spec_is_one_line_error(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(CONV1D.replace("target: Buffer", "target: Nowhere"))
    assert main(["model", str(spec), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "unknown level 'Nowhere'" in err and str(spec) in err


def test_without_ert_energy_comes_from_the_architecture_like_accelergy(tmp_path):
    # The artifact's check run priced this architecture (proposal arch-2d, 16 nm) with real Accelergy; with
    # no --ert, `fusemax model` must estimate the same tables and so the same energy.
    case = shared_dir("conformance", "fusemax", "proposal__qk__arch-2d")
    ert = load_ert(shared_dir("reference", "fusemax-artifact", "check", "timeloop", "timeloop-model.ERT.yaml"))
    assert main(["model", str(case / "spec.yaml"), "-o", str(tmp_path)]) == 0
    ours = json.loads((tmp_path / "stats.json").read_text())["energy_pj"]
    assert ours == pytest.approx(evaluate(load_spec(case / "spec.yaml"), ert).energy_pj, rel=1e-9)


def test_unpriceable_architecture_warns_and_still_counts(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(CONV1D.replace("class: regfile", "class: mystery_memory"))
    assert main(["model", str(spec), "-o", str(tmp_path / "out")]) == 0
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["computes"] == 48 and stats["energy_pj"] == 0
    err = capsys.readouterr().err
    assert "warning: energies and areas are reported as 0" in err and "mystery_memory" in err


def test_model_reads_timeloop_mappers_map_yaml_spelling(tmp_path):
    """timeloop-mapper writes its best mapping with glued factors (``B64 E1``), ``type: datatype`` and the
    processed level names; ``fusemax model`` reads it back to the real tool's counts."""
    from fusemax import yamlio
    case = shared_dir("conformance", "fusemax", "baselines-flat__qk__arch-2d")
    spec = yamlio.loads((case / "spec.yaml").read_text())
    processed = yamlio.loads((case / "parsed-processed-input.yaml").read_text())["mapping"]
    mapped = []
    for d in processed:
        d = dict(d)
        if "factors" in d:
            d["factors"] = " ".join(f.replace("=", "") for f in d["factors"].split(","))
        if d["type"] == "bypass":
            d["type"] = "datatype"
        mapped.append(d)
    (tmp_path / "arch.yaml").write_text(yamlio.dumps({"architecture": spec["architecture"],
                                                      "problem": spec["problem"]}))
    (tmp_path / "map.yaml").write_text(yamlio.dumps({"mapping": mapped}))
    assert "B64" in (tmp_path / "map.yaml").read_text()
    assert main(["model", str(tmp_path / "arch.yaml"), str(tmp_path / "map.yaml"), "--ert", str(case / "ERT.yaml"),
                 "--art", str(case / "ART.yaml"), "-o", str(tmp_path / "out")]) == 0
    got = json.loads((tmp_path / "out" / "stats.json").read_text())
    want = json.loads((case / "expected.json").read_text())
    assert (got["computes"], got["cycles"]) == (want["computes"], want["cycles"])
    assert got["energy_pj"] == pytest.approx(want["energy_pj"], rel=1e-4)


def test_model_with_a_failing_accelergy_warns_and_uses_the_builtin_estimator(tmp_path, monkeypatch, capsys):
    """Accelergy 0.4 on PATH that cannot run on the architecture (here a stand-in failing as it did:
    ``Required key "global_cycle_seconds" not found``) must not stop ``fusemax model``."""
    exe = tmp_path / "accelergy"
    exe.write_text("#!/bin/sh\necho 'ERROR: Required key \"global_cycle_seconds\" not found' >&2\nexit 1\n")
    exe.chmod(0o755)
    spec = tmp_path / "spec.yaml"
    spec.write_text(CONV1D)
    assert main(["model", str(spec), "-o", str(tmp_path / "builtin")]) == 0
    monkeypatch.setenv("ACCELERGY", str(exe))
    assert main(["model", str(spec), "-o", str(tmp_path / "fallback")]) == 0
    err = capsys.readouterr().err
    assert "warning: Accelergy" in err and "global_cycle_seconds" in err and "builtin estimator" in err
    assert (json.loads((tmp_path / "fallback" / "stats.json").read_text())
            == json.loads((tmp_path / "builtin" / "stats.json").read_text()))


def _timeloop_folders(tmp_path):
    """render --for-timeloop folders of BERT 1K (binding): input.yaml, ERT.yaml, ART.yaml per Einsum."""
    assert main(["render", "--config", "binding", "--model", "BERT", "--seq-len", "1K", "-o", str(tmp_path / "v04"),
                 "--for-timeloop", str(tmp_path / "tl"), "--timeloop-keys", "v3.0.3"]) == 0
    return sorted(p for p in (tmp_path / "tl").iterdir() if p.is_dir())


def test_several_spec_folders_in_one_call_equal_one_call_each(tmp_path, capsys):
    folders = _timeloop_folders(tmp_path)[:4]
    assert main(["model", *map(str, folders), "-o", str(tmp_path / "all")]) == 0
    assert capsys.readouterr().out.count("fusemax model: ") == len(folders)
    for folder in folders:
        assert main(["model", str(folder / "input.yaml"), "--ert", str(folder / "ERT.yaml"), "--art",
                     str(folder / "ART.yaml"), "-o", str(tmp_path / "one" / folder.name)]) == 0
        for name in ("stats.json", "timeloop-model.stats.txt"):
            together = (tmp_path / "all" / folder.name / name).read_text()
            alone = (tmp_path / "one" / folder.name / name).read_text()
            if name.endswith(".txt"):  # the stats file names its inputs: relative vs the folder's list
                together, alone = together.split("\n", 3)[3], alone.split("\n", 3)[3]
            assert together == alone, (folder.name, name)


def test_folders_and_files_together_or_two_folders_of_one_name_are_refused(tmp_path, capsys):
    folders = _timeloop_folders(tmp_path)
    capsys.readouterr()
    assert main(["model", str(folders[0]), str(folders[1] / "input.yaml"), "-o", str(tmp_path / "o")]) == 2
    assert "give spec files (one spec) or folders (one spec each), not both" in capsys.readouterr().err
    twin = tmp_path / "other" / folders[0].name
    twin.mkdir(parents=True)
    (twin / "input.yaml").write_text((folders[0] / "input.yaml").read_text())
    assert main(["model", str(folders[0]), str(twin), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"two folders named {folders[0].name} would write the same OUTDIR/{folders[0].name}" in err


def test_model_with_its_tables_imports_nothing_heavy(tmp_path):
    """The drop-in's start-up: a `fusemax model` process with --ert/--art loads neither Jinja nor the energy
    estimators nor pandas, numpy or matplotlib (checked in a fresh interpreter)."""
    import subprocess
    import sys
    qk = _timeloop_folders(tmp_path)[0]
    code = ("import sys; from fusemax.cli import main; rc = main(sys.argv[1:]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jinja2', 'pandas', 'numpy', 'matplotlib') "
            "or m in ('fusemax.energy.accelergy', 'fusemax.energy.estimator', 'fusemax.configs', 'fusemax.workload')))")
    out = subprocess.run([sys.executable, "-c", code, "model", str(qk / "input.yaml"), "--ert", str(qk / "ERT.yaml"),
                          "--art", str(qk / "ART.yaml"), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"
