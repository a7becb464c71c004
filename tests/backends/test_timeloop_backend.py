"""The ``timeloop`` backend's subprocess path, exercised with a stand-in executable that replays real
``timeloop-model`` v3.0.3 outputs (``shared/conformance`` and the artifact's check run), and its Stats
compared with the builtin engine's on the same specs."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from fusemax import yamlio
from fusemax.backends import get_backend, timeloop
from fusemax.errors import FusemaxError, ToolNotFoundError
from fusemax.stats import Stats
from fusemax.orchestrator import Cache, LocalExecutor, make_job, run_jobs

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared").resolve()
CORPUS = SHARED / "conformance"
CHECK = SHARED / "reference" / "fusemax-artifact" / "check" / "timeloop"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from compare import COUNT_KEYS, compare  # noqa: E402  (the corpus comparison of the conformance tests)

#: The stand-in: records how it was called; like Timeloop v3.0.3 (whose key strings it carries, so the
#: backend detects that spelling) it fails on input it cannot read (v0.4 ``nodes:``, ``data_spaces``); then it
#: replays REPLAY_DIR's recorded output into its cwd (or prints the recorded ERROR line and exits with the
#: recorded status, like timeloop-model).
STAND_IN = textwrap.dedent("""\
    #!{python}
    # Timeloop v3.0.3 looks up "data-spaces" and "read-write"
    import json, os, shutil, sys
    tool = os.path.basename(sys.argv[0])
    with open(os.environ["REPLAY_LOG"], "a") as log:
        log.write(json.dumps({{"tool": tool, "argv": sys.argv[1:], "cwd": os.getcwd(),
                              "inputs_exist": all(os.path.isfile(a) for a in sys.argv[1:])}}) + "\\n")
    text = open(sys.argv[1]).read()
    if "subtree:" not in text or "data-spaces:" not in text:
        print("ERROR: key not found: data-spaces")
        sys.exit(1)
    src = os.environ["REPLAY_DIR"]
    expected = json.load(open(os.path.join(src, "expected.json"))) if os.path.isfile(
        os.path.join(src, "expected.json")) else {{"valid": True}}
    if not expected["valid"]:
        print(expected["error"])
        sys.exit(expected.get("exit_code", 1))
    if os.environ.get("REPLAY_CRASH"):
        sys.stderr.write("Segmentation fault\\n")
        sys.exit(139)
    prefix = "timeloop-mapper" if tool == "timeloop-mapper" else "timeloop-model"
    shutil.copy(os.path.join(src, "timeloop-model.stats.txt"), prefix + ".stats.txt")
    if prefix == "timeloop-mapper":
        open("timeloop-mapper.map.yaml", "w").write(os.environ["REPLAY_MAPPING"])
""")


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not found (the shared reference folder beside the checkout)")


@pytest.fixture
def tools(tmp_path, monkeypatch):
    """timeloop-model / timeloop-mapper stand-ins on TIMELOOP_MODEL / TIMELOOP_MAPPER; returns the call log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, var in timeloop.TOOLS.items():
        exe = bin_dir / tool
        exe.write_text(STAND_IN.format(python=sys.executable))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv(var, str(exe))
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("REPLAY_LOG", str(log))
    # fusemax's own front end and the detected key spelling, also on machines with timeloopfe or settings.
    monkeypatch.setattr(timeloop, "_timeloopfe", lambda: None)
    for var in ("FUSEMAX_TIMELOOP_FRONTEND", "TIMELOOP_KEYS", *timeloop.BUDGET):
        monkeypatch.delenv(var, raising=False)
    return log


def _split(spec_text: str, source: str) -> dict[str, str]:
    """A one-file spec as the rendered files: problem.yaml, mapping.yaml and everything else as arch.yaml."""
    data = yamlio.loads(spec_text, source=source)
    files = {"problem.yaml": yamlio.dumps({"problem": data.pop("problem")}),
             "mapping.yaml": yamlio.dumps({"mapping": data.pop("mapping")})}
    files["arch.yaml"] = yamlio.dumps(data)
    return files


