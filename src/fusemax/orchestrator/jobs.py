"""A job: one rendered Einsum spec for one backend, named by the hash of everything that decides its result."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from fusemax.memo import BoundedMemo


@dataclass(frozen=True)
class Job:
    """One spec to evaluate. ``key`` is its content address (see :func:`job_key`); ``label`` is for people."""

    key: str
    label: str
    backend: str
    files: Mapping[str, str] = field(repr=False, hash=False, compare=False)


def job_key(files: Mapping[str, str], backend: str, version: str) -> str:
    """SHA-256 of the spec texts (by file name), the backend and its version.

    Two jobs with the same key give the same statistics, whichever sweep, point or machine asks."""
    # Memoised per process: FLAT's search names the same few specs for hundreds of candidates, and a
    # tuple of (memoised, so already hashed) texts is far cheaper to look up than to encode and digest.
    memo = (backend, version, tuple(sorted(files.items())))
    key = _KEYS.get(memo)
    if key is None:
        canonical = json.dumps({"backend": backend, "version": version, "files": dict(memo[2])},
                               sort_keys=True, separators=(",", ":"))
        key = _KEYS.keep(memo, hashlib.sha256(canonical.encode()).hexdigest())
    return key


_KEYS: BoundedMemo[tuple, str] = BoundedMemo(65536)


def make_job(files: Mapping[str, str], backend: str, version: str, label: str) -> Job:
    return Job(key=job_key(files, backend, version), label=label, backend=backend, files=dict(files))


def evaluate_job(backend: str, files: Mapping[str, str], label: str) -> dict[str, Any]:
    """Worker entry point (any process, any machine): ``{"stats": <stats JSON>, "kept": <level -> tensors its
    mapping keeps>}`` for a spec with a mapping, the same with ``"mapping": <best mapping YAML or None>`` for
    a mapper search (``kept`` then of that mapping), or ``{"error": ...}``.

    Errors come back as data rather than exceptions so that one bad spec, or a missing tool on one worker,
    is reported with its label and never poisons the pool; they are not cached.
    """
    from fusemax.backends import get_backend
    from fusemax.engine.keeps import kept_from_mapping
    from fusemax.errors import FusemaxError
    try:
        engine = get_backend(backend)
        if "mapping.yaml" in files:
            return {"stats": engine.evaluate(files, label).to_json(),
                    "kept": kept_from_mapping(files["mapping.yaml"], label)}
        stats, mapping = engine.map(files, label)
        return {"stats": stats.to_json(), "mapping": mapping, "kept": kept_from_mapping(mapping, label)}
    except FusemaxError as exc:
        return {"error": str(exc)}
