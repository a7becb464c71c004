"""The combine stage: per-Einsum statistics -> one row per configuration, like the FuseMax artifact's
post-processing (DRAM traffic, the latency schedule, utilization, energy, the roofline view).

Pure functions from statistics to rows. What each configuration is lives in the registry,
:mod:`fusemax.configs`; these functions take its record (:class:`~fusemax.configs.Configuration`, which the
rendering carries here, :attr:`fusemax.render.RenderedConfig.config`), never a name to look up again.

Modules: :mod:`.roles` (how an Einsum's counts become traffic), :mod:`.metrics` (one
Einsum's numbers), :mod:`.flat` (FLAT's softmax spill), :mod:`.energy` (pricing on the ERTs),
:mod:`.schedule` (one configuration's row: the latency schedules, masked rectangles merged),
:mod:`.point` (a rendered configuration's statistics -> its row), :mod:`.roofline` (FLOPs and bytes per
Einsum and phase).
"""
from .metrics import EinsumMetrics
from .schedule import ConfigResult, combine

__all__ = ["ConfigResult", "EinsumMetrics", "combine"]
