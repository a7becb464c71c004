"""Results folders: every file under ``DIR/results`` is written (atomically) and read here.

Files: ``attn-<config>.csv`` (the artifact's schema), ``einsums.csv``, ``roofline.csv``,
``end2end-<platform>.csv``, ``pareto.csv``, ``layer.csv`` and ``model.csv`` (with ``--layer``) and ``run.json``.

``attn-<config>.csv`` keeps the artifact's columns ``model,seq_len,traffic,latency,energy,util_2d,util_1d``
followed by one utilization column per 2D Einsum (bytes, seconds, pJ), then ours, ``pe_util_2d,pe_util_1d``.
``util_2d``/``util_1d`` are the artifact's *busy-time* fractions (the array's compute time / latency, however
few PEs work); ``pe_util_*`` are *PE utilizations*, Σ computes on the array / (PEs x latency x clock).
Decode-phase rows go to
``attn-<config>-decode.csv`` so that the prefill files stay comparable with the published ones.
``einsums.csv`` is the tidy long form: one row per configuration x model x length x phase x Einsum (with
the batch).
A run replaces the files of the phase it computed and keeps those of other phases (see :func:`write`).

Every writer commits the folder as a whole (:func:`_commit`: a staging copy swapped in, so a failure leaves
the previous folder untouched) and records in ``run.json`` a :data:`RUN_ID` and a :data:`MANIFEST` (each
table's SHA-256). The readers check it (:func:`check_one_run`) and never read a file that is a symbolic link
out of the folder.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd

from fusemax.combine.roofline import PHASE_KEY
from fusemax.errors import FusemaxError, WorkloadError
from fusemax.fileio import make_dirs, staged_folder, write_text_atomic
from fusemax.workload import DEFAULT_BATCH, PREFILL, parse_seq_len

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.combine.schedule import ConfigResult
    from fusemax.experiments.end2end import End2EndRow
    from fusemax.experiments.layer import LayerRow
    from fusemax.experiments.pareto import ParetoRow
    from fusemax.experiments.study import StudyRun
    from fusemax.experiments.wholemodel import ModelRow

RUN_FILE = "run.json"


@dataclass(frozen=True)
class Table:
    """The schema of one results CSV, the one definition its writer and its reader use: ``columns`` in the
    file's order (what the writer writes and the reader requires) and ``key``, the columns that identify a
    row (the reader refuses two rows with the same key)."""

    columns: tuple[str, ...]
    key: tuple[str, ...] = ()

    def frame(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        """``rows`` (one dict per row) as this table's frame, in its column order. A row that does not hold
        exactly the table's columns is refused: a renamed field would otherwise write an empty column."""
        for row in rows[:1]:
            if set(row) != set(self.columns):
                raise ValueError(f"row columns {sorted(row)} are not the table's {list(self.columns)}")
        return pd.DataFrame(rows, columns=list(self.columns))


#: The artifact's columns of ``attn-<config>.csv``, ``end2end-<platform>.csv`` (bytes, seconds, pJ).
ARTIFACT_COLUMNS = ("model", "seq_len", "traffic", "latency", "energy")
#: ``end2end-<platform>.csv``: the layer's other matrix multiplies, in the artifact's columns.
END2END = Table(ARTIFACT_COLUMNS, ("model", "seq_len"))
#: ``attn-<config>.csv``: the artifact's columns and busy-time fractions, then one busy-time column per 2D
#: Einsum (the configuration's), then :data:`PE_UTIL_COLUMNS`; the reader requires the artifact's columns.
ATTN = Table((*ARTIFACT_COLUMNS, "util_2d", "util_1d"), ("model", "seq_len"))
#: Ours, appended after the artifact's columns: Σ computes on the array / (PEs x latency x clock).
PE_UTIL_COLUMNS = ("pe_util_2d", "pe_util_1d")
#: One phase of one point at one batch (a study folder holds batches 1 and 64 together).
LAYER_KEY = [*PHASE_KEY, "batch"]
#: ``einsums.csv``: one row per Einsum of a point.
EINSUMS = Table((*PHASE_KEY, "batch", "mask", "einsum", "array", "group", "computes", "cycles", "cost", "flops", "ops",
                 "read_bytes", "write_bytes", "traffic", "mem_latency", "comp_latency", "latency", "occupancy",
                 "energy"), (*LAYER_KEY, "einsum"))
