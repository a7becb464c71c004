"""Evaluate a fusemax spec (architecture + problem + fixed mapping) with AccelForge, as an independent cross-check.

AccelForge (PyPI ``accelforge``, the Timeloop/Accelergy group's successor framework) is a separate analytical
model with its own loop-tree mapping format and its own data-movement analysis. It needs Python >= 3.12, so
it runs in another interpreter (:func:`fusemax.py312.find_interpreter`) on :mod:`fusemax.crosscheck.accelforge_worker`;
this module only writes its input (:func:`translate`) and reads its answer.

The translation:

* **Architecture**: one ``!Memory`` per fusemax storage level, outermost first, and one ``!Container`` with
  a ``spatial`` fan-out (meshX -> ``X``, meshY -> ``Y``) for each ``inter_*_spatial`` dummy level, so the
  levels below it are replicated as in Timeloop; the arithmetic level is the ``!Compute``. Sizes are the
  levels' capacities in bits (DRAM: unbounded); every port is unbounded (the specs declare no bandwidth;
  fusemax applies DRAM bandwidth afterwards), the MAC does one compute per cycle.
* **Energies**: the spec's ERT (fusemax's estimate when none is given): ``read`` and ``write`` per word, i.e.
  a block-wide level's per-block energy divided by its block size (Timeloop rounds the block count of
  each level up; AccelForge counts words, so the two differ by that rounding only), ``compute`` per MAC.
  Leakage is left out: the engine reports dynamic energy only.
* **Workload**: one Einsum whose rank variables are the problem's ranks (lower-cased) and whose tensors
  index them as the projections say; the read-write data space is the output. A rank that indexes no
  tensor (the artifact's SLD problem keeps that quirk: its N only counts iterations, SLN and SLD are
  multicast and reduced along it) gets a stand-in input tensor indexed by it alone (:func:`stand_ins`),
  because AccelForge rejects a loop over a rank variable no tensor uses. Its one-word tile sits in the
  innermost buffer, right above the compute, so it changes no other tensor's tiles, reuse or multicast,
  and with unbounded ports no cycle; its accesses are left out of the comparison (see below).
* **Mapping**: the same loop nest as a loop tree, outermost first: per storage level (outermost first) one
  ``!Storage`` node per tensor it keeps, then its temporal loops (outermost first); then the ``!Compute``.
  Two moves make the loop tree count what Timeloop counts: each storage node rises above the temporal
  loops right above it that do not index its tensor (Timeloop keeps a tile across them, a loop-tree node
  would refetch it), and each fan-out's spatial loops sit right under the last storage node of the levels
  above it (spatial and temporal loops commute in what they count). Where a single-instance buffer's node
  stands between a per-PE node and the loop it must rise above, that loop first sinks below the buffer's
  node if it indexes the buffer's tensor (the tile grows by the loop's bound and is refetched as many
  times less often, so its counts stay); see :func:`_hoisted`. A loop's ``tile_shape`` is the
  product of the bounds of its rank in the loops inside it, which is how AccelForge states a Timeloop
  factor. Loops of bound 1 are left out.

Quantities compared (:func:`compare`), which both models define the same way:

* **computes** and **cycles** (fusemax ``Stats.cycles``; AccelForge's total latency in cycles);
* **reads** and **writes** of every tensor at every level, summed over the level's instances (fusemax
  ``reads`` and ``fills + updates`` per instance times utilized instances; AccelForge's ``read`` and
  ``write`` actions, counted per word).

Known convention differences, reported but not failing:

* **Drained outputs**: when an output leaves a level for the one above it, AccelForge counts a read of the
  lower level per value moved up; Timeloop (and fusemax) count the update at the upper level only. So
  AccelForge's reads of an output exceed fusemax's by the output words the level drains upwards, and the
  energy differs by those reads (register reads in the PE arrays; from +0.02 % to +24 % per Einsum). With
  a spatial reduction in between, each PE drains its own partial results: the reads are the upper level's
  updates times the reduction fan-out (:func:`drained_reads`).
* **Stand-in tensors**: their reads in the innermost buffer (one per compute) have no fusemax counterpart;
  they are named in the table and their energy is taken off AccelForge's before comparing.
* **Energy**: follows from the above plus Timeloop's per-level rounding of block counts; it is compared
  after adding the drained-output reads' energy to fusemax's (:data:`ENERGY_TOLERANCE`).

The sinking move makes the buffer's tile in the loop tree bigger than Timeloop's (cascade's SLNV: the 1D
register file holds SLNV for all 64 F values, 16,384 of its 65,536 words, where Timeloop's tile is 256
words); AccelForge checks that tile against the buffer's size and rejects the mapping if it does not fit,
which shows as a failure naming the buffer. It is only used where it changes counts: a tensor with no
copy above (binding's SLN, made in the PE registers) has nothing to refetch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import pairwise
from math import prod
from pathlib import Path
from typing import Any

from fusemax.energy.tables import ERT
from fusemax.engine import evaluate
from fusemax.engine.model import Spec, StorageLevel
from fusemax.py312 import find_interpreter, package_version, run_worker
from fusemax.workload import DECODE, PREFILL

WORKER = Path(__file__).with_name("accelforge_worker.py")
#: Relative tolerance of counts and cycles (integers on both sides, but AccelForge computes in floats).
TOLERANCE = 1e-9
#: Relative tolerance of the energy once the drained-output reads are added to fusemax's: what is left is
#: Timeloop's rounding of block counts up per level, which AccelForge does not do.
ENERGY_TOLERANCE = 1e-3


# ---------------------------------------------------------------------------------------------------
# the translation

def _var(rank: str) -> str:
    return rank.lower()


def _node(tag: str, body: dict[str, Any]) -> str:
    """One tagged node; JSON is YAML's flow style, so the body needs no YAML emitter of its own."""
    return f"  - !{tag} {json.dumps(body)}"


