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

Pruning, as Timeloop's mapper prunes: a best-first search on a lower bound of each candidate's (latency,
traffic) known before it is rendered (:class:`_Bound`). The first candidate that keeps every tensor in DRAM
gives each Einsum's compute latency with every PE busy and each tensor's size; from then on every evaluated
candidate teaches the bound each Einsum's compute latency under that Einsum's loop nest (:func:`_loops`: QK's
factors follow QK's stationarity, AV's AV's, the softmax passes' neither, whatever the placement) and the
DRAM bytes of each tensor it keeps off chip under that nest (such a tensor bypasses the L3, so the rest of
the placement does not change them). A candidate's latency bound is its schedule's compute of what is known
(floors elsewhere) against the memory time of its traffic bound: every DRAM tensor moved once, an off-chip
one as learned. Candidates are evaluated one at a time, lowest bound first (a bound is raised when it comes
up and more is known), and the search stops when the lowest bound left loses to the best found. The choice
is the exhaustive search's: each evaluated candidate is checked against its bound and against what was
learned from the others (the same compute and off-chip bytes for the same nest), and a contradiction makes
the search evaluate every candidate; ``tests/experiments/test_flat_search.py`` compares both on prefill
and decode shapes, grouped-query and not, short and long, and checks on every candidate of each that what
the bound learns holds. The study's 121 searches evaluate 290 of their 44,352 candidates (3,138 when the
bound was read off one all-in-DRAM candidate per loop nest, by placement only, and evaluated in batches).
The searches of one process share their Einsum jobs' statistics (:data:`_SEEN`): groups of one shape at
several lengths, and the softmax passes of groups with the same lengths, name the same specs. One after
another in one process, as a select worker runs them, the study's searches take 1.8 CPU-s instead of 4.5
(``benchmarks/bench_flat_search.py --run``).

