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
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import pandas as pd

from fusemax.errors import FusemaxError

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.experiments.combine import ConfigResult
    from fusemax.experiments.end2end import End2EndRow
    from fusemax.experiments.pareto import ParetoRow

BASE_COLUMNS = ["model", "seq_len", "traffic", "latency", "energy", "util_2d", "util_1d"]
#: Ours, appended after the artifact's columns: Σ computes on the array / (PEs x latency x clock).
PE_UTIL_COLUMNS = ["pe_util_2d", "pe_util_1d"]
EINSUM_COLUMNS = ["config", "model", "seq_len", "phase", "batch", "einsum", "array", "group", "computes", "cycles",
                  "cost", "flops", "read_bytes", "write_bytes", "traffic", "mem_latency", "comp_latency",
                  "latency", "occupancy", "energy"]
RUN_FILE = "run.json"
#: ``end2end-<platform>.csv`` and ``pareto.csv``: the artifact's columns.
END2END_COLUMNS = ["model", "seq_len", "traffic", "latency", "energy"]
PARETO_COLUMNS = ["accel", "model", "PE_dim", "traffic", "mem_lat", "comp_2d_lat", "comp_1d_lat", "latency",
                  "array_2d_area", "area"]


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a mix: a fresh
    temporary file beside it (created exclusively, never through a link), then ``os.replace``. A symlink
    planted at ``path`` is replaced, not followed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
        with os.fdopen(fd, "w", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise FusemaxError(f"cannot write the results: {exc.strerror or exc}", source=str(path)) from None
    return path


def _csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _folder(out_dir: str | Path) -> Path:
    folder = Path(out_dir) / "results"
    try:
        folder.mkdir(parents=True, exist_ok=True)
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
                         "batch": r.params.get("batch"), "einsum": e.einsum, "array": e.array, "group": e.group, "computes": e.computes,
                         "cycles": e.cycles, "cost": e.cost, "flops": e.flops, "read_bytes": e.read_bytes,
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
          extra: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write every CSV and ``run.json`` under ``out_dir/results``; returns that folder.

    ``extra`` maps file stems to further tables (e.g. ``roofline``) written next to them. Tables with a
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
    tables = {"einsums": einsum_frame(results), **(extra or {})}
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


def read_attn_csv(path: str | Path) -> pd.DataFrame:
    """One ``attn-*.csv``; tolerates the artifact's trailing comma in the unfused header."""
    frame = pd.read_csv(path, index_col=False, dtype={"model": str, "seq_len": str})
    return frame.drop(columns=[c for c in frame.columns if str(c).startswith("Unnamed")])


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
    if (folder / "einsums.csv").is_file():
        res.einsums = pd.read_csv(folder / "einsums.csv", dtype={"model": str, "seq_len": str})
    if (folder / RUN_FILE).is_file():
        res.run = json.loads((folder / RUN_FILE).read_text())
    if (folder / "roofline.csv").is_file():
        res.roofline = pd.read_csv(folder / "roofline.csv", dtype={"model": str, "seq_len": str})
    for f in sorted(folder.glob("end2end-*.csv")):
        res.end2end[f.stem.removeprefix("end2end-")] = read_attn_csv(f)
    if (folder / "pareto.csv").is_file():
        res.pareto = pd.read_csv(folder / "pareto.csv", dtype={"model": str})
    return res
