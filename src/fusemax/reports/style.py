"""The one plot style of every report figure: palette, fonts, sizes, labels and how figures are saved.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies); each
configuration keeps its colour in every figure, and bars carry hatches too, so the figures survive
greyscale printing. Figures are saved at a fixed size (no tight bounding box) so a figure's pixel size is
``size x DPI`` -- tests rely on it. :func:`draw` skips a figure whose inputs and style are unchanged since
it was last saved (matplotlib's savefig is most of a report's time).
"""
from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import Any, Callable, TypeVar

import matplotlib
import pandas as pd
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.scale import LogTransform
from matplotlib.ticker import LogFormatterSciNotation

from fusemax.configs import ATTENTION_CONFIGS, REGISTRY
from fusemax.fileio import save_figure, write_text_atomic
from fusemax.workload import parse_seq_len

from . import interactive
from .current import SavedFigure, style_version
from .fonts import font_lookups_memoized, memoized_subsets

#: Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
             "grey": "#999999"}

#: Configurations in the paper's order; each one's label, colour, hatch and marker are the registry's
#: (:mod:`fusemax.configs`).
CONFIG_ORDER = ATTENTION_CONFIGS
#: Series of Fig. 7 (FLAT's AV shares SLNV's slot, as in the paper).
EINSUM_COLORS = {"QK": OKABE_ITO["blue"], "LM": OKABE_ITO["orange"], "SLN": OKABE_ITO["green"],
                 "SLD": OKABE_ITO["vermillion"], "SLNV/AV": OKABE_ITO["purple"]}
#: Roofline phases (attention, MLP, whole layer).
PHASE_MARKERS = {"attention": "D", "MLP": "P", "layer": "*"}
ROOF_COLOR = OKABE_ITO["black"]
RIDGE_COLOR = OKABE_ITO["grey"]
FALLBACK_COLORS = [OKABE_ITO[k] for k in ("sky", "yellow", "grey", "black")]

DPI = 100
#: Figure sizes in inches: a paper-wide bar row (Figs. 6, 8-11) and a roofline panel row.
WIDE = (16.0, 3.2)
ROOFLINE = (13.0, 5.5)

RC = {"font.family": "DejaVu Sans", "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11,
      "legend.fontsize": 9, "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.grid": True,
      "grid.color": "#d9d9d9", "grid.linewidth": 0.6, "axes.axisbelow": True, "axes.spines.top": False,
      "axes.spines.right": False, "savefig.dpi": DPI, "figure.dpi": DPI, "pdf.fonttype": 42,
      # text is drawn as written: a model named "$\\foo$" is a label, not TeX for mathtext to parse (and fail on);
      # log axes are labelled in plain text too (:class:`PowerFormatter`)
      "text.parse_math": False,
      # figures are laid out by their builders (:func:`new_figure`) and :func:`save`, never by a user's rc
      "figure.autolayout": False, "figure.constrained_layout.use": False}


def config_color(config: str) -> str:
    """A configuration's colour; unknown configurations take the spare colours in a stable order."""
    if config in REGISTRY:
        return REGISTRY[config].color
    return FALLBACK_COLORS[sum(map(ord, config)) % len(FALLBACK_COLORS)]


def config_label(config: str) -> str:
    """The legend name (the paper's Figs. 6-11)."""
    return REGISTRY[config].label if config in REGISTRY else config


def config_short(config: str) -> str:
    """Fig. 7's short x label."""
    return REGISTRY[config].short if config in REGISTRY else config


def config_hatch(config: str) -> str:
    return REGISTRY[config].hatch if config in REGISTRY else ""


def config_marker(config: str) -> str:
    return REGISTRY[config].marker if config in REGISTRY else "o"


def ordered_configs(configs) -> list[str]:
    """The paper's order first, then any other configuration alphabetically."""
    configs = set(configs)
    return [c for c in CONFIG_ORDER if c in configs] + sorted(configs - set(CONFIG_ORDER))


def ordered_lengths(lengths) -> list[str]:
    """Lengths as written in the CSVs (``1K``, ``4K``...), shortest first."""
    return sorted(set(lengths), key=parse_seq_len)


#: An exponent's characters as superscripts (DejaVu Sans has each glyph).
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
#: How matplotlib's log formatter writes a label in mathtext: ``$\mathdefault{...}$``.
_MATHDEFAULT = re.compile(r"\$\\mathdefault\{(.*)\}\$")


