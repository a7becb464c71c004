"""The whole model from its layer: time to first token, time per output token, tokens/s, energy per token.

Per configuration x model x length x batch (``model.csv``), from the whole-layer rows of
:mod:`fusemax.experiments.layer` and the model's ``layers`` and ``vocab``:

* TTFT = layers x the layer's prefill latency at the prompt's length + the LM head;
* TPOT = layers x the layer's decode latency at that context (one new token per sequence) + the LM head;
* tokens/s = B / TPOT: the decode throughput of the batch, B new tokens per step;
* energy per token = (layers x the decode layer's energy + the LM head's) / B.

The LM head (the registry's ``lm-head``) is one matrix multiply, (B tokens x D) x (D x vocab): the prompt's
last token of each sequence in prefill, the new one in decode. It runs on the configuration's platform,
mapped like the layer's matmuls, and is evaluated once per platform x model x batch. Left out: the embedding
lookup, sampling, and any KV-cache traffic the layer rows do not already count.

>>> rows, left_out = run_model(layer_rows, models)   # doctest: +SKIP  (layer_rows of run_layers)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Mapping, Sequence, TextIO

from fusemax.backends.names import DEFAULT_BACKEND
from fusemax.combine import ConfigResult
from fusemax.configs import REGISTRY
from fusemax.errors import FusemaxError
from fusemax.orchestrator import Cache, Executor
from fusemax.orchestrator.keys import result_key
from fusemax.pipeline import PlatformTask, platform_results
from fusemax.workload import DECODE, PREFILL, Hardware, Model, Workload

from .layer import LayerRow, platform_hardware

CONFIG = "lm-head"


@dataclass(frozen=True)
class ModelRow:
    """One configuration's whole model at one length and batch; NaN where the run lacks the phase."""

    config: str
    model: str
    seq_len: str
    batch: int
    layers: int
    vocab: int
    ttft: float              # s: the prompt through every layer, then the LM head
    tpot: float              # s: one decode step of the batch through every layer, then the LM head
    tokens_per_s: float      # B / TPOT
    energy_per_token: float  # pJ: a decode step's energy / B
    prefill_energy: float    # pJ: the batch's prompts through every layer and the LM head
    lm_head_latency: float   # s
    lm_head_energy: float    # pJ


def head_workload(model: Model, batch: int) -> Workload:
    """The LM head's workload: one token per sequence (the length does not enter it)."""
    return Workload(model, 1, DECODE, batch)


def model_row(model: Model, batch: int, head: ConfigResult, prefill: LayerRow | None,
              decode: LayerRow | None) -> ModelRow:
    """Pure: the whole model from its layer rows (either may be None) and the LM head."""
    if model.layers is None or model.vocab is None:
        raise FusemaxError("the whole model needs layers and vocab", source=model.name)
    first = prefill or decode
    if first is None:
        raise FusemaxError("no layer row to build the whole model from", source=model.name)
    n = model.layers
    nan = float("nan")
    tpot = n * decode.latency + head.latency if decode is not None else nan
    return ModelRow(
        first.config, model.name, first.seq_len, batch, n, model.vocab,
        ttft=n * prefill.latency + head.latency if prefill is not None else nan, tpot=tpot,
        tokens_per_s=batch / tpot,
        energy_per_token=(n * decode.energy + head.energy) / batch if decode is not None else nan,
        prefill_energy=n * prefill.energy + head.energy if prefill is not None else nan,
        lm_head_latency=head.latency, lm_head_energy=head.energy)


