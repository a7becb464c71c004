"""FLAT's own dataflow search against the dataflows FLAT published for the paper's models.

Truth: the paper's choices (``mappings/flat_dataflows.yaml``, from the artifact's flat_validation.csv),
evaluated through the same render -> engine -> combination pipeline, and spills derived by hand.
"""
from __future__ import annotations

import pytest

from fusemax.configs import REGISTRY
from fusemax.experiments.sweep import Point, plan_point
from fusemax.render.flat_dataflow import FlatDataflow, flat_dataflow
from fusemax.select.flat import evaluate_dataflows, select_flat_dataflow
from fusemax.workload import Hardware, Workload, parse_seq_len, resolve_model

FLAT = REGISTRY["flat"]
PAPER = [(m, s) for m in ("BERT", "TrXL", "T5", "XLM") for s in ("1K", "4K", "16K", "64K", "256K", "1M")]


def _workload(model: str, length: str) -> Workload:
    return Workload(resolve_model(model, None), parse_seq_len(length))


@pytest.mark.parametrize("model, length", PAPER, ids=[f"{m}-{s}" for m, s in PAPER])
def test_search_is_no_slower_than_the_paper_choice(model, length):
    w, hw = _workload(model, length), Hardware()
    table = flat_dataflow(w.model.E, w.M)
    (published,) = evaluate_dataflows(FLAT, w, hw, [table])
    chosen, latency, evaluated = select_flat_dataflow(FLAT, w, hw)
    assert evaluated > 500
    assert latency <= published.latency * (1 + 1e-12), (chosen, latency, published.latency)


def test_overbooking_choices_are_legal_and_pay_for_their_spill():
    # At 64K the paper's choice overbooks the 32 MiB L3 by 1/128 (FLAT spills 1/129) and is still the fastest.
    w, hw = _workload("BERT", "64K"), Hardware()
    (published,) = evaluate_dataflows(FLAT, w, hw, [flat_dataflow(64, 65536)])
    assert published.spilled == 1 - 128 / 129
    _, latency, _ = select_flat_dataflow(FLAT, w, hw)
    assert latency == published.latency


@pytest.mark.parametrize("model, length", [("Llama-2-7B", "4K"), ("Pythia-14M", "1K"), ("OPT-66B", "64K")])
def test_models_outside_the_table_get_a_searched_choice(model, length):
    w, hw = _workload(model, length), Hardware()
    chosen, latency, _ = select_flat_dataflow(FLAT, w, hw)
    # the nearest table entry is what render falls back to without the search; the search must not lose to it
    (nearest,) = evaluate_dataflows(FLAT, w, hw, [flat_dataflow(w.model.E, w.M)])
    assert 0 < latency <= nearest.latency * (1 + 1e-12)
    rendered = plan_point(Point("flat", model, w.seq_len, mask="none")).rendered   # one dense rectangle
    assert rendered.params["flat_dataflow"]["source"].startswith("searched")
    assert rendered.params["flat_dataflow"]["onchip"] == sorted(chosen.onchip, key=["Q", "K", "QK", "A", "V", "AV"].index)


def test_blocks_timeloop_cannot_map_are_dropped():
    # A whole 64K x 64K score block per head (8 GiB) exceeds even the architecture's 1 GiB spill room.
    w = _workload("BERT", "64K")
    head = FlatDataflow(frozenset({"QK", "A"}), "output", "output", "head", w.P)
    assert evaluate_dataflows(FLAT, w, Hardware(), [head]) == [None]


def test_paper_models_keep_the_table():
    rendered = plan_point(Point("flat", "BERT", 4096)).rendered
    assert rendered.params["flat_dataflow"]["source"] == "flat_dataflows.yaml head_dim 64, 4K"


def _no_search(*args, **kwargs):
    raise AssertionError("FLAT's search ran although the cache holds its choice")


