"""The seed study's roofline view, computed from the engine's own per-Einsum FLOPs and DRAM traffic.

Operational intensity (FLOP per DRAM byte) per Einsum and per phase (all Einsums of one configuration,
model, length and phase together), against the rooflines of the 2D and 1D arrays:
peak = PEs x 2 FLOP x clock, ridge = peak / DRAM bandwidth.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fusemax.workload import Hardware

PHASE_KEY = ["config", "model", "seq_len", "phase"]


@dataclass(frozen=True)
class Roof:
    """One array's roofline."""

    array: str
    peak_flops: float          # FLOP/s
    bandwidth: float           # B/s

    @property
    def ridge(self) -> float:
        """Operational intensity (FLOP/B) above which the array, not DRAM, bounds performance."""
        return self.peak_flops / self.bandwidth

    def attainable(self, intensity: float) -> float:
        return min(self.peak_flops, intensity * self.bandwidth)


def roofs(hardware: Hardware = Hardware()) -> dict[str, Roof]:
    """2D and 1D rooflines of ``hardware`` (a PE does one multiply-accumulate, two FLOPs, per cycle)."""
    return {"2d": Roof("2d", hardware.pe_dim ** 2 * 2 * hardware.clock_hz, hardware.dram_bandwidth),
            "1d": Roof("1d", hardware.pe_1d_count * 2 * hardware.clock_hz, hardware.dram_bandwidth)}


def _intensity(flops: pd.Series, traffic: pd.Series) -> pd.Series:
    return (flops / traffic.where(traffic > 0)).astype(float)


def einsum_roofline(einsums: pd.DataFrame, hardware: Hardware = Hardware()) -> pd.DataFrame:
    """Per Einsum: FLOPs, bytes, intensity, achieved FLOP/s (over the Einsum's own bound) and the roof."""
    r = roofs(hardware)
    out = einsums[PHASE_KEY + ["einsum", "array", "flops", "traffic", "latency"]].copy()
    out["intensity"] = _intensity(out["flops"], out["traffic"])
    out["achieved"] = out["flops"] / out["latency"]
    out["peak"] = out["array"].map(lambda a: r[a].peak_flops)
    out["ridge"] = out["array"].map(lambda a: r[a].ridge)
    out["attainable"] = [r[a].attainable(i) if pd.notna(i) else r[a].peak_flops
                         for a, i in zip(out["array"], out["intensity"])]
    out["bound"] = ["compute" if pd.isna(i) or i >= rd else "memory"
                    for i, rd in zip(out["intensity"], out["ridge"])]
    return out


def phase_roofline(einsums: pd.DataFrame, attn: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per configuration x model x length x phase (and its batch): total FLOPs, 2D and 1D FLOPs, bytes and intensity.

    ``attn`` (rows with ``config`` and ``latency``) adds the achieved FLOP/s over the configuration's
    combined latency.
    """
    grouped = einsums.groupby(PHASE_KEY, sort=False)
    out = grouped.agg(flops=("flops", "sum"), traffic=("traffic", "sum")).reset_index()
    # one batch and one mask per phase of a point: carried along, not grouping keys
    for i, column in enumerate(c for c in ("batch", "mask") if c in einsums.columns):
        out.insert(len(PHASE_KEY) + i, column, grouped[column].first().to_numpy())
    for array in ("2d", "1d"):
        part = einsums[einsums["array"] == array].groupby(PHASE_KEY, sort=False)["flops"].sum()
        out[f"flops_{array}"] = out.set_index(PHASE_KEY).index.map(part).fillna(0).to_numpy()
    out["intensity"] = _intensity(out["flops"], out["traffic"])
    if attn is not None:
        merged = out.merge(attn[PHASE_KEY + ["latency"]], on=PHASE_KEY, how="left")
        out["achieved"] = merged["flops"] / merged["latency"]
    return out
