"""``fusemax run --backend timeloop`` end to end through the subprocess path: a stand-in ``timeloop-model``
that answers with ``fusemax model``'s Timeloop-format stats file gives the same result CSVs as the builtin
backend (the experiments use counts and cycles, which the stats file carries exactly)."""
from __future__ import annotations

import hashlib
import json
import stat
import sys
import textwrap

from fusemax.cli.run import execute

STAND_IN = textwrap.dedent("""\
    #!{python}
    import os, subprocess, sys
    open(os.environ["CALLS"], "a").write("call\\n")
    sys.exit(subprocess.run([sys.executable, "-m", "fusemax", "model", *sys.argv[1:], "-o", "."],
                            stdout=subprocess.DEVNULL).returncode)
""")


def test_timeloop_backend_sweep_equals_builtin(tmp_path, monkeypatch):
    exe = tmp_path / "timeloop-model"
    exe.write_text(STAND_IN.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("TIMELOOP_MODEL", str(exe))
    monkeypatch.setenv("CALLS", str(tmp_path / "calls"))
    sweep = (["binding", "flat"], ["BERT"], ["1K"])
    _, ours = execute(str(tmp_path / "builtin"), *sweep, jobs=2, quiet=True)
    _, real = execute(str(tmp_path / "timeloop"), *sweep, jobs=2, quiet=True, backend="timeloop")
    info = json.loads((real / "run.json").read_text())
    assert info["engine"] == "timeloop" and info["jobs"]["evaluated"] == len((tmp_path / "calls").read_text().split())
    # run.json names the binary that ran, by path and content hash
    model = info["tools"]["timeloop-model"]
    assert model["path"] == str(exe) and model["sha256"] == hashlib.sha256(exe.read_bytes()).hexdigest()
    assert "missing" in info["tools"]["timeloop-mapper"]
    for name in ("attn-binding.csv", "attn-flat.csv"):
        assert (real / name).read_bytes() == (ours / name).read_bytes()


def test_run_all_stages_all_use_the_chosen_backend(monkeypatch):
    """End-to-end and Pareto (like the attention sweep) key every job for the backend run_all was given."""
    from fusemax.experiments import end2end, pareto
    from fusemax.orchestrator import rendered
    seen = []
    real_make_job = rendered.make_job

    def spy(files, backend, version, label):
        seen.append(backend)
        return real_make_job(files, "builtin", version, label)   # evaluate on the builtin engine here

    monkeypatch.setattr(rendered, "backend_version", lambda backend, kind: f"{backend} {kind}")
    monkeypatch.setattr(rendered, "make_job", spy)
    end2end.end2end_rows("proposal", ["Pythia-14M"], [256], backend="timeloop")
    pareto.pareto_point("Pythia-14M", 16, seq_len=1024, backend="timeloop")
    assert seen and set(seen) == {"timeloop"}
