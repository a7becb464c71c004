"""The study's figures and tables (issue 14): the whole transformer layer across models, context lengths,
phases and batches, from a study folder (``OUT/study/results``: ``layer.csv``, ``einsums.csv``, ``run.json``).

Points on a roofline are *components* of one configuration's layer at one model x length x phase x batch:

* ``layer``: the whole layer, straight from ``layer.csv`` (FLOPs / traffic, FLOPs / latency).
* ``attention``: every attention Einsum of the configuration (``einsums.csv`` rows named by the
  configuration), at the configuration's attention latency (``layer.csv``'s latency x attention share,
  i.e. ``attn-<config>.csv``'s combined latency).
* ``softmax``: the attention Einsums other than its two matrix products (the baselines' ``softmax`` group;
  the cascade's Einsums but QK and SLNV), at the sum of their own bounds -- the time they would take alone
  (FuseMax overlaps them with the matrix products, so this is an upper bound there).
* ``MLP``: the ``mlp`` group (FFN1, FFN2, and the gate where a model has one) of the configuration's
  platform, at the sum of its Einsums' bounds, which is how the layer's latency adds them up.

Intensity is FLOPs over DRAM bytes; achieved throughput is FLOPs over latency, drawn against the 2D and 1D
roofs of the study's hardware (:func:`fusemax.combine.roofline.roofs`). A component without DRAM
traffic (a fused softmax) has unbounded intensity and is not placed; the figure's title counts it.

Every drawn point's ``gid`` is ``<component> <config> <model> <seq_len> <phase> <batch>`` (bars:
``intensity ...``) so tests read the values back from the artists.

The whole model (``model.csv``, when the folder has one) is drawn as TTFT and TPOT against context length,
one column per model, a line per configuration; each line's ``gid`` is ``<ttft|tpot> <config> <model>
<batch>``, its points the lengths and seconds of ``model.csv``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pandas as pd
from matplotlib.figure import Figure

from fusemax import results as results_io
from fusemax.combine.roofline import roofs
from fusemax.configs import REGISTRY
from fusemax.experiments import grid
from fusemax.results import LAYER_KEY, Results
from fusemax.workload import PHASES, Hardware, format_seq_len, parse_seq_len

from .current import STUDY_DIR, SavedFigure, find
from .frames import headline_table as headline_rows
from .frames import point_order
from .rooflines import draw_roof, hardware_of
from .style import (
    OKABE_ITO,
    RIDGE_COLOR,
    config_color,
    config_hatch,
    config_label,
    new_figure,
    ordered_configs,
    ordered_lengths,
    styled,
)

COMPONENTS = ("attention", "softmax", "MLP", "layer")
COMPONENT_MARKERS = {"attention": "o", "softmax": "s", "MLP": "P", "layer": "D"}
#: FuseMax (binding) against its two baselines, as in the paper.
FUSEMAX, BASELINES = "binding", ("flat", "unfused")
STUDY_CONFIGS = (FUSEMAX, *BASELINES)
#: Colours of models when a figure compares models (one configuration), in the folder's model order.
MODEL_COLORS = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "black",
                                       "yellow")]
LENGTH_MARKERS = ["P", "D", "*", "o", "s", "^", "v", "X"]
STUDY_SIZE = (12.0, 6.5)
BARS_SIZE = (14.0, 5.5)
#: The cascade's two matrix products (the rest of its Einsums are the softmax, however they are bound);
#: the baselines name theirs by group.
_CASCADE_PRODUCTS = frozenset({"QK", "SLNV"})
_BASELINE_PRODUCTS = frozenset({"QK", "AV"})
#: Groups of the rest of the layer (``einsums.csv`` rows whose config is a platform's name).
LAYER_GROUPS = frozenset(e.group for e in REGISTRY["layer"].einsums)


@dataclass(frozen=True)
class Study:
    """A loaded study folder."""

    layer: pd.DataFrame
    einsums: pd.DataFrame | None
    hardware: Hardware
    folder: Path
    run: dict = field(default_factory=dict)
    model: pd.DataFrame | None = None


def load(folder: str | Path) -> Study:
    """:func:`fusemax.results.load_study` with the hardware of its ``run.json``."""
    res: Results = results_io.load_study(folder)
    assert res.layer is not None and res.folder is not None
    return Study(res.layer, res.einsums, hardware_of(res), res.folder, res.run, res.model)


def default_batch(layer: pd.DataFrame) -> int:
    """Batch 1, the study's setting, when the folder has it; else its smallest batch."""
    batches = set(layer["batch"].astype(int))
    return 1 if 1 in batches else min(batches)


