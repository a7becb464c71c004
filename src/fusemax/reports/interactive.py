"""The interactive twin of every report figure: a Plotly figure spec (plain JSON: ``data`` and ``layout``)
read off the drawn matplotlib figure, so the two always show the same values.

Each axes becomes a Plotly subplot at the axes' own place on the figure (its log scales and labels kept);
each line, scatter and bar series a trace whose hover names the point: the figure's title (model, phase,
batch), the series' legend label, the artist's id (configuration, model, length ... as the builders set
``gid``) and both coordinates. Series with the same label share a legend entry, so one click toggles them
in every subplot. Lines placed in axes coordinates (reference lines such as ``axhline``) and text are the
static figure's only.

The page (:mod:`.html`) embeds Plotly's JavaScript once (``plotly`` on PyPI ships it), so the report works
offline.
"""
from __future__ import annotations

import json
from typing import Any, cast

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

DASHES = {"-": "solid", "--": "dash", "-.": "dashdot", ":": "dot"}


def _label(artist: Any) -> str:
    """The artist's legend label; "" for matplotlib's unlabelled ``_child0`` names."""
    text = str(artist.get_label() or "")
    return "" if text.startswith("_") else text


def _numbers(values: Any) -> list[float | None]:
    array: np.ndarray = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan).ravel()
    return [float(v) if np.isfinite(v) else None for v in array]


def _axis_label(ax: Axes, which: str) -> str:
    """The axes' label, else that of an axes sharing it (a grid labels only its outer axes)."""
    shared = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    for other in [ax, *shared.get_siblings(ax)]:
        label = other.get_xlabel() if which == "x" else other.get_ylabel()
        if label:
            return label
    return which


def _hover(title: str, name: str, gid: str | None, ax: Axes, xs: list, ys: list) -> list[str]:
    what = [p for p in (title, name, gid) if p]
    xlabel, ylabel = _axis_label(ax, "x"), _axis_label(ax, "y")
    head = "<br>".join(what)
    return [f"{head}<br>{xlabel}: {x:.6g}<br>{ylabel}: {y:.6g}" if x is not None and y is not None else head
            for x, y in zip(xs, ys)]


def _trace(kind: str, name: str, xs: list, ys: list, text: list[str], axis: int, seen: set[str],
           style: dict[str, Any]) -> dict[str, Any]:
    suffix = "" if axis == 1 else str(axis)
    show = bool(name) and name not in seen
    seen.add(name)
    trace = {"type": kind, "x": xs, "y": ys, "text": text, "hovertemplate": "%{text}<extra></extra>",
             "name": name or "", "legendgroup": name or f"_{axis}", "showlegend": show,
             "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", **style}
    return trace


def _series(ax: Axes, axis: int, title: str, seen: set[str]) -> list[dict[str, Any]]:
    traces = []
    for line in ax.get_lines():
        if not isinstance(line, Line2D) or not line.get_visible() or line.get_transform() != ax.transData:
            continue   # axes-coordinate reference lines (axhline) have no data coordinates to hover
        name = _label(line)
        xs, ys = _numbers(line.get_xdata()), _numbers(line.get_ydata())
        mode = "lines+markers" if line.get_marker() not in (None, "None", "", " ") else "lines"
        if line.get_linestyle() in ("None", "", " "):
            mode = "markers"
        traces.append(_trace("scatter", name, xs, ys, _hover(title, name, line.get_gid(), ax, xs, ys), axis, seen,
                             {"mode": mode, "line": {"color": to_hex(cast(Any, line.get_color())),
                                                     "dash": DASHES.get(str(line.get_linestyle()), "solid")}}))
    for collection in ax.collections:
        if not isinstance(collection, PathCollection) or not collection.get_visible():
            continue
        offsets = np.asarray(collection.get_offsets())
        if offsets.size == 0:
            continue
        name = _label(collection)
        xs, ys = _numbers(offsets[:, 0]), _numbers(offsets[:, 1])
        colours = collection.get_facecolor()
        colour = to_hex(cast(Any, tuple(np.asarray(colours, dtype=float)[0]))) if len(colours) else "#000000"
        traces.append(_trace("scatter", name, xs, ys, _hover(title, name, collection.get_gid(), ax, xs, ys), axis,
                             seen, {"mode": "markers", "marker": {"color": colour, "size": 11,
                                                                  "line": {"width": 1, "color": "#000000"}}}))
    for container in ax.containers:
        if not isinstance(container, BarContainer):
            continue
        name = _label(container)
        patches = list(container.patches)
        xs = [p.get_x() + p.get_width() / 2 for p in patches]
        ys = [p.get_height() for p in patches]
        hover = [_hover(title, name, p.get_gid(), ax, [x], [y])[0] for p, x, y in zip(patches, xs, ys)]
        colour = to_hex(patches[0].get_facecolor()) if patches else "#000000"
        traces.append(_trace("bar", name, xs, ys, hover, axis, seen,
                             {"width": [p.get_width() for p in patches], "marker": {"color": colour}}))
    return traces


