"""``fusemax run``: sweep configurations x models x lengths into ``DIR/results``."""
from __future__ import annotations

import argparse
import sys

from fusemax.errors import FusemaxError


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fusemax.experiments.configs import CONFIGS
    from fusemax.experiments.sweep import DEFAULT_MODELS, DEFAULT_SEQ_LENS
    parser.add_argument("--out", required=True, metavar="DIR", help="experiment folder (results go to DIR/results)")
    parser.add_argument("--configs", type=_csv, default=list(CONFIGS), metavar="C,...",
                        help=f"configurations (default: {','.join(CONFIGS)})")
    parser.add_argument("--models", type=_csv, default=list(DEFAULT_MODELS), metavar="M,...",
                        help=f"zoo names or NAME:D=..,H=..,E=..,S=.. (default: {','.join(DEFAULT_MODELS)})")
    parser.add_argument("--seq-lens", type=_csv, default=list(DEFAULT_SEQ_LENS), metavar="L,...",
                        help=f"sequence lengths (default: {','.join(DEFAULT_SEQ_LENS)})")
    parser.add_argument("--phase", choices=("prefill", "decode"), default="prefill",
                        help="prefill (P = M = length) or decode (P = 1 query against M keys)")
    parser.add_argument("--models-file", metavar="YAML", help="extra models in the zoo's format")
    parser.add_argument("--backend", choices=("builtin", "timeloop"), default="builtin")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="local worker processes (0 = all cores)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="dask scheduler (with --executor dask)")
    parser.add_argument("--quiet", action="store_true", help="no per-point progress lines")


def execute(out: str, configs: list[str], models: list[str], seq_lens: list[str], *, phase: str = "prefill",
            models_file: str | None = None, jobs: int = 1, quiet: bool = False, stream=sys.stderr):
    """Run a sweep and write its results; returns (outcomes, results folder). Shared with run_all.py."""
    from fusemax import results
    from fusemax.experiments import sweep
    from fusemax.workload import Hardware, parse_seq_len, resolve_model

    for model in models:  # fail fast, before any work, on an unknown model or length
        resolve_model(model, models_file)
    lengths = [parse_seq_len(s) for s in seq_lens]
    pts = sweep.points(configs, models, lengths, phase)
    hardware = Hardware()

    def progress(o):
        if not quiet:
            status = f"error: {o.error}" if o.error else f"{o.seconds:.2f}s"
            print(f"  {o.point.label}: {status}", file=stream)

    outcomes = sweep.run_sweep(pts, hardware, jobs=jobs, models_file=models_file, progress=progress)
    done = [o.result for o in outcomes if o.result is not None]
    folder = None
    if done:
        info = sweep.run_info(outcomes, hardware, {"configs": configs, "models": models,
                                                   "seq_lens": seq_lens, "phase": phase, "engine": "builtin"})
        from fusemax.experiments.roofline import phase_roofline
        folder = results.write(out, done, info, extra={"roofline": phase_roofline(results.einsum_frame(done))})
    return outcomes, folder


def run(args: argparse.Namespace) -> int:
    from fusemax.experiments import sweep
    if args.executor == "dask":
        raise FusemaxError("the dask executor is not available yet; use --executor local --jobs N",
                           source="--executor")
    if args.backend == "timeloop":
        raise FusemaxError("the timeloop backend is not available yet in this version; use --backend builtin",
                           source="--backend")
    outcomes, folder = execute(args.out, args.configs, args.models, args.seq_lens, phase=args.phase,
                               models_file=args.models_file, jobs=args.jobs, quiet=args.quiet)
    failed = [o for o in outcomes if o.error]
    if folder is not None:
        print(f"wrote {folder}")
    table = sweep.headline([o.result for o in outcomes if o.result is not None])
    if table:
        print(sweep.format_headline(table))
    for config, note in sorted({(o.point.config, o.stand_in) for o in outcomes if o.stand_in}):
        print(f"note: {config}: {note}")
    if failed:
        print(f"fusemax run: {len(failed)} of {len(outcomes)} points failed (first: {failed[0].point.label}: "
              f"{failed[0].error})", file=sys.stderr)
        return 1
    return 0