def _case_files(case: Path) -> dict[str, str]:
    files = _split((case / "spec.yaml").read_text(), str(case))
    files.update({"ERT.yaml": (case / "ERT.yaml").read_text(), "ART.yaml": (case / "ART.yaml").read_text()})
    return files


def _cases(subset: str, keep) -> list[str]:
    root = CORPUS / subset
    if not root.is_dir():
        return ["<corpus missing>"]
    return [f"{subset}/{c.name}" for c in sorted(root.iterdir()) if (c / "expected.json").is_file() and keep(c)]


FUSEMAX_BASE = _cases("fusemax", lambda c: "__Bx" not in c.name)
INVALID = _cases("random", lambda c: not json.loads((c / "expected.json").read_text())["valid"])[:4]


@pytest.mark.parametrize("case", FUSEMAX_BASE)
def test_replayed_corpus_case_equals_builtin(case, tools, monkeypatch):
    folder = CORPUS / case
    _need(folder)
    monkeypatch.setenv("REPLAY_DIR", str(folder))
    files = _case_files(folder)
    real = get_backend("timeloop").evaluate(files, case)
    # The replay parsed the real tool's output ...
    assert real.source == "timeloop-model"
    want = json.loads((folder / "expected.json").read_text())
    assert not compare(real.to_json(), want)
    # ... and the builtin engine gives the same numbers on the same files.
    ours = get_backend("builtin").evaluate(files, case)
    diffs = compare(ours.to_json(), real.to_json())
    assert not diffs, "\n".join(diffs[:10])
    # The tool got the processed input and the tables, and ran in its own output folder.
    call = json.loads(tools.read_text().splitlines()[-1])
    names = [Path(a).name for a in call["argv"]]
    assert names == ["input.yaml", "ERT.yaml", "ART.yaml"]
    assert call["inputs_exist"] and Path(call["cwd"]).name == "out"


def test_replayed_artifact_check_run_equals_builtin(tools, monkeypatch, tmp_path):
    _need(CHECK)
    replay = tmp_path / "replay"
    replay.mkdir()
    (replay / "timeloop-model.stats.txt").write_text((CHECK / "timeloop-model.stats.txt").read_text())
    monkeypatch.setenv("REPLAY_DIR", str(replay))
    files = _split((CHECK / "parsed-processed-input.yaml").read_text(), str(CHECK))
    files["ERT.yaml"] = (CHECK / "timeloop-model.ERT.yaml").read_text()
    real = get_backend("timeloop").evaluate(files, "check")
    ours = get_backend("builtin").evaluate(files, "check")
    assert real.valid and real.computes > 0
    # The check run comes from a newer Timeloop than the corpus: it hides levels without accesses and adds
    # leakage to energies, so compare what both versions define the same way: the counts.
    assert (ours.computes, ours.cycles) == (real.computes, real.cycles)
    for level, want in real.levels.items():
        for ds, counts in want.dataspaces.items():
            got = ours.levels[level].dataspaces[ds]
            assert {k: getattr(got, k) for k in COUNT_KEYS} == {k: getattr(counts, k) for k in COUNT_KEYS}, \
                f"{level}/{ds}"


@pytest.mark.parametrize("case", INVALID)
def test_rejected_mapping_is_a_result_with_the_tools_reason(case, tools, monkeypatch):
    folder = CORPUS / case
    _need(folder)
    monkeypatch.setenv("REPLAY_DIR", str(folder))
    files = _case_files(folder)
    real = get_backend("timeloop").evaluate(files, case)
    want = json.loads((folder / "expected.json").read_text())
    assert not real.valid and real.error == want["error"].removeprefix("ERROR: ")
    assert not compare(get_backend("builtin").evaluate(files, case).to_json(), real.to_json())


def test_crash_without_output_is_an_error_with_the_tools_stderr(tools, monkeypatch):
    folder = CORPUS / FUSEMAX_BASE[0]
    _need(folder)
    monkeypatch.setenv("REPLAY_DIR", str(folder))
    monkeypatch.setenv("REPLAY_CRASH", "1")
    with pytest.raises(FusemaxError, match=r"timeloop-model \(.*\) failed \(exit 139\)[\s\S]*Segmentation fault"):
        get_backend("timeloop").evaluate(_case_files(folder), "case")


