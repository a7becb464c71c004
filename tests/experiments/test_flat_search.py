"""FLAT's own dataflow search against the dataflows FLAT published for the paper's models.

Truth: the paper's choices (``mappings/flat_dataflows.yaml``, from the artifact's flat_validation.csv),
evaluated through the same render -> engine -> combination pipeline, and footprints derived by hand.
"""
from __future__ import annotations

import pytest

from fusemax.experiments.flat_search import evaluate_dataflows, select_flat_dataflow
from fusemax.experiments.sweep import Point, plan_point
from fusemax.render.flat_dataflow import flat_dataflow
from fusemax.workload import Hardware, Workload, parse_seq_len, resolve_model

L3 = 32 * 2**20  # FLAT's on-chip buffer in the paper's cloud configuration
PAPER = [(m, s) for m in ("BERT", "TrXL", "T5", "XLM") for s in ("1K", "4K", "16K", "64K", "256K", "1M")]


def _workload(model: str, length: str) -> Workload:
    return Workload(resolve_model(model, None), parse_seq_len(length))


def _whole_block_bytes(dataflow, w: Workload) -> int:
    """Upper bound by hand: every on-chip tensor held whole for one head and one block of P1 queries."""
    e, p1, m = w.model.E, dataflow.p1 if dataflow.fusion == "row" else w.P, w.M
    words = {"Q": p1 * e, "K": m * e, "QK": p1 * m, "A": p1 * m, "V": m * e, "AV": p1 * e}
    return 2 * sum(words[t] for t in dataflow.onchip)


@pytest.mark.parametrize("model, length", PAPER, ids=[f"{m}-{s}" for m, s in PAPER])
def test_search_is_no_slower_than_the_paper_choice(model, length):
    w, hw = _workload(model, length), Hardware()
    table = flat_dataflow(w.model.E, w.M)
    (published,) = evaluate_dataflows(w, hw, [table])
    chosen, latency, evaluated = select_flat_dataflow(w, hw)
    assert evaluated > 100
    if latency > published.latency * (1 + 1e-12) and published.onchip_bytes > L3:
        pytest.xfail(f"the paper's choice overbooks the L3 ({published.onchip_bytes / 2**20:.1f} MiB, spilling "
                     f"{table.spilled:.2%} by FLAT's own count), outside the search's legal space: "
                     f"searched {latency:.4g} s vs paper {published.latency:.4g} s")
    assert latency <= published.latency * (1 + 1e-12)


@pytest.mark.parametrize("model, length", [("Llama-2-7B", "4K"), ("Pythia-14M", "1K")])
def test_models_outside_the_table_get_a_fitting_searched_choice(model, length):
    w = _workload(model, length)
    chosen, latency, _ = select_flat_dataflow(w)
    assert _whole_block_bytes(chosen, w) <= L3
    assert chosen.spilled == 0 and latency > 0
    rendered = plan_point(Point("flat", model, w.seq_len)).rendered
    assert rendered.params["flat_dataflow"]["source"].startswith("searched")
    assert rendered.params["flat_dataflow"]["onchip"] == sorted(chosen.onchip, key="Q K QK A V AV".split().index)


def test_paper_models_keep_the_table():
    rendered = plan_point(Point("flat", "BERT", 4096)).rendered
    assert rendered.params["flat_dataflow"]["source"] == "flat_dataflows.yaml head_dim 64, 4K"