def _is_product(einsums: pd.DataFrame) -> pd.Series:
    cascade = einsums["group"] == "attention"
    return (cascade & einsums["einsum"].isin(_CASCADE_PRODUCTS)) | \
           (~cascade & einsums["group"].isin(_BASELINE_PRODUCTS))


def components(study: Study) -> pd.DataFrame:
    """Per configuration x model x length x phase x batch x component: flops, traffic, latency, intensity
    (NaN without traffic) and achieved FLOP/s (see the module docstring for each component's latency)."""
    layer = study.layer
    parts = [layer[LAYER_KEY + ["flops", "traffic", "latency"]].assign(component="layer")]
    if study.einsums is not None and not study.einsums.empty:
        e = study.einsums
        rest = e["group"].isin(LAYER_GROUPS)
        attn = e[~rest]
        sums = ["flops", "traffic", "latency"]
        whole = attn.groupby(LAYER_KEY, sort=False)[["flops", "traffic"]].sum().reset_index()
        shares = layer.assign(latency=layer["latency"] * layer["attention_latency_share"])[LAYER_KEY + ["latency"]]
        parts.append(whole.merge(shares, on=LAYER_KEY).assign(component="attention"))
        soft = attn[~_is_product(attn)].groupby(LAYER_KEY, sort=False)[sums].sum()
        parts.append(soft.reset_index().assign(component="softmax"))
        mlp = e[rest & (e["group"] == "mlp")].groupby(LAYER_KEY, sort=False)[sums].sum().reset_index()
        for config in attn["config"].unique():
            # a configuration's MLP is its platform's rows (their config is the platform's name)
            platform = REGISTRY[config].platform if config in REGISTRY else config
            parts.append(mlp[mlp["config"] == platform].assign(config=config, component="MLP"))
    out = pd.concat(parts, ignore_index=True)
    out = out.merge(layer[LAYER_KEY], on=LAYER_KEY)   # only points that have a layer row
    out["intensity"] = (out["flops"] / out["traffic"].where(out["traffic"] > 0)).astype(float)
    out["achieved"] = out["flops"] / out["latency"]
    return out[LAYER_KEY + ["component", "flops", "traffic", "latency", "intensity", "achieved"]]


def _gid(kind: str, row) -> str:
    return f"{kind} {row.config} {row.model} {row.seq_len} {row.phase} {int(row.batch)}"


@styled
def roofline(points: pd.DataFrame, hardware: Hardware, title: str, colour: str = "config",
             marker: str = "component") -> Figure:
    """One axes: the 2D roof (solid) and 1D roof (dashed) with their ridges, and a point per row of
    ``points`` (:func:`components` rows) at (intensity, achieved). ``colour`` is ``config`` or ``model``,
    ``marker`` is ``component`` or ``seq_len``; each point is its own legend entry."""
    r = roofs(hardware)
    fig, ax = new_figure(STUDY_SIZE)
    ok = points["intensity"].notna() & (points["achieved"] > 0)
    models = list(dict.fromkeys(points["model"]))
    lengths = ordered_lengths(points["seq_len"])
    # legend order: configuration (the paper's), then model, component and length
    order = sorted(points.index[ok], key=lambda i: (
        ordered_configs(points["config"]).index(points.at[i, "config"]), models.index(points.at[i, "model"]),
        COMPONENTS.index(points.at[i, "component"]), lengths.index(points.at[i, "seq_len"])))
    shown = points.loc[order]
    x_lo = min([*shown["intensity"], r["1d"].ridge]) / 10
    x_hi = max([*shown["intensity"], r["2d"].ridge]) * 10
    draw_roof(ax, r["2d"], x_lo, x_hi)
    draw_roof(ax, r["1d"], x_lo, x_hi, linestyle="--")
    for row in shown.itertuples():
        color = config_color(row.config) if colour == "config" else MODEL_COLORS[models.index(row.model) %
                                                                               len(MODEL_COLORS)]
        mark = COMPONENT_MARKERS[row.component] if marker == "component" else \
            LENGTH_MARKERS[lengths.index(row.seq_len) % len(LENGTH_MARKERS)]
        who = config_label(row.config) if colour == "config" else row.model
        what = row.component if marker == "component" else f"{row.component} {row.seq_len}"
        ax.scatter(row.intensity, row.achieved, s=110, marker=mark, color=color, edgecolors="black",
                   linewidths=0.8, zorder=5, label=f"{who}: {what}", gid=_gid(row.component, row))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(x_lo, x_hi)
    y_lo = min([*shown["achieved"], r["1d"].peak_flops]) / 10
    ax.set_ylim(y_lo, r["2d"].peak_flops * 3)
    ax.set_xlabel("Operational intensity (FLOP / DRAM byte)")
    ax.set_ylabel("Achieved throughput (FLOP/s)")
    ax.grid(True, which="major")
    fig.legend(loc="outside right center", fontsize=8, frameon=False)
    skipped = points[~ok]
    note = ""
    if len(skipped):
        names = ", ".join(dict.fromkeys(f"{config_label(c)} {k}" for c, k in zip(skipped["config"],
                                                                               skipped["component"])))
        note = f"\nnot shown, kept on chip (no DRAM traffic, so no finite intensity): {names}"
    ax.set_title(title + note, loc="left")
    return fig


