"""fusemax's own energy descriptions (arch/energy) against the artifact's accel_* descriptions and runs."""
from __future__ import annotations

from dataclasses import replace

import pytest

from fusemax import yamlio
from fusemax.configs import REGISTRY, resolve_hardware
from fusemax.energy.designs import design_erts, energy_arch, render_energy_arch
from fusemax.energy.estimator import estimate_ert, flatten_architecture
from fusemax.energy.tables import load_ert
from fusemax.errors import SpecError
from fusemax.workload import Hardware

from .conftest import rel_err

MiB = 2**20
#: A configuration priced on each design, at the paper's hardware (its priced sizes are the design's own).
PRICED_ON = {"fusemax": resolve_hardware(REGISTRY["binding"]), "flat": resolve_hardware(REGISTRY["flat"])}


@pytest.mark.parametrize("design", ["fusemax", "flat"])
@pytest.mark.parametrize("array", ["2d", "1d"])
def test_paper_hardware_equals_the_artifacts_accel_descriptions(area_energy, design, array):
    # The artifact regenerates its ERTs from accel_<design>/accel-top-<array>-path.yaml on every run, with an
    # Accelergy that ignores the smartbuffer shares; ours must describe the same hardware. The only
    # difference allowed is the exponential unit's name (the artifact misspells it).
    theirs = estimate_ert(area_energy / "architecture" / f"accel_{design}" / f"accel-top-{array}-path.yaml",
                          apply_shares=False)
    ours = design_erts(PRICED_ON[design])[array]
    renamed = {("exponential" if c == "exponentiatial" else c): a for c, a in theirs.actions.items()}
    assert set(ours.actions) == set(renamed)
    names = {n.replace("exponentiatial", "exponential") for n in theirs.full_names.values()}
    assert set(ours.full_names.values()) == names
    for comp, actions in renamed.items():
        assert ours.actions[comp] == pytest.approx(actions, rel=1e-12), comp


def test_fusemax_1d_matches_the_check_runs_accelergy(artifact):
    # check/accelergy_energy is a real Accelergy run of accel_fusemax's 1D array (no shares applied).
    want = load_ert(artifact / "check" / "accelergy_energy" / "ERT.yaml")
    got = design_erts(PRICED_ON["fusemax"])["1d"]
    assert set(got.actions) == set(want.actions)
    for comp, actions in want.actions.items():
        for action, energy in actions.items():
            if action != "leak":
                assert rel_err(got.energy(comp, action), energy) < 1e-5, (comp, action)


def test_l3_rows_come_from_cacti_at_45nm():
    # CACTI 7 at 45 nm (primitives.yaml sources): 12.5127 / 15.7514 nJ for 4096 x 32768 and 23.8546 / 27.0975 nJ
    # for 4096 x 65536, plus a 15- or 16-bit address adder of well under 0.1 pJ.
    fusemax = design_erts(PRICED_ON["fusemax"])["2d"].actions["global_buffer"]
    flat = design_erts(PRICED_ON["flat"])["2d"].actions["global_buffer"]
    assert fusemax["read"] == pytest.approx(12512.7, abs=0.1) and fusemax["write"] == pytest.approx(15751.4, abs=0.1)
    assert flat["read"] == pytest.approx(23854.6, abs=0.1) and flat["write"] == pytest.approx(27097.5, abs=0.1)


def test_hardware_parameters_reach_the_description():
    hw = replace(resolve_hardware(REGISTRY["binding"], Hardware(pe_dim=128, pe_1d=64)), energy_l3_bytes=8 * MiB,
                 energy_reg_2d=8, energy_reg_1d=24)
    params = energy_arch(hw)
    # 128 words of 16 bits per row; 8 MiB / 256 B = 32768 rows.
    assert (params.l3_width_bits, params.l3_depth, params.reg_2d, params.reg_1d) == (2048, 32768, 8, 24)
    two = {c.name: c for c in flatten_architecture(yamlio.loads(render_energy_arch(params, "2d")))}
    one = {c.name: c for c in flatten_architecture(yamlio.loads(render_energy_arch(params, "1d")))}
    assert two["reg_file"].instances == 128 * 128 and two["reg_file"].attributes["depth"] == 8
    assert two["global_buffer"].attributes["width"] == 2048 and two["global_buffer"].attributes["depth"] == 32768
    assert one["reg_file"].instances == 64 and one["reg_file"].attributes["depth"] == 24
    assert set(one) >= {"mac", "max", "add", "divide"} and "exponential" not in one
    # Defaults: the design's own sizing (FLAT: 32 MiB L3 of 256-word rows, 4 and 16 registers).
    flat = energy_arch(PRICED_ON["flat"])
    assert (flat.l3_depth, flat.reg_2d, flat.reg_1d) == (65536, 4, 16)


def test_unknown_design_is_an_error():
    with pytest.raises(SpecError, match="unknown energy design 'tpu'"):
        energy_arch(replace(PRICED_ON["fusemax"], energy_design="tpu"))
