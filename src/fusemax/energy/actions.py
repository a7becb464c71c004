"""Accelergy action counts from engine :class:`~fusemax.stats.Stats`, energy from an ERT, area from ARTs.

This reproduces the FuseMax artifact's rule (``workspace/src/accel/cascade.py``,
``build_accelergy_stats_general`` / ``build_accelergy_buf_counts`` / ``collect_area``) exactly:

Per Einsum (one Stats each):

* For every storage level whose mapping ``keep``s tensors (``kept``: level -> tensors), summed over
  those tensors, from the *per-instance* Scalar counts:
  ``read  += reads``  - except at ``DRAM``, where reads equal to the tensor's updates are skipped
  (the artifact's work-around for Timeloop's first-read elision);
  ``write += updates + fills``; ``update = leak = 0``.
  Then divided by the words per action: 4 at ``DRAM`` (64-bit lines of 16-bit words), 256 at ``L3``
  (one 4096-bit row), 1 elsewhere. Counts are *not* multiplied by instances: the artifact writes the
  per-instance count of one register file as ``reg_file[1]`` (``scale_by_instances=True`` gives totals).
* For every functional unit ``fu`` in the Einsum's compute cost: ``compute = total computes x cost``.

Over the Einsums (``aggregate``): DRAM and L3 of every Einsum go to the 2D array's ``DRAM`` and
``global_buffer``; a 2D Einsum's ``reg_file`` to the 2D ``reg_file`` and (FuseMax only) its
``reg_file_1d`` level to the 1D ``reg_file``; a 1D Einsum's ``reg_file`` to the 1D ``reg_file``.
Compute costs go to the array's functional units, :data:`fusemax.configs.ENERGY_DESIGNS` per design; a cost whose
unit the array lacks is dropped by the artifact - ``unmatched_units="drop"`` reproduces that, the default
``"error"`` refuses.

Energy = sum over both arrays of count x ERT energy (:func:`energy`). Area (:func:`area_summary`) = sum
over both ARTs of instances x area, skipping ``add`` (counted inside ``mac``); the 2D array's area is
the part of the 2D ART with more than one instance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from fusemax import yamlio
from fusemax.archtree import component_name
from fusemax.configs import ENERGY_DESIGNS
from fusemax.energy.tables import ART, ERT
from fusemax.errors import SpecError
from fusemax.stats import Stats

#: Words per Accelergy action at a level: DRAM moves 64-bit lines (4 words), L3 4096-bit rows.
WORDS_PER_ACTION: dict[str, int] = {"DRAM": 4, "L3": 256}

_BUFFER_ACTIONS = ("read", "write", "update", "leak")


@dataclass
class ActionCounts:
    """Accelergy action counts of one array: ERT component name -> action -> count."""

    counts: dict[str, dict[str, float]] = field(default_factory=dict)

    def __add__(self, other: "ActionCounts") -> "ActionCounts":
        out = {c: dict(a) for c, a in self.counts.items()}
        for comp, actions in other.counts.items():
            mine = out.setdefault(comp, {})
            for action, n in actions.items():
                mine[action] = mine.get(action, 0) + n
        return ActionCounts(out)

    def to_yaml(self) -> str:
        """Accelergy's ``action_counts.yaml`` (one instance per component, as the artifact writes)."""
        local = [{"name": f"system_top_level.{comp}[1]",
                  "action_counts": [{"name": a, "counts": n} for a, n in actions.items()]}
                 for comp, actions in self.counts.items()]
        return yamlio.dumps({"action_counts": {"version": "0.4", "local": local}})


