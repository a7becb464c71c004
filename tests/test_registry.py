"""One source of truth: defaults spelled out give the numbers of defaults left implicit, the registry is
what render and the experiments use, and the package's imports have no circle."""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import fusemax
from fusemax.cli import main
from fusemax.configs import ATTENTION_CONFIGS, CONFIGS, REGISTRY, resolve_hardware
from fusemax.experiments.sweep import Point, evaluate_point
from fusemax.render import render
from fusemax.workload import Hardware, Workload, get_model


def spelled_out(config: str) -> Hardware:
    """The default hardware of ``config`` with every default written explicitly."""
    hw = resolve_hardware(REGISTRY[config])
    return Hardware(pe_dim=hw.pe_dim, pe_1d=hw.pe_1d, l3_bytes=hw.l3_bytes, dram_bandwidth=400 * 2**30,
                    clock_hz=940e6, word_bytes=2, pe_reg_depth=hw.pe_reg_depth,
                    row_buffer_depth=hw.row_buffer_depth, pe_1d_reg_depth=hw.pe_1d_reg_depth)


@pytest.mark.parametrize("config", ATTENTION_CONFIGS)
def test_defaults_spelled_out_give_identical_rows(config):
    implicit = evaluate_point(Point(config, "BERT", 1024))
    explicit = evaluate_point(Point(config, "BERT", 1024), spelled_out(config))
    assert implicit.error is None and explicit.error is None
    assert explicit.result.csv_row() == implicit.result.csv_row()
    assert [dataclasses.asdict(e) for e in explicit.result.einsums] == \
        [dataclasses.asdict(e) for e in implicit.result.einsums]


def test_end2end_specs_and_pricing_do_not_depend_on_spelling_the_defaults():
    workload = Workload(get_model("BERT"), 1024)
    implicit, explicit = render("end2end", workload), render("end2end", workload, spelled_out("end2end"))
    assert {n: e.files() for n, e in implicit.einsums.items()} == {n: e.files() for n, e in explicit.einsums.items()}
    assert implicit.hardware == explicit.hardware


def test_cascade_l3_default_spelled_on_the_command_line_changes_nothing(tmp_path):
    """The reproduced bug: --l3-bytes 16MiB (cascade's documented default) changed BERT 1K's energy by 8.8 %."""
    args = ["run", "--configs", "cascade", "--models", "BERT", "--seq-lens", "1K", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "implicit")]) == 0
    assert main(args + ["--out", str(tmp_path / "explicit"), "--l3-bytes", "16MiB"]) == 0
    read = lambda which: (tmp_path / which / "results" / "attn-cascade.csv").read_bytes()
    assert read("explicit") == read("implicit")


def test_priced_sizes_scale_with_the_real_ones():
    # The published pricing at the defaults (energy design sizes), scaled when the user changes a buffer.
    cascade = resolve_hardware(REGISTRY["cascade"])
    assert (cascade.l3_bytes, cascade.energy_l3_bytes) == (16 * 2**20, 32 * 2**20)
    assert resolve_hardware(REGISTRY["cascade"], Hardware(l3_bytes=8 * 2**20)).energy_l3_bytes == 16 * 2**20
    binding = resolve_hardware(REGISTRY["binding"])
    assert (binding.pe_reg_depth, binding.energy_reg_2d) == (16, 12)
    assert resolve_hardware(REGISTRY["binding"], Hardware(pe_reg_depth=32)).energy_reg_2d == 24
    assert resolve_hardware(REGISTRY["flat"], Hardware(l3_bytes=64 * 2**20)).energy_l3_bytes == 64 * 2**20


@pytest.mark.parametrize("config", CONFIGS)
def test_render_follows_the_registry(config):
    conf = REGISTRY[config]
    rendered = render(config, Workload(get_model("BERT"), 4096))
    assert list(rendered.einsums) == list(conf.names)
    for e in conf.einsums:
        got = rendered.einsums[e.name]
        assert (got.array, got.compute_cost, got.needs_mapper) == (e.array, dict(e.cost), e.mapping is None)


def _module_imports() -> dict[str, set[str]]:
    """fusemax module -> the fusemax modules it imports (at any depth of its code, so function-local
    imports count too)."""
    root = Path(fusemax.__file__).resolve().parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = ("fusemax",) + path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    stem = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(stem + ([node.module] if node.module else []))
                submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                deps.update(submodules if submodules else [base])
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_circle():
    graph = _module_imports()
    assert len(graph) > 50 and "fusemax.configs" in graph["fusemax.render.plan"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_reports_import_no_driver():
    graph = _module_imports()
    drivers = {"fusemax.experiments.sweep", "fusemax.orchestrator.rendered", "fusemax.pipeline", "fusemax.orchestrator",
               "fusemax.backends", "fusemax.engine"}
    for module, deps in graph.items():
        if module.startswith("fusemax.reports"):
            assert not any(d.startswith(tuple(drivers)) for d in deps), (module, deps)


@pytest.mark.parametrize("config", ATTENTION_CONFIGS)
def test_a_single_pe_runs_every_configuration(config):
    """--pe-dim 1: one 2D PE and one 1D PE. The cascade's RM step keeps three operands (LM, RM0, RM) in a
    1D PE's registers, so FLAT's hardware needs at least 3 words there even when a key block is one word."""
    from fusemax.engine import evaluate, spec_from_texts
    hw = Hardware(pe_dim=1)
    outcome = evaluate_point(Point(config, "BERT", 1024), hw)
    assert outcome.error is None, outcome.error
    if config == "cascade":
        rm = render(config, Workload(get_model("BERT"), 1024), hw).einsums["RM"]
        stats = evaluate(spec_from_texts(rm.files(), source="RM"))
        # the running maximum compares every score once (B x H x P x M), on one PE one per cycle
        assert stats.valid and stats.computes == stats.cycles == 64 * 12 * 1024 * 1024
