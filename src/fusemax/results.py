"""Results folders: every file under ``DIR/results`` is written (atomically) and read here.

Files: ``attn-<config>.csv`` (the artifact's schema), ``einsums.csv``, ``roofline.csv``,
``end2end-<platform>.csv``, ``pareto.csv`` and ``run.json``.

``attn-<config>.csv`` keeps the artifact's columns ``model,seq_len,traffic,latency,energy,util_2d,util_1d``
followed by one utilization column per 2D Einsum (bytes, seconds, pJ), then ours, ``pe_util_2d,pe_util_1d``.
``util_2d``/``util_1d`` are the artifact's *busy-time* fractions (the array's compute time / latency, however
few PEs work); ``pe_util_*`` are *PE utilizations*, Σ computes on the array / (PEs x latency x clock).
Decode-phase rows go to
``attn-<config>-decode.csv`` so that the prefill files stay comparable with the published ones.
``einsums.csv`` is the tidy long form: one row per configuration x model x length x phase x Einsum (with
the batch).
A run replaces the files of the phase it computed and keeps those of other phases (see :func:`write`).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd

from fusemax.errors import FusemaxError
from fusemax.fileio import make_dirs, write_text_atomic
from fusemax.workload import DEFAULT_BATCH

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.experiments.combine import ConfigResult
    from fusemax.experiments.end2end import End2EndRow
    from fusemax.experiments.layer import LayerRow
    from fusemax.experiments.pareto import ParetoRow
    from fusemax.experiments.study import StudyRun

BASE_COLUMNS = ["model", "seq_len", "traffic", "latency", "energy", "util_2d", "util_1d"]
#: Ours, appended after the artifact's columns: Σ computes on the array / (PEs x latency x clock).
PE_UTIL_COLUMNS = ["pe_util_2d", "pe_util_1d"]
EINSUM_COLUMNS = ["config", "model", "seq_len", "phase", "batch", "mask", "einsum", "array", "group", "computes", "cycles",
                  "cost", "flops", "ops", "read_bytes", "write_bytes", "traffic", "mem_latency", "comp_latency",
                  "latency", "occupancy", "energy"]
RUN_FILE = "run.json"
#: ``end2end-<platform>.csv`` and ``pareto.csv``: the artifact's columns.
END2END_COLUMNS = ["model", "seq_len", "traffic", "latency", "energy"]
#: ``layer.csv`` (bytes, seconds, pJ, FLOPs; intensity in FLOP/B; ``layer_fusion``: none or fused; ``mask``:
#: attention's mask, none, causal or window:N).
LAYER_COLUMNS = ["config", "model", "seq_len", "phase", "batch", "mask", "layer_fusion", "flops", "ops", "traffic",
                 "latency", "energy", "intensity", "attention_latency_share", "attention_flops_share"]
PARETO_COLUMNS = ["accel", "model", "PE_dim", "traffic", "mem_lat", "comp_2d_lat", "comp_1d_lat", "latency",
                  "array_2d_area", "area"]


def write_atomic(path: Path, text: str) -> Path:
    """:func:`fusemax.fileio.write_text_atomic` (readers see the old file or the new one, never a mix; a
    planted symlink is replaced, not followed), failing with one error that names the file."""
    try:
        return write_text_atomic(path, text)
    except OSError as exc:
        raise FusemaxError(f"cannot write the results: {exc.strerror or exc}", source=str(path)) from None


def _csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _folder(out_dir: str | Path) -> Path:
    folder = Path(out_dir) / "results"
    try:
        make_dirs(folder)
    except OSError as exc:
        raise FusemaxError(f"cannot create the results folder: {exc.strerror or exc}", source=str(folder)) from None
    return folder


def attn_filename(config: str, phase: str = "prefill") -> str:
    return f"attn-{config}.csv" if phase == "prefill" else f"attn-{config}-{phase}.csv"


def attn_frame(results: Iterable["ConfigResult"]) -> pd.DataFrame:
    """Rows of one configuration and phase in the artifact's column order."""
    rows = [r.csv_row() for r in results]
    columns = list(BASE_COLUMNS)
    for row in rows:
        columns += [c for c in row if c not in columns]
    return pd.DataFrame(rows, columns=columns)


