"""The CACTI SRAM table (arch/components/cacti-sram.yaml) against CACTI and the published SRAM points."""
from __future__ import annotations

import math

import pytest

from fusemax.energy import cacti
from fusemax.energy.components import load_library
from fusemax.errors import SpecError

#: What CACTI 7 printed for the published L3 rows, run as Accelergy's CACTI plug-in runs it (source of
#: the 45 nm 4096-bit points of primitives.yaml): read nJ, write nJ, leakage mW, area mm^2.
PUBLISHED_CACTI = {
    32768: (12.5127, 15.7514, 0.382145, 84.2012),   # 16 MiB, the FuseMax L3
    65536: (23.8546, 27.0975, 0.764405, 175.717),   # 32 MiB, the FLAT L3
}
L3_WIDTH = 4096
#: Cycle time of the published points, at which their leakage per cycle is given.
CYCLE_SECONDS = 1.0638297873e-9


@pytest.fixture(scope="module")
def curve() -> cacti.SramCurve:
    sram = load_library().primitive("SRAM")
    assert sram.curve is not None
    return sram.curve


def _table(curve: cacti.SramCurve, width: float) -> list[tuple[float, cacti.CactiPoint]]:
    depths, points = curve.curves[width]
    return list(zip(depths, points))


@pytest.mark.parametrize("depth", sorted(PUBLISHED_CACTI))
def test_table_reproduces_the_published_cacti_rows(curve: cacti.SramCurve, depth: int) -> None:
    read_nj, write_nj, leak_mw, area_mm2 = PUBLISHED_CACTI[depth]
    row = dict(_table(curve, L3_WIDTH))[depth]
    # rel 1e-12: only the float error of the unit conversion (CACTI prints 6 digits, so does the table).
    assert (row.read, row.write, row.leak_mw, row.area) == pytest.approx(
        (read_nj * 1e3, write_nj * 1e3, leak_mw, area_mm2 * 1e6), rel=1e-12)


@pytest.mark.parametrize("depth", sorted(PUBLISHED_CACTI))
def test_published_points_are_unchanged(depth: int) -> None:
    read_nj, write_nj, leak_mw, area_mm2 = PUBLISHED_CACTI[depth]
    est = load_library().estimate("SRAM", {"width": L3_WIDTH, "depth": depth}, "45nm")
    assert est.energy == pytest.approx({"read": read_nj * 1e3, "write": write_nj * 1e3}, rel=1e-12)
    assert est.area == pytest.approx(area_mm2 * 1e6, rel=1e-12)
    assert est.leak == pytest.approx(leak_mw * 1e-3 * CYCLE_SECONDS * 1e12, rel=1e-6)


@pytest.mark.parametrize("width", [1024.0, 4096.0])
def test_estimate_lands_on_the_table_at_its_points(curve: cacti.SramCurve, width: float) -> None:
    lib = load_library()
    for depth, row in _table(curve, width):
        est = lib.estimate("SRAM", {"width": width, "depth": depth}, "45nm")
        assert est.energy["read"] == pytest.approx(row.read, rel=1e-9)
        assert est.energy["write"] == pytest.approx(row.write, rel=1e-9)
        assert est.area == pytest.approx(row.area, rel=1e-9)
        # The anchor's leakage per cycle is the published mW x cycle, rounded to 6 digits.
        assert est.leak == pytest.approx(row.leak_mw * 1e-3 * CYCLE_SECONDS * 1e12, rel=1e-5)


@pytest.mark.parametrize("width", [256.0, 4096.0, 8192.0])
def test_interpolation_between_table_points_is_monotonic(curve: cacti.SramCurve, width: float) -> None:
    table = _table(curve, width)
    for (d0, p0), (d1, p1) in zip(table, table[1:]):
        depths = [d0 * (d1 / d0) ** (i / 8) for i in range(9)]
        values = [curve.point(width, d) for d in depths]
        for q in cacti.QUANTITIES:
            ys = [getattr(v, q) for v in values]
            assert ys[0] == getattr(p0, q) and ys[-1] == pytest.approx(getattr(p1, q), rel=1e-12)
            steps = [b - a for a, b in zip(ys, ys[1:])]
            assert all(s >= 0 for s in steps) or all(s <= 0 for s in steps), (q, d0, d1, ys)


