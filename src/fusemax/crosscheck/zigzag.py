"""Evaluate a fusemax spec (architecture + problem + mapping) with ZigZag-DSE, as an independent cross-check.

ZigZag (KU Leuven, PyPI ``zigzag-dse``) is a separate analytical cost model with its own loop-relevance
data-movement and latency model. :func:`translate` turns a fusemax :class:`~fusemax.engine.model.Spec` of a
matrix multiply into ZigZag's three inputs (workload, accelerator and mapping YAML) plus the *same*
temporal mapping, loop by loop and memory level by memory level; :func:`zigzag_measures` runs ZigZag's own
parsers, spatial-mapping conversion and cost model on them, and :func:`fusemax_measures` reads the same
quantities from fusemax's engine.

The translation:

* **Workload**: one ``Gemm`` layer ``O[m][n] += I[m][k] * W[k][n]`` written from the problem's projections
  (the read-write data space is ``O``, the other two are ``I`` and ``W`` in declaration order); every
  operand, partial sums included, has the architecture's word size.
* **Accelerator**: one ZigZag memory per fusemax storage level that keeps at least one tensor, serving the
  kept tensors (a bypassed tensor simply has no memory there); levels with one instance per PE serve no
  array dimension, single-instance levels serve all of them. The ``inter_*_spatial`` dummy levels become
  the operational array: meshX -> ``D1``, meshY -> ``D2``. Ports get a bandwidth that no transfer of the
  problem can exceed, because Timeloop's (and fusemax's) specs declare none, i.e. unlimited.
* **Mapping**: spatial loops on meshX / meshY -> ``D1`` / ``D2``; for each operand, ZigZag memory level
  ``j`` gets the temporal loops of every fusemax level from just above the operand's previous keeping level
  up to its ``j``-th keeping level (loops of a level that bypasses a tensor iterate, for that tensor, inside
  the next level up that keeps it), innermost first. The temporal mapping is handed to the cost model
  directly, bypassing ZigZag's LOMA search and its memory allocator, which would otherwise choose their own
  loop-to-level assignment.

Conventions where the two models agree, and which the comparison therefore uses:

* **Compute cycles** = product of the temporal loop bounds (fusemax ``Stats.cycles``, ZigZag
  ``ideal_temporal_cycle``); with unlimited ports ZigZag's ``latency_total0`` (computation with memory
  stalls) equals it too.
* **DRAM traffic in words**: input words read out of DRAM, output words written to DRAM and output partial
  sums read back from DRAM (ZigZag ``data_elem_move_count``: ``rd_out_to_low`` / ``wr_in_by_low`` of the
  top level; fusemax ``reads`` / ``updates`` of the DRAM data spaces). Both count a read-back only when an
  output tile returns to a level below after a reduction step, never for its first write.

Known convention differences, not compared:

* ZigZag's ``latency_total2`` adds the cycles to on-load the first tiles and off-load the last outputs
  (``data_onloading_cycle``, ``data_offloading_cycle``); Timeloop and fusemax count steady-state cycles only
  (fusemax applies DRAM bandwidth afterwards, as a roofline).
* Port bandwidth stalls: ZigZag models per-port memory-updating windows; fusemax's specs leave bandwidth
  unbounded, so stalls are only meaningful in ZigZag and are switched off here by wide ports.
* Inner-level accesses: ZigZag counts register reads once per stationary run when the data fits the port
  (``access_same_data_considered_as_no_access``), and it distinguishes partial-sum from final-output
  precision; fusemax follows Timeloop's per-access counts. Only DRAM traffic is compared.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from math import prod
from pathlib import Path
from typing import Any

from fusemax import yamlio
from fusemax.engine import evaluate
from fusemax.engine.model import Spec

#: ZigZag's layer operand -> its memory operand (ZigZag's default links)
MEMORY_OPERAND = {"I": "I1", "W": "I2", "O": "O"}
#: fusemax's meshX / meshY -> ZigZag's operational-array dimensions
ARRAY_DIM = {"X": "D1", "Y": "D2"}


@dataclass(frozen=True)
class ZigZagInputs:
    """ZigZag's inputs for one spec.

    ``temporal`` maps a ZigZag layer operand to its memory levels (innermost first), each a list of
    ``(rank, bound)`` loops innermost first; ``tensors`` maps fusemax's tensor names to ZigZag's layer operands.
    """

    workload: list[dict[str, Any]]
    accelerator: dict[str, Any]
    mapping: list[dict[str, Any]]
    temporal: dict[str, list[list[tuple[str, int]]]]
    tensors: dict[str, str]


@dataclass(frozen=True)
class Measures:
    """Quantities both models define the same way (see the module docstring); traffic in words per tensor."""

    cycles: float
    dram_reads: dict[str, int]
    dram_writes: dict[str, int]

    @property
    def dram_words(self) -> int:
        return sum(self.dram_reads.values()) + sum(self.dram_writes.values())


@dataclass(frozen=True)
class ZigZagMeasures(Measures):
    """ZigZag's :class:`Measures` plus its latencies: with stalls, and with on-/off-loading added."""

    cycles_with_stalls: float = 0.0
    latency_with_onoffload: float = 0.0
    spatial_mapping: dict[str, dict[str, float]] = field(default_factory=dict)