def _per_word(ert: ERT, level: StorageLevel, action: str) -> float:
    table = ert.actions.get(level.name, {})
    energy = table.get(action, table.get("update", 0.0)) if action == "write" else table.get(action, 0.0)
    return energy / max(1, level.block_size)


def _container(level: StorageLevel) -> str:
    spatial = [{"name": dim, "fanout": fan} for dim, fan in (("X", level.fanout_x), ("Y", level.fanout_y))
               if fan and fan > 1]
    return _node("Container", {"name": _container_name(level), "spatial": spatial})


def _arch(spec: Spec, ert: ERT) -> list[str]:
    arch = spec.architecture
    lines = ["arch:", "  nodes:"]
    for level in reversed(arch.storage):
        if level.is_dummy:
            lines.append(_container(level))
            continue
        word_bits = level.word_bits or 1
        size: float | str = "inf" if level.effective_size is None else level.effective_size * word_bits
        lines.append(_node("Memory", {
            "name": level.name, "size": size, "leak_power": 0, "area": 0, "bits_per_action": word_bits,
            # Timeloop's sibling registers (a !Parallel) are levels in a row there; any order is one here.
            "tensors": {"keep": "Nothing", "may_keep": "All", "force_memory_hierarchy_order": False},
            "actions": [{"name": a, "energy": _per_word(ert, level, a), "throughput": "inf"}
                        for a in ("read", "write")]}))
    mac = arch.arithmetic
    compute = ert.actions.get(mac.name, {}).get("compute", 0.0)
    lines.append(_node("Compute", {"name": mac.name, "leak_power": 0, "area": 0,
                                   "actions": [{"name": "compute", "energy": compute, "throughput": 1}]}))
    return lines


