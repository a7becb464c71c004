"""Whether a report is current, decided without matplotlib and without reading a table into pandas: what a
report is drawn from (:func:`sources`: the paper's results folder, the study folder, their ``run.json``),
the code that draws it (:func:`style_version`), and the stamp ``index.html`` ends with (:func:`page_stamp`).

A warm ``write_report`` (same tables, same code, every figure the page shows untouched since) takes the page's
body from the page itself (:func:`current_body`) and only rebuilds its Parameters table: every run writes a
new ``run.json`` (its ``run_id``, timings and job counts), while the body depends on ``run.json`` only through
:data:`BODY_RUN_FIELDS`. Anything else (a table, a ``run.json`` field the body reads, the roofline choice,
fusemax or a library's version, a figure file) makes :mod:`.build` draw what changed and write the page anew.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Sequence

from fusemax import results as results_io

REPORT_DIR = "report"
#: ``OUT/study/results``, next to the paper's ``OUT/results``.
STUDY_DIR = Path(results_io.STUDY_DIR) / "results"
#: The ``run.json`` fields the page's body reads: the rooflines' hardware (:func:`.rooflines.hardware_of`), the
#: failed points (the notes) and the tables' manifest (:func:`fusemax.results.check_one_run`). The rest shows
#: only in the Parameters table, rebuilt every time; a field the body starts reading must be added here.
BODY_RUN_FIELDS = ("hardware", "failed", results_io.MANIFEST)
#: How the stamp at the end of ``index.html`` starts and ends (an HTML comment: the page shows nothing).
STAMP_START, STAMP_END = "<!-- fusemax report stamp: ", " -->"


@dataclass(frozen=True)
class SavedFigure:
    """One figure written as PNG and PDF."""

    stem: str
    title: str
    caption: str
    png: Path
    pdf: Path

    @classmethod
    def at(cls, folder: Path, stem: str, title: str = "", caption: str = "") -> SavedFigure:
        """The figure ``stem`` saved in ``folder``."""
        return cls(stem, title, caption, folder / f"{stem}.png", folder / f"{stem}.pdf")

    @property
    def plotly(self) -> Path:
        """The interactive twin's Plotly spec beside the PNG (:mod:`.interactive`)."""
        return self.png.with_name(f"{self.stem}.plotly.json")

    @property
    def stamp(self) -> Path:
        """The key of the inputs the files were drawn from (:func:`.style.draw`)."""
        return self.png.with_name(f"{self.stem}.inputs.sha256")


@dataclass(frozen=True)
class RooflineChoice:
    """Which roofline figures a report draws (``fusemax report --roofline-model/-length/-phase``); None:
    every model, the length most models have (nearest 4K), both phases."""

    model: str | None = None
    length: str | None = None
    phase: str | None = None

    FLAGS: ClassVar[dict[str, str]] = {"model": "--roofline-model", "length": "--roofline-length", "phase": "--roofline-phase"}

    def flag_given(self) -> str:
        """The first option set (for an error that names it)."""
        return next(flag for name, flag in self.FLAGS.items() if getattr(self, name) is not None)


def find(folder: str | Path) -> Path | None:
    """The study folder of an experiment folder ``folder`` (``folder/study/results``; ``folder`` may also be
    the paper's ``results/`` or the study folder itself), or None when it has no ``layer.csv``."""
    folder = Path(folder)
    candidates = [folder / STUDY_DIR, folder.parent / STUDY_DIR if folder.name == "results" else None,
                  results_io.results_dir(folder)]
    for candidate in candidates:
        if candidate is not None and (candidate / "layer.csv").is_file():
            if candidate == results_io.results_dir(folder) and any(candidate.glob("attn-*.csv")):
                continue  # a paper (or ``fusemax run --layer``) folder, not a study
            return candidate
    return None


@functools.lru_cache(maxsize=1)
def style_version() -> str:
    """fusemax's version, those of the libraries that draw and write the report (matplotlib, pandas, plotly's
    JavaScript) and a hash of this package's source: a release, a new library or a development edit of any
    figure builder redraws every figure. Versions are read from the installed metadata (importing matplotlib
    costs more than a warm report)."""
    from fusemax import __version__
    versions = [__version__] + [metadata.version(name) for name in ("matplotlib", "pandas", "plotly")]
    digest = hashlib.sha256("\0".join(versions).encode())
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Sources:
    """What a report is drawn from."""

    #: The results folder, when it holds ``attn-*.csv`` (the paper's figures and tables).
    paper: Path | None
    #: The study folder (:func:`find`).
    study: Path | None
    #: The ``run.json`` the Parameters table shows: the paper's, else the study's ({} when neither has one).
    run: dict[str, Any]
    #: SHA-256 of all the page's body depends on; None when an input is not a plain readable file or
    #: ``run.json`` is not a JSON object (the full build then says what is wrong).
    key: str | None


