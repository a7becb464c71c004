"""``fusemax model FILE... [--ert ERT.yaml] [--art ART.yaml] -o OUTDIR``: a drop-in for ``timeloop-model``.

Evaluates the spec (one or more YAML files, merged like timeloopfe does) with the builtin engine and
writes ``OUTDIR/stats.json`` (the conformance schema) and ``OUTDIR/timeloop-model.stats.txt``.
Without ``--ert``/``--art`` the tables are estimated from the architecture, as timeloop-model runs
Accelergy on it. An invalid mapping exits 2 and writes ``{"valid": false, "error": ...}``.

``fusemax model DIR... -o OUTDIR`` evaluates several specs in this one process (start-up paid once): each
folder is one spec (its YAML files merged; its own ``ERT.yaml``/``ART.yaml`` are its tables unless
``--ert``/``--art`` are given), written to ``OUTDIR/<folder name>/``; the exit status is 2 if any mapping
is invalid. The folders ``fusemax render -o`` and ``--for-timeloop`` write are such folders.

Nothing heavy is imported before it is needed (no Jinja, no estimator when the tables are given), so a
``fusemax model`` process starts about as fast as a ``timeloop-model`` one.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fusemax import yamlio
from fusemax.energy.tables import ART, ERT, load_art, load_ert
from fusemax.engine import evaluate, load_spec, loop_nests
from fusemax.errors import FusemaxError, SpecError
from fusemax.fileio import write_text_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="spec YAML files (v0.4 nodes format or timeloopfe's processed format), merged into one "
                             "spec; or folders, one spec each (its YAML files; its ERT.yaml/ART.yaml are its "
                             "tables), all evaluated in this process into OUTDIR/<folder name>/")
    parser.add_argument("--ert", metavar="ERT.yaml", help="Accelergy energy reference table (default: estimated from the architecture)")
    parser.add_argument("--art", metavar="ART.yaml",
                        help="Accelergy area reference table (default: estimated from the architecture)")
    parser.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="output folder")


def _estimated_tables(files: list[str]) -> tuple[ERT, ART]:
    """Accelergy's tables of the file that holds the architecture when Accelergy is installed and runs on
    it (else a warning quoting why not), otherwise the builtin estimator's."""
    # Imported here: with --ert and --art given (the drop-in's fast path) neither estimator is loaded.
    from fusemax.energy import ACCELERGY, ESTIMATOR, reference_tables
    from fusemax.energy.accelergy import accelergy_available, find_accelergy
    for path in files:
        doc = yamlio.load(path)
        if isinstance(doc, dict) and "architecture" in doc:
            if accelergy_available():
                try:
                    return reference_tables(path, backend=ACCELERGY)
                except FusemaxError as exc:
                    print(f"fusemax model: warning: Accelergy ({find_accelergy()}) failed on {path}, using the "
                          f"builtin estimator instead: {exc}", file=sys.stderr)
            return reference_tables(path, backend=ESTIMATOR)
    raise SpecError("no file has an 'architecture:' section", source=", ".join(files))


def run(args: argparse.Namespace) -> int:
    paths = [Path(f) for f in args.files]
    folders = [p for p in paths if p.is_dir()]
    if not folders:
        return _model(args.files, args.ert, args.art, Path(args.out))
    if len(folders) != len(paths):
        raise SpecError("give spec files (one spec) or folders (one spec each), not both",
                        source=", ".join(str(p) for p in paths if not p.is_dir()))
    names = [p.resolve().name for p in folders]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise SpecError(f"two folders named {clash[0]} would write the same OUTDIR/{clash[0]}",
                        source=", ".join(str(p) for p in folders if p.resolve().name == clash[0]))
    from fusemax.backends.builtin import TABLE_FILES
    status = 0
    for folder, name in zip(folders, names):
        files = sorted(str(f) for f in folder.glob("*.yaml") if f.name not in TABLE_FILES)
        if not files:
            raise SpecError("no spec YAML files in this folder", source=str(folder))
        ert = args.ert or _beside(folder, "ERT.yaml")
        art = args.art or _beside(folder, "ART.yaml")
        status = max(status, _model(files, ert, art, Path(args.out) / name))
    return status


def _beside(folder: Path, name: str) -> str | None:
    path = folder / name
    return str(path) if path.is_file() else None


def _model(files: list[str], ert_path: str | None, art_path: str | None, out: Path) -> int:
    """Evaluate the spec merged from ``files``, write its outputs to ``out``; 0, or 2 for an invalid mapping."""
    spec = load_spec(*files)
    ert = load_ert(ert_path) if ert_path else None
    art = load_art(art_path) if art_path else None
    if ert is None or art is None:
        try:
            estimated_ert, estimated_art = _estimated_tables(files)
            ert, art = ert or estimated_ert, art or estimated_art
        except SpecError as exc:
            # The counts are still worth having; the energies are not, and the user is told so.
            print(f"fusemax model: warning: energies and areas are reported as 0: {exc}; pass --ert/--art",
                  file=sys.stderr)
    stats = evaluate(spec, ert, art)
    try:
        write_text_atomic(out / "stats.json", json.dumps(stats.to_json(), indent=1) + "\n")
        from fusemax.statsfile import format_stats

        text = format_stats(stats, spec_name=" ".join(files), loop_nests=loop_nests(spec))
        write_text_atomic(out / "timeloop-model.stats.txt", text)
    except OSError as exc:
        raise SpecError(f"cannot write output: {exc.strerror}", source=str(out)) from None
    if not stats.valid:
        print(f"fusemax model: invalid mapping: {stats.error}", file=sys.stderr)
        return 2
    print(f"fusemax model: {stats.computes} computes, {stats.cycles} cycles, "
          f"utilization {stats.utilization:.2f}, {stats.energy_pj / 1e6:.3f} uJ -> {out}")
    return 0