def einsum_frame(results: Iterable["ConfigResult"]) -> pd.DataFrame:
    """The tidy per-Einsum table; ``latency`` is the Einsum's own bound, max(memory, compute)."""
    rows = []
    for r in results:
        for e in r.einsums:
            rows.append({"config": r.config, "model": r.model, "seq_len": r.seq_len, "phase": r.phase,
                         "batch": r.params.get("batch", DEFAULT_BATCH), "mask": r.params.get("mask", "none"),
                         "einsum": e.einsum, "array": e.array, "group": e.group,
                         "computes": e.computes, "cycles": e.cycles, "cost": e.cost, "flops": e.flops, "ops": e.ops,
                         "read_bytes": e.read_bytes,
                         "write_bytes": e.write_bytes, "traffic": e.traffic, "mem_latency": e.mem_latency,
                         "comp_latency": e.comp_latency, "latency": max(e.mem_latency, e.comp_latency),
                         "occupancy": e.occupancy, "energy": e.energy_pj})
    return pd.DataFrame(rows, columns=EINSUM_COLUMNS)


def results_dir(path: str | Path) -> Path:
    """``DIR/results`` for an experiment folder, or ``DIR`` itself when it already holds the CSVs."""
    path = Path(path)
    if (path / "results").is_dir():
        return path / "results"
    return path


def _keep_other_phases(path: Path, frame: pd.DataFrame, phases: set[str]) -> pd.DataFrame:
    """``frame`` after the rows of ``path`` whose phase this run did not compute (a decode run keeps the
    prefill rows of the same folder, and vice versa)."""
    if "phase" not in frame.columns or not path.is_file():
        return frame
    earlier = pd.read_csv(path, dtype={"model": str, "seq_len": str})
    if "phase" not in earlier.columns:
        return frame
    kept = earlier[~earlier["phase"].isin(phases)]
    return pd.concat([kept, frame], ignore_index=True) if len(kept) else frame


