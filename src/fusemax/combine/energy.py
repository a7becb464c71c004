"""Energy of one evaluated Einsum: one call into :mod:`fusemax.energy.actions` with the artifact's rules.

Each configuration is priced on its energy design's two ERTs (``fusemax`` or ``flat``, the registry's
``energy_design``), built by the builtin estimator from fusemax's own ``arch/energy`` descriptions at the
point's resolved sizes (the ``energy_*`` fields of :class:`fusemax.configs.ResolvedHardware`,
:func:`fusemax.energy.designs.design_erts`). The baselines price DRAM
from the spill-adjusted traffic (bytes / 8: 64-bit lines). Energy is linear in the action counts, so
per-Einsum energies add up to the artifact's per-configuration total.

One artifact quirk is reproduced on purpose: its FLAT-PE cascade charges its exponentials to a unit named
``exponential`` while the FLAT ERT calls it ``exponentiatial``, so the cascade's exponentials cost nothing
in the published rows (the registry's ``uncharged_units``). The softmax of FLAT and unfused names the unit the way
the ERT does, so its exponentials are charged.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from fusemax.configs import ResolvedHardware
from fusemax.energy import actions
from fusemax.energy.tables import ERT
from fusemax.stats import LevelStats, Stats

from .metrics import EinsumMetrics

#: FLAT's 2D PEs have one register per operand; the artifact prices them together as the 2D reg_file.
SPLIT_REGISTERS = ("reg0", "reg1", "reg2")


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


def einsum_energy(hardware: ResolvedHardware, name: str, stats: Stats, cost: Mapping[str, int],
                  metrics: EinsumMetrics, dram_from_traffic: bool, kept: dict[str, list[str]],
                  erts: Mapping[str, ERT]) -> tuple[float, dict[str, float]]:
    """(pJ, pJ per ``component_array``) of one Einsum of the configuration ``hardware`` was resolved for
    (``hardware.config``, whose ``uncharged_units`` it leaves out); ``erts`` (:func:`design_erts`)
    holds ``"2d"`` and ``"1d"``."""
    design = hardware.energy_design
    on_2d = metrics.array == "2d"
    stats, kept = _merge_split_registers(stats, kept)
    uncharged = hardware.config.uncharged_units
    charged = {fu: n for fu, n in cost.items() if fu not in uncharged}
    activity = actions.EinsumActivity(name, stats, _with_defaults(kept, on_2d, design), charged, on_2d)
    totals = actions.aggregate([activity], design)
    if dram_from_traffic:
        line = actions.WORDS_PER_ACTION["DRAM"] * hardware.word_bytes
        totals = totals.with_dram(metrics.read_bytes / line, metrics.write_bytes / line)
    two, one = totals.arrays()
    breakdown = {f"{c}_2d": e for c, e in actions.energy_breakdown(two, erts["2d"]).items()}
    breakdown.update({f"{c}_1d": e for c, e in actions.energy_breakdown(one, erts["1d"]).items()})
    return sum(breakdown.values()), breakdown

