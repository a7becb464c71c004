"""Tables the figures plot, derived from a loaded results folder (the CSVs only; never the engine).

Every function is pure: :class:`fusemax.results.Results` (or its frames) in, a pandas frame out.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from fusemax.errors import FusemaxError
from fusemax.results import Results, read_attn_csv

from .style import ordered_configs, ordered_lengths

POINT = ["model", "seq_len"]
#: The end-to-end platform whose non-attention layers each configuration runs on (methodology.md: FLAT's
#: platform for the baselines, FuseMax's "proposal" for the three FuseMax steps).
END2END_PLATFORM = {"unfused": "flat", "flat": "flat", "cascade": "proposal", "arch": "proposal",
                    "binding": "proposal"}


def split_key(key: str) -> tuple[str, str]:
    """``binding`` -> (binding, prefill); ``binding-decode`` -> (binding, decode)."""
    config, _, phase = key.partition("-")
    return config, phase or "prefill"


def attn_table(results: Results) -> pd.DataFrame:
    """All ``attn-*.csv`` rows in one frame with ``config`` and ``phase`` columns added."""
    frames = []
    for key, frame in results.attn.items():
        config, phase = split_key(key)
        frames.append(frame.assign(config=config, phase=phase))
    if not frames:
        return pd.DataFrame(columns=["config", "phase", *POINT])
    return pd.concat(frames, ignore_index=True)


def point_order(table: pd.DataFrame) -> list[tuple[str, str]]:
    """(model, length) pairs like the paper's x axis: models in the CSVs' order, lengths shortest first."""
    models = list(dict.fromkeys(table["model"]))
    out = []
    for model in models:
        lengths = ordered_lengths(table.loc[table["model"] == model, "seq_len"])
        out += [(model, n) for n in lengths]
    return out


def by_point(table: pd.DataFrame, column: str, phase: str = "prefill") -> pd.DataFrame:
    """``column`` as a (model, length) x configuration table in the paper's order."""
    rows = table[table["phase"] == phase]
    wide = rows.pivot_table(index=POINT, columns="config", values=column, aggfunc="first", sort=False)
    wide = wide.reindex(pd.MultiIndex.from_tuples(point_order(rows), names=POINT))
    return wide[ordered_configs(wide.columns)]


def relative(table: pd.DataFrame, column: str, baseline: str = "unfused", *, speedup: bool,
             phase: str = "prefill") -> pd.DataFrame:
    """Each configuration against ``baseline`` at the same point: baseline / config when ``speedup``
    (Fig. 8), config / baseline otherwise (Fig. 9). Points the baseline lacks are dropped."""
    wide = by_point(table, column, phase)
    if baseline not in wide.columns:
        raise FusemaxError(f"no {baseline} results to compare with", source=f"attn-{baseline}.csv")
    base = wide[baseline]
    out = wide.rdiv(base, axis=0) if speedup else wide.div(base, axis=0)
    return out[base.notna()]


def read_end2end(folder: Path) -> dict[str, pd.DataFrame]:
    """``end2end-<platform>.csv`` files of a results folder (the non-attention layers), by platform."""
    return {f.stem.removeprefix("end2end-"): read_attn_csv(f) for f in sorted(folder.glob("end2end-*.csv"))}


def end_to_end(table: pd.DataFrame, end2end: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Attention plus the rest of the layer on each configuration's platform: latency, energy, traffic.

    Configurations whose platform has no ``end2end-*.csv`` are left out.
    """
    rows = []
    for config, platform in END2END_PLATFORM.items():
        if platform not in end2end:
            continue
        attn = table[(table["config"] == config) & (table["phase"] == "prefill")]
        merged = attn[POINT + ["latency", "energy", "traffic"]].merge(
            end2end[platform][POINT + ["latency", "energy", "traffic"]], on=POINT, suffixes=("_attn", "_rest"))
        for column in ("latency", "energy", "traffic"):
            merged[column] = merged[f"{column}_attn"] + merged[f"{column}_rest"]
        rows.append(merged.assign(config=config, phase="prefill"))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["config", "phase", *POINT])


def read_pareto(folder: Path) -> pd.DataFrame | None:
    """``pareto.csv`` (columns ``model``, ``area`` in cm^2, ``latency`` in s, optional ``pe_dim``) or None."""
    path = folder / "pareto.csv"
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype={"model": str})
    missing = {"model", "area", "latency"} - set(frame.columns)
    if missing:
        raise FusemaxError(f"missing columns {', '.join(sorted(missing))}", source=str(path))
    return frame
