"""FLAT's own dataflow selection, for workloads the paper's table (``mappings/flat_dataflows.yaml``) lacks.

The table holds the dataflows FLAT chose for the paper's models (BERT, TrXL, T5, XLM) at its lengths. For any
other workload this module does what FLAT's search does: enumerate the dataflows, evaluate each through
the real pipeline (render with ``flat_dataflow=choice`` -> builtin engine -> the flat combination,
:func:`fusemax.combine.point.combine_rendered`), charging what overbooks the L3 as spilled traffic, and keep
the fastest.

Search space:
    * placements: each of Q, K, V and AV on or off chip; the score matrix QK and the probabilities A share
      one placement (FLAT fuses QK -> softmax -> A, and the softmax passes read and write them in one place),
      so 2**5 placements;
    * stationarity of QK and of AV on the 2D array: input, weight or output each (9 pairs);
    * fusion granularity: ``row`` with P1 among the divisors of P that are multiples of the PE dimension and
      smaller than P (ascending), then ``head`` (the whole P, the largest block);
    * under grouped-query attention (G = H / KV > 1), the query heads of a K/V group per tile
      (:func:`group_options`): one head (FLAT as published) or the whole group (its G x P1 rows share one
      K/V tile, so K/V come from DRAM once per K/V head where the stationarity or the L3 keeps them).

Spill: like FLAT, a dataflow may overbook the L3; the overflow goes to DRAM. Render derives each candidate's
spilled proportion from FLAT's buffer count (:func:`fusemax.render.flat_dataflow.spilled_proportion`, the rule
that reproduces the paper's published proportions), and the combination charges the spilled traffic. So
every candidate is legal and pays for what does not fit.

Candidates whose blocks Timeloop cannot map at all (larger than the spill room of ``arch/baseline-2d``, 32x the
L3, so spilling over 97 %) are dropped.

Selection: lowest latency; ties go to lower DRAM traffic, then to the first candidate in the order above
(one head's candidates before the whole group's, so where sharing gains nothing FLAT keeps the tiles it
would pick for one head; then placements in binary order of Q, K, QK/A, V, AV with off first;
stationarities input, weight, output; ascending blocks). Energy is not computed while searching.

Caching: results are kept per (attention group, hardware) in the process and, given a job cache
(:func:`dataflow_for` with ``cache``, as ``fusemax run`` does), stored like a job: one checksummed entry keyed
by the group, the hardware, the builtin engine's version and a hash of fusemax's code and templates
(:func:`search_key`). The candidates are not cached one by one: rendering ~2,000 of them costs as much as
evaluating them, so a warm rerun skips the whole search or nothing.

Which workloads search: :func:`dataflow_for` returns None (use the table) for the paper's models, prefill, at
a tabulated length, and a searched choice otherwise (other models, other lengths, decode steps).

One search per attention group: FLAT's mappings loop the batch and the KV heads outermost at DRAM, around
work that is the same for every sequence and KV group (the L3 tiles, hence the spill, are per group), so
each candidate's cycles and traffic are those of one group times batch x KV heads and the fastest
candidate does not depend on either. The search therefore runs on :func:`per_group` (one sequence, one
KV group: its query heads, head dims and lengths) and serves every batch and every model of that shape;
``tests/experiments/test_flat_search.py`` compares it with searches of the whole workload.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

from fusemax import paper
from fusemax.backends.names import BUILTIN
from fusemax.combine.point import combine_rendered
from fusemax.errors import FusemaxError
from fusemax.orchestrator.keys import result_key
from fusemax.orchestrator.rendered import configuration_jobs, evaluate_rendered
from fusemax.render import render
from fusemax.render.flat_dataflow import STATIONARITIES, FlatDataflow, dataflow_table
from fusemax.workload import PREFILL, Hardware, Model, Workload, resolve_model

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.orchestrator import Cache, Executor

#: Placement switches in enumeration order; "QK" stands for the score matrix QK and the probabilities A.
_PLACED = ("Q", "K", "QK", "V", "AV")
BACKEND = BUILTIN


@dataclass(frozen=True)
class Candidate:
    """One evaluated FLAT dataflow: its latency (s), DRAM traffic (bytes) and spilled proportion."""

    dataflow: FlatDataflow
    latency: float
    traffic: float
    spilled: float


def per_group(workload: Workload) -> Workload:
    """What FLAT's search evaluates for ``workload``: one sequence and one KV group (its H / KV query heads,
    sharing one K and V head), at the same lengths and phase. D and S do not enter attention."""
    m = workload.model
    group = m.H // m.KV
    model = Model(f"E{m.E}xG{group}", D=m.E * group, H=group, E=m.E, F=m.F, S=m.E * group,
                  kv_heads=1 if group > 1 else None)
    return Workload(model, workload.seq_len, workload.phase, batch=1, span=workload.span)


def _shape(model: Model) -> tuple[int, ...]:
    return (model.D, model.H, model.E, model.F, model.S)


@lru_cache(maxsize=None)
def _table_shapes() -> frozenset[tuple[int, ...]]:
    return frozenset(_shape(resolve_model(name, None)) for name in paper.MODELS)


def uses_table(workload: Workload) -> bool:
    """True for the paper's models (matched by their dimensions), prefill, at a length the table holds."""
    table = dataflow_table()
    return (workload.phase == PREFILL and workload.span is None and _shape(workload.model) in _table_shapes()
            and workload.M in table.get(workload.model.E, {}))