@styled
def intensity_bars(layer: pd.DataFrame, hardware: Hardware, title: str) -> Figure:
    """The whole layer's operational intensity (``layer.csv``) per context length, a bar per configuration,
    on a log axis, with the 2D ridge (peak / DRAM bandwidth) as a labelled horizontal line."""
    ridge = roofs(hardware)["2d"].ridge
    fig, ax = new_figure(BARS_SIZE)
    lengths = ordered_lengths(layer["seq_len"])
    configs = ordered_configs(layer["config"])
    width = 0.8 / len(configs)
    for i, config in enumerate(configs):
        rows = layer[layer["config"] == config].set_index("seq_len")
        present = [n for n in lengths if n in rows.index]
        xs = [lengths.index(n) + (i - (len(configs) - 1) / 2) * width for n in present]
        bars = ax.bar(xs, [rows.loc[n, "intensity"] for n in present], width, color=config_color(config),
                      hatch=config_hatch(config), edgecolor="black", linewidth=0.5, label=config_label(config))
        for bar, n in zip(bars, present):
            bar.set_gid(_gid("intensity", SimpleNamespace(**{**rows.loc[n].to_dict(), "seq_len": n,
                                                            "config": config})))
        ax.bar_label(bars, fmt="%.3g", fontsize=6, rotation=90, padding=2)
    ax.axhline(ridge, color=RIDGE_COLOR, linestyle="--", linewidth=1.5, gid="ridge 2d",
               label=f"2D ridge {ridge:.4g} FLOP/B (peak / DRAM bandwidth)")
    ax.set_yscale("log")
    ax.set_xticks(range(len(lengths)), lengths)
    ax.set_xlabel("Context length")
    ax.set_ylabel("Operational intensity (FLOP / DRAM byte)")
    ax.set_ylim(top=max([*layer["intensity"], ridge]) * 4)
    ax.legend(loc="upper left", fontsize=9)
    ax.set_title(title, loc="left")
    return fig


#: ``model.csv``'s two latencies and their axis labels.
MODEL_METRICS = {"ttft": "TTFT (s): prompt through every layer + LM head",
                 "tpot": "TPOT (s): one decode step + LM head"}


@styled
def ttft_tpot(model: pd.DataFrame, title: str) -> Figure:
    """TTFT (top row) and TPOT (bottom row) against context length, one column per model, a line per
    configuration, both axes logarithmic; rows of ``model.csv`` at one batch."""
    models = list(dict.fromkeys(model["model"]))
    fig, axes = new_figure((3.2 * len(models) + 2.0, 6.0), 2, len(models), squeeze=False)
    for col, name in enumerate(models):
        for row, (metric, label) in enumerate(MODEL_METRICS.items()):
            ax = axes[row][col]
            for config in ordered_configs(model["config"]):
                rows = model[(model["model"] == name) & (model["config"] == config) & model[metric].notna()]
                rows = rows.assign(n=rows["seq_len"].map(parse_seq_len)).sort_values("n")
                if rows.empty:
                    continue
                ax.plot(rows["n"], rows[metric], marker=REGISTRY[config].marker, color=config_color(config),
                        label=config_label(config), gid=f"{metric} {config} {name} {int(rows['batch'].iloc[0])}")
            ax.set_yscale("log")
            _length_panel(ax, row, col, name, label, 8)
    return _legend_and_title(fig, axes, title, 9)


