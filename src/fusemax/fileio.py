"""Safe file writes: folders that are never world-writable, files replaced atomically, never through a link.

Every file any verb writes goes through this module: :func:`write_text_atomic` / :func:`write_bytes_atomic`
(text and bytes), :func:`save_figure` (matplotlib, rendered in memory) and :func:`replacing` (for writers
that insist on a path of their own: matplotlib's animation writers). A reader (or a concurrent run on the
same folder) sees either the old file or the complete new one, never a torn write, and a symlink planted
where an output belongs is replaced rather than followed.
"""
from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

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
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically; see :func:`write_bytes_atomic`."""
    return write_bytes_atomic(path, text.encode("utf-8"), mode)


def write_bytes_atomic(path: str | Path, data: bytes, mode: int = FILE_MODE) -> Path:
    """Write ``data`` to ``path`` atomically: a fresh temporary file in the same folder (created with
    ``O_EXCL | O_NOFOLLOW``, so neither a planted file nor a link is ever opened), then ``os.replace``, which
    replaces a symlink at ``path`` instead of writing through it. Creates the folder if needed.

    Raises :class:`OSError` like ``open`` would; the temporary file is removed on failure.
    """
    # Plain strings, not pathlib: a cold sweep writes thousands of cache entries through here.
    target = os.fspath(path)
    folder, name = os.path.split(target)
    if not os.path.isdir(folder or "."):
        make_dirs(folder)
    tmp = os.path.join(folder, f".{name[:200]}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, _safe(mode))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Path(target)


def save_figure(fig: "Figure", path: str | Path, **kwargs: Any) -> Path:
    """``fig.savefig`` into memory (the format from ``path``'s suffix), placed by :func:`write_bytes_atomic`:
    savefig itself would open ``path`` and write through a link planted there."""
    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lstrip(".").lower(), **kwargs)
    return write_bytes_atomic(path, buffer.getvalue())


@contextlib.contextmanager
def replacing(path: str | Path, mode: int = FILE_MODE) -> Iterator[Path]:
    """For a writer that must be given a path (an animation writer, an external program): yields a path in
    a fresh private folder (``mkdtemp``, mode 0700) beside ``path``; when the block ends without an error,
    that file gets ``mode`` (a writer's own open follows the umask only) and replaces ``path`` (a link there
    is replaced, not followed). The private folder is removed either way."""
    path = Path(path)
    make_dirs(path.parent)
    private = Path(tempfile.mkdtemp(prefix=".fusemax-", dir=path.parent))
    try:
        staged = private / path.name
        yield staged
        os.chmod(staged, _safe(mode))
        os.replace(staged, path)
    finally:
        shutil.rmtree(private, ignore_errors=True)


#: ``renameat2`` arguments (``<fcntl.h>``, ``<linux/fs.h>``): the current folder, and swap both names.
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    C library, the kernel or the file system cannot."""
    import ctypes
    import errno
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _link_or_copy(src: str, dst: str) -> None:
    # Files in a committed folder are only ever replaced, never written in place, so the staging copy
    # may share them with the old folder (a hard link); a file system without hard links gets a copy.
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _open_lock(path: Path) -> int:
    """A descriptor of the lock file ``path``, created if needed; a link planted there is removed (a lock
    file holds nothing, and opening through the link would create or lock someone else's file)."""
    import errno
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
    try:
        return os.open(path, flags, _safe(FILE_MODE))
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
    os.unlink(path)
    return os.open(path, flags | os.O_EXCL, _safe(FILE_MODE))


@contextlib.contextmanager
def staged_folder(folder: str | Path, replaced: Collection[str] = ()) -> Iterator[Path]:
    """Change ``folder`` as a whole: yields a private staging copy of it (beside it, every entry but the
    top-level names in ``replaced``; links are copied as links, never followed) to write into; when the
    block ends without an error the staging copy takes ``folder``'s place in one step (a reader sees the
    old folder or the new one), otherwise it is removed and ``folder`` is untouched.

    Commits of one folder are serialised by a lock file beside it (``.NAME.lock``), so concurrent runs
    each see the previous one's complete folder. Raises :class:`OSError` like the writes would.
    """
    import fcntl
    folder = Path(folder)
    make_dirs(folder.parent)
    lock = _open_lock(folder.parent / f".{folder.name}.lock")
    private: Path | None = None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        private = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-", dir=folder.parent))
        staging = private / folder.name
        if folder.is_dir() and not folder.is_symlink():
            shutil.copytree(folder, staging, symlinks=True, copy_function=_link_or_copy,
                            ignore=lambda where, names: [n for n in names if where == str(folder) and n in replaced])
        else:
            make_dirs(staging)
        yield staging
        if folder.is_dir() and not folder.is_symlink():
            if not _exchange(staging, folder):
                # no atomic swap here: the old folder steps aside for the instant of one rename
                os.rename(folder, private / "previous")
                os.rename(staging, folder)
        else:
            os.replace(staging, folder)
    finally:
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
        os.close(lock)   # releases the lock
