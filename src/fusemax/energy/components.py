"""Primitive component tables (``arch/components/*.yaml``) and their scaling rules.

A *primitive* is what an Accelergy plug-in estimates directly (an Aladdin adder, a CACTI SRAM, ...).
The compound classes of the artifact (``smartbuffer_RF``, ``fpmac``, ...) are built from primitives in
:mod:`fusemax.energy.estimator`. Here: load the tables, and answer "energy of action *a* / leakage per
cycle / area of primitive *p* with attributes *x*" with the interpolation and scaling rules documented
at the top of ``arch/components/primitives.yaml``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from fusemax import yamlio
from fusemax.energy.cacti import SramCurve, live_cacti_enabled, load_sram_curve
from fusemax.errors import SpecError


def components_dir() -> Path:
    """The folder holding ``primitives.yaml`` and ``technology.yaml`` (repo root or the wheel's copy)."""
    from fusemax.templates import template_root

    return template_root() / "arch" / "components"


def technology_nm(value: Any, source: str = "<architecture>") -> float:
    """``"45nm"``, ``45`` or ``"45"`` -> 45.0."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*(nm)?\s*", str(value))
    if not match:
        raise SpecError(f"cannot read technology '{value}' (expected e.g. 45nm)", source=source,
                        key="technology")
    return float(match.group(1))


@dataclass(frozen=True)
class Point:
    """One measured (published) point of a primitive."""

    attributes: dict[str, Any]
    cycle_seconds: float
    energy: dict[str, float]
    leak: float
    area: float
    source: str


@dataclass(frozen=True)
class Primitive:
    """A primitive class: its points and per-attribute scaling exponents, or a curve replacing them."""

    name: str
    points: tuple[Point, ...]
    scale: dict[str, dict[str, float]] = field(default_factory=dict)
    curve: SramCurve | None = None


@dataclass(frozen=True)
class Estimate:
    """A primitive's energy per action (pJ), leakage per cycle (pJ) and area (um^2) for one query."""

    energy: dict[str, float]
    leak: float
    area: float


@dataclass(frozen=True)
class Technology:
    nodes: tuple[float, ...]
    area: tuple[tuple[float, ...], ...]
    energy_poly: tuple[tuple[float, float, float], ...]
    vdd: float

    def _position(self, node: float) -> float:
        """Fractional index of ``node`` in :attr:`nodes` (descending), for linear interpolation."""
        for i in range(len(self.nodes) - 1):
            hi, lo = self.nodes[i], self.nodes[i + 1]
            if lo <= node <= hi:
                return i + (hi - node) / (hi - lo)
        raise SpecError(f"technology {node:g} nm is outside the scaling table "
                        f"({self.nodes[-1]:g}-{self.nodes[0]:g} nm)",
                        source=str(components_dir() / "technology.yaml"))

    @staticmethod
    def _blend(values: list[float], x: float) -> float:
        i = min(int(math.floor(x)), len(values) - 2)
        frac = x - i
        return values[i] * (1 - frac) + values[i + 1] * frac

    def area_factor(self, from_nm: float, to_nm: float) -> float:
        if from_nm == to_nm:
            return 1.0
        x, y = self._position(from_nm), self._position(to_nm)
        # Bilinear interpolation in the from x to matrix.
        rows = [self._blend(list(row), y) for row in self.area]
        return self._blend(rows, x)

    def energy_factor(self, from_nm: float, to_nm: float) -> float:
        if from_nm == to_nm:
            return 1.0

        def power(node: float) -> float:
            per_node = [a * self.vdd ** 2 + b * self.vdd + c for a, b, c in self.energy_poly]
            return self._blend(per_node, self._position(node))

        return power(to_nm) / power(from_nm)


@dataclass(frozen=True)
class Library:
    """All primitive tables: :attr:`primitives`, DRAM per-bit energies, dummy area, technology scaling."""

    primitives: dict[str, Primitive]
    dram_per_bit_pj: dict[str, float]
    dram_default_type: str
    dummy_area: float
    technology: Technology
    source: str

    def primitive(self, name: str) -> Primitive:
        try:
            return self.primitives[name]
        except KeyError:
            raise SpecError(f"no primitive table for '{name}' (known: {', '.join(sorted(self.primitives))})",
                            source=self.source) from None

    def estimate(self, name: str, attributes: Mapping[str, Any], technology: Any = "45nm",
                 cycle_seconds: float | None = None) -> Estimate:
        """Energy per action, leakage per cycle and area of primitive ``name`` at ``attributes``.

        ``cycle_seconds`` rescales the leakage per cycle (leakage power is fixed); ``None`` keeps the
        table point's cycle time.
        """
        prim = self.primitive(name)
        query = {k: float(v) for k, v in attributes.items() if k in prim.scale and v is not None}
        to_nm = technology_nm(technology)
        # A point measured at the query's node beats technology scaling (CACTI, for one, is run per node).
        same_node = tuple(p for p in prim.points
                          if technology_nm(p.attributes.get("technology", "45nm")) == to_nm)
        est, point = _interpolate_or_scale(replace(prim, points=same_node) if same_node else prim, query)
        from_nm = technology_nm(point.attributes.get("technology", "45nm"))
        e_tech = self.technology.energy_factor(from_nm, to_nm)
        a_tech = self.technology.area_factor(from_nm, to_nm)
        leak = est.leak * e_tech
        if cycle_seconds is not None:
            leak *= cycle_seconds / point.cycle_seconds
        return Estimate(energy={a: e * e_tech for a, e in est.energy.items()}, leak=leak,
                        area=est.area * a_tech)


def _attr(point: Point, name: str) -> float:
    return float(point.attributes[name])


def _log_distance(point: Point, query: dict[str, float]) -> float:
    return sum(abs(math.log(v / _attr(point, k))) for k, v in query.items() if v > 0)


def _along_curve(prim: Primitive, curve: SramCurve, query: dict[str, float]) -> tuple[Estimate, Point]:
    """The nearest point the curve covers, times the curve's ratio between the query and that point.

    Anchoring on the published point (rather than taking the curve's value) keeps published numbers
    where the curve differs from them (another node, another CACTI build) and uses the curve's shape only.
    """
    try:
        width, depth = query["width"], query["depth"]
    except KeyError as missing:
        raise SpecError(f"{prim.name} needs attribute {missing} to be read off its CACTI curve",
                        source=curve.source) from None
    anchors = [p for p in prim.points if curve.covers(_attr(p, "width"), _attr(p, "depth"))]
    if not anchors:
        raise SpecError(f"no point of {prim.name} lies inside its CACTI curve", source=curve.source)
    p = min(anchors, key=lambda a: _log_distance(a, query))
    r = curve.point(width, depth).ratio(curve.point(_attr(p, "width"), _attr(p, "depth")))
    return Estimate(energy={"read": p.energy["read"] * r.read, "write": p.energy["write"] * r.write},
                    leak=p.leak * r.leak_mw, area=p.area * r.area), p


def _interpolate_or_scale(prim: Primitive, query: dict[str, float]) -> tuple[Estimate, Point]:
    def as_estimate(p: Point) -> Estimate:
        return Estimate(energy=dict(p.energy), leak=p.leak, area=p.area)

    # 1. exact point
    for p in prim.points:
        if all(_attr(p, k) == v for k, v in query.items()):
            return as_estimate(p), p

    # 1b. the primitive's CACTI curve, which replaces rules 2 and 3 where it has data
    curve = prim.curve
    if curve is not None and (live_cacti_enabled()
                              or curve.covers(query.get("width", math.nan), query.get("depth", math.nan))):
        return _along_curve(prim, curve, query)

    # 2. piecewise-linear along a single attribute (e.g. the NeuroSim adder's n_bits)
    if len(query) == 1 and len(prim.points) >= 2:
        (key, q), = query.items()
        pts = sorted(prim.points, key=lambda p: _attr(p, key))
        lo_i = max([i for i, p in enumerate(pts) if _attr(p, key) <= q], default=0)
        lo_i = min(lo_i, len(pts) - 2)
        lo, hi = pts[lo_i], pts[lo_i + 1]
        t = (q - _attr(lo, key)) / (_attr(hi, key) - _attr(lo, key))

        def lerp(a: float, b: float) -> float:
            return a + (b - a) * t

        # Leakage per cycle is compared at one cycle time (the lower point's).
        hi_leak = hi.leak * lo.cycle_seconds / hi.cycle_seconds
        energy = {a: lerp(lo.energy[a], hi.energy.get(a, lo.energy[a])) for a in lo.energy}
        return Estimate(energy=energy, leak=max(0.0, lerp(lo.leak, hi_leak)),
                        area=lerp(lo.area, hi.area)), lo

    # 3. nearest point, scaled by (query / point) ** exponent per attribute
    p = min(prim.points, key=lambda point: _log_distance(point, query))
    e_scale = a_scale = l_scale = 1.0
    for k, v in query.items():
        ratio = v / _attr(p, k)
        e_scale *= ratio ** prim.scale[k].get("energy", 1)
        a_scale *= ratio ** prim.scale[k].get("area", 1)
        l_scale *= ratio ** prim.scale[k].get("leak", 1)
    return Estimate(energy={a: e * e_scale for a, e in p.energy.items()}, leak=p.leak * l_scale,
                    area=p.area * a_scale), p


def _load_primitives(data: Any, source: str, directory: Path) -> tuple[dict[str, Primitive], dict[str, float], str, float]:
    if not isinstance(data, dict) or not isinstance(data.get("primitives"), dict):
        raise SpecError("expected a top-level 'primitives:' mapping", source=source)
    prims: dict[str, Primitive] = {}
    dram: dict[str, float] = {}
    dram_default = "LPDDR4"
    dummy_area = 1.0
    for name, entry in data["primitives"].items():
        key = f"primitives.{name}"
        if name == "DRAM":
            dram = {t: float(e) for t, e in entry["per_bit_pj"].items()}
            dram_default = entry.get("default_type", dram_default)
            continue
        if name == "dummy_storage":
            dummy_area = float(entry["area"])
            continue
        try:
            points = tuple(
                Point(attributes=dict(p["attributes"]), cycle_seconds=float(p["cycle_seconds"]),
                      energy={a: float(e) for a, e in p["energy"].items()}, leak=float(p["leak"]),
                      area=float(p["area"]), source=str(p.get("source", "")))
                for p in entry["points"])
            scale = {k: {t: float(x) for t, x in (v or {}).items()} for k, v in (entry.get("scale") or {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SpecError(f"malformed primitive table ({exc!r})", source=source, key=key) from None
        if not points:
            raise SpecError("primitive has no points", source=source, key=key)
        curve = load_sram_curve(directory / entry["curve"]) if entry.get("curve") else None
        prims[name] = Primitive(name=name, points=points, scale=scale, curve=curve)
    return prims, dram, dram_default, dummy_area


def _load_technology(data: Any, source: str) -> Technology:
    try:
        return Technology(nodes=tuple(float(n) for n in data["nodes_nm"]),
                          area=tuple(tuple(float(x) for x in row) for row in data["area"]),
                          energy_poly=tuple((float(a), float(b), float(c))
                                            for a, b, c in data["energy_vdd_polynomial"]),
                          vdd=float(data["vdd"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"malformed technology table ({exc!r})", source=source) from None


def load_library(directory: str | Path | None = None) -> Library:
    """Load ``primitives.yaml`` and ``technology.yaml`` from ``directory`` (default :func:`components_dir`)."""
    return _load_library_cached(str(Path(directory) if directory else components_dir()))


@lru_cache(maxsize=8)
def _load_library_cached(directory: str) -> Library:
    prim_path = Path(directory) / "primitives.yaml"
    tech_path = Path(directory) / "technology.yaml"
    prims, dram, dram_default, dummy_area = _load_primitives(yamlio.load(prim_path), str(prim_path), Path(directory))
    tech = _load_technology(yamlio.load(tech_path), str(tech_path))
    return Library(primitives=prims, dram_per_bit_pj=dram, dram_default_type=dram_default,
                   dummy_area=dummy_area, technology=tech, source=str(prim_path))
