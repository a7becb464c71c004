"""The ``fusemax`` command line: one module per verb under :mod:`fusemax.cli`.

Every verb module defines ``add_arguments(parser)`` and ``run(args) -> int``. A
:class:`~fusemax.errors.FusemaxError` anywhere becomes one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import signal
import sys

from fusemax import __version__
from fusemax.errors import FusemaxError
from fusemax.names import printable
from fusemax.processes import collect_less

#: verb -> (module under fusemax.cli, one-line help). A verb's module (and what it imports: pandas,
#: matplotlib, ...) is loaded only when that verb runs, so `fusemax models` starts fast.
VERBS: dict[str, tuple[str, str]] = {
    "models": ("models", "list the model zoo"),
    "render": ("render", "render the Timeloop v0.4 specs of one configuration"),
    "model": ("model", "evaluate specs like timeloop-model (builtin engine)"),
    "run": ("run", "sweep configurations x models x lengths"),
    "report": ("report", "write figures and the HTML report of a results folder"),
    "validate": ("validate", "compare a results folder with the artifact's published rows"),
    "mapper": ("mapper", "search mappings like timeloop-mapper (builtin mapper)"),
    "animate": ("animate", "animate how an Einsum's tiles spread over the PE arrays"),
}


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The full parser (every verb with its help line and arguments); with ``verb``, that verb alone: each
    sub-parser costs argparse's message-catalogue look-ups, a good part of a quick command's start-up."""
    parser = argparse.ArgumentParser(
        prog="fusemax",
        description="Model attention accelerators (FuseMax, FLAT, unfused) with Timeloop-compatible specs.")
    parser.add_argument("--version", action="version", version=f"fusemax {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for name, (module_name, help_text) in VERBS.items():
        if verb not in (None, name):
            continue
        verb_parser = sub.add_parser(name, help=help_text, description=help_text)
        verb_parser.set_defaults(_module=module_name)
        _verb_module(module_name).add_arguments(verb_parser)
    return parser


def _verb_module(name: str):
    return importlib.import_module(f"fusemax.cli.{name}")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def sigterm_as_interrupt() -> None:
    """Handle SIGTERM like Ctrl-C (call in the main thread of a command): a run cancels its queue, keeps
    the finished jobs, removes its temporary folders and stops its workers, instead of dying mid-write."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fusemax`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    verb = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(verb if verb in VERBS else None).parse_args(argv)
    sigterm_as_interrupt()
    collect_less()
    try:
        return _verb_module(args._module).run(args)
    except FusemaxError as exc:
        # one line, whatever the message quotes (a model name, a file's text): no raw escape sequence
        print(f"fusemax {args.verb}: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fusemax {args.verb}: interrupted", file=sys.stderr)
        return 130
