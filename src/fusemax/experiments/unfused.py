"""Mapper-searched statistics for Einsums rendered without a mapping (unfused QK/AV, end-to-end matmuls).

The artifact runs ``timeloop-mapper`` on each such Einsum; we run :mod:`fusemax.mapper` on the same
constraints and mapper settings (``optimization_metrics: [edp]``, energies from the architecture's
estimated ERT) and use its best mapping's statistics.
"""
from __future__ import annotations

from typing import Any

from fusemax.mapper import mapping_to_yaml
from fusemax.mapper.files import search_texts
from fusemax.stats import Stats

from .energy import kept_from_mapping


def mapped_einsum(einsum: Any, source: str) -> tuple[Stats, dict[str, list[str]]]:
    """(statistics of the best mapping, level -> tensors it keeps) of a rendered Einsum without a mapping."""
    result = search_texts(einsum.files(), source=source)
    kept = kept_from_mapping(mapping_to_yaml(result.mapping, result.spec.architecture), source)
    return result.stats, kept
