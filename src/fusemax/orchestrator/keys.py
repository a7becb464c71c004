"""Cache keys of whole results, known before anything is rendered: what a result was computed from.

:func:`result_key` covers the workload's numbers, the hardware, the backend's versions and
:func:`code_fingerprint` (fusemax's code and templates), so a changed input never serves a stale result.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from fusemax.backends import backend_version
from fusemax.errors import ToolNotFoundError
from fusemax.workload import Hardware, Workload


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of fusemax's code (all of it: render, the combination, ...; a stale result is worse than a
    repeated one) and of the templates specs are rendered from."""
    from fusemax.backends.builtin import files_fingerprint
    from fusemax.templates import template_root
    package = Path(__file__).resolve().parent.parent
    files = [(str(p.relative_to(package)), p) for p in sorted(package.rglob("*.py"))]
    root = template_root()
    files += [(str(p.relative_to(root)), p) for d in ("arch", "problems", "mappings")
              for p in sorted((root / d).rglob("*")) if p.is_file()]
    return files_fingerprint(files)


def result_key(kind: str, workload: Workload, hardware: Hardware, backend: str, *,
               kinds: Sequence[str] = ("model", "mapper"), **fields: Any) -> str:
    """Cache key of a result computed from ``workload`` on ``hardware`` without rendering it first: the
    workload's numbers (not where its model was read from), the hardware, the versions of ``backend``'s
    job ``kinds`` (for real Timeloop: its binaries; None for one not installed, which a result computed
    without it never needed), :func:`code_fingerprint` and ``fields``."""
    model = {k: v for k, v in _fields(workload.model).items() if k != "source"}
    canonical = json.dumps({"kind": kind, "version": [_version(backend, k) for k in kinds],
                            "code": code_fingerprint(), "model": model, "seq_len": workload.seq_len,
                            "phase": workload.phase, "batch": workload.batch, "span": workload.span,
                            "hardware": _fields(hardware),
                            "backend": backend, **fields}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _version(backend: str, kind: str) -> str | None:
    try:
        return backend_version(backend, kind)
    except ToolNotFoundError:
        return None


def _fields(record: Any) -> dict[str, Any]:
    """A model's or hardware's fields: ``asdict`` for records of plain values, without its deep copy (a
    sweep keys every point)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}
