"""Reading and writing ``timeloop-model.stats.txt`` (fusemax.statsfile).

Comparison policy against the corpus ``expected.json``: integers, strings, ``null`` and the order of
levels and data spaces must be identical; floats must agree to 1e-9 relative. The parser in fact
reproduces every corpus number bit for bit (it derives sums the same way, rounded to the 2 printed
decimals), so 1e-9 only tolerates a different but equally valid float summation order. It is far
tighter than the 0.005 pJ print precision, so a missing or extra energy term of a data space or level
is still caught at that level. An independent check against Timeloop's own ``fJ/Compute`` lines
(2 decimals) covers the derivation itself.
"""
from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from fusemax.errors import SpecError
from fusemax.stats import ArithmeticStats, DataspaceStats, LevelStats, Stats
from tests.shared_data import SHARED
from fusemax.statsfile import (format_stats, parse_stats_file, parse_stats_text, read_sections)


CORPUS = SHARED / "conformance" if SHARED else None
CHECK = SHARED / "reference" / "fusemax-artifact" / "check" / "timeloop" if SHARED else None
V303 = "timeloop-model v3.0.3"


def _corpus_cases() -> list[Path]:
    if CORPUS is None:
        return []
    return sorted(p.parent for p in CORPUS.glob("*/*/timeloop-model.stats.txt"))


CASES = _corpus_cases()
CASE_IDS = [f"{p.parent.name}/{p.name}" for p in CASES]
needs_shared = pytest.mark.skipif(SHARED is None, reason="shared/ not found beside the checkout")


@pytest.fixture(scope="module")
def parsed() -> dict[Path, Stats]:
    """Each corpus case parsed once (the round-trip tests reuse them)."""
    return {case: parse_stats_file(case / "timeloop-model.stats.txt", origin=V303) for case in CASES}


def assert_json_equal(got, want, path: str = "") -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict), path
        # order matters for levels (innermost first, as printed) and their data spaces
        ordered = path.endswith("/levels") or path.endswith("/dataspaces")
        assert (list(got) == list(want)) if ordered else (set(got) == set(want)), \
            f"{path}: keys {list(got)} != {list(want)}"
        for key in want:
            assert_json_equal(got[key], want[key], f"{path}/{key}")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert isinstance(got, float), f"{path}: {got!r} is not a float"
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {got!r} != {want!r}"
    else:
        assert type(got) is type(want) and got == want, f"{path}: {got!r} != {want!r}"


def assert_fj_per_compute(stats: Stats, text: str) -> None:
    """Every printed ``fJ/Compute`` line (2 decimals) agrees with the parsed energies."""
    raw = read_sections(text)
    energies = {**{n: a.energy_pj for n, a in stats.arithmetic.items()},
                **{n: lv.energy_pj for n, lv in stats.levels.items()},
                **stats.networks, "Total": stats.energy_pj}
    assert raw.fj_per_compute, "no fJ/Compute lines"
    for name, printed in raw.fj_per_compute.items():
        assert name in energies, f"fJ/Compute names '{name}', which was not parsed"
        ours = energies[name] * 1000 / stats.computes
        # printed to 2 decimals, from energies whose printed terms are each exact to 0.005 pJ
        slack = 0.005 + 0.01 * 1000 * (len(stats.levels) + 2) / stats.computes
        assert abs(ours - float(printed.value)) <= slack, (name, ours, printed.value)


# ---------------------------------------------------------------------------------------------
#  The conformance corpus
# ---------------------------------------------------------------------------------------------

@needs_shared
def test_corpus_is_complete():
    # 90 fusemax + 9 tutorials + 178 valid random cases have stats files
    assert len(CASES) == 277


@needs_shared
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_parse_matches_expected_json(case: Path, parsed):
    expected = json.loads((case / "expected.json").read_text())
    stats = parsed[case]
    assert_json_equal(stats.to_json(), expected)
    assert stats == Stats.from_json(expected)   # in fact bit-identical
    assert_fj_per_compute(stats, (case / "timeloop-model.stats.txt").read_text())