def action_counts_from_dict(data: Any, source: str = "<action counts>") -> ActionCounts:
    """Read Accelergy's ``action_counts:`` YAML (``local:`` entries named ``system_top_level.x[1]``)."""
    try:
        local = data["action_counts"]["local"]
        out: dict[str, dict[str, float]] = {}
        for entry in local:
            comp = out.setdefault(component_name(entry["name"]), {})
            for item in entry["action_counts"]:
                comp[item["name"]] = comp.get(item["name"], 0) + float(item["counts"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"malformed action counts ({exc!r})", source=source, key="action_counts") from None
    return ActionCounts(out)


def load_action_counts(path: str | Path) -> ActionCounts:
    return action_counts_from_dict(yamlio.load(path), source=str(path))


# ----------------------------------------------------------------------------------------------------
# Per Einsum
# ----------------------------------------------------------------------------------------------------

def buffer_actions(stats: Stats, level: str, tensors: Iterable[str], *,
                   words_per_action: int | None = None, scale_by_instances: bool = False,
                   source: str = "<stats>") -> dict[str, float]:
    """Accelergy actions of one storage level for the tensors the mapping keeps there (module rule)."""
    tensors = list(tensors)
    if not tensors:
        # Nothing kept (e.g. FuseMax's reg_file_1d in QK): Timeloop may not even print the level.
        return {"read": 0, "write": 0, "update": 0, "leak": 0}
    try:
        lv = stats.levels[level]
    except KeyError:
        raise SpecError(f"stats have no level '{level}' (have {', '.join(stats.levels)})",
                        source=source) from None
    width = words_per_action or WORDS_PER_ACTION.get(level, 1)
    reads = writes = 0.0
    for tensor in tensors:
        try:
            ds = lv.dataspaces[tensor]
        except KeyError:
            raise SpecError(f"level '{level}' keeps '{tensor}' but the stats have no such data space "
                            f"(have {', '.join(lv.dataspaces)})", source=source) from None
        scale = ds.utilized_instances if scale_by_instances else 1
        r, f, u = ds.reads_per_instance, ds.fills_per_instance, ds.updates_per_instance
        # The artifact skips DRAM reads that equal the updates (first-read elision work-around).
        if level != "DRAM" or r != u:
            reads += r * scale
        writes += (u + f) * scale
    return {"read": reads / width, "write": writes / width, "update": 0, "leak": 0}


def compute_actions(stats: Stats, cost: float = 1) -> dict[str, float]:
    """``compute = total computes x cost`` (the artifact's per-Einsum cost on one functional unit)."""
    return {"compute": stats.computes * cost, "leak": 0}


@dataclass(frozen=True)
class EinsumActivity:
    """One Einsum's evaluation as the aggregation needs it.

    ``kept``: storage level -> tensors its mapping keeps there (the ``keep`` lists of the mapping's
    dataspace directives). ``compute_cost``: functional unit -> computes per Einsum compute, e.g.
    ``{"mac": 6, "add": 1}``. ``on_2d``: whether the Einsum runs on the 2D array.
    """

    name: str
    stats: Stats
    kept: Mapping[str, Sequence[str]]
    compute_cost: Mapping[str, float]
    on_2d: bool


@dataclass
class ActionTotals:
    """Aggregated counts in the artifact's buckets; :meth:`arrays` turns them into per-array counts."""

    dram: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_BUFFER_ACTIONS, 0))
    l3: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_BUFFER_ACTIONS, 0))
    reg_file_2d: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_BUFFER_ACTIONS, 0))
    reg_file_1d: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_BUFFER_ACTIONS, 0))
    func_2d: dict[str, dict[str, float]] = field(default_factory=dict)
    func_1d: dict[str, dict[str, float]] = field(default_factory=dict)

    def __add__(self, other: "ActionTotals") -> "ActionTotals":
        def add(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
            return {k: a.get(k, 0) + b.get(k, 0) for k in {**a, **b}}

        def add_fu(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
            return {k: add(a.get(k, {}), b.get(k, {})) for k in {**a, **b}}

        return ActionTotals(add(self.dram, other.dram), add(self.l3, other.l3),
                            add(self.reg_file_2d, other.reg_file_2d),
                            add(self.reg_file_1d, other.reg_file_1d),
                            add_fu(self.func_2d, other.func_2d), add_fu(self.func_1d, other.func_1d))

    def with_dram(self, read: float, write: float) -> "ActionTotals":
        """A copy whose DRAM counts are replaced (FLAT and its softmax overwrite them with bytes / 8)."""
        out = ActionTotals(**{k: v for k, v in self.__dict__.items()})
        out.dram = {**self.dram, "read": read, "write": write}
        return out

    def arrays(self) -> tuple[ActionCounts, ActionCounts]:
        """(2D, 1D) counts keyed by the ERT component names (DRAM, global_buffer, reg_file, units)."""
        two = {"DRAM": dict(self.dram), "global_buffer": dict(self.l3), "reg_file": dict(self.reg_file_2d),
               **{fu: dict(c) for fu, c in self.func_2d.items()}}
        one = {"reg_file": dict(self.reg_file_1d), **{fu: dict(c) for fu, c in self.func_1d.items()}}
        return ActionCounts(two), ActionCounts(one)


def aggregate(einsums: Iterable[EinsumActivity], design: str, *, unmatched_units: str = "error",
              scale_by_instances: bool = False) -> ActionTotals:
    """The artifact's aggregation of per-Einsum counts over both arrays (module docstring).

    ``design``: "fusemax" or "flat" (:data:`fusemax.configs.ENERGY_DESIGNS`). ``unmatched_units``: "error" or "drop"
    for a compute cost naming a unit the array lacks ("drop" reproduces the artifact).
    """
    try:
        spec = ENERGY_DESIGNS[design]
    except KeyError:
        raise SpecError(f"unknown design '{design}' (known: {', '.join(ENERGY_DESIGNS)})") from None
    units = {"2d": spec.units_2d, "1d": spec.units_1d}
    if unmatched_units not in ("error", "drop"):
        raise ValueError("unmatched_units must be 'error' or 'drop'")
    totals = ActionTotals(func_2d={fu: {"compute": 0, "leak": 0} for fu in units["2d"]},
                          func_1d={fu: {"compute": 0, "leak": 0} for fu in units["1d"]})

    def add(into: dict[str, float], counts: dict[str, float]) -> None:
        for k, v in counts.items():
            into[k] = into.get(k, 0) + v

    for e in einsums:
        src = f"Einsum {e.name}"

        def level(name: str, e: EinsumActivity = e, src: str = src) -> dict[str, float]:
            if name not in e.kept:
                raise SpecError(f"the mapping keeps nothing at '{name}' (keeps at: {', '.join(e.kept)}); "
                                "the artifact's aggregation needs it", source=src)
            return buffer_actions(e.stats, name, e.kept[name], scale_by_instances=scale_by_instances,
                                  source=src)

        add(totals.dram, level("DRAM"))
        add(totals.l3, level("L3"))
        if e.on_2d:
            add(totals.reg_file_2d, level("reg_file"))
            if design == "fusemax":
                add(totals.reg_file_1d, level("reg_file_1d"))
        else:
            add(totals.reg_file_1d, level("reg_file"))
        fus = totals.func_2d if e.on_2d else totals.func_1d
        for fu, cost in e.compute_cost.items():
            if fu not in fus:
                if unmatched_units == "drop":
                    continue
                raise SpecError(f"compute cost names unit '{fu}' but the {'2D' if e.on_2d else '1D'} array "
                                f"of design '{design}' has {', '.join(fus)} (the artifact silently drops "
                                "such costs: pass unmatched_units='drop' to reproduce it)", source=src)
            add(fus[fu], compute_actions(e.stats, cost))
    return totals


# ----------------------------------------------------------------------------------------------------
# Energy and area
# ----------------------------------------------------------------------------------------------------

def energy_breakdown(counts: ActionCounts, ert: ERT) -> dict[str, float]:
    """pJ per component: sum of count x ERT energy over its actions.

    A nonzero count of an action (or component) the ERT lacks is an error, never a silent zero; zero
    counts need no ERT entry (the artifact lists every unit of a design, used or not).
    """
    out: dict[str, float] = {}
    for comp, actions in counts.counts.items():
        total = 0.0
        for action, n in actions.items():
            if n:
                total += n * ert.energy(comp, action)
        out[comp] = total
    return out


def energy(counts: ActionCounts, ert: ERT) -> float:
    """Total pJ of one array's counts under ``ert`` (see :func:`energy_breakdown`)."""
    return sum(energy_breakdown(counts, ert).values())


def total_energy(totals: ActionTotals, ert_2d: ERT, ert_1d: ERT) -> float:
    """pJ of both arrays, as the artifact sums the two ``energy_estimation.yaml`` totals."""
    two, one = totals.arrays()
    return energy(two, ert_2d) + energy(one, ert_1d)


@dataclass(frozen=True)
class AreaSummary:
    """um^2: ``total`` over both arrays, ``array_2d`` (Fig. 12), and instances x area per component."""

    total: float
    array_2d: float
    per_component: dict[str, float]


def area_summary(art_2d: ART, art_1d: ART) -> AreaSummary:
    """The artifact's ``collect_area``: instances x area over both ARTs, ``add`` skipped (it is part of
    ``mac``); the 2D array's area counts only 2D components with more than one instance (so DRAM, the
    global buffer and ``inter_PE_col_spatial[1..1]`` are outside it)."""
    total = array_2d = 0.0
    per: dict[str, float] = {}
    for array, art in (("2d", art_2d), ("1d", art_1d)):
        for comp, area in art.areas.items():
            if comp == "add":
                continue
            n = art.instances(comp)
            per[f"{comp}_{array}"] = n * area
            total += n * area
            if array == "2d" and n > 1:
                array_2d += n * area
    return AreaSummary(total=total, array_2d=array_2d, per_component=per)
