"""Instance sizes and mapping factors at BERT 4K and XLM 64K, derived by hand from the methodology.

How the expected numbers are derived (the artifact's rules, methodology.md "The cascade" and "Baselines"):

* Keys: M = M1 x N with N = 256 (one key block per 2D-array row): BERT 4K M1 = 4096/256 = 16,
  XLM 64K M1 = 65536/256 = 256.
* Queries: P = P2 (DRAM) x P1 (L3) x 256 (PE_col, or the 1D PEs). P1 = the largest divisor of P/256 not
  above floor((L3 - 256*E*2 - 256*F*2) / (bytes_per_query * 256)) with L3 = 16 MiB = 16777216 B:
  - binding/arch, bytes_per_query = (E + 1 + 1 + F) * 2
      BERT (E=F=64):   (16777216 - 65536)  // (260 * 256) = 16711680 // 66560  = 251 -> P/256 = 16 -> P1 = 16, P2 = 1
      XLM  (E=F=128):  (16777216 - 131072) // (516 * 256) = 16646144 // 132096 = 126 -> divisors of 256 -> P1 = 64, P2 = 4
  - cascade, bytes_per_query = (E + 256 + 1 + 256 + 1 + F) * 2
      BERT: 16711680 // (1284 * 256) = 50  -> P1 = 16 (all of P/256), P2 = 1
      XLM:  16646144 // (1540 * 256) = 42  -> largest divisor of 256 <= 42 = 32 -> P1 = 32, P2 = 8
* DRAM walks B (64), H and M1; L3 walks E (QK) or F (SLNV, SPNV, RNV, AV) whole, and P1; PE_col/PE
  spread P0 = 256 and N = 256. The cascade's 1D SLN/SLD also walk N at L3 and LM walks N in the registers.
* FLAT (flat_validation.csv): BERT 4K output/output stationary, head fusion (P1 = P = 4096, P2 = 1),
  on chip QK and A; XLM 64K output/output, row fusion with P1 = 256 (P2 = 65536/256 = 256), on chip Q, QK,
  A, AV. Output stationary QK loops [E, M, P, H, B]: E whole at L3, M over PE_col (256, L3 M/256),
  P1 over PE (256, L3 P1/256); AV loops [M, F, P, H, B]: M whole at L3, F over PE_col
  (min(F, 256) = F, L3 1), P1 over PE. Keep/bypass at L3 follow the on-chip tensors, DRAM bypasses QK
  (A) when it is on chip; softmax runs M over the 1D PEs (L3 M/256) with DRAM bypassed when QK/A are on chip.
"""
from __future__ import annotations

import pytest

from fusemax.render import render
from fusemax.workload import Workload, get_model

from .conftest import dataspaces, factor_table, load_plain, permutation

BERT_4K = Workload(get_model("BERT"), 4096)
XLM_64K = Workload(get_model("XLM"), 65536)

# model, workload -> (H, E, M1, P, P1 binding/arch, P2 binding/arch, P1 cascade, P2 cascade)
CASES = {
    "BERT-4K": (BERT_4K, dict(H=12, E=64, M1=16, P=4096), (16, 1), (16, 1)),
    "XLM-64K": (XLM_64K, dict(H=16, E=128, M1=256, P=65536), (64, 4), (32, 8)),
}


def _expected_fusemax(name: str, array: str, ranks: dict, p1: int, p2: int, cascade: bool) -> dict:
    """The factor table of one FuseMax Einsum from the rules in the module docstring."""
    H, E, M1 = ranks["H"], ranks["E"], ranks["M1"]
    dims = {"QK": "BEHMNP", "LM": "BHMNP", "RM": "BHMP", "SLN": "BHMNP", "SLD": "BHMNP", "SLNV": "BFHMNP",
            "PRM": "BHMP", "SPD": "BHMP", "SPNV": "BFHMP", "RD": "BHMP", "RNV": "BFHMP", "AV": "BFHP"}[name]
    ones = {rank: 1 for rank in dims}
    dram = {**ones, "B": 64, "H": H, "P": p2, **({"M": M1} if "M" in dims else {})}
    l3 = {**ones, "P": p1}
    if "E" in dims:
        l3["E"] = E
    if "F" in dims:
        l3["F"] = E  # F = E for every model here
    if cascade and name in ("SLN", "SLD"):
        l3["N"] = 256
    table = {("DRAM", "temporal"): dram, ("L3", "temporal"): l3}
    if array == "2d":
        table[("reg_file_1d", "temporal")] = dict(ones)
        table[("PE_col", "spatial")] = {**ones, "P": 256}
        table[("PE", "spatial")] = {**ones, "N": 256}
        table[("reg_file", "temporal")] = dict(ones)
    else:
        table[("PE", "spatial")] = {**ones, "P": 256}
        table[("reg_file", "temporal")] = {**ones, **({"N": 256} if cascade and name == "LM" else {})}
    return table


