"""fusemax's engine against AccelForge on fixed-mapping Einsums (issue 15's cross-check).

AccelForge runs in a Python >= 3.12 interpreter ($FUSEMAX_PY312 or .venv-accelforge, which .ci/run creates);
without one the tests that need it skip. The quantities and the conventions behind them are listed in
:mod:`fusemax.crosscheck.accelforge`.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from fusemax.crosscheck import accelforge
from fusemax.crosscheck.accelforge import AccelForgeUnavailable, Case, EinsumCheck, cross_check, disagreements
from fusemax.engine import spec_from_texts
from fusemax.render import render
from fusemax.workload import Workload, get_model


def _interpreter() -> Path | None:
    try:
        python = accelforge.find_interpreter()
        accelforge.check_interpreter(python)
    except AccelForgeUnavailable:
        return None
    return python


PYTHON = _interpreter()
needs_accelforge = pytest.mark.skipif(PYTHON is None, reason="no Python >= 3.12 with accelforge: set $FUSEMAX_PY312 "
                                      "or create .venv-accelforge (see the README's AccelForge cross-check)")

#: a decode and a short prefill of the binding (the new shapes) and FLAT at 4K (another dataflow)
CASES = [Case("binding", "BERT", 16, "decode"), Case("binding", "BERT", 256), Case("flat", "BERT", 4096)]


@pytest.fixture(scope="module")
def checks() -> dict[tuple[str, str], EinsumCheck]:
    assert PYTHON is not None
    return {(c.case, c.einsum): c for c in cross_check(CASES, PYTHON)}


@needs_accelforge
def test_every_translated_einsum_agrees(checks: dict[tuple[str, str], EinsumCheck]) -> None:
    compared = [c for c in checks.values() if not c.skipped]
    assert len(compared) >= 2 * 11 + 6  # every binding Einsum but SLD, every FLAT one
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


def test_sld_is_skipped_with_the_reason() -> None:
    einsum = render("binding", Workload(get_model("BERT"), 256)).einsums["SLD"]
    with pytest.raises(ValueError, match="indexes no tensor"):
        accelforge.translate(spec_from_texts(einsum.files()))


def test_tiles_stay_across_loops_that_do_not_index_them() -> None:
    # QK at 4K: the DRAM loops are B, H, M (innermost); Q does not depend on M, so its L3 tile must sit
    # above the M loop (Timeloop refetches Q once per (B, H), not per M), BK's below it.
    einsum = render("binding", Workload(get_model("BERT"), 4096)).einsums["QK"]
    lines = accelforge.translate(spec_from_texts(einsum.files())).split("mapping:")[1].splitlines()
    at = {line: i for i, line in enumerate(lines)}
    m_loop = next(i for line, i in at.items() if '"rank_variable": "m"' in line)
    q_l3 = at['  - !Storage {"tensors": ["Q"], "component": "L3"}']
    bk_l3 = at['  - !Storage {"tensors": ["BK"], "component": "L3"}']
    assert q_l3 < m_loop < bk_l3


def test_missing_interpreter_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(accelforge.INTERPRETER_ENV, str(tmp_path / "no-python"))
    with pytest.raises(AccelForgeUnavailable, match="FUSEMAX_PY312"):
        accelforge.find_interpreter()
