"""Backends: what turns one rendered Einsum spec into :class:`~fusemax.stats.Stats`.

>>> from fusemax.backends import get_backend
>>> backend = get_backend("builtin")          # or "timeloop"
>>> stats = backend.evaluate({"arch.yaml": ..., "problem.yaml": ..., "mapping.yaml": ...}, "BERT 4K QK")

A spec is a mapping of file name -> YAML text, as :meth:`fusemax.render.RenderedEinsum.files` gives it:
``arch.yaml``, ``problem.yaml`` and ``mapping.yaml`` for ``timeloop-model``; ``constraints.yaml`` and
``mapper.yaml`` instead of a mapping for a mapper search (:meth:`Backend.map`). ``ERT.yaml`` / ``ART.yaml``, when present,
are the energy and area tables. ``version()`` identifies the backend's numbers: it goes into the cache key
(:mod:`fusemax.orchestrator.cache`), so a changed engine or a different Timeloop binary never reuses old
results.

* ``builtin`` (:mod:`.builtin`): the Timeloop-compatible engine of :mod:`fusemax.engine` and the mapper of
  :mod:`fusemax.mapper`; pure, no tools.
* ``timeloop`` (:mod:`.timeloop`): runs the real ``timeloop-model`` / ``timeloop-mapper``.
"""
from __future__ import annotations

from typing import Mapping, Protocol

from fusemax.errors import FusemaxError
from fusemax.stats import Stats

from .names import BACKENDS, BUILTIN, DEFAULT_BACKEND, TIMELOOP


class Backend(Protocol):
    name: str
    #: Whether mapper searches should start before evaluations (they are the long jobs of the builtin
    #: backend; for real Timeloop the quick model jobs go first, so results arrive while searches run).
    searches_first: bool

    def version(self, kind: str = "model") -> str:
        """A string that changes whenever the backend could give different numbers for the same spec of
        ``kind``: "model" (a spec with a mapping, :meth:`evaluate`) or "mapper" (:meth:`map`); the binary
        that runs it decides."""

    def tools(self) -> dict:
        """What ``run.json`` records about the tools behind this backend (version, path, hash)."""

    def evaluate(self, files: Mapping[str, str], source: str) -> Stats:
        """Statistics of one spec; an invalid mapping gives ``Stats(valid=False)``, not an exception."""

    def map(self, files: Mapping[str, str], source: str) -> tuple[Stats, str | None]:
        """Search a spec without a mapping: (statistics of the best mapping, that mapping as v0.4 YAML)."""


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (one of :data:`BACKENDS`)."""
    if name == BUILTIN:
        from .builtin import BuiltinBackend
        return BuiltinBackend()
    if name == TIMELOOP:
        from .timeloop import TimeloopBackend
        return TimeloopBackend()
    raise FusemaxError(f"unknown backend {name!r}; use {', '.join(BACKENDS)}", source="--backend")


def backend_version(name: str, kind: str) -> str:
    """:meth:`Backend.version` of ``kind`` for the backend called ``name``."""
    return get_backend(name).version(kind)


def job_kind(files: Mapping[str, str]) -> str:
    """"model" for a spec with a mapping, "mapper" for one the mapper must search."""
    return "model" if "mapping.yaml" in files else "mapper"


__all__ = ["BACKENDS", "BUILTIN", "DEFAULT_BACKEND", "TIMELOOP", "Backend", "backend_version", "get_backend", "job_kind"]
