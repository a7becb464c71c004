"""The ``timeloop`` backend: run the real ``timeloop-model`` / ``timeloop-mapper`` on rendered specs.

Executables: ``$TIMELOOP_MODEL`` / ``$TIMELOOP_MAPPER`` when set, else ``timeloop-model`` /
``timeloop-mapper`` on ``PATH``; a missing tool raises :class:`~fusemax.errors.ToolNotFoundError` saying
how to fix it. Each spec runs in its own temporary directory:

1. the rendered v0.4 files become the input a plain binary reads (:mod:`.timeloop_input`): the processed
   ``subtree``/``local`` architecture, Timeloop's mapping directives, the keys spelled as the binary reads
   them (v3.0.3's ``data-spaces`` or current Timeloop's ``data_spaces``, detected from the binary and its
   libraries, :func:`key_spelling`; ``$TIMELOOP_KEYS`` overrides), and fusemax's own ``ERT.yaml``/``ART.yaml``
   unless the spec brings them, so Timeloop never runs Accelergy and both mappers optimise the same energies. With
   ``FUSEMAX_TIMELOOP_FRONTEND=timeloopfe`` (and timeloopfe installed) timeloopfe's processing is used instead;
2. the tool runs as ``<tool> input.yaml ERT.yaml ART.yaml`` inside ``<dir>/out``, and
   ``timeloop-model.stats.txt`` (``timeloop-mapper.stats.txt``) is parsed with :mod:`fusemax.statsfile` into
   the same :class:`~fusemax.stats.Stats` the builtin engine returns; the mapper's best mapping is read back
   from ``timeloop-mapper.map.yaml``.

Only Timeloop's own mapping rejections (``couldn't map level ...``, ``mapping violates architecture
constraints``, the mapper's ``no valid mappings found``) are results (``Stats(valid=False)``, cached like any
result; the error quotes every rejection line and the mapper threads' reasons). Every other failure (a crash,
a parse error, no stats file) raises a :class:`~fusemax.errors.FusemaxError` naming the tool and quoting its
whole output (and naming ``LD_LIBRARY_PATH`` when the tool cannot load its libraries); errors are never cached.

Mapper budget: ``$FUSEMAX_MAPPER_SEARCH_SIZE`` (mappings per thread, Timeloop's ``search_size``) and
``$FUSEMAX_MAPPER_SECONDS`` (wall clock: the mapper gets SIGINT, on which Timeloop stops its threads and
writes the best mapping found). Both are part of the mapper jobs' cache key.
"""
from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from fusemax import yamlio
from fusemax.errors import FusemaxError, SpecError, ToolNotFoundError
from fusemax.executables import resolve, which
from fusemax.stats import Stats
from fusemax.statsfile import parse_stats_file

from .builtin import TABLE_FILES
from .names import TIMELOOP
from .timeloop_input import SPELLINGS, detect_key_spelling, timeloop_files

TOOLS = {"timeloop-model": "TIMELOOP_MODEL", "timeloop-mapper": "TIMELOOP_MAPPER"}
#: Seconds one tool run may take before it is abandoned (the mapper searches; the model is quick).
TIMEOUT = {"timeloop-model": 600.0, "timeloop-mapper": 3600.0}
#: Environment variables of the mapper budget -> the conversion of their value.
BUDGET = {"FUSEMAX_MAPPER_SEARCH_SIZE": int, "FUSEMAX_MAPPER_SECONDS": float}
#: Seconds the mapper may take to write its best mapping after SIGINT.
GRACE = 60.0
FRONTENDS = ("fusemax", "timeloopfe")

_REJECTION = re.compile(r"couldn't map level |mapping violates architecture constraints|"
                        r"no valid mappings found within search criteria")
#: A mapper thread's last words when it gives up: "... 10000 invalid mappings (10000 fanout, 0 capacity) ...".
_THREAD_GAVE_UP = re.compile(r"invalid mappings")
#: What the dynamic loader prints when the tool's libtimeloop libraries are not on the library path.
_LIBRARY_MISSING = "error while loading shared libraries"


def find_tool(tool: str) -> str:
    """Path of ``tool`` (``timeloop-model`` or ``timeloop-mapper``): its environment variable (an absolute
    path, or a name looked up on PATH), else PATH; never the current folder (:mod:`fusemax.executables`)."""
    var = TOOLS[tool]
    env = os.environ.get(var)
    if env:
        return resolve(env, var)
    found = which(tool)
    if not found:
        raise ToolNotFoundError(f"{tool} is not installed (not on PATH and {var} is unset); install Timeloop "
                                f"(e.g. the timeloopaccelergy/timeloop-accelergy-pytorch image: "
                                f"docker compose --profile timeloop up) or set {var}=/path/to/{tool}, or use "
                                f"--backend builtin")
    return found


