"""``fusemax validate DIR``: compare a results folder with the artifact's published rows."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="experiment folder written by fusemax run")
    parser.add_argument("--reference", metavar="DIR",
                        help="published results (default: ../shared/reference/fusemax-artifact/results)")


def run(args: argparse.Namespace) -> int:
    from fusemax import validate
    checks = validate.compare(args.dir, args.reference)
    print(validate.format_table(checks))
    ok = validate.verdict(checks)
    print("all columns within tolerance" if ok else "some columns exceed the tolerance")
    return 0 if ok else 1
