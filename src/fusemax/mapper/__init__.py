"""The builtin mapper: the best mapping within Timeloop v0.4 mapper constraints.

>>> from fusemax.engine import spec_from_dict
>>> from fusemax.mapper import constraints_from_dict, search
>>> result = search(spec, constraints_from_dict(data, spec.problem), metric="edp", ert=ert)  # doctest: +SKIP
>>> result.mapping, result.stats.cycles, result.candidates_evaluated, result.exhaustive  # doctest: +SKIP

:mod:`.constraints` reads the constraints and ``optimization_metrics``; :mod:`.space` enumerates the
mapspace (perfect factorizations, keep sets, loop orders) with exact pruning; :mod:`.search` evaluates
candidates with :func:`fusemax.engine.evaluate` and keeps the best; :mod:`.output` writes the mapping as
v0.4 YAML, as ``timeloop-mapper`` does.
"""
from .constraints import METRICS, Constraints, TargetConstraint, constraints_from_dict, metrics_from, parse_metrics
from .output import mapping_to_yaml
from .search import MapperResult, search

__all__ = [
           "METRICS",
           "Constraints",
           "MapperResult",
           "TargetConstraint",
           "constraints_from_dict",
           "mapping_to_yaml",
           "metrics_from",
           "parse_metrics",
           "search",
]
