"""Draw the per-step assignments of one Einsum as an animation (GIF, self-contained HTML, MP4).

Each frame is one temporal step. Every tensor of the Einsum is a grid of its elements: the columns are its
last data dimension (the key block M1 x N counts as one dimension, so keys stay together), the rows the
other dimensions flattened in order. An element a PE works on at this step is filled with that PE's colour
(split into stripes when several PEs share it: an input multicast to them, or an output they reduce
together), elements worked on at earlier steps are light
grey. A panel on the right shows the PE array with each PE's colour; the title carries the Einsum's
equation and the subtitle the index of every temporal loop at this step.

Colours are Paul Tol's "muted" scheme (colour-blind safe, 9 colours, hence at most 9 PEs per array).
"""
from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib import animation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from fusemax.animate.instance import TinyEinsum
from fusemax.animate.walk import Assignment, Nest, PECoord, assignments, loop_nest
from fusemax.engine.model import DataSpace
from fusemax.engine.nest import box_extents
from fusemax.errors import FusemaxError
from fusemax.executables import which
from fusemax.fileio import make_dirs, replacing, write_text_atomic

#: Paul Tol's muted qualitative scheme, colour-blind safe
PE_COLOURS = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499")
SEEN_COLOUR = "#E4E4E4"
EMPTY_COLOUR = "#FFFFFF"
GRID_COLOUR = "#9A9A9A"
CELL_INCHES = 0.36
FRAME_MS = 700
#: Frames per second of the saved files; a float (matplotlib's stubs say int) keeps 700 ms frames.
FPS: Any = 1000 / FRAME_MS

#: ``to_jshtml`` draws its buttons with Font Awesome icons from a CDN; plain glyphs keep the page offline
_PLAYER_GLYPHS = {"fa fa-minus": "&minus;", "fa fa-fast-backward": "&#x23EE;", "fa fa-step-backward": "&#x25C1;",
                  "fa fa-play fa-flip-horizontal": "&#x25C0;", "fa fa-pause": "&#x23F8;", "fa fa-play": "&#x25B6;",
                  "fa fa-step-forward": "&#x25B7;", "fa fa-fast-forward": "&#x23ED;", "fa fa-plus": "+"}
