"""Safe file writes: folders that are never world-writable, files replaced atomically, never through a link.

Every writer of results and cache entries goes through :func:`write_text_atomic`, so a reader (or a
concurrent run on the same folder) sees either the old file or the complete new one, never a torn write,
and a symlink planted where a result belongs is replaced rather than followed.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

#: Modes before the umask: group-writable only if the umask allows it, never world-writable (see
#: :func:`make_dirs`, which strips the world-write bit whatever the umask).
FILE_MODE = 0o664
DIR_MODE = 0o775


def _safe(mode: int) -> int:
    """``mode`` filtered by the process umask and without world-write: umask 000 must not open a folder
    to every local user."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask & ~0o002


def make_dirs(path: str | Path, mode: int = DIR_MODE) -> Path:
    """``mkdir -p`` that gives every folder it creates (not only the last, as ``Path.mkdir(parents=True)``
    does) ``mode`` under the umask, minus world-write. Existing folders are left as they are."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            if not folder.is_dir():  # a file where a folder belongs
                raise
            continue  # a concurrent writer made it
        os.chmod(folder, _safe(mode))
    return path


def write_text_atomic(path: str | Path, text: str, mode: int = FILE_MODE) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: a fresh temporary file in the same folder (created with
    ``O_EXCL | O_NOFOLLOW``, so neither a planted file nor a link is ever opened), then ``os.replace``, which
    replaces a symlink at ``path`` instead of writing through it. Creates the folder if needed.

    Raises :class:`OSError` like ``open`` would; the temporary file is removed on failure.
    """
    path = Path(path)
    make_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, _safe(mode))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
