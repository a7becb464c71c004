"""``fusemax validate DIR``: compare a results folder with the artifact's published rows;
``fusemax validate --cross-check accelforge``: evaluate the fixed-mapping Einsums with AccelForge too."""
from __future__ import annotations

import argparse

CROSS_CHECKS = ("accelforge",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", nargs="?", help="experiment folder written by fusemax run")
    parser.add_argument("--reference", metavar="DIR",
                        help="published results (default: ../shared/reference/fusemax-artifact/results)")
    parser.add_argument("--cross-check", choices=CROSS_CHECKS,
                        help="instead of DIR, evaluate the fixed-mapping Einsums of binding, cascade, arch and "
                             "FLAT at short, 1K and 4K prefill and decode shapes with AccelForge (needs "
                             "$FUSEMAX_PY312 or .venv-accelforge, see the README) and compare")


def run(args: argparse.Namespace) -> int:
    if args.cross_check:
        from fusemax.crosscheck import accelforge
        einsums = accelforge.cross_check(accelforge.DEFAULT_CASES)
        print(accelforge.format_table(einsums))
        ok = all(c.ok for c in einsums)
        print("fusemax and AccelForge agree (differences named above are known conventions)" if ok
              else "fusemax and AccelForge disagree on the quantities listed above")
        return 0 if ok else 1
    if args.dir is None:
        raise SystemExit("fusemax validate: give DIR, or --cross-check accelforge")
    from fusemax import validate
    checks = validate.compare(args.dir, args.reference)
    print(validate.format_table(checks))
    ok = validate.verdict(checks)
    print("all columns within tolerance" if ok else "some columns exceed the tolerance")
    return 0 if ok else 1
