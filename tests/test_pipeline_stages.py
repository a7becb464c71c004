"""The pipeline's stages (fusemax.pipeline.STAGES) exist and data flows one way: no stage's module imports a
later stage's, except FLAT's search (select), which evaluates its candidates through render, evaluate and
combine. Imports are read from the source (function-local ones too), as tests/test_registry.py reads them."""
from __future__ import annotations

import importlib

import pytest

from fusemax.pipeline import STAGES

from .test_registry import _module_imports

#: select runs render -> evaluate -> combine on FLAT's candidates (see fusemax.pipeline).
SEARCHES = {"select": {"render", "evaluate", "combine"}}


def _stage_of(module: str) -> str | None:
    for stage in STAGES:
        if any(module == m or module.startswith(m + ".") for m in stage.modules):
            return stage.name
    return None


def backward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(module, the later stage's module it imports) for every import against the data flow."""
    order = {stage.name: i for i, stage in enumerate(STAGES)}
    found = []
    for module, deps in sorted(graph.items()):
        here = _stage_of(module)
        if here is None:
            continue
        for dep in sorted(deps):
            there = _stage_of(dep)
            if there is not None and order[there] > order[here] and there not in SEARCHES.get(here, set()):
                found.append((module, dep))
    return found


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_every_stage_module_exists(stage):
    for module in stage.modules:
        importlib.import_module(module)


def test_no_stage_imports_a_later_one():
    assert backward_imports(_module_imports()) == []


def test_an_import_against_the_data_flow_is_found():
    graph = _module_imports()
    graph["fusemax.render.plan"] = graph["fusemax.render.plan"] | {"fusemax.combine.schedule"}
    assert backward_imports(graph) == [("fusemax.render.plan", "fusemax.combine.schedule")]
