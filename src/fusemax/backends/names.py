"""The backends' names, the one registry the flags (``--backend``), the defaults and the cache keys use;
a leaf module, so every backend and every driver may import it."""
from __future__ import annotations

#: fusemax's own Timeloop-compatible engine and mapper (:mod:`fusemax.backends.builtin`).
BUILTIN = "builtin"
#: The real ``timeloop-model`` / ``timeloop-mapper`` (:mod:`fusemax.backends.timeloop`).
TIMELOOP = "timeloop"
#: Every backend, for ``--backend``'s choices.
BACKENDS: tuple[str, ...] = (BUILTIN, TIMELOOP)
#: The backend a run uses unless told otherwise.
DEFAULT_BACKEND = BUILTIN
