"""The headline is taken per phase: prefill and decode points are never averaged into one number."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from fusemax.experiments.headline import format_headline, headline


def row(config: str, phase: str, latency: float, energy: float, seq_len: str = "1K"):
    return SimpleNamespace(config=config, model="BERT", seq_len=seq_len, phase=phase, latency=latency,
                           energy=energy)


def test_prefill_and_decode_get_their_own_means():
    rows = [row("binding", "prefill", 1.0, 1.0), row("flat", "prefill", 6.0, 2.0),
            row("binding", "prefill", 1.0, 1.0, "4K"), row("flat", "prefill", 8.0, 4.0, "4K"),
            row("binding", "decode", 2.0, 3.0), row("flat", "decode", 1.0, 1.0)]
    got = {h.phase: h for h in headline(rows, baselines=("flat",))}
    assert got["prefill"].points == 2 and got["prefill"].mean_speedup == pytest.approx(7.0)
    assert got["prefill"].mean_energy_ratio == pytest.approx((1 / 2 + 1 / 4) / 2)
    assert got["decode"].points == 1 and got["decode"].mean_speedup == pytest.approx(0.5)
    assert got["decode"].mean_energy_ratio == pytest.approx(3.0)
    table = format_headline(list(got.values()))
    assert "binding over flat (decode)" in table and "binding over flat " in table
