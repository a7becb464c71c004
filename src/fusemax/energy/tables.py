"""Accelergy Energy/Area Reference Tables (ERT.yaml, ART.yaml): read, look up, write.

Accelergy names a component by its path and instance range, e.g. ``system_top_level.reg_file[1..65536]``;
lookups here use the component's own name (``reg_file``), which is how Timeloop levels are named.
Energies are pJ per action, areas um^2 per instance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fusemax import yamlio
from fusemax.archtree import component_name, instance_count
from fusemax.errors import SpecError


@dataclass
class ERT:
    """Energy per action (pJ) for each component, keyed by component name then action name."""

    actions: dict[str, dict[str, float]] = field(default_factory=dict)
    full_names: dict[str, str] = field(default_factory=dict)
    source: str = "<ERT>"

    def has(self, component: str) -> bool:
        return component in self.actions

    def energy(self, component: str, action: str) -> float:
        """pJ of one ``action`` of ``component``; a missing entry is an error, never a silent zero."""
        try:
            table = self.actions[component]
        except KeyError:
            raise SpecError(f"no ERT entry for component '{component}'", source=self.source) from None
        try:
            return table[action]
        except KeyError:
            raise SpecError(f"ERT entry of '{component}' has no action '{action}' "
                            f"(it has {', '.join(table) or 'none'})", source=self.source) from None

    def to_yaml(self) -> str:
        tables = [{"name": self.full_names.get(comp, comp),
                   "actions": [{"name": a, "arguments": {}, "energy": e} for a, e in acts.items()]}
                  for comp, acts in self.actions.items()]
        return yamlio.dumps({"ERT": {"version": "0.4", "tables": tables}})


@dataclass
class ART:
    """Area per instance (um^2) for each component, keyed by component name."""

    areas: dict[str, float] = field(default_factory=dict)
    full_names: dict[str, str] = field(default_factory=dict)
    source: str = "<ART>"

    def instances(self, component: str) -> int:
        """Instance count from the Accelergy name (``reg_file[1..65536]`` -> 65536)."""
        return instance_count(self.full_names.get(component, component))

    def area(self, component: str) -> float:
        try:
            return self.areas[component]
        except KeyError:
            raise SpecError(f"no ART entry for component '{component}'", source=self.source) from None

    def to_yaml(self) -> str:
        tables = [{"name": self.full_names.get(comp, comp), "area": a} for comp, a in self.areas.items()]
        return yamlio.dumps({"ART": {"version": "0.4", "tables": tables}})


def _tables(data: Any, top: str, source: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get(top), dict):
        raise SpecError(f"expected a top-level '{top}:' mapping", source=source, key=top)
    tables = data[top].get("tables")
    if not isinstance(tables, list):
        raise SpecError("expected a list of tables", source=source, key=f"{top}.tables")
    return tables


def ert_from_dict(data: Any, source: str = "<ERT>") -> ERT:
    """Build an :class:`ERT` from loaded ERT YAML."""
    ert = ERT(source=source)
    for i, table in enumerate(_tables(data, "ERT", source)):
        key = f"ERT.tables[{i}]"
        try:
            name = component_name(table["name"])
            actions = {a["name"]: float(a["energy"]) for a in table["actions"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"malformed table ({exc!r})", source=source, key=key) from None
        ert.actions[name] = actions
        ert.full_names[name] = table["name"]
    return ert


def art_from_dict(data: Any, source: str = "<ART>") -> ART:
    """Build an :class:`ART` from loaded ART YAML."""
    art = ART(source=source)
    for i, table in enumerate(_tables(data, "ART", source)):
        try:
            name = component_name(table["name"])
            art.areas[name] = float(table["area"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"malformed table ({exc!r})", source=source, key=f"ART.tables[{i}]") from None
        art.full_names[name] = table["name"]
    return art


def load_ert(path: str | Path) -> ERT:
    return ert_from_dict(yamlio.load(path), source=str(path))


def load_art(path: str | Path) -> ART:
    return art_from_dict(yamlio.load(path), source=str(path))