def p1_options(queries: int, pe_dim: int) -> list[int]:
    """FLAT's row blocks: divisors of P that are multiples of the PE dimension and below P, ascending."""
    return [d for d in range(pe_dim, queries, pe_dim) if queries % d == 0]


def group_options(model: Model) -> tuple[int, ...]:
    """Query heads of a K/V group per tile: one head (FLAT as published), then the whole group; one for
    multi-head models. Not every divisor: one head keeps FLAT's blocks where a group's rows
    would overbook the L3 (prefill), the whole group reads K/V once where they must stream (decode), and
    each option costs a full pass over the other choices."""
    group = model.H // model.KV
    return (1, group) if group > 1 else (1,)


def _placements() -> list[frozenset[str]]:
    placements = []
    for bits in itertools.product((False, True), repeat=len(_PLACED)):
        onchip = {t for t, on in zip(_PLACED, bits) if on}
        if "QK" in onchip:
            onchip.add("A")
        placements.append(frozenset(onchip))
    return placements


def evaluate_dataflows(workload: Workload, hardware: Hardware,
                       dataflows: list[FlatDataflow]) -> list[Candidate | None]:
    """Evaluate FLAT under each dataflow through render -> builtin engine -> flat combination (no energy).

    None marks a dataflow whose tiles Timeloop cannot map (a block larger than even the architecture's spill
    room). Einsum specs shared between dataflows (same tiling and placement of their operands) run once.
    """
    label = f"flat {workload.label}"
    items = []
    for dataflow in dataflows:
        rendered = render("flat", workload, hardware, flat_dataflow=dataflow)
        items.append((rendered, configuration_jobs(rendered, BACKEND, label)))
    out: list[Candidate | None] = []
    for dataflow, evaluated in zip(dataflows, evaluate_rendered(items)[0]):
        if evaluated.error is not None:
            raise FusemaxError(evaluated.error, source=f"{label} ({dataflow.source})")
        if not evaluated.mappable:
            out.append(None)
            continue
        result = combine_rendered(evaluated, with_energy=False)
        out.append(Candidate(dataflow, result.latency, result.traffic, evaluated.rendered.params["proportion_spilled"]))
    return out


#: Searches done in this process or handed back by :func:`prefetch`'s workers: (workload, hardware) -> result.
_SEARCHED: dict[tuple[Workload, Hardware], tuple[Candidate, int]] = {}


def search(workload: Workload, hardware: Hardware = Hardware()) -> tuple[Candidate, int]:
    """The fastest candidate for ``workload``'s attention group (:func:`per_group`; its latency and
    traffic are the group's) and how many mappable candidates were compared (see the module doc)."""
    group = per_group(workload)
    done = _SEARCHED.get((group, hardware))
    if done is None:
        done = _SEARCHED[(group, hardware)] = _search(group, hardware)
    return done


def clear_searches() -> None:
    """Forget this process's searches (as a new process would start)."""
    _SEARCHED.clear()


def _search(workload: Workload, hardware: Hardware) -> tuple[Candidate, int]:
    where = workload.label
    blocks = [("row", p1) for p1 in p1_options(workload.P, hardware.pe_dim)] + [("head", workload.P)]
    dataflows = [FlatDataflow(onchip, qk, av, fusion, p1, heads, source=f"searched ({where})")
                 for heads in group_options(workload.model) for onchip in _placements()
                 for qk in STATIONARITIES for av in STATIONARITIES for fusion, p1 in blocks]
    candidates = [c for c in evaluate_dataflows(workload, hardware, dataflows) if c is not None]
    if not candidates:
        raise FusemaxError("Timeloop cannot map any FLAT dataflow", source=where)
    # min() keeps the first of equal keys: remaining ties go to the enumeration order
    return min(candidates, key=lambda c: (c.latency, c.traffic)), len(candidates)


