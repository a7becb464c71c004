"""``fusemax models``: print the model zoo (plus the user's models) as a table."""
from __future__ import annotations

import argparse

from fusemax.workload import load_models, parse_model_spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models-file", metavar="FILE",
                        help="YAML file with more models, in the format of problems/models.yaml")
    parser.add_argument("--add", metavar="SPEC", action="append", default=[],
                        help="an inline model NAME:D=..,H=..,E=..,S=..[,F=..][,KV=..] (repeatable)")
    parser.add_argument("--sources", action="store_true", help="also print where each model's numbers come from")


def run(args: argparse.Namespace) -> int:
    models = load_models(args.models_file)
    for spec in args.add:
        model = parse_model_spec(spec)
        models[model.name] = model
    header: list[object] = ["model", "D", "H", "E", "F", "S", "KV heads", *(["source"] if args.sources else [])]
    rows: list[list[object]] = [[m.name, m.D, m.H, m.E, m.F, m.S, m.KV] + ([m.source] if args.sources else [])
                                for m in models.values()]
    table = [header, *rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        cells = [str(cell).ljust(w) if i in (0, 7) else str(cell).rjust(w)
                 for i, (cell, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
    return 0