class PowerFormatter(LogFormatterSciNotation):
    """matplotlib's log-axis tick labels (the same ticks labelled: ``10¹²``, ``2¹⁰``, ``2 times 10⁻³``) written in
    plain Unicode rather than mathtext, which the report's text does not parse (``text.parse_math`` off).
    Plain text also keeps the PDFs' fonts TrueType (``pdf.fonttype`` 42)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        label = super().__call__(x, pos)
        math = _MATHDEFAULT.fullmatch(label)
        if math is None:
            return label   # an unlabelled tick ("")
        return re.sub(r"\^\{(-?\d+)\}", lambda power: power[1].translate(_SUPERSCRIPTS),
                      math[1].replace(r"\times", "×"))


def plain_log_labels(fig: Figure) -> Figure:
    """``fig`` with every log axis that matplotlib's default formatter labels labelled by :class:`PowerFormatter`
    instead (an axis with labels of its builder's own, e.g. ``set_xticks(ticks, labels)``, keeps them)."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            transform = axis.get_transform()
            if not isinstance(transform, LogTransform):   # a linear (or symlog) axis
                continue
            for old, use in ((axis.get_major_formatter(), axis.set_major_formatter),
                             (axis.get_minor_formatter(), axis.set_minor_formatter)):
                if type(old) is LogFormatterSciNotation:   # matplotlib's default (shared axes share it)
                    use(PowerFormatter(transform.base, labelOnlyBase=old.labelOnlyBase,
                                       minor_thresholds=old.minor_thresholds))
    return fig


F = TypeVar("F", bound=Callable)


def styled(fn: F) -> F:
    """Decorate a figure builder: everything it draws uses the report style (fonts are fixed when text is
    created, so the style must be active while drawing, not only when saving), and its log axes read as powers
    (:func:`plain_log_labels`)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(RC):
            return plain_log_labels(fn(*args, **kwargs))
    return wrapper  # type: ignore[return-value]


def new_figure(size: tuple[float, float], nrows: int = 1, ncols: int = 1, **kwargs):
    """``(figure, axes)`` with a constrained layout (axes squeezed like pyplot); call inside a builder.

    Figures are built without pyplot: nothing is registered with an interactive backend, saving renders
    with Agg, and a notebook can still display the returned figure.
    """
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save(fig: Figure, folder: Path, stem: str, title: str, caption: str = "") -> SavedFigure:
    """Write ``folder/stem.png`` and ``.pdf`` at the figure's own size (Agg renders the PNG), through
    :func:`fusemax.fileio.save_figure` (atomic, never through a link)."""
    saved = SavedFigure.at(folder, stem, title, caption)
    # fonts and their tables from memos: matplotlib looks them up for every string it lays out (fonts.py)
    with matplotlib.rc_context(RC), font_lookups_memoized():  # type: ignore[arg-type]  # RC: valid rc keys
        # Solve the constrained layout once, here, and fix it: a figure with a layout engine (even the
        # "none" placeholder) costs savefig a whole draw with rendering off before each format's own draw,
        # so four draws where two render (the solve is a third of a figure's time, the silent draws a fifth).
        # The PDF has the PNG's size, so one layout serves both.
        # One Agg canvas for the layout and the PNG: the layout then measures text with the renderer the PNG
        # draws with, so the PNG finds every string's size in that renderer's cache (a figure on the bare
        # base canvas would get a new renderer for each, and measure every label again).
        if type(fig.canvas) is FigureCanvasBase:
            FigureCanvasAgg(fig)
        engine = fig.get_layout_engine()
        if engine is not None:
            engine.execute(fig)
            fig.set_layout_engine(None)   # RC turns autolayout off: None is no engine at all
        save_figure(fig, saved.png, dpi=DPI)
        with memoized_subsets():   # one font subset per font file and process: cut per figure, 40 % of a PDF's time
            save_figure(fig, saved.pdf)
    return saved


def _digest(value: Any) -> bytes:
    # A frame by its CSV text: exact float reprs, index and column names, and cheap at report sizes.
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return f"{type(value).__name__}\0{list(value.dtypes) if isinstance(value, pd.DataFrame) else value.dtype}" \
               .encode() + value.to_csv().encode()
    return repr(value).encode()


def inputs_key(builder: Callable, args: tuple) -> str:
    """SHA-256 of the style version, the builder's name and its arguments: what decides a figure's pixels."""
    digest = hashlib.sha256(f"{style_version()}\0{builder.__module__}.{builder.__qualname__}".encode())
    for value in args:
        digest.update(b"\0" + _digest(value))
    return digest.hexdigest()


def is_current(folder: Path, stem: str, key: str) -> bool:
    """Whether ``folder`` holds every file of ``stem`` (PNG, PDF, Plotly spec) drawn from the inputs whose
    :func:`inputs_key` is ``key``."""
    saved = SavedFigure.at(folder, stem)
    try:
        return (saved.stamp.read_text().strip() == key
                and all(p.is_file() for p in (saved.png, saved.pdf, saved.plotly)))
    except OSError:
        return False


def draw(folder: Path, stem: str, title: str, caption: str, builder: Callable[..., Figure],
         *args: Any) -> tuple[SavedFigure, bool]:
    """``(saved figure, redrawn?)``: ``builder(*args)`` saved as by :func:`save`, unless ``folder`` already
    holds its files (PNG, PDF, Plotly spec) drawn from the same inputs by the same style (``stem.inputs.sha256``
    records the key of :func:`inputs_key`; it is written last, so an interrupted save is redrawn next time)."""
    key = inputs_key(builder, args)
    if is_current(folder, stem, key):
        return SavedFigure.at(folder, stem, title, caption), False
    SavedFigure.at(folder, stem, title, caption).stamp.unlink(missing_ok=True)
    figure = builder(*args)
    saved = save(figure, folder, stem, title, caption)
    # after saving: the spec takes the axes' places from the saved layout
    write_text_atomic(saved.plotly, interactive.to_json(figure, title))
    write_text_atomic(saved.stamp, key + "\n")
    return saved, True