@needs_shared
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_round_trip(case: Path, parsed):
    stats = parsed[case]
    # Timeloop's 2 decimals: exact, because the corpus energies are themselves 2-decimal values
    text = format_stats(stats, case.name)
    assert parse_stats_text(text, "<formatted>") == stats
    assert_fj_per_compute(stats, text)
    # full precision: exact by construction
    assert parse_stats_text(format_stats(stats, case.name, precision=None)) == stats


@needs_shared
@pytest.mark.parametrize("case", [c for c in CASES if c.parent.name == "tutorials"],
                         ids=lambda c: c.name)
def test_tutorial_reference_stats_with_leakage(case: Path, parsed):
    """The exercises' stored reference stats come from a newer Timeloop: leakage lines, 100.00%."""
    ref_path = case / "reference.timeloop-model.stats.txt"
    ref_text = ref_path.read_text()
    ref = parse_stats_file(ref_path)
    assert "Leakage energy (total)" in ref_text and ref.utilization == 1.0
    assert_fj_per_compute(ref, ref_text)     # leakage counted in the level, as Timeloop does
    comparison = json.loads((case / "reference-comparison.json").read_text())
    if case.name.startswith("04"):
        return      # a different front end produced the reference (see the corpus README)
    ours = parsed[case]
    leakage = comparison["leakage_pj_in_reference"]
    assert (ref.computes, ref.cycles) == (ours.computes, ours.cycles)
    assert ref.arithmetic == ours.arithmetic
    for name, level in ours.levels.items():
        if name.startswith("inter_") and name not in ref.levels:
            continue
        got = ref.levels[name]
        assert got.dataspaces == level.dataspaces
        assert got.energy_pj == pytest.approx(level.energy_pj + leakage.get(name, 0.0), abs=1e-6)
    assert ref.energy_pj == pytest.approx(ours.energy_pj + comparison["total_leakage_pj_in_reference"],
                                          abs=1e-6)


# ---------------------------------------------------------------------------------------------
#  The FuseMax artifact's check output (a newer Timeloop: leakage, hidden levels, percent)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def check_stats() -> Stats:
    if CHECK is None or not (CHECK / "timeloop-model.stats.txt").is_file():
        pytest.skip("shared/ not found beside the checkout")
    return parse_stats_file(CHECK / "timeloop-model.stats.txt")


def test_check_output_hand_verified_values(check_stats: Stats):
    s = check_stats
    assert s.source == "timeloop-model"
    assert s.computes == 4398046511104 == s.arithmetic["mac"].computes       # lines 16, 333
    assert s.cycles == 67108864                                               # line 328
    assert s.utilization == 1.0                                               # "100.00%"
    mac = s.arithmetic["mac"]
    assert (mac.instances, mac.utilized_instances, mac.energy_pj) == (65536, 65536, 240432406669.03)
    # levels 2-4 (inter_PE_spatial, inter_PE_col_spatial, reg_file_1d) are hidden by this version
    assert list(s.levels) == ["reg_file", "L3", "DRAM"]
    reg = s.levels["reg_file"]
    assert (reg.instances, reg.size, reg.block_size) == (65536, 16, 1)
    assert reg.dataspaces["Q"].reads_per_instance == 67108864                 # line 60
    assert reg.dataspaces["QK"].reads_per_instance == 66846720
    assert reg.dataspaces["QK"].updates_per_instance == 67108864
    assert reg.dataspaces["QK"].temporal_reductions_per_instance == 66846720
    assert reg.dataspaces["Q"].address_generations_per_cluster == 134217728
    assert reg.energy_pj == 329305398966.22   # 109911580359.00 * 2 + 109482238248.22
    l3 = s.levels["L3"]
    assert (l3.size, l3.block_size, list(l3.dataspaces)) == (8388608, 256, ["Q", "BK"])
    # two data spaces of 165019800957.88 pJ plus the level's leakage line, 85554339.25 pJ
    assert l3.energy_pj == 330125156255.01
    assert s.levels["DRAM"].size is None and s.levels["DRAM"].block_size == 4
    assert s.networks == {}                   # all-zero networks are hidden too
    # "Energy: 1174740.87 uJ" and "Total = 267.11" fJ/Compute
    assert round(s.energy_pj / 1e6, 2) == 1174740.87
    assert_fj_per_compute(s, (CHECK / "timeloop-model.stats.txt").read_text())
    raw = read_sections((CHECK / "timeloop-model.stats.txt").read_text())
    assert raw.intensity_levels == ["reg_file", "inter_PE_spatial", "inter_PE_col_spatial",
                                    "reg_file_1d", "L3", "DRAM"]
    loops = {lv.name: lv.loops for lv in raw.levels}
    assert loops["L3"] == ["for P in [0:16)", "for E in [0:256)"] and loops["reg_file"] == []


