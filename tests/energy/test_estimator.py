"""Builtin ERT/ART vs the artifact's Accelergy outputs."""
from __future__ import annotations

import pytest

from fusemax import yamlio
from fusemax.energy import reference_tables
from fusemax.energy.components import load_library
from fusemax.energy.estimator import estimate_art, estimate_ert, flatten_architecture
from fusemax.energy.tables import ert_from_dict, load_art, load_ert
from fusemax.errors import SpecError

from .conftest import rel_err

REFERENCES = ["1d-flat", "1d-fusemax", "2d-flat", "2d-fusemax"]
TOLERANCE = 0.01  # acceptance: 1 % per action and component


def _compare_ert(got, want) -> float:
    assert set(got.actions) == set(want.actions)
    worst = 0.0
    for comp, actions in want.actions.items():
        assert got.full_names[comp] == want.full_names[comp]
        assert set(got.actions[comp]) == set(actions), comp
        for action, energy in actions.items():
            err = rel_err(got.energy(comp, action), energy)
            assert err <= TOLERANCE, f"{comp}.{action}: {got.energy(comp, action)} vs {energy}"
            worst = max(worst, err)
    return worst


def _compare_art(got, want) -> float:
    assert set(got.areas) == set(want.areas)
    worst = 0.0
    for comp, area in want.areas.items():
        assert got.full_names[comp] == want.full_names[comp]
        err = rel_err(got.area(comp), area)
        assert err <= TOLERANCE, f"{comp}: {got.area(comp)} vs {area}"
        worst = max(worst, err)
    return worst


@pytest.mark.parametrize("ref", REFERENCES)
def test_builtin_ert_art_match_reference_outputs(area_energy, ref):
    # outputs-*/inputs/input.yaml is the Accelergy input that produced outputs-*/ERT.yaml and ART.yaml.
    out = area_energy / f"outputs-{ref}"
    arch = out / "inputs" / "input.yaml"
    assert _compare_ert(estimate_ert(arch), load_ert(out / "ERT.yaml")) < 1e-6
    assert _compare_art(estimate_art(arch), load_art(out / "ART.yaml")) < 1e-6


def test_check_run_tables_from_timeloopfe_nodes(artifact, area_energy):
    # The check run (scripts/check.py) fed accel_fusemax/accel-top-1d-path.yaml through timeloopfe to an
    # Accelergy that ignores action_share/area_share: reproduce it from the nodes: description.
    arch = area_energy / "architecture" / "accel_fusemax" / "accel-top-1d-path.yaml"
    ref = artifact / "check" / "accelergy_area"
    assert _compare_ert(estimate_ert(arch, apply_shares=False), load_ert(ref / "ERT.yaml")) < 1e-6
    assert _compare_art(estimate_art(arch, apply_shares=False), load_art(ref / "ART.yaml")) < 1e-6
    # ...and the flattened Accelergy input of the same run gives the same tables.
    flat = ref / "parsed-processed-input.yaml"
    assert _compare_ert(estimate_ert(flat, apply_shares=False), load_ert(ref / "ERT.yaml")) < 1e-6


def test_timeloop_arch_matches_check_timeloop_tables(artifact):
    # proposal/arch-2d.yaml (Timeloop levels, !Parallel, storage/aladdin_register, intmac, at 16 nm) as
    # the check's timeloop-model run estimated it: exercises width and technology scaling.
    arch = artifact / "inputs" / "proposal" / "arch-2d.yaml"
    ref = artifact / "check" / "timeloop"
    assert _compare_ert(estimate_ert(arch), load_ert(ref / "timeloop-model.ERT.yaml")) < 1e-5
    assert _compare_art(estimate_art(arch), load_art(ref / "timeloop-model.ART.yaml")) < 1e-5


def test_nodes_flattening_names_and_instances(area_energy):
    comps = flatten_architecture(area_energy / "architecture" / "accel_fusemax" / "accel-top-2d-path.yaml")
    names = {c.full_name: c for c in comps}
    assert list(names) == [
        "system_top_level.DRAM[1..1]", "system_top_level.global_buffer[1..1]",
        "system_top_level.inter_PE_col_spatial[1..1]", "system_top_level.inter_PE_spatial[1..256]",
        "system_top_level.reg_file[1..65536]", "system_top_level.max[1..65536]",
        "system_top_level.add[1..65536]", "system_top_level.mac[1..65536]"]
    reg = names["system_top_level.reg_file[1..65536]"]
    assert reg.instances == 65536 and reg.cls == "smartbuffer_RF"
    # Inherited from the system container.
    assert reg.attributes["technology"] == "45nm"
    assert reg.attributes["global_cycle_seconds"] == pytest.approx(1.0638297873e-9)


def test_unknown_class_names_class_and_file(tmp_path):
    arch = tmp_path / "arch.yaml"
    arch.write_text("architecture:\n  version: 0.4\n  nodes:\n"
                    "  - !Container\n    name: system\n    attributes: {technology: 45nm}\n"
                    "  - !Component\n    name: flux\n    class: flux_capacitor\n    attributes: {width: 8}\n")
    with pytest.raises(SpecError) as exc:
        estimate_ert(arch)
    msg = str(exc.value)
    assert "flux_capacitor" in msg and str(arch) in msg and "flux" in msg


def test_missing_attribute_is_an_error(tmp_path):
    arch = {"architecture": {"version": 0.4, "nodes": [
        yamlio.TaggedNode("Component", {"name": "rf", "class": "smartbuffer_RF", "attributes": {"width": 16}})]}}
    with pytest.raises(SpecError, match="depth"):
        estimate_ert(arch, source="mine.yaml")


def test_ert_yaml_round_trip(area_energy):
    ert = estimate_ert(area_energy / "outputs-2d-fusemax" / "inputs" / "input.yaml")
    again = ert_from_dict(yamlio.loads(ert.to_yaml()))
    assert again.actions == ert.actions and again.full_names == ert.full_names


def test_width_and_technology_scaling_rules():
    lib = load_library()
    add16 = lib.estimate("fpadder", {"width": 16})
    add32 = lib.estimate("fpadder", {"width": 32})
    assert add32.energy["add"] == pytest.approx(2 * add16.energy["add"])      # linear
    mul32 = lib.estimate("fpmultiplier", {"width": 32})
    assert mul32.energy["multiply"] == pytest.approx(35.3)                    # quadratic: Aladdin's 32-bit
    # Stillmaker-Baas factors 90 nm -> 45 nm: area x0.35, energy x0.5271 (Vdd 0.8 V).
    div = lib.estimate("custom_divide", {"datawidth": 32, "datawidth_a": 32, "datawidth_b": 32}, "45nm")
    assert div.area == pytest.approx(542650 * 0.35)
    assert div.energy["divide"] == pytest.approx(550.24 * 0.527059503528839)
    # NeuroSim adder: interpolated between the published n_bits points, e.g. the check's 15-bit one.
    assert lib.estimate("intadder", {"n_bits": 15}).energy["add"] == pytest.approx(0.060572, rel=1e-4)
    # Leakage per cycle follows the cycle time.
    slow = lib.estimate("aladdin_comparator", {}, "45nm", cycle_seconds=2e-9)
    assert slow.leak == pytest.approx(2 * 2.51e-05)


def test_reference_tables_builtin(area_energy):
    ert, art = reference_tables(area_energy / "outputs-1d-flat" / "inputs" / "input.yaml", backend="builtin")
    assert ert.energy("divide", "compute") == pytest.approx(36.251153)
    assert art.instances("divide") == 256
