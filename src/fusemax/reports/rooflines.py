"""Roofline points from ``einsums.csv``: one per Einsum and one per phase (attention, MLP, whole layer),
per configuration, placed at the throughput the configuration achieved.

* Einsum point: its FLOPs / its DRAM bytes, at FLOPs / its own latency bound (max(memory, compute))
  -- :func:`fusemax.combine.roofline.einsum_roofline`.
* Phase point on an array's roofline: FLOPs of the phase's Einsums on that array / DRAM bytes of all the
  phase's Einsums (DRAM traffic belongs to the phase, not to an array), at those FLOPs / the phase latency.
  Attention latency is the configuration's combined latency from ``attn-<config>.csv``; the MLP (the
  layer's matrix multiplies Q, K, V, Z, FFN1, FFN2, present only when an end-to-end run wrote them) takes
  the sum of its Einsums' bounds, as the artifact does; the whole layer adds the two.
Einsums with no DRAM traffic have unbounded intensity and are not placed (the figure's note counts them).
"""
from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fusemax.combine.roofline import PHASE_KEY, Roof, roofs
from fusemax.configs import MATMULS
from fusemax.errors import FusemaxError
from fusemax.results import Results
from fusemax.workload import Hardware, parse_seq_len

from .current import RooflineChoice
from .frames import END2END_PLATFORM
from .style import (
    PHASE_MARKERS,
    RIDGE_COLOR,
    ROOF_COLOR,
    ROOFLINE,
    config_color,
    config_label,
    config_marker,
    new_figure,
    ordered_configs,
    ordered_lengths,
    styled,
)

ARRAYS = ("2d", "1d")
PHASES = ("attention", "MLP", "layer")
PHASE_LABELS = {"attention": "attention", "MLP": "MLP", "layer": "whole layer"}


def hardware_of(results: Results) -> Hardware:
    """The hardware recorded in ``run.json`` (paper defaults for fields it lacks)."""
    recorded = results.run.get("hardware") or {}
    known = {f.name for f in fields(Hardware)}
    return Hardware(**{k: v for k, v in recorded.items() if k in known})


def is_mlp(einsums: pd.DataFrame) -> pd.Series:
    return einsums["einsum"].isin(MATMULS)


def _mlp_config(config: str, mlp_configs: list[str]) -> str | None:
    """Which MLP run completes ``config``'s layer: its platform's, else an ``end2end`` one, else the only one."""
    for candidate in (END2END_PLATFORM.get(config), "end2end", config):
        if candidate in mlp_configs:
            return candidate
    return mlp_configs[0] if len(mlp_configs) == 1 else None


def phase_points(einsums: pd.DataFrame, table: pd.DataFrame, hardware: Hardware) -> pd.DataFrame:
    """Per configuration x model x length x phase x roofline phase (``kind``) x array: FLOPs, bytes,
    latency, intensity, achieved FLOP/s, the array's peak and ridge. ``table`` is
    :func:`.frames.attn_table` (its ``latency`` is the attention phase's)."""
    r = roofs(hardware)
    mlp = einsums[is_mlp(einsums)]
    attn = einsums[~is_mlp(einsums)]
    parts: list[dict] = []

    def add(key: tuple, kind: str, rows: pd.DataFrame, latency: float) -> None:
        for array in ARRAYS:
            flops = float(rows.loc[rows["array"] == array, "flops"].sum())
            parts.append({**dict(zip(PHASE_KEY, key)), "kind": kind, "array": array, "flops": flops,
                          "traffic": float(rows["traffic"].sum()), "latency": latency,
                          "peak": r[array].peak_flops, "ridge": r[array].ridge})

    latency = table.set_index(PHASE_KEY)["latency"]
    mlp_groups = {key: rows for key, rows in mlp.groupby(PHASE_KEY, sort=False)}
    for key, rows in attn.groupby(PHASE_KEY, sort=False):
        if key not in latency.index:
            continue
        add(key, "attention", rows, float(latency[key]))
        config, point = key[0], key[1:]
        mlp_configs = [k[0] for k in mlp_groups if k[1:] == point]
        chosen = _mlp_config(config, mlp_configs)
        if chosen is not None:
            m = mlp_groups[(chosen, *point)]
            add(key, "MLP", m, float(m["latency"].sum()))
            add(key, "layer", pd.concat([rows, m]), float(latency[key]) + float(m["latency"].sum()))
    out = pd.DataFrame(parts)
    if out.empty:
        return out
    out["intensity"] = (out["flops"] / out["traffic"].where(out["traffic"] > 0)).astype(float)
    out["achieved"] = out["flops"] / out["latency"]
    return out


def placeable(frame: pd.DataFrame) -> pd.Series:
    """Points a log-log roofline can show: some FLOPs, some DRAM bytes and a positive throughput."""
    return (frame["flops"] > 0) & (frame["traffic"] > 0) & (frame["achieved"] > 0)


def draw_roof(ax: Axes, roof: Roof, x_lo: float, x_hi: float, linestyle: str = "-") -> None:
    """``roof``'s attainable FLOP/s over ``[x_lo, x_hi]`` (gid ``roof <array>``) and its ridge as a labelled
    vertical line (gid ``ridge <array>``)."""
    xs = np.geomspace(x_lo, x_hi, 200)
    ax.plot(xs, [roof.attainable(x) for x in xs], color=ROOF_COLOR, linewidth=2, linestyle=linestyle,
            gid=f"roof {roof.array}", label=f"{roof.array.upper()} roof: {roof.peak_flops / 1e12:.3g} TFLOP/s")
    ax.axvline(roof.ridge, color=RIDGE_COLOR, linestyle=":", linewidth=1.2, gid=f"ridge {roof.array}")
    ax.annotate(f"{roof.array.upper()} ridge {roof.ridge:.3g} FLOP/B", xy=(roof.ridge, 0),
                xycoords=("data", "axes fraction"), xytext=(4, 6), textcoords="offset points", fontsize=8,
                color=RIDGE_COLOR)


