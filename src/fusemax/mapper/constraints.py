"""Timeloop v0.4 mapper constraints (``constraints: targets:``) and mapper settings (``mapper:``).

Semantics, as Timeloop's mapspace applies them:

* ``type: temporal`` / ``spatial`` — ``factors`` fix a rank's loop bound at that target (``R=4``); ranks
  left out are free. ``permutation`` is innermost first, like in a mapping; a partial permutation pins the
  listed ranks at the innermost positions and leaves the order of the other ranks free (outside them).
  ``split`` (spatial) puts the first ``split`` ranks of the permutation on the X axis, the rest on Y.
  Every rank with a spatial factor must be in the spatial permutation (when one is given): real Timeloop
  puts a rank left out of it on the Y axis whatever its factor, so such a constraint set would mean
  something else to ``timeloop-mapper`` than to this mapper, and it is refused.
* ``type: dataspace`` (or ``bypass``) — ``keep`` / ``bypass`` fix where a tensor lives; tensors named in
  neither are free (the mapper decides).
* A spatial target may name a ``!Container`` (``PE_col``), meaning its ``inter_PE_col_spatial`` level.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fusemax.engine.model import Problem
from fusemax.engine.spec import parse_factors, parse_permutation
from fusemax.errors import SpecError

#: Timeloop's optimization metrics this mapper understands.
METRICS = ("edp", "delay", "energy", "last_level_accesses")


@dataclass
class TargetConstraint:
    """Everything the constraints say about one target level."""

    temporal_factors: dict[str, int] = field(default_factory=dict)
    temporal_permutation: list[str] = field(default_factory=list)
    spatial_factors: dict[str, int] = field(default_factory=dict)
    spatial_permutation: list[str] = field(default_factory=list)
    split: int | None = None
    keep: set[str] = field(default_factory=set)
    bypass: set[str] = field(default_factory=set)


@dataclass
class Constraints:
    """Constraints by target name (as written in the file) plus the mapper's optimization metrics."""

    targets: dict[str, TargetConstraint] = field(default_factory=dict)
    metrics: tuple[str, ...] = ("edp",)
    source: str = "<constraints>"


def _names(value: Any, key: str, source: str, spaces: set[str]) -> set[str]:
    names = [value] if isinstance(value, str) else list(value or [])
    for n in names:
        if str(n) not in spaces:
            raise SpecError(f"unknown data space '{n}' (data spaces are {', '.join(sorted(spaces))})",
                            source=source, key=key)
    return {str(n) for n in names}


def metrics_from(data: Any, source: str = "<mapper>") -> tuple[str, ...]:
    """``optimization_metrics`` of a ``mapper:`` section (a name or an ordered list); default ``edp``."""
    if data is None:
        return ("edp",)
    if isinstance(data, dict) and "mapper" in data:
        data = data["mapper"]
    if not isinstance(data, dict):
        raise SpecError("expected a mapping", source=source, key="mapper")
    value = data.get("optimization_metrics", data.get("optimization-metrics", ["edp"]))
    return parse_metrics(value, source=source, key="mapper.optimization_metrics")


def parse_metrics(value: Any, source: str = "<metric>", key: str | None = None) -> tuple[str, ...]:
    """A metric name or an ordered list of names -> tuple (first decides, later ones break ties)."""
    names = [value] if isinstance(value, str) else list(value or [])
    if not names:
        raise SpecError("no optimization metric given", source=source, key=key)
    for n in names:
        if n not in METRICS:
            raise SpecError(f"unknown optimization metric '{n}' (use {', '.join(METRICS)})", source=source, key=key)
    return tuple(str(n) for n in names)


def constraints_from_dict(data: Any, problem: Problem, source: str = "<constraints>") -> Constraints:
    """Parse ``{constraints: {targets: [...]}, mapper: {...}}`` (either part may be absent) for ``problem``."""
    if not isinstance(data, dict):
        raise SpecError("expected a YAML mapping at the top level", source=source)
    section = data.get("constraints") or {}
    targets_data = section.get("targets", []) if isinstance(section, dict) else section
    if not isinstance(targets_data, list):
        raise SpecError("expected a list of targets", source=source, key="constraints.targets")
    spaces = {d.name for d in problem.data_spaces}
    targets: dict[str, TargetConstraint] = {}
    spatial_permutation_keys: dict[str, str] = {}  # target -> key of the item with its spatial permutation
    for i, item in enumerate(targets_data):
        key = f"constraints.targets[{i}]"
        if not isinstance(item, dict) or "target" not in item:
            raise SpecError("each target needs a 'target:' level name", source=source, key=key)
        name = str(item["target"])
        kind = str(item.get("type", "temporal"))
        t = targets.setdefault(name, TargetConstraint())
        key = f"{key} ({name} {kind})"
        if kind == "temporal":
            t.temporal_factors.update(parse_factors(item.get("factors"), key + ".factors", source, problem))
            if item.get("permutation") is not None:
                t.temporal_permutation = parse_permutation(item["permutation"], key + ".permutation", source, problem)
        elif kind == "spatial":
            t.spatial_factors.update(parse_factors(item.get("factors"), key + ".factors", source, problem))
            if item.get("permutation") is not None:
                t.spatial_permutation = parse_permutation(item["permutation"], key + ".permutation", source, problem)
                spatial_permutation_keys[name] = key + ".permutation"
            if item.get("split") is not None:
                try:
                    t.split = int(item["split"])
                except (TypeError, ValueError):
                    raise SpecError(f"split must be an integer, got {item['split']!r}",
                                    source=source, key=key + ".split") from None
        elif kind in ("dataspace", "bypass", "datatype"):
            t.keep |= _names(item.get("keep"), key + ".keep", source, spaces)
            t.bypass |= _names(item.get("bypass"), key + ".bypass", source, spaces)
            both = t.keep & t.bypass
            if both:
                raise SpecError(f"data space {sorted(both)[0]} is both kept and bypassed", source=source, key=key)
        elif kind in ("utilization", "max_overbooked_proportion"):
            continue  # Timeloop's soft constraints; they do not shape the mapspace here
        else:
            raise SpecError(f"unknown constraint type '{kind}' (temporal, spatial, dataspace)", source=source,
                            key=key + ".type")
    for name, key in spatial_permutation_keys.items():
        t = targets[name]
        missing = [r for r in t.spatial_factors if r not in t.spatial_permutation]
        if missing:
            raise SpecError(f"rank {', '.join(missing)} has a factor but is not in the permutation "
                            f"[{', '.join(t.spatial_permutation)}]; real Timeloop would put it on the Y axis "
                            f"whatever the split: list every rank with a factor in the permutation, on the axis "
                            f"it is meant for", source=source, key=key)
    return Constraints(targets=targets, metrics=metrics_from(data.get("mapper"), source), source=source)