def sources(folder: str | Path, roofline: RooflineChoice) -> Sources:
    """The :class:`Sources` of a report of ``folder`` drawing ``roofline``: every ``*.csv`` of each folder
    (byte for byte: what the build reads and checks against the manifest), its ``run.json``'s
    :data:`BODY_RUN_FIELDS`, the folder names the page shows, the choice and :func:`style_version`."""
    folder = Path(folder)
    results = results_io.results_dir(folder)
    paper = results if any(results.glob("attn-*.csv")) else None
    study = find(folder)
    try:
        runs = [_run_json(where) for where in (paper, study)]
    except (OSError, ValueError):
        return Sources(paper, study, {}, None)
    digest = hashlib.sha256(f"{style_version()}\0{folder}\0{roofline!r}".encode())
    key: str | None = None
    try:
        for where, run in zip((paper, study), runs):
            digest.update(f"\0{where}".encode())
            digest.update(json.dumps({k: run.get(k) for k in BODY_RUN_FIELDS}, sort_keys=True).encode())
            if where is None:
                continue
            if (where / results_io.RUN_FILE).is_symlink():
                raise ValueError("run.json is a link: the build's to check")
            for path in sorted(where.glob("*.csv")):
                digest.update(b"\0" + path.name.encode() + b"\0" + _plain_file(path))
        key = digest.hexdigest()
    except (OSError, ValueError):
        pass
    return Sources(paper, study, runs[0] or runs[1], key)


def _plain_file(path: Path) -> bytes:
    """``path``'s bytes; ValueError when it is not a regular file (a link is the build's to refuse)."""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise ValueError(f"{path} is not a regular file")
    return path.read_bytes()


def _run_json(folder: Path | None) -> dict[str, Any]:
    """``folder``'s ``run.json`` as :func:`fusemax.results.read_paper` parses it; {} when there is none."""
    path = folder / results_io.RUN_FILE if folder is not None else None
    if path is None or not path.is_file():
        return {}
    run = json.loads(path.read_bytes().decode("utf-8"))
    if not isinstance(run, dict):
        raise ValueError(f"{path} is not a JSON object")
    return run


def _state(path: Path) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _figure_state(fig: SavedFigure) -> list | None:
    """The figure's inputs key and the size and time of each of its files, or None when it has no stamp."""
    try:
        key = fig.stamp.read_text().strip()
    except OSError:
        return None
    return [key, *(_state(p) for p in (fig.png, fig.pdf, fig.plotly))]


def page_stamp(key: str | None, body: bytes, figures: Sequence[SavedFigure]) -> str:
    """The comment that ends ``index.html``: the :class:`Sources` key, the length and SHA-256 of the page's
    body, and the state of every figure the body shows (the PNG and Plotly spec it embeds, the PDF it links)."""
    record = {"key": key, "body": [len(body), hashlib.sha256(body).hexdigest()],
              "figures": {f.stem: _figure_state(f) for f in figures}}
    # ">" escaped (still JSON): nothing in the record can end the comment early
    return STAMP_START + json.dumps(record, sort_keys=True).replace(">", "\\u003e") + STAMP_END


def current_body(index: Path, key: str | None) -> tuple[bytes, str] | None:
    """``(body, stamp)`` of the page ``index`` when its stamp (:func:`page_stamp`) records ``key``, its body is
    as written and every figure it records has the same stamp and files as then; else None (no page, no
    stamp, anything changed or unreadable: the page is to be built)."""
    if key is None:
        return None
    try:
        page = index.read_bytes()
    except OSError:
        return None
    start = page.rfind(STAMP_START.encode())
    end = page.find(STAMP_END.encode(), start)
    if start < 0 or end < 0:
        return None
    stamp = page[start:end + len(STAMP_END)].decode("utf-8", errors="replace")
    try:
        record = json.loads(stamp[len(STAMP_START):-len(STAMP_END)])
        length, digest = record["body"]
        figures = record["figures"]
        body = page[:length]
        if (record["key"] != key or len(body) != length or hashlib.sha256(body).hexdigest() != digest
                or not isinstance(figures, dict)):
            return None
        for stem, state in figures.items():
            if state is None or _figure_state(SavedFigure.at(index.parent, stem)) != state:
                return None
    except (ValueError, KeyError, TypeError):
        return None
    return body, stamp