def test_interpolation_in_width_lands_on_both_widths(curve: cacti.SramCurve) -> None:
    depth = 4096.0
    lo, hi = curve.point(2048, depth), curve.point(4096, depth)
    mid = curve.point(math.sqrt(2048 * 4096), depth)
    for q in cacti.QUANTITIES:
        assert mid.__getattribute__(q) == pytest.approx(math.sqrt(getattr(lo, q) * getattr(hi, q)), rel=1e-12)


def test_size_outside_the_table_names_it(curve: cacti.SramCurve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cacti, "live_cacti_enabled", lambda: False)
    depth = 512 * 2**20 * 8 // L3_WIDTH  # 512 MiB, beyond the table's 256 MiB
    with pytest.raises(SpecError, match=r"width 4096 bits x depth 1048576 rows \(512 MiB\) is outside"):
        curve.point(L3_WIDTH, depth)


#: Sizes between table points (3, 12 and 48 MiB at the L3's width): live CACTI vs the interpolated table.
LIVE_DEPTHS = [6144, 24576, 98304]


@pytest.fixture(scope="module")
def live_cacti() -> None:
    """Skip without live CACTI: hwcomponents-cacti importable here or in $FUSEMAX_PY312 /
    .venv-accelforge (which .ci/run sets up)."""
    if not cacti.live_cacti_available():
        pytest.skip("no live CACTI: hwcomponents-cacti (PyPI; Python >= 3.12) is neither importable here "
                    "nor in $FUSEMAX_PY312 or .venv-accelforge")


@pytest.mark.usefixtures("live_cacti")
@pytest.mark.parametrize("depth", sorted(PUBLISHED_CACTI))
def test_live_cacti_reproduces_the_published_rows(depth: int) -> None:
    read_nj, write_nj, leak_mw, area_mm2 = PUBLISHED_CACTI[depth]
    point = cacti.run_cacti(L3_WIDTH, depth)
    assert (point.read, point.write, point.leak_mw, point.area) == pytest.approx(
        (read_nj * 1e3, write_nj * 1e3, leak_mw, area_mm2 * 1e6), rel=1e-12)


@pytest.mark.usefixtures("live_cacti")
@pytest.mark.parametrize("depth", LIVE_DEPTHS)
def test_live_cacti_agrees_with_the_table(curve: cacti.SramCurve, depth: int) -> None:
    live = cacti.run_cacti(L3_WIDTH, depth)
    table = curve.point(L3_WIDTH, depth)
    for q in cacti.QUANTITIES:
        assert getattr(table, q) == pytest.approx(getattr(live, q), rel=0.01), q


def test_live_cacti_asked_for_where_it_cannot_run_is_one_error(monkeypatch, tmp_path, capsys):
    # issue 28: FUSEMAX_LIVE_CACTI=1 without a Python 3.12 used the table's extrapolation without a word
    from fusemax import py312
    from fusemax.cli import main

    def unavailable() -> None:
        raise py312.InterpreterUnavailable("no Python >= 3.12 for AccelForge and live CACTI")
    monkeypatch.setattr(cacti, "_cacti_interpreter", unavailable)
    monkeypatch.setenv("FUSEMAX_LIVE_CACTI", "1")
    with pytest.raises(py312.InterpreterUnavailable, match="FUSEMAX_LIVE_CACTI=1 asks for live CACTI"):
        cacti.live_cacti_enabled()
    argv = ["run", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "--quiet", "--configs",
            "binding", "--models", "BERT", "--seq-lens", "1K", "--l3-bytes", "1GiB"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "FUSEMAX_LIVE_CACTI=1 asks for live CACTI" in err and "no Python >= 3.12" in err
    assert not (tmp_path / "out" / "results").exists()
    monkeypatch.setenv("FUSEMAX_LIVE_CACTI", "0")   # not asked for: the table and its extrapolation, silently
    assert cacti.live_cacti_enabled() is False
