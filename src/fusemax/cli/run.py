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
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from fusemax import paper
from fusemax.backends.names import BACKENDS, DEFAULT_BACKEND
from fusemax.errors import FusemaxError
from fusemax.names import printable
from fusemax.workload import DEFAULT_BATCH, PHASES, PREFILL

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.experiments.sweep import PlannedPoint, Point
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


#: Default caps of one sweep (``fusemax run --max-points``, ``--max-variants``): past them a slip in a sweep
#: file (a list of a thousand lengths, six hardware lists of ten values) would start days of work.
MAX_POINTS = 100_000
MAX_VARIANTS = 1_000


def check_size(points_per_variant: int, variants: int, max_points: int = MAX_POINTS,
               max_variants: int = MAX_VARIANTS) -> int:
    """The sweep's total points (``points_per_variant`` x ``variants``); a :class:`FusemaxError` naming the
    flag that raises the cap when either count is past its cap."""
    total = points_per_variant * variants
    if variants > max_variants:
        raise FusemaxError(f"{variants:,} hardware variants (every combination of the hardware lists) is more "
                           f"than {max_variants:,}; narrow the lists or raise the cap with --max-variants N",
                           source="--max-variants")
    if total > max_points:
        raise FusemaxError(f"{total:,} points ({points_per_variant:,} configurations x models x lengths per "
                           f"variant x {variants:,} variants) is more than {max_points:,}; narrow the sweep or "
                           "raise the cap with --max-points N", source="--max-points")
    return total


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fusemax.configs import ATTENTION_CONFIGS, LAYER_FUSIONS
    from fusemax.units import BANDWIDTH_FORMS, CAPACITY_FORMS, FREQUENCY_FORMS, format_bandwidth, format_frequency
    parser.add_argument("--out", required=True, metavar="DIR", help="experiment folder (results go to DIR/results)")
    parser.add_argument("--sweep", metavar="YAML", help="sweep file (configs, models, seq_lens, phase, models_file, "
                                                        "backend, layer_fusion, ...); flags override it")
    parser.add_argument("--configs", type=_csv, metavar="C,...",
                        help=f"configurations (default: {','.join(ATTENTION_CONFIGS)}): binding is FuseMax with "
                             "its interleaved binding (the paper's proposal and headline), arch FuseMax's "
                             "architecture without it, cascade FuseMax's cascade on FLAT's hardware, flat the FLAT "
                             "dataflow, unfused the unfused baseline")
    parser.add_argument("--models", type=_model_list, metavar="M,...",
                        help=f"zoo names or NAME:D=..,H=..,E=..,S=.. (default: {','.join(paper.MODELS)})")
    parser.add_argument("--seq-lens", type=_csv, metavar="L,...",
                        help=f"sequence lengths (default: {','.join(paper.SEQ_LENS)})")
    parser.add_argument("--phase", choices=PHASES,
                        help="prefill (P = M = length, the default) or decode (P = 1 query against M keys)")
    parser.add_argument("--batch", type=int, metavar="B", help=f"batch size (default {DEFAULT_BATCH}, the paper's)")
    parser.add_argument("--mask", metavar="MASK",
                        help="attention mask in prefill for every model: none (bidirectional), causal, or window:N "
                             "(causal within the last N keys); default: each model's own (problems/models.yaml: "
                             "decoder-only models causal, Mistral-7B window:4096, encoders and the paper's models "
                             "none). Masked key blocks are skipped, partly masked ones computed in full")
    parser.add_argument("--models-file", metavar="FILE", help="extra models: YAML in the zoo's format, a HuggingFace "
                        "config.json or a folder of them")
    parser.add_argument("--backend", choices=BACKENDS,
                        help=f"{DEFAULT_BACKEND} engine (default) or the real timeloop-model/timeloop-mapper")
    hardware = parser.add_argument_group("hardware (comma lists sweep every combination, one folder each: DIR/<label>)")
    hardware.add_argument("--pe-dim", type=_csv, metavar="N,...", help=f"2D array of N x N PEs (default {paper.PE_DIM})")
    hardware.add_argument("--pe-1d", type=_csv, metavar="N,...", help="PEs of the 1D array (default: PE dim)")
    hardware.add_argument("--l3-bytes", type=_csv, metavar="SIZE,...",
                          help=f"L3 size, e.g. 8MiB: {CAPACITY_FORMS} (default: 16 MiB FuseMax, 32 MiB FLAT/unfused)")
    hardware.add_argument("--dram-bandwidth", type=_csv, metavar="RATE,...",
                          help=f"DRAM bandwidth, e.g. 400GiB: {BANDWIDTH_FORMS} (default {format_bandwidth(paper.DRAM_BANDWIDTH)})")
    hardware.add_argument("--clock-hz", type=_csv, metavar="HZ,...",
                          help=f"clock, e.g. 940MHz: {FREQUENCY_FORMS} (default {format_frequency(paper.CLOCK_HZ)})")
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default 0 = all cores; at most 4 per core)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="dask scheduler, e.g. tls://127.0.0.1:8786 (default: a LocalCluster on 127.0.0.1); "
                             "one on another machine needs --allow-remote-scheduler")
    parser.add_argument("--allow-remote-scheduler", action="store_true",
                        help="accept a --scheduler that is not on this machine (it will run the sweep's jobs)")
    parser.add_argument("--cache", metavar="DIR", help="result cache (default: $FUSEMAX_CACHE, else DIR/runs/cache)")
    parser.add_argument("--layer", action="store_true",
                        help="add the rest of the transformer layer on each configuration's platform (layer.csv)")
    parser.add_argument("--layer-fusion", choices=LAYER_FUSIONS, metavar="{none,fused}",
                        help="with --layer: fuse the norms, activation and residual adds into their matrix "
                             "multiplies (fused, the default) or run each on its own from and to DRAM (none)")
    parser.add_argument("--max-points", type=int, default=MAX_POINTS, metavar="N",
                        help=f"refuse a sweep of more than N points in all (default {MAX_POINTS:,})")
    parser.add_argument("--max-variants", type=int, default=MAX_VARIANTS, metavar="N",
                        help=f"refuse more than N hardware variants (default {MAX_VARIANTS:,})")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def cache_dir(out: str, cache: str | None = None) -> Path:
    """``--cache``, else ``$FUSEMAX_CACHE``, else ``<out>/runs/cache``."""
    return Path(cache or os.environ.get("FUSEMAX_CACHE") or Path(out) / "runs" / "cache")