def _operands(spec: Spec) -> dict[str, str]:
    """fusemax tensor -> ZigZag layer operand (``O`` for the read-write tensor, then ``I`` and ``W``)."""
    problem = spec.problem
    outputs = [ds.name for ds in problem.data_spaces if ds.read_write]
    inputs = [ds.name for ds in problem.data_spaces if not ds.read_write]
    if len(outputs) != 1 or len(inputs) != 2:
        raise ValueError(f"{problem.name}: ZigZag's layers have two inputs and one output, got "
                         f"inputs {inputs} and outputs {outputs}")
    return {inputs[0]: "I", inputs[1]: "W", outputs[0]: "O"}


def _workload(spec: Spec, operands: dict[str, str], word_bits: int) -> list[dict[str, Any]]:
    problem = spec.problem
    terms = {}
    for ds in problem.data_spaces:
        indices = []
        for dim in ds.projection:
            live = [(rank, coef) for rank, coef in dim if coef != 0]
            if len(live) != 1 or live[0][1] != 1:
                raise ValueError(f"{problem.name}: {ds.name} has a non-trivial projection {dim}; only plain "
                                 "tensor indices translate to this ZigZag layer")
            indices.append(f"[{live[0][0].lower()}]")
        terms[operands[ds.name]] = "".join(indices)
    return [{
        "id": 0, "name": problem.name, "operator_type": "Gemm",
        "equation": f"O{terms['O']}+=I{terms['I']}*W{terms['W']}",
        "loop_dims": list(problem.ranks), "loop_sizes": [problem.instance[r] for r in problem.ranks],
        "operand_precision": {"I": word_bits, "W": word_bits, "O": word_bits, "O_final": word_bits},
        "operand_source": {"I": 0},
    }]


def translate(spec: Spec) -> ZigZagInputs:
    """ZigZag's inputs for ``spec`` (a matrix multiply with a complete mapping), as the module docstring says.

    Raises ValueError for what this translation does not cover: spatial loops outside the
    ``inter_*_spatial`` levels, levels replicated over part of the array, non-GEMM projections.
    """
    arch, problem, levels = spec.architecture, spec.problem, spec.mapping.levels
    operands = _operands(spec)
    word_bits = max(lvl.word_bits or 0 for lvl in arch.storage if not lvl.is_dummy)
    pes = arch.arithmetic.instances
    # A bandwidth no single transfer reaches: the whole problem's data in bits.
    wide = word_bits * sum(prod(problem.instance[r] for r in ds.ranks) for ds in problem.data_spaces)

    spatial: dict[str, list[str]] = {dim: [] for dim in ARRAY_DIM.values()}
    memories: dict[str, dict[str, Any]] = {}
    temporal: dict[str, list[list[tuple[str, int]]]] = {op: [] for op in operands.values()}
    pending: dict[str, list[tuple[str, int]]] = {op: [] for op in operands.values()}
    for storage, lm in zip(arch.storage, levels):
        for loop in lm.spatial:
            if loop.bound == 1:
                continue
            if not storage.is_dummy:
                raise ValueError(f"{storage.name}: spatial loop {loop.rank}={loop.bound} outside the PE array's "
                                 "fan-out levels")
            spatial[ARRAY_DIM[loop.spatial or "X"]].append(f"{loop.rank}, {loop.bound}")
        for op in pending:
            pending[op] += [(loop.rank, loop.bound) for loop in lm.temporal if loop.bound > 1]
        kept = [operands[t] for t in operands if t in lm.keep]
        if storage.is_dummy or not kept:
            continue
        if storage.instances not in (1, pes):
            raise ValueError(f"{storage.name}: {storage.instances} instances; only per-PE or single levels "
                             "translate")
        for op in kept:
            temporal[op].append(pending[op])
            pending[op] = []
        mem_ops = [MEMORY_OPERAND[op] for op in kept]
        reads = [f"{m}, tl" for m in mem_ops] + (["O, th"] if "O" in mem_ops else [])
        writes = [f"{m}, fh" for m in mem_ops] + (["O, fl"] if "O" in mem_ops else [])
        memories[storage.name] = {
            # DRAM is unbounded in fusemax; ZigZag needs a number.
            "size": (storage.size or 2**48) * word_bits,
            "r_cost": 0.0, "w_cost": 0.0, "area": 0.0, "latency": 1, "operands": mem_ops,
            # One port per transfer: ZigZag serialises the transfers that share a port, one per cycle
            # whatever its bandwidth.
            "ports": [{"name": f"{kind}_port_{i}", "type": "read" if kind == "r" else "write",
                       "bandwidth_min": wide, "bandwidth_max": wide, "allocation": [allocation]}
                      for kind, allocations in (("r", reads), ("w", writes))
                      for i, allocation in enumerate(allocations, 1)],
            "served_dimensions": [] if storage.instances == pes > 1 else list(ARRAY_DIM.values()),
        }
    leftover = {op: loops for op, loops in pending.items() if loops}
    if leftover:
        raise ValueError(f"temporal loops above the outermost level keeping them: {leftover}")

    accelerator = {
        "name": f"fusemax-{arch.arithmetic.mesh_x}x{arch.arithmetic.mesh_y}",
        "memories": memories,
        "operational_array": {"dimensions": list(ARRAY_DIM.values()),
                              "sizes": [arch.arithmetic.mesh_x, arch.arithmetic.mesh_y],
                              "input_precision": [word_bits, word_bits], "unit_energy": 0.0, "unit_area": 0.0},
    }
    # An array dimension without a spatial loop still needs an entry, or ZigZag would generate one.
    first_rank = problem.ranks[0]
    mapping = [{"name": "default",
                "spatial_mapping": {dim: loops or [f"{first_rank}, 1"] for dim, loops in spatial.items()},
                "memory_operand_links": dict(MEMORY_OPERAND)}]
    return ZigZagInputs(workload=_workload(spec, operands, word_bits), accelerator=accelerator, mapping=mapping,
                        temporal=temporal, tensors=operands)


