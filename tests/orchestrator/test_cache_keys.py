"""Cached results never survive a change of what they were computed from: a component table the mapper
prices with is part of the mapper jobs' key, and only theirs."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import fusemax
from fusemax.templates import template_root


def _package_copy(tmp: Path) -> Path:
    """A private copy of the installed fusemax (templates bundled), so its tables can be edited."""
    target = tmp / "site" / "fusemax"
    shutil.copytree(Path(fusemax.__file__).resolve().parent, target,
                    ignore=shutil.ignore_patterns("__pycache__"))
    if not (target / "_templates").is_dir():  # an editable install: the templates are at the repo root
        for folder in ("arch", "problems", "mappings"):
            shutil.copytree(template_root() / folder, target / "_templates" / folder)
    return target


def _run(site: Path, out: Path, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("FUSEMAX_CACHE", None)
    done = subprocess.run([sys.executable, "-m", "fusemax", "run", "--out", str(out), "--cache", str(cache),
                           "--configs", "unfused,binding", "--models", "BERT", "--seq-lens", "1K", "--quiet",
                           "--jobs", "1"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "results" / "run.json").read_text())


def test_an_edited_component_table_recomputes_the_mapper_jobs_only(tmp_path):
    package = _package_copy(tmp_path)
    cache = tmp_path / "cache"
    first = _run(package.parent, tmp_path / "a", cache)["jobs"]
    mapper_jobs = 2  # unfused QK and AV are searched; the other 16 specs have fixed mappings
    assert first["evaluated"] == first["jobs"] == 16 + mapper_jobs

    assert _run(package.parent, tmp_path / "b", cache)["jobs"]["cached"] == first["jobs"]

    # Scale every energy of the primitive tables, as a researcher trying other technology numbers would.
    table = package / "_templates" / "arch" / "components" / "primitives.yaml"
    text = table.read_text()
    scaled = re.sub(r"(energy: \{read: )([0-9.eE+-]+)", lambda m: f"{m[1]}{float(m[2]) * 3}", text)
    assert scaled != text
    table.write_text(scaled)
    edited = _run(package.parent, tmp_path / "c", cache)["jobs"]
    assert (edited["evaluated"], edited["cached"]) == (mapper_jobs, first["jobs"] - mapper_jobs)
