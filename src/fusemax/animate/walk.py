"""Walk a mapping's loop nest and say which tensor elements each PE works on at each temporal step.

The nest is the engine's (:mod:`fusemax.engine.nest`): storage levels innermost first, each with spatial
loops (fanning out to the level below, X loops inside Y loops) and temporal loops. A rank's loops split it
mixed-radix from the inside out, so the operation-space point of a (step, PE) pair is the sum of each loop's
index times the product of the bounds of the same rank's loops inside it.

* A *step* is one iteration of all temporal loops together (outermost loop slowest); there are
  ``product of temporal bounds`` steps, Timeloop's compute cycles.
* A *PE* is one combination of spatial indices; its mesh coordinate (x, y) numbers the X loops
  (innermost fastest) and the Y loops the same way across all levels, as the PE array is laid out.

At every (step, PE) the PE performs one compute, touching one element of each tensor: the element at the
tensor's projection of the operation-space point.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from fusemax.engine import Spec
from fusemax.engine.model import DataSpace
from fusemax.engine.nest import spatial_order


@dataclass(frozen=True)
class PECoord:
    """A PE of one array: ``array`` is "2d" or "1d"; x counts along meshX, y along meshY."""

    array: str
    x: int
    y: int


@dataclass(frozen=True)
class Assignment:
    """At temporal ``step`` of ``einsum``, PE ``pe`` works on ``element`` (one index per data dimension) of ``tensor``."""

    einsum: str
    step: int
    pe: PECoord
    tensor: str
    element: tuple[int, ...]


@dataclass(frozen=True)
class NestLoop:
    """One loop of the nest with the level it belongs to and its operation-space stride."""

    level: str
    rank: str
    bound: int
    stride: int
    spatial: str | None  # None (temporal), "X" or "Y"
    mesh_stride: int = 0  # spatial loops: the step of this loop's index along its mesh axis


@dataclass(frozen=True)
class Nest:
    """The non-trivial loops of a mapping: ``temporal`` outermost first, ``spatial`` innermost first."""

    temporal: tuple[NestLoop, ...]
    spatial: tuple[NestLoop, ...]

    @property
    def steps(self) -> int:
        total = 1
        for loop in self.temporal:
            total *= loop.bound
        return total

    def step_indices(self, step: int) -> list[tuple[NestLoop, int]]:
        """Each temporal loop (outermost first) with its index at ``step``."""
        out = []
        for loop in reversed(self.temporal):
            step, index = divmod(step, loop.bound)
            out.append((loop, index))
        return out[::-1]


def loop_nest(spec: Spec) -> Nest:
    """The loops of ``spec``'s mapping with strides (loops of bound 1 are left out)."""
    stride = {r: 1 for r in spec.problem.ranks}
    mesh = {"X": 1, "Y": 1}
    temporal, spatial = [], []
    for level, lm in zip(spec.architecture.storage, spec.mapping.levels):
        for loop in spatial_order(lm):
            if loop.bound > 1:
                axis = loop.spatial or "X"
                spatial.append(NestLoop(level.name, loop.rank, loop.bound, stride[loop.rank], axis, mesh[axis]))
                mesh[axis] *= loop.bound
            stride[loop.rank] *= loop.bound
        for loop in lm.temporal:
            if loop.bound > 1:
                temporal.append(NestLoop(level.name, loop.rank, loop.bound, stride[loop.rank], None))
            stride[loop.rank] *= loop.bound
    return Nest(temporal=tuple(reversed(temporal)), spatial=tuple(spatial))


def project(ds: DataSpace, point: dict[str, int]) -> tuple[int, ...]:
    """The element of ``ds`` that the operation-space ``point`` touches."""
    return tuple(sum(c * point[r] for r, c in dim) for dim in ds.projection)


def pe_offsets(nest: Nest, array: str) -> list[tuple[PECoord, dict[str, int]]]:
    """Every PE the nest uses, with the operation-space offset its spatial indices add."""
    out = []
    for indices in product(*(range(loop.bound) for loop in nest.spatial)):
        offset: dict[str, int] = {}
        xy = {"X": 0, "Y": 0}
        for loop, i in zip(nest.spatial, indices):
            offset[loop.rank] = offset.get(loop.rank, 0) + i * loop.stride
            xy[loop.spatial or "X"] += i * loop.mesh_stride
        out.append((PECoord(array, xy["X"], xy["Y"]), offset))
    out.sort(key=lambda item: (item[0].y, item[0].x))
    return out


def assignments(einsum: str, spec: Spec, array: str = "2d") -> list[Assignment]:
    """Every (step, PE, tensor) of ``spec``'s nest with the element the PE touches, in step order.

    ``einsum`` and ``array`` only label the records. The list has ``steps x PEs x tensors`` entries.
    """
    nest = loop_nest(spec)
    pes = pe_offsets(nest, array)
    spaces = spec.problem.data_spaces
    out: list[Assignment] = []
    for step in range(nest.steps):
        base = {r: 0 for r in spec.problem.ranks}
        for loop, index in nest.step_indices(step):
            base[loop.rank] += index * loop.stride
        for pe, offset in pes:
            point = {r: v + offset.get(r, 0) for r, v in base.items()}
            out.extend(Assignment(einsum, step, pe, ds.name, project(ds, point)) for ds in spaces)
    return out