@lru_cache(maxsize=None)
def _file_digest(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@lru_cache(maxsize=None)
def _detected_spelling(path: str, mtime_ns: int) -> str | None:
    return detect_key_spelling(path)


def key_spelling(exe: str | None) -> tuple[str, str]:
    """(key spelling, how it was chosen) for the Timeloop build of ``exe`` (None: no tool found):
    ``$TIMELOOP_KEYS`` when set, else detected from the build's files (:func:`detect_key_spelling`),
    else v3.0.3, the release the artifact was made with."""
    override = os.environ.get("TIMELOOP_KEYS")
    if override is not None and override not in SPELLINGS:
        raise FusemaxError(f"TIMELOOP_KEYS={override}: use {' or '.join(SPELLINGS)}", source="TIMELOOP_KEYS")
    if override:
        return override, "TIMELOOP_KEYS"
    detected = _detected_spelling(exe, os.stat(exe).st_mtime_ns) if exe else None
    if detected:
        return detected, f"detected from {exe} and its libraries"
    return SPELLINGS[0], "assumed: " + ("no Timeloop found" if exe is None else "not detected in the build")


def _identity(tool: str) -> dict[str, Any]:
    """Path, SHA-256 and key spelling of the binary that runs as ``tool``."""
    exe = os.path.realpath(find_tool(tool))
    keys, how = key_spelling(exe)
    return {"path": exe, "sha256": _file_digest(exe, os.stat(exe).st_mtime_ns), "keys": keys, "keys_from": how}


def _budget() -> dict[str, float]:
    out = {}
    for var, kind in BUDGET.items():
        value = os.environ.get(var)
        if value is None:
            continue
        try:
            out[var] = kind(value)
        except ValueError:
            raise FusemaxError(f"{var}={value}: expected a number", source=var) from None
        if out[var] <= 0:
            raise FusemaxError(f"{var}={value}: expected a positive number", source=var)
    return out


def _timeloopfe():
    """The timeloopfe package (standalone, or the copy inside pytimeloop), or None."""
    import importlib
    for name in ("timeloopfe", "pytimeloop.timeloopfe"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _frontend() -> str:
    name = os.environ.get("FUSEMAX_TIMELOOP_FRONTEND", "fusemax")
    if name not in FRONTENDS:
        raise FusemaxError(f"FUSEMAX_TIMELOOP_FRONTEND={name}: use {' or '.join(FRONTENDS)}",
                           source="FUSEMAX_TIMELOOP_FRONTEND")
    if name == "timeloopfe" and _timeloopfe() is None:
        raise ToolNotFoundError("FUSEMAX_TIMELOOP_FRONTEND=timeloopfe but timeloopfe is not importable",
                                source="FUSEMAX_TIMELOOP_FRONTEND")
    return name


class TimeloopBackend:
    name = TIMELOOP
    searches_first = False

    def version(self, kind: str = "model") -> str:
        """Identity of the binary that runs ``kind``'s jobs (``timeloop-mapper`` for "mapper", else
        ``timeloop-model``), its key spelling, the front end and, for searches, the mapper budget."""
        search = kind == "mapper"
        tool = "timeloop-mapper" if search else "timeloop-model"
        ident = _identity(tool)
        frontend = _frontend()
        fe = f" timeloopfe {getattr(_timeloopfe(), '__version__', 'present')}" if frontend == "timeloopfe" else ""
        budget = "".join(f" {var}={value:g}" for var, value in _budget().items()) if search else ""
        return f"{tool} {ident['sha256'][:16]} keys {ident['keys']}{fe}{budget}"

    def tools(self) -> dict[str, Any]:
        """What ``run.json`` records: each tool's path, SHA-256 and key spelling (or why it is missing)."""
        out: dict[str, Any] = {}
        for tool in TOOLS:
            try:
                out[tool] = _identity(tool)
            except ToolNotFoundError as exc:
                out[tool] = {"missing": str(exc)}
        out["frontend"] = _frontend()
        out["mapper_budget"] = _budget()
        return out

    def evaluate(self, files: Mapping[str, str], source: str) -> Stats:
        if "mapping.yaml" not in files:
            raise FusemaxError("no mapping.yaml for timeloop-model (search one with map())", source=source)
        return self._run("timeloop-model", files, source)[0]

    def map(self, files: Mapping[str, str], source: str) -> tuple[Stats, str | None]:
        files = {n: t for n, t in files.items() if n != "mapping.yaml"}
        budget = _budget()
        if "FUSEMAX_MAPPER_SEARCH_SIZE" in budget:
            mapper = {**((yamlio.loads(files.get("mapper.yaml", ""), source=source) or {}).get("mapper") or {}),
                      "search_size": int(budget["FUSEMAX_MAPPER_SEARCH_SIZE"])}
            files["mapper.yaml"] = yamlio.dumps({"mapper": mapper})
        return self._run("timeloop-mapper", files, source, budget.get("FUSEMAX_MAPPER_SECONDS"))

    def _run(self, tool: str, files: Mapping[str, str], source: str,
             seconds: float | None = None) -> tuple[Stats, str | None]:
        ident = _identity(tool)
        with tempfile.TemporaryDirectory(prefix="fusemax-timeloop-") as tmp:
            work = Path(tmp)
            if _frontend() == "timeloopfe":
                inputs = _timeloopfe_inputs(files, work, tool, source)
            else:
                written = timeloop_files(files, ident["keys"], for_mapper=tool == "timeloop-mapper", source=source)
                inputs = []
                for name, text in written.items():
                    (work / name).write_text(text)
                    inputs.append(work / name)
            out = work / "out"
            out.mkdir()
            return _call(ident["path"], tool, inputs, out, source, seconds)


def _timeloopfe_inputs(files: Mapping[str, str], work: Path, tool: str, source: str) -> list[Path]:
    """timeloopfe's processed input of the spec files, then the spec's tables (when it has them)."""
    import importlib
    fe = _timeloopfe()
    v4 = importlib.import_module(f"{fe.__name__}.v4")
    calls = importlib.import_module(f"{fe.__name__}.common.backend_calls")
    spec = []
    for name, text in files.items():
        (work / name).write_text(text)
        if name not in TABLE_FILES:
            spec.append(work / name)
    try:
        parsed = v4.Specification.from_yaml_files(*map(str, spec))
        # timeloopfe's own call_model runs "timeloop-model" from PATH; we only borrow its processing so
        # that TIMELOOP_MODEL is honoured and the run stays in our temporary directory.
        paths, _ = calls._pre_call(parsed, str(work / "fe"), for_model=tool == "timeloop-model")
    except Exception as exc:  # timeloopfe raises plain exceptions for bad specs
        raise SpecError(f"timeloopfe rejected the spec: {exc}", source=source) from None
    return [Path(p) for p in paths] + [work / n for n in TABLE_FILES if n in files]


def _call(exe: str, tool: str, inputs: list[Path], out: Path, source: str,
          seconds: float | None) -> tuple[Stats, str | None]:
    cmd = [exe, *map(str, inputs)]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=out)
    except OSError as exc:
        raise ToolNotFoundError(f"cannot run {tool}: {exc.strerror}", source=exe) from None
    try:
        log, _ = proc.communicate(timeout=seconds or TIMEOUT[tool])
    except subprocess.TimeoutExpired:
        if seconds is None:
            proc.kill()
            log, _ = proc.communicate()
            raise FusemaxError(f"{tool} did not finish within {TIMEOUT[tool]:g} s; its output:\n"
                               f"{_whole(log)}", source=source) from None
        proc.send_signal(signal.SIGINT)  # the mapper's budget: stop searching, write the best mapping
        try:
            log, _ = proc.communicate(timeout=GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            log, _ = proc.communicate()
    stats_file = out / f"{tool}.stats.txt"
    if proc.returncode == 0 and stats_file.is_file():
        mapping = out / f"{tool}.map.yaml"
        return parse_stats_file(stats_file, origin=tool), mapping.read_text() if mapping.is_file() else None
    rejection = _rejection(log)
    if rejection:
        # Timeloop rejects the mapping (capacity, fan-out): that is a result, like the builtin engine's.
        return Stats(valid=False, error=rejection, source=f"{tool} ({exe})"), None
    hint = ("; the tool cannot load its libraries: set LD_LIBRARY_PATH to the folder of Timeloop's "
            "libtimeloop-*.so (e.g. timeloop/lib)" if _LIBRARY_MISSING in log else "")
    raise FusemaxError(f"{tool} ({exe}) failed (exit {proc.returncode}) and wrote no {tool}.stats.txt{hint}; "
                       f"its output:\n{_whole(log)}", source=source)


def _rejection(log: str) -> str | None:
    """Timeloop's rejection of the mapping in ``log``, whole: every rejection line (from the rejection on,
    without its "ERROR: "), and each mapper thread's termination statement (how many mappings failed on
    fan-out, how many on capacity), which says why no mapping was found; None when nothing was rejected."""
    lines, rejected = [], False
    for line in log.splitlines():
        found = _REJECTION.search(line)
        if found or _THREAD_GAVE_UP.search(line):
            lines.append(line[found.start() if found else 0:].strip())
            rejected = rejected or found is not None
    return "; ".join(lines) if rejected else None


def _whole(log: str) -> str:
    return log.strip() or "(no output)"