def _workload(spec: Spec) -> list[str]:
    problem = spec.problem
    bits = {lvl.word_bits for lvl in spec.architecture.storage if not lvl.is_dummy and lvl.word_bits}
    if len(bits) > 1:
        raise ValueError(f"levels with different word sizes {sorted(bits)}; the translation gives every "
                         "tensor one word size")
    accesses = []
    for ds in problem.data_spaces:
        projection = []
        for dim in ds.projection:
            live = [(rank, coef) for rank, coef in dim if coef != 0]
            if len(live) != 1 or live[0][1] != 1:
                raise ValueError(f"{problem.name}: {ds.name} has a non-trivial projection {dim}; only plain "
                                 "tensor indices translate")
            projection.append(_var(live[0][0]))
        access: dict[str, Any] = {"name": ds.name, "projection": projection}
        if ds.read_write:
            access["output"] = True
        accesses.append(access)
    accesses += [{"name": tensor, "projection": [_var(rank)]} for rank, tensor in stand_ins(spec).items()]
    shape = {_var(r): f"0 <= {_var(r)} < {problem.instance[r]}" for r in problem.ranks}
    return ["workload:", f"  iteration_space_shape: {json.dumps(shape)}",
            f"  bits_per_value: {json.dumps({'All': bits.pop() if bits else 16})}",
            "  einsums:", _node_plain({"name": problem.name, "tensor_accesses": accesses})]


def stand_ins(spec: Spec) -> dict[str, str]:
    """Rank -> the name of the stand-in input tensor indexed by that rank alone, for each rank that indexes
    no tensor of ``spec`` (AccelForge rejects a loop over a rank variable no tensor uses; module docstring)."""
    problem = spec.problem
    names = {ds.name for ds in problem.data_spaces}
    out = {}
    for rank in problem.ranks:
        if not any(rank in ds.ranks for ds in problem.data_spaces):
            name = f"RANK_{rank}"
            while name in names:
                name += "_"
            out[rank] = name
    return out


def _node_plain(body: dict[str, Any]) -> str:
    return f"  - {json.dumps(body)}"


#: A loop nest being built, outermost first: (kind, level index, tensor name or loop).
Nest = list[tuple[str, int, Any]]


def _hoisted(nest: Nest, spec: Spec) -> Nest:
    """``nest`` (storage nodes and temporal loops) with each tensor's storage node moved above the
    temporal loops just above it that do not index the tensor: Timeloop keeps a tile across such loops,
    whichever level they belong to (the tile's delta is zero), while a loop-tree storage node refetches
    its tile on every iteration of each loop above it. A node passes other tensors' storage nodes only on
    its own side of every fan-out (levels with as many instances), so the fan-outs still fit in between.

    Where other tensors' nodes beyond a fan-out block the way (a single-instance buffer's node between a
    per-PE node and a loop the per-PE tile stays across), the loop sinks below them first if it indexes
    all their tensors: a loop over a rank of a tile moved inside that tile's node multiplies the tile by
    its bound and divides the tile's refetches by the same bound, so their counts stay, and the rising
    node then passes the loop (cascade's SLNV: SLN stays in the PE registers across the F loop, above the
    1D register file's SLNV). Only a tensor with a copy above has refetches to save; for one without (the
    binding's SLN, made in the PE registers) the sinking would only enlarge the blocking tile, which
    AccelForge checks against that buffer's size."""
    ranks = {ds.name: ds.ranks for ds in spec.problem.data_spaces}
    instances = [lvl.instances for lvl in spec.architecture.storage]

    def passes(node: tuple[str, int, Any], level: int, tensor: str) -> bool:
        kind, k, what = node
        if kind == "temporal":
            return what.rank not in ranks[tensor]
        return what != tensor and instances[k] == instances[level]

    out: Nest = []
    for item in nest:
        kind, level, tensor = item
        at = len(out)
        if kind == "storage":
            has_parent = any(node[0] == "storage" and node[2] == tensor for node in out)
            while True:
                while at > 0 and passes(out[at - 1], level, tensor):
                    at -= 1
                top = at  # the blocking run of other tensors' nodes is out[top:at]
                while top > 0 and out[top - 1][0] == "storage" and out[top - 1][2] != tensor:
                    top -= 1
                if not (has_parent and 0 < top < at and out[top - 1][0] == "temporal"
                        and out[top - 1][2].rank not in ranks[tensor]
                        and all(out[top - 1][2].rank in ranks[node[2]] for node in out[top:at])):
                    break
                out.insert(at - 1, out.pop(top - 1))
        out.insert(at, item)
    return out


