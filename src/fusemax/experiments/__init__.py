"""The attention experiments: evaluate every Einsum of a configuration and combine them like the FuseMax
artifact (DRAM traffic, the per-configuration latency waterfall, utilization, energy, roofline view).

Modules: :mod:`.configs` (what each configuration is), :mod:`.metrics` (one Einsum's numbers),
:mod:`.combine` (one configuration's row), :mod:`.flat` (FLAT's dataflow choice), :mod:`.sweep` (render ->
engine -> combine over many points), :mod:`.roofline` (FLOPs and bytes per Einsum and phase).
"""
from .combine import ConfigResult, combine
from .configs import CONFIGS
from .metrics import EinsumMetrics

__all__ = ["CONFIGS", "ConfigResult", "EinsumMetrics", "combine"]
