"""The accelergy backend, exercised through a stand-in executable that replays recorded outputs."""
from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from fusemax import yamlio
from fusemax.energy import reference_tables
from fusemax.energy.accelergy import accelergy_input, find_accelergy, run_accelergy
from fusemax.energy.actions import load_action_counts
from fusemax.errors import FusemaxError, ToolNotFoundError

from .conftest import rel_err

# A stand-in for `accelergy <inputs...> -o <outdir>`: records its arguments and inputs, then copies
# recorded ERT.yaml / ART.yaml (and energy_estimation.yaml when action counts are among the inputs)
# from $REPLAY_DIR into <outdir>. Exit code from $REPLAY_EXIT (default 0).
STAND_IN = """\
import json, os, shutil, sys
args = sys.argv[1:]
out = args[args.index("-o") + 1]
inputs = [a for a in args[:args.index("-o")]]
log = {"args": args, "inputs": {os.path.basename(p): open(p).read() for p in inputs}}
with open(os.environ["REPLAY_LOG"], "w") as f:
    json.dump(log, f)
code = int(os.environ.get("REPLAY_EXIT", "0"))
if code:
    sys.stderr.write("ERROR: replayed failure\\n")
    sys.exit(code)
src = os.environ["REPLAY_DIR"]
names = ["ERT.yaml", "ART.yaml"]
if any(os.path.basename(p) == "action_counts.yaml" for p in inputs):
    names.append("energy_estimation.yaml")
for name in names:
    shutil.copy(os.path.join(src, name), os.path.join(out, name))
"""


@pytest.fixture()
def stand_in(tmp_path, monkeypatch) -> Path:
    exe = tmp_path / "accelergy"
    exe.write_text(f"#!{sys.executable}\n{STAND_IN}")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("REPLAY_LOG", str(tmp_path / "log.json"))
    monkeypatch.setenv("ACCELERGY", str(exe))
    return exe


def _log(tmp_path) -> dict:
    return json.loads((tmp_path / "log.json").read_text())


def test_missing_executable_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("ACCELERGY", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    with pytest.raises(ToolNotFoundError, match="ACCELERGY"):
        find_accelergy()
    monkeypatch.setenv("ACCELERGY", str(tmp_path / "nope"))
    with pytest.raises(ToolNotFoundError, match="nope"):
        find_accelergy()


def test_replayed_check_run(artifact, area_energy, stand_in, tmp_path, monkeypatch):
    # The check's Accelergy run: timeloopfe arch + the artifact's compound classes + its action counts.
    monkeypatch.setenv("REPLAY_DIR", str(artifact / "check" / "accelergy_energy"))
    arch = area_energy / "architecture" / "accel_fusemax" / "accel-top-1d-path.yaml"
    classes = sorted((area_energy / "architecture" / "components").glob("*.yaml"))
    counts = load_action_counts(area_energy / "architecture" / "pseudo" / "action_counts.yaml")
    result = run_accelergy(arch, compound_components=classes, action_counts=counts)

    want = yamlio.load(artifact / "check" / "accelergy_energy" / "energy_estimation.yaml")
    assert result.energy_pj == pytest.approx(want["energy_estimation"]["Total"], rel=1e-12)
    assert result.breakdown["mac"] == pytest.approx(981410361901.056, rel=1e-12)
    assert result.ert.energy("reg_file", "read") == pytest.approx(2.194455)
    assert result.art.instances("reg_file") == 256

    log = _log(tmp_path)
    assert log["args"][-2] == "-o"
    spec = yamlio.loads(log["inputs"]["input.yaml"])
    local = spec["architecture"]["subtree"][0]["local"]
    assert [c["name"] for c in local] == ["inter_PE_spatial[1..1]", "reg_file[1..256]", "max[1..256]",
                                          "add[1..256]", "mac[1..256]", "divide[1..256]"]
    assert local[1]["class"] == "smartbuffer_RF" and local[1]["attributes"]["depth"] == 32
    assert {c["name"] for c in spec["compound_components"]["classes"]} >= {"smartbuffer_RF", "fpmac"}
    sent = yamlio.loads(log["inputs"]["action_counts.yaml"])
    assert sent["action_counts"]["local"][0]["name"] == "system_top_level.reg_file[1]"


def test_accelergy_input_passes_accelergy_format_through(area_energy):
    inp = area_energy / "outputs-2d-flat" / "inputs" / "input.yaml"
    spec = accelergy_input(inp)
    assert spec["architecture"] == yamlio.load(inp)["architecture"]
    assert spec["compound_components"]["classes"]  # kept from the input


def test_backend_selection_and_agreement(area_energy, stand_in, monkeypatch):
    out = area_energy / "outputs-2d-fusemax"
    monkeypatch.setenv("REPLAY_DIR", str(out))
    arch = out / "inputs" / "input.yaml"
    ert_a, art_a = reference_tables(arch, backend="auto")       # ACCELERGY is set: the stand-in runs
    assert ert_a.source.startswith("accelergy")
    ert_b, art_b = reference_tables(arch, backend="builtin")
    for comp, actions in ert_a.actions.items():
        for action, e in actions.items():
            assert rel_err(ert_b.energy(comp, action), e) < 0.01
    for comp, a in art_a.areas.items():
        assert rel_err(art_b.area(comp), a) < 0.01


def test_failing_run_reports_stderr(area_energy, stand_in, monkeypatch):
    monkeypatch.setenv("REPLAY_DIR", str(area_energy / "outputs-1d-flat"))
    monkeypatch.setenv("REPLAY_EXIT", "3")
    with pytest.raises(FusemaxError, match="replayed failure"):
        run_accelergy(area_energy / "outputs-1d-flat" / "inputs" / "input.yaml")


def test_workdir_keeps_inputs_and_outputs(area_energy, stand_in, monkeypatch, tmp_path):
    monkeypatch.setenv("REPLAY_DIR", str(area_energy / "outputs-1d-flat"))
    work = tmp_path / "work"
    run_accelergy(area_energy / "outputs-1d-flat" / "inputs" / "input.yaml", workdir=work)
    assert (work / "input.yaml").is_file() and (work / "out" / "ERT.yaml").is_file()