def _with_spatial(nest: Nest, spec: Spec) -> Nest:
    """``nest`` with each fan-out level's spatial loops right under the last storage node of the levels
    above it. Spatial and temporal loops commute in what they count, so this keeps Timeloop's numbers,
    and it puts the loops above every temporal loop that a storage node below the fan-out rose over."""
    out = list(nest)
    floor = 0
    for k in reversed(range(len(spec.architecture.storage))):
        loops = [loop for loop in reversed(spec.mapping.levels[k].spatial) if loop.bound > 1]
        if not loops:
            continue
        if not spec.architecture.storage[k].is_dummy:
            raise ValueError(f"{spec.architecture.storage[k].name}: spatial loops outside a fan-out level ({loops})")
        at = max([floor] + [i + 1 for i, (kind, level, _) in enumerate(out) if kind == "storage" and level > k])
        out[at:at] = [("spatial", k, loop) for loop in loops]
        floor = at + len(loops)
    return out


def _mapping(spec: Spec) -> list[str]:
    arch, problem, levels = spec.architecture, spec.problem, spec.mapping.levels
    if spec.mapping.error:
        raise ValueError(f"the mapping does not describe the problem: {spec.mapping.error}")
    # Outermost first: (kind, level index, tensor or loop); tile shapes need every loop inside a loop, so
    # the whole nest is built before it is written.
    nest: Nest = []
    for k in reversed(range(len(levels))):
        if not arch.storage[k].is_dummy:
            nest += [("storage", k, ds.name) for ds in problem.data_spaces if ds.name in levels[k].keep]
        nest += [("temporal", k, loop) for loop in reversed(levels[k].temporal) if loop.bound > 1]
    nest = _with_spatial(_hoisted(nest, spec), spec)
    lines = ["mapping:", "  nodes:"]
    for i, (kind, k, item) in enumerate(nest):
        level = arch.storage[k]
        if kind == "storage":
            lines.append(_node("Storage", {"tensors": [item], "component": level.name}))
            continue
        inner = prod(other.bound for k, _, other in nest[i + 1:] if k != "storage" and other.rank == item.rank)
        body: dict[str, Any] = {"rank_variable": _var(item.rank), "tile_shape": inner}
        if kind == "spatial":
            body.update(name=item.spatial or "X", component=_container_name(level))
        lines.append(_node("Temporal" if kind == "temporal" else "Spatial", body))
    # A stand-in tensor's one-word tile sits in the innermost buffer, read by every compute.
    innermost = next(level for level in arch.storage if not level.is_dummy)
    lines += [_node("Storage", {"tensors": [tensor], "component": innermost.name}) for tensor in stand_ins(spec).values()]
    lines.append(_node("Compute", {"einsum": problem.name, "component": arch.arithmetic.name}))
    return lines


def _container_name(level: StorageLevel) -> str:
    return level.name.removeprefix("inter_").removesuffix("_spatial")


def translate(spec: Spec, ert: ERT | None = None) -> str:
    """AccelForge's spec (one YAML text: arch, workload, mapping) for ``spec``, as the module docstring says.

    ``ert`` gives the energies (none: every energy 0). Raises ValueError for what the translation does not
    cover: projections other than plain indices, spatial loops outside fan-out levels, mixed word sizes.
    """
    ert = ert or ERT()
    return "\n".join(_arch(spec, ert) + _workload(spec) + _mapping(spec)) + "\n"


# ---------------------------------------------------------------------------------------------------
# running and comparing

@dataclass(frozen=True)
class Counts:
    """What one model says about one spec: totals over all instances; reads/writes in words per
    ``(level, tensor)``; energy in pJ."""

    computes: float
    cycles: float
    energy_pj: float
    reads: dict[tuple[str, str], float] = field(default_factory=dict)
    writes: dict[tuple[str, str], float] = field(default_factory=dict)
    #: the part of ``writes`` that arrives from below (fusemax only: AccelForge does not separate it)
    updates: dict[tuple[str, str], float] = field(default_factory=dict)
    seconds: float = 0.0


