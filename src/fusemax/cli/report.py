"""``fusemax report DIR``: figures (PNG + PDF) and ``DIR/report/index.html`` from a results folder."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="experiment folder written by fusemax run (or its results/)")
    parser.add_argument("-o", "--out", metavar="OUTDIR", help="where figures and index.html go (default DIR/report)")


def run(args: argparse.Namespace) -> int:
    from fusemax.reports import write_report
    index = write_report(args.dir, args.out)
    print(f"wrote {index}")
    return 0
