"""Write a :class:`~fusemax.engine.model.Mapping` as Timeloop v0.4 mapping YAML (what timeloop-mapper writes)."""
from __future__ import annotations

from typing import Any

from fusemax import yamlio
from fusemax.engine.model import Architecture, Mapping


def _target(name: str, is_dummy: bool) -> str:
    # timeloopfe's inter_<container>_spatial levels are addressed by their container's name.
    if is_dummy and name.startswith("inter_") and name.endswith("_spatial"):
        return name[len("inter_"):-len("_spatial")]
    return name


def mapping_to_dict(mapping: Mapping, arch: Architecture) -> dict[str, Any]:
    """``{"mapping": [...]}``: outermost level first; temporal, spatial and dataspace directives."""
    entries: list[dict[str, Any]] = []
    for level, lm in reversed(list(zip(arch.storage, mapping.levels))):
        target = _target(level.name, level.is_dummy)
        if any(loop.bound > 1 for loop in lm.spatial):
            x = [loop for loop in lm.spatial if loop.spatial != "Y"]
            y = [loop for loop in lm.spatial if loop.spatial == "Y"]
            entries.append({"target": target, "type": "spatial",
                            "factors": [f"{loop.rank}={loop.bound}" for loop in x + y],
                            "permutation": [loop.rank for loop in x + y], "split": len(x)})
        if not level.is_dummy:
            entries.append({"target": target, "type": "temporal",
                            "factors": [f"{loop.rank}={loop.bound}" for loop in lm.temporal],
                            "permutation": [loop.rank for loop in lm.temporal]})
            names = [n for n in sorted(lm.keep)]
            entries.append({"target": target, "type": "dataspace", "keep": names,
                            "bypass": sorted(_all_spaces(mapping) - lm.keep)})
    return {"mapping": entries}


def _all_spaces(mapping: Mapping) -> set[str]:
    return set().union(*(lm.keep for lm in mapping.levels))


def mapping_to_yaml(mapping: Mapping, arch: Architecture) -> str:
    """v0.4 YAML text of ``mapping``; ``fusemax model`` / ``timeloop-model`` read it back unchanged."""
    return yamlio.dumps(mapping_to_dict(mapping, arch))