def fusemax_counts(spec: Spec, ert: ERT | None = None) -> Counts:
    """The builtin engine's :class:`Counts` for ``spec`` (fills and updates are both writes)."""
    stats = evaluate(spec, ert)
    if not stats.valid:
        raise ValueError(f"fusemax rejects the mapping: {stats.error}")
    reads, writes, updates = {}, {}, {}
    for level, lv in stats.levels.items():
        for tensor, d in lv.dataspaces.items():
            reads[level, tensor] = float(d.reads_per_instance * d.utilized_instances)
            writes[level, tensor] = float((d.fills_per_instance + d.updates_per_instance) * d.utilized_instances)
            updates[level, tensor] = float(d.updates_per_instance * d.utilized_instances)
    return Counts(computes=float(stats.computes), cycles=float(stats.cycles), energy_pj=stats.energy_pj,
                  reads=reads, writes=writes, updates=updates)


def run_accelforge(jobs: dict[str, str], python: Path | None = None, timeout: float = 3600) -> dict[str, Counts | str]:
    """Evaluate translated specs (name -> :func:`translate` text) in one AccelForge process.

    Returns name -> :class:`Counts`, or AccelForge's error message for a spec it rejects. Raises
    :class:`~fusemax.py312.InterpreterUnavailable` without an interpreter, :class:`FusemaxError` if the
    worker fails."""
    python = python or find_interpreter()
    answers: dict[str, Counts | str] = {}
    for name, answer in run_worker(python, WORKER, {"jobs": jobs}, timeout,
                                   f"the AccelForge worker ({len(jobs)} evaluations)").items():
        if not answer["ok"]:
            answers[name] = answer["error"]
            continue
        reads: dict[tuple[str, str], float] = {}
        writes: dict[tuple[str, str], float] = {}
        for component, tensor, action, count in answer["actions"]:
            if tensor is not None and action in ("read", "write"):
                (reads if action == "read" else writes)[component, tensor] = count
        answers[name] = Counts(computes=answer["computes"], cycles=answer["latency"], energy_pj=answer["energy"],
                               reads=reads, writes=writes, seconds=answer["seconds"])
    return answers


@dataclass(frozen=True)
class Difference:
    """One quantity of one Einsum: fusemax's value, AccelForge's, and whether a known convention explains
    the gap (``explained`` names it)."""

    quantity: str
    ours: float
    theirs: float
    explained: str = ""

    @property
    def rel(self) -> float:
        return abs(self.ours - self.theirs) / max(abs(self.ours), abs(self.theirs), 1.0)


def drained_reads(spec: Spec, ours: Counts) -> dict[tuple[str, str], float]:
    """(level, output) -> the output words that level's instances send up to the next level keeping the
    output: AccelForge counts a read of the lower level for each (module docstring), fusemax does not.
    That is the updates the upper level receives times the spatial reduction in between (the fan-out over
    ranks that do not index the output), whose partial results Timeloop counts as reduced on the way."""
    arch, levels = spec.architecture, spec.mapping.levels
    extra: dict[tuple[str, str], float] = {}
    for ds in spec.problem.data_spaces:
        if not ds.read_write:
            continue
        kept = [k for k, lm in enumerate(levels) if ds.name in lm.keep and not arch.storage[k].is_dummy]
        for child, parent in pairwise(kept):
            reduced = prod(loop.bound for j in range(child + 1, parent + 1) for loop in levels[j].spatial
                           if loop.rank not in ds.ranks)
            extra[arch.storage[child].name, ds.name] = ours.updates.get((arch.storage[parent].name, ds.name), 0.0) * reduced
    return extra