def run_model(layer: Sequence[LayerRow], models: Mapping[str, Model], hardware: Hardware = Hardware(), *,
              backend: str = DEFAULT_BACKEND, executor: Executor | None = None, cache: Cache | None = None,
              stream: TextIO | None = None) -> tuple[list[ModelRow], list[str]]:
    """The whole model of every configuration x model x length x batch of ``layer`` (prefill and decode rows
    pair up; ``models`` maps each row's model name to its :class:`Model`): (rows, names of the models left
    out because their entry gives no ``layers`` or ``vocab``)."""
    points: dict[tuple[str, str, str, int], dict[str, LayerRow]] = {}
    left_out: list[str] = []
    for row in layer:
        model = models[row.model]
        if model.layers is None or model.vocab is None:
            if model.name not in left_out:
                left_out.append(model.name)
            continue
        points.setdefault((row.config, row.model, row.seq_len, row.batch), {})[row.phase] = row
    heads = lm_heads({(REGISTRY[config].platform, models[name], batch) for config, name, _, batch in points},
                     hardware, backend=backend, executor=executor, cache=cache, stream=stream)
    rows = [model_row(models[name], batch, heads[(REGISTRY[config].platform, name, batch)], phases.get(PREFILL),
                      phases.get(DECODE))
            for (config, name, _, batch), phases in points.items()]
    return rows, left_out


def lm_heads(wanted: set[tuple[str, Model, int]], hardware: Hardware = Hardware(), *, backend: str = DEFAULT_BACKEND,
             executor: Executor | None = None, cache: Cache | None = None,
             stream: TextIO | None = None) -> dict[tuple[str, str, int], ConfigResult]:
    """The LM head of each (platform, model, batch), keyed (platform, model name, batch); from ``cache``
    when it has them, else evaluated together (one job each) and stored there."""
    tasks = {}
    for platform, model, batch in sorted(wanted, key=lambda w: (w[0], w[1].name, w[2])):
        workload, on = head_workload(model, batch), platform_hardware(platform, hardware)
        tasks[(platform, model.name, batch)] = PlatformTask(
            result_key(CONFIG, workload, on, backend, config=CONFIG, platform=platform),
            partial(_render, platform, workload, on), f"{CONFIG} {platform} {model.name} batch {batch}", platform)
    return platform_results(tasks, backend, executor, cache, stream)

def _render(platform: str, workload: Workload, hardware: Hardware):
    from fusemax.render import render
    try:
        return render(CONFIG, workload, hardware)
    except FusemaxError as exc:
        raise FusemaxError(str(exc), source=f"LM head {platform} {workload.model.name}") from None


def format_model_summary(rows: Sequence[ModelRow], configs: Sequence[str] = ("binding", "flat", "unfused"),
                         lengths: Sequence[str] = ("1K", "4K", "32K")) -> str:
    """TTFT and TPOT per model x length at the smallest batch, one column per configuration, and FuseMax's
    (binding's) speedup over FLAT on each; lengths the rows lack are left out."""
    if not rows:
        return ""
    batch = min(r.batch for r in rows)
    table = {(r.config, r.model, r.seq_len): r for r in rows if r.batch == batch}
    shown = [c for c in configs if any(key[0] == c for key in table)]
    lines = [f"whole model, batch {batch}: TTFT / TPOT in ms (layers x layer + LM head); fl/bd: FLAT's over "
             "binding's (FuseMax's speedup)",
             f"{'model':<12}{'length':>7}" + "".join(f"{c + ' TTFT':>15}{c + ' TPOT':>15}" for c in shown)
             + f"{'TTFT fl/bd':>11}{'TPOT fl/bd':>11}"]
    for model in dict.fromkeys(r.model for r in rows):
        for length in lengths:
            cells = [table.get((c, model, length)) for c in shown]
            if not any(cells):
                continue
            text = "".join(f"{_ms(r.ttft if r else math.nan):>15}{_ms(r.tpot if r else math.nan):>15}" for r in cells)
            ours, base = table.get(("binding", model, length)), table.get(("flat", model, length))
            ratios = (f"{base.ttft / ours.ttft:>10.2f}x{base.tpot / ours.tpot:>10.2f}x" if ours and base
                      else f"{'-':>11}{'-':>11}")
            lines.append(f"{model:<12}{length:>7}{text}{ratios}")
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e3:.4g}"
