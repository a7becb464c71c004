"""``fusemax report DIR``: figures (PNG + PDF) and ``DIR/report/index.html`` from a results folder."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="experiment folder written by fusemax run (or its results/)")
    parser.add_argument("-o", "--out", metavar="OUTDIR", help="where figures and index.html go (default DIR/report)")


def run(args: argparse.Namespace) -> int:
    from fusemax.errors import FusemaxError
    from fusemax.reports import write_report
    try:
        index = write_report(args.dir, args.out)
    except OSError as exc:  # -o unwritable, a file in the way, a full disk: where and why, not a traceback
        raise FusemaxError(f"cannot write the report: {exc.strerror or exc}",
                           source=str(exc.filename or args.out or args.dir)) from None
    print(f"wrote {index}")
    return 0