def compare(spec: Spec, ours: Counts, theirs: Counts, ert: ERT | None = None) -> list[Difference]:
    """Every quantity of :class:`Counts` side by side (energy last), with the known differences named."""
    ert = ert or ERT()
    extra = drained_reads(spec, ours)
    stand_in = {tensor: rank for rank, tensor in stand_ins(spec).items()}
    by_name = {lv.name: lv for lv in spec.architecture.storage}
    diffs = [Difference("computes", ours.computes, theirs.computes), Difference("cycles", ours.cycles, theirs.cycles)]
    # AccelForge's energy less what fusemax does not count: the stand-ins' accesses (no tensor of fusemax's).
    theirs_energy = theirs.energy_pj
    for key in sorted(set(ours.reads) | set(theirs.reads) | set(ours.writes) | set(theirs.writes)):
        level, tensor = key
        mine, yours = ours.reads.get(key, 0.0), theirs.reads.get(key, 0.0)
        mine_w, yours_w = ours.writes.get(key, 0.0), theirs.writes.get(key, 0.0)
        if tensor in stand_in:
            why = f"stand-in for rank {stand_in[tensor]}"
            diffs += [Difference(f"{level} reads {tensor}", mine, yours, why if yours else ""),
                      Difference(f"{level} writes {tensor}", mine_w, yours_w, why if yours_w else "")]
            theirs_energy -= sum(n * _per_word(ert, by_name[level], a) for n, a in ((yours, "read"), (yours_w, "write")))
            continue
        why = ""
        if key in extra and _close(mine + extra[key], yours, TOLERANCE):
            why = "drained-output reads"
        diffs.append(Difference(f"{level} reads {tensor}", mine, yours, why if not _close(mine, yours, TOLERANCE) else ""))
        diffs.append(Difference(f"{level} writes {tensor}", mine_w, yours_w))
    explained = ours.energy_pj + sum(words * _per_word(ert, by_name[level], "read") for (level, _), words in extra.items())
    energy = Difference("energy", ours.energy_pj, theirs.energy_pj)
    if not _close(energy.ours, energy.theirs, ENERGY_TOLERANCE) and _close(explained, theirs_energy, ENERGY_TOLERANCE):
        why = " and ".join(w for w, present in (("drained-output reads", extra), ("stand-in reads", stand_in)) if present)
        energy = Difference("energy", ours.energy_pj, theirs.energy_pj, why)
    return diffs + [energy]


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * max(abs(a), abs(b), 1.0)


def disagreements(diffs: list[Difference]) -> list[Difference]:
    """The differences no known convention explains (energy within :data:`ENERGY_TOLERANCE`)."""
    return [d for d in diffs if not d.explained
            and not _close(d.ours, d.theirs, ENERGY_TOLERANCE if d.quantity == "energy" else TOLERANCE)]


# ---------------------------------------------------------------------------------------------------
# a cross-check over rendered configurations

@dataclass(frozen=True)
class Case:
    """One rendered configuration whose fixed-mapping Einsums are cross-checked."""

    config: str
    model: str
    seq_len: int
    phase: str = PREFILL

    @property
    def label(self) -> str:
        return f"{self.config} {self.model} {self.seq_len} {self.phase}"


#: ``fusemax validate --cross-check accelforge``'s set: the binding at the short-context and decode shapes
#: and at 4K; the cascade, arch and FLAT configurations (other dataflows, other register layouts) at 4K and
#: 1K prefill and at a 256-token decode (a shape outside the paper's).
DEFAULT_CASES = ([Case("binding", "BERT", n, phase) for phase in (PREFILL, DECODE) for n in (1, 16, 256)]
                 + [Case("binding", "BERT", 4096)]
                 + [Case(config, "BERT", n, phase) for config in ("cascade", "arch", "flat")
                    for n, phase in ((4096, PREFILL), (1024, PREFILL), (256, DECODE))])


@dataclass(frozen=True)
class EinsumCheck:
    """The comparison of one Einsum: ``diffs`` when both models evaluated it, else ``skipped`` (the
    translation does not cover it) or ``error`` (AccelForge rejected it)."""

    case: str
    einsum: str
    diffs: list[Difference] = field(default_factory=list)
    skipped: str = ""
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error and not disagreements(self.diffs)