def plan(configs: list[str], models: list[str], seq_lens: list[str], *, phase: str = PREFILL,
         batch: int | None = None, mask: str | None = None, models_file: str | None = None, jobs: int = 0,
         backend: str = DEFAULT_BACKEND,
         executor: str = "local", scheduler: str | None = None, hardware: "Hardware | None" = None,
         stream: TextIO | None = None, cache: str | None = None) -> "list[PlannedPoint]":
    """Render every point of a sweep into its jobs (progress on ``stream``); the first point that cannot
    be rendered is one :class:`FusemaxError` naming it, before any job runs. ``cache`` (a folder) keeps
    FLAT's dataflow searches like jobs. Shared with :func:`execute`."""
    from fusemax.experiments import sweep
    from fusemax.orchestrator import get_executor
    from fusemax.workload import Hardware

    pts = _points(configs, models, seq_lens, phase, batch, mask, models_file)
    runner = get_executor(executor, jobs, scheduler)
    return sweep.plan_points(pts, hardware or Hardware(), models_file, backend, stream, cache, runner)


def _points(configs: list[str], models: list[str], seq_lens: list[str], phase: str, batch: int | None,
            mask: str | None, models_file: str | None) -> "list[Point]":
    """The sweep's points; an unknown model or length is one error before any work."""
    from fusemax.experiments import sweep
    from fusemax.workload import parse_seq_lens, resolve_models

    resolve_models(models, models_file)
    return sweep.points(configs, models, parse_seq_lens(seq_lens), phase, DEFAULT_BATCH if batch is None else batch,
                        mask)


