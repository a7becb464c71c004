"""Plain data classes of a loaded Timeloop specification (architecture, problem, mapping).

Levels are kept in the order Timeloop's statistics print them: innermost storage level first.
Counts are Python ints throughout so that products of loop bounds (10^12 and more) stay exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass
class StorageLevel:
    """One storage level (a ``!Component`` that is not compute, or a timeloopfe ``inter_*_spatial`` dummy)."""

    name: str
    cls: str = ""
    instances: int = 1
    mesh_x: int = 1
    mesh_y: int = 1
    depth: int | None = None
    block_size: int = 1
    word_bits: int | None = None
    size: int | None = None  # words; None means unbounded (DRAM)
    multiple_buffering: float = 1.0
    read_bandwidth: float | None = None
    write_bandwidth: float | None = None
    shared_bandwidth: float | None = None
    is_dummy: bool = False
    #: for ``inter_*_spatial`` levels built from a ``!Container``: the container's own meshX/meshY
    fanout_x: int | None = None
    fanout_y: int | None = None

    @property
    def effective_size(self) -> float | None:
        """Capacity available to one mapping's tiles (``size / multiple_buffering``), as Timeloop checks it."""
        return None if self.size is None else self.size / self.multiple_buffering


@dataclass
class ArithmeticLevel:
    """The compute level (``mac``)."""

    name: str
    cls: str = ""
    instances: int = 1
    mesh_x: int = 1
    mesh_y: int = 1


@dataclass
class Architecture:
    """Storage levels innermost first, plus the arithmetic level below them."""

    storage: list[StorageLevel]
    arithmetic: ArithmeticLevel


@dataclass
class DataSpace:
    """A tensor: ``projection[d]`` lists ``(rank, coefficient)`` terms of data dimension ``d``."""

    name: str
    projection: list[list[tuple[str, int]]]
    read_write: bool = False

    # Cached: the engine asks for both on every evaluation (a mapper search makes thousands), and a data
    # space's projection is built whole by the parser and never changed afterwards.
    @cached_property
    def ranks(self) -> frozenset[str]:
        """Ranks that move this data space (a loop over any other rank reuses it)."""
        return frozenset(r for dim in self.projection for r, c in dim if c != 0)

    @cached_property
    def unit_ranks(self) -> tuple[str, ...] | None:
        """The rank of each data dimension when every dimension is one rank with coefficient 1 (the usual
        case; a box is then the product of those ranks' extents), else None."""
        if all(len(dim) == 1 and dim[0][1] == 1 for dim in self.projection):
            return tuple(dim[0][0] for dim in self.projection)
        return None

    @cached_property
    def sliding(self) -> bool:
        """True when some data dimension sums several ranks (convolution windows overlap)."""
        return any(sum(1 for _, c in dim if c != 0) > 1 for dim in self.projection)


@dataclass
class Problem:
    name: str
    ranks: list[str]
    instance: dict[str, int]
    data_spaces: list[DataSpace]

    @property
    def computes(self) -> int:
        total = 1
        for r in self.ranks:
            total *= self.instance[r]
        return total


@dataclass
class Loop:
    rank: str
    bound: int
    spatial: str | None = None  # None (temporal), "X" or "Y"


@dataclass
class LevelMapping:
    """The loops and keep set of one storage level; ``temporal``/``spatial`` are innermost first."""

    temporal: list[Loop] = field(default_factory=list)
    spatial: list[Loop] = field(default_factory=list)
    keep: set[str] = field(default_factory=set)


@dataclass
class Mapping:
    """One :class:`LevelMapping` per storage level, innermost first (same order as the architecture)."""

    levels: list[LevelMapping]
    #: set when the factors cannot describe the problem (Timeloop rejects such a mapping)
    error: str | None = None


@dataclass
class Spec:
    architecture: Architecture
    problem: Problem
    mapping: Mapping
    source: str = "<spec>"
