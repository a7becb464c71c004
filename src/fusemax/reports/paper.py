"""The paper's Figures 6-12 from the CSVs: utilization (6a 1D, 6b 2D), the per-Einsum 2D activity
(7), speedup and energy against the unfused baseline for attention (8, 9) and for the whole layer
(10, 11), and the area-latency Pareto front (12).

Each builder takes the tables of :mod:`.frames` and returns a matplotlib figure; :mod:`.build` saves them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from fusemax.workload import PREFILL

from .bars import group_labels, grouped_bars
from .frames import by_point, relative
from .style import EINSUM_COLORS, OKABE_ITO, WIDE, config_short, new_figure, ordered_lengths, styled

#: Fig. 7's configurations (the unfused baseline has no per-Einsum columns) and its stacked series:
#: a series takes the first of its columns present in the configuration's CSV.
FIG7_CONFIGS = ("flat", "cascade", "arch", "binding")
FIG7_SERIES = {"QK": ("QK",), "LM": ("LM",), "SLN": ("SLN",), "SLD": ("SLD",), "SLNV/AV": ("SLNV", "AV")}


def _legend_right(fig: Figure, ax) -> None:
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", frameon=False)


@styled
def utilization(table: pd.DataFrame, array: str) -> Figure:
    """Fig. 6a (``array="1d"``) or 6b (``"2d"``): the array's busy fraction, ``util_<array>``."""
    fig, ax = new_figure(WIDE)
    grouped_bars(ax, by_point(table, f"util_{array}"), f"Utilization {array.upper()}")
    ax.set_ylim(0, 1.05)
    _legend_right(fig, ax)
    return fig


@styled
def speedup(table: pd.DataFrame, baseline: str = "unfused") -> Figure:
    """Fig. 8 (attention) or 10 (end to end, given :func:`.frames.end_to_end`): baseline latency /
    configuration latency at each model x length."""
    fig, ax = new_figure(WIDE)
    grouped_bars(ax, relative(table, "latency", baseline, speedup=True), f"Speedup over {baseline}")
    _legend_right(fig, ax)
    return fig


@styled
def energy(table: pd.DataFrame, baseline: str = "unfused") -> Figure:
    """Fig. 9 (attention) or 11 (end to end): configuration energy / baseline energy."""
    fig, ax = new_figure(WIDE)
    grouped_bars(ax, relative(table, "energy", baseline, speedup=False), f"Energy relative to {baseline}")
    ax.axhline(1.0, color=OKABE_ITO["black"], linewidth=0.6)
    _legend_right(fig, ax)
    return fig


def einsum_shares(table: pd.DataFrame, model: str) -> pd.DataFrame:
    """Fig. 7's stack for ``model``: rows (length, configuration), columns the series; NaN = not drawn."""
    rows = table[(table["model"] == model) & (table["phase"] == PREFILL)]
    out = []
    for length in ordered_lengths(rows["seq_len"]):
        for config in FIG7_CONFIGS:
            row = rows[(rows["seq_len"] == length) & (rows["config"] == config)]
            if row.empty:
                continue
            values = {}
            for series, columns in FIG7_SERIES.items():
                present = [c for c in columns if c in row.columns and pd.notna(row[c].iloc[0])]
                values[series] = float(row[present[0]].iloc[0]) if present else np.nan
            out.append({"seq_len": length, "config": config, **values})
    return pd.DataFrame(out, columns=["seq_len", "config", *FIG7_SERIES])


@styled
def einsum_activity(table: pd.DataFrame) -> Figure:
    """Fig. 7: proportion of the run each 2D Einsum keeps the 2D array active, stacked, per length and
    configuration (FL, +C, +A, +B); one row of panels per model."""
    models = list(dict.fromkeys(table.loc[table["config"].isin(FIG7_CONFIGS), "model"]))
    fig, axes = new_figure((WIDE[0], 2.9 * max(len(models), 1)), nrows=max(len(models), 1), squeeze=False,
                           sharey=True)
    for ax, model in zip(axes[:, 0], models):
        shares = einsum_shares(table, model)
        xs = np.arange(len(shares), dtype=float) + np.repeat(np.arange(shares["seq_len"].nunique()),
                                                             shares.groupby("seq_len", sort=False).size())
        bottom = np.zeros(len(shares))
        for series, color in EINSUM_COLORS.items():
            values = shares[series].to_numpy(dtype=float)
            bars = ax.bar(xs, np.nan_to_num(values), 0.75, bottom=bottom, color=color, label=series,
                          edgecolor="white", linewidth=0.4)
            for patch, (_, r), value in zip(bars.patches, shares.iterrows(), values):
                patch.set_gid(f"{model} {r['seq_len']} {r['config']}")
                patch.set_visible(bool(np.isfinite(value)))
            bottom += np.nan_to_num(values)
        ax.set_xticks(xs, [config_short(c) for c in shares["config"]], rotation=90)
        ax.tick_params(axis="x", length=0)
        group_labels(ax, list(shares["seq_len"]), xs, below_points=26)
        ax.set_ylabel("Proportion active")
        ax.set_title(model, loc="left")
        ax.set_ylim(0, 1.05)
        ax.grid(axis="x", visible=False)
    # Explicit handles: a series absent from the first bars (FLAT has no LM) would show an empty swatch.
    fig.legend([Patch(color=c) for c in EINSUM_COLORS.values()], list(EINSUM_COLORS), loc="outside right center",
               frameon=False)
    return fig


@styled
def pareto(frame: pd.DataFrame) -> Figure:
    """Fig. 12: attention latency against chip area (both log), one line per model over the array sizes,
    each point labelled with its PE array (``PE_dim``², e.g. 256²); ``frame`` is
    :func:`fusemax.reports.frames.pareto_frame`'s (area in cm^2)."""
    colors = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]
    markers = ["o", "x", "s", "+", "D", "^", "v", "*"]
    fig, ax = new_figure((6.0, 4.6))
    for k, (model, rows) in enumerate(frame.groupby("model", sort=False)):
        rows = rows.sort_values("area_cm2")
        ax.plot(rows["area_cm2"], rows["latency"], marker=markers[k % len(markers)], color=colors[k % len(colors)],
                label=model, gid=model)
        if "PE_dim" in rows.columns:   # which point is which array: the front's whole question
            for x, y, pe in zip(rows["area_cm2"], rows["latency"], rows["PE_dim"]):
                ax.annotate(f"{int(pe)}²", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7,
                            color=colors[k % len(colors)], gid=f"pe {model} {int(pe)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Area (cm²)")
    ax.set_ylabel("Attention latency (s)")
    ax.legend(title="Model (points: PE array)")
    return fig
