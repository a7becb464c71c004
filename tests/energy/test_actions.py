"""Action counts, energy and area against the artifact's check run and hand-computed counts."""
from __future__ import annotations

import pytest

from fusemax import yamlio
from fusemax.energy.actions import (ActionCounts, EinsumActivity, aggregate, area_summary,
                                    action_counts_from_dict, buffer_actions, energy, energy_breakdown,
                                    load_action_counts, total_energy)
from fusemax.energy.estimator import estimate_ert
from fusemax.energy.tables import ERT, load_art, load_ert
from fusemax.errors import SpecError
from fusemax.stats import DataspaceStats, LevelStats, Stats

from .conftest import rel_err


def _check_reference(artifact):
    data = yamlio.load(artifact / "check" / "accelergy_energy" / "energy_estimation.yaml")["energy_estimation"]
    parts = {c["name"].split(".")[1].split("[")[0]: c["energy"] for c in data["components"]}
    return data["Total"], parts


def test_check_energy_from_its_action_counts(artifact, area_energy):
    # The check's accelergy_energy run = architecture/pseudo/action_counts.yaml x its ERT.
    counts = load_action_counts(area_energy / "architecture" / "pseudo" / "action_counts.yaml")
    total, parts = _check_reference(artifact)
    ert = load_ert(artifact / "check" / "accelergy_energy" / "ERT.yaml")
    got = energy_breakdown(counts, ert)
    for comp, want in parts.items():
        assert rel_err(got[comp], want) < 1e-12, comp
    assert rel_err(energy(counts, ert), total) < 1e-12
    # The same with the builtin ERT of the check's architecture (no Accelergy anywhere).
    builtin = estimate_ert(area_energy / "architecture" / "accel_fusemax" / "accel-top-1d-path.yaml",
                           apply_shares=False)
    assert rel_err(energy(counts, builtin), total) < 1e-6


def _qk_check_stats() -> Stats:
    # check/timeloop/timeloop-model.stats.txt (QK Einsum of the FuseMax binding on the 2D array),
    # per-instance Scalar reads / fills / updates of the data spaces the mapping keeps
    # (inputs/proposal/mappings/qk.yaml: DRAM keeps Q, BK; L3 keeps Q, BK; reg_file keeps Q, BK, QK;
    # reg_file_1d keeps nothing) and "Computes = 4398046511104" of the summary.
    def ds(reads, fills, updates, instances):
        return DataspaceStats(reads_per_instance=reads, fills_per_instance=fills,
                              updates_per_instance=updates, utilized_instances=instances)

    return Stats(computes=4398046511104, levels={
        "reg_file": LevelStats(instances=65536, dataspaces={
            "Q": ds(67108864, 67108864, 0, 65536),          # stats.txt lines 60-61
            "BK": ds(67108864, 67108864, 0, 65536),         # lines 84-85
            "QK": ds(66846720, 0, 67108864, 65536)}),       # lines 108-110
        "L3": LevelStats(dataspaces={
            "Q": ds(17179869184, 1073741824, 0, 1),          # lines 169-170
            "BK": ds(17179869184, 1073741824, 0, 1)}),       # lines 193-194
        "DRAM": LevelStats(dataspaces={
            "Q": ds(1073741824, 0, 0, 1),                    # line 255
            "BK": ds(1073741824, 0, 0, 1)}),                 # line 279
    })


QK_KEPT = {"DRAM": ["Q", "BK"], "L3": ["Q", "BK"], "reg_file_1d": [], "reg_file": ["Q", "BK", "QK"]}


def test_qk_check_action_counts_and_energy(area_energy):
    qk = EinsumActivity("QK", _qk_check_stats(), QK_KEPT, {"mac": 1}, on_2d=True)
    totals = aggregate([qk], "fusemax")
    two, one = totals.arrays()
    # By hand: DRAM 2 x 1073741824 reads / 4 words per line; no writes.
    assert two.counts["DRAM"] == {"read": 536870912, "write": 0, "update": 0, "leak": 0}
    # L3: 2 x 17179869184 reads, 2 x 1073741824 fills, / 256 words per row.
    assert two.counts["global_buffer"] == {"read": 134217728, "write": 8388608, "update": 0, "leak": 0}
    # reg_file, per instance: reads Q + BK + QK; writes = fills (Q, BK) + updates (QK).
    assert two.counts["reg_file"] == {"read": 67108864 * 2 + 66846720, "write": 67108864 * 3,
                                      "update": 0, "leak": 0}
    assert two.counts["mac"] == {"compute": 4398046511104, "leak": 0}
    assert two.counts["max"]["compute"] == 0 and two.counts["add"]["compute"] == 0
    assert one.counts["reg_file"]["read"] == 0 and one.counts["reg_file"]["write"] == 0

    ert_2d = load_ert(area_energy / "outputs-2d-fusemax" / "ERT.yaml")
    ert_1d = load_ert(area_energy / "outputs-1d-fusemax" / "ERT.yaml")
    hand = (536870912 * 249.6
            + 134217728 * 484.97271 + 8388608 * 451.30271
            + 201064448 * 0.653431 + 201326592 * 0.56957
            + 4398046511104 * 17.1645)
    assert total_energy(totals, ert_2d, ert_1d) == pytest.approx(hand, rel=1e-12)