#: ``roofline.csv``: the columns its reader needs (:func:`fusemax.combine.roofline.phase_roofline` adds the
#: batch and mask, the FLOPs per array and the intensity).
ROOFLINE = Table((*PHASE_KEY, "flops", "traffic"))
#: ``layer.csv`` (bytes, seconds, pJ, FLOPs; intensity in FLOP/B; ``layer_fusion``: none or fused; ``mask``:
#: attention's mask, none, causal or window:N).
LAYER = Table((*PHASE_KEY, "batch", "mask", "layer_fusion", "flops", "ops", "traffic", "latency", "energy", "intensity",
               "attention_latency_share", "attention_flops_share"), tuple(LAYER_KEY))
#: ``model.csv``: the whole model (s, pJ; tokens/s), :class:`fusemax.experiments.wholemodel.ModelRow`.
MODEL = Table(("config", "model", "seq_len", "batch", "layers", "vocab", "ttft", "tpot", "tokens_per_s",
               "energy_per_token", "prefill_energy", "lm_head_latency", "lm_head_energy"),
              ("config", "model", "seq_len", "batch"))
#: ``pareto.csv``: the artifact's columns (area in um^2, latency in s).
PARETO = Table(("accel", "model", "PE_dim", "traffic", "mem_lat", "comp_2d_lat", "comp_1d_lat", "latency",
                "array_2d_area", "area"), ("model", "PE_dim"))


#: ``run.json`` keys that tie a folder's tables to one run: a random id, and each ``*.csv``'s SHA-256.
RUN_ID = "run_id"
MANIFEST = "manifest"


def _leaves_folder(path: Path) -> bool:
    """Whether ``path`` is a symbolic link to something outside its own folder (a results folder holds
    the plain files fusemax wrote; a link out of it is someone else's file, which must not be read)."""
    return path.is_symlink() and path.resolve().parent != path.parent.resolve()