def _specs(case: Case) -> dict[str, tuple[Spec, ERT] | str]:
    from fusemax.energy.estimator import estimate_ert
    from fusemax.engine import spec_from_texts
    from fusemax.engine.spec import merge_texts
    from fusemax.render import render
    from fusemax.workload import Workload, get_model

    rendered = render(case.config, Workload(get_model(case.model), case.seq_len, case.phase))
    out: dict[str, tuple[Spec, ERT] | str] = {}
    for name, einsum in rendered.einsums.items():
        if einsum.needs_mapper:
            out[name] = "no fixed mapping (the mapper searches it)"
            continue
        spec = spec_from_texts(einsum.files(), source=f"{case.label}/{name}")
        out[name] = (spec, estimate_ert(merge_texts({"arch.yaml": einsum.arch_yaml}), source=f"{case.label}/{name}"))
    return out


def cross_check(cases: list[Case], python: Path | None = None) -> list[EinsumCheck]:
    """Every fixed-mapping Einsum of ``cases`` through both engines (one AccelForge process in all)."""
    python = python or find_interpreter()
    package_version(python, "accelforge")
    prepared: dict[tuple[str, str], tuple[Spec, ERT]] = {}
    checks: dict[tuple[str, str], EinsumCheck] = {}
    jobs: dict[str, str] = {}
    for case in cases:
        for name, item in _specs(case).items():
            key = (case.label, name)
            if isinstance(item, str):
                checks[key] = EinsumCheck(case.label, name, skipped=item)
                continue
            try:
                jobs[f"{case.label}/{name}"] = translate(*item)
            except ValueError as exc:
                checks[key] = EinsumCheck(case.label, name, skipped=str(exc))
                continue
            prepared[key] = item
            checks[key] = EinsumCheck(case.label, name)
    answers = run_accelforge(jobs, python) if jobs else {}
    for key, (spec, ert) in prepared.items():
        theirs = answers[f"{key[0]}/{key[1]}"]
        if isinstance(theirs, str):
            checks[key] = EinsumCheck(*key, error=theirs)
            continue
        checks[key] = EinsumCheck(*key, diffs=compare(spec, fusemax_counts(spec, ert), theirs, ert),
                                  seconds=theirs.seconds)
    return list(checks.values())


def format_table(checks: list[EinsumCheck]) -> str:
    """One line per Einsum: computes, cycles, read/write counts equal (of how many), the explained
    differences, the energy difference, and the verdict; then the failing quantities."""
    header = (f"{'case':<26} {'einsum':<6} {'computes':>8} {'cycles':>6} {'counts':>7} {'explained':>9} "
              f"{'energy':>8}  verdict")
    lines = [header, "-" * len(header)]
    notes = []
    for c in checks:
        if c.skipped or c.error:
            lines.append(f"{c.case:<26} {c.einsum:<6} {'':>8} {'':>6} {'':>7} {'':>9} {'':>8}  "
                         f"{'skipped: ' + c.skipped if c.skipped else 'FAIL: AccelForge rejects it'}")
            if c.error:
                notes.append(f"{c.case} {c.einsum}: {c.error}")
            continue
        by = {d.quantity: d for d in c.diffs}
        counts = [d for d in c.diffs if " reads " in d.quantity or " writes " in d.quantity]
        bad = disagreements(c.diffs)
        equal = sum(1 for d in counts if d not in bad)
        explained = sum(1 for d in counts if d.explained)
        energy = by["energy"]
        sign = "+" if energy.theirs >= energy.ours else "-"
        computes, cycles = ("FAIL" if by[q] in bad else "=" for q in ("computes", "cycles"))
        lines.append(f"{c.case:<26} {c.einsum:<6} {computes:>8} {cycles:>6} "
                     f"{equal:>3}/{len(counts):<3} {explained:>9} {sign}{energy.rel:>6.2%}  "
                     f"{'ok' if c.ok else 'FAIL'}")
        notes += [f"{c.case} {c.einsum}: {d.quantity}: fusemax {d.ours:.6g}, AccelForge {d.theirs:.6g}" for d in bad]
    return "\n".join(lines + notes)
