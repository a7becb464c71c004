"""The rows the artifact withholds (XLM x 6 lengths x 5 configurations) against the paper's printed figures.

Truth: the bars of the paper's vector figures (Figs. 6a, 6b, 8, 9), read by :mod:`tests.experiments.paper_bars`.
Figs. 8 and 9 draw latency and energy relative to the unfused baseline, so a bar over its group's unfused bar
is the published ratio itself; Figs. 6a/6b draw utilization on a scale fitted on the published BERT, TrXL
and T5 rows. On those published rows the figures agree with the CSVs to 6e-8, so they pin the XLM rows the
CSVs leave out: FLAT, cascade, arch and binding to the drawing's precision, unfused up to the mapper's gain.
"""
from __future__ import annotations

import csv
import statistics

import pytest

from fusemax.experiments import sweep
from fusemax.workload import parse_seq_len
from tests.shared_data import shared_dir

from .paper_bars import CONFIGS, LENGTHS, bar_heights

#: PDF coordinates carry about 7 digits; the published rows agree with their bars to 6e-8.
DRAWN = 1e-5
#: Unfused QK/AV come from a mapper. The artifact's is Timeloop's random search (4 threads x 100 mappings); ours
#: is exhaustive, so its mapping is never worse and sometimes better: at 256K, 0.05 % (BERT) and 0.21 % (XLM).
MAPPER_GAIN = 5e-3


def _figure(name: str) -> dict[tuple[str, str, str], float]:
    return bar_heights(shared_dir("reference", "fusemax-artifact", "figs", f"{name}.pdf"))


def _published() -> dict[str, dict[tuple[str, str], dict[str, str]]]:
    folder = shared_dir("reference", "fusemax-artifact", "results")
    return {c: {(r["model"], r["seq_len"]): r for r in csv.DictReader((folder / f"attn-{c}.csv").open())}
            for c in CONFIGS}


@pytest.fixture(scope="module")
def xlm():
    shared_dir("reference", "fusemax-artifact", "figs")   # skip before running the sweep when figures are absent
    outcomes = sweep.run_sweep(sweep.points(CONFIGS, ["XLM"], [parse_seq_len(s) for s in LENGTHS]), jobs=2)
    assert not [o.error for o in outcomes if o.error]
    return {(o.point.config, o.result.seq_len): o.result.csv_row() for o in outcomes}


def _check_unfused(mine: float, drawn: float, better_is: str, where) -> None:
    # as good as the artifact's mapping up to the drawing's precision, and better by at most MAPPER_GAIN
    low, high = (drawn * (1 - DRAWN), drawn * (1 + MAPPER_GAIN)) if better_is == "higher" else (
        drawn * (1 - MAPPER_GAIN), drawn * (1 + DRAWN))
    assert low <= mine <= high, (where, mine, drawn)


@pytest.mark.parametrize("figure, column", [("fig8", "latency"), ("fig9", "energy")])
def test_xlm_relative_to_flat_and_unfused(xlm, figure, column):
    # Fig. 8 draws unfused latency / latency, Fig. 9 energy / unfused energy; over the FLAT bar of the same
    # group the unfused bar cancels, which leaves the ratio of two configurations.
    bars = _figure(figure)
    for length in LENGTHS:
        flat = bars[("XLM", length, "flat")]
        for config in ("cascade", "arch", "binding"):
            drawn = bars[("XLM", length, config)] / flat
            ours = xlm[(config, length)][column] / xlm[("flat", length)][column]
            mine = 1 / ours if column == "latency" else ours
            assert mine == pytest.approx(drawn, rel=DRAWN), (config, length, mine, drawn)
        drawn = bars[("XLM", length, "unfused")] / flat
        ours = xlm[("unfused", length)][column] / xlm[("flat", length)][column]
        if column == "latency":
            _check_unfused(ours, 1 / drawn, "lower", length)
        else:
            assert ours == pytest.approx(drawn, rel=1e-2), (length, ours, drawn)


@pytest.mark.parametrize("figure, column", [("fig6a", "util_1d"), ("fig6b", "util_2d")])
def test_xlm_utilization(xlm, figure, column):
    bars, published = _figure(figure), _published()
    scale = statistics.median(bars[(model, length, config)] / float(row[column])
                              for config in CONFIGS for (model, length), row in published[config].items()
                              if float(row[column]) > 0)
    for length in LENGTHS:
        for config in CONFIGS:
            drawn, mine = bars[("XLM", length, config)] / scale, xlm[(config, length)][column]
            if config == "unfused":   # a faster unfused mapping keeps its arrays busier
                _check_unfused(mine, drawn, "higher", length)
            else:
                assert mine == pytest.approx(drawn, rel=DRAWN, abs=1e-6), (config, length, mine, drawn)
