"""``fusemax model FILE... [--ert ERT.yaml] [--art ART.yaml] -o OUTDIR``: a drop-in for ``timeloop-model``.

Evaluates the spec (one or more YAML files, merged like timeloopfe does) with the builtin engine and
writes ``OUTDIR/stats.json`` (the conformance schema) and ``OUTDIR/timeloop-model.stats.txt``.
Without ``--ert``/``--art`` the tables are estimated from the architecture, as timeloop-model runs
Accelergy on it. An invalid mapping exits 2 and writes ``{"valid": false, "error": ...}``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fusemax import yamlio
from fusemax.energy import reference_tables
from fusemax.energy.accelergy import accelergy_available, find_accelergy
from fusemax.energy.tables import ART, ERT, load_art, load_ert
from fusemax.engine import evaluate, load_spec, loop_nests
from fusemax.errors import FusemaxError, SpecError
from fusemax.fileio import write_text_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="spec YAML files (v0.4 nodes format or timeloopfe's processed format)")
    parser.add_argument("--ert", metavar="ERT.yaml", help="Accelergy energy reference table (default: estimated from the architecture)")
    parser.add_argument("--art", metavar="ART.yaml",
                        help="Accelergy area reference table (default: estimated from the architecture)")
    parser.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="output folder")


def _estimated_tables(files: list[str]) -> tuple[ERT, ART]:
    """Accelergy's tables of the file that holds the architecture when Accelergy is installed and runs on
    it (else a warning quoting why not), otherwise the builtin estimator's."""
    for path in files:
        doc = yamlio.load(path)
        if isinstance(doc, dict) and "architecture" in doc:
            if accelergy_available():
                try:
                    return reference_tables(path, backend="accelergy")
                except FusemaxError as exc:
                    print(f"fusemax model: warning: Accelergy ({find_accelergy()}) failed on {path}, using the "
                          f"builtin estimator instead: {exc}", file=sys.stderr)
            return reference_tables(path, backend="builtin")
    raise SpecError("no file has an 'architecture:' section", source=", ".join(files))


def run(args: argparse.Namespace) -> int:
    spec = load_spec(*args.files)
    ert = load_ert(args.ert) if args.ert else None
    art = load_art(args.art) if args.art else None
    if ert is None or art is None:
        try:
            estimated_ert, estimated_art = _estimated_tables(args.files)
            ert, art = ert or estimated_ert, art or estimated_art
        except SpecError as exc:
            # The counts are still worth having; the energies are not, and the user is told so.
            print(f"fusemax model: warning: energies and areas are reported as 0: {exc}; pass --ert/--art",
                  file=sys.stderr)
    stats = evaluate(spec, ert, art)
    out = Path(args.out)
    try:
        write_text_atomic(out / "stats.json", json.dumps(stats.to_json(), indent=1) + "\n")
        from fusemax.statsfile import format_stats

        text = format_stats(stats, spec_name=" ".join(args.files), loop_nests=loop_nests(spec))
        write_text_atomic(out / "timeloop-model.stats.txt", text)
    except OSError as exc:
        raise SpecError(f"cannot write output: {exc.strerror}", source=str(out)) from None
    if not stats.valid:
        print(f"fusemax model: invalid mapping: {stats.error}", file=sys.stderr)
        return 2
    print(f"fusemax model: {stats.computes} computes, {stats.cycles} cycles, "
          f"utilization {stats.utilization:.2f}, {stats.energy_pj / 1e6:.3f} uJ -> {out}")
    return 0
