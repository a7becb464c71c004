"""What a mapping keeps where: the tensors of its explicit ``keep`` directives per level, which the artifact
prices energy on. Read in the worker that evaluates a job (:func:`fusemax.orchestrator.jobs.evaluate_job`),
so the combination receives them with the statistics instead of parsing every mapping again."""
from __future__ import annotations

from fusemax import yamlio
from fusemax.engine.spec import SPEC_KEYS
from fusemax.memo import BoundedMemo


def kept_from_mapping(mapping_yaml: str | None, source: str = "<mapping>") -> dict[str, list[str]]:
    """Level -> tensors of the mapping's explicit ``keep`` directives (what the artifact prices)."""
    if not mapping_yaml:
        return {}
    found = _KEPT.get(mapping_yaml)
    if found is None:
        found = _KEPT.keep(mapping_yaml, _parse_kept(mapping_yaml, source))
    return {level: list(tensors) for level, tensors in found}


# Every job's worker asks, and many jobs share a mapping text: answers are kept by text (``source`` only
# labels a parse error, and errors are not kept), as tuples, so a caller changing its dict cannot change
# another's.
_KEPT: BoundedMemo[str, tuple[tuple[str, tuple[str, ...]], ...]] = BoundedMemo(8192)


def _parse_kept(mapping_yaml: str, source: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    # Read with the spec's keys: the worker has just loaded this text so to evaluate it, and the same keys
    # find that parse in yamlio's memo instead of parsing the text again (read only, so not copied).
    data = yamlio.loads_shared(mapping_yaml, source=source, keys=SPEC_KEYS) or {}
    kept: dict[str, tuple[str, ...]] = {}
    for entry in data.get("mapping", []):
        if entry.get("type") in ("dataspace", "datatype"):
            kept[entry["target"]] = tuple(entry.get("keep", []))
    return tuple(kept.items())
