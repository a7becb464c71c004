"""Content-addressed cache of statistics: ``<root>/<key[:2]>/<key>.json``, one file per job.

Each entry holds the job's key, its label and backend, the job's result (the stats JSON, and for a mapper
search the best mapping) and a SHA-256 checksum of that result's stored text (:func:`entry_text`).
An entry is used only when it parses, names the key it is filed under and its checksum matches; anything
else (a truncated file, a bit flip, a hand edit, an entry copied under the wrong name) counts as corrupt, is
removed when possible and the job is recomputed. The checksum guards against damage, not against a
malicious writer: do not point ``--cache`` at a folder people you do not trust can write.

An entry that cannot be read at all (unreadable, a folder or a link where the file belongs, not UTF-8)
counts as corrupt too: reads never follow a symlink. Each rejected entry's path is kept in
:attr:`Cache.rejected` (``run.json`` lists them).

Writes go through :func:`fusemax.fileio.write_text_atomic` (a temporary file in the same folder opened with
``O_EXCL | O_NOFOLLOW``, then ``os.replace``), so a killed run leaves either a complete entry or none.
Entries are not fsynced (that would dominate a cold sweep): after a power loss the newest ones may be
empty, fail their checksum and are recomputed. Files are created with mode 0o664 and every folder with
0o775, filtered by the user's umask and never world-writable (even under umask 000).

A cache that cannot be written (a read-only shared folder) is used read-only: hits are served, new
results are computed but not stored, and :attr:`Cache.read_only` says so (the runner warns once).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from fusemax.errors import FusemaxError
from fusemax.fileio import write_text_atomic

T = TypeVar("T")

#: 2: the checksum covers the result's JSON in its own key order, the very text the entry stores (1: sorted).
FORMAT = 2
#: Errors that mean "this folder is not ours to write": the cache is then used read-only.
_READ_ONLY_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


#: What separates an entry's header from its result: the result's JSON is the rest of the entry but its last
#: ``}``. Inside the header's strings a quote is escaped, so the first occurrence is always the separator.
_RESULT = ', "result": '


def entry_text(key: str, result: dict[str, Any], label: str = "", backend: str = "") -> str:
    """The text of ``key``'s entry: a header (format, key, label, backend and the SHA-256 of the result's
    text) and the result as compact JSON in its own key order, serialised once for both (a cold sweep
    stores thousands of entries; a warm one checks the stored text without serialising it again)."""
    body = json.dumps(result, separators=(",", ":"))
    head = json.dumps({"format": FORMAT, "key": key, "label": label, "backend": backend,
                       "checksum": hashlib.sha256(body.encode()).hexdigest()})
    return f"{head[:-1]}{_RESULT}{body}}}"


def _parse_entry(text: str) -> tuple[dict[str, Any], str | None]:
    """(header, the result's text) of an entry; the text is None when the entry is not laid out as
    :func:`entry_text` writes (then it cannot be checked, and counts as corrupt)."""
    head, separator, rest = text.partition(_RESULT)
    if not separator or not rest.endswith("}"):
        return json.loads(text), None
    return json.loads(head + "}"), rest[:-1]


def _older(entry: Any) -> bool:
    """True for an entry of an earlier :data:`FORMAT` (its checksum is computed differently)."""
    return isinstance(entry, dict) and type(entry.get("format")) is int and 1 <= entry["format"] < FORMAT


def _read_entry(path: Path) -> str:
    """The entry's text; never follows a symlink (ELOOP), raises OSError or UnicodeDecodeError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read().decode("utf-8")


def _discard(path: Path) -> None:
    """Remove a rejected entry (a file, a link or an empty folder in its place) when we may."""
    try:
        path.unlink()
    except IsADirectoryError:
        try:
            path.rmdir()
        except OSError:
            pass
    except OSError:  # a read-only shared cache: recompute without repairing it
        pass


@dataclass
class Cache:
    """The cache under ``root``. ``rejected`` lists the corrupt entries found since it was opened;
    ``read_only`` turns true when the cache cannot be written (results are then not stored)."""

    root: Path
    rejected: list[Path] = field(default_factory=list)
    read_only: bool = False

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    @property
    def corrupt(self) -> int:
        return len(self.rejected)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def check(self) -> None:
        """Fail fast when ``root`` cannot be a cache (a file is in the way); mark it read-only when it cannot
        be written. Call before any work."""
        if self.root.exists() and not self.root.is_dir():
            raise FusemaxError("the cache must be a folder, but a file is in the way", source=str(self.root))
        probe = self.root / ".fusemax-write-check"
        try:
            write_text_atomic(probe, "")
            probe.unlink()
        except OSError as exc:
            if exc.errno not in _READ_ONLY_ERRNOS:
                raise FusemaxError(f"cannot use the cache: {exc.strerror}", source=str(self.root)) from None
            self.read_only = True

    def get(self, key: str, holds: str = "stats") -> dict[str, Any] | None:
        """The cached result of ``key`` (a job's ``{"stats": ..., ["mapping": ...]}``; another kind of
        entry names the mapping it ``holds``), or None when absent or corrupt."""
        path = self.path(key)
        result: Any = None
        try:
            entry, body = _parse_entry(_read_entry(path))
            if _older(entry):
                return None  # written by an earlier fusemax: recomputed and overwritten, not damage
            ok = (body is not None and entry["format"] == FORMAT and entry["key"] == key
                  and entry["checksum"] == hashlib.sha256(body.encode()).hexdigest())
            if ok and body is not None:
                result = json.loads(body)
                ok = isinstance(result[holds], dict)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):  # UnicodeDecodeError is a ValueError
            ok = False
        if not ok:
            self.reject(key)
            return None
        return result

    def parsed(self, key: str, holds: str, parse: Callable[[dict[str, Any]], T]) -> T | None:
        """``parse`` of the cached result of ``key`` (:meth:`get`, which names the mapping it ``holds``), or
        None; an entry that passes its checksum yet that ``parse`` refuses (KeyError, TypeError, ValueError,
        FusemaxError) counts as corrupt: rejected, to be recomputed."""
        hit = self.get(key, holds)
        if hit is None:
            return None
        try:
            return parse(hit)
        except (KeyError, TypeError, ValueError, FusemaxError):
            self.reject(key)
            return None

    def reject(self, key: str) -> None:
        """Count ``key``'s entry as corrupt and remove it (also for a caller that finds its statistics
        unusable although the checksum matched: a forged or foreign entry)."""
        self.rejected.append(self.path(key))
        _discard(self.path(key))

    def put(self, key: str, result: dict[str, Any], label: str = "", backend: str = "") -> Path | None:
        """Store one job's result atomically; returns the entry's path, or None when the cache is read-only."""
        if self.read_only:
            return None
        path = self.path(key)
        # The result keeps its keys' order (a row's per-Einsum columns are in the Einsums' order), so what a
        # warm run reads back is what the cold run computed.
        try:
            return write_text_atomic(path, entry_text(key, result, label, backend))
        except OSError as exc:
            if exc.errno in _READ_ONLY_ERRNOS:
                self.read_only = True
                return None
            raise FusemaxError(f"cannot write the cache: {exc.strerror}", source=str(path)) from None

    def remove_stale_temporaries(self) -> int:
        """Delete the temporary files of writers that died mid-write (SIGKILL, power loss); returns how
        many. A writer is this machine's process whose id is in the file name
        (``.<name>.<pid>.<random>.tmp``); live writers are left alone."""
        removed = 0
        for tmp in self.root.glob("??/.*.tmp") if self.root.is_dir() else ():
            try:
                pid = int(tmp.name.split(".")[-3])
                os.kill(pid, 0)
            except ProcessLookupError:
                try:
                    tmp.unlink(missing_ok=True)
                except OSError:  # a read-only cache
                    continue
                removed += 1
            except (ValueError, IndexError, PermissionError):  # not ours to judge: another user's live process
                continue
        return removed

    def entries(self) -> int:
        """How many entries the cache holds (valid or not); walks the folder, so not for hot paths."""
        return sum(1 for _ in self.root.glob("??/*.json")) if self.root.is_dir() else 0
