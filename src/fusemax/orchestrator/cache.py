"""Content-addressed cache of statistics: ``<root>/<key[:2]>/<key>.json``, one file per job.

Each entry holds the job's key, its label and backend, the job's result (the stats JSON, and for a mapper
search the best mapping) and a SHA-256 checksum of that result.
An entry is used only when it parses, names the key it is filed under and its checksum matches; anything
else (a truncated file, a bit flip, a hand edit, an entry copied under the wrong name) counts as corrupt, is
removed when possible and the job is recomputed. The checksum guards against damage, not against a
malicious writer: do not point ``--cache`` at a folder people you do not trust can write.

Writes are atomic (a temporary file in the same folder, then ``os.replace``), so a killed run leaves either
a complete entry or none. Entries are not fsynced (that would dominate a cold sweep): after a power loss
the newest ones may be empty, fail their checksum and are recomputed. Files are created with mode 0o664 and folders with 0o775, filtered by the
user's umask: never world-writable, and group-writable only if the umask allows it.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fusemax.errors import FusemaxError

FORMAT = 1
FILE_MODE = 0o664
DIR_MODE = 0o775


def _checksum(result: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(result, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class Cache:
    """The cache under ``root``; ``corrupt`` counts the entries rejected since it was opened."""

    root: Path
    corrupt: int = 0

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached result of ``key`` (``{"stats": ..., ["mapping": ...]}``), or None when absent or
        corrupt."""
        path = self.path(key)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise FusemaxError(f"cannot read the cache: {exc.strerror}", source=str(path)) from None
        try:
            entry = json.loads(text)
            result = entry["result"]
            ok = (entry["format"] == FORMAT and entry["key"] == key and entry["checksum"] == _checksum(result)
                  and isinstance(result["stats"], dict))
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            self.corrupt += 1
            try:
                path.unlink()
            except OSError:  # a read-only shared cache: recompute without repairing it
                pass
            return None
        return result

    def put(self, key: str, result: dict[str, Any], label: str = "", backend: str = "") -> Path:
        """Store one job's result atomically; returns the entry's path."""
        path = self.path(key)
        entry = {"format": FORMAT, "key": key, "label": label, "backend": backend,
                 "checksum": _checksum(result), "result": result}
        tmp = path.with_name(f".{key}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(fd, "w") as handle:
                json.dump(entry, handle, sort_keys=True)
            os.replace(tmp, path)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise FusemaxError(f"cannot write the cache: {exc.strerror}", source=str(path)) from None
        return path

    def remove_stale_temporaries(self) -> int:
        """Delete the temporary files of writers that died mid-write (SIGKILL, power loss); returns how
        many. A writer is this machine's process whose id is in the file name; live writers are left alone."""
        removed = 0
        for tmp in self.root.glob("??/.*.tmp") if self.root.is_dir() else ():
            try:
                pid = int(tmp.name.rsplit(".", 2)[-2])
                os.kill(pid, 0)
            except ProcessLookupError:
                tmp.unlink(missing_ok=True)
                removed += 1
            except (ValueError, PermissionError):  # not ours to judge: another user's live process
                continue
        return removed

    def entries(self) -> int:
        """How many entries the cache holds (valid or not); walks the folder, so not for hot paths."""
        return sum(1 for _ in self.root.glob("??/*.json")) if self.root.is_dir() else 0