def test_the_searched_choice_is_cached_like_a_job(tmp_path, monkeypatch):
    """A warm run takes FLAT's choice from the job cache: the same dataflow the uncached search picks,
    without evaluating a candidate."""
    from fusemax.select import flat as flat_search
    from fusemax.orchestrator import Cache
    w, hw = _workload("Pythia-14M", "1K"), Hardware()
    truth = select_flat_dataflow(FLAT, w, hw)[0]
    cache = Cache(tmp_path)
    assert flat_search.dataflow_for(FLAT, w, hw, cache) == truth and cache.entries() == 1
    monkeypatch.setattr(flat_search, "_evaluate", _no_search)
    cached = flat_search.dataflow_for(FLAT, w, hw, Cache(tmp_path))
    assert (cached, cached.source, cached.spilled) == (truth, truth.source, truth.spilled)
    # another L3 is another search: a miss, so the search runs (here: refuses to)
    with pytest.raises(AssertionError, match="search ran"):
        flat_search.dataflow_for(FLAT, w, Hardware(l3_bytes=16 * 2**20), Cache(tmp_path))


def test_a_cached_choice_that_is_not_a_dataflow_is_rejected_and_searched_again(tmp_path):
    from fusemax.select import flat as flat_search
    from fusemax.orchestrator import Cache
    w, hw = _workload("Pythia-14M", "1K"), Hardware()
    key = flat_search.search_key(w, hw)
    Cache(tmp_path).put(key, {"flat_dataflow": {"onchip": ["Q"], "QK": "sideways"}})  # valid checksum
    cache = Cache(tmp_path)
    assert flat_search.dataflow_for(FLAT, w, hw, cache) == select_flat_dataflow(FLAT, w, hw)[0]
    assert cache.rejected == [cache.path(key)] and cache.get(key, holds="flat_dataflow") is not None


def test_search_key_names_what_the_choice_depends_on():
    from fusemax.select.flat import search_key
    w, hw = _workload("Pythia-14M", "1K"), Hardware()
    keys = {search_key(w, hw), search_key(_workload("Pythia-14M", "2K"), hw),
            search_key(Workload(w.model, w.seq_len, "decode"), hw), search_key(_workload("BERT", "1K"), hw),
            search_key(w, Hardware(pe_dim=128)), search_key(w, Hardware(dram_bandwidth=1e11))}
    assert len(keys) == 6 and search_key(w, hw) == search_key(_workload("Pythia-14M", "1K"), Hardware())
    # one search per attention group: batch, the number of KV groups, D and S are not part of it
    assert search_key(Workload(w.model, w.seq_len, batch=8), hw) == search_key(w, hw)
    assert search_key(_workload("BERT", "1K"), hw) == search_key(_workload("BERT-large", "1K"), hw)


WHOLE = [("Llama-3-8B", "1K", "decode", 4), ("BERT", "512", "prefill", 3), ("Pythia-14M", "64", "prefill", 64)]


@pytest.mark.parametrize("model, length, phase, batch", WHOLE, ids=["-".join(map(str, c)) for c in WHOLE])
def test_searching_one_attention_group_picks_what_searching_the_whole_workload_picks(model, length, phase, batch):
    """The search runs on one sequence and one KV group; searched over the whole workload (every candidate
    evaluated at its batch and heads), FLAT picks the same dataflow, and each candidate's latency and traffic
    are the group's times batch x KV heads."""
    from fusemax.select import flat as flat_search
    w = Workload(resolve_model(model, None), parse_seq_len(length), phase, batch)
    hw = Hardware()
    group = flat_search.per_group(w)
    best_group, n = flat_search.search(FLAT, w, hw)
    whole, n_whole = flat_search._search(FLAT, w, hw)  # the search as it was, on the whole workload
    assert (n, whole.dataflow.as_dict() | {"source": ""}) == (n_whole, best_group.dataflow.as_dict() | {"source": ""})
    copies = batch * w.model.KV
    assert whole.traffic == best_group.traffic * copies
    assert whole.latency == pytest.approx(best_group.latency * copies, rel=1e-12)
    assert group.batch == 1 and group.model.H == w.model.H // w.model.KV and group.model.KV == 1