def test_scale_by_instances_gives_totals():
    stats = _qk_check_stats()
    per = buffer_actions(stats, "reg_file", ["Q"])
    tot = buffer_actions(stats, "reg_file", ["Q"], scale_by_instances=True)
    assert tot["read"] == per["read"] * 65536


def test_dram_reads_equal_to_updates_are_skipped():
    stats = Stats(levels={
        "DRAM": LevelStats(dataspaces={"A": DataspaceStats(reads_per_instance=400, updates_per_instance=400),
                                       "B": DataspaceStats(reads_per_instance=40, fills_per_instance=8)}),
        "L3": LevelStats(dataspaces={"A": DataspaceStats(reads_per_instance=512, updates_per_instance=512)})})
    assert buffer_actions(stats, "DRAM", ["A", "B"]) == {"read": 10, "write": 102, "update": 0, "leak": 0}
    # Only at DRAM: the L3 keeps its reads.
    assert buffer_actions(stats, "L3", ["A"]) == {"read": 2, "write": 2, "update": 0, "leak": 0}


def test_unmatched_unit_error_or_drop():
    stats = _qk_check_stats()
    kept = {**QK_KEPT, "reg_file": ["Q"]}
    # A cost naming a unit the array lacks (the artifact's misspelt exponential) is an error, or dropped as the
    # artifact did.
    prm = EinsumActivity("PRM", stats, kept, {"exponentiatial": 1, "add": 1}, on_2d=False)
    with pytest.raises(SpecError, match="exponentiatial"):
        aggregate([prm], "flat")
    totals = aggregate([prm], "flat", unmatched_units="drop")
    one = totals.arrays()[1].counts
    assert one["exponential"]["compute"] == 0 and one["add"]["compute"] == stats.computes


def test_cost_weighted_computes_and_array_routing():
    stats = _qk_check_stats()
    kept = {"DRAM": ["Q"], "L3": ["Q"], "reg_file": ["Q"], "reg_file_1d": []}
    sln = EinsumActivity("SLN", stats, kept, {"mac": 6, "add": 1}, on_2d=True)
    rd = EinsumActivity("RD", stats, {**kept}, {"add": 1}, on_2d=False)
    two, one = aggregate([sln, rd], "fusemax").arrays()
    assert two.counts["mac"]["compute"] == 6 * stats.computes
    assert two.counts["add"]["compute"] == stats.computes
    assert one.counts["add"]["compute"] == stats.computes
    # The 1D Einsum's reg_file is the 1D array's; its DRAM/L3 traffic is the (shared) 2D side's.
    assert one.counts["reg_file"]["read"] == 67108864
    assert two.counts["DRAM"]["read"] == 2 * 1073741824 / 4


def test_missing_ert_action_is_an_error_zero_count_is_not():
    ert = ERT(actions={"mac": {"compute": 1.0}}, source="my-ERT.yaml")
    assert energy(ActionCounts({"mac": {"compute": 2, "leak": 0}, "max": {"compute": 0}}), ert) == 2
    with pytest.raises(SpecError, match="leak") as exc:
        energy(ActionCounts({"mac": {"compute": 2, "leak": 5}}), ert)
    assert "my-ERT.yaml" in str(exc.value)
    with pytest.raises(SpecError, match="divide"):
        energy(ActionCounts({"divide": {"compute": 1}}), ert)


def test_action_counts_yaml_round_trip():
    counts = ActionCounts({"reg_file": {"read": 3.0, "write": 4.0}, "mac": {"compute": 7.0}})
    text = counts.to_yaml()
    assert "system_top_level.reg_file[1]" in text
    assert action_counts_from_dict(yamlio.loads(text)).counts == counts.counts


def test_area_summary_rule(area_energy):
    art_2d = load_art(area_energy / "outputs-2d-fusemax" / "ART.yaml")
    art_1d = load_art(area_energy / "outputs-1d-fusemax" / "ART.yaml")
    s = area_summary(art_2d, art_1d)
    # 2D array: instances x area of every 2D component with >1 instance, except add.
    array_2d = 256 * 1.0 + 65536 * (4255.9342 + 49.28944 + 1545.0)
    total = array_2d + 0.0 + 1.0 + 94176255.9664 + 1.0 + 256 * (4255.9342 + 1545.0 + 23740.9375)
    assert s.array_2d == pytest.approx(array_2d, rel=1e-12)
    assert s.total == pytest.approx(total, rel=1e-12)
    assert "add_2d" not in s.per_component
