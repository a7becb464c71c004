"""The whole transformer layer for the study: each configuration's attention plus the rest of the layer on
its platform.

The rest (the registry's ``layer`` configuration: norms, Q/K/V/Z projections with the model's KV heads,
the MLP, the activation and the residual adds) runs on the configuration's platform
(:data:`fusemax.configs.PLATFORMS`: FuseMax's for cascade, arch and binding, FLAT's for flat and unfused),
once per platform and workload, and is added to every configuration on that platform: the layer's latency,
traffic, energy and FLOPs are attention's plus the rest's (one phase after the other). In decode the
rest works on one new token per sequence and streams every weight from DRAM.

The layer fusion policy (``fusion``, :data:`fusemax.configs.LAYER_FUSIONS`) is the same on every platform:
``fused`` (the default) fuses each element-wise Einsum into the matrix multiply that produces or consumes
its operand (the registry's ``layer-fused``: only the residual stream the adds read, and a norm's
statistics pass when its rows do not fit on chip, go to DRAM; the 1D work is pipelined with the 2D work);
``none`` runs them on their own, from and to DRAM, after one another. Attention is the same either way.

>>> rows, rests = run_layers(outcomes)             # doctest: +SKIP  (outcomes of sweep.run_points)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import TextIO

from fusemax.backends.names import DEFAULT_BACKEND
from fusemax.combine import ConfigResult
from fusemax.configs import PLATFORMS, REGISTRY, layer_config_name
from fusemax.errors import FusemaxError
from fusemax.orchestrator import Cache, Executor
from fusemax.orchestrator.keys import result_key
from fusemax.pipeline import PlatformTask, platform_results
from fusemax.workload import Hardware, Workload

#: The layer fusion policy of ``fusemax run --layer`` and the study unless told otherwise.
DEFAULT_LAYER_FUSION = "fused"


def layer_config(workload: Workload, fusion: str = DEFAULT_LAYER_FUSION) -> str:
    """The registry's layer for ``workload``'s model under ``fusion``: ``layer-gated`` for a gated (SwiGLU)
    MLP, else ``layer``, with ``-fused`` when fused."""
    return layer_config_name(workload.model.mlp == "gated", fusion)


@dataclass(frozen=True)
class LayerRow:
    """One configuration's whole layer at one workload point."""

    config: str
    model: str
    seq_len: str
    phase: str
    batch: int
    flops: float                      # algorithmic FLOPs (the same in every configuration)
    ops: float                        # the implementation's operations, as FLOPs
    traffic: float                    # DRAM bytes
    latency: float                    # s
    energy: float                     # pJ
    attention_latency_share: float
    attention_flops_share: float
    layer_fusion: str                 # the policy of the rest of the layer (LAYER_FUSIONS)
    mask: str = "none"                # attention's mask (none, causal, window:N)

    @property
    def intensity(self) -> float:
        """FLOP per DRAM byte of the whole layer."""
        return self.flops / self.traffic if self.traffic else float("nan")


def platform_hardware(platform: str, hardware: Hardware = Hardware()) -> Hardware:
    """``hardware`` on ``platform``: the platform's L3 and PE registers unless the user set them."""
    base = PLATFORMS[platform]
    return replace(hardware, l3_bytes=hardware.l3_bytes or base.l3_bytes,
                   pe_reg_depth=hardware.pe_reg_depth or base.pe_reg_depth)


def layer_row(attention: ConfigResult, rest: ConfigResult, batch: int, fusion: str) -> LayerRow:
    """Attention followed by the rest of the layer (under the ``fusion`` policy)."""
    attn_flops = sum(e.flops for e in attention.einsums)
    flops = attn_flops + sum(e.flops for e in rest.einsums)
    latency = attention.latency + rest.latency
    return LayerRow(attention.config, attention.model, attention.seq_len, attention.phase, batch, flops,
                    sum(e.ops for e in attention.einsums) + sum(e.ops for e in rest.einsums),
                    attention.traffic + rest.traffic, latency, attention.energy + rest.energy,
                    attention.latency / latency, attn_flops / flops if flops else float("nan"), fusion,
                    attention.params.get("mask", "none"))


def run_layers(points: list[tuple[str, Workload, ConfigResult]], hardware: Hardware = Hardware(), *,
               backend: str = DEFAULT_BACKEND, executor: Executor | None = None, cache: Cache | None = None,
               stream: TextIO | None = None, fusion: str = DEFAULT_LAYER_FUSION
               ) -> tuple[list[LayerRow], list[ConfigResult]]:
    """The whole layer of every ``(config, workload, attention result)`` under the ``fusion`` policy: (one
    row per point, the rest of the layer per platform and workload, with ``config`` set to the platform's
    name)."""
    tasks: dict[tuple[str, Workload], PlatformTask] = {}
    for config, workload, _ in points:
        at = (REGISTRY[config].platform, workload)
        if at not in tasks:
            tasks[at] = PlatformTask(_rest_key(*at, hardware, backend, fusion),
                                     partial(_render, *at, hardware, fusion), f"layer {at[0]} {at[1].label}", at[0])
    combined = platform_results(tasks, backend, executor, cache, stream)
    rows = [layer_row(attn, combined[(REGISTRY[config].platform, workload)], workload.batch, fusion)
            for config, workload, attn in points]
    return rows, list(combined.values())


def _rest_key(platform: str, workload: Workload, hardware: Hardware, backend: str, fusion: str) -> str:
    """Cache key of the rest of ``workload``'s layer on ``platform`` (see :func:`.sweep.point_key`)."""
    return result_key("layer-rest", workload, platform_hardware(platform, hardware), backend,
                      config=layer_config(workload, fusion), platform=platform)


def _render(platform: str, workload: Workload, hardware: Hardware, fusion: str):
    from fusemax.render import render
    try:
        return render(layer_config(workload, fusion), workload, platform_hardware(platform, hardware))
    except FusemaxError as exc:
        raise FusemaxError(str(exc), source=f"layer {platform} {workload.label}") from None