The select stage (:func:`select_dataflows`, given FLAT's record, which every candidate is rendered from) runs
one search per attention group as an orchestrator job and returns a :class:`Selected` table that render reads
(:meth:`Selected.choice`). Given a job cache (as ``fusemax run`` and ``run_all.py`` do), each search is
stored like a job: one checksummed entry keyed by the group, the hardware, the builtin engine's version and a
hash of fusemax's code and templates (:func:`search_key`). The candidates are not cached one by one, so a warm
rerun skips the whole search or nothing.

Which workloads search: :meth:`Selected.choice` returns None (use the table) for the paper's models, prefill, at
a tabulated length, and a searched choice otherwise (other models, other lengths, decode steps).

One search per attention group: FLAT's mappings loop the batch and the KV heads outermost at DRAM, around
work that is the same for every sequence and KV group (the L3 tiles, hence the spill, are per group), so
each candidate's cycles and traffic are those of one group times batch x KV heads and the fastest
candidate does not depend on either. The search therefore runs on :func:`per_group` (one sequence, one
KV group: its query heads, head dims and lengths) and serves every batch and every model of that shape;
``tests/experiments/test_flat_search.py`` compares it with searches of the whole workload.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

from fusemax import paper
from fusemax.backends.names import BUILTIN
from fusemax.combine.metrics import DRAM_LEVEL, compute_unit, dram_traffic
from fusemax.combine.point import combine_rendered
from fusemax.combine.roles import TrafficRule, roles
from fusemax.combine.schedule import ConfigResult
from fusemax.configs import Configuration
from fusemax.errors import FusemaxError
from fusemax.orchestrator import JobResults, RunCounts
from fusemax.orchestrator.keys import result_key
from fusemax.orchestrator.rendered import Evaluated, configuration_jobs, evaluate_rendered
from fusemax.render import render
from fusemax.render.flat_dataflow import STATIONARITIES, FlatDataflow, dataflow_table
from fusemax.workload import PREFILL, Hardware, Model, Workload, resolve_model

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.orchestrator import Cache, Executor

#: The Einsum jobs' statistics of this process's earlier searches, which a search takes as its own: a job's
#: key names everything that decides its statistics (as the job cache relies on), and searches of groups
#: of one shape at several lengths, or with the same softmax passes, name the same specs. Emptied when it
#: holds :data:`_SEEN_JOBS` (a BoundedMemo's rule); errors stay with the search that met them.
_SEEN = JobResults({}, {}, {}, RunCounts())
_SEEN_JOBS = 4096  # the study's 121 searches name about 1,300 (each some kB of statistics)

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


def evaluate_dataflows(flat: Configuration, workload: Workload, hardware: Hardware,
                       dataflows: list[FlatDataflow]) -> list[Candidate | None]:
    """Evaluate FLAT (its record ``flat``) under each dataflow through render -> builtin engine -> flat
    combination (no energy).

    None marks a dataflow whose tiles Timeloop cannot map (a block larger than even the architecture's spill
    room). Einsum specs shared between dataflows (same tiling and placement of their operands) run once.
    """
    return [None if done is None else done[0] for done in _evaluate(flat, workload, hardware, dataflows)]


def _evaluate(flat: Configuration, workload: Workload, hardware: Hardware, dataflows: list[FlatDataflow],
              known: JobResults | None = None) -> list[tuple[Candidate, Evaluated, ConfigResult] | None]:
    """:func:`evaluate_dataflows` with each candidate's statistics and row (what the bound is built from);
    ``known`` keeps the Einsum jobs' results between calls of one search."""
    label = f"flat {workload.label}"
    items = []
    for dataflow in dataflows:
        rendered = render(flat, workload, hardware, flat_dataflow=dataflow)
        items.append((rendered, configuration_jobs(rendered, BACKEND, label)))
    out: list[tuple[Candidate, Evaluated, ConfigResult] | None] = []
    for dataflow, evaluated in zip(dataflows, evaluate_rendered(items, known=known)[0]):
        if evaluated.error is not None:
            raise FusemaxError(evaluated.error, source=f"{label} ({dataflow.source})")
        if not evaluated.mappable:
            out.append(None)
            continue
        result = combine_rendered(evaluated, with_energy=False)
        spilled = evaluated.rendered.params["proportion_spilled"]
        out.append((Candidate(dataflow, result.latency, result.traffic, spilled), evaluated, result))
    return out


def _nest(dataflow: FlatDataflow) -> tuple:
    """What fixes a candidate's loop nests: its placement only keeps or bypasses tensors at a level
    (``mappings/flat``), while the factors come from :func:`fusemax.render.tiling.flat_tiling` of these."""
    return dataflow.group_heads, dataflow.qk_stationarity, dataflow.av_stationarity, dataflow.fusion, dataflow.p1


def _loops(einsum: str, dataflow: FlatDataflow) -> tuple:
    """What of :func:`_nest` fixes one Einsum's loop nest: QK's factors follow QK's stationarity and AV's
    AV's (:func:`fusemax.render.tiling.flat_tiling`), the softmax passes' neither, so candidates that share
    these share that Einsum's compute cycles."""
    own = dataflow.qk_stationarity if einsum == "QK" else dataflow.av_stationarity if einsum == "AV" else None
    return einsum, own, dataflow.group_heads, dataflow.fusion, dataflow.p1


@dataclass
class _Bound:
    """What bounds every candidate of one search from below, read off one evaluated candidate that keeps
    every tensor in DRAM: each Einsum's compute latency with every PE busy on every cycle (the problem's
    computes do not depend on the dataflow), raised to that Einsum's own compute latency under a loop nest
    (:func:`_loops`) once any candidate with that nest is evaluated; the configuration's schedule combines
    them into a compute latency (the same sums in the same order as the combination); and each Einsum's
    tensors' words.

    A candidate's DRAM traffic is at least, per Einsum, each tensor its roles move to DRAM once in full:
    an input is read and an output written at least once where it is kept, and a tensor kept in DRAM and in
    a spillable L3 moves ``1 - spilled`` of its DRAM traffic plus ``spilled`` of its L3 traffic, each at
    least its size. A tensor kept off chip (in DRAM only, bypassing the L3) moves exactly what its Einsum's
    loop nest moves, learned once a candidate with that nest is evaluated. Spilled traffic of tensors kept
    only on chip is bounded by zero. Memory and total latency follow from the traffic exactly as the
    combination computes them (the same sums in the same order, so the bound holds in floating point too).
    """

    config: Configuration  # FLAT's record, as its candidates were rendered
    floor: dict[str, float]  # Einsum -> its compute latency with every PE busy, in the combination's order
    arrays: dict[str, str]   # Einsum -> the array it runs on
    words: dict[str, dict[str, int]]
    word_bytes: int
    bandwidth: float
    #: (Einsum, its loop nest) -> its compute latency, from the evaluated candidates (:meth:`learn`)
    compute: dict[tuple, float] = field(default_factory=dict)
    #: (Einsum, tensor, the Einsum's loop nest) -> the bytes the tensor moves to and from DRAM where the
    #: placement keeps it off chip (it bypasses the L3, so nothing else of the placement changes them)
    offchip: dict[tuple, float] = field(default_factory=dict)
    #: placement -> per Einsum (in the combination's order): the bytes of its DRAM tensors, and its off-chip
    #: tensors with theirs
    dram: dict[frozenset[str], list[tuple[str, float, tuple[tuple[str, float], ...]]]] = field(default_factory=dict)
    #: the candidates' loop nests -> their compute latency bound from what is known now (:meth:`_compute`)
    nests: dict[tuple, float] = field(default_factory=dict)
    #: (placement, loop nest) -> (memory latency, traffic) bound from what is known now (:meth:`_moved`)
    moved: dict[tuple, tuple[float, float] | None] = field(default_factory=dict)

    @classmethod
    def of(cls, evaluated: Evaluated, result: ConfigResult) -> "_Bound | None":
        """The bound from the evaluation (statistics and row) of a candidate that keeps every tensor in
        DRAM; None when it cannot give one (then the search evaluates every candidate)."""
        conf, hardware = evaluated.rendered.config, evaluated.rendered.hardware
        if conf.schedule != "parallel":
            return None
        floor: dict[str, float] = {}
        words: dict[str, dict[str, int]] = {}
        for e in result.einsums:
            unit = compute_unit(evaluated.stats[e.einsum])
            if unit.instances < 1:
                return None
            cycles = -(-e.computes // unit.instances)
            scale = e.cost if conf.einsum(e.einsum).cost_scales_latency else 1
            floor[e.einsum] = cycles * scale / hardware.clock_hz
            dram = evaluated.stats[e.einsum].levels.get(DRAM_LEVEL)
            words[e.einsum] = {t: ds.utilized_capacity for t, ds in dram.dataspaces.items()} if dram else {}
        return cls(conf, floor, {e.einsum: e.array for e in result.einsums}, words, hardware.word_bytes,
                   hardware.dram_bandwidth)

    def learn(self, dataflow: FlatDataflow, evaluated: Evaluated, result: ConfigResult) -> bool:
        """Record each Einsum's compute latency and its off-chip tensors' DRAM bytes under an evaluated
        candidate's loop nests; False when one contradicts what the bound assumes (a compute below every PE
        busy, or either unlike another candidate's of the same nests)."""
        holds = True
        for e in result.einsums:
            loops = _loops(e.einsum, dataflow)
            if loops not in self.compute:
                self.compute[loops] = e.comp_latency
                self.nests.clear()  # a nest's compute may rise
            holds = holds and self.compute[loops] == e.comp_latency and e.comp_latency >= self.floor[e.einsum]
        for einsum, _, offchip in self._dram(dataflow) or ():
            for tensor, size in offchip:
                key = (einsum, tensor, _loops(einsum, dataflow))
                moved = sum(dram_traffic(evaluated.stats[einsum], TrafficRule(dram=frozenset({tensor})),
                                         word_bytes=self.word_bytes))
                if key not in self.offchip:
                    self.offchip[key] = moved
                    self.moved.clear()  # a candidate's traffic may rise
                holds = holds and self.offchip[key] == moved and moved >= size
        return holds

    def _compute(self, dataflow: FlatDataflow) -> float:
        """The parallel schedule's compute latency (:func:`fusemax.combine.schedule.parallel_compute`: the
        busier array) of what is known of each Einsum's, its floor where nothing is."""
        by_array: dict[str, float] = {}
        for einsum, floor in self.floor.items():
            array = self.arrays[einsum]
            by_array[array] = by_array.get(array, 0) + self.compute.get(_loops(einsum, dataflow), floor)
        return max(by_array.values())

    def of_dataflow(self, dataflow: FlatDataflow) -> tuple[float, float] | None:
        """(latency, traffic) no candidate under ``dataflow`` beats, with what is known so far of its loop
        nest; None when a tensor's size is unknown."""
        nest = _nest(dataflow)
        if (dataflow.onchip, nest) not in self.moved:
            self.moved[dataflow.onchip, nest] = self._moved(dataflow)
        found = self.moved[dataflow.onchip, nest]
        if found is None:
            return None
        mem, traffic = found
        if nest not in self.nests:
            self.nests[nest] = self._compute(dataflow)
        return max(self.nests[nest], mem), traffic

    def _dram(self, dataflow: FlatDataflow) -> list[tuple[str, float, tuple[tuple[str, float], ...]]] | None:
        """Per Einsum, the bytes of the tensors ``dataflow``'s placement sends to DRAM (each once), and
        those of them it keeps off chip (not spillable) with theirs; None when a tensor's size is unknown."""
        if dataflow.onchip not in self.dram:
            plan = []
            for name, role in roles(self.config, 0.0, dataflow).items():
                sizes = self.words.get(name, {})
                if not role.traffic.dram <= sizes.keys():
                    return None
                offchip = tuple((t, float(sizes[t] * self.word_bytes))
                                for t in sorted(role.traffic.dram - role.traffic.spillable))
                plan.append((name, float(sum(sizes[t] for t in role.traffic.dram)) * self.word_bytes, offchip))
            self.dram[dataflow.onchip] = plan
        return self.dram[dataflow.onchip]

    def _moved(self, dataflow: FlatDataflow) -> tuple[float, float] | None:
        """(memory latency, traffic): every DRAM tensor moved once, an off-chip one as its loop nest moves
        it where a candidate with that nest was evaluated (whole numbers of bytes: exact in floating point)."""
        plan = self._dram(dataflow)
        if plan is None:
            return None
        mem = traffic = 0.0
        for name, moved, offchip in plan:
            if offchip:
                loops = _loops(name, dataflow)
                for tensor, size in offchip:
                    learned = self.offchip.get((name, tensor, loops))
                    if learned is not None:
                        moved += learned - size
            traffic += moved
            mem += moved / self.bandwidth
        return mem, traffic


def search(flat: Configuration, workload: Workload, hardware: Hardware = Hardware()) -> tuple[Candidate, int]:
    """The fastest candidate of FLAT (its record ``flat``) for ``workload``'s attention group
    (:func:`per_group`; its latency and traffic are the group's) and how many candidates it was chosen
    from (see the module doc)."""
    return _search(flat, per_group(workload), hardware)


def candidates(workload: Workload, hardware: Hardware) -> list[FlatDataflow]:
    """Every dataflow FLAT's search considers for ``workload``, in its enumeration (tie-breaking) order."""
    where = workload.label
    blocks = [("row", p1) for p1 in p1_options(workload.P, hardware.pe_dim)] + [("head", workload.P)]
    return [FlatDataflow(onchip, qk, av, fusion, p1, heads, source=f"searched ({where})")
            for heads in group_options(workload.model) for onchip in _placements()
            for qk in STATIONARITIES for av in STATIONARITIES for fusion, p1 in blocks]


def _search(flat: Configuration, workload: Workload, hardware: Hardware, prune: bool = True) -> tuple[Candidate, int]:
    """The lowest (latency, traffic, enumeration index) of :func:`candidates`, and how many were ruled on.

    With ``prune``, a best-first search as Timeloop's mapper prunes: candidates are evaluated one at a time
    in order of their lower bound (:class:`_Bound`), each bound raised by what the evaluated candidates teach
    it of their loop nests, and the search stops when the lowest bound left already loses to the best found.
    Every evaluated candidate is checked against its bound and what was learned, and a contradiction (a
    model change the bound does not know of) falls back to evaluating all of them.
    """
    dataflows = candidates(workload, hardware)
    if not prune:
        return _exhaustive(flat, workload, hardware, dataflows)
    if len(_SEEN.stats) >= _SEEN_JOBS:
        for seen in (_SEEN.stats, _SEEN.mappings, _SEEN.kept):
            seen.clear()
    known = JobResults(_SEEN.stats, _SEEN.mappings, {}, RunCounts(), _SEEN.kept)
    done: dict[int, tuple[Candidate, Evaluated, ConfigResult] | None] = {}

    def evaluate(i: int) -> tuple[Candidate, Evaluated, ConfigResult] | None:
        if i not in done:
            (done[i],) = _evaluate(flat, workload, hardware, [dataflows[i]], known)
        return done[i]

    # the bound is read off the first candidate that keeps every tensor in DRAM and maps
    first = next((i for i, d in enumerate(dataflows) if not d.onchip and evaluate(i) is not None), None)
    found = done[first] if first is not None else None
    bound = _Bound.of(found[1], found[2]) if found is not None else None
    if bound is None or found is None or first is None:
        return _exhaustive(flat, workload, hardware, dataflows)
    # Queued first with what it knows before learning anything (every PE busy, every DRAM tensor moved
    # once: the same for every loop nest, so one per placement); each is raised when it comes up.
    placed = {d.onchip: bound.of_dataflow(d) for d in {d.onchip: d for d in dataflows}.values()}
    if any(b is None for b in placed.values()) or not bound.learn(dataflows[first], found[1], found[2]):
        return _exhaustive(flat, workload, hardware, dataflows)
    heap = [(*placed[d.onchip], i) for i, d in enumerate(dataflows)]  # type: ignore[misc]
    heapq.heapify(heap)
    best: tuple[float, float, int] | None = None
    chosen: Candidate | None = None
    unmappable = 0
    # a queued bound is never above the candidate's current one (learning only raises them), so the search
    # stops only when every candidate left loses to the best found
    while heap and (best is None or heap[0] <= best):
        latency_bound, traffic_bound, i = heapq.heappop(heap)
        current = bound.of_dataflow(dataflows[i])
        if current != (latency_bound, traffic_bound):  # raised by what was learned since: queue it again
            heapq.heappush(heap, (*current, i))  # type: ignore[misc]
            continue
        found = evaluate(i)
        if found is None:
            unmappable += 1
            continue
        candidate, evaluated, result = found
        if (latency_bound > candidate.latency or traffic_bound > candidate.traffic
                or not bound.learn(dataflows[i], evaluated, result)):
            return _exhaustive(flat, workload, hardware, dataflows)
        key = (candidate.latency, candidate.traffic, i)
        if best is None or key < best:
            best, chosen = key, candidate
    if chosen is None:
        return _exhaustive(flat, workload, hardware, dataflows)
    return chosen, len(dataflows) - unmappable


def _exhaustive(flat: Configuration, workload: Workload, hardware: Hardware,
                dataflows: list[FlatDataflow]) -> tuple[Candidate, int]:
    """Every candidate evaluated; the lowest (latency, traffic), ties to the enumeration order."""
    found = [c for c in evaluate_dataflows(flat, workload, hardware, dataflows) if c is not None]
    if not found:
        raise FusemaxError("Timeloop cannot map any FLAT dataflow", source=workload.label)
    # min() keeps the first of equal keys: remaining ties go to the enumeration order
    return min(found, key=lambda c: (c.latency, c.traffic)), len(found)


def _search_job(flat: Configuration, workload: Workload, hardware: Hardware) -> tuple[Candidate, int] | None:
    """One select job (run by an executor's worker; ``flat`` travels there by its registry name): the
    search's result, or None when it fails (the planner then repeats it in its own process, which raises
    the error where a serial run would)."""
    try:
        return search(flat, workload, hardware)
    except FusemaxError:
        return None


@dataclass
class Selected:
    """The select stage's output, which render reads: FLAT's dataflow per attention group
    (:func:`per_group`) the paper's table does not cover, and the groups no dataflow maps (their error)."""

    dataflows: dict[Workload, FlatDataflow] = field(default_factory=dict)
    errors: dict[Workload, FusemaxError] = field(default_factory=dict)

    def choice(self, workload: Workload) -> FlatDataflow | None:
        """What render gives FLAT for ``workload``: None where the paper's table covers it (render looks it
        up), else its group's selected dataflow; raises the group's error when none maps."""
        if uses_table(workload):
            return None
        group = per_group(workload)
        if group in self.errors:
            raise self.errors[group]
        return self.dataflows[group]


def select_dataflows(flat: Configuration, workloads: Iterable[Workload], hardware: Hardware,
                     executor: "Executor | None" = None, cache: "Cache | None" = None) -> Selected:
    """The select stage: FLAT's (its record ``flat``) choice for every attention group of ``workloads`` the
    paper's table does not cover, one orchestrator job per group (on ``executor``; None: in this process), each served from and
    stored in ``cache`` like a job."""
    selected = Selected()
    todo = []
    for group in dict.fromkeys(per_group(w) for w in workloads if not uses_table(w)):
        hit = _cached(group, hardware, cache) if cache is not None else None
        if hit is not None:
            selected.dataflows[group] = hit
        else:
            todo.append(group)
    # Longest first (a search's cost grows with its row blocks), so no worker is left with a long one at the
    # end; results are keyed by group, so the order changes nothing else.
    todo.sort(key=lambda w: -len(p1_options(w.P, hardware.pe_dim)))
    found: dict[int, tuple[Candidate, int] | None] = {}
    if executor is not None and len(todo) > 1:
        found = dict(executor.run(_search_job, [(flat, w, hardware) for w in todo]))
    for i, group in enumerate(todo):
        result = found.get(i)
        if result is None:  # in this process: a failure raises here, with its reason
            try:
                result = search(flat, group, hardware)
            except FusemaxError as exc:
                selected.errors[group] = exc
                continue
        if cache is not None:
            _store(group, hardware, cache, result)
        selected.dataflows[group] = result[0].dataflow
    return selected


def select_flat_dataflow(flat: Configuration, workload: Workload,
                         hardware: Hardware = Hardware()) -> tuple[FlatDataflow, float, int]:
    """FLAT's (its record ``flat``) own choice for ``workload``: (dataflow, its latency in s on
    ``workload``, candidates it was chosen from)."""
    best, evaluated = search(flat, workload, hardware)
    (whole,) = evaluate_dataflows(flat, workload, hardware, [best.dataflow])
    if whole is None:  # the group's tiles are the workload's, so this would be a bug: say so
        raise FusemaxError("internal: FLAT's choice for one attention group does not map the whole workload",
                           source=workload.label)
    return best.dataflow, whole.latency, evaluated


def search_key(workload: Workload, hardware: Hardware) -> str:
    """The cache key of FLAT's search for ``workload`` on ``hardware``: that of its attention group
    (:func:`per_group`), shared by every batch and model of the group's shape (see the module doc)."""
    return result_key("flat-dataflow-search", per_group(workload), hardware, BACKEND, kinds=("model",))


def _cached(workload: Workload, hardware: Hardware, cache: "Cache") -> FlatDataflow | None:
    return cache.parsed(search_key(workload, hardware), "flat_dataflow", FlatDataflow.from_params)


def cache_entry(found: tuple[Candidate, int]) -> dict:
    """What the job cache stores of one search (:func:`search`'s result): the chosen dataflow with its
    spilled proportion, its latency and traffic, and how many candidates it was chosen from."""
    best, evaluated = found
    return {"flat_dataflow": {**best.dataflow.as_dict(), "spilled": best.dataflow.spilled},
            "latency": best.latency, "traffic": best.traffic, "candidates": evaluated}


def _store(workload: Workload, hardware: Hardware, cache: "Cache", found: tuple[Candidate, int]) -> None:
    cache.put(search_key(workload, hardware), cache_entry(found), f"flat search {workload.label}", BACKEND)


def dataflow_for(flat: Configuration, workload: Workload, hardware: Hardware = Hardware(),
                 cache: "Cache | None" = None) -> FlatDataflow | None:
    """None when the paper's table covers ``workload`` (render then uses it), else FLAT's (its record
    ``flat``) searched dataflow (from ``cache`` when it holds this search, and stored there when not):
    :func:`select_dataflows` for one."""
    return select_dataflows(flat, [workload], hardware, cache=cache).choice(workload)
