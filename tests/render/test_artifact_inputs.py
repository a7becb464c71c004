"""Every artifact input file equals our rendering at the artifact's placeholder sizes (after YAML load).

The artifact's files are templates themselves: instance sizes and some factors are placeholders that its
code rewrites per model and length. The placeholders describe one workload: B = 64, H = 16,
E = F = 256, M = P = 4096 (so M1 = 4096 / 256 = 16 key blocks), and for the matrix multiply
K = N = 4096 = E x H = D with M = B x P = 262144. FuseMax's rule gives P1 = 16 for it (binding: the
largest divisor of 4096/256 = 16 below (16 MiB - 256*256*2*2) // (1028 * 256) = 62; cascade: below
(16 MiB - 262144) // (2052 * 256) = 31), which is the placeholder L3 factor. FLAT's placeholder mappings
are its weight-stationary dataflow fusing whole heads with QK, A and AV on chip; the softmax placeholders
are the variant with QK and A in DRAM, which is what the unfused baseline renders.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from fusemax import yamlio
from fusemax.configs import REGISTRY
from fusemax.render import render, render_template
from fusemax.render.plan import plan
from fusemax.render.flat_dataflow import FlatDataflow
from fusemax.workload import Hardware, Model, Workload

PLACEHOLDER = Workload(Model("placeholder", D=4096, H=16, E=256, F=256, S=4096), seq_len=4096, batch=64)
PLACEHOLDER_FLAT = FlatDataflow(onchip=frozenset({"QK", "A", "AV"}), qk_stationarity="weight",
                                av_stationarity="weight", fusion="head", p1=4096)
CASCADE = ("qk", "lm", "rm", "sln", "sld", "slnv", "prm", "spd", "spnv", "rd", "rnv", "av")
SOFTMAX = ("m", "sn", "sd", "a")


def _flat_av_mapping() -> str:
    # The artifact's placeholder lists AV's L3 loops as [P, M, F, H, B]; its weight-stationary rewrite
    # (and our render) writes [P, F, M, H, B]. F's L3 factor is 1 there, so both orders are the same
    # loop nest; the test renders the template with the placeholder's order to compare the rest exactly.
    item = next(e for e in plan(REGISTRY["flat"], PLACEHOLDER, Hardware(), PLACEHOLDER_FLAT).einsums if e.name == "AV")
    assert item.context["l3"]["F"] == 1
    return render_template(item.mapping_template, **{**item.context, "l3_perm": list("PMFHB")})


def _renderers() -> dict[str, callable]:
    binding = lambda: render("binding", PLACEHOLDER)  # noqa: E731
    cascade = lambda: render("cascade", PLACEHOLDER)  # noqa: E731
    flat = lambda: render("flat", PLACEHOLDER, flat_dataflow=PLACEHOLDER_FLAT)  # noqa: E731
    unfused = lambda: render("unfused", PLACEHOLDER)  # noqa: E731
    end2end = lambda: render("end2end", PLACEHOLDER)  # noqa: E731
    cases = {
        "proposal/arch-2d.yaml": lambda: binding().einsums["QK"].arch_yaml,
        "proposal/arch-1d.yaml": lambda: binding().einsums["AV"].arch_yaml,
        "proposal/flat_arch-2d.yaml": lambda: cascade().einsums["QK"].arch_yaml,
        "proposal/flat_arch-1d.yaml": lambda: cascade().einsums["AV"].arch_yaml,
        "proposal/spd.yaml": lambda: binding().einsums["SPD"].problem_yaml,
        "baselines/arch-2d.yaml": lambda: flat().einsums["QK"].arch_yaml,
        "baselines/arch-1d.yaml": lambda: flat().einsums["M"].arch_yaml,
        "baselines/mapper.yaml": lambda: unfused().einsums["QK"].mapper_yaml,
        "baselines/problems/mm.yaml": lambda: end2end().einsums["Q"].problem_yaml,
        "baselines/unfused-constraints/mm.yaml": lambda: end2end().einsums["Q"].constraints_yaml,
        "baselines/flat-mappings/qk.yaml": lambda: flat().einsums["QK"].mapping_yaml,
        "baselines/flat-mappings/av.yaml": _flat_av_mapping,
    }
    for name in CASCADE:
        cases[f"proposal/problems/{name}.yaml"] = lambda n=name: binding().einsums[n.upper()].problem_yaml
        cases[f"proposal/mappings/{name}.yaml"] = lambda n=name: binding().einsums[n.upper()].mapping_yaml
        cases[f"proposal/flat_pe_mappings/{name}.yaml"] = lambda n=name: cascade().einsums[n.upper()].mapping_yaml
    for name in ("qk", "av", *SOFTMAX):
        cases[f"baselines/problems/{name}.yaml"] = lambda n=name: flat().einsums[n.upper()].problem_yaml
    for name in SOFTMAX:
        cases[f"baselines/softmax-mappings/{name}.yaml"] = lambda n=name: unfused().einsums[n.upper()].mapping_yaml
    for name in ("qk", "av"):
        cases[f"baselines/unfused-constraints/{name}.yaml"] = (
            lambda n=name: unfused().einsums[n.upper()].constraints_yaml)
    return cases


RENDERERS = _renderers()


@pytest.mark.parametrize("relpath", sorted(RENDERERS))
def test_rendering_equals_artifact_file(relpath: str, artifact_inputs: Path):
    expected = yamlio.load(artifact_inputs / relpath)
    got = yamlio.loads(RENDERERS[relpath](), source=f"rendered {relpath}")
    assert got == expected
    # Timeloop node tags (!Container, !Component, !Parallel) must survive too, not just the content.
    if "architecture" in expected:
        assert [n.tag for n in got["architecture"]["nodes"]] == [n.tag for n in expected["architecture"]["nodes"]]


def test_every_artifact_input_has_a_case(artifact_inputs: Path):
    files = {str(p.relative_to(artifact_inputs)) for group in ("proposal", "baselines")
             for p in (artifact_inputs / group).rglob("*.yaml")}
    assert files == set(RENDERERS)