def _length_panel(ax, row: int, col: int, heading: str, ylabel: str, ylabel_size: int) -> None:
    """A panel of a grid against context length: log2 x axis and grid, the heading on the top row, the x
    label on the bottom row, the y label in the first column."""
    ax.set_xscale("log", base=2)
    ax.grid(True, which="major")
    if row == 0:
        ax.set_title(heading)
    else:
        ax.set_xlabel("Context length (tokens)")
    if col == 0:
        ax.set_ylabel(ylabel, fontsize=ylabel_size)


def _legend_and_title(fig: Figure, axes, title: str, fontsize: int) -> Figure:
    """The first panel's legend outside on the right, and ``title`` over the figure, left-aligned."""
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=fontsize, frameon=False)
    fig.suptitle(title, x=0.0, ha="left")
    return fig


#: The scopes of :func:`ratios`: the whole layer (``layer.csv``) and attention alone.
SCOPES = ("whole layer", "attention")
#: :func:`ratios`'s two metrics and their axis labels.
RATIO_METRICS = {"speedup": "FuseMax speedup (baseline latency / FuseMax's)",
                 "energy ratio": "FuseMax energy / baseline energy"}
#: Where FuseMax's time goes: ``einsums.csv``'s groups of the rest of the layer, named for the legend.
TIME_PARTS = {"attention": "attention", "projection": "projections", "mlp": "MLP", "elementwise": "element-wise"}
BASELINE_STYLES = {"flat": "-", "unfused": "--"}


def _one(frame: pd.DataFrame, phase: str, batch: int) -> pd.DataFrame:
    return frame[(frame["phase"] == phase) & (frame["batch"] == batch)]


def ratios(study: Study, phase: str, batch: int) -> pd.DataFrame:
    """FuseMax against each baseline per model x length of one phase and batch, tidy: ``scope`` (whole
    layer, from ``layer.csv``; attention, at ``layer.csv``'s latency x attention latency share and the sum
    of the energies of the configuration's attention Einsums in ``einsums.csv``), ``baseline``, ``model``, ``seq_len``, ``tokens``,
    ``speedup`` (baseline latency / FuseMax's) and ``energy ratio`` (FuseMax energy / baseline's)."""
    key = ["config", "model", "seq_len"]
    layer = _one(study.layer, phase, batch)
    layer = layer[layer["config"].isin(STUDY_CONFIGS)]
    parts = [layer[key + ["latency", "energy"]].assign(scope=SCOPES[0])]
    if study.einsums is not None:
        own = _one(study.einsums, phase, batch)
        # a baseline's platform shares its name (flat): its rest-of-layer rows are not attention
        own = own[own["config"].isin(STUDY_CONFIGS) & ~own["group"].isin(LAYER_GROUPS)]
        energy = own.groupby(key)["energy"].sum()
        attention = layer[key].assign(latency=layer["latency"] * layer["attention_latency_share"],
                                      scope=SCOPES[1])
        attention["energy"] = attention.set_index(key).index.map(energy)
        parts.append(attention)
    wide = pd.concat(parts).pivot_table(index=["scope", "model", "seq_len"], columns="config",
                                        values=["latency", "energy"], aggfunc="first")
    if FUSEMAX not in wide["latency"].columns:
        return pd.DataFrame(columns=["scope", "baseline", "model", "seq_len", "tokens", *RATIO_METRICS])
    out = []
    for base in BASELINES:
        if base in wide["latency"].columns:
            out.append(pd.DataFrame({"baseline": base,
                                     "speedup": wide["latency"][base] / wide["latency"][FUSEMAX],
                                     "energy ratio": wide["energy"][FUSEMAX] / wide["energy"][base]}).reset_index())
    frame = pd.concat(out, ignore_index=True).dropna(subset=["speedup"])
    frame["tokens"] = frame["seq_len"].map(parse_seq_len)
    models = list(dict.fromkeys(layer["model"]))
    frame["_order"] = [(SCOPES.index(s), BASELINES.index(b), models.index(m), n)
                       for s, b, m, n in zip(frame["scope"], frame["baseline"], frame["model"], frame["tokens"])]
    frame = frame.sort_values("_order").drop(columns="_order").reset_index(drop=True)
    return frame[["scope", "baseline", "model", "seq_len", "tokens", *RATIO_METRICS]]