def write(out_dir: str | Path, results: list["ConfigResult"], run_info: dict[str, Any] | None = None,
          extra: dict[str, pd.DataFrame] | None = None, rest: Iterable["ConfigResult"] = ()) -> Path:
    """Write every CSV and ``run.json`` under ``out_dir/results``; returns that folder.

    ``rest`` (the rest of the layer per platform, :mod:`fusemax.experiments.layer`) adds its Einsums to
    ``einsums.csv`` only. ``extra`` maps file stems to further tables (``roofline``, ``layer``) written next
    to them. Tables with a
    ``phase`` column (``einsums.csv``, ``roofline.csv``) keep the rows of phases this run did not compute,
    and ``run.json`` keeps those runs' records under ``earlier_phases``, so prefill and decode runs can
    share a folder.
    """
    folder = _folder(out_dir)
    groups: dict[tuple[str, str], list] = {}
    for r in results:
        groups.setdefault((r.config, r.phase), []).append(r)
    phases = {phase for _, phase in groups}
    for (config, phase), rows in groups.items():
        write_atomic(folder / attn_filename(config, phase), attn_frame(rows).to_csv(index=False))
    tables = {"einsums": einsum_frame([*results, *rest]), **(extra or {})}
    for stem, frame in tables.items():
        path = folder / f"{stem}.csv"
        write_atomic(path, _keep_other_phases(path, frame, phases).to_csv(index=False))
    info = dict(run_info or {})
    earlier = _earlier_phases(folder / RUN_FILE, phases)
    if earlier:
        info["earlier_phases"] = earlier
    info.setdefault("files", sorted(p.name for p in folder.glob("*.csv")))
    write_atomic(folder / RUN_FILE, json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")
    return folder


def layer_frame(rows: Iterable["LayerRow"]) -> pd.DataFrame:
    """``layer.csv``: one row per configuration x model x length x phase x batch (the whole layer)."""
    return pd.DataFrame([{**dataclasses.asdict(r), "intensity": r.intensity} for r in rows], columns=LAYER_COLUMNS)


STUDY_DIR = "study"


def write_study(out_dir: str | Path, study: "StudyRun", run_info: dict[str, Any]) -> Path:
    """``OUT/study/results``: ``layer.csv``, ``einsums.csv``, ``roofline.csv`` (per batch) and ``run.json``
    of one :func:`fusemax.experiments.study.run_study` (replacing an earlier study's); returns that folder."""
    from fusemax.experiments.roofline import phase_roofline
    folder = _folder(Path(out_dir) / STUDY_DIR)
    einsums = einsum_frame(study.results)
    roofline = pd.concat([phase_roofline(part) for _, part in einsums.groupby("batch", sort=True)], ignore_index=True)
    for stem, frame in (("layer", layer_frame(study.layer)), ("einsums", einsums), ("roofline", roofline)):
        write_atomic(folder / f"{stem}.csv", frame.to_csv(index=False))
    info = {**run_info, "failed": study.failed, "jobs": study.jobs,
            "files": ["einsums.csv", "layer.csv", "roofline.csv"]}
    write_atomic(folder / RUN_FILE, json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")
    return folder


def write_end2end(out_dir: str | Path, rows_by_platform: dict[str, list["End2EndRow"]]) -> list[Path]:
    """``OUT/results/end2end-<platform>.csv`` in the artifact's columns; returns the paths written."""
    folder = _folder(out_dir)
    return [write_atomic(folder / f"end2end-{platform}.csv", _csv_text(
                END2END_COLUMNS, ([r.model, r.seq_len, int(round(r.traffic)), repr(r.latency), repr(r.energy)]
                                  for r in rows)))
            for platform, rows in rows_by_platform.items()]


def write_pareto(out_dir: str | Path, rows: list["ParetoRow"]) -> Path:
    """``OUT/results/pareto.csv`` in the artifact's columns (area in um^2, latency in s)."""
    return write_atomic(_folder(out_dir) / "pareto.csv", _csv_text(PARETO_COLUMNS, (
        ["proposal", r.model, r.pe_dim, r.traffic, r.mem_lat, r.comp_2d_lat, r.comp_1d_lat, r.latency,
         r.array_2d_area, r.area] for r in rows)))


def _earlier_phases(path: Path, phases: set[str]) -> dict[str, Any]:
    """The records of earlier runs in ``path`` for phases other than ``phases``, keyed by phase."""
    if not path.is_file():
        return {}
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out = {p: r for p, r in earlier.pop("earlier_phases", {}).items() if p not in phases}
    phase = earlier.get("phase", "prefill")
    if phase not in phases:
        out[phase] = earlier
    return out


#: Columns that hold names, not numbers; every other column of a results table must be numeric.
TEXT_COLUMNS = frozenset({"config", "model", "seq_len", "phase", "mask", "einsum", "array", "group", "accel",
                          "layer_fusion"})
ROOFLINE_COLUMNS = ["config", "model", "seq_len", "phase", "flops", "traffic"]
#: One Einsum of one run; the batch is part of it so that a study folder may hold batches 1 and 64 together.
EINSUM_KEY = ["config", "model", "seq_len", "phase", "batch", "einsum"]
LAYER_KEY = ["config", "model", "seq_len", "phase", "batch"]


def _ends_mid_line(path: Path) -> bool:
    """True when a non-empty file's last byte is not a newline (unreadable files are left to pandas)."""
    try:
        with open(path, "rb") as handle:
            if handle.seek(0, 2) == 0:
                return False
            handle.seek(-1, 2)
            return handle.read(1) != b"\n"
    except OSError:
        return False


def _read_table(path: Path, required: list[str], key: list[str], *, rows: bool = True,
                ours: bool = False) -> pd.DataFrame:
    """One results CSV, checked: it parses (UTF-8, no row longer than the header), has the ``required``
    columns, numbers without gaps in every column but :data:`TEXT_COLUMNS`, no two rows with the same
    ``key`` and, if ``rows``, at least one row. Anything else is one :class:`FusemaxError` naming the file.

    ``ours``: a table only fusemax writes, whose every line ends with a newline; one that does not was
    cut short, possibly inside its last number, which would still parse (a hand-written reference CSV
    may lack the final newline, so this is not asked of every table)."""
    import warnings
    if ours and _ends_mid_line(path):
        raise FusemaxError("truncated: the last line ends without a newline (every line fusemax writes has "
                           "one); rerun the command that wrote it", source=str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)   # "Length of header or names does not match"
            frame = pd.read_csv(path, index_col=False, dtype={c: str for c in TEXT_COLUMNS})
    except pd.errors.EmptyDataError:
        raise FusemaxError("empty file, expected a CSV table with a header", source=str(path)) from None
    except UnicodeDecodeError:
        raise FusemaxError("not UTF-8 text; is it a binary file?", source=str(path)) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as exc:
        raise FusemaxError(f"malformed CSV: {str(exc).splitlines()[0]}", source=str(path)) from None
    except OSError as exc:
        raise FusemaxError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    # the artifact's unfused header ends with a comma: an unnamed, empty column
    frame = frame.drop(columns=[c for c in frame.columns if str(c).startswith("Unnamed")])
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise FusemaxError(f"missing column(s) {', '.join(missing)}", source=str(path))
    if rows and frame.empty:
        raise FusemaxError("no rows (only a header)", source=str(path))
    for column in frame.columns:
        if column in TEXT_COLUMNS:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))   # text, gaps, nan and inf alike
        if bad.any():
            row = int(bad.nonzero()[0][0])
            raise FusemaxError(f"line {row + 2}, column {column}: expected a finite number, got "
                               f"'{frame[column].iloc[row]}'", source=str(path))
        frame[column] = values
    duplicated = frame.duplicated(subset=key).to_numpy() if key else np.zeros(len(frame), dtype=bool)
    if duplicated.any():
        row = int(duplicated.nonzero()[0][0])
        raise FusemaxError(f"line {row + 2} repeats {', '.join(f'{c}={frame[c].iloc[row]}' for c in key)}",
                           source=str(path))
    return frame


