"""A sweep description: which configurations, models, lengths, phase, backend and layer fusion to run.

It comes from ``fusemax run`` flags or from a YAML sweep file (``fusemax run --sweep FILE``), flags
overriding the file::

    # sweep.yaml
    configs: [binding, flat]          # default: all five
    models: [BERT, OPT-66B]           # zoo names or NAME:D=..,H=..,E=..,S=..
    seq_lens: [1K, 4K, 64K]
    phase: prefill                    # or decode
    batch: 8                          # default 64 (the paper's)
    mask: causal                      # default: each model's own (none, causal or window:N)
    models_file: my-models.yaml       # relative to the sweep file
    backend: builtin                  # or timeloop
    layer_fusion: fused               # with --layer: fused (default) or none
    hardware:                         # every combination; one results folder each (DIR/<label>)
      pe_dim: [128, 256]
      l3_bytes: [8MiB, 16MiB]         # default: 16 MiB FuseMax, 32 MiB FLAT/unfused

:func:`fusemax.experiments.sweep.plan_points` turns the points of a sweep into jobs, one per Einsum spec.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from fusemax import yamlio
from fusemax.errors import FusemaxError
from fusemax.workload import parse_mask

from .hardware import hardware_variants


@dataclass(frozen=True)
class SweepSpec:
    configs: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    seq_lens: tuple[str, ...] | None = None
    phase: str | None = None
    batch: int | None = None
    mask: str | None = None
    models_file: str | None = None
    backend: str | None = None
    #: The whole layer's fusion policy (``--layer-fusion``, with ``--layer``): none or fused.
    layer_fusion: str | None = None
    #: Hardware parameter -> values (see :mod:`fusemax.orchestrator.hardware`); the sweep covers every combination.
    hardware: dict[str, tuple[str, ...]] | None = None

    def merged(self, **overrides: Any) -> "SweepSpec":
        """This sweep with every non-None override applied (CLI flags over the file; ``hardware`` per
        parameter)."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if "hardware" in overrides:
            overrides["hardware"] = {**(self.hardware or {}), **overrides["hardware"]} or None
        return replace(self, **overrides)


_LISTS = ("configs", "models", "seq_lens")


def load_sweep_file(path: str | Path) -> SweepSpec:
    """Read a sweep file; an unknown key or a wrong type is an error naming the file and key."""
    path = Path(path)
    data = yamlio.load(path) or {}
    if not isinstance(data, dict):
        raise FusemaxError("expected a YAML mapping of sweep settings", source=str(path))
    known = {f.name for f in fields(SweepSpec)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise FusemaxError(f"unknown sweep setting; use {', '.join(sorted(known))}", source=str(path),
                               key=str(key))
        if key in _LISTS:
            items = value if isinstance(value, list) else [value]
            if not items or not all(isinstance(v, (str, int)) for v in items):
                raise FusemaxError("expected a non-empty list of names", source=str(path), key=key)
            values[key] = tuple(str(v) for v in items)
        elif key == "hardware":
            if not isinstance(value, dict):
                raise FusemaxError("expected a mapping of parameter: [values]", source=str(path), key=key)
            values[key] = {str(name): tuple(str(v) for v in (items if isinstance(items, list) else [items]))
                           for name, items in value.items()}
            hardware_variants(values[key], source=f"{path}: hardware")   # every value parses, or one clear error
        elif key == "mask":
            if not isinstance(value, str):
                raise FusemaxError("expected none, causal or window:N", source=str(path), key=key)
            parse_mask(value)
            values[key] = value
        elif key == "batch":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise FusemaxError("expected a positive integer", source=str(path), key=key)
            values[key] = value
        elif not isinstance(value, str):
            raise FusemaxError("expected a string", source=str(path), key=key)
        else:
            values[key] = value
    if "models_file" in values:
        values["models_file"] = str((path.parent / values["models_file"]).resolve())
    return SweepSpec(**values)