def _refuse_link_out(path: Path) -> None:
    if _leaves_folder(path):
        raise FusemaxError("a symbolic link out of the results folder; fusemax does not read it (results are "
                           "the plain files a run writes: rerun, or copy the file in)", source=str(path))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _commit(folder: Path, files: dict[str, str], info: dict[str, Any] | None) -> Path:
    """Replace ``folder`` as a whole (:func:`fusemax.fileio.staged_folder`): its other files as they are,
    ``files`` (name -> text) new, and ``run.json`` = ``info`` with a fresh :data:`RUN_ID` and the
    :data:`MANIFEST` of every table; ``info`` None keeps the folder's ``run.json`` (updating its manifest)
    if it has one. A failure (a full disk, say) leaves the previous folder untouched and is one
    :class:`FusemaxError` naming the file."""
    if info is None and (folder / RUN_FILE).is_file():
        info = _read_run_info(folder / RUN_FILE)
    current = folder
    try:
        with staged_folder(folder, {*files, RUN_FILE}) as staging:
            for name, text in files.items():
                current = folder / name
                write_text_atomic(staging / name, text)
            if info is not None:
                current = folder / RUN_FILE
                tables = sorted(p.name for p in staging.glob("*.csv"))
                info = {**info, RUN_ID: secrets.token_hex(8),
                        MANIFEST: {name: _sha256(staging / name) for name in tables}}
                info.setdefault("files", tables)
                write_text_atomic(staging / RUN_FILE, json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")
            current = folder
    except OSError as exc:
        raise FusemaxError(f"cannot write the results (the previous ones are kept): {exc.strerror or exc}",
                           source=str(current)) from None
    return folder


def _csv_text(header: Iterable[str], rows: Iterable[list[Any]]) -> str:
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


def attn_filename(config: str, phase: str = PREFILL) -> str:
    return f"attn-{config}.csv" if phase == PREFILL else f"attn-{config}-{phase}.csv"


def attn_frame(results: Iterable["ConfigResult"]) -> pd.DataFrame:
    """Rows of one configuration and phase in the artifact's column order."""
    rows = [r.csv_row() for r in results]
    columns = list(ATTN.columns)
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
    return EINSUMS.frame(rows)


def results_dir(path: str | Path) -> Path:
    """``DIR/results`` for an experiment folder, or ``DIR`` itself when it already holds the CSVs."""
    path = Path(path)
    if (path / "results").is_dir():
        return path / "results"
    return path


def _keep_other_phases(path: Path, frame: pd.DataFrame, phases: set[str]) -> pd.DataFrame:
    """``frame`` after the rows of ``path`` whose phase this run did not compute (a decode run keeps the
    prefill rows of the same folder, and vice versa)."""
    if "phase" not in frame.columns or not path.is_file() or _leaves_folder(path):
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
    ``model`` keeps the other phase's columns of its rows (TTFT from a prefill run, TPOT from a decode run),
    and ``run.json`` keeps those runs' records under ``earlier_phases``, so prefill and decode runs can
    share a folder. The folder is committed as a whole (:func:`_commit`); a failure raises a
    :class:`FusemaxError` and leaves the previous folder as it was.
    """
    folder = _folder(out_dir)
    groups: dict[tuple[str, str], list] = {}
    for r in results:
        groups.setdefault((r.config, r.phase), []).append(r)
    phases = {phase for _, phase in groups}
    files = {attn_filename(config, phase): attn_frame(rows).to_csv(index=False)
             for (config, phase), rows in groups.items()}
    tables = {"einsums": einsum_frame([*results, *rest]), **(extra or {})}
    for stem, frame in tables.items():
        path = folder / f"{stem}.csv"
        frame = _fill_from_earlier(path, frame) if stem == "model" else _keep_other_phases(path, frame, phases)
        files[f"{stem}.csv"] = frame.to_csv(index=False)
    info = dict(run_info or {})
    earlier = _earlier_phases(folder / RUN_FILE, phases)
    if earlier:
        info["earlier_phases"] = earlier
    return _commit(folder, files, info)


def layer_frame(rows: Iterable["LayerRow"]) -> pd.DataFrame:
    """``layer.csv``: one row per configuration x model x length x phase x batch (the whole layer)."""
    return LAYER.frame([{**_fields(r), "intensity": r.intensity} for r in rows])


def model_frame(rows: Iterable["ModelRow"]) -> pd.DataFrame:
    """``model.csv``: one row per configuration x model x length x batch (the whole model)."""
    return MODEL.frame([_fields(r) for r in rows])


def _fields(row: Any) -> dict[str, Any]:
    """A row dataclass's fields by name, without :func:`dataclasses.asdict`'s deep copy (the rows hold
    numbers and strings; a frame copies what it keeps)."""
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}


def _fill_from_earlier(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """``model.csv`` of a run of one phase: its rows with the other phase's empty columns taken from the
    same rows of the earlier file, after the earlier rows this run did not compute."""
    if not path.is_file() or _leaves_folder(path):
        return frame
    earlier = pd.read_csv(path, dtype={"model": str, "seq_len": str})
    if tuple(earlier.columns) != MODEL.columns:
        return frame
    new, old = frame.set_index(list(MODEL.key)), earlier.set_index(list(MODEL.key))
    filled = new.fillna(old.reindex(new.index))
    return pd.concat([old[~old.index.isin(new.index)], filled]).reset_index()[list(MODEL.columns)]


STUDY_DIR = "study"


def write_study(out_dir: str | Path, study: "StudyRun", run_info: dict[str, Any]) -> Path:
    """``OUT/study/results``: ``layer.csv``, ``model.csv``, ``einsums.csv``, ``roofline.csv`` (per batch) and
    ``run.json``
    of one :func:`fusemax.experiments.study.run_study` (replacing an earlier study's); returns that folder."""
    from fusemax.combine.roofline import phase_roofline
    folder = _folder(Path(out_dir) / STUDY_DIR)
    einsums = einsum_frame(study.results)
    roofline = pd.concat([phase_roofline(part) for _, part in einsums.groupby("batch", sort=True)], ignore_index=True)
    tables = (("layer", layer_frame(study.layer)), ("model", model_frame(study.model)), ("einsums", einsums),
              ("roofline", roofline))
    files = {f"{stem}.csv": frame.to_csv(index=False) for stem, frame in tables}
    info = {**run_info, "failed": study.failed, "jobs": study.jobs, "model_left_out": study.model_left_out,
            "files": sorted(files)}
    return _commit(folder, files, info)


def write_end2end(out_dir: str | Path, rows_by_platform: dict[str, list["End2EndRow"]]) -> list[Path]:
    """``OUT/results/end2end-<platform>.csv`` in the artifact's columns; returns the paths written."""
    folder = _folder(out_dir)
    files = {f"end2end-{platform}.csv": _csv_text(
                END2END.columns, ([r.model, r.seq_len, int(round(r.traffic)), repr(r.latency), repr(r.energy)]
                                  for r in rows))
             for platform, rows in rows_by_platform.items()}
    _commit(folder, files, None)
    return [folder / name for name in files]


def write_pareto(out_dir: str | Path, rows: list["ParetoRow"]) -> Path:
    """``OUT/results/pareto.csv`` in the artifact's columns (area in um^2, latency in s)."""
    folder = _folder(out_dir)
    _commit(folder, {"pareto.csv": _csv_text(PARETO.columns, (
        ["proposal", r.model, r.pe_dim, r.traffic, r.mem_lat, r.comp_2d_lat, r.comp_1d_lat, r.latency,
         r.array_2d_area, r.area] for r in rows))}, None)
    return folder / "pareto.csv"


def _earlier_phases(path: Path, phases: set[str]) -> dict[str, Any]:
    """The records of earlier runs in ``path`` for phases other than ``phases``, keyed by phase."""
    if not path.is_file() or _leaves_folder(path):
        return {}
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out = {p: r for p, r in earlier.pop("earlier_phases", {}).items() if p not in phases}
    phase = earlier.get("phase", PREFILL)
    if phase not in phases:
        out[phase] = earlier
    return out


#: Columns that hold names, not numbers; every other column of a results table must be numeric.
TEXT_COLUMNS = frozenset({"config", "model", "seq_len", "phase", "mask", "einsum", "array", "group", "accel",
                          "layer_fusion"})


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


def _read_table(path: Path, table: Table, *, rows: bool = True, ours: bool = False) -> pd.DataFrame:
    """One results CSV, checked against its ``table``: it parses (UTF-8, no row longer than the header), has
    the table's columns, numbers without gaps in every column but :data:`TEXT_COLUMNS`, no two rows with the
    same key and, if ``rows``, at least one row. Anything else is one :class:`FusemaxError` naming the file.

    ``ours``: a table only fusemax writes, whose every line ends with a newline; one that does not was
    cut short, possibly inside its last number, which would still parse (a hand-written reference CSV
    may lack the final newline, so this is not asked of every table)."""
    import warnings
    _refuse_link_out(path)
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
    missing = [c for c in table.columns if c not in frame.columns]
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
    key = list(table.key)
    duplicated = frame.duplicated(subset=key).to_numpy() if key else np.zeros(len(frame), dtype=bool)
    if duplicated.any():
        row = int(duplicated.nonzero()[0][0])
        raise FusemaxError(f"line {row + 2} repeats {', '.join(f'{c}={frame[c].iloc[row]}' for c in key)}",
                           source=str(path))
    return frame


def read_attn_csv(path: str | Path) -> pd.DataFrame:
    """One ``attn-*.csv`` or ``end2end-*.csv`` (checked, see :func:`_read_table`); tolerates the artifact's
    trailing comma in the unfused header."""
    return _read_table(Path(path), END2END)


def _read_run_info(path: Path) -> dict[str, Any]:
    _refuse_link_out(path)
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
    #: ``model.csv`` (the whole model: TTFT, TPOT ..., from ``fusemax run --layer``), when present; NaN
    #: where the folder lacks a phase.
    model: pd.DataFrame | None = None
    #: ``OUT/study``'s tables when :func:`load` was given a paper folder ``OUT`` that has a study.
    study: "Results | None" = None
    #: The hardware parameters that vary across a hardware sweep's variants (:func:`load` of the sweep's
    #: parent folder): each is a column of every table; empty for one folder.
    varied: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self.attn[key.removeprefix("attn-")]

    def __contains__(self, key: str) -> bool:
        return key.removeprefix("attn-") in self.attn

    def keys(self) -> list[str]:
        return list(self.attn)


def read_paper(path: str | Path) -> Results:
    """The tables of ``DIR/results`` (or of a folder of ``attn-*.csv`` such as the artifact's published
    results) exactly as written, each checked; the reports and ``fusemax validate`` read them so.
    :func:`load` is the researcher's entry point (it adds ``tokens`` and sorts)."""
    folder = results_dir(path)
    if not folder.exists():
        raise FusemaxError("no such folder", source=str(folder))
    files = sorted(folder.glob("attn-*.csv")) if folder.is_dir() else []
    if not files:
        raise FusemaxError("no attn-*.csv results found", source=str(folder))
    res = _with_run_info(folder)
    for f in files:
        res.attn[f.stem.removeprefix("attn-")] = read_attn_csv(f)
    for f in sorted(folder.glob("end2end-*.csv")):
        res.end2end[f.stem.removeprefix("end2end-")] = read_attn_csv(f)
    _read_present(folder, res, ("einsums", "roofline", "pareto", "layer"))
    # last: a damaged table's own error (above) says more than "changed since the run"
    check_one_run(folder, res.run)
    return res


#: The tables a folder may hold beside its ``attn-*.csv`` (a paper folder) or its ``layer.csv`` (a study), by
#: file stem, which is also their :class:`Results` field.
PRESENT_TABLES = {"einsums": EINSUMS, "roofline": ROOFLINE, "pareto": PARETO, "layer": LAYER}


def _with_run_info(folder: Path) -> Results:
    """The :class:`Results` of ``folder`` with its ``run.json``, if it has one."""
    res = Results(folder=folder)
    if (folder / RUN_FILE).exists():
        res.run = _read_run_info(folder / RUN_FILE)
    return res


def _read_present(folder: Path, res: Results, stems: Iterable[str]) -> None:
    """Each table of ``stems`` (:data:`PRESENT_TABLES`) that ``folder`` holds, checked against its schema, and
    ``model.csv``, into ``res``."""
    for stem in stems:
        if (folder / f"{stem}.csv").exists():
            setattr(res, stem, _read_table(folder / f"{stem}.csv", PRESENT_TABLES[stem], rows=False, ours=True))
    _load_model(folder, res)


def check_one_run(folder: Path, run: dict[str, Any]) -> None:
    """Refuse a folder whose tables do not all come from the run its ``run.json`` records: a table missing,
    changed since, or not part of that run (:data:`MANIFEST`); one :class:`FusemaxError` naming them all.
    A ``run.json`` without a manifest (written before fusemax recorded one) is trusted as it is."""
    manifest = run.get(MANIFEST)
    if manifest is None:
        return
    if not isinstance(manifest, dict):
        raise FusemaxError(f"'{MANIFEST}' is not a mapping of file names to SHA-256", source=str(folder / RUN_FILE))
    present = {p.name for p in folder.glob("*.csv")}
    for name in sorted(present):
        _refuse_link_out(folder / name)
    odd = sorted(name for name in present | set(manifest)
                 if name not in present or name not in manifest or _sha256(folder / name) != manifest[name])
    if odd:
        raise FusemaxError(f"{', '.join(odd)} not from the run that {RUN_FILE} records (run "
                           f"{run.get(RUN_ID, '?')}): the folder mixes runs (an interrupted or concurrent write, "
                           f"or a file copied in); rerun the command that wrote it (or, for tables you edited on "
                           f"purpose, delete '{MANIFEST}' from {RUN_FILE})", source=str(folder))


def _load_model(folder: Path, res: Results) -> None:
    if (folder / "model.csv").is_file():
        _refuse_link_out(folder / "model.csv")
        res.model = pd.read_csv(folder / "model.csv", dtype={"config": str, "model": str, "seq_len": str})


def load_study(path: str | Path) -> Results:
    """A study folder (``OUT/study/results``, or its parent): ``layer.csv`` (required), ``einsums.csv``,
    ``roofline.csv`` and ``run.json``, checked like :func:`load`'s files. A study holds no ``attn-*.csv``
    (its attention results are the ``einsums.csv`` rows and ``layer.csv``'s attention shares)."""
    folder = results_dir(path)
    if not (folder / "layer.csv").is_file():
        raise FusemaxError("no layer.csv (study results) found", source=str(folder))
    res = _with_run_info(folder)
    res.layer = _read_table(folder / "layer.csv", LAYER)
    _read_present(folder, res, ("einsums", "roofline"))
    check_one_run(folder, res.run)
    return res


#: Every column of every table :func:`load` returns: column -> (meaning, unit). Units: s, B (bytes), pJ,
#: FLOP; "" for names and plain numbers. The README's "Reading the results" table is this one.
COLUMNS: dict[str, tuple[str, str]] = {
    # where a row belongs
    "config": ("configuration: unfused, flat, cascade, arch, binding (FuseMax with its binding, the paper's "
               "headline)", ""),
    "accel": ("accelerator of a Pareto row (proposal = FuseMax)", ""),
    "model": ("model name (from the model zoo or a models file)", ""),
    "seq_len": ("context length as written in the CSVs (512, 1K ... 1M; K = 1024): a label, sorts as text", ""),
    "tokens": ("context length as an integer (added by fusemax.results.load; tables sort by it)", "tokens"),
    "phase": ("prefill (the whole prompt) or decode (one new token per sequence)", ""),
    "batch": ("sequences processed together", "sequences"),
    "mask": ("attention's mask: none, causal or window:N", ""),
    "layer_fusion": ("how the rest of the layer is scheduled: none or fused", ""),
    "einsum": ("Einsum name (QK, SLN, AV, FFN1 ...)", ""),
    "array": ("the PE array the Einsum runs on: 2d or 1d", ""),
    "group": ("what the Einsum is part of: attention (attention, softmax, QK, AV by configuration) or the "
              "rest of the layer (projection, mlp, elementwise)", ""),
    "layers": ("transformer layers of the model", "layers"),
    "vocab": ("vocabulary size (the LM head's width)", "tokens"),
    "PE_dim": ("side of the 2D PE array (PE_dim x PE_dim PEs)", "PEs"),
    # hardware sweep variants (the varied parameters of run.json's hardware)
    "pe_dim": ("side of the 2D PE array of this hardware variant", "PEs"),
    "pe_1d": ("PEs of the 1D array of this hardware variant", "PEs"),
    "l3_bytes": ("on-chip (L3) buffer of this hardware variant", "B"),
    "dram_bandwidth": ("DRAM bandwidth of this hardware variant", "B/s"),
    "clock_hz": ("clock of this hardware variant", "Hz"),
    # how much work and data
    "computes": ("engine computes (PE steps) of the Einsum", "computes"),
    "cycles": ("compute cycles of the Einsum on its array", "cycles"),
    "cost": ("operations per compute of the Einsum", "ops"),
    "flops": ("algorithmic floating-point operations", "FLOP"),
    "flops_2d": ("FLOPs on the 2D array", "FLOP"),
    "flops_1d": ("FLOPs on the 1D array", "FLOP"),
    "ops": ("operations the implementation performs, counted as FLOPs", "FLOP"),
    "read_bytes": ("DRAM bytes read", "B"),
    "write_bytes": ("DRAM bytes written", "B"),
    "traffic": ("DRAM traffic (read + write)", "B"),
    "intensity": ("operational intensity: FLOPs / DRAM bytes", "FLOP/B"),
    # time and energy
    "latency": ("latency: attention's for attn-*.csv, the layer's other matrix multiplies' for end2end-*.csv, "
                "the Einsum's own max(memory, compute) bound for einsums.csv, the whole layer's for layer.csv, "
                "attention's at that PE array for pareto.csv", "s"),
    "mem_latency": ("time to move the DRAM traffic at the DRAM bandwidth", "s"),
    "mem_lat": ("Pareto: time to move the DRAM traffic", "s"),
    "comp_latency": ("compute time on the Einsum's array", "s"),
    "comp_2d_lat": ("Pareto: compute time on the 2D array", "s"),
    "comp_1d_lat": ("Pareto: compute time on the 1D array", "s"),
    "occupancy": ("fraction of the array's PEs the Einsum's mapping uses", "fraction"),
    "energy": ("energy", "pJ"),
    "util_2d": ("busy-time fraction of the 2D array: its compute time / latency (the artifact's)", "fraction"),
    "util_1d": ("busy-time fraction of the 1D array: its compute time / latency (the artifact's)", "fraction"),
    "pe_util_2d": ("PE utilization of the 2D array: computes / (PEs x latency x clock)", "fraction"),
    "pe_util_1d": ("PE utilization of the 1D array: computes / (PEs x latency x clock)", "fraction"),
    "attention_latency_share": ("attention's share of the layer's latency", "fraction"),
    "attention_flops_share": ("attention's share of the layer's FLOPs", "fraction"),
    "array_2d_area": ("area of the 2D PE array", "um^2"),
    "area": ("chip area", "um^2"),
    # the whole model (model.csv)
    "ttft": ("time to first token: the prompt through every layer, then the LM head", "s"),
    "tpot": ("time per output token: one decode step of the batch through every layer and the LM head", "s"),
    "tokens_per_s": ("decode throughput: batch / TPOT", "tokens/s"),
    "energy_per_token": ("a decode step's energy / batch", "pJ"),
    "prefill_energy": ("energy of the batch's prompts through every layer and the LM head", "pJ"),
    "lm_head_latency": ("latency of the LM head (one token per sequence)", "s"),
    "lm_head_energy": ("energy of the LM head", "pJ"),
    # attn-<config>.csv: one busy-time column per 2D Einsum (the artifact's Fig. 7)
    **{name: (f"busy-time share of the 2D array spent on Einsum {name}: its compute time / latency",
              "fraction") for name in ("QK", "AV", "LM", "SLN", "SLD", "SLNV")},
}


def _variant_folders(path: Path) -> list[Path]:
    """The hardware variants under a sweep's parent ``path`` (``path/<label>/results``), by label."""
    if not path.is_dir():
        return []
    return sorted(d for d in path.iterdir() if "=" in d.name and d.is_dir() and not d.is_symlink()
                  and (d / "results" / RUN_FILE).is_file())


def load(path: str | Path) -> Results:
    """The tables of a results folder, ready to plot: every table with a ``seq_len`` gets an integer
    ``tokens`` column beside it and is sorted by it (within config, model ..., in the CSV's order of
    first appearance); the files on disk are not changed. :data:`COLUMNS` says what each column means.

    ``path`` may be a paper folder (``OUT`` or ``OUT/results``; its study, if any, is ``.study``), a
    study folder (``OUT/study`` or ``OUT/study/results``), a plain ``fusemax run`` folder, or the parent of
    a hardware sweep (``OUT/<label>/results``, one per variant): then every table is the variants' rows in
    one, with the varied hardware parameters (``.varied``, e.g. ``pe_dim``) as leading columns.

    >>> res = load("workspace/outputs/paper/study")               # doctest: +SKIP
    >>> res.layer.query("phase == 'prefill'").pivot(index="tokens", columns="model", values="latency")
    """
    path = Path(path)
    if not path.is_dir():
        raise FusemaxError("no such folder", source=str(path))
    variants = _variant_folders(path) if not (path / "results").is_dir() else []
    if variants:
        return _load_variants(path, variants)
    res = _load_one(path)
    if res.attn and (path / STUDY_DIR / "results" / "layer.csv").is_file():
        res.study = _with_tokens(load_study(path / STUDY_DIR), [])
    return _with_tokens(res, [])


def _load_one(path: Path) -> Results:
    folder = results_dir(path)
    if any(folder.glob("attn-*.csv")):
        return read_paper(path)
    if (folder / "layer.csv").is_file():
        return load_study(path)
    raise FusemaxError("no attn-*.csv (paper or sweep results), layer.csv (a study) or "
                       "<parameter>=<value>/results (hardware variants) found", source=str(folder))


def _frames(res: Results) -> dict[str, pd.DataFrame]:
    """Every table of ``res`` by a name: attn keys as ``attn-<key>``, end-to-end as ``end2end-<platform>``."""
    named = {f"attn-{k}": f for k, f in res.attn.items()}
    named.update({f"end2end-{k}": f for k, f in res.end2end.items()})
    for name in ("einsums", "roofline", "pareto", "layer", "model"):
        frame = getattr(res, name)
        if frame is not None:
            named[name] = frame
    return named


def _replace_frames(res: Results, named: dict[str, pd.DataFrame]) -> Results:
    """``res`` with its tables replaced by ``named`` (as :func:`_frames` names them)."""
    return dataclasses.replace(
        res, attn={k.removeprefix("attn-"): f for k, f in named.items() if k.startswith("attn-")},
        end2end={k.removeprefix("end2end-"): f for k, f in named.items() if k.startswith("end2end-")},
        einsums=named.get("einsums"), roofline=named.get("roofline"), pareto=named.get("pareto"),
        layer=named.get("layer"), model=named.get("model"))


def _with_tokens(res: Results, lead: list[str]) -> Results:
    """``res`` with ``tokens`` beside every ``seq_len`` and every such table sorted by ``lead`` columns,
    the text columns before ``seq_len`` (each in its order of first appearance) and then ``tokens``."""
    named = {}
    for name, frame in _frames(res).items():
        if "seq_len" not in frame.columns:
            named[name] = frame
            continue
        frame = frame.copy()
        if "tokens" not in frame.columns:   # a sweep's variants have theirs, read from their own files
            frame.insert(frame.columns.get_loc("seq_len") + 1, "tokens", _tokens(frame["seq_len"], res.folder, name))
        before = list(frame.columns[:frame.columns.get_loc("seq_len")])
        keys = [*lead, *(c for c in before if c in TEXT_COLUMNS and c not in lead)]
        ranks = [pd.factorize(frame[c])[0] for c in keys]
        order = np.lexsort([frame["tokens"].to_numpy(), *reversed(ranks)])   # last key is the primary one
        named[name] = frame.iloc[order].reset_index(drop=True)
    return _replace_frames(res, named)


def _tokens(labels: pd.Series, folder: Path | None, table: str) -> np.ndarray:
    """The integer lengths of ``seq_len`` labels (``1K`` -> 1024); a label that is no length is one
    :class:`FusemaxError` naming the table, line and label."""
    out = np.empty(len(labels), dtype=np.int64)
    for row, label in enumerate(labels):
        try:
            out[row] = parse_seq_len(str(label))
        except WorkloadError:
            raise FusemaxError(f"line {row + 2}, column seq_len: {str(label)!r} is not a length (512, 1K, 4096 ...)",
                               source=str((folder or Path(".")) / f"{table}.csv")) from None
    return out


def _load_variants(path: Path, folders: list[Path]) -> Results:
    """The variants of a hardware sweep in one :class:`Results` (see :func:`load`)."""
    loaded = [_with_tokens(_load_one(d), []) for d in folders]
    hardware = [r.run.get("hardware") or {} for r in loaded]
    varied = [k for k in hardware[0] if len({repr(h.get(k)) for h in hardware}) > 1]
    merged: dict[str, list[pd.DataFrame]] = {}
    for res, hw in zip(loaded, hardware):
        for name, frame in _frames(res).items():
            frame = frame.copy()
            for i, key in enumerate(varied):
                frame.insert(i, key, hw.get(key))
            merged.setdefault(name, []).append(frame)
    tables = {name: pd.concat(parts, ignore_index=True) for name, parts in merged.items()}
    out = _replace_frames(Results(folder=path, varied=varied,
                                  run={"variants": {d.name: r.run for d, r in zip(folders, loaded)}}), tables)
    return _with_tokens(out, varied)