def _axis(ax: Axes, which: str, axis: int, domain: list[float]) -> dict[str, Any]:
    scale = ax.get_xscale() if which == "x" else ax.get_yscale()
    label = ax.get_xlabel() if which == "x" else ax.get_ylabel()
    ticks = ax.get_xticks() if which == "x" else ax.get_yticks()
    tick_labels = [t.get_text() for t in (ax.get_xticklabels() if which == "x" else ax.get_yticklabels())]
    other = "y" if which == "x" else "x"
    spec: dict[str, Any] = {"domain": domain, "anchor": f"{other}{'' if axis == 1 else axis}",
                            "type": "log" if scale == "log" else "linear",
                            "title": {"text": label, "font": {"size": 10}},
                            "showgrid": True, "zeroline": False}
    if scale == "log":  # SI prefixes: plotly's default writes 1e11 as "100B" (billion), a FLOP/s axis then reads as bytes
        spec["exponentformat"] = "SI"
    if scale != "log" and any(t and not _is_number(t) for t in tick_labels):   # category ticks (bar charts)
        spec.update(tickmode="array", tickvals=_numbers(ticks), ticktext=tick_labels)
    return spec


def _is_number(text: str) -> bool:
    try:
        float(text.replace("\u2212", "-"))
    except ValueError:
        return False
    return True


def spec(fig: Figure, title: str) -> dict[str, Any]:
    """The Plotly spec (``{"data": [...], "layout": {...}}``) of a drawn ``fig`` (call after it was saved:
    the axes' positions are the saved layout's); ``title`` heads the figure and every hover."""
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {"title": {"text": title, "x": 0.0, "xanchor": "left"}, "hovermode": "closest",
                              # taller than the PNG's aspect: Plotly's tick labels sit outside the axes' boxes
                              "height": max(450, int(fig.get_figheight() * 110)), "margin": {"t": 70},
                              "font": {"size": 11},
                              "legend": {"x": 1.02, "y": 0.5}, "annotations": [], "barmode": "overlay",
                              "template": "none"}
    seen: set[str] = set()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for i, ax in enumerate(axes, start=1):
        box = ax.get_position()
        width = max(box.x1 - box.x0, 1e-3)
        x_domain = [max(0.0, box.x0), min(1.0, box.x0 + width)]
        y_domain = [max(0.0, box.y0), min(1.0, box.y1)]
        data += _series(ax, i, title, seen)
        suffix = "" if i == 1 else str(i)
        layout[f"xaxis{suffix}"] = _axis(ax, "x", i, x_domain)
        layout[f"yaxis{suffix}"] = _axis(ax, "y", i, y_domain)
        heading = ax.get_title() or ax.get_title(loc="left")
        if heading:
            layout["annotations"].append({"text": heading.replace("\n", "<br>"), "showarrow": False,
                                          "xref": "paper", "yref": "paper", "x": x_domain[0], "xanchor": "left",
                                          "y": y_domain[1], "yanchor": "bottom", "font": {"size": 12}})
    return {"data": data, "layout": layout}


def to_json(fig: Figure, title: str) -> str:
    """:func:`spec` as JSON text (NaN as null)."""
    return json.dumps(spec(fig, title), separators=(",", ":"), allow_nan=False)