@pytest.mark.parametrize("config", ["binding", "arch", "cascade"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_fusemax_factors(config: str, case: str):
    workload, ranks, (p1_b, p2_b), (p1_c, p2_c) = CASES[case]
    cascade = config == "cascade"
    p1, p2 = (p1_c, p2_c) if cascade else (p1_b, p2_b)
    rendered = render(config, workload)
    assert (rendered.params["p1"], rendered.params["p2"]) == (p1, p2)
    assert (rendered.params["m1"], rendered.params["n"], rendered.params["p0"]) == (ranks["M1"], 256, 256)
    twod = {"QK", "SLNV"} if cascade else {"QK", "LM", "SLN", "SLD", "SLNV"}
    assert len(rendered.einsums) == 12
    for name, einsum in rendered.einsums.items():
        assert einsum.array == ("2d" if name in twod else "1d"), name
        assert factor_table(einsum.mapping_yaml) == _expected_fusemax(name, einsum.array, ranks, p1, p2, cascade), name
        instance = load_plain(einsum.problem_yaml)["problem"]["instance"]
        full = {"B": 64, "E": ranks["E"], "F": ranks["E"], "H": ranks["H"], "M": ranks["M1"], "N": 256,
                "P": ranks["P"]}
        assert instance == {rank: full[rank] for rank in instance}, name


def test_binding_and_arch_render_the_same_specs():
    for workload in (BERT_4K, XLM_64K):
        binding, arch = render("binding", workload), render("arch", workload)
        assert {n: e.files() for n, e in binding.einsums.items()} == {n: e.files() for n, e in arch.einsums.items()}


def test_compute_costs_follow_the_methodology():
    binding = {n: e.compute_cost for n, e in render("binding", BERT_4K).einsums.items()}
    assert binding["SLN"] == {"mac": 6, "add": 1} and binding["PRM"] == {"mac": 6, "add": 1}
    assert binding["AV"] == {"divide": 1} and binding["LM"] == {"max": 1} and binding["SLD"] == {"add": 1}
    cascade = {n: e.compute_cost for n, e in render("cascade", BERT_4K).einsums.items()}
    assert cascade["SLN"] == cascade["PRM"] == {"exponential": 1, "add": 1}


FLAT = {
    # case: (workload, H, E, M, P, P1, P2, on-chip tensors, spilled)
    "BERT-4K": (BERT_4K, 12, 64, 4096, 4096, 4096, 1, {"QK", "A"}, 0.007751937984496138),
    "XLM-64K": (XLM_64K, 16, 128, 65536, 65536, 256, 256, {"Q", "QK", "A", "AV"}, 0.01538461538461533),
}


@pytest.mark.parametrize("case", sorted(FLAT))
def test_flat_factors(case: str):
    workload, H, E, M, P, P1, P2, onchip, spilled = FLAT[case]
    rendered = render("flat", workload)
    assert list(rendered.einsums) == ["QK", "M", "SN", "SD", "A", "AV"]
    assert rendered.params["flat_dataflow"]["QK"] == rendered.params["flat_dataflow"]["AV"] == "output"
    assert (rendered.params["p1"], rendered.params["p2"]) == (P1, P2)
    assert rendered.params["proportion_spilled"] == spilled and rendered.params["qk_a_onchip"]

    qk = rendered.einsums["QK"].mapping_yaml
    assert factor_table(qk)[("DRAM", "temporal")] == {"B": 64, "E": 1, "H": H, "M": 1, "P": P2}
    assert factor_table(qk)[("L3", "temporal")] == {"B": 1, "E": E, "H": 1, "M": M // 256, "P": P1 // 256}
    assert permutation(qk, "L3") == ["E", "M", "P", "H", "B"]
    assert factor_table(qk)[("PE_col", "spatial")] == {"B": 1, "E": 1, "H": 1, "M": 256, "P": 1}
    assert factor_table(qk)[("PE", "spatial")] == {"B": 1, "E": 1, "H": 1, "M": 1, "P": 256}
    assert dataspaces(qk)["DRAM"] == (["Q", "K"], ["QK"])
    assert dataspaces(qk)["L3"] == ([t for t in ("Q", "K", "QK") if t in onchip],
                                    [t for t in ("Q", "K", "QK") if t not in onchip])

    av = rendered.einsums["AV"].mapping_yaml
    assert factor_table(av)[("DRAM", "temporal")] == {"B": 64, "F": 1, "H": H, "M": 1, "P": P2}
    assert factor_table(av)[("L3", "temporal")] == {"B": 1, "F": 1, "H": 1, "M": M, "P": P1 // 256}
    assert permutation(av, "L3") == ["M", "F", "P", "H", "B"]
    assert factor_table(av)[("PE_col", "spatial")] == {"B": 1, "F": E, "H": 1, "M": 1, "P": 1}
    assert factor_table(av)[("PE", "spatial")] == {"B": 1, "F": 1, "H": 1, "M": 1, "P": 256}
    assert dataspaces(av)["DRAM"] == (["V", "AV"], ["A"])
    assert dataspaces(av)["L3"] == ([t for t in ("A", "V", "AV") if t in onchip],
                                    [t for t in ("A", "V", "AV") if t not in onchip])

    for name in ("M", "SN", "SD", "A"):
        softmax = rendered.einsums[name]
        assert softmax.array == "1d"
        table = factor_table(softmax.mapping_yaml)
        assert table[("DRAM", "temporal")] == {"B": 64, "H": H, "M": 1, "P": P}
        assert table[("L3", "temporal")] == {"B": 1, "H": 1, "M": M // 256, "P": 1}
        assert table[("PE", "spatial")] == {"B": 1, "H": 1, "M": 256, "P": 1}
    # QK and A on chip: the softmax passes never touch DRAM
    assert dataspaces(rendered.einsums["M"].mapping_yaml)["DRAM"] == ([], ["QK", "M"])
    assert dataspaces(rendered.einsums["A"].mapping_yaml)["DRAM"] == ([], ["SN", "SD", "A"])
    assert dataspaces(rendered.einsums["A"].mapping_yaml)["L3"] == (["SN", "SD", "A"], [])
    instance = load_plain(rendered.einsums["QK"].problem_yaml)["problem"]["instance"]
    assert instance == {"B": 64, "E": E, "H": H, "M": M, "P": P}