def test_search_key_changes_with_the_templates(tmp_path, monkeypatch):
    import shutil

    from fusemax import templates
    from fusemax.select import flat as flat_search
    from fusemax.orchestrator.keys import code_fingerprint
    for d in ("arch", "problems", "mappings"):
        shutil.copytree(templates.template_root() / d, tmp_path / d)
    monkeypatch.setattr(templates, "template_root", lambda: tmp_path)
    w, hw = _workload("Pythia-14M", "1K"), Hardware()
    code_fingerprint.cache_clear()
    before = flat_search.search_key(w, hw)
    template = tmp_path / "mappings" / "flat" / "qk.yaml.j2"
    template.write_text(template.read_text() + "\n# edited\n")
    code_fingerprint.cache_clear()
    after = flat_search.search_key(w, hw)
    code_fingerprint.cache_clear()  # the real templates again for later tests
    assert before != after


PRUNED = [("Llama-3-8B", 1024, "prefill", (256, 1024)), ("Llama-3-8B", 4096, "decode", None),
          ("Llama-3-8B", 65536, "decode", None), ("BERT", 4096, "prefill", None),
          ("Pythia-14M", 16, "prefill", None), ("OPT-66B", 256, "decode", None)]


@pytest.mark.parametrize("model, length, phase, span", PRUNED, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in PRUNED])
def test_the_pruned_search_picks_what_evaluating_every_candidate_picks(model, length, phase, span):
    """The best-first search stops when the lowest bound left loses to the best found; evaluating every
    candidate (the search as it was) picks the same dataflow. The bound's premises hold on every candidate:
    none beats the bound read off the first all-in-DRAM candidate, and each Einsum's compute latency is the
    same for every candidate sharing its loop nest (so learning it from any of them, in any order, keeps a
    bound), which then still holds for every candidate."""
    from fusemax.select import flat as flat_search
    hw = Hardware()
    w = flat_search.per_group(Workload(resolve_model(model, None), length, phase, 1, span=span))
    dataflows = flat_search.candidates(w, hw)
    pruned, _ = flat_search._search(FLAT, w, hw)
    found = flat_search._evaluate(FLAT, w, hw, dataflows)
    best = min((f[0] for f in found if f is not None), key=lambda c: (c.latency, c.traffic))
    assert (pruned.dataflow, pruned.latency, pruned.traffic) == (best.dataflow, best.latency, best.traffic)
    _, evaluated, result = next(f for d, f in zip(dataflows, found) if not d.onchip and f is not None)
    bound = flat_search._Bound.of(evaluated, result)
    assert all(bound.learn(d, f[1], f[2]) for d, f in zip(dataflows, found) if f is not None)
    for dataflow, f in zip(dataflows, found):
        latency, traffic = bound.of_dataflow(dataflow)
        assert f is None or (latency <= f[0].latency and traffic <= f[0].traffic), dataflow


def _evaluations(monkeypatch) -> list[int]:
    """Counts the candidates the search evaluates (one list entry per candidate)."""
    from fusemax.select import flat as flat_search
    evaluated: list[int] = []
    real = flat_search._evaluate

    def counting(flat, workload, hardware, dataflows, known=None):
        evaluated.extend([1] * len(dataflows))
        return real(flat, workload, hardware, dataflows, known)

    monkeypatch.setattr(flat_search, "_evaluate", counting)
    return evaluated


