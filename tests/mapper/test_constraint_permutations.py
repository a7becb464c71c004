"""Mapper constraints mean the same to real ``timeloop-mapper`` as to the builtin mapper (issue 25).

Timeloop reads a permutation as the order of the ranks it lists and puts a rank left out of a spatial
permutation on the Y axis, whatever its factor: the unfused GQA/MQA constraints once gave the group rank G a
column factor without listing it, and real Timeloop found no mapping at all (10000 fan-out failures). So
every rank with a factor must be in its constraint's permutation, on the axis whose fan-out it is meant to
use (the first ``split`` ranks on X, the rest on Y; the container's ``spatial: meshX/meshY`` in the rendered
architecture says which axis fans out).
"""
from __future__ import annotations

import itertools

import pytest

from fusemax import yamlio
from fusemax.configs import CONFIGS
from fusemax.errors import SpecError, WorkloadError
from fusemax.mapper.files import search_texts
from fusemax.render import render
from fusemax.workload import Workload, get_model

#: Multi-head, grouped-query with 8 KV heads (G = 4) and multi-query (G = 71) attention.
MODELS = ("BERT", "Llama-3-8B", "Falcon-7B")
LENGTHS = (1, 16, 300, 4096)
PHASES = ("prefill", "decode")


def _ranks(factors) -> dict[str, int]:
    return {str(f).split("=")[0].strip(): int(str(f).split("=")[1]) for f in factors}


def _fanout(arch: dict, container: str) -> dict[str, int]:
    """Axis -> fan-out of the container called ``container`` in a rendered v0.4 architecture."""
    def walk(nodes):
        for node in nodes:
            if node.get("name") == container:
                return node.get("spatial") or {}
            found = walk(node.get("nodes") or [])
            if found is not None:
                return found
        return None
    spatial = walk(arch["architecture"]["nodes"]) or {}
    return {"X": int(spatial.get("meshX", 1)), "Y": int(spatial.get("meshY", 1))}


def misread_constraints(constraints_yaml: str, arch_yaml: str) -> list[str]:
    """What real Timeloop would read differently from what the constraints mean, one line per problem."""
    arch = yamlio.loads(arch_yaml)
    problems = []
    for item in yamlio.loads(constraints_yaml)["constraints"]["targets"]:
        if item.get("type") not in ("temporal", "spatial") or not item.get("factors"):
            continue
        where = f"{item['target']} {item['type']}"
        factors = _ranks(item["factors"])
        permutation = [str(r) for r in item.get("permutation") or []]
        missing = sorted(set(factors) - set(permutation))
        if missing:
            problems.append(f"{where}: {missing} have factors but are not in the permutation {permutation}")
        if item["type"] == "spatial":
            fanout = _fanout(arch, item["target"])
            split = int(item.get("split", len(permutation)))
            for rank, factor in factors.items():
                axis = "X" if rank in permutation and permutation.index(rank) < split else "Y"
                if factor > 1 and fanout[axis] < factor:
                    problems.append(f"{where}: {rank}={factor} lands on {axis}, which fans out {fanout[axis]}")
    return problems


def _rendered_constraint_sets():
    for config, model, length, phase in itertools.product(CONFIGS, MODELS, LENGTHS, PHASES):
        try:
            rendered = render(config, Workload(get_model(model), length, phase=phase))
        except WorkloadError:
            continue  # a shape this configuration cannot tile: nothing rendered, nothing to map
        for einsum in rendered.einsums.values():
            if einsum.constraints_yaml is not None:
                yield f"{config} {model} {length} {phase} {einsum.name}", einsum


def test_every_rendered_constraint_set_means_the_same_to_timeloop():
    checked, problems, gqa = 0, [], 0
    for label, einsum in _rendered_constraint_sets():
        checked += 1
        gqa += "G" in yamlio.loads(einsum.problem_yaml)["problem"]["instance"]
        problems += [f"{label}: {p}" for p in misread_constraints(einsum.constraints_yaml, einsum.arch_yaml)]
    assert checked and gqa, "no constraint sets (or none with a group rank) were rendered"
    assert not problems, "\n".join(problems[:20])


def test_the_check_catches_the_constraints_real_timeloop_could_not_map():
    # Issue 25's unfused GQA constraint: G has a column factor but is left out of [E, M, P, H, B].
    arch = "architecture:\n  nodes:\n  - {name: PE_col, spatial: {meshX: 256}}\n  - {name: PE, spatial: {meshY: 256}}\n"
    bad = ("constraints:\n  targets:\n  - {target: PE_col, type: spatial, factors: [B=1, E=1, G=4, H=8, M=1, P=4], "
           "split: 5, permutation: [E, M, P, H, B]}\n")
    good = bad.replace("split: 5, permutation: [E, M, P, H, B]", "split: 6, permutation: [E, M, P, H, B, G]")
    assert misread_constraints(bad, arch) == [
        "PE_col spatial: ['G'] have factors but are not in the permutation ['E', 'M', 'P', 'H', 'B']",
        "PE_col spatial: G=4 lands on Y, which fans out 1"]
    assert misread_constraints(good, arch) == []


def test_the_builtin_mapper_refuses_a_spatial_factor_missing_from_its_permutation():
    files = render("unfused", Workload(get_model("Llama-3-8B"), 16, phase="decode")).einsums["QK"].files()
    data = yamlio.loads(files["constraints.yaml"])
    pe_col = next(t for t in data["constraints"]["targets"] if t["target"] == "PE_col" and t["type"] == "spatial")
    assert pe_col["permutation"] == ["E", "M", "P", "H", "B", "G"] and pe_col["split"] == 6
    pe_col["permutation"], pe_col["split"] = ["E", "M", "P", "H", "B"], 5  # the constraint before issue 25
    files["constraints.yaml"] = yamlio.dumps(data)
    with pytest.raises(SpecError, match=r"rank G has a factor but is not in the permutation \[E, M, P, H, B\]") as err:
        search_texts(files, source="unfused QK")
    assert err.value.key == "constraints.targets[5] (PE_col spatial).permutation"
