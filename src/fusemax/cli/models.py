"""``fusemax models``: print the model zoo (plus the user's models) as a table."""
from __future__ import annotations

import argparse
import sys
from operator import attrgetter

from fusemax import yamlio
from fusemax.names import printable
from fusemax.workload import load_models, parse_model_spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models-file", metavar="FILE",
                        help="more models: a YAML file in the format of problems/models.yaml, a HuggingFace "
                             "config.json, or a folder of config.json files")
    parser.add_argument("--add", metavar="SPEC", action="append", default=[],
                        help="an inline model NAME:D=..,H=..,E=..,S=..[,F=..][,KV=..][,mlp=gated][,mask=causal][,window=N]"
                             "[,layers=N][,vocab=N] (repeatable)")
    parser.add_argument("--sources", action="store_true", help="also print where each model's numbers come from")


def run(args: argparse.Namespace) -> int:
    models = load_models(args.models_file)
    for spec in args.add:
        model = parse_model_spec(spec)
        models[model.name] = model
    fields = [*_COLUMNS, *([("source", "source")] if args.sources else [])]
    # One format string and one write, in C-level maps: a models file may hold a million models, and a
    # string per cell and a print per row cost most of the time.
    with yamlio.gc_paused():
        rows = [tuple(title for title, _ in fields),
                *map(attrgetter(*(attr for _, attr in fields)), models.values())]
        line = "  ".join(f"%{'-' if title in _LEFT else ''}{max(map(len, map(str, column)))}s"
                         for (title, _), column in zip(fields, zip(*rows)))
        # printable: a models file's free-text source may hold escape sequences
        sys.stdout.write("".join(printable(text.rstrip()) + "\n" for text in map(line.__mod__, rows)))
    return 0


#: the table's columns (title, Model attribute); ``--sources`` adds the source
_COLUMNS = [("model", "name"), ("D", "D"), ("H", "H"), ("E", "E"), ("F", "F"), ("S", "S"), ("KV heads", "KV")]
#: the columns of text, left-aligned (numbers are right-aligned)
_LEFT = {"model", "source"}
