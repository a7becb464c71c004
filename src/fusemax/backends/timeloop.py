"""The ``timeloop`` backend: run the real ``timeloop-model`` / ``timeloop-mapper`` on rendered specs.

Executables: ``$TIMELOOP_MODEL`` / ``$TIMELOOP_MAPPER`` when set, else ``timeloop-model`` /
``timeloop-mapper`` on ``PATH``; a missing tool raises :class:`~fusemax.errors.ToolNotFoundError` saying
how to fix it. Each spec runs in its own temporary directory:

1. the spec files are written there (``arch.yaml``, ``problem.yaml``, ``mapping.yaml`` or
   ``constraints.yaml`` + ``mapper.yaml``, and ``ERT.yaml``/``ART.yaml`` when given);
2. when ``timeloopfe`` is importable, it turns the v0.4 files into the processed input Timeloop reads
   (``parsed-processed-input.yaml``), as the artifact's scripts do; without it the files are passed as they
   are (for Timeloop builds that read the v0.4 format themselves);
3. the tool runs as ``<tool> <inputs...> [ERT.yaml ART.yaml]`` inside ``<dir>/out`` (where Timeloop writes
   its outputs, as timeloopfe runs it), and
   ``timeloop-model.stats.txt`` (``timeloop-mapper.stats.txt`` for the mapper) is parsed with
   :mod:`fusemax.statsfile` into the same :class:`~fusemax.stats.Stats` the builtin engine returns; the
   mapper's best mapping is read back from ``timeloop-mapper.map.yaml`` when it writes one.

Without ``ERT.yaml``, Timeloop calls Accelergy itself when it is installed; the experiments price energy
from their own tables either way (:mod:`fusemax.experiments.energy`), so sweep results do not depend on it.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from fusemax.errors import FusemaxError, ToolNotFoundError
from fusemax.stats import Stats
from fusemax.statsfile import parse_stats_file

from .builtin import TABLE_FILES

TOOLS = {"timeloop-model": "TIMELOOP_MODEL", "timeloop-mapper": "TIMELOOP_MAPPER"}
#: Seconds one tool run may take before it is abandoned (the mapper searches; the model is quick).
TIMEOUT = {"timeloop-model": 600.0, "timeloop-mapper": 3600.0}
SPEC_FILES = ("arch.yaml", "problem.yaml", "mapping.yaml", "constraints.yaml", "mapper.yaml")


def find_tool(tool: str) -> str:
    """Path of ``tool`` (``timeloop-model`` or ``timeloop-mapper``): its environment variable, else PATH."""
    var = TOOLS[tool]
    env = os.environ.get(var)
    if env:
        found = env if Path(env).is_file() and os.access(env, os.X_OK) else shutil.which(env)
        if not found:
            raise ToolNotFoundError(f"{var}={env} is not an executable file", source=var)
        return found
    found = shutil.which(tool)
    if not found:
        raise ToolNotFoundError(f"{tool} is not installed (not on PATH and {var} is unset); install Timeloop "
                                f"(e.g. the timeloopaccelergy/timeloop-accelergy-pytorch image: "
                                f"docker compose --profile timeloop up) or set {var}=/path/to/{tool}, or use "
                                f"--backend builtin")
    return found


@lru_cache(maxsize=None)
def _file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _timeloopfe():
    """The timeloopfe package (standalone, or the copy inside pytimeloop), or None."""
    import importlib
    for name in ("timeloopfe", "pytimeloop.timeloopfe"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


class TimeloopBackend:
    name = "timeloop"

    def version(self, kind: str = "model") -> str:
        """The content hash of the binary that runs ``kind``'s jobs (and timeloopfe's version): another
        build, another cache key."""
        tool = "timeloop-model" if kind == "model" else "timeloop-mapper"
        exe = find_tool(tool)
        fe = _timeloopfe()
        fe_version = getattr(fe, "__version__", "present") if fe else "absent"
        return f"{tool} {_file_digest(os.path.realpath(exe))} timeloopfe {fe_version}"

    def evaluate(self, files: Mapping[str, str], source: str) -> Stats:
        if "mapping.yaml" not in files:
            raise FusemaxError("no mapping.yaml for timeloop-model (search one with map())", source=source)
        return self._run("timeloop-model", files, source)[0]

    def map(self, files: Mapping[str, str], source: str) -> tuple[Stats, str | None]:
        return self._run("timeloop-mapper", {n: t for n, t in files.items() if n != "mapping.yaml"}, source)

    def _run(self, tool: str, files: Mapping[str, str], source: str) -> tuple[Stats, str | None]:
        exe = find_tool(tool)
        with tempfile.TemporaryDirectory(prefix="fusemax-timeloop-") as tmp:
            work = Path(tmp)
            for name, text in files.items():
                (work / name).write_text(text)
            spec = [work / n for n in SPEC_FILES if n in files]
            spec += [work / n for n in files if n not in SPEC_FILES and n not in TABLE_FILES]
            inputs = _preprocess(spec, work, tool)
            inputs += [work / n for n in TABLE_FILES if n in files]
            out = work / "out"
            out.mkdir()
            return _call(exe, tool, inputs, out, source)


def _preprocess(spec: list[Path], work: Path, tool: str) -> list[Path]:
    """timeloopfe's processed input when timeloopfe is importable, else the files unchanged."""
    fe = _timeloopfe()
    if fe is None:
        return spec
    import importlib
    v4 = importlib.import_module(f"{fe.__name__}.v4")
    calls = importlib.import_module(f"{fe.__name__}.common.backend_calls")
    try:
        parsed = v4.Specification.from_yaml_files(*map(str, spec))
        # timeloopfe's own call_model runs "timeloop-model" from PATH; we only borrow its processing so
        # that TIMELOOP_MODEL is honoured and the run stays in our temporary directory.
        paths, _ = calls._pre_call(parsed, str(work / "fe"), for_model=tool == "timeloop-model")
    except Exception as exc:  # timeloopfe raises plain exceptions for bad specs
        raise FusemaxError(f"timeloopfe rejected the spec: {exc}", source=str(spec[0].parent)) from None
    return [Path(p) for p in paths]


_ERROR_RE = re.compile(r"^\s*ERROR:?\s*(.*)$", re.MULTILINE)


def _call(exe: str, tool: str, inputs: list[Path], out: Path, source: str) -> tuple[Stats, str | None]:
    cmd = [exe, *map(str, inputs)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT[tool], cwd=out)
    except OSError as exc:
        raise ToolNotFoundError(f"cannot run {tool}: {exc.strerror}", source=exe) from None
    except subprocess.TimeoutExpired:
        raise FusemaxError(f"{tool} did not finish within {TIMEOUT[tool]:g} s", source=source) from None
    stats_file = out / f"{tool}.stats.txt"
    if proc.returncode != 0 or not stats_file.is_file():
        text = f"{proc.stdout}\n{proc.stderr}"
        error = _ERROR_RE.search(text)
        if error and tool == "timeloop-model":
            # Timeloop rejects the mapping (capacity, fan-out): that is a result, like the builtin engine's.
            return Stats(valid=False, error=error.group(1).strip(), source=f"{tool} ({exe})"), None
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise FusemaxError(f"{tool} failed (exit {proc.returncode}) and wrote no {tool}.stats.txt:\n{tail}",
                           source=source)
    mapping = out / f"{tool}.map.yaml"
    return parse_stats_file(stats_file, origin=tool), mapping.read_text() if mapping.is_file() else None