def fusemax_measures(spec: Spec) -> Measures:
    """Compute cycles and DRAM traffic of ``spec`` from fusemax's engine."""
    stats = evaluate(spec)
    if not stats.valid:
        raise ValueError(f"fusemax rejects the mapping: {stats.error}")
    dram = stats.levels[spec.architecture.storage[-1].name].dataspaces
    return Measures(cycles=stats.cycles,
                    dram_reads={t: d.reads_per_instance for t, d in dram.items()},
                    dram_writes={t: d.updates_per_instance for t, d in dram.items()})


def zigzag_measures(spec: Spec) -> ZigZagMeasures:
    """Evaluate ``spec``'s mapping with ZigZag's cost model (imports ZigZag; it is a test dependency)."""
    from zigzag.cost_model.cost_model import CostModelEvaluation
    from zigzag.datatypes import LayerDim, LayerOperand, UnrollFactor
    from zigzag.mapping.data_movement import DataDirection, DataMoveAttr
    from zigzag.mapping.temporal_mapping import TemporalMapping, TemporalMappingType
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.stages.stage import Stage
    from zigzag.stages.workload_iterator import WorkloadStage

    inputs = translate(spec)

    class FixedTemporalMappingStage(Stage):
        """Hands the translated temporal mapping to the cost model in place of LOMA's search."""

        def __init__(self, list_of_callables: list[Any], *, layer: Any, **kwargs: Any):
            super().__init__(list_of_callables, **kwargs)
            self.layer = layer

        def run(self) -> Any:
            loops: dict[LayerOperand, list[list[tuple[LayerDim, UnrollFactor]]]] = {
                LayerOperand(op): [[(LayerDim(r), b) for r, b in level] for level in per_level]
                for op, per_level in inputs.temporal.items()}
            kwargs = dict(self.kwargs, layer=self.layer,
                          temporal_mapping=TemporalMapping(loops, self.layer, TemporalMappingType.UNEVEN))
            yield from self.list_of_callables[0](self.list_of_callables[1:], **kwargs).run()

    with tempfile.TemporaryDirectory(prefix="fusemax-zigzag-") as tmp:
        accelerator_path, mapping_path = Path(tmp, "accelerator.yaml"), Path(tmp, "mapping.yaml")
        accelerator_path.write_text(yamlio.dumps(inputs.accelerator))
        mapping_path.write_text(yamlio.dumps(inputs.mapping))
        # Any: ZigZag's stage classes (keyword-only parameters) do not satisfy its own StageCallable protocol.
        stages: list[Any] = [WorkloadParserStage, AcceleratorParserStage, WorkloadStage,
                             SpatialMappingGeneratorStage, FixedTemporalMappingStage, CostModelStage]
        answers = MainStage(stages, workload=inputs.workload, accelerator=str(accelerator_path),
                            mapping=str(mapping_path), nb_mappings_generated=1,
                            access_same_data_considered_as_no_access=True).run()
    (cme, _), = answers
    assert isinstance(cme, CostModelEvaluation)

    reads, writes = {}, {}
    for tensor, op in inputs.tensors.items():
        layer_op = LayerOperand(op)
        top = cme.mapping.unit_mem_data_movement[layer_op][-1]
        counts = top.get_attribute(DataMoveAttr.DATA_ELEM_MOVE_COUNT)
        reads[tensor] = int(counts.get(DataDirection.RD_OUT_TO_LOW))
        writes[tensor] = int(counts.get(DataDirection.WR_IN_BY_LOW))
    used_spatial = {str(dim): {str(r): f for r, f in unrolling.items()}
                    for dim, unrolling in cme.layer.spatial_mapping.items()}
    return ZigZagMeasures(cycles=cme.ideal_temporal_cycle, dram_reads=reads, dram_writes=writes,
                          cycles_with_stalls=cme.latency_total0, latency_with_onoffload=cme.latency_total2,
                          spatial_mapping=used_spatial)