def execute(out: str, configs: list[str], models: list[str], seq_lens: list[str], *, phase: str = PREFILL,
            batch: int | None = None, mask: str | None = None, models_file: str | None = None, jobs: int = 0,
            quiet: bool = False, stream=None,
            backend: str = DEFAULT_BACKEND, executor: str = "local", scheduler: str | None = None,
            cache: str | None = None, hardware: "Hardware | None" = None, layer: bool = False,
            layer_fusion: str | None = None, planned: "list[PlannedPoint] | None" = None):
    """Run a sweep and write its results; returns (outcomes, results folder). Shared with run_all.py.

    ``layer`` adds the rest of the transformer layer on each configuration's platform
    (:mod:`fusemax.experiments.layer`): ``layer.csv`` and the layer's Einsums in ``einsums.csv``, under the
    ``layer_fusion`` policy (default fused), which ``run.json`` records; and the whole model
    (:mod:`fusemax.experiments.wholemodel`, models with layers and vocab): ``model.csv``.
    Progress goes to ``stream`` (default: the current ``sys.stderr``) unless ``quiet``. ``planned``: the
    sweep already rendered by :func:`plan` with the same arguments (default: plan it here)."""
    from fusemax import results
    from fusemax.backends import get_backend
    from fusemax.combine.roofline import phase_roofline
    from fusemax.experiments import sweep
    from fusemax.orchestrator import get_executor
    from fusemax.workload import Hardware

    hardware = hardware or Hardware()
    progress_stream = None if quiet else (stream or sys.stderr)
    # Not planned here: run_points renders every point it does not hold whole in the cache before any job
    # runs (failing fast the same way) and keeps each point's result, so a warm rerun renders nothing.
    pts = [pp.point for pp in planned] if planned is not None else _points(
        configs, models, seq_lens, phase, batch, mask, models_file)
    batch = DEFAULT_BATCH if batch is None else batch
    run = sweep.run_points(pts, hardware, jobs=jobs, models_file=models_file, backend=backend,
                           executor=executor, scheduler=scheduler, cache=cache_dir(out, cache),
                           stream=progress_stream, planned=planned)
    done = [o.result for o in run.outcomes if o.result is not None]
    folder = None
    if done:
        info = sweep.run_info(run.outcomes, hardware, {
            "configs": configs, "models": models, "seq_lens": seq_lens, "phase": phase, "batch": batch,
            "mask": mask or "each model's own (see einsums.csv's mask column)",
            "engine": backend, "tools": get_backend(backend).tools(),
            "executor": executor, "jobs": run.counts.to_json()})
        extra: dict = {}
        rest: list = []
        if layer:
            from fusemax.experiments.layer import DEFAULT_LAYER_FUSION, run_layers
            from fusemax.experiments.wholemodel import run_model
            from fusemax.orchestrator import Cache
            fusion = layer_fusion or DEFAULT_LAYER_FUSION
            info["layer_fusion"] = fusion
            done_points = [(o.point.config, o.workload, o.result) for o in run.outcomes
                           if o.result is not None and o.workload is not None]
            runner, store = get_executor(executor, jobs, scheduler), Cache(cache_dir(out, cache))
            rows, rest = run_layers(done_points, hardware, backend=backend, executor=runner, cache=store,
                                    stream=progress_stream, fusion=fusion)
            extra["layer"] = results.layer_frame(rows)
            whole, left_out = run_model(rows, {w.model.name: w.model for _, w, _ in done_points}, hardware,
                                        backend=backend, executor=runner, cache=store, stream=progress_stream)
            extra["model"] = results.model_frame(whole)
            info["model_left_out"] = left_out
            if left_out and not quiet:
                print(f"model.csv leaves out {', '.join(left_out)}: no layers/vocab in the model's entry (give "
                      "layers: and vocab:, or layers=N,vocab=N inline)", file=stream or sys.stderr)
        extra["roofline"] = phase_roofline(results.einsum_frame([*done, *rest]))
        folder = results.write(out, done, info, extra=extra, rest=rest)
    return run.outcomes, folder


