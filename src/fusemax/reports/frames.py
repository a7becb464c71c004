"""Tables the figures plot, derived from a loaded results folder (the CSVs only; never the engine).

Every function is pure: :class:`fusemax.results.Results` (or its frames) in, a pandas frame out.
"""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from fusemax.configs import ATTENTION_CONFIGS, REGISTRY
from fusemax.errors import FusemaxError
from fusemax.experiments.headline import headline
from fusemax.results import Results
from fusemax.workload import PREFILL

from .style import ordered_configs, ordered_lengths

POINT = ["model", "seq_len"]
UM2_PER_CM2 = 1e8
#: The end-to-end platform whose non-attention layers each configuration runs on (the registry's
#: ``platform``: FLAT's for the baselines, FuseMax's "proposal" for the three FuseMax steps).
END2END_PLATFORM = {c: REGISTRY[c].platform for c in ATTENTION_CONFIGS}


def split_key(key: str) -> tuple[str, str]:
    """``binding`` -> (binding, prefill); ``binding-decode`` -> (binding, decode)."""
    config, _, phase = key.partition("-")
    return config, phase or PREFILL


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


def by_point(table: pd.DataFrame, column: str, phase: str = PREFILL) -> pd.DataFrame:
    """``column`` as a (model, length) x configuration table in the paper's order."""
    rows = table[table["phase"] == phase]
    wide = rows.pivot_table(index=POINT, columns="config", values=column, aggfunc="first", sort=False)
    wide = wide.reindex(pd.MultiIndex.from_tuples(point_order(rows), names=POINT))
    return wide[ordered_configs(wide.columns)]


def relative(table: pd.DataFrame, column: str, baseline: str = "unfused", *, speedup: bool,
             phase: str = PREFILL) -> pd.DataFrame:
    """Each configuration against ``baseline`` at the same point: baseline / config when ``speedup``
    (Fig. 8), config / baseline otherwise (Fig. 9). Points the baseline lacks are dropped."""
    wide = by_point(table, column, phase)
    if baseline not in wide.columns:
        raise FusemaxError(f"no {baseline} results to compare with", source=f"attn-{baseline}.csv")
    base = wide[baseline]
    out = wide.rdiv(base, axis=0) if speedup else wide.div(base, axis=0)
    return out[base.notna()]


def end_to_end(table: pd.DataFrame, end2end: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Attention plus the rest of the layer on each configuration's platform: latency, energy, traffic.

    Configurations whose platform has no ``end2end-*.csv`` are left out.
    """
    rows = []
    for config, platform in END2END_PLATFORM.items():
        if platform not in end2end:
            continue
        attn = table[(table["config"] == config) & (table["phase"] == PREFILL)]
        merged = attn[POINT + ["latency", "energy", "traffic"]].merge(
            end2end[platform][POINT + ["latency", "energy", "traffic"]], on=POINT, suffixes=("_attn", "_rest"))
        for column in ("latency", "energy", "traffic"):
            merged[column] = merged[f"{column}_attn"] + merged[f"{column}_rest"]
        rows.append(merged.assign(config=config, phase=PREFILL))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["config", "phase", *POINT])


def pareto_frame(pareto: pd.DataFrame, source: str = "pareto.csv") -> pd.DataFrame:
    """Fig. 12's data from ``pareto.csv`` (the artifact's schema: ``model``, ``area`` in um^2, ``latency``
    in s, ``PE_dim``): the area converted to cm^2, as the paper plots it."""
    missing = {"model", "area", "latency"} - set(pareto.columns)
    if missing:
        raise FusemaxError(f"missing columns {', '.join(sorted(missing))}", source=source)
    return pareto.assign(area_cm2=pareto["area"] / UM2_PER_CM2)



def headline_table(table: pd.DataFrame, configs: tuple[str, ...] = ("cascade", "arch", "binding")) -> pd.DataFrame:
    """The paper's headline (mean speedup and energy ratio of each of ``configs`` over FLAT and unfused, per
    phase) of any rows with ``config, model, seq_len, phase, latency, energy`` (``attn-*.csv``, ``layer.csv``)."""
    rows = [SimpleNamespace(**r) for r in table[["config", "model", "seq_len", "phase", "latency", "energy"]]
            .to_dict("records")]
    out = []
    for config in configs:
        for h in headline(rows, config=config):
            out.append({"configuration": h.config, "baseline": h.baseline, "phase": h.phase, "points": h.points,
                        "mean speedup": h.mean_speedup, "mean energy ratio": h.mean_energy_ratio})
    return pd.DataFrame(out).set_index("configuration") if out else pd.DataFrame()
