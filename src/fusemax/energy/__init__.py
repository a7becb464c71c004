"""Energy and area: Accelergy-format ERT/ART tables, the builtin estimator, action counts.

* :mod:`~fusemax.energy.tables` - read/write Accelergy's ``ERT.yaml`` / ``ART.yaml``.
* :mod:`~fusemax.energy.estimator` - ``estimate_ert`` / ``estimate_art``: Accelergy's numbers without
  Accelergy, from the published tables in ``arch/components/``.
* :mod:`~fusemax.energy.actions` - the artifact's action counts from engine stats, energy, area.
* :mod:`~fusemax.energy.designs` - the ERTs of the FuseMax and FLAT designs for any
  :class:`~fusemax.workload.Hardware`, from fusemax's own ``arch/energy`` descriptions (what the
  experiments price on; the published rows used these descriptions, not the stored ``outputs-*``).
* :mod:`~fusemax.energy.accelergy` - run a real Accelergy instead (``$ACCELERGY`` or ``PATH``).

:func:`reference_tables` picks the backend.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from fusemax.energy.tables import ART, ERT

#: The energy backends: the builtin estimator (:mod:`.estimator`), a real Accelergy, or whichever is found.
ESTIMATOR = "builtin"
ACCELERGY = "accelergy"
AUTO = "auto"


def reference_tables(description: Mapping[str, Any] | str | Path, *, backend: str = ESTIMATOR,
                     compound_components: Iterable[str | Path | Mapping[str, Any]] = (),
                     apply_shares: bool = True) -> tuple[ERT, ART]:
    """(ERT, ART) of an architecture description.

    ``backend``: ``"builtin"`` (the estimator; ``apply_shares`` as documented there), ``"accelergy"``
    (a real Accelergy, error if absent; ``compound_components`` are its class files), or ``"auto"``
    (Accelergy when one is found, else builtin).
    """
    from fusemax.energy import accelergy, estimator

    if backend == AUTO:
        backend = ACCELERGY if accelergy.accelergy_available() else ESTIMATOR
    if backend == ESTIMATOR:
        return (estimator.estimate_ert(description, apply_shares=apply_shares),
                estimator.estimate_art(description, apply_shares=apply_shares))
    if backend == ACCELERGY:
        result = accelergy.run_accelergy(description, compound_components=compound_components)
        return result.ert, result.art
    raise ValueError(f"unknown backend '{backend}' ({ESTIMATOR}, {ACCELERGY}, {AUTO})")
