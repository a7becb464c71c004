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
