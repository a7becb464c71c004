"""Tiny instances of a configuration's rendered specs, small enough to draw element by element.

The specs come from :func:`fusemax.render.render` with a made-up model (``H``, ``E``, ``F`` of ``--size``,
``D = H x E``, ``S = D``), sequence length ``M`` and batch ``B`` on a ``pe x pe`` 2D array and a ``pe1d``
1D array, loaded with :func:`fusemax.engine.spec_from_dict`. Everything else (tiling, loop orders,
keep/bypass) is the configuration's own rendering, so the animation walks the nest the engine evaluates.

Prefill renders queries P = keys M. When ``--size`` asks for another P, the query rank is rescaled in the
loaded spec (:func:`rescale_rank`): every factor of P, innermost level first and spatial before temporal
(the order the nest is built in), becomes ``gcd(factor, what is left of the new P)``, and whatever is left
at the end multiplies the outermost temporal loop of P that was larger than 1 (the outermost level's
loop if none was). For the FuseMax tiling (P = P2 x P1 x P0, P0 = PE dim) this gives the same factors
that rendering with that P would give.

Drawing limits (:data:`MAX_ELEMENTS`, :data:`MAX_STEPS`, :data:`MAX_PES`): a tensor of more than
256 elements, a nest of more than 256 temporal steps or an array of more than 9 PEs (one colour-blind-safe
colour each) cannot be drawn readably; such requests raise a :class:`~fusemax.errors.WorkloadError`
that suggests a smaller ``--size`` or ``--pe``.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from fusemax import yamlio
from fusemax.engine import Spec, spec_from_dict
from fusemax.engine.model import Loop
from fusemax.engine.nest import box_size, nest_info
from fusemax.errors import WorkloadError
from fusemax.render import Hardware, Workload, render
from fusemax.workload import Model

#: largest tensor (elements) that is drawn as a grid
MAX_ELEMENTS = 256
#: most temporal steps (= GIF frames) of one Einsum
MAX_STEPS = 256
#: most PEs per array (the colour palette has 9 colour-blind-safe colours)
MAX_PES = 9

#: the ranks ``--size`` accepts; F (value head dim) defaults to E
SIZE_RANKS = ("B", "H", "M", "P", "E", "F")
DEFAULT_SIZE = "B=1,H=1,M=8,P=4,E=2"

_EQUATION = re.compile(r"^\s*#\s*(?P<eq>[A-Za-z0-9_]+\[[^\]]*\]\s*=.*?)(?:\s{2,}\(.*\))?\s*$")


@dataclass(frozen=True)
class TinyEinsum:
    """One Einsum of a configuration at a drawable size: its loaded spec and how to label it."""

    name: str
    array: str          # "2d" or "1d"
    equation: str       # e.g. "QK[b,h,m1,n,p] = Q[b,e,h,p] * BK[b,e,h,m1,n]"
    spec: Spec


def parse_size(text: str) -> dict[str, int]:
    """``"B=1,H=1,M=8,P=4,E=2"`` -> ``{"B": 1, "H": 1, "M": 8, "P": 4, "E": 2, "F": 2}``.

    Every rank of :data:`SIZE_RANKS` except F must be given; F defaults to E.
    """
    sizes: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().upper()
        if not eq or key not in SIZE_RANKS:
            raise WorkloadError(f"bad item {item!r}; use RANK=N with RANK in {', '.join(SIZE_RANKS)}, "
                                f"e.g. {DEFAULT_SIZE}", source="--size")
        if not value.strip().isdigit() or int(value) < 1:
            raise WorkloadError(f"{key} must be a positive integer, got {value.strip()!r}", source="--size")
        if key in sizes:
            raise WorkloadError(f"{key} is given twice", source="--size")
        if int(value) > MAX_ELEMENTS:  # every rank indexes a drawn tensor: refuse before rendering anything
            raise WorkloadError(f"{key}={value.strip()} is over the drawing limit of {MAX_ELEMENTS} elements per "
                                f"tensor; use a smaller --size (e.g. {DEFAULT_SIZE})", source="--size")
        sizes[key] = int(value)
    missing = [r for r in SIZE_RANKS if r != "F" and r not in sizes]
    if missing:
        raise WorkloadError(f"missing {', '.join(missing)}; give all of B, H, M, P, E (F optional), "
                            f"e.g. {DEFAULT_SIZE}", source="--size")
    sizes.setdefault("F", sizes["E"])
    return sizes


def parse_pe(text: str, option: str = "--pe") -> int:
    """The side of the square 2D array: ``"2x2"`` or ``"2"`` -> 2 (the 2D array is square, ``Hardware.pe_dim``)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", text)
    if not match:
        raise WorkloadError(f"bad PE array {text!r}; use NxN (e.g. 2x2) or N", source=option)
    rows, cols = int(match.group(1)), int(match.group(2) or match.group(1))
    if rows != cols:
        raise WorkloadError(f"the 2D array is square (pe_dim x pe_dim); got {text!r}, use e.g. {rows}x{rows}",
                            source=option)
    if rows < 1:
        raise WorkloadError(f"bad PE array {text!r}; it needs at least one PE", source=option)
    return rows


