"""Where fusemax finds the programs it runs: only at absolute places, never in the current folder.

A program is either configured by an environment variable (``TIMELOOP_MODEL``, ``ACCELERGY``,
``FUSEMAX_PY312``, ...) or looked up by its usual name on ``PATH``. Both go through :func:`resolve`:

* a configured value with a ``/`` must be an absolute path to an executable file (``./timeloop-model`` is
  refused: what it runs would depend on the folder the command happens to be started in);
* a bare name (the default, or e.g. ``TIMELOOP_MODEL=timeloop-model``) is looked up on ``PATH``'s
  *absolute* entries only (:func:`which`): an empty entry, ``.`` or any relative entry would make the
  current folder part of the search, so a program planted there could run.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from fusemax.errors import ToolNotFoundError


def search_path() -> str:
    """``$PATH`` without the entries that name the current folder or depend on it (empty, ``.``,
    relative ones)."""
    entries = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return os.pathsep.join(e for e in entries if os.path.isabs(e))


def which(name: str) -> str | None:
    """The absolute path of the executable ``name`` on :func:`search_path`, or None. ``name`` must be a
    bare name; a name with a ``/`` is never looked up (it would be resolved against the current folder)."""
    if os.sep in name or (os.altsep and os.altsep in name):
        return None
    return shutil.which(name, path=search_path())


def resolve(value: str, var: str) -> str:
    """The program that ``var=value`` names: an absolute path to an executable file, or a bare name found
    by :func:`which`. Raises :class:`ToolNotFoundError` naming ``var`` otherwise (a relative path is refused
    with the reason)."""
    if os.sep in value or (os.altsep and os.altsep in value):
        if not os.path.isabs(value):
            raise ToolNotFoundError(f"{var}={value} is a relative path; give an absolute path (or a bare name "
                                    "to look up on PATH)", source=var)
        if Path(value).is_file() and os.access(value, os.X_OK):
            return value
        raise ToolNotFoundError(f"{var}={value} is not an executable file", source=var)
    found = which(value)
    if found is None:
        raise ToolNotFoundError(f"{var}={value}: no executable of that name on PATH's absolute entries", source=var)
    return found