def time_shares(study: Study, phase: str, batch: int) -> pd.DataFrame:
    """Where FuseMax's layer time goes per model x length of one phase and batch: attention (``layer.csv``'s
    latency x attention latency share) and the rest of the layer by ``einsums.csv`` group (the sum of its
    Einsums' own bounds on FuseMax's platform, as the layer adds them up), each as a ``share`` of their sum;
    columns ``model``, ``seq_len``, ``tokens``, ``part``, ``latency`` (s), ``share``."""
    key = ["model", "seq_len"]
    layer = _one(study.layer, phase, batch)
    layer = layer[layer["config"] == FUSEMAX]
    parts = [layer[key].assign(part="attention", latency=layer["latency"] * layer["attention_latency_share"])]
    if study.einsums is not None:
        e = _one(study.einsums, phase, batch)
        e = e[(e["config"] == REGISTRY[FUSEMAX].platform) & e["group"].isin(TIME_PARTS)]
        parts.append(e.groupby(key + ["group"], sort=False)["latency"].sum().reset_index()
                     .rename(columns={"group": "part"}))
    frame = pd.concat(parts, ignore_index=True).merge(layer[key], on=key)
    frame["share"] = frame["latency"] / frame.groupby(key)["latency"].transform("sum")
    frame["part"] = frame["part"].map(TIME_PARTS)
    frame["tokens"] = frame["seq_len"].map(parse_seq_len)
    models = list(dict.fromkeys(layer["model"]))
    names = list(TIME_PARTS.values())
    frame["_order"] = [(models.index(m), names.index(p), n)
                       for m, p, n in zip(frame["model"], frame["part"], frame["tokens"])]
    return frame.sort_values("_order")[["model", "seq_len", "tokens", "part", "latency", "share"]] \
        .reset_index(drop=True)


def _model_colour(models: list[str], model: str) -> str:
    return MODEL_COLORS[models.index(model) % len(MODEL_COLORS)]


@styled
def ratios_vs_length(frame: pd.DataFrame, title: str) -> Figure:
    """:func:`ratios` rows as lines against context length: speedup (top) and energy ratio (bottom), whole
    layer (left) and attention (right), a colour per model, solid over FLAT and dashed over unfused; each
    line's ``gid`` is ``<metric>|<scope>|<baseline>|<model>``, its points (tokens, value)."""
    scopes = [s for s in SCOPES if (frame["scope"] == s).any()]
    models = list(dict.fromkeys(frame["model"]))
    fig, axes = new_figure((6.0 * len(scopes) + 2.5, 7.5), 2, len(scopes), squeeze=False, sharex=True)
    for col, scope in enumerate(scopes):
        for row, (metric, label) in enumerate(RATIO_METRICS.items()):
            ax = axes[row][col]
            for (base, model), line in frame[frame["scope"] == scope].groupby(["baseline", "model"], sort=False):
                ax.plot(line["tokens"], line[metric], marker="o", markersize=3, color=_model_colour(models, model),
                        linestyle=BASELINE_STYLES[base], label=f"{model} over {config_label(base)}",
                        gid=f"{metric}|{scope}|{base}|{model}")
            ax.axhline(1.0, color="grey", linewidth=0.8)
            _length_panel(ax, row, col, scope, label, 9)
    return _legend_and_title(fig, axes, title, 8)


