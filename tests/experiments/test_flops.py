"""One FLOP count for intensity: an Einsum's algorithmic FLOPs are the same in every configuration; what
an implementation spends on it (FuseMax's 6-mac exponential) is a column of its own."""
from __future__ import annotations

import pytest

from fusemax.experiments.sweep import Point, evaluate_point

B, H, E, M, P = 64, 12, 64, 1024, 1024   # BERT at 1K


@pytest.fixture(scope="module")
def einsums():
    out = {}
    for config in ("binding", "cascade", "flat"):
        outcome = evaluate_point(Point(config, "BERT", 1024), with_energy=False)
        assert outcome.error is None
        out[config] = {e.einsum: e for e in outcome.result.einsums}
    return out


def test_algorithmic_flops_are_the_same_in_every_configuration(einsums):
    binding, cascade, flat = einsums["binding"], einsums["cascade"], einsums["flat"]
    assert binding["QK"].flops == cascade["QK"].flops == flat["QK"].flops == 2 * B * H * E * M * P
    # exp(QK - RM): a subtraction and an exponential per score, however the array computes it
    assert binding["SLN"].flops == cascade["SLN"].flops == flat["SN"].flops == 2 * B * H * M * P
    assert {n: e.flops for n, e in binding.items()} == {n: e.flops for n, e in cascade.items()}


def test_the_implementations_operations_keep_their_own_column(einsums):
    assert einsums["binding"]["SLN"].ops == 13 * B * H * M * P      # 6 macs (2 FLOPs each) and an add
    assert einsums["cascade"]["SLN"].ops == 2 * B * H * M * P       # an exponential unit and an add