@styled
def roofline(einsum_rows: pd.DataFrame, phase_rows: pd.DataFrame, hardware: Hardware, title: str) -> Figure:
    """2D and 1D rooflines side by side for the given rows (typically one model at one length).

    Small markers are Einsums (shape = configuration), large black-edged ones the phases (shape = phase);
    colour is the configuration. Every point's ``gid`` names it: ``einsum <config> <model> <len> <phase>
    <Einsum>`` or ``<kind> <config> <model> <len> <phase> <array>``.
    """
    r = roofs(hardware)
    fig, axes = new_figure(ROOFLINE, ncols=2)
    skipped = 0
    for ax, array in zip(axes, ARRAYS):
        e = einsum_rows[einsum_rows["array"] == array]
        p = phase_rows[phase_rows["array"] == array] if not phase_rows.empty else phase_rows
        ok_e, ok_p = placeable(e), placeable(p) if not p.empty else pd.Series(dtype=bool)
        skipped += int((~ok_e).sum())
        xs = pd.concat([e.loc[ok_e, "intensity"], p.loc[ok_p, "intensity"] if not p.empty else pd.Series()])
        x_lo = min(xs.min() if len(xs) else 1.0, r[array].ridge) / 10
        x_hi = max(xs.max() if len(xs) else 1.0, r[array].ridge) * 10
        draw_roof(ax, r[array], x_lo, x_hi)
        for row in e[ok_e].itertuples():
            ax.scatter(row.intensity, row.achieved, s=28, marker=config_marker(row.config),
                       color=config_color(row.config), alpha=0.75, linewidths=0,
                       gid=f"einsum {row.config} {row.model} {row.seq_len} {row.phase} {row.einsum}")
        if not p.empty:
            for row in p[ok_p].itertuples():
                ax.scatter(row.intensity, row.achieved, s=150, marker=PHASE_MARKERS[row.kind],
                           color=config_color(row.config), edgecolors="black", linewidths=1.0, zorder=5,
                           gid=f"{row.kind} {row.config} {row.model} {row.seq_len} {row.phase} {row.array}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(r[array].peak_flops * 1e-5, r[array].peak_flops * 3)
        ax.set_xlabel("Operational intensity (FLOP / DRAM byte)")
        ax.set_ylabel("Achieved throughput (FLOP/s)")
        ax.set_title(f"{array.upper()} array")
        ax.grid(True, which="major")
        ax.legend(loc="lower right", fontsize=8)
    configs = ordered_configs(set(einsum_rows["config"]) | set(phase_rows.get("config", [])))
    kinds = [k for k in PHASES if not phase_rows.empty and k in set(phase_rows["kind"])]
    handles = [Line2D([], [], linestyle="", marker=config_marker(c), color=config_color(c),
                      label=f"{config_label(c)} (Einsums)") for c in configs]
    handles += [Line2D([], [], linestyle="", marker=PHASE_MARKERS[k], markersize=11, color="white",
                       markeredgecolor="black", label=f"{PHASE_LABELS[k]} (phase)") for k in kinds]
    fig.legend(handles=handles, loc="outside right center", frameon=False)
    note = (f"\n{skipped} Einsum{'s' if skipped != 1 else ''} not shown: kept on chip (no DRAM traffic), "
            "so no finite intensity") if skipped else ""
    fig.suptitle(title + note)
    return fig


def _unavailable(name: str, value: str, available: list[str], where: str) -> FusemaxError:
    return FusemaxError(f"no {name} {value!r} in {where}; available: {', '.join(available)}",
                        source=RooflineChoice.FLAGS[name])


def choose(points: pd.DataFrame, choice: RooflineChoice) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """``(points of the chosen phase, [(model, length) of each figure])`` for ``points``
    (:func:`fusemax.combine.roofline.einsum_roofline` rows). A value the folder lacks is one
    :class:`FusemaxError` naming the option and the values it has."""
    where = "einsums.csv"
    if choice.phase is not None:
        phases = list(dict.fromkeys(points["phase"]))
        if choice.phase not in phases:
            raise _unavailable("phase", choice.phase, phases, where)
        points = points[points["phase"] == choice.phase]
    models = list(dict.fromkeys(points["model"]))
    if choice.model is not None:
        if choice.model not in models:
            raise _unavailable("model", choice.model, models, where + (f" ({choice.phase})" if choice.phase else ""))
        models = [choice.model]
    rows = points[points["model"].isin(models)]
    lengths = ordered_lengths(rows["seq_len"])
    if choice.length is None:
        length = reference_length(rows)
    else:
        try:
            wanted = parse_seq_len(choice.length)
        except FusemaxError:
            wanted = None
        length = next((n for n in lengths if parse_seq_len(n) == wanted), None)
        if length is None:
            raise _unavailable("length", choice.length, lengths,
                               where + f" for {', '.join(models)}" + (f" ({choice.phase})" if choice.phase else ""))
    if length is None:   # no points at all
        return points, []
    have = set(rows.loc[rows["seq_len"] == length, "model"])
    return points, [(m, length) for m in models if m in have]


def reference_length(phases: pd.DataFrame) -> str | None:
    """The length most models were run at (ties: the one nearest 4K), for the model-size comparison."""
    if phases.empty:
        return None
    counts = phases.groupby("seq_len")["model"].nunique()
    best = counts[counts == counts.max()].index
    return min(best, key=lambda n: abs(np.log2(parse_seq_len(n)) - 12))
