"""The ``accelergy`` backend: run a real Accelergy on generated inputs and read its ERT/ART.

The executable is ``$ACCELERGY`` if set, else ``accelergy`` on ``PATH``; missing -> a
:class:`~fusemax.errors.ToolNotFoundError` saying how to fix it. Inputs are written to a temporary
directory (or ``workdir``): ``input.yaml`` with the architecture in Accelergy's v0.4 ``subtree`` form
(a timeloopfe ``nodes:`` description is flattened first, dummy levels included) plus the compound
classes, and optionally ``action_counts.yaml``; Accelergy is called as the artifact calls it,
``accelergy <input.yaml> [<action_counts.yaml>] -o <outdir>``, and ``ERT.yaml``, ``ART.yaml`` and
``energy_estimation.yaml`` are read back.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from fusemax import yamlio
from fusemax.archtree import component_name
from fusemax.energy.actions import ActionCounts
from fusemax.energy.tables import ART, ERT, load_art, load_ert
from fusemax.errors import FusemaxError, SpecError, ToolNotFoundError
from fusemax.executables import resolve, which
from fusemax.fileio import write_text_atomic


def find_accelergy() -> str:
    """Path of the Accelergy executable: ``$ACCELERGY`` (an absolute path, or a name looked up on PATH),
    else ``accelergy`` on ``PATH``; never the current folder (:mod:`fusemax.executables`)."""
    env = os.environ.get("ACCELERGY")
    if env:
        return resolve(env, "ACCELERGY")
    found = which("accelergy")
    if not found:
        raise ToolNotFoundError("accelergy is not installed (not on PATH and ACCELERGY is unset); install "
                                "Accelergy or set ACCELERGY=/path/to/accelergy, or use the builtin "
                                "estimator (backend='builtin')")
    return found


def accelergy_available() -> bool:
    try:
        find_accelergy()
    except ToolNotFoundError:
        return False
    return True


def _compound_classes(files: Iterable[str | Path | Mapping[str, Any]]) -> list[Any]:
    classes: list[Any] = []
    for item in files:
        data = yamlio.load(item) if isinstance(item, (str, Path)) else item
        block = (data or {}).get("compound_components") if isinstance(data, Mapping) else None
        if block:
            classes.extend(block.get("classes") or [])
    return classes


def accelergy_input(description: Mapping[str, Any] | str | Path,
                    compound_components: Iterable[str | Path | Mapping[str, Any]] = (),
                    source: str | None = None) -> dict[str, Any]:
    """The ``input.yaml`` content for Accelergy.

    An Accelergy-format description (``architecture: subtree:`` or ``local:``) is passed through; a
    timeloopfe ``nodes:`` description becomes what timeloopfe hands Accelergy
    (:func:`fusemax.backends.timeloop_input.processed_architecture`): one ``<top>_top_level`` node whose
    ``local`` list names every component with its instance range, container attributes (e.g.
    ``global_cycle_seconds``, which Accelergy 0.4 requires) inherited. Compound classes from
    ``compound_components`` (files or loaded dicts, e.g. the artifact's
    ``area_energy/architecture/components/*.yaml``) are appended to any already in the description.
    """
    if isinstance(description, (str, Path)):
        source = source or str(description)
        description = yamlio.load(description)
    if not isinstance(description, Mapping):
        raise SpecError("expected a mapping", source=source or "<architecture>")
    arch = description.get("architecture", description)
    if isinstance(arch, Mapping) and ("subtree" in arch or "local" in arch):
        out = {k: v for k, v in description.items()} if "architecture" in description else {"architecture": arch}
    else:
        from fusemax.backends.timeloop_input import processed_architecture
        out = {"architecture": processed_architecture(arch, source or "<architecture>")}
    classes = list(((out.get("compound_components") or {}).get("classes")) or [])
    classes += _compound_classes(compound_components)
    if classes:
        out["compound_components"] = {"version": "0.4", "classes": classes}
    return out


@dataclass(frozen=True)
class AccelergyResult:
    """What one Accelergy run produced. ``energy_pj``/``breakdown`` only when action counts were given."""

    ert: ERT
    art: ART
    energy_pj: float | None = None
    breakdown: dict[str, float] | None = None


def read_energy_estimation(path: str | Path) -> tuple[float, dict[str, float]]:
    """Total pJ and pJ per component (own names) from Accelergy's ``energy_estimation.yaml``."""
    data = yamlio.load(path)
    try:
        block = data["energy_estimation"]
        parts = {component_name(c["name"]): float(c["energy"]) for c in block.get("components") or []}
        return float(block["Total"]), parts
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"malformed energy estimation ({exc!r})", source=str(path)) from None


def run_accelergy(description: Mapping[str, Any] | str | Path, *,
                  compound_components: Iterable[str | Path | Mapping[str, Any]] = (),
                  action_counts: ActionCounts | None = None, executable: str | None = None,
                  workdir: str | Path | None = None, timeout: float = 600) -> AccelergyResult:
    """Run Accelergy on ``description`` (see :func:`accelergy_input`) and load its outputs.

    ``workdir`` keeps the inputs and outputs (``<workdir>/input.yaml``, ``<workdir>/out/``); by default
    a temporary directory is used and removed. A failing run raises :class:`FusemaxError` with the
    end of Accelergy's stderr.
    """
    exe = executable or find_accelergy()
    spec = accelergy_input(description, compound_components)
    with tempfile.TemporaryDirectory(prefix="fusemax-accelergy-") as tmp:
        base = Path(workdir) if workdir else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        out = base / "out"
        out.mkdir(exist_ok=True)
        inputs = [base / "input.yaml"]
        write_text_atomic(inputs[0], yamlio.dumps(spec))
        if action_counts is not None:
            inputs.append(base / "action_counts.yaml")
            write_text_atomic(inputs[1], action_counts.to_yaml())
        cmd = [exe, *map(str, inputs), "-o", str(out)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=base)
        except OSError as exc:
            raise ToolNotFoundError(f"cannot run accelergy: {exc.strerror}", source=exe) from None
        except subprocess.TimeoutExpired:
            raise FusemaxError(f"accelergy did not finish within {timeout:g} s", source=exe) from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-15:])
            raise FusemaxError(f"accelergy failed (exit {proc.returncode}):\n{tail}", source=exe)
        for name in ("ERT.yaml", "ART.yaml"):
            if not (out / name).is_file():
                raise FusemaxError(f"accelergy wrote no {name} in {out}", source=exe)
        ert, art = load_ert(out / "ERT.yaml"), load_art(out / "ART.yaml")
        energy_pj = breakdown = None
        if action_counts is not None:
            if not (out / "energy_estimation.yaml").is_file():
                raise FusemaxError(f"accelergy wrote no energy_estimation.yaml in {out}", source=exe)
            energy_pj, breakdown = read_energy_estimation(out / "energy_estimation.yaml")
        # Keep the tables' provenance readable after the temporary directory is gone.
        ert.source = art.source = f"accelergy ({exe})"
        return AccelergyResult(ert=ert, art=art, energy_pj=energy_pj, breakdown=breakdown)
