"""``fusemax run``: sweep configurations x models x lengths into ``DIR/results``.

Each point is rendered into one job per Einsum spec; jobs run on the chosen backend (``builtin`` engine or
the real ``timeloop``) and executor (``local`` processes, default all cores, or ``dask``), and every result
is cached by content (``--cache``, default ``DIR/runs/cache`` or ``$FUSEMAX_CACHE``). Rerunning the same
command after Ctrl-C or a crash evaluates only the jobs that had not finished. ``--sweep FILE`` reads the
sweep from YAML (:mod:`fusemax.orchestrator.plan`); flags given on the command line override the file.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from fusemax.errors import FusemaxError


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _model_list(text: str) -> list[str]:
    """Zoo names and inline specs: ``BERT,MyNet:D=2048,H=16,E=128,S=8192`` is two models (a ``RANK=N`` part
    continues the inline spec before it)."""
    models: list[str] = []
    for part in _csv(text):
        if "=" in part and ":" not in part and models:
            models[-1] += f",{part}"
        else:
            models.append(part)
    return models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fusemax.experiments.configs import CONFIGS
    from fusemax.experiments.sweep import DEFAULT_MODELS, DEFAULT_SEQ_LENS
    parser.add_argument("--out", required=True, metavar="DIR", help="experiment folder (results go to DIR/results)")
    parser.add_argument("--sweep", metavar="YAML", help="sweep file (configs, models, seq_lens, phase, models_file, "
                                                        "backend); flags override it")
    parser.add_argument("--configs", type=_csv, metavar="C,...", help=f"configurations (default: {','.join(CONFIGS)})")
    parser.add_argument("--models", type=_model_list, metavar="M,...",
                        help=f"zoo names or NAME:D=..,H=..,E=..,S=.. (default: {','.join(DEFAULT_MODELS)})")
    parser.add_argument("--seq-lens", type=_csv, metavar="L,...",
                        help=f"sequence lengths (default: {','.join(DEFAULT_SEQ_LENS)})")
    parser.add_argument("--phase", choices=("prefill", "decode"),
                        help="prefill (P = M = length, the default) or decode (P = 1 query against M keys)")
    parser.add_argument("--models-file", metavar="YAML", help="extra models in the zoo's format")
    parser.add_argument("--backend", choices=("builtin", "timeloop"),
                        help="builtin engine (default) or the real timeloop-model/timeloop-mapper")
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default 0 = all cores)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="dask scheduler, e.g. tcp://host:8786 (default: a LocalCluster on 127.0.0.1)")
    parser.add_argument("--cache", metavar="DIR", help="result cache (default: $FUSEMAX_CACHE, else DIR/runs/cache)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def cache_dir(out: str, cache: str | None = None) -> Path:
    """``--cache``, else ``$FUSEMAX_CACHE``, else ``<out>/runs/cache``."""
    return Path(cache or os.environ.get("FUSEMAX_CACHE") or Path(out) / "runs" / "cache")


def execute(out: str, configs: list[str], models: list[str], seq_lens: list[str], *, phase: str = "prefill",
            models_file: str | None = None, jobs: int = 0, quiet: bool = False, stream=None,
            backend: str = "builtin", executor: str = "local", scheduler: str | None = None,
            cache: str | None = None):
    """Run a sweep and write its results; returns (outcomes, results folder). Shared with run_all.py.

    Progress goes to ``stream`` (default: the current ``sys.stderr``) unless ``quiet``."""
    from fusemax import results
    from fusemax.experiments import sweep
    from fusemax.experiments.roofline import phase_roofline
    from fusemax.orchestrator import get_executor
    from fusemax.workload import Hardware, parse_seq_len, resolve_model

    for model in models:  # fail fast, before any work, on an unknown model, length or executor
        resolve_model(model, models_file)
    lengths = [parse_seq_len(s) for s in seq_lens]
    get_executor(executor, jobs, scheduler)
    pts = sweep.points(configs, models, lengths, phase)
    hardware = Hardware()
    run = sweep.run_points(pts, hardware, jobs=jobs, models_file=models_file, backend=backend,
                           executor=executor, scheduler=scheduler, cache=cache_dir(out, cache),
                           stream=None if quiet else (stream or sys.stderr))
    done = [o.result for o in run.outcomes if o.result is not None]
    folder = None
    if done:
        info = sweep.run_info(run.outcomes, hardware, {
            "configs": configs, "models": models, "seq_lens": seq_lens, "phase": phase, "engine": backend,
            "executor": executor, "jobs": run.counts.to_json()})
        folder = results.write(out, done, info, extra={"roofline": phase_roofline(results.einsum_frame(done))})
    return run.outcomes, folder


def run(args: argparse.Namespace) -> int:
    from fusemax.experiments import sweep
    from fusemax.experiments.configs import CONFIGS
    from fusemax.orchestrator import SweepSpec, load_sweep_file
    spec = load_sweep_file(args.sweep) if args.sweep else SweepSpec()
    spec = spec.merged(configs=args.configs, models=args.models, seq_lens=args.seq_lens, phase=args.phase,
                       models_file=args.models_file, backend=args.backend)
    if args.jobs < 0:
        raise FusemaxError("expected 0 (all cores) or a positive number of processes", source="--jobs")
    try:
        outcomes, folder = execute(
            args.out, list(spec.configs or CONFIGS), list(spec.models or sweep.DEFAULT_MODELS),
            list(spec.seq_lens or sweep.DEFAULT_SEQ_LENS), phase=spec.phase or "prefill",
            models_file=spec.models_file, jobs=args.jobs, quiet=args.quiet, backend=spec.backend or "builtin",
            executor=args.executor, scheduler=args.scheduler, cache=args.cache)
    except KeyboardInterrupt:
        print(f"fusemax run: finished jobs are kept in {cache_dir(args.out, args.cache)}; run the same command "
              f"again to continue", file=sys.stderr)
        raise
    failed = [o for o in outcomes if o.error]
    if folder is not None:
        print(f"wrote {folder}")
    table = sweep.headline([o.result for o in outcomes if o.result is not None])
    if table:
        print(sweep.format_headline(table))
    if failed:
        print(f"fusemax run: {len(failed)} of {len(outcomes)} points failed (first: {failed[0].point.label}: "
              f"{failed[0].error})", file=sys.stderr)
        return 1
    return 0