def read_attn_csv(path: str | Path) -> pd.DataFrame:
    """One ``attn-*.csv`` or ``end2end-*.csv`` (checked, see :func:`_read_table`); tolerates the artifact's
    trailing comma in the unfused header."""
    return _read_table(Path(path), BASE_COLUMNS[:5], ["model", "seq_len"])


def _read_run_info(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise FusemaxError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", source=str(path)) from None
    if not isinstance(info, dict):
        raise FusemaxError("expected a JSON object", source=str(path))
    return info


@dataclass
class Results:
    """A loaded results folder. ``attn`` is keyed like the file stem without ``attn-``: ``binding``,
    ``flat``, ``binding-decode``..."""

    attn: dict[str, pd.DataFrame] = field(default_factory=dict)
    einsums: pd.DataFrame | None = None
    run: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    roofline: pd.DataFrame | None = None
    #: ``end2end-<platform>.csv`` (the layer's other matrix multiplies) keyed by platform: flat, proposal.
    end2end: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: ``pareto.csv`` (Fig. 12; area in um^2, latency in s), when the folder has one.
    pareto: pd.DataFrame | None = None
    #: ``layer.csv`` (the whole layer per configuration, from ``fusemax run --layer``), when present.
    layer: pd.DataFrame | None = None

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self.attn[key.removeprefix("attn-")]

    def __contains__(self, key: str) -> bool:
        return key.removeprefix("attn-") in self.attn

    def keys(self) -> list[str]:
        return list(self.attn)


def load(path: str | Path) -> Results:
    """Load ``DIR/results`` (or a folder of ``attn-*.csv`` such as the artifact's published results)."""
    folder = results_dir(path)
    files = sorted(folder.glob("attn-*.csv")) if folder.is_dir() else []
    if not files:
        raise FusemaxError("no attn-*.csv results found", source=str(folder))
    res = Results(folder=folder)
    for f in files:
        res.attn[f.stem.removeprefix("attn-")] = read_attn_csv(f)
    if (folder / "einsums.csv").exists():
        res.einsums = _read_table(folder / "einsums.csv", EINSUM_COLUMNS, EINSUM_KEY, rows=False, ours=True)
    if (folder / RUN_FILE).exists():
        res.run = _read_run_info(folder / RUN_FILE)
    if (folder / "roofline.csv").exists():
        res.roofline = _read_table(folder / "roofline.csv", ROOFLINE_COLUMNS, [], rows=False, ours=True)
    for f in sorted(folder.glob("end2end-*.csv")):
        res.end2end[f.stem.removeprefix("end2end-")] = read_attn_csv(f)
    if (folder / "pareto.csv").is_file():
        res.pareto = pd.read_csv(folder / "pareto.csv", dtype={"model": str})
    if (folder / "layer.csv").is_file():
        res.layer = pd.read_csv(folder / "layer.csv", dtype={"model": str, "seq_len": str})
    return res


def load_study(path: str | Path) -> Results:
    """A study folder (``OUT/study/results``, or its parent): ``layer.csv`` (required), ``einsums.csv``,
    ``roofline.csv`` and ``run.json``, checked like :func:`load`'s files. A study holds no ``attn-*.csv``
    (its attention results are the ``einsums.csv`` rows and ``layer.csv``'s attention shares)."""
    folder = results_dir(path)
    if not (folder / "layer.csv").is_file():
        raise FusemaxError("no layer.csv (study results) found", source=str(folder))
    res = Results(folder=folder)
    res.layer = _read_table(folder / "layer.csv", LAYER_COLUMNS, LAYER_KEY)
    if (folder / "einsums.csv").is_file():
        res.einsums = _read_table(folder / "einsums.csv", EINSUM_COLUMNS, EINSUM_KEY, rows=False, ours=True)
    if (folder / "roofline.csv").is_file():
        res.roofline = _read_table(folder / "roofline.csv", ROOFLINE_COLUMNS, [], rows=False, ours=True)
    if (folder / RUN_FILE).is_file():
        res.run = _read_run_info(folder / RUN_FILE)
    return res
