"""Energy of one evaluated Einsum: one call into :mod:`fusemax.energy.actions` with the artifact's rules.

The artifact prices each configuration on its platform's energy tables (``fusemax`` or ``flat``, a 2D and a
1D ERT each); the baselines price DRAM from the spill-adjusted traffic (bytes / 8: 64-bit lines). Energy is
linear in the action counts, so per-Einsum energies add up to the artifact's per-configuration total.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from fusemax import yamlio
from fusemax.energy import actions
from fusemax.energy.tables import ERT, load_ert
from fusemax.stats import LevelStats, Stats
from fusemax.workload import Hardware

from .configs import ENERGY_PLATFORM
from .metrics import EinsumMetrics

#: FLAT's 2D PEs have one register per operand; the artifact prices them together as the 2D reg_file.
SPLIT_REGISTERS = ("reg0", "reg1", "reg2")


def kept_from_mapping(mapping_yaml: str | None, source: str = "<mapping>") -> dict[str, list[str]]:
    """Level -> tensors of the mapping's explicit ``keep`` directives (what the artifact prices)."""
    if not mapping_yaml:
        return {}
    data = yamlio.loads(mapping_yaml, source=source) or {}
    kept: dict[str, list[str]] = {}
    for entry in data.get("mapping", []):
        if entry.get("type") in ("dataspace", "datatype"):
            kept[entry["target"]] = list(entry.get("keep", []))
    return kept


def _merge_split_registers(stats: Stats, kept: dict[str, list[str]]) -> tuple[Stats, dict[str, list[str]]]:
    """FLAT's reg0/reg1/reg2 as one ``reg_file`` level (disjoint tensors, so their counts simply add)."""
    if "reg_file" in kept or not any(r in kept for r in SPLIT_REGISTERS):
        return stats, kept
    merged = LevelStats()
    tensors: list[str] = []
    for reg in SPLIT_REGISTERS:
        if reg in stats.levels:
            merged.dataspaces.update(stats.levels[reg].dataspaces)
        tensors += kept.get(reg, [])
    levels = {**stats.levels, "reg_file": merged}
    return replace(stats, levels=levels), {**{k: v for k, v in kept.items() if k not in SPLIT_REGISTERS},
                                           "reg_file": tensors}


def _with_defaults(kept: dict[str, list[str]], on_2d: bool, design: str) -> dict[str, list[str]]:
    """Levels a stand-in (no mapping) leaves unpriced: nothing kept there."""
    need = ["DRAM", "L3", "reg_file"] + (["reg_file_1d"] if on_2d and design == "fusemax" else [])
    return {**{level: [] for level in need}, **kept}


def _priced(counts: actions.ActionCounts, ert: ERT) -> dict[str, float]:
    # Accelergy ignores counts of components its architecture lacks (e.g. a 1D ``max`` on FuseMax's 1D
    # array, whose ERT has none); the artifact's totals therefore leave them out, and so do we.
    present = actions.ActionCounts({c: a for c, a in counts.counts.items() if ert.has(c)})
    return actions.energy_breakdown(present, ert)


def einsum_energy(config: str, name: str, stats: Stats, cost: Mapping[str, int], metrics: EinsumMetrics,
                  dram_from_traffic: bool, hardware: Hardware, kept: dict[str, list[str]],
                  erts: Mapping[str, ERT]) -> tuple[float, dict[str, float]]:
    """(pJ, pJ per ``component_array``) of one Einsum of ``config``; ``erts`` holds ``"2d"`` and ``"1d"``."""
    design = ENERGY_PLATFORM[config]
    on_2d = metrics.array == "2d"
    stats, kept = _merge_split_registers(stats, kept)
    activity = actions.EinsumActivity(name, stats, _with_defaults(kept, on_2d, design), dict(cost), on_2d)
    totals = actions.aggregate([activity], design, unmatched_units="drop")
    if dram_from_traffic:
        line = actions.WORDS_PER_ACTION["DRAM"] * hardware.word_bytes
        totals = totals.with_dram(metrics.read_bytes / line, metrics.write_bytes / line)
    two, one = totals.arrays()
    breakdown = {f"{c}_2d": e for c, e in _priced(two, erts["2d"]).items()}
    breakdown.update({f"{c}_1d": e for c, e in _priced(one, erts["1d"]).items()})
    return sum(breakdown.values()), breakdown


def reference_erts_dir(shared: Path | None) -> Path | None:
    """The artifact's Accelergy outputs (``outputs-{1d,2d}-{fusemax,flat}/ERT.yaml``), when present."""
    if shared is None:
        return None
    folder = shared / "reference" / "fusemax-artifact" / "inputs" / "area_energy"
    return folder if (folder / "outputs-2d-fusemax" / "ERT.yaml").is_file() else None


@lru_cache(maxsize=None)
def platform_erts(folder: str, design: str) -> dict[str, ERT]:
    return {array: load_ert(Path(folder) / f"outputs-{array}-{design}" / "ERT.yaml") for array in ("2d", "1d")}


def erts_for(config: str, folder: Path | None) -> dict[str, ERT] | None:
    return platform_erts(str(folder), ENERGY_PLATFORM[config]) if folder else None