def _check_inputs(args: argparse.Namespace, spec: "SweepSpec") -> None:
    """Every value of the sweep, checked before any planning; an error names where the value came from
    (the flag, or the sweep file and its key)."""
    from fusemax.configs import ATTENTION_CONFIGS
    from fusemax.workload import Workload, parse_mask, parse_seq_len, parse_seq_lens, resolve_model, resolve_models

    def origin(name: str) -> str:
        if getattr(args, name, None) is not None or not args.sweep:
            return f"--{name.replace('_', '-')}"
        return f"{args.sweep}: {name}"

    for name in ("configs", "models", "seq_lens"):
        if getattr(args, name) is not None and not getattr(args, name):
            raise FusemaxError(f"empty list {getattr(args, name)!r}; give at least one value (or leave the flag "
                               "out for the default)", source=origin(name))
    unknown = [c for c in spec.configs or () if c not in ATTENTION_CONFIGS]
    if unknown:
        raise FusemaxError(f"unknown configuration {unknown[0]!r}; use {', '.join(ATTENTION_CONFIGS)}", source=origin("configs"))
    # each value, and no two spellings of one model or length (the same point twice)
    checks: list[tuple[str, Any, Any]] = [("models", spec.models, lambda ms: resolve_models(list(ms), spec.models_file)),
                                          ("seq_lens", spec.seq_lens, lambda ns: parse_seq_lens(list(ns))),
                                          ("mask", spec.mask, parse_mask)]
    for name, value, check in checks:
        try:
            if value is not None:
                check(value)
        except FusemaxError as exc:
            if exc.source and not exc.source.startswith("--"):  # already names its file (a models file)
                raise
            raise FusemaxError(exc.reason, source=origin(name)) from None
    if spec.phase not in (None, *PHASES):
        raise FusemaxError(f"unknown phase {spec.phase!r}; use {' or '.join(PHASES)}", source=origin("phase"))
    batch = DEFAULT_BATCH if spec.batch is None else spec.batch
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise FusemaxError(f"batch must be a positive integer, got {batch!r}", source=origin("batch"))
    for model in spec.models or paper.MODELS:  # the 64-bit bounds of every point at the run's batch
        for n in spec.seq_lens or paper.SEQ_LENS:
            try:
                Workload(resolve_model(model, spec.models_file), parse_seq_len(n), spec.phase or PREFILL, batch)
            except FusemaxError as exc:
                raise FusemaxError(exc.reason, source=origin("seq_lens")) from None
    if spec.backend not in (None, *BACKENDS):
        raise FusemaxError(f"unknown backend {spec.backend!r}; use {' or '.join(BACKENDS)}", source=origin("backend"))
    from fusemax.configs import LAYER_FUSIONS
    if spec.layer_fusion not in (None, *LAYER_FUSIONS):
        raise FusemaxError(f"unknown layer fusion {spec.layer_fusion!r}; use {' or '.join(LAYER_FUSIONS)}",
                           source=origin("layer_fusion"))
    if args.layer_fusion is not None and not args.layer:
        raise FusemaxError("only the whole layer has a fusion policy; add --layer", source="--layer-fusion")
    if args.jobs < 0:
        raise FusemaxError("expected 0 (all cores) or a positive number of processes", source="--jobs")


def _check_writable(out: Path, cache: Path) -> None:
    """Fail fast, before any work, when the results cannot be written (or a file is in their way)."""
    from fusemax.fileio import write_text_atomic
    from fusemax.orchestrator import Cache
    folder = out / "results"
    for path in (out, folder):
        if path.exists() and not path.is_dir():
            raise FusemaxError("a file is in the way of the results folder", source=str(path))
    # A real write is the only reliable test (modes, read-only mounts, /proc); the folders it creates are
    # removed again, so a run killed before its first result leaves no empty results folder behind.
    created = [] if folder.is_dir() else [p for p in (folder, *folder.parents) if not p.exists()]
    probe = folder / ".fusemax-write-check"
    try:
        write_text_atomic(probe, "")
        probe.unlink()
        for path in created:
            path.rmdir()
    except OSError as exc:
        raise FusemaxError(f"cannot write the results here: {exc.strerror or exc}", source=str(folder)) from None
    Cache(cache).check()


