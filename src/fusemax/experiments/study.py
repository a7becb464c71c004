"""The study fusemax exists for: FuseMax, FLAT and unfused across model sizes and context lengths, the
whole transformer layer, prefill and decode, at the study's batch 1 and the paper's 64.

One :func:`run_study` call sweeps the grid of :mod:`fusemax.experiments.grid` (configurations x models x
lengths x batches) x both phases through the same sweep and layer pipeline as ``fusemax run --layer`` (one job cache);
:func:`fusemax.results.write_study` turns it into ``OUT/study/results``: ``layer.csv`` (one row per
point), ``model.csv`` (the whole model: TTFT, TPOT, tokens/s, energy per token; see
:mod:`fusemax.experiments.wholemodel`), ``einsums.csv`` (every attention, projection, MLP and element-wise Einsum) and ``roofline.csv``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence, TextIO

from fusemax.backends.names import DEFAULT_BACKEND
from fusemax.combine.schedule import ConfigResult
from fusemax.experiments import sweep
from fusemax.experiments.grid import BATCHES, CONFIGS, LENGTHS, MODELS
from fusemax.experiments.headline import format_headline, headline
from fusemax.experiments.layer import DEFAULT_LAYER_FUSION, LayerRow, run_layers
from fusemax.experiments.wholemodel import ModelRow, run_model
from fusemax.orchestrator import Cache, get_executor
from fusemax.workload import PHASES, Hardware, format_seq_len


def long_lengths(up_to: int) -> tuple[int, ...]:
    """The powers of two above :data:`fusemax.experiments.grid.LENGTHS` up to ``up_to`` tokens (8K, 16K, ... 1M for ``1M``)."""
    return tuple(n for n in (2 ** k for k in range(13, 64)) if n <= up_to)


@dataclass
class StudyRun:
    """What one study run computed: the whole layer per point, every configuration result behind it
    (attention per configuration, the rest of the layer per platform), the failed points, the job
    counts per (phase, batch) sweep, and the whole model per configuration x model x length x batch (with
    the models left out of it for want of layers or vocab)."""

    layer: list[LayerRow]
    results: list[ConfigResult]
    failed: list[dict[str, str]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    model: list[ModelRow] = field(default_factory=list)
    model_left_out: list[str] = field(default_factory=list)


def run_study(*, configs: tuple[str, ...] = CONFIGS, models: tuple[str, ...] = MODELS,
              lengths: tuple[int, ...] = LENGTHS, phases: tuple[str, ...] = PHASES,
              batches: tuple[int, ...] = BATCHES, attention_lengths: tuple[int, ...] = (),
              hardware: Hardware = Hardware(), jobs: int = 0, backend: str = DEFAULT_BACKEND,
              cache: Cache | None = None, stream: TextIO | None = None,
              layer_fusion: str = DEFAULT_LAYER_FUSION) -> StudyRun:
    """Every point of the study grid with its whole layer (under the ``layer_fusion`` policy, the same on
    every platform: :mod:`fusemax.experiments.layer`), and attention alone at ``attention_lengths``
    (e.g. :func:`long_lengths`: the paper's long contexts, where the rest of the layer is not modelled);
    ``cache`` (shared with the paper's sweep) makes a rerun take every job from it. Progress goes to
    ``stream`` (None: silent)."""
    executor = get_executor("local", jobs, None)
    # One sweep over every phase and batch: one round of FLAT searches, one pool of jobs, one of layers,
    # so no core idles at the end of each of four smaller sweeps.
    sweeps = [(phase, batch) for phase in phases for batch in batches]
    every = list(dict.fromkeys((*lengths, *attention_lengths)))
    pts = [p for phase, batch in sweeps for p in sweep.points(list(configs), list(models), every, phase, batch)]
    run = sweep.run_points(pts, hardware, jobs=jobs, backend=backend, cache=cache, stream=stream)
    done = [(o.point.config, o.workload, o.result) for o in run.outcomes
            if o.result is not None and o.workload is not None]
    failed = [{"point": o.point.label, "error": o.error} for o in run.outcomes if o.error]
    with_layer = set(lengths)
    rows, rest = run_layers([d for d in done if d[1].seq_len in with_layer], hardware, backend=backend,
                            executor=executor, cache=cache, stream=stream, fusion=layer_fusion)
    whole, left_out = run_model(rows, {w.model.name: w.model for _, w, _ in done}, hardware, backend=backend,
                                executor=executor, cache=cache, stream=stream)
    # results in sweep order, each sweep's attention then the rest of its layers
    results = [r for phase, batch in sweeps for r in (
        *(r for _, w, r in done if (w.phase, w.batch) == (phase, batch)),
        *(r for r in rest if (r.phase, r.params.get("batch")) == (phase, batch)))]
    jobs_info = {"phases": list(phases), "batches": list(batches), **run.counts.to_json(),
                 "cached_points": run.cached_points}
    return StudyRun(rows, results, failed, [jobs_info], whole, left_out)


def format_study_headline(layer: Sequence[LayerRow], lengths: tuple[int, ...] = (1, 256, 4096)) -> str:
    """The study's headline: per batch and phase, FuseMax's (binding's) mean whole-layer speedup and energy
    ratio over FLAT and unfused; then, per phase at the smallest batch, its speedup over FLAT by model and
    length."""
    rows = list(layer)
    parts = []
    for batch in sorted({r.batch for r in rows}):
        parts.append(f"batch {batch} (whole layer, means over model x length)")
        parts.append(format_headline(headline([r for r in rows if r.batch == batch])))
    labels = [format_seq_len(n) for n in lengths]
    smallest = min(r.batch for r in rows)
    latency = {(r.config, r.model, r.seq_len, r.phase): r.latency for r in rows if r.batch == smallest}
    for phase in dict.fromkeys(r.phase for r in rows):
        parts.append(f"\nbinding over flat, whole layer, {phase}, batch {smallest}")
        parts.append(f"{'model':<12}" + "".join(f"{s:>8}" for s in labels))
        for model in dict.fromkeys(r.model for r in rows):
            cells = []
            for s in labels:
                ours, base = latency.get(("binding", model, s, phase)), latency.get(("flat", model, s, phase))
                cells.append(f"{base / ours:>7.2f}x" if ours and base else f"{'-':>8}")
            parts.append(f"{model:<12}" + "".join(cells))
    return "\n".join(parts)