def _search_job(workload: Workload, hardware: Hardware) -> tuple[Candidate, int] | None:
    """Worker entry point of :func:`prefetch`: the search's result, or None when it fails (the planner then
    repeats it in its own process, which raises the error where a serial run would)."""
    try:
        return search(workload, hardware)
    except FusemaxError:
        return None


def prefetch(workloads: Iterable[Workload], hardware: Hardware, executor: "Executor",
             cache: "Cache | None" = None) -> int:
    """Run the searches of ``workloads`` that neither this process nor ``cache`` holds on ``executor``,
    all at once, and keep their results in this process (and in ``cache``); returns how many ran.

    The searches are independent, so planning a sweep no longer runs them one after the other; what
    :func:`dataflow_for` then returns is exactly what it would have computed itself."""
    todo = []
    for workload in dict.fromkeys(per_group(w) for w in workloads if not uses_table(w)):
        if (workload, hardware) in _SEARCHED:
            continue
        if cache is not None and cache.get(search_key(workload, hardware), holds="flat_dataflow") is not None:
            continue
        todo.append(workload)
    if len(todo) < 2:
        return 0  # nothing to spread: dataflow_for searches in this process as before
    # Longest first (a search's cost grows with its row blocks), so no worker is left with a long one at
    # the end; results are keyed by workload, so the order changes nothing else.
    todo.sort(key=lambda w: -len(p1_options(w.P, hardware.pe_dim)))
    for i, result in executor.run(_search_job, [(w, hardware) for w in todo]):
        if result is not None:
            _SEARCHED[(todo[i], hardware)] = result
            if cache is not None:
                _store(todo[i], hardware, cache, result)
    return len(todo)


def select_flat_dataflow(workload: Workload, hardware: Hardware = Hardware()) -> tuple[FlatDataflow, float, int]:
    """FLAT's own choice for ``workload``: (dataflow, its latency in s on ``workload``, mappable candidates
    compared)."""
    best, evaluated = search(workload, hardware)
    (whole,) = evaluate_dataflows(workload, hardware, [best.dataflow])
    if whole is None:  # the group's tiles are the workload's, so this would be a bug: say so
        raise FusemaxError("internal: FLAT's choice for one attention group does not map the whole workload",
                           source=workload.label)
    return best.dataflow, whole.latency, evaluated


def search_key(workload: Workload, hardware: Hardware) -> str:
    """The cache key of FLAT's search for ``workload`` on ``hardware``: that of its attention group
    (:func:`per_group`), shared by every batch and model of the group's shape (see the module doc)."""
    return result_key("flat-dataflow-search", per_group(workload), hardware, BACKEND, kinds=("model",))


def _cached_choice(workload: Workload, hardware: Hardware, cache: "Cache") -> FlatDataflow:
    key = search_key(workload, hardware)
    hit = cache.get(key, holds="flat_dataflow")
    if hit is not None:
        try:
            return FlatDataflow.from_params(hit)
        except (KeyError, TypeError, ValueError, FusemaxError):  # checksummed, yet not a dataflow
            cache.reject(key)
    found = search(workload, hardware)
    _store(workload, hardware, cache, found)
    return found[0].dataflow


def _store(workload: Workload, hardware: Hardware, cache: "Cache", found: tuple[Candidate, int]) -> None:
    best, evaluated = found
    cache.put(search_key(workload, hardware),
              {"flat_dataflow": {**best.dataflow.as_dict(), "spilled": best.dataflow.spilled},
               "latency": best.latency, "traffic": best.traffic, "candidates": evaluated},
              f"flat search {workload.label}", BACKEND)


def dataflow_for(workload: Workload, hardware: Hardware = Hardware(), cache: "Cache | None" = None) -> FlatDataflow | None:
    """None when the paper's table covers ``workload`` (render then uses it), else the searched dataflow
    (from ``cache`` when it holds this search, and stored there when not)."""
    if uses_table(workload):
        return None
    if cache is not None:
        return _cached_choice(workload, hardware, cache)
    return select_flat_dataflow(workload, hardware)[0]