def run(args: argparse.Namespace) -> int:
    from fusemax.energy.cacti import live_cacti_enabled
    from fusemax.orchestrator import SweepSpec, load_sweep_file
    from fusemax.orchestrator.executors import check_scheduler, get_executor
    get_executor(args.executor, args.jobs, args.scheduler)   # refuses --scheduler without dask, before any output
    check_scheduler(args.scheduler, args.allow_remote_scheduler)
    from fusemax.orchestrator.hardware import PARSERS, hardware_variants
    live_cacti_enabled()  # $FUSEMAX_LIVE_CACTI=1 where live CACTI cannot run: one error before any work
    spec = load_sweep_file(args.sweep) if args.sweep else SweepSpec()
    if args.sweep and spec == SweepSpec():
        raise FusemaxError("the sweep file sets nothing; give at least configs, models or seq_lens",
                           source=args.sweep)
    flags = {name: tuple(getattr(args, name)) for name in PARSERS if getattr(args, name) is not None}
    spec = spec.merged(configs=args.configs, models=args.models, seq_lens=args.seq_lens, phase=args.phase,
                       batch=args.batch, mask=args.mask, models_file=args.models_file, backend=args.backend,
                       hardware=flags or None, layer_fusion=args.layer_fusion)
    # the size first, from the lists' lengths alone: expanding or checking a huge sweep is itself slow
    sweep_args = _sweep_args(args, spec)
    per_variant = len(sweep_args["configs"]) * len(sweep_args["models"]) * len(sweep_args["seq_lens"])
    n_variants = math.prod(len(values) for values in (spec.hardware or {}).values())
    total = check_size(per_variant, n_variants, args.max_points, args.max_variants)
    _check_inputs(args, spec)
    variants = hardware_variants(spec.hardware or {}, source="hardware (flags or sweep file)")
    for variant in variants:
        _check_writable(Path(args.out) / variant.label, cache_dir(args.out, args.cache))
    # Every variant is planned before any job runs, so a point no variant can render fails the run at once.
    planned = []
    for variant in variants:
        try:
            planned.append(plan(**_sweep_args(args, spec), hardware=variant.hardware,
                                stream=None if args.quiet else sys.stderr,
                                cache=str(cache_dir(args.out, args.cache))))
        except FusemaxError as exc:
            if not variant.label:
                raise
            raise FusemaxError(str(exc), source=f"hardware {variant.label}") from None
    if not args.quiet:   # the size, before any job runs (distinct jobs: points share Einsums)
        jobs = len({job.key for points in planned for pp in points for job in pp.jobs.values()})
        print(f"fusemax run: {total:,} points ({per_variant:,} per hardware variant x {n_variants:,} variant"
              f"{'s' if n_variants != 1 else ''}), {jobs:,} distinct jobs", file=sys.stderr)
    status = 0
    for variant, points in zip(variants, planned):
        # one results folder per hardware variant, all sharing one cache
        out = str(Path(args.out) / variant.label) if variant.label else args.out
        if variant.label:
            print(f"hardware {variant.label}:")
        status = max(status, _run_one(args, spec, out, variant.hardware, points))
    return status


def _sweep_args(args: argparse.Namespace, spec: "SweepSpec") -> dict[str, Any]:
    """The sweep's arguments of :func:`plan` and :func:`execute` (the file's values, defaults filled in)."""
    from fusemax.configs import ATTENTION_CONFIGS
    return dict(configs=list(spec.configs or ATTENTION_CONFIGS), models=list(spec.models or paper.MODELS),
                seq_lens=list(spec.seq_lens or paper.SEQ_LENS), phase=spec.phase or PREFILL,
                batch=spec.batch, mask=spec.mask, models_file=spec.models_file, jobs=args.jobs, backend=spec.backend or DEFAULT_BACKEND,
                executor=args.executor, scheduler=args.scheduler)


def _run_one(args: argparse.Namespace, spec: "SweepSpec", out: str, hardware: "Hardware",
             planned: "list[PlannedPoint]") -> int:
    from fusemax.experiments.headline import format_headline, headline
    try:
        outcomes, folder = execute(out, **_sweep_args(args, spec), quiet=args.quiet,
                                   cache=str(cache_dir(args.out, args.cache)), hardware=hardware, layer=args.layer,
                                   layer_fusion=spec.layer_fusion, planned=planned)
    except KeyboardInterrupt:
        print(f"fusemax run: finished jobs are kept in {cache_dir(args.out, args.cache)}; run the same command "
              f"again to continue", file=sys.stderr)
        raise
    failed = [o for o in outcomes if o.error]
    if folder is not None:
        print(f"wrote {folder}")
    print(hardware.summary())
    table = headline([o.result for o in outcomes if o.result is not None])
    if table:
        # attention alone: the whole layer's rows are layer.csv's (and model.csv's)
        print("attention alone" + (" (the whole layer: layer.csv)" if args.layer else "") + ", means over the points:")
        print(format_headline(table))
    if failed:
        print(printable(f"fusemax run: {len(failed)} of {len(outcomes)} points failed (first: "
                        f"{failed[0].point.label}: {failed[0].error})"), file=sys.stderr)
        return 1
    return 0
