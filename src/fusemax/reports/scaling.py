"""How attention's operational intensity and achieved throughput move with context length (per model,
prefill and decode) and with model size (across the zoo at one length).

Both use the attention phase as a whole: all its Einsums' FLOPs over all their DRAM bytes
(:func:`fusemax.combine.roofline.phase_roofline`), achieved = those FLOPs / the configuration's latency.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from fusemax.combine.roofline import PHASE_KEY, phase_roofline, roofs
from fusemax.workload import DECODE, PREFILL, Hardware, parse_seq_len

from .rooflines import is_mlp
from .style import (
    OKABE_ITO,
    RIDGE_COLOR,
    config_color,
    config_label,
    config_marker,
    new_figure,
    ordered_configs,
    ordered_lengths,
    styled,
)

PHASE_STYLE = {PREFILL: "-", DECODE: "--"}


def attention_phases(einsums: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Per configuration x model x length x phase: FLOPs, bytes, intensity, achieved FLOP/s, util_2d."""
    attn = einsums[~is_mlp(einsums)]
    out = phase_roofline(attn, table[PHASE_KEY + ["latency"]])
    return out.merge(table[PHASE_KEY + ["latency", "util_2d"]], on=PHASE_KEY, how="left")


def _ridges(ax, hardware: Hardware, peaks: bool) -> None:
    for array, roof in roofs(hardware).items():
        value = roof.peak_flops if peaks else roof.ridge
        name = "peak" if peaks else "ridge"
        ax.axhline(value, color=RIDGE_COLOR, linestyle=":" if array == "2d" else "-.", linewidth=1.2,
                   gid=f"{name} {array}")
        ax.annotate(f"{array.upper()} {name} {value:.3g}", xy=(1, value), xycoords=("axes fraction", "data"),
                    xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8, color=RIDGE_COLOR)


@styled
def intensity_vs_length(phases: pd.DataFrame, hardware: Hardware) -> Figure:
    """One row per model: operational intensity (left) and achieved throughput (right) against context
    length, a line per configuration and phase (prefill solid, decode dashed), with the 2D/1D ridge
    points (left) and peaks (right). Each line's ``gid`` is ``<metric> <config> <model> <phase>``."""
    models = list(dict.fromkeys(phases["model"]))
    fig, axes = new_figure((13.0, 3.2 * len(models) + 0.6), nrows=len(models), ncols=2, squeeze=False)
    for (ax_i, ax_a), model in zip(axes, models):
        rows = phases[phases["model"] == model]
        for (config, phase), line in rows.groupby(["config", "phase"], sort=False):
            order = sorted(range(len(line)), key=lambda i: parse_seq_len(line["seq_len"].iloc[i]))
            line = line.iloc[order]
            xs = [parse_seq_len(n) for n in line["seq_len"]]
            for ax, metric in ((ax_i, "intensity"), (ax_a, "achieved")):
                ax.plot(xs, line[metric], PHASE_STYLE.get(phase, ":"), marker=config_marker(config),
                        color=config_color(config), label=f"{config_label(config)} {phase}",
                        gid=f"{metric} {config} {model} {phase}")
        lengths = ordered_lengths(rows["seq_len"])
        for ax in (ax_i, ax_a):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xticks([parse_seq_len(n) for n in lengths], lengths)
            ax.minorticks_off()
            ax.set_xlabel("Context length")
        _ridges(ax_i, hardware, peaks=False)
        _ridges(ax_a, hardware, peaks=True)
        ax_i.set_ylabel("FLOP / DRAM byte")
        ax_a.set_ylabel("Achieved FLOP/s")
        ax_i.set_title(f"{model}: operational intensity", loc="left")
        ax_a.set_title(f"{model}: achieved throughput", loc="left")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", frameon=False)
    return fig


@styled
def model_scaling(phases: pd.DataFrame, seq_len: str, phase: str = PREFILL) -> Figure:
    """Latency, operational intensity, achieved throughput and 2D utilization across the models at one
    length, models ordered by their attention FLOPs. Each line's ``gid`` is ``<metric> <config>``."""
    rows = phases[(phases["seq_len"] == seq_len) & (phases["phase"] == phase)]
    order = rows.groupby("model")["flops"].max().sort_values().index.tolist()
    metrics = (("latency", "Latency (s)", True), ("intensity", "FLOP / DRAM byte", True),
               ("achieved", "Achieved FLOP/s", True), ("util_2d", "2D utilization", False))
    fig, axes = new_figure((14.0, 3.8), ncols=len(metrics))
    for config in ordered_configs(rows["config"]):
        line = rows[rows["config"] == config].set_index("model").reindex(order)
        for ax, (metric, _, _) in zip(axes, metrics):
            ax.plot(range(len(order)), line[metric], marker=config_marker(config),
                    color=config_color(config), label=config_label(config), gid=f"{metric} {config}")
    for ax, (_, label, log) in zip(axes, metrics):
        ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
        ax.set_ylabel(label)
        if log:
            ax.set_yscale("log")
    axes[-1].set_ylim(0, 1.05)
    axes[-1].axhline(1.0, color=OKABE_ITO["black"], linewidth=0.6)
    fig.suptitle(f"Model-size scaling at {seq_len} ({phase}); models ordered by attention FLOPs")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center", frameon=False)
    return fig