@styled
def time_breakdown(frame: pd.DataFrame, title: str) -> Figure:
    """:func:`time_shares` rows as lines of share against context length, one panel per model, a line per
    part; each line's ``gid`` is ``share|<part>|<model>``, its points (tokens, share)."""
    models = list(dict.fromkeys(frame["model"]))
    cols = min(3, len(models))
    rows = -(-len(models) // cols)
    fig, axes = new_figure((4.2 * cols + 1.5, 3.2 * rows), rows, cols, squeeze=False, sharex=True, sharey=True)
    colours = dict(zip(TIME_PARTS.values(), MODEL_COLORS))
    for i, model in enumerate(models):
        ax = axes[i // cols][i % cols]
        for part, line in frame[frame["model"] == model].groupby("part", sort=False):
            ax.plot(line["tokens"], line["share"], marker="o", markersize=3, color=colours[part], label=part,
                    gid=f"share|{part}|{model}")
        ax.set_xscale("log", base=2)
        ax.set_ylim(0, 1)
        ax.grid(True, which="major")
        ax.set_title(model)
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("Context length (tokens)")
    for ax in axes[:, 0]:
        ax.set_ylabel("share of the layer's time")
    return _legend_and_title(fig, axes, title, 9)


@dataclass(frozen=True)
class FigureSpec:
    """One study figure (drawn once per phase): which points, and how they are told apart."""

    stem: str
    title: str
    caption: str
    models: tuple[str, ...] | None      # None: every model in the folder
    lengths: tuple[int, ...] | None     # None: every length
    configs: tuple[str, ...]
    components: tuple[str, ...]
    colour: str = "config"
    marker: str = "component"
    bars: bool = False


FIGURES = (
    FigureSpec("study-bert-components", "BERT's components at 1K",
               "Attention, softmax, MLP and whole layer of FuseMax, FLAT and unfused.",
               ("BERT",), (1024,), STUDY_CONFIGS, COMPONENTS),
    FigureSpec("study-bert-lengths", "BERT's whole layer at 256, 1K and 4K",
               "The whole layer of each configuration at three context lengths.",
               ("BERT",), (256, 1024, 4096), STUDY_CONFIGS, ("layer",), marker="seq_len"),
    FigureSpec("study-opt-pythia-components", "OPT-66B and Pythia-14M components at 2K (FuseMax)",
               "Attention, softmax, MLP and whole layer of the largest and the smallest model on FuseMax.",
               ("OPT-66B", "Pythia-14M"), (2048,), (FUSEMAX,), COMPONENTS, colour="model"),
    FigureSpec("study-short-long", "Whole layer, short (256) vs long (4K), across models (FuseMax)",
               "Each model's whole layer on FuseMax at 256 and 4K.",
               None, (256, 4096), (FUSEMAX,), ("layer",), colour="model", marker="seq_len"),
    FigureSpec("study-bert-intensity", "BERT's whole-layer operational intensity vs context length",
               "layer.csv's intensity (algorithmic FLOPs / DRAM bytes) per length; above the ridge the 2D "
               "array, below it DRAM bounds the layer.",
               ("BERT",), grid.LENGTHS, STUDY_CONFIGS, ("layer",), bars=True),
)


def _select(frame: pd.DataFrame, spec: FigureSpec, phase: str, batch: int) -> pd.DataFrame:
    sel = (frame["phase"] == phase) & (frame["batch"] == batch) & frame["config"].isin(spec.configs)
    if spec.models is not None:
        sel &= frame["model"].isin(spec.models)
    if spec.lengths is not None:
        sel &= frame["seq_len"].map(parse_seq_len).isin(spec.lengths)
    if "component" in frame.columns:
        sel &= frame["component"].isin(spec.components)
    return frame[sel]


def _missing(rows: pd.DataFrame, spec: FigureSpec, models: list[str]) -> list[str]:
    """``model length`` points the spec asks for and the folder lacks."""
    have = {(m, parse_seq_len(n)) for m, n in zip(rows["model"], rows["seq_len"])}
    want = spec.models or tuple(models)
    return [f"{m} {format_seq_len(n)}" for m in want for n in (spec.lengths or ()) if (m, n) not in have]


Draw = Callable[..., SavedFigure]


def figures(study: Study, fig: Draw) -> tuple[list[SavedFigure], list[str]]:
    """Every :data:`FIGURES` entry for prefill and decode at :func:`default_batch`, drawn with
    ``fig(stem, title, caption, builder, *args)`` (:func:`.style.draw`); returns (figures, notes). A figure
    whose points are all absent is skipped with a note; one with some absent says which."""
    batch = default_batch(study.layer)
    points = components(study)
    models = list(dict.fromkeys(study.layer["model"]))
    saved: list[SavedFigure] = []
    notes: list[str] = []
    for phase in PHASES:
        for spec in FIGURES:
            stem, title = f"{spec.stem}-{phase}", f"{spec.title}, {phase}, batch {batch}"
            rows = _select(study.layer if spec.bars else points, spec, phase, batch)
            if rows.empty:
                notes.append(f"Study figure {stem} skipped: no {', '.join(spec.models or ['model'])} at "
                             f"{', '.join(_length_names(spec.lengths))} ({phase}, batch {batch}) in the study.")
                continue
            missing = _missing(rows, spec, models)
            if missing and not spec.bars:
                notes.append(f"Study figure {stem}: absent from the study: {', '.join(missing)}.")
            caption = f"{spec.caption} Modelled by fusemax ({phase}, batch {batch})."
            if spec.bars:
                rows = rows[LAYER_KEY + ["intensity"]]
                saved.append(fig(stem, title, caption, intensity_bars, rows, study.hardware, title))
            else:
                caption += (" Points: achieved throughput (FLOPs / latency) at FLOPs / DRAM bytes, against the "
                            "2D (solid) and 1D (dashed) roofs; ridges = peak / DRAM bandwidth.")
                saved.append(fig(stem, title, caption, roofline, rows.reset_index(drop=True), study.hardware,
                                 title, spec.colour, spec.marker))
    for phase in PHASES:
        saved += _answers(study, fig, phase, batch)
    if study.model is not None:
        rows = study.model[(study.model["batch"] == batch) & study.model["config"].isin(STUDY_CONFIGS)]
        if rows.empty:
            notes.append(f"Study figure study-model skipped: model.csv has no FuseMax, FLAT or unfused row at "
                         f"batch {batch}.")
        else:
            title = f"Whole model: TTFT and TPOT vs context length, batch {batch}"
            saved.append(fig("study-model", title, "TTFT = layers x the prefill layer + the LM head for the last "
                             "token; TPOT = layers x the decode layer at that context + the LM head, batch "
                             f"{batch} (model.csv). Modelled by fusemax.", ttft_tpot, rows.reset_index(drop=True),
                             title))
    else:
        notes.append("Study: no model.csv; the whole-model figure is not drawn.")
    return saved, notes


def _answers(study: Study, fig: Draw, phase: str, batch: int) -> list[SavedFigure]:
    """The figures that answer the study's questions for one phase: FuseMax's speedup and energy ratio
    against length per model, and where its time goes."""
    answers = (
        ("study-ratios", "FuseMax over FLAT and unfused vs context length",
         "Speedup = baseline latency / FuseMax (binding) latency; energy ratio = FuseMax energy / baseline "
         "energy; whole layer (layer.csv) and attention alone (layer.csv's latency x attention_latency_share, "
         "einsums.csv's energies). Solid: over FLAT; dashed: over unfused.", ratios_vs_length,
         ratios(study, phase, batch)),
        ("study-time", "Where FuseMax's layer time goes vs context length",
         "Share of each part in FuseMax's (binding) layer: attention at its latency, projections, MLP and "
         "element-wise at the sum of their Einsums' bounds (einsums.csv's group).", time_breakdown,
         time_shares(study, phase, batch)),
    )
    out = []
    for stem, title, caption, builder, frame in answers:
        if not frame.empty:
            title = f"{title}, {phase}, batch {batch}"
            out.append(fig(f"{stem}-{phase}", title, f"{caption} Modelled by fusemax.", builder, frame, title))
    return out


def _length_names(lengths: tuple[int, ...] | None) -> list[str]:
    if lengths is None:
        return ["any length"]
    return [format_seq_len(n) for n in lengths] if len(lengths) <= 4 else \
        [f"{format_seq_len(lengths[0])} ... {format_seq_len(lengths[-1])}"]


def comparison(layer: pd.DataFrame, phase: str) -> pd.DataFrame:
    """FuseMax's whole layer against FLAT and unfused at every batch x model x length of one phase:
    baseline latency / FuseMax latency (speedup) and FuseMax energy / baseline energy, plus the share of
    FuseMax's latency spent in attention. Baselines a point lacks show as NaN."""
    rows = layer[layer["phase"] == phase]
    point = ["batch", "model", "seq_len"]
    wide = rows.pivot_table(index=point, columns="config", values=["latency", "energy"], aggfunc="first")
    if FUSEMAX not in wide["latency"].columns:
        return pd.DataFrame()
    out = pd.DataFrame(index=wide.index)
    for base in BASELINES:
        if base in wide["latency"].columns:
            out[f"speedup over {config_label(base)}"] = wide["latency"][base] / wide["latency"][FUSEMAX]
    for base in BASELINES:
        if base in wide["energy"].columns:
            out[f"energy vs {config_label(base)}"] = wide["energy"][FUSEMAX] / wide["energy"][base]
    share = rows[rows["config"] == FUSEMAX].set_index(point)["attention_latency_share"]
    out["FuseMax attention share of latency"] = share
    out = out[wide["latency"][FUSEMAX].notna()]
    order = [(b, m, n) for b in sorted(set(rows["batch"])) for m, n in point_order(rows[rows["batch"] == b])]
    return out.reindex([o for o in order if o in out.index])


def headline_table(layer: pd.DataFrame, phase: str) -> pd.DataFrame:
    """The paper's headline (:func:`.frames.headline_table`) of FuseMax's whole layer in one phase, per batch:
    means over model x length (batches and phases are different workloads, never averaged together)."""
    rows = layer[layer["phase"] == phase]
    parts = [headline_rows(rows[rows["batch"] == batch], (FUSEMAX,)).assign(batch=int(batch))
             for batch in sorted(set(rows["batch"]))]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts).reset_index()
    out["baseline"] = out["baseline"].map(config_label)
    return out.set_index(["batch", "baseline"])[["points", "mean speedup", "mean energy ratio"]]


def tables(study: Study) -> list[tuple[str, pd.DataFrame]]:
    """The Study section's tables, one headline and one comparison per phase present."""
    out = []
    for phase in PHASES:
        if not (study.layer["phase"] == phase).any():
            continue
        out.append((f"Study headline, {phase}: FuseMax's whole layer over FLAT and unfused (means over model × "
                    "length)", headline_table(study.layer, phase)))
        out.append((f"Study, {phase}: FuseMax's whole-layer speedup and energy ratio per point",
                    comparison(study.layer, phase)))
    return [(name, frame) for name, frame in out if not frame.empty]


def speedup_pivots(study: Study) -> list[tuple[str, pd.DataFrame]]:
    """One compact table per phase and batch: FuseMax's whole-layer speedup over FLAT (and over unfused
    below it), model x context length, as text such as ``1.32x`` (:func:`comparison` has every column)."""
    out = []
    for phase in PHASES:
        table = comparison(study.layer, phase)
        for batch in sorted(set(table.index.get_level_values("batch"))):
            part = table.xs(batch, level="batch")
            lengths = ordered_lengths(part.index.get_level_values("seq_len"))
            for base in BASELINES:
                column = f"speedup over {config_label(base)}"
                if column not in part.columns:
                    continue
                wide = part[column].unstack("seq_len").reindex(columns=lengths)
                wide = wide.reindex(list(dict.fromkeys(part.index.get_level_values("model"))))
                out.append((f"FuseMax (binding) whole-layer {column}, {phase}, batch {batch} (model × length)",
                            wide.map(lambda v: "–" if pd.isna(v) else f"{v:.2f}x")))
    return out


def section(folder: Path, fig: Draw) -> tuple[list[SavedFigure], list[tuple[str, pd.DataFrame]],
                                              list[tuple[str, pd.DataFrame]], list[str]]:
    """The Study section of a report: (figures, tables shown, tables folded behind a disclosure, notes) from
    ``folder``: the headlines and :func:`speedup_pivots` shown, each phase's full :func:`comparison` folded."""
    study = load(folder)
    saved, notes = figures(study, fig)
    if study.einsums is None:
        notes.append("Study: no einsums.csv; its roofline figures show the whole layer only.")
    every = tables(study)
    shown = [t for t in every if t[0].startswith("Study headline")] + speedup_pivots(study)
    folded = [t for t in every if not t[0].startswith("Study headline")]
    return saved, shown, folded, notes


__all__ = ["FIGURES", "STUDY_DIR", "Study", "comparison", "components", "figures", "find", "headline_table",
           "intensity_bars", "load", "ratios", "ratios_vs_length", "roofline", "section", "speedup_pivots", "tables",
           "time_breakdown", "time_shares", "ttft_tpot"]