def _xml_levels(path: Path, dataspaces: list[str]) -> dict[str, dict]:
    """The per-level numbers of ``timeloop-model.map+stats.xml`` (a boost::serialization archive)."""
    root = ET.parse(path).getroot()
    out = {}
    for item in root.find("engine/topology_/levels_").findall("item"):
        px = item.find("px")
        name = px.find("specs_/LevelSpecs/level_name").text
        if px.find("stats_") is None:       # arithmetic
            out[name] = {"energy": float(px.find("energy_").text),
                         "computes": int(px.find("random_computes_").text),
                         "cycles": int(px.find("cycles_").text)}
            continue
        stats = px.find("stats_")

        def per_ds(tag: str, convert):
            return dict(zip(dataspaces, (convert(i.text) for i in stats.find(f"{tag}/PerDataSpace"))))

        out[name] = {tag: per_ds(tag, conv) for tag, conv in [
            ("keep", int), ("reads", int), ("fills", int), ("updates", int),
            ("utilized_capacity", int), ("partition_size", int), ("utilized_clusters", int),
            ("address_generations", int), ("temporal_reductions", int),
            ("utilized_instances", float), ("energy", float)]}
        out[name]["cycles"] = int(stats.find("cycles").text)
    return out


def test_check_output_agrees_with_map_stats_xml(check_stats: Stats):
    """The XML has full-precision energies but no names, leakage or summary: a cross-check only."""
    spec = yaml.safe_load((CHECK / "parsed-processed-input.yaml").read_text())
    dataspaces = [ds["name"] for ds in spec["problem"]["shape"]["data_spaces"]]
    xml = _xml_levels(CHECK / "timeloop-model.map+stats.xml", dataspaces)
    assert xml["mac"]["computes"] == check_stats.computes
    assert xml["mac"]["energy"] == pytest.approx(check_stats.arithmetic["mac"].energy_pj, abs=0.005)
    for name, level in xml.items():
        if name == "mac":
            continue
        if name not in check_stats.levels:      # hidden in stats.txt: nothing kept, no energy
            assert not any(level["keep"].values()) and not any(level["energy"].values())
            continue
        parsed_level = check_stats.levels[name]
        assert parsed_level.cycles == level["cycles"]
        kept = [ds for ds in dataspaces if level["keep"][ds]]
        assert list(parsed_level.dataspaces) == kept
        for ds in kept:
            got = parsed_level.dataspaces[ds]
            assert (got.reads_per_instance, got.fills_per_instance, got.updates_per_instance,
                    got.utilized_capacity, got.partition_size, got.utilized_clusters,
                    got.address_generations_per_cluster, got.temporal_reductions_per_instance,
                    got.utilized_instances) == (
                level["reads"][ds], level["fills"][ds], level["updates"][ds],
                level["utilized_capacity"][ds], level["partition_size"][ds],
                level["utilized_clusters"][ds], level["address_generations"][ds],
                level["temporal_reductions"][ds], int(level["utilized_instances"][ds]))
            total = level["energy"][ds] * level["utilized_instances"][ds]
            assert got.energy_pj == pytest.approx(total, abs=0.005)


def test_check_output_round_trip(check_stats: Stats):
    text = format_stats(check_stats, "check")
    assert "Leakage energy (total)" in text      # L3's leakage has no data space to live in
    assert parse_stats_text(text) == check_stats


# ---------------------------------------------------------------------------------------------
#  Writer details (no shared/ needed)
# ---------------------------------------------------------------------------------------------