def test_a_search_whose_softmax_bounds_every_candidate_evaluates_two(monkeypatch):
    """Pythia-14M at 16 tokens: its four softmax passes on the 1D array take longer than QK and AV on the
    2D array and run the same loops under every dataflow (their mappings take none of it). Once the
    all-in-DRAM candidate that gives the bound is evaluated, every candidate's latency bound is that
    softmax time, and the least traffic bound is that of QK/A on chip, whose first candidate in the
    enumeration meets it: the search evaluates those two candidates of 288 (the batched search evaluated
    9 + 8)."""
    from fusemax.select import flat as flat_search
    hw = Hardware()
    w = flat_search.per_group(_workload("Pythia-14M", "16"))
    evaluated = _evaluations(monkeypatch)
    best, ruled = flat_search._search(FLAT, w, hw)
    assert (len(evaluated), ruled) == (2, 288)
    assert best.dataflow.onchip == {"QK", "A"} and flat_search.candidates(w, hw).index(best.dataflow) == 36
    row = flat_search._evaluate(FLAT, w, hw, [best.dataflow])[0][2]
    assert best.latency == row.comp_1d > row.comp_2d


@pytest.fixture(scope="module")
def decode_truth():
    """Llama-3-8B decoding at 4K (its loop nests' compute latencies differ), every candidate evaluated."""
    from fusemax.select import flat as flat_search
    hw = Hardware()
    w = flat_search.per_group(Workload(resolve_model("Llama-3-8B", None), 4096, "decode", 1))
    return w, flat_search._exhaustive(FLAT, w, hw, flat_search.candidates(w, hw))


def test_a_bound_that_does_not_hold_falls_back_to_every_candidate(monkeypatch, decode_truth):
    """A bound above a candidate's true cost (a model change the bound does not know of) must not prune the
    true best: the search notices and evaluates every candidate."""
    from fusemax.select import flat as flat_search
    w, truth = decode_truth
    monkeypatch.setattr(flat_search._Bound, "of_dataflow", lambda self, d: (1.0, 1e30))  # far too high
    assert flat_search._search(FLAT, w, Hardware()) == truth


def test_a_candidate_that_contradicts_what_the_bound_learned_falls_back_to_every_candidate(monkeypatch,
                                                                                        decode_truth):
    """An evaluated candidate whose compute or off-chip traffic contradicts what the bound learned from
    another (:meth:`_Bound.learn` refuses it) makes the search evaluate every candidate."""
    from fusemax.select import flat as flat_search
    w, truth = decode_truth
    real = flat_search._Bound.learn
    learned: list[bool] = []

    def once(self, *args):  # the first candidate teaches the bound, the next one contradicts it
        learned.append(real(self, *args))
        return len(learned) == 1

    monkeypatch.setattr(flat_search._Bound, "learn", once)
    every = []
    exhaustive = flat_search._exhaustive
    monkeypatch.setattr(flat_search, "_exhaustive", lambda *args: every.append(1) or exhaustive(*args))
    assert flat_search._search(FLAT, w, Hardware()) == truth and len(learned) == 2 and every == [1]


def test_learning_refuses_a_compute_that_differs_within_a_loop_nest(monkeypatch, decode_truth):
    """Were an Einsum's compute cycles to depend on more of the dataflow than :func:`_loops` names (a
    template change the bound does not know of), two evaluated candidates it takes for one loop nest
    disagree, and learning the second is refused. Here: one nest claimed for all, and QK's and AV's
    compute under input and under weight stationarity differ."""
    from fusemax.select import flat as flat_search
    w, _ = decode_truth
    monkeypatch.setattr(flat_search, "_loops", lambda einsum, dataflow: (einsum,))
    dataflows = flat_search.candidates(w, Hardware())
    inputs, weights = (next(d for d in dataflows if not d.onchip and d.qk_stationarity == d.av_stationarity == s)
                       for s in ("input", "weight"))
    a, b = flat_search._evaluate(FLAT, w, Hardware(), [inputs, weights])
    assert a[2].comp_latency != b[2].comp_latency
    bound = flat_search._Bound.of(a[1], a[2])
    assert bound.learn(inputs, a[1], a[2]) and not bound.learn(weights, b[1], b[2])


