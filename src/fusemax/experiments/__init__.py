"""The attention experiments: evaluate every Einsum of a configuration and combine them like the FuseMax
artifact (DRAM traffic, the per-configuration latency waterfall, utilization, energy, roofline view).

What each configuration is lives in the registry, :mod:`fusemax.configs`. Modules: :mod:`.roles` (how an
Einsum's counts become traffic), :mod:`.metrics` (one Einsum's numbers), :mod:`.combine` (one
configuration's row), :mod:`.flat` (FLAT's softmax spill), :mod:`.evaluate` (rendered configurations ->
orchestrator jobs -> rows), :mod:`.sweep` (many points), :mod:`.flat_search` (FLAT's own dataflow choice),
:mod:`.end2end` and :mod:`.pareto` (Figs. 10-12), :mod:`.headline`, :mod:`.roofline` (FLOPs and bytes per
Einsum and phase).
"""
from .combine import ConfigResult, combine
from .metrics import EinsumMetrics

__all__ = ["ConfigResult", "EinsumMetrics", "combine"]
