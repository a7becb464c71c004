"""The paper's grouped-bar layout (Figs. 6, 8-11): one bar per configuration at every model x length,
lengths as tick labels and model names under their group.

Every bar's ``gid`` is ``"<model> <length>"`` and every bar container's label is its configuration, so a
reader (or a test) can map an artist back to its CSV row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.transforms import blended_transform_factory

from .style import config_color, config_hatch, config_label

GROUP_GAP = 1.0   # empty slots between two models' groups


def positions(index: pd.MultiIndex) -> np.ndarray:
    """x of every (model, length) point, with a gap whenever the model changes."""
    xs, x, previous = [], 0.0, None
    for model, _ in index:
        if previous is not None and model != previous:
            x += GROUP_GAP
        xs.append(x)
        x += 1.0
        previous = model
    return np.array(xs)


def grouped_bars(ax: Axes, wide: pd.DataFrame, ylabel: str) -> None:
    """Draw ``wide`` ((model, length) x configuration) as grouped bars; NaN cells leave a gap."""
    xs = positions(wide.index)
    configs = list(wide.columns)
    width = 0.84 / max(len(configs), 1)
    for k, config in enumerate(configs):
        offset = (k - (len(configs) - 1) / 2) * width
        values = wide[config].to_numpy(dtype=float)
        bars = ax.bar(xs + offset, np.nan_to_num(values), width, label=config_label(config),
                      color=config_color(config), hatch=config_hatch(config), edgecolor="white",
                      linewidth=0.4)
        for patch, (model, length), value in zip(bars.patches, wide.index, values):
            patch.set_gid(f"{model} {length}")
            patch.set_visible(bool(np.isfinite(value)))
    ax.set_xticks(xs, [length for _, length in wide.index])
    ax.tick_params(axis="x", length=0)
    if len(xs):
        ax.set_xlim(xs.min() - 0.6, xs.max() + 0.6)
    label_models(ax, wide.index, xs)
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", visible=False)


def label_models(ax: Axes, index: pd.MultiIndex, xs: np.ndarray) -> None:
    """Model names centred under their group of lengths."""
    models = [m for m, _ in index]
    group_labels(ax, models, xs, below_points=16)


def group_labels(ax: Axes, keys: list[str], xs: np.ndarray, below_points: float) -> None:
    """Write each distinct key once, centred under its x positions, ``below_points`` under the axis."""
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for key in dict.fromkeys(keys):
        centre = np.mean([x for x, k in zip(xs, keys) if k == key])
        ax.annotate(key, xy=(centre, 0), xycoords=trans, xytext=(0, -below_points), textcoords="offset points",
                    ha="center", va="top", fontsize=11)