def _small_stats(**overrides) -> Stats:
    ds = DataspaceStats(utilized_capacity=3, utilized_instances=4, reads_per_instance=48,
                        fills_per_instance=3, updates_per_instance=0, partition_size=12,
                        utilized_clusters=4, address_generations_per_cluster=51,
                        energy_pj=20.4296875)
    out = DataspaceStats(utilized_capacity=16, utilized_instances=4, reads_per_instance=32,
                         updates_per_instance=48, temporal_reductions_per_instance=32,
                         partition_size=64, utilized_clusters=4,
                         address_generations_per_cluster=48, energy_pj=34.0481)
    buf = LevelStats(cycles=52, energy_pj=20.4296875 + 34.0481, bandwidth_throttling=0.923,
                     instances=4, block_size=2, size=64,
                     dataspaces={"Weights": ds, "Outputs": out})
    dummy = LevelStats(cycles=52, instances=4, vector_access_energy_source="PAT")
    dram = LevelStats(cycles=52, energy_pj=1000.0, size=None, block_size=4,
                      dataspaces={"Weights": DataspaceStats(utilized_capacity=12, utilized_instances=1,
                                                            reads_per_instance=12, partition_size=12,
                                                            utilized_clusters=1,
                                                            address_generations_per_cluster=12,
                                                            energy_pj=1000.0)})
    energy = 40.56 + buf.energy_pj + 1000.0 + 0.25
    stats = Stats(computes=192, cycles=52, utilization=0.923, energy_pj=energy,
                  pj_per_compute=energy / 192,
                  levels={"Buffer": buf, "inter_PE_spatial": dummy, "DRAM": dram},
                  arithmetic={"MACC": ArithmeticStats(instances=4, utilized_instances=4, computes=192,
                                                      cycles=48, energy_pj=40.56)},
                  networks={"DRAM <==> inter_PE_spatial": 0.25, "Buffer <==> MACC": 0.0})
    for key, value in overrides.items():
        setattr(stats, key, value)
    return stats


def test_format_layout_uses_timeloop_labels():
    text = format_stats(_small_stats(), "toy.yaml")
    for label in ("Buffer and Arithmetic Levels", "Level 0", "=== MACC ===", "Level 1",
                  "=== Buffer ===", "=== inter_PE_spatial ===", "    SPECS", "    STATS",
                  "Computes (total)        : 192", "Bandwidth throttling : 0.92",
                  "    Weights:", "Utilized capacity                        : 3",
                  "Scalar reads (per-instance)              : 48",
                  "Energy (total)                           : 20.43 pJ",
                  "Size                        : -", "Vector access energy source : PAT",
                  "Network 0", "DRAM <==> inter_PE_spatial", "Summary Stats", "Utilization: 0.92",
                  "Cycles: 52", "Computes = 192", "fJ/Compute", "Total"):
        assert label in text, label
    assert "Spec: toy.yaml" in text and "Source: fusemax builtin" in text


def test_round_trip_within_print_precision():
    stats = _small_stats()
    back = parse_stats_text(format_stats(stats))
    assert back.source == "fusemax builtin"
    assert back.computes == stats.computes and back.cycles == stats.cycles
    assert list(back.levels) == list(stats.levels)
    for name, level in stats.levels.items():
        got = back.levels[name]
        assert (got.cycles, got.instances, got.block_size, got.size,
                got.vector_access_energy_source) == (level.cycles, level.instances, level.block_size,
                                                     level.size, level.vector_access_energy_source)
        assert got.energy_pj == pytest.approx(level.energy_pj, abs=0.005 * (len(level.dataspaces) + 1))
        assert got.bandwidth_throttling == pytest.approx(level.bandwidth_throttling, abs=0.005)
        for ds, d in level.dataspaces.items():
            assert got.dataspaces[ds].energy_pj == pytest.approx(d.energy_pj, abs=0.005)
            assert (got.dataspaces[ds].reads_per_instance, got.dataspaces[ds].utilized_capacity) == \
                (d.reads_per_instance, d.utilized_capacity)
    assert back.networks == pytest.approx(stats.networks, abs=0.005)
    assert back.energy_pj == pytest.approx(stats.energy_pj, abs=0.05)
    # with full precision everything comes back exactly
    assert parse_stats_text(format_stats(stats, precision=None)) == stats


