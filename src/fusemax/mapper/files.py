"""Run the mapper on YAML texts or files (architecture, problem, constraints, mapper settings), like
``timeloop-mapper`` takes them: documents are merged; ``constraints: targets:`` lists are concatenated."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fusemax import yamlio
from fusemax.energy.tables import ERT
from fusemax.engine.spec import spec_from_documents
from fusemax.errors import SpecError
from fusemax.memo import BoundedMemo

from .constraints import constraints_from_dict
from .search import DEFAULT_MAX_CANDIDATES, MapperResult, search

#: The top-level keys the mapper reads (the spec's, minus any mapping, plus its constraints and settings).
MAPPER_KEYS = ("architecture", "problem", "constraints", "mapper")


def _estimated_ert(arch_text: str, source: str) -> ERT:
    """The builtin estimator's ERT of the architecture ``arch_text``, once per text in a process (every search
    of a sweep's configuration has the same architecture); ``source`` only labels an error, never kept."""
    ert = _ERTS.get(arch_text)
    if ert is None:
        from fusemax.energy import reference_tables
        ert = _ERTS.keep(arch_text, reference_tables(yamlio.loads(arch_text, source=source))[0])
    return ert


_ERTS: BoundedMemo[str, ERT] = BoundedMemo(32)


def search_texts(texts: dict[str, str], source: str = "<spec>", *, metric: Any = None, ert: ERT | None = None,
                 max_candidates: int = DEFAULT_MAX_CANDIDATES, time_budget: float | None = None) -> MapperResult:
    """Search the spec given as ``name -> YAML text`` (e.g. ``RenderedEinsum.files()``).

    Any ``mapping:`` in the texts is ignored. Without ``ert`` the energies come from the builtin Accelergy
    estimator applied to the architecture (as timeloop-mapper runs Accelergy on it).
    """
    docs = {name: yamlio.loads(text, source=f"{source}/{name}", keys=MAPPER_KEYS) for name, text in texts.items()}
    targets: list[Any] = []
    mapper: dict[str, Any] = {}
    arch_text = None
    for name, doc in docs.items():
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise SpecError("expected a YAML mapping at the top level", source=f"{source}/{name}")
        section = doc.get("constraints")
        if isinstance(section, dict):
            targets += section.get("targets") or []
        elif isinstance(section, list):
            targets += section
        if isinstance(doc.get("mapper"), dict):
            mapper.update(doc["mapper"])
        if "architecture" in doc:
            arch_text = texts[name]
    spec = spec_from_documents([({k: v for k, v in doc.items() if k not in ("mapping", "constraints", "mapper")},
                                 f"{source}/{name}") for name, doc in docs.items() if isinstance(doc, dict)]
                               + [({"mapping": []}, f"{source}/<mapper: no mapping>")], source=source)
    constraints = constraints_from_dict({"constraints": {"targets": targets}, "mapper": mapper or None},
                                        spec.problem, source=source)
    if ert is None and arch_text is not None:
        ert = _estimated_ert(arch_text, source)
    return search(spec, constraints, metric, ert, max_candidates=max_candidates, time_budget=time_budget)


def search_files(*paths: str | Path, metric: Any = None, ert: ERT | None = None,
                 max_candidates: int = DEFAULT_MAX_CANDIDATES, time_budget: float | None = None) -> MapperResult:
    """:func:`search_texts` on files; errors name the file."""
    texts = {str(p): yamlio.read_text(p) for p in paths}
    return search_texts(texts, source=", ".join(str(p) for p in paths), metric=metric, ert=ert,
                        max_candidates=max_candidates, time_budget=time_budget)
