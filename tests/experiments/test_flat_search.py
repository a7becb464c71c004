"""FLAT's own dataflow search against the dataflows FLAT published for the paper's models.

Truth: the paper's choices (``mappings/flat_dataflows.yaml``, from the artifact's flat_validation.csv),
evaluated through the same render -> engine -> combination pipeline, and spills derived by hand.
"""
from __future__ import annotations

import pytest

from fusemax.experiments.flat_search import evaluate_dataflows, select_flat_dataflow
from fusemax.experiments.sweep import Point, plan_point
from fusemax.render.flat_dataflow import FlatDataflow, flat_dataflow
from fusemax.workload import Hardware, Workload, parse_seq_len, resolve_model

PAPER = [(m, s) for m in ("BERT", "TrXL", "T5", "XLM") for s in ("1K", "4K", "16K", "64K", "256K", "1M")]


def _workload(model: str, length: str) -> Workload:
    return Workload(resolve_model(model, None), parse_seq_len(length))


@pytest.mark.parametrize("model, length", PAPER, ids=[f"{m}-{s}" for m, s in PAPER])
def test_search_is_no_slower_than_the_paper_choice(model, length):
    w, hw = _workload(model, length), Hardware()
    table = flat_dataflow(w.model.E, w.M)
    (published,) = evaluate_dataflows(w, hw, [table])
    chosen, latency, evaluated = select_flat_dataflow(w, hw)
    assert evaluated > 500
    assert latency <= published.latency * (1 + 1e-12), (chosen, latency, published.latency)


def test_overbooking_choices_are_legal_and_pay_for_their_spill():
    # At 64K the paper's choice overbooks the 32 MiB L3 by 1/128 (FLAT spills 1/129) and is still the fastest.
    w, hw = _workload("BERT", "64K"), Hardware()
    (published,) = evaluate_dataflows(w, hw, [flat_dataflow(64, 65536)])
    assert published.spilled == 1 - 128 / 129
    _, latency, _ = select_flat_dataflow(w, hw)
    assert latency == published.latency


@pytest.mark.parametrize("model, length", [("Llama-2-7B", "4K"), ("Pythia-14M", "1K"), ("OPT-66B", "64K")])
def test_models_outside_the_table_get_a_searched_choice(model, length):
    w, hw = _workload(model, length), Hardware()
    chosen, latency, _ = select_flat_dataflow(w, hw)
    # the nearest table entry is what render falls back to without the search; the search must not lose to it
    (nearest,) = evaluate_dataflows(w, hw, [flat_dataflow(w.model.E, w.M)])
    assert 0 < latency <= nearest.latency * (1 + 1e-12)
    rendered = plan_point(Point("flat", model, w.seq_len)).rendered
    assert rendered.params["flat_dataflow"]["source"].startswith("searched")
    assert rendered.params["flat_dataflow"]["onchip"] == sorted(chosen.onchip, key="Q K QK A V AV".split().index)


def test_blocks_timeloop_cannot_map_are_dropped():
    # A whole 64K x 64K score block per head (8 GiB) exceeds even the architecture's 1 GiB spill room.
    w = _workload("BERT", "64K")
    head = FlatDataflow(frozenset({"QK", "A"}), "output", "output", "head", w.P)
    assert evaluate_dataflows(w, Hardware(), [head]) == [None]


def test_paper_models_keep_the_table():
    rendered = plan_point(Point("flat", "BERT", 4096)).rendered
    assert rendered.params["flat_dataflow"]["source"] == "flat_dataflows.yaml head_dim 64, 4K"
