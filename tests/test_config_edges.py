"""Configurations travel as records (issue 26): a name is looked up in the registry once, at the edges, and
everything below them takes the :class:`~fusemax.configs.Configuration` record.

The edges, the only code that may call ``get_config``: the registry itself, the CLI (its flags are names),
the public ``render`` (which takes a name for users' convenience) and the sweep's resolve stage (a point
names its configuration). A call anywhere else, or an import of ``get_config`` there (an alias would hide
the call), is listed by :func:`lookups_below_the_edges`.
"""
from __future__ import annotations

import ast
import pickle
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import fusemax
from fusemax.configs import REGISTRY, resolve_hardware
from fusemax.render import render
from fusemax.workload import Hardware, Workload, get_model

PACKAGE = Path(fusemax.__file__).resolve().parent

#: module (relative to the package) or package folder -> the functions in it that may look a name up
#: (None: all of it)
EDGES: dict[str, frozenset[str] | None] = {
    "configs.py": None,
    "cli/": None,
    "render/__init__.py": frozenset({"render"}),
    "experiments/sweep.py": frozenset({"resolve"}),
}


def _allowed(module: str) -> frozenset[str] | None | bool:
    """The functions of ``module`` allowed to call ``get_config`` (None: all), or False for none."""
    for edge, functions in EDGES.items():
        if module == edge or (edge.endswith("/") and module.startswith(edge)):
            return functions
    return False


class _Lookups(ast.NodeVisitor):
    """Every ``get_config`` call or import of one module, with the top-level function it is in."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str | None, str]] = []
        self.function: str | None = None

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer = self.function
        self.function = outer or node.name
        self.generic_visit(node)
        self.function = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if any(alias.name == "get_config" for alias in node.names):
            self.found.append((node.lineno, self.function, "imports get_config"))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name == "get_config":
            self.found.append((node.lineno, self.function, "calls get_config"))
        self.generic_visit(node)


def lookups_below_the_edges(package: Path) -> list[str]:
    """``module:line: function calls/imports get_config`` for every lookup outside :data:`EDGES`."""
    out = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).as_posix()
        allowed = _allowed(module)
        if allowed is None:
            continue
        visitor = _Lookups()
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        for line, function, what in visitor.found:
            # an edge module imports it for its edge functions; only their calls are allowed
            if allowed is False or (what == "calls get_config" and function not in allowed):
                out.append(f"{module}:{line}: {function or '<module>'} {what}")
    return out


def test_no_lookup_below_the_edges():
    assert lookups_below_the_edges(PACKAGE) == []


@pytest.mark.parametrize("module, planted", [
    # a lookup in the combination, which takes the record
    ("combine/schedule.py", '\n\ndef planted():\n    from fusemax.configs import get_config\n    return get_config("flat")\n'),
    # through the module, no import of the name
    ("select/flat.py", '\n\ndef planted():\n    from fusemax import configs\n    return configs.get_config("flat")\n'),
    # an edge module, outside its edge function
    ("experiments/sweep.py", '\n\ndef planted():\n    return get_config("flat")\n'),
])
def test_a_planted_lookup_is_caught(tmp_path, module, planted):
    copy = tmp_path / "fusemax"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / module, "a") as f:
        f.write(planted)
    found = lookups_below_the_edges(copy)
    assert found and all(line.startswith(f"{module}:") and " planted " in line for line in found)


def test_rendering_carries_the_record():
    rendered = render("binding", Workload(get_model("BERT"), 1024))
    assert rendered.config is REGISTRY["binding"] and rendered.hardware.config is REGISTRY["binding"]
    assert rendered.params["config"] == "binding"  # a name where a name is written
    assert render(REGISTRY["binding"], Workload(get_model("BERT"), 1024)).params == rendered.params


def test_hardware_resolved_for_another_record_is_refused():
    from fusemax.errors import WorkloadError
    with pytest.raises(WorkloadError, match="hardware resolved for flat, not binding"):
        render(REGISTRY["binding"], Workload(get_model("BERT"), 1024), resolve_hardware(REGISTRY["flat"]))


def test_records_cross_processes_by_name():
    # the select stage sends FLAT's record to worker processes (and Dask): its register rules are lambdas,
    # so it travels by name and arrives as the registry's own record
    flat = REGISTRY["flat"]
    assert pickle.loads(pickle.dumps(flat)) is flat
    hw = resolve_hardware(flat, Hardware(l3_bytes=8 * 2**20))
    back = pickle.loads(pickle.dumps(hw))
    assert back == hw and back.config is flat and back.l3_bytes == 8 * 2**20
    assert hash(back) == hash(hw)  # still hashable, as it was when it carried a name


def test_a_modified_record_does_not_pickle_as_the_registrys():
    modified = replace(REGISTRY["flat"], l3_bytes=2**20)
    with pytest.raises(TypeError, match="not the registry's record"):
        pickle.dumps(modified)