def test_unattributed_level_energy_is_written_as_leakage():
    stats = _small_stats()
    stats.levels["DRAM"].energy_pj = 1012.5      # 12.5 pJ that no data space accounts for
    stats.energy_pj += 12.5
    text = format_stats(stats)
    assert "Leakage energy (total)      : 12.50 pJ" in text
    assert parse_stats_text(text).levels["DRAM"].energy_pj == 1012.5


def test_invalid_stats_round_trip():
    bad = Stats(valid=False, error="couldn't map level mac: mapped max Arithmetic X expansion 8 "
                                   "exceeds 4", source="fusemax builtin")
    text = format_stats(bad)
    assert "ERROR: couldn't map level mac" in text
    assert parse_stats_text(text) == bad


def test_origin_and_preamble():
    text = format_stats(_small_stats(source="fusemax builtin"))
    assert parse_stats_text(text).source == "fusemax builtin"
    assert parse_stats_text(text, origin="timeloop-model v3.0.3").source == "timeloop-model v3.0.3"


# ---------------------------------------------------------------------------------------------
#  Malformed input
# ---------------------------------------------------------------------------------------------

GOOD = format_stats(_small_stats())


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("cut_at", ["Level 1", "    Outputs:", "Network 0", "Summary Stats"])
def test_truncated_file(cut_at: str, tmp_path: Path):
    lines = GOOD.splitlines()
    cut = _line_of(GOOD, cut_at) + 1          # keep the line itself, lose the rest
    path = tmp_path / "timeloop-model.stats.txt"
    path.write_text("\n".join(lines[:cut]) + "\n")
    with pytest.raises(SpecError) as exc:
        parse_stats_file(path)
    assert exc.value.source == str(path)
    assert exc.value.key and exc.value.key.startswith("line ")
    assert str(path) in str(exc.value)


def test_truncated_inside_a_data_space_names_the_block(tmp_path: Path):
    lines = GOOD.splitlines()
    start = _line_of(GOOD, "    Outputs:")
    text = "\n".join(lines[:start + 3] + lines[_line_of(GOOD, "Networks") - 1:]) + "\n"
    with pytest.raises(SpecError) as exc:
        parse_stats_text(text, "cut.txt")
    assert exc.value.key == f"line {start}"
    assert "data space 'Outputs'" in exc.value.reason and "Buffer" in exc.value.reason


@pytest.mark.parametrize("needle, garbage", [
    ("Scalar reads (per-instance)              : 48", "4x8"),
    ("Energy (total)                           : 20.43 pJ", "twenty pJ"),
    ("Cycles: 52", "fifty-two"),
    ("Utilized instances      : 4", "4.5"),
    ("Size                        : 64", "big"),
])
def test_garbage_number(needle: str, garbage: str):
    label, _ = needle.split(":", 1)
    line = _line_of(GOOD, needle)
    lines = GOOD.splitlines()
    lines[line - 1] = lines[line - 1].split(":", 1)[0] + ": " + garbage
    with pytest.raises(SpecError) as exc:
        parse_stats_text("\n".join(lines), "bad.txt")
    assert exc.value.source == "bad.txt"
    assert exc.value.key == f"line {line}"
    assert label.strip() in exc.value.reason and garbage.split()[0] in exc.value.reason


def test_garbage_line_and_wrong_files(tmp_path: Path):
    lines = GOOD.splitlines()
    at = _line_of(GOOD, "=== Buffer ===") + 2
    lines.insert(at, "@@@ not timeloop @@@")
    with pytest.raises(SpecError, match=r"line \d+"):
        parse_stats_text("\n".join(lines), "x.txt")
    with pytest.raises(SpecError, match="empty file"):
        parse_stats_text("", "empty.txt")
    with pytest.raises(SpecError, match="not a timeloop-model stats file"):
        parse_stats_text("architecture:\n  nodes: []\n", "arch.yaml")
    with pytest.raises(SpecError, match="cannot read file"):
        parse_stats_file(tmp_path / "missing.txt")
