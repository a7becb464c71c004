"""``fusemax run``: sweep configurations x models x lengths into ``DIR/results``.

Each point is rendered into one job per Einsum spec; jobs run on the chosen backend (``builtin`` engine or
the real ``timeloop``) and executor (``local`` processes, default all cores, or ``dask``), and every result
is cached by content (``--cache``, default ``DIR/runs/cache`` or ``$FUSEMAX_CACHE``). Rerunning the same
command after Ctrl-C or a crash evaluates only the jobs that had not finished. ``--batch B`` sets the batch
(default 64, the paper's). ``--sweep FILE`` reads the
sweep from YAML (:mod:`fusemax.orchestrator.plan`); flags given on the command line override the file.
Hardware flags take comma lists (``--pe-dim 128,256 --l3-bytes 8MiB,16MiB``): every combination runs into
its own folder ``DIR/<label>`` (e.g. ``DIR/pe_dim=128_l3_bytes=8MiB``), all sharing one cache.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fusemax.errors import FusemaxError

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.orchestrator import SweepSpec
    from fusemax.workload import Hardware


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
    from fusemax.configs import ATTENTION_CONFIGS
    from fusemax.experiments.sweep import DEFAULT_MODELS, DEFAULT_SEQ_LENS
    parser.add_argument("--out", required=True, metavar="DIR", help="experiment folder (results go to DIR/results)")
    parser.add_argument("--sweep", metavar="YAML", help="sweep file (configs, models, seq_lens, phase, models_file, "
                                                        "backend); flags override it")
    parser.add_argument("--configs", type=_csv, metavar="C,...", help=f"configurations (default: {','.join(ATTENTION_CONFIGS)})")
    parser.add_argument("--models", type=_model_list, metavar="M,...",
                        help=f"zoo names or NAME:D=..,H=..,E=..,S=.. (default: {','.join(DEFAULT_MODELS)})")
    parser.add_argument("--seq-lens", type=_csv, metavar="L,...",
                        help=f"sequence lengths (default: {','.join(DEFAULT_SEQ_LENS)})")
    parser.add_argument("--phase", choices=("prefill", "decode"),
                        help="prefill (P = M = length, the default) or decode (P = 1 query against M keys)")
    parser.add_argument("--batch", type=int, metavar="B", help="batch size (default 64, the paper's)")
    parser.add_argument("--models-file", metavar="YAML", help="extra models in the zoo's format")
    parser.add_argument("--backend", choices=("builtin", "timeloop"),
                        help="builtin engine (default) or the real timeloop-model/timeloop-mapper")
    hardware = parser.add_argument_group("hardware (comma lists sweep every combination, one folder each: DIR/<label>)")
    hardware.add_argument("--pe-dim", type=_csv, metavar="N,...", help="2D array of N x N PEs (default 256)")
    hardware.add_argument("--pe-1d", type=_csv, metavar="N,...", help="PEs of the 1D array (default: PE dim)")
    hardware.add_argument("--l3-bytes", type=_csv, metavar="SIZE,...",
                          help="L3 size, e.g. 8MiB (default: 16 MiB FuseMax, 32 MiB FLAT/unfused)")
    hardware.add_argument("--dram-bandwidth", type=_csv, metavar="BYTES,...",
                          help="DRAM bytes per second, e.g. 400GiB (default 400 GiB/s)")
    hardware.add_argument("--clock-hz", type=_csv, metavar="HZ,...", help="clock, e.g. 940e6 (default)")
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
            batch: int | None = None, models_file: str | None = None, jobs: int = 0, quiet: bool = False, stream=None,
            backend: str = "builtin", executor: str = "local", scheduler: str | None = None,
            cache: str | None = None, hardware: "Hardware | None" = None):
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
    batch = sweep.DEFAULT_BATCH if batch is None else batch
    pts = sweep.points(configs, models, lengths, phase, batch)
    hardware = hardware or Hardware()
    run = sweep.run_points(pts, hardware, jobs=jobs, models_file=models_file, backend=backend,
                           executor=executor, scheduler=scheduler, cache=cache_dir(out, cache),
                           stream=None if quiet else (stream or sys.stderr))
    done = [o.result for o in run.outcomes if o.result is not None]
    folder = None
    if done:
        info = sweep.run_info(run.outcomes, hardware, {
            "configs": configs, "models": models, "seq_lens": seq_lens, "phase": phase, "batch": batch, "engine": backend,
            "executor": executor, "jobs": run.counts.to_json()})
        folder = results.write(out, done, info, extra={"roofline": phase_roofline(results.einsum_frame(done))})
    return run.outcomes, folder


def run(args: argparse.Namespace) -> int:
    from fusemax.orchestrator import SweepSpec, load_sweep_file
    from fusemax.orchestrator.hardware import PARSERS, hardware_variants
    spec = load_sweep_file(args.sweep) if args.sweep else SweepSpec()
    flags = {name: tuple(getattr(args, name)) for name in PARSERS if getattr(args, name) is not None}
    spec = spec.merged(configs=args.configs, models=args.models, seq_lens=args.seq_lens, phase=args.phase,
                       batch=args.batch, models_file=args.models_file, backend=args.backend, hardware=flags or None)
    if args.jobs < 0:
        raise FusemaxError("expected 0 (all cores) or a positive number of processes", source="--jobs")
    variants = hardware_variants(spec.hardware or {}, source="hardware (flags or sweep file)")
    status = 0
    for variant in variants:
        # one results folder per hardware variant, all sharing one cache
        out = str(Path(args.out) / variant.label) if variant.label else args.out
        if variant.label:
            print(f"hardware {variant.label}:")
        status = max(status, _run_one(args, spec, out, variant.hardware))
    return status


def _run_one(args: argparse.Namespace, spec: "SweepSpec", out: str, hardware: "Hardware") -> int:
    from fusemax.experiments import sweep
    from fusemax.experiments.headline import format_headline, headline
    from fusemax.configs import ATTENTION_CONFIGS
    try:
        outcomes, folder = execute(
            out, list(spec.configs or ATTENTION_CONFIGS), list(spec.models or sweep.DEFAULT_MODELS),
            list(spec.seq_lens or sweep.DEFAULT_SEQ_LENS), phase=spec.phase or "prefill", batch=spec.batch,
            models_file=spec.models_file, jobs=args.jobs, quiet=args.quiet, backend=spec.backend or "builtin",
            executor=args.executor, scheduler=args.scheduler, cache=str(cache_dir(args.out, args.cache)),
            hardware=hardware)
    except KeyboardInterrupt:
        print(f"fusemax run: finished jobs are kept in {cache_dir(args.out, args.cache)}; run the same command "
              f"again to continue", file=sys.stderr)
        raise
    failed = [o for o in outcomes if o.error]
    if folder is not None:
        print(f"wrote {folder}")
    table = headline([o.result for o in outcomes if o.result is not None])
    if table:
        print(format_headline(table))
    if failed:
        print(f"fusemax run: {len(failed)} of {len(outcomes)} points failed (first: {failed[0].point.label}: "
              f"{failed[0].error})", file=sys.stderr)
        return 1
    return 0
