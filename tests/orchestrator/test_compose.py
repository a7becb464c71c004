"""docker-compose.yml validates with the docker compose CLI (no engine needed) and describes the two
pipelines: the slim-Python builtin run and the Timeloop-image run with ``--backend timeloop``."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _compose() -> list[str]:
    """`docker compose` (v2 plugin) or `docker-compose` (v1), whichever works here."""
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]) is None:
            continue
        probe = subprocess.run([*cmd, "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return cmd
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


def _config(*profile: str) -> dict:
    proc = subprocess.run([*_compose(), *profile, "config"], cwd=REPO, capture_output=True, text=True,
                          env={"PATH": os.environ.get("PATH", ""), "HOME": "/tmp"})
    assert proc.returncode == 0, f"docker compose config failed:\n{proc.stderr}"
    return yaml.safe_load(proc.stdout)


def _base_image(dockerfile: str) -> str:
    lines = (REPO / dockerfile).read_text().splitlines()
    return next(line.split()[1] for line in lines if line.startswith("FROM "))


def test_default_service_runs_run_all_on_slim_python_with_workspace_mounted():
    services = _config()["services"]
    svc = services["fusemax"]
    assert _base_image(svc["build"]["dockerfile"]) == "python:3.11-slim"
    assert svc["command"][:2] == ["python", "scripts/run_all.py"]
    assert any(str(v).startswith(f"{REPO / 'workspace'}:/work/fusemax/workspace") for v in svc["volumes"])
    assert "--backend" not in svc["command"]


def test_timeloop_profile_runs_the_same_pipeline_in_the_timeloop_image():
    svc = _config("--profile", "timeloop")["services"]["timeloop"]
    assert svc["profiles"] == ["timeloop"]
    assert _base_image(svc["build"]["dockerfile"]).startswith("timeloopaccelergy/timeloop-accelergy-pytorch:")
    assert svc["command"][1] == "scripts/run_all.py"
    assert svc["command"][-2:] == ["--backend", "timeloop"]
    assert any(str(v).endswith(":/work/fusemax/workspace:rw") or str(v).endswith(":/work/fusemax/workspace")
               for v in svc["volumes"])