def test_learning_refuses_off_chip_traffic_that_differs_within_a_loop_nest(monkeypatch):
    """Likewise for the DRAM bytes of a tensor kept off chip: Llama-2-7B's 256 x 1024 prefill rectangle
    takes the same compute under AV's weight and output stationarities, while the off-chip V and AV move
    more under the first; with one nest claimed for all, learning the second is refused."""
    from fusemax.select import flat as flat_search
    hw = Hardware()
    w = flat_search.per_group(Workload(resolve_model("Llama-2-7B", None), 1024, "prefill", 1, span=(256, 1024)))
    monkeypatch.setattr(flat_search, "_loops", lambda einsum, dataflow: (einsum,))
    dataflows = flat_search.candidates(w, hw)
    pair = [next(d for d in dataflows if d.onchip == {"QK", "A"} and d.qk_stationarity == "input"
                 and d.av_stationarity == s) for s in ("weight", "output")]
    a, b = flat_search._evaluate(FLAT, w, hw, pair)
    assert [e.comp_latency for e in a[2].einsums] == [e.comp_latency for e in b[2].einsums]
    assert a[0].traffic > b[0].traffic
    bound = flat_search._Bound.of(a[1], a[2])
    assert bound.learn(pair[0], a[1], a[2]) and not bound.learn(pair[1], b[1], b[2])


def test_a_search_takes_the_einsum_jobs_an_earlier_search_ran(monkeypatch):
    """Two attention groups of one shape (the 256 x 256 prefill rectangle of a 512- and of a 1K-token
    sequence) name the same Einsum specs: in one process the second search runs no engine job and picks
    what it picks alone; a full memo is emptied first, and then the search runs its jobs again."""
    from fusemax.orchestrator import JobResults, RunCounts, rendered
    from fusemax.select import flat as flat_search
    hw, model = Hardware(), resolve_model("Llama-2-7B", None)
    a, b = (flat_search.per_group(Workload(model, n, "prefill", 1, span=(256, 256))) for n in (512, 1024))
    ran: list[int] = []
    real = rendered.run_jobs
    monkeypatch.setattr(rendered, "run_jobs", lambda jobs, *args: ran.append(len(jobs)) or real(jobs, *args))
    monkeypatch.setattr(flat_search, "_SEEN", JobResults({}, {}, {}, RunCounts()))
    alone = flat_search.search(FLAT, b, hw)
    monkeypatch.setattr(flat_search, "_SEEN", JobResults({}, {}, {}, RunCounts()))
    flat_search.search(FLAT, a, hw)
    ran.clear()
    after = flat_search.search(FLAT, b, hw)
    assert sum(ran) == 0 and len(ran) > 0
    assert (after[0].dataflow.as_dict(), after[0].latency, after[0].traffic, after[1]) == \
        (alone[0].dataflow.as_dict(), alone[0].latency, alone[0].traffic, alone[1])
    held = len(flat_search._SEEN.stats)
    monkeypatch.setattr(flat_search, "_SEEN_JOBS", held)  # full
    flat_search.search(FLAT, b, hw)
    assert sum(ran) == held == len(flat_search._SEEN.stats)  # every job of the search ran again


def test_the_select_stage_sends_flats_record_to_worker_processes():
    """Two attention groups the table lacks are two select jobs in a process pool: FLAT's record crosses to
    the workers (by its registry name) and they choose what a search in this process chooses."""
    from fusemax.orchestrator.executors import LocalExecutor
    from fusemax.select import flat as flat_search
    ws = [_workload("Pythia-14M", "256"), _workload("Pythia-14M", "512")]
    hw = Hardware()
    pooled = flat_search.select_dataflows(FLAT, ws, hw, LocalExecutor(2))
    assert not pooled.errors and len(pooled.dataflows) == 2
    assert [pooled.choice(w) for w in ws] == [flat_search.search(FLAT, w, hw)[0].dataflow for w in ws]