_CDN_LINK = re.compile(r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">\s*')


@dataclass(frozen=True)
class TensorGrid:
    """How a tensor's elements are laid out as a grid: which data dimensions go on rows and on columns."""

    name: str
    row_dims: tuple[int, ...]
    col_dims: tuple[int, ...]
    extents: tuple[int, ...]
    dim_names: tuple[str, ...]
    output: bool

    @property
    def rows(self) -> int:
        return _product(self.extents[d] for d in self.row_dims)

    @property
    def cols(self) -> int:
        return _product(self.extents[d] for d in self.col_dims)

    def cell(self, element: tuple[int, ...]) -> tuple[int, int]:
        """(row, column) of an element: row-major over the row and the column dimensions."""
        return _flatten(element, self.row_dims, self.extents), _flatten(element, self.col_dims, self.extents)

    def label(self, dims: tuple[int, ...]) -> str:
        shown = [self.dim_names[d] for d in dims if self.extents[d] > 1]
        return ",".join(shown) if shown else "-"


def _product(values) -> int:
    total = 1
    for v in values:
        total *= v
    return total


def _flatten(element: tuple[int, ...], dims: tuple[int, ...], extents: tuple[int, ...]) -> int:
    index = 0
    for d in dims:
        index = index * extents[d] + element[d]
    return index


def tensor_grid(ds: DataSpace, instance: dict[str, int]) -> TensorGrid:
    """Lay out ``ds`` (see the module doc for the rule)."""
    names = tuple("+".join(r.lower() for r, _ in dim) for dim in ds.projection)
    extents = tuple(box_extents(ds, instance))
    # Group the data dimensions into axes; a key block (M1 then N) is one axis.
    axes: list[list[int]] = []
    for d, dim in enumerate(ds.projection):
        ranks = [r for r, _ in dim]
        if axes and ranks == ["N"] and [r for r, _ in ds.projection[axes[-1][-1]]] == ["M"]:
            axes[-1].append(d)
        else:
            axes.append([d])
    # The column axis is the last one that is not trivial (falls back to the last one).
    col = next((i for i in reversed(range(len(axes))) if _product(extents[d] for d in axes[i]) > 1),
               len(axes) - 1)
    rows = tuple(d for i, axis in enumerate(axes) if i != col for d in axis)
    return TensorGrid(ds.name, rows, tuple(axes[col]), extents, names, ds.read_write)


def pe_colour(pe: PECoord, mesh_x: int) -> str:
    return PE_COLOURS[(pe.y * mesh_x + pe.x) % len(PE_COLOURS)]


class _Frames:
    """Precomputed per-step cell colours of every tensor, and the figure they are drawn into."""

    def __init__(self, einsum: TinyEinsum, config: str):
        spec = einsum.spec
        self.einsum, self.config = einsum, config
        self.nest: Nest = loop_nest(spec)
        arith = spec.architecture.arithmetic
        self.mesh = (max(1, arith.mesh_x), max(1, arith.mesh_y))
        spaces = sorted(spec.problem.data_spaces, key=lambda ds: ds.read_write)  # inputs first
        self.grids = [tensor_grid(ds, spec.problem.instance) for ds in spaces]
        # step -> tensor -> cell -> PEs touching it (in PE order)
        self.touch: list[dict[str, dict[tuple[int, int], list[PECoord]]]] = [
            defaultdict(lambda: defaultdict(list)) for _ in range(self.nest.steps)]
        by_name = {g.name: g for g in self.grids}
        records: list[Assignment] = assignments(einsum.name, spec, einsum.array)
        self.pes = sorted({r.pe for r in records}, key=lambda pe: (pe.y, pe.x))
        for r in records:
            cells = self.touch[r.step][r.tensor][by_name[r.tensor].cell(r.element)]
            if r.pe not in cells:
                cells.append(r.pe)
        self._build_figure()

    def _build_figure(self) -> None:
        widths = [max(g.cols, 3) for g in self.grids] + [max(self.mesh[0], 3)]
        height_cells = max([g.rows for g in self.grids] + [self.mesh[1]])
        fig_w = max(8.2, CELL_INCHES * sum(widths) + 0.9 * len(widths) + 0.6)
        fig_h = CELL_INCHES * height_cells + 2.4
        self.fig = Figure(figsize=(fig_w, fig_h), dpi=90)
        FigureCanvasAgg(self.fig)
        grid = self.fig.add_gridspec(1, len(widths), width_ratios=widths, left=0.04, right=0.98,
                                     top=1 - 1.45 / fig_h, bottom=0.75 / fig_h, wspace=0.35)
        self.tensor_axes = [self.fig.add_subplot(grid[0, i]) for i in range(len(self.grids))]
        self.pe_axes = self.fig.add_subplot(grid[0, len(self.grids)])
        self.fig.suptitle(f"{self.einsum.name}:  {self.einsum.equation}", fontsize=12, fontweight="bold",
                          y=1 - 0.25 / fig_h, va="top")
        self.subtitle = self.fig.text(0.5, 1 - 0.75 / fig_h, "", ha="center", va="top", fontsize=9.5)
        self.fig.text(0.5, 0.2 / fig_h, "colour: the PE working on the element at this step (stripes: several PEs "
                      "share it: an input multicast or an output reduced across PEs)    grey: worked on at an "
                      "earlier step", ha="center", va="bottom",
                      fontsize=8, color="#444444")
        self._draw_pe_array()
        self.cells = [self._draw_empty(ax, g) for ax, g in zip(self.tensor_axes, self.grids)]
        self.overlays: list[PatchCollection] = []

    def _draw_pe_array(self) -> None:
        ax = self.pe_axes
        mx, my = self.mesh
        used = set(self.pes)
        for y in range(my):
            for x in range(mx):
                pe = PECoord(self.einsum.array, x, y)
                colour = pe_colour(pe, mx) if pe in used else EMPTY_COLOUR
                ax.add_patch(Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="black", linewidth=1.2))
                ink = "white" if colour in ("#332288", "#882255", "#117733") else "black"
                ax.text(x + 0.5, y + 0.5, f"{x},{y}", ha="center", va="center", fontsize=8, color=ink)
        ax.set_xlim(0, mx)
        ax.set_ylim(my, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{self.einsum.array.upper()} PE array\nmeshX {mx} x meshY {my}", fontsize=9)

    def _draw_empty(self, ax, g: TensorGrid) -> PatchCollection:
        cells = PatchCollection([Rectangle((c, r), 1, 1) for r in range(g.rows) for c in range(g.cols)],
                                facecolor=EMPTY_COLOUR, edgecolor=GRID_COLOUR, linewidth=0.6)
        ax.add_collection(cells)
        ax.set_xlim(0, g.cols)
        ax.set_ylim(g.rows, 0)
        ax.set_aspect("equal")
        ax.set_xticks([c + 0.5 for c in range(g.cols)], [str(c) for c in range(g.cols)], fontsize=6.5)
        ax.set_yticks([r + 0.5 for r in range(g.rows)], [str(r) for r in range(g.rows)], fontsize=6.5)
        ax.tick_params(length=0, pad=1.5)
        ax.set_xlabel(g.label(g.col_dims), fontsize=8.5)
        ax.set_ylabel(g.label(g.row_dims), fontsize=8.5)
        role = "output" if g.output else "input"
        ax.set_title(f"{g.name}  ({role}, {g.rows}x{g.cols})", fontsize=9.5)
        return cells

    def _subtitle(self, step: int) -> str:
        loops = "  ".join(f"{lp.level} {lp.rank}={i} of {lp.bound}" for lp, i in self.nest.step_indices(step))
        spread = ", ".join(f"{lp.rank}x{lp.bound}->{(lp.spatial or '').lower()}" for lp in self.nest.spatial) or "none"
        return (f"{self.config}, {self.einsum.array.upper()} array   step {step + 1}/{self.nest.steps}   "
                f"[{loops or 'no temporal loops'}]   spatial: {spread}")

    def draw(self, step: int) -> list:
        for overlay in self.overlays:
            overlay.remove()
        self.overlays = []
        mx = self.mesh[0]
        for ax, g, cells in zip(self.tensor_axes, self.grids, self.cells):
            seen: set = set()
            for earlier in range(step):
                seen.update(self.touch[earlier][g.name])
            cells.set_facecolor([SEEN_COLOUR if (r, c) in seen else EMPTY_COLOUR
                                 for r in range(g.rows) for c in range(g.cols)])
            stripes, colours = [], []
            for (r, c), pes in self.touch[step][g.name].items():
                w = 1 / len(pes)
                for k, pe in enumerate(pes):
                    stripes.append(Rectangle((c + k * w, r), w, 1))
                    colours.append(pe_colour(pe, mx))
            overlay = PatchCollection(stripes, facecolor=colours, edgecolor="black", linewidth=0.9)
            ax.add_collection(overlay)
            self.overlays.append(overlay)
        self.subtitle.set_text(self._subtitle(step))
        return [*self.cells, *self.overlays, self.subtitle]


def animation_of(einsum: TinyEinsum, config: str) -> animation.FuncAnimation:
    """A matplotlib animation of ``einsum`` with one frame per temporal step of its nest."""
    frames = _Frames(einsum, config)
    anim = animation.FuncAnimation(frames.fig, frames.draw, frames=frames.nest.steps, interval=FRAME_MS,
                                   blit=False, repeat=True)
    return anim


def ffmpeg_path() -> str | None:
    """The ``ffmpeg`` the MP4 is written with (an absolute path on PATH, :func:`fusemax.executables.which`;
    matplotlib's own lookup would also run one in the current folder), or None."""
    return which("ffmpeg")


def write_animation(einsum: TinyEinsum, config: str, outdir: str | Path, *, mp4: bool = True) -> dict[str, Path]:
    """Write ``<einsum>.gif``, ``<einsum>.html`` (self-contained) and, when ffmpeg is present and ``mp4``,
    ``<einsum>.mp4`` under ``outdir``. Returns kind ("gif", "html", "mp4") -> path."""
    outdir = Path(outdir)
    stem = einsum.name.lower()
    paths = {"gif": outdir / f"{stem}.gif", "html": outdir / f"{stem}.html"}
    try:
        # the folder first: an animation dropped unsaved makes matplotlib warn after our error line
        make_dirs(outdir)
    except OSError as exc:
        raise FusemaxError(f"cannot write the animation: {exc.strerror or exc}", source=str(outdir)) from None
    anim = animation_of(einsum, config)
    try:
        # the writers open a path of their own: give them one in a private folder, then move it in place
        with replacing(paths["gif"]) as staged:
            anim.save(staged, writer=animation.PillowWriter(fps=FPS))
        write_text_atomic(paths["html"], html_page(f"{config} {einsum.name}",
                                                   [(einsum, offline_player(anim.to_jshtml()))]))
        ffmpeg = ffmpeg_path() if mp4 else None
        if ffmpeg is not None:
            paths["mp4"] = outdir / f"{stem}.mp4"
            with replacing(paths["mp4"]) as staged, matplotlib.rc_context({"animation.ffmpeg_path": ffmpeg}):
                anim.save(staged, writer=animation.FFMpegWriter(fps=FPS))
    except OSError as exc:
        raise FusemaxError(f"cannot write the animation: {exc.strerror or exc}", source=str(outdir)) from None
    return paths


def offline_player(snippet: str) -> str:
    """``Animation.to_jshtml()`` output without its one external resource (the icon font)."""
    snippet = _CDN_LINK.sub("", snippet)
    for css, glyph in _PLAYER_GLYPHS.items():
        snippet = snippet.replace(f'<i class="{css}"></i>', glyph)
    return snippet


def html_page(title: str, sections: list[tuple[TinyEinsum, str]]) -> str:
    """An HTML page with one section per Einsum: its name, its equation and ``body`` (an
    ``Animation.to_jshtml()`` player, which embeds its frames, or e.g. an ``<img>`` of the GIF)."""
    body = "\n".join(f"<h2>{html.escape(e.name)}</h2>\n<p><code>{html.escape(e.equation)}</code></p>\n{snippet}"
                     for e, snippet in sections)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>\n"
            f"<body style='font-family: sans-serif'>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")