def test_mapper_returns_replayed_stats_and_best_mapping(tools, monkeypatch):
    folder = CORPUS / FUSEMAX_BASE[0]
    _need(folder)
    files = _case_files(folder)
    mapping = files.pop("mapping.yaml")
    monkeypatch.setenv("REPLAY_DIR", str(folder))
    monkeypatch.setenv("REPLAY_MAPPING", mapping)
    files.update({"constraints.yaml": "constraints: {targets: []}\n", "mapper.yaml": "mapper: {}\n"})
    stats, best = get_backend("timeloop").map(files, "case")
    assert stats.source == "timeloop-mapper" and best == mapping
    assert not compare(stats.to_json(), json.loads((folder / "expected.json").read_text()))
    call = json.loads(tools.read_text().splitlines()[-1])
    assert call["tool"] == "timeloop-mapper"
    assert [Path(a).name for a in call["argv"]] == ["input.yaml", "ERT.yaml", "ART.yaml"]


def test_missing_tool_says_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.delenv("TIMELOOP_MODEL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match="timeloop-model is not installed.*TIMELOOP_MODEL=.*--backend builtin"):
        get_backend("timeloop").version()
    monkeypatch.setenv("TIMELOOP_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(ToolNotFoundError, match="TIMELOOP_MODEL=.*nowhere is not an executable"):
        get_backend("timeloop").evaluate({"mapping.yaml": ""}, "x")


def test_version_follows_the_binary(tools, tmp_path, monkeypatch):
    first = get_backend("timeloop").version()
    other = tmp_path / "bin" / "timeloop-model-2"
    other.write_text(Path(os.environ["TIMELOOP_MODEL"]).read_text() + "# another build\n")
    other.chmod(0o755)
    monkeypatch.setenv("TIMELOOP_MODEL", str(other))
    assert get_backend("timeloop").version() != first


def _job(files, label="job"):
    engine = get_backend("timeloop")
    return make_job(files, "timeloop", engine.version("model" if "mapping.yaml" in files else "mapper"), label)


def test_a_tool_error_is_reported_with_its_log_and_never_cached(tools, monkeypatch, tmp_path):
    folder = CORPUS / FUSEMAX_BASE[0]
    _need(folder)
    monkeypatch.setenv("REPLAY_DIR", str(folder))
    monkeypatch.setenv("TIMELOOP_KEYS", "current")  # the wrong spelling for this (v3.0.3) stand-in
    cache = Cache(tmp_path / "cache")
    job = _job(_case_files(folder))
    first = run_jobs([job], LocalExecutor(1), cache)
    assert "timeloop-model" in first.errors[job.key] and "key not found: data-spaces" in first.errors[job.key]
    assert cache.get(job.key) is None
    again = run_jobs([job], LocalExecutor(1), cache)
    assert again.counts.evaluated == 1 and again.counts.cached == 0


def test_a_mapping_rejection_is_a_cached_result(tools, monkeypatch, tmp_path):
    folder = CORPUS / INVALID[0]
    _need(folder)
    monkeypatch.setenv("REPLAY_DIR", str(folder))
    cache = Cache(tmp_path / "cache")
    job = _job(_case_files(folder))
    first = run_jobs([job], LocalExecutor(1), cache)
    assert not first.errors and not first.stats[job.key].valid
    assert cache.get(job.key) is not None
    again = run_jobs([job], LocalExecutor(1), cache)
    assert again.counts.cached == 1 and not again.stats[job.key].valid
    assert again.stats[job.key].error == json.loads((folder / "expected.json").read_text())["error"].removeprefix(
        "ERROR: ")


def test_model_jobs_run_before_mapper_searches(tools, monkeypatch):
    folder = CORPUS / FUSEMAX_BASE[0]
    _need(folder)
    files = _case_files(folder)
    monkeypatch.setenv("REPLAY_DIR", str(folder))
    monkeypatch.setenv("REPLAY_MAPPING", files["mapping.yaml"])
    search = {n: t for n, t in files.items() if n != "mapping.yaml"}
    search.update({"constraints.yaml": "constraints: {targets: []}\n", "mapper.yaml": "mapper: {}\n"})
    run_jobs([_job(search, "search"), _job(files, "model")], LocalExecutor(1))
    assert [json.loads(line)["tool"] for line in tools.read_text().splitlines()] == ["timeloop-model",
                                                                                      "timeloop-mapper"]


def test_mapper_jobs_are_keyed_by_the_mapper_binary_and_its_budget(tools, tmp_path, monkeypatch):
    model, search = get_backend("timeloop").version(), get_backend("timeloop").version("mapper")
    other = tmp_path / "bin" / "timeloop-mapper-2"
    other.write_text(Path(os.environ["TIMELOOP_MAPPER"]).read_text() + "# another build\n")
    other.chmod(0o755)
    monkeypatch.setenv("TIMELOOP_MAPPER", str(other))
    assert get_backend("timeloop").version() == model
    rebuilt = get_backend("timeloop").version("mapper")
    assert rebuilt != search
    monkeypatch.setenv("FUSEMAX_MAPPER_SEARCH_SIZE", "500")
    assert get_backend("timeloop").version("mapper") != rebuilt
    assert get_backend("timeloop").version() == model
    info = get_backend("timeloop").tools()
    assert info["timeloop-mapper"]["path"] == str(other) and info["timeloop-model"]["keys"] == "v3.0.3"
    assert info["timeloop-mapper"]["sha256"] == hashlib.sha256(other.read_bytes()).hexdigest()


def test_the_mapper_budget_reaches_the_tool(tools, monkeypatch, tmp_path):
    folder = CORPUS / FUSEMAX_BASE[0]
    _need(folder)
    files = _case_files(folder)
    monkeypatch.setenv("REPLAY_DIR", str(folder))
    monkeypatch.setenv("REPLAY_MAPPING", files.pop("mapping.yaml"))
    files.update({"constraints.yaml": "constraints: {targets: []}\n", "mapper.yaml": "mapper: {num_threads: 2}\n"})
    monkeypatch.setenv("FUSEMAX_MAPPER_SEARCH_SIZE", "700")
    seen = tmp_path / "seen.yaml"
    monkeypatch.setattr(timeloop, "_call", lambda exe, tool, inputs, out, source, seconds: (
        seen.write_text(inputs[0].read_text()), (Stats(valid=False, error="x"), None))[1])
    get_backend("timeloop").map(files, "case")
    assert yamlio.load(seen)["mapper"] == {"version": "0.4", "num-threads": 2, "search-size": 700}


def test_the_time_budget_interrupts_the_mapper_which_writes_its_best(tools, monkeypatch, tmp_path):
    """The stand-in searches until SIGINT, then writes its output, as timeloop-mapper does."""
    folder = CORPUS / FUSEMAX_BASE[0]
    _need(folder)
    files = _case_files(folder)
    mapping = files.pop("mapping.yaml")
    files.update({"constraints.yaml": "constraints: {targets: []}\n", "mapper.yaml": "mapper: {}\n"})
    exe = tmp_path / "bin" / "timeloop-mapper"
    exe.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        # "data-spaces"
        import signal
        stop = []
        signal.signal(signal.SIGINT, lambda *a: stop.append(1))
        import shutil, time  # after the handler: on a loaded machine the budget may end during imports
        while not stop:
            time.sleep(0.01)
        shutil.copy({str(folder / "timeloop-model.stats.txt")!r}, "timeloop-mapper.stats.txt")
        open("timeloop-mapper.map.yaml", "w").write({mapping!r})
        """))
    monkeypatch.setenv("FUSEMAX_MAPPER_SECONDS", "0.2")
    stats, best = get_backend("timeloop").map(files, "case")
    assert stats.valid and best == mapping
