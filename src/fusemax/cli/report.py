"""``fusemax report DIR``: figures (PNG + PDF) and ``DIR/report/index.html`` from a results folder (and
the study of ``DIR/study``, when there is one)."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="experiment folder written by fusemax run (or its results/)")
    parser.add_argument("-o", "--out", metavar="OUTDIR", help="where figures and index.html go (default DIR/report)")
    # validated against the folder (not argparse choices) so an error lists the values the folder has
    parser.add_argument("--roofline-model", metavar="MODEL",
                        help="draw the roofline of this model only (default: every model)")
    parser.add_argument("--roofline-length", metavar="LEN",
                        help="the rooflines' context length, e.g. 1K (default: the length most models have, "
                             "nearest 4K)")
    parser.add_argument("--roofline-phase", metavar="PHASE",
                        help="prefill or decode points only (default: both)")


def run(args: argparse.Namespace) -> int:
    from fusemax.errors import FusemaxError
    from fusemax.reports import RooflineChoice, write_report
    choice = RooflineChoice(args.roofline_model, args.roofline_length, args.roofline_phase)
    try:
        index = write_report(args.dir, args.out, roofline=choice)
    except OSError as exc:  # -o unwritable, a file in the way, a full disk: where and why, not a traceback
        raise FusemaxError(f"cannot write the report: {exc.strerror or exc}",
                           source=str(exc.filename or args.out or args.dir)) from None
    print(f"wrote {index}")
    return 0