def rescale_rank(spec: Spec, rank: str, size: int) -> Spec:
    """``spec`` with rank ``rank`` resized to ``size``, its mapping factors adjusted (rule in the module doc)."""
    left = size
    levels = [dataclasses.replace(lm, temporal=list(lm.temporal), spatial=list(lm.spatial))
              for lm in spec.mapping.levels]
    outermost = None  # (level index, position in level.temporal) of the outermost non-trivial loop
    for li, lm in enumerate(levels):
        for kind in ("spatial", "temporal"):
            loops = getattr(lm, kind)
            for pos, loop in enumerate(loops):
                if loop.rank != rank:
                    continue
                if kind == "temporal" and loop.bound > 1:
                    outermost = (li, pos)
                bound = math.gcd(loop.bound, left)
                left //= bound
                loops[pos] = Loop(loop.rank, bound, loop.spatial)
    if left > 1:
        if outermost is None:
            li = len(levels) - 1
            outermost = (li, next(p for p, lp in enumerate(levels[li].temporal) if lp.rank == rank))
        li, pos = outermost
        loop = levels[li].temporal[pos]
        levels[li].temporal[pos] = Loop(rank, loop.bound * left)
    problem = dataclasses.replace(spec.problem, instance={**spec.problem.instance, rank: size})
    mapping = dataclasses.replace(spec.mapping, levels=levels)
    return dataclasses.replace(spec, problem=problem, mapping=mapping)


def _equation(name: str, problem_yaml: str, spec: Spec) -> str:
    """The template's own equation comment (``# QK[...] = ...``), else one built from the projections."""
    for line in problem_yaml.splitlines():
        match = _EQUATION.match(line)
        if match:
            return match.group("eq").strip()

    def ref(ds) -> str:
        return f"{ds.name}[{','.join('+'.join(r.lower() for r, _ in dim) for dim in ds.projection)}]"
    outputs = [ds for ds in spec.problem.data_spaces if ds.read_write]
    inputs = [ds for ds in spec.problem.data_spaces if not ds.read_write]
    return f"{', '.join(map(ref, outputs))} <- {', '.join(map(ref, inputs))}"


def check_drawable(einsum: TinyEinsum) -> None:
    """Raise a :class:`WorkloadError` when ``einsum`` is over a drawing limit (see the module doc)."""
    problem = einsum.spec.problem
    hint = "use a smaller --size (e.g. " + DEFAULT_SIZE + ")"
    for ds in problem.data_spaces:
        n = box_size(ds, problem.instance)
        if n > MAX_ELEMENTS:
            raise WorkloadError(f"tensor {ds.name} has {n} elements, over the drawing limit of {MAX_ELEMENTS}; "
                                f"{hint}", source=einsum.name)
    steps = nest_info(problem, einsum.spec.mapping.levels).compute_cycles
    if steps > MAX_STEPS:
        raise WorkloadError(f"the loop nest has {steps} temporal steps, over the drawing limit of {MAX_STEPS}; "
                            f"{hint}", source=einsum.name)


def tiny_einsums(config: str, sizes: dict[str, int], pe: int = 2, pe1d: int = 2,
                 einsums: list[str] | None = None) -> list[TinyEinsum]:
    """The Einsums of ``config`` (all, or ``einsums`` in that order) at ``sizes`` (see :func:`parse_size`).

    Raises :class:`WorkloadError` for unknown Einsum names, rendering failures (e.g. a PE dim that does not
    tile M) and instances over the drawing limits.
    """
    for count, option in ((pe * pe, "--pe"), (pe1d, "--pe1d")):
        if count > MAX_PES:
            raise WorkloadError(f"{count} PEs is over the drawing limit of {MAX_PES} PEs per array "
                                f"(one colour each); use --pe 2x2 or 3x3 and --pe1d up to {MAX_PES}", source=option)
    model = Model(name="tiny", D=sizes["H"] * sizes["E"], H=sizes["H"], E=sizes["E"], F=sizes["F"],
                  S=sizes["H"] * sizes["E"], source="fusemax animate --size")
    rendered = render(config, Workload(model, sizes["M"], batch=sizes["B"]), Hardware(pe_dim=pe, pe_1d=pe1d))
    names = list(rendered.einsums)
    wanted = einsums or names
    unknown = [n for n in wanted if n not in rendered.einsums]
    if unknown:
        raise WorkloadError(f"unknown Einsum(s) {', '.join(unknown)} for {config}; it has {', '.join(names)}",
                            source="--einsums")
    out = []
    for name in wanted:
        item = rendered.einsums[name]
        if item.needs_mapper:
            raise WorkloadError(f"{config} has no fixed mapping for {name} (the mapper finds it); animate "
                                "binding, arch, cascade or flat", source="--config")
        data: dict = {}
        for text in (item.arch_yaml, item.problem_yaml, item.mapping_yaml or ""):
            data.update(yamlio.loads(text) or {})
        spec = spec_from_dict(data, source=f"{config} {name}")
        if "P" in spec.problem.instance and spec.problem.instance["P"] != sizes["P"]:
            spec = rescale_rank(spec, "P", sizes["P"])
        tiny = TinyEinsum(name=name, array=item.array, equation=_equation(name, item.problem_yaml, spec), spec=spec)
        check_drawable(tiny)
        out.append(tiny)
    return out
