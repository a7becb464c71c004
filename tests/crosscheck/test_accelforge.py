"""fusemax's engine against AccelForge on fixed-mapping Einsums (issue 15's cross-check).

AccelForge runs in a Python >= 3.12 interpreter ($FUSEMAX_PY312 or .venv-accelforge, which .ci/run creates);
without one the tests that need it skip. The quantities and the conventions behind them are listed in
:mod:`fusemax.crosscheck.accelforge`.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from fusemax.crosscheck import accelforge
from fusemax.crosscheck.accelforge import DEFAULT_CASES, EinsumCheck, cross_check, disagreements
from fusemax.engine import spec_from_texts
from fusemax.py312 import InterpreterUnavailable, find_interpreter, package_version
from fusemax.render import render
from fusemax.workload import Workload, get_model


def _interpreter() -> Path | None:
    try:
        python = find_interpreter()
        package_version(python, "accelforge")
    except InterpreterUnavailable:
        return None
    return python


PYTHON = _interpreter()
needs_accelforge = pytest.mark.skipif(PYTHON is None, reason="no Python >= 3.12 with accelforge: set $FUSEMAX_PY312 "
                                      "or create .venv-accelforge (see the README's AccelForge cross-check)")


def _translated(config: str, seq_len: int, name: str) -> list[str]:
    """The mapping part of the translation of one BERT prefill Einsum, one node a line."""
    einsum = render(config, Workload(get_model("BERT"), seq_len)).einsums[name]
    return accelforge.translate(spec_from_texts(einsum.files())).split("mapping:")[1].splitlines()


@pytest.fixture(scope="module")
def checks() -> dict[tuple[str, str], EinsumCheck]:
    """The whole default set of ``fusemax validate --cross-check accelforge`` (~15 s of AccelForge)."""
    assert PYTHON is not None
    return {(c.case, c.einsum): c for c in cross_check(DEFAULT_CASES, PYTHON)}


def test_default_set_has_every_fixed_mapping_configuration_at_two_points() -> None:
    points: dict[str, set[tuple[int, str]]] = {}
    for case in DEFAULT_CASES:
        points.setdefault(case.config, set()).add((case.seq_len, case.phase))
    assert set(points) == {"binding", "cascade", "arch", "flat"}
    assert all(len(p) >= 2 for p in points.values()), points
    assert all(any(phase == "decode" for _, phase in p) for p in points.values()), points


@needs_accelforge
def test_every_einsum_is_translated_and_agrees(checks: dict[tuple[str, str], EinsumCheck]) -> None:
    assert not [key for key, c in checks.items() if c.skipped]
    # 12 Einsums per FuseMax configuration and point (SLD and the cascade's SLNV included), 6 per FLAT one.
    fusemax_points = sum(1 for case in DEFAULT_CASES if case.config != "flat")
    assert len(checks) == 12 * fusemax_points + 6 * (len(DEFAULT_CASES) - fusemax_points)
    failing = {key: c.error or [(d.quantity, d.ours, d.theirs) for d in disagreements(c.diffs)]
               for key, c in checks.items() if not c.ok}
    assert not failing


@needs_accelforge
def test_computes_cycles_and_dram_counts_are_equal_without_explanation(checks: dict[tuple[str, str], EinsumCheck]) -> None:
    for c in checks.values():
        for d in c.diffs:
            if d.quantity in ("computes", "cycles") or d.quantity.startswith(("DRAM", "L3")):
                assert d.ours == pytest.approx(d.theirs, rel=1e-12), (c.case, c.einsum, d)
                assert not d.explained


@needs_accelforge
def test_drained_outputs_explain_the_register_reads(checks: dict[tuple[str, str], EinsumCheck]) -> None:
    # RD drains its running denominator from the 1D PEs' registers into the L3: AccelForge counts one
    # register read per word the L3 receives, fusemax none.
    rd = {d.quantity: d for d in checks["binding BERT 256 prefill", "RD"].diffs}
    reads, updates = rd["reg_file reads RD"], rd["L3 writes RD"]
    assert reads.ours == 0 and reads.theirs == updates.ours > 0
    assert reads.explained == "drained-output reads"
    # LM's row maximum is reduced over the PE columns on the way up: every PE drains its own value.
    lm = {d.quantity: d for d in checks["binding BERT 256 prefill", "LM"].diffs}
    assert lm["reg_file reads LM"].theirs == 256 * lm["reg_file_1d writes LM"].ours


@needs_accelforge
def test_an_unexplained_difference_fails(checks: dict[tuple[str, str], EinsumCheck]) -> None:
    qk = checks["binding BERT 256 prefill", "QK"]
    tampered = [accelforge.Difference(d.quantity, d.ours + 1 if d.quantity == "L3 reads Q" else d.ours, d.theirs)
                for d in qk.diffs]
    assert [d.quantity for d in disagreements(tampered)] == ["L3 reads Q"]


def test_a_rank_that_indexes_no_tensor_gets_a_stand_in_above_the_compute() -> None:
    # SLD's N (the artifact's quirk) indexes neither SLN nor SLD: a tensor indexed by n alone stands in.
    einsum = render("binding", Workload(get_model("BERT"), 256)).einsums["SLD"]
    text = accelforge.translate(spec_from_texts(einsum.files()))
    assert '{"name": "RANK_N", "projection": ["n"]}' in text
    assert text.splitlines()[-2:] == ['  - !Storage {"tensors": ["RANK_N"], "component": "reg_file"}',
                                      '  - !Compute {"einsum": "SLN", "component": "mac"}']


@needs_accelforge
def test_sld_counts_every_iteration_of_its_tensorless_rank(checks: dict[tuple[str, str], EinsumCheck]) -> None:
    # Computes are the whole iteration space, N included: 64 x 12 x 16 x 4096 (B, H, M1, P) x 256 (N).
    sld = {d.quantity: d for d in checks["binding BERT 4096 prefill", "SLD"].diffs}
    computes = 64 * 12 * 16 * 4096 * 256
    assert sld["computes"].ours == sld["computes"].theirs == computes
    # The stand-in is read once per compute in the registers, which fusemax has no tensor for: named, not failed.
    stand_in = sld["reg_file reads RANK_N"]
    assert (stand_in.ours, stand_in.theirs, stand_in.explained) == (0, computes, "stand-in for rank N")
    assert sld["energy"].explained == "drained-output reads and stand-in reads"


@needs_accelforge
def test_cascade_keeps_sln_in_the_pe_registers_across_f(checks: dict[tuple[str, str], EinsumCheck]) -> None:
    # SLNV at 4K: each SLN value (64 x 12 x 16 x 256 x 4096, no F) crosses from the L3 into a PE once,
    # though SLNV is computed for 64 F values.
    slnv = {d.quantity: d for d in checks["cascade BERT 4096 prefill", "SLNV"].diffs}
    sln_words = 64 * 12 * 16 * 256 * 4096
    for quantity in ("L3 reads SLN", "reg_file writes SLN"):
        assert slnv[quantity].ours == slnv[quantity].theirs == sln_words


def test_a_loop_sinks_below_a_single_buffer_so_a_pe_tile_can_rise_above_it() -> None:
    lines = _translated("cascade", 4096, "SLNV")
    at = {line.split("{", 1)[1]: i for i, line in enumerate(lines) if "{" in line}
    f_loop = at['"rank_variable": "f", "tile_shape": 1}']
    assert at['"tensors": ["SLNV"], "component": "reg_file_1d"}'] < at['"tensors": ["SLN"], "component": "reg_file"}'] < f_loop
    # The binding makes SLN in the PE registers (no copy in the L3): nothing to refetch, so F stays above
    # the 1D register file, whose SLNV tile then holds one F value (the bigger one would not fit).
    lines = _translated("binding", 4096, "SLNV")
    at = {line.split("{", 1)[1]: i for i, line in enumerate(lines) if "{" in line}
    assert at['"rank_variable": "f", "tile_shape": 1}'] < at['"tensors": ["SLNV"], "component": "reg_file_1d"}']


def test_tiles_stay_across_loops_that_do_not_index_them() -> None:
    # QK at 4K: the DRAM loops are B, H, M (innermost); Q does not depend on M, so its L3 tile must sit
    # above the M loop (Timeloop refetches Q once per (B, H), not per M), BK's below it.
    lines = _translated("binding", 4096, "QK")
    at = {line: i for i, line in enumerate(lines)}
    m_loop = next(i for line, i in at.items() if '"rank_variable": "m"' in line)
    q_l3 = at['  - !Storage {"tensors": ["Q"], "component": "L3"}']
    bk_l3 = at['  - !Storage {"tensors": ["BK"], "component": "L3"}']
    assert q_l3 < m_loop < bk_l3
