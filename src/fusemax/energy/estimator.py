"""Builtin replacement for Accelergy: ERT and ART of an architecture from the primitive tables.

Usage::

    arch = fusemax.yamlio.load("inputs/area_energy/outputs-2d-fusemax/inputs/input.yaml")
    ert = estimate_ert(arch, source="input.yaml")   # -> tables.ERT, same content as Accelergy's ERT.yaml
    art = estimate_art(arch, source="input.yaml")   # -> tables.ART

Three architecture descriptions are accepted (a path is loaded with :func:`fusemax.yamlio.load`):

* timeloopfe v0.4 (``architecture: nodes:`` with ``!Container`` / ``!Component`` / ``!Parallel``), e.g.
  the artifact's ``area_energy/architecture/accel_*/accel-top-*-path.yaml`` or ``proposal/arch-2d.yaml``.
  Containers with ``spatial`` become timeloopfe's ``inter_<name>_spatial`` dummy levels and multiply the
  instance count of everything below them; container attributes (technology, global_cycle_seconds) are
  inherited. ``class: storage|compute`` with a ``subclass`` is estimated as the subclass.
* Accelergy's v0.4 input (``architecture: subtree: [{name, attributes, local, subtree}]``), e.g. the
  artifact's ``outputs-*/inputs/input.yaml`` - these produced the four reference ERT/ARTs.
* Accelergy's flattened architecture (``architecture: local: [{name: system_top_level.x[1..N], ...}]``).

They are flattened by :func:`fusemax.archtree.flatten_architecture` with Accelergy's reading
(:data:`fusemax.archtree.ACCELERGY`).

Component classes are modelled in Python after the artifact's compound classes
(``area_energy/architecture/components/*.yaml``); ``compound_components`` in the input are *not*
interpreted, so a different definition under the same class name needs the accelergy backend
(:mod:`fusemax.energy.accelergy`). Known classes: see :data:`KNOWN_CLASSES`.

``apply_shares``: Accelergy up to mid-2024 applied the smartbuffers' ``action_share``/``area_share``
(a small buffer costs ``(width/32) * (depth/64) ** 0.78`` of the 32x64 regfile it is cut from), which is
what the four ``outputs-*`` references show. The Accelergy of the artifact's ``check/`` run ignores
those keys (``scale_energy_by: 1.0``), so its reg_file costs the full 32x64 regfile; pass
``apply_shares=False`` to reproduce that.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from fusemax.archtree import Component, flatten_architecture
from fusemax.energy.components import Estimate, Library, load_library
from fusemax.energy.tables import ART, ERT
from fusemax.errors import SpecError

# ----------------------------------------------------------------------------------------------------
# Component models (after the artifact's compound classes)
# ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Ctx:
    lib: Library
    comp: Component
    source: str
    apply_shares: bool

    @property
    def technology(self) -> Any:
        return self.comp.attributes.get("technology", "45nm")

    @property
    def cycle(self) -> float | None:
        value = self.comp.attributes.get("global_cycle_seconds")
        return float(value) if value is not None else None

    def attr(self, name: str, default: Any = None) -> Any:
        value = self.comp.attributes.get(name, default)
        if value is None or value == "must_specify":
            raise SpecError(f"component '{self.comp.name}' (class {self.comp.cls}) needs attribute "
                            f"'{name}'", source=self.source, key=f"{self.comp.name}.attributes.{name}")
        return value

    def num(self, name: str, default: Any = None) -> float:
        value = self.attr(name, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise SpecError(f"attribute '{name}' of '{self.comp.name}' must be a number, got '{value}'",
                            source=self.source, key=f"{self.comp.name}.attributes.{name}") from None

    def prim(self, name: str, **attributes: Any) -> Estimate:
        return self.lib.estimate(name, attributes, self.technology, self.cycle)


@dataclass(frozen=True)
class _Model:
    """Energy per action (including ``leak``, pJ per cycle) and area (um^2) of one component instance."""

    energy: dict[str, float]
    area: float


def _smartbuffer(storage: str) -> Callable[[_Ctx], _Model]:
    def model(ctx: _Ctx) -> _Model:
        width, depth = ctx.num("width"), ctx.num("depth")
        # The artifact's smartbuffer: a buffer is a share of a memory at least 32 bits x 64 rows.
        mem_w, mem_d = max(32.0, width), max(64.0, depth)
        ws, ds = width / mem_w, depth / mem_d
        area_share = ws * ds if ctx.apply_shares else 1.0
        dyn = ws * ds ** (1.56 / 2) if ctx.apply_shares else 1.0
        static = area_share
        if storage == "regfile":
            s = _regfile_storage(ctx, mem_w, mem_d)
        else:
            sram = ctx.prim("SRAM", width=mem_w, depth=mem_d)
            s = _Model({"read": sram.energy["read"], "write": sram.energy["write"], "leak": sram.leak},
                       sram.area)
        n_bits = max(1, math.ceil(math.log2(depth))) if depth >= 1 else 1
        ag = ctx.prim("intadder", n_bits=n_bits)  # two address generators, one used per access
        write = dyn * s.energy["write"] + ag.energy["add"]
        return _Model({"write": write,
                       "read": dyn * s.energy["read"] + ag.energy["add"],
                       "leak": static * s.energy["leak"] + 2 * ag.leak,
                       "update": write},
                      area_share * s.area + 2 * ag.area)
    return model


def _regfile_storage(ctx: _Ctx, width: float, depth: float) -> _Model:
    # Accelergy's `regfile`: width*depth 1-bit Aladdin registers plus one address comparator per row.
    # The comparators are passed `n_bits`, which the Library plug-in does not know, so they stay at the
    # table's 32 bits (as in every reference ERT: 0.02947 pJ per compare).
    cell = ctx.prim("aladdin_register")
    comp = ctx.prim("aladdin_comparator")
    compare = depth * comp.energy["compare"]
    return _Model({"read": width * cell.energy["read"] + compare,
                   "write": width * cell.energy["write"] + compare,
                   "leak": width * depth * cell.leak + depth * comp.leak},
                  width * depth * cell.area + depth * comp.area)


def _regfile(ctx: _Ctx) -> _Model:
    s = _regfile_storage(ctx, ctx.num("width"), ctx.num("depth"))
    return _Model({**s.energy, "update": s.energy["write"]}, s.area)


def _dram(ctx: _Ctx) -> _Model:
    kind = str(ctx.comp.attributes.get("type", ctx.lib.dram_default_type))
    try:
        per_bit = ctx.lib.dram_per_bit_pj[kind]
    except KeyError:
        raise SpecError(f"DRAM type '{kind}' of '{ctx.comp.name}' is not in the DRAM table (known: "
                        f"{', '.join(ctx.lib.dram_per_bit_pj)})", source=ctx.source,
                        key=f"{ctx.comp.name}.attributes.type") from None
    e = per_bit * ctx.num("width")
    return _Model({"write": e, "leak": 0.0, "update": e, "read": e}, 0.0)


def _fp_width(ctx: _Ctx, key: str) -> float:
    # The artifact's fp classes pass exponent + mantissa = the declared width; the tables scale by it.
    return ctx.num(key)


def _fpmac_adder(ctx: _Ctx) -> _Model:
    add = ctx.prim("fpadder", width=_fp_width(ctx, "adder_width"))
    return _Model({"compute": add.energy["add"], "leak": add.leak}, add.area)


def _fpmac_multiplier(ctx: _Ctx) -> _Model:
    mul = ctx.prim("fpmultiplier", width=_fp_width(ctx, "multiplier_width"))
    return _Model({"compute": mul.energy["multiply"], "leak": mul.leak}, mul.area)


def _fpmac(ctx: _Ctx) -> _Model:
    a, m = _fpmac_adder(ctx), _fpmac_multiplier(ctx)
    return _Model({"compute": a.energy["compute"] + m.energy["compute"],
                   "leak": a.energy["leak"] + m.energy["leak"]}, a.area + m.area)


def _mac_exponential(ctx: _Ctx) -> _Model:
    # Five fpmacs (a degree-5 polynomial by Horner's rule) and one fp multiplier.
    mac, mul = _fpmac(ctx), _fpmac_multiplier(ctx)
    return _Model({"compute": 5 * mac.energy["compute"] + mul.energy["compute"],
                   "leak": 5 * mac.energy["leak"] + mul.energy["leak"]}, 5 * mac.area + mul.area)


def _mac_max(ctx: _Ctx) -> _Model:
    width = ctx.num("compare_width")
    cmp_ = ctx.prim("aladdin_comparator", datawidth=width)
    mux = ctx.prim("mux", n_bits=width)
    compute = cmp_.energy["update"] + cmp_.energy["compare"] + mux.energy["read"]
    return _Model({"compute": compute, "leak": cmp_.leak}, cmp_.area + mux.area)


def _fpmac_divide(ctx: _Ctx) -> _Model:
    div = ctx.prim("custom_divide", datawidth=ctx.num("datawidth"), datawidth_a=ctx.num("datawidth_a"),
                   datawidth_b=ctx.num("datawidth_b"))
    return _Model({"compute": div.energy["divide"], "leak": div.leak}, div.area)


def _intmac(ctx: _Ctx) -> _Model:
    # The artifact's intmac declares both subcomponents as aladdin_adder; the "multiplier" gets only
    # width_a/width_b, which the adder table does not know, so it costs a 32-bit add.
    add = ctx.prim("aladdin_adder", width=ctx.num("adder_width"))
    mul = ctx.prim("aladdin_adder")
    return _Model({"compute": add.energy["read"] + mul.energy["read"], "leak": add.leak + mul.leak},
                  add.area + mul.area)


def _aladdin_register(ctx: _Ctx) -> _Model:
    width = ctx.comp.attributes.get("width")
    reg = ctx.prim("aladdin_register", **({"width": float(width)} if width is not None else {}))
    return _Model({"update": reg.energy["update"], "read": reg.energy["read"],
                   "write": reg.energy["write"], "leak": reg.leak}, reg.area)


def _primitive(name: str) -> Callable[[_Ctx], _Model]:
    def model(ctx: _Ctx) -> _Model:
        prim = ctx.lib.primitive(name)
        attrs = {k: ctx.comp.attributes[k] for k in prim.scale if k in ctx.comp.attributes}
        est = ctx.prim(name, **attrs)
        return _Model({**est.energy, "leak": est.leak}, est.area)
    return model


#: Component classes the builtin estimator knows, and their models. ``None``: no ERT entry
#: (timeloopfe's dummy levels), area from the dummy table.
MODELS: dict[str, Callable[[_Ctx], _Model] | None] = {
    "smartbuffer_RF": _smartbuffer("regfile"),
    "smartbuffer_SRAM": _smartbuffer("SRAM"),
    "regfile": _regfile,
    "DRAM": _dram,
    "dram": _dram,
    "fpmac": _fpmac,
    "fpmac_adder": _fpmac_adder,
    "fpmac_multiplier": _fpmac_multiplier,
    "mac_max": _mac_max,
    "mac_exponential": _mac_exponential,
    "fpmac_divide": _fpmac_divide,
    "intmac": _intmac,
    "aladdin_register": _aladdin_register,
    "aladdin_comparator": _primitive("aladdin_comparator"),
    "aladdin_adder": _primitive("aladdin_adder"),
    "intadder": _primitive("intadder"),
    "fpadder": _primitive("fpadder"),
    "fpmultiplier": _primitive("fpmultiplier"),
    "custom_divide": _primitive("custom_divide"),
    "dummy_storage": None,
}
KNOWN_CLASSES = tuple(MODELS)


def _model(lib: Library, comp: Component, source: str, apply_shares: bool) -> _Model | None:
    if comp.cls not in MODELS:
        raise SpecError(f"component class '{comp.cls}' (component '{comp.name}') is not known to the "
                        f"builtin estimator (known: {', '.join(KNOWN_CLASSES)}); add a model and its "
                        f"table to arch/components/ or use the accelergy backend",
                        source=source, key=f"{comp.name}.class")
    model = MODELS[comp.cls]
    return None if model is None else model(_Ctx(lib, comp, source, apply_shares))


def _component_models(description: Mapping[str, Any] | str | Path, source: str | None, library: Library | None,
                      apply_shares: bool) -> tuple[str, Library, list[tuple[Component, _Model | None]]]:
    """(source name, library, [(component, its model or None for a dummy)]) of an architecture."""
    if isinstance(description, (str, Path)):
        source = source or str(description)
    source = source or "<architecture>"
    lib = library or load_library()
    return source, lib, [(comp, _model(lib, comp, source, apply_shares))
                         for comp in flatten_architecture(description, source)]


def estimate_ert(description: Mapping[str, Any] | str | Path, *, source: str | None = None,
                 library: Library | None = None, apply_shares: bool = True,
                 decimals: int | None = 6) -> ERT:
    """Accelergy-equivalent Energy Reference Table of ``description`` (see module docstring).

    Energies are pJ per action per instance; ``leak`` is pJ per cycle at the component's
    ``global_cycle_seconds``. ``decimals``: Accelergy writes ERT energies rounded to 6 decimals, which
    matters for the tiny leakage entries (1.3e-05 written for 1.335e-05); ``None`` keeps full precision.
    """
    source, _, models = _component_models(description, source, library, apply_shares)
    ert = ERT(source=f"builtin estimate of {source}")
    for comp, model in models:
        if model is None:
            continue
        ert.actions[comp.name] = {a: (round(e, decimals) if decimals is not None else e)
                                  for a, e in model.energy.items()}
        ert.full_names[comp.name] = comp.full_name
    return ert


def estimate_art(description: Mapping[str, Any] | str | Path, *, source: str | None = None,
                 library: Library | None = None, apply_shares: bool = True) -> ART:
    """Accelergy-equivalent Area Reference Table of ``description``: um^2 per instance per component.

    The instance count is in each full name (``reg_file[1..65536]``); see
    :func:`fusemax.energy.actions.area_summary` for the artifact's per-array totals.
    """
    source, lib, models = _component_models(description, source, library, apply_shares)
    art = ART(source=f"builtin estimate of {source}")
    for comp, model in models:
        art.areas[comp.name] = lib.dummy_area if model is None else model.area
        art.full_names[comp.name] = comp.full_name
    return art
