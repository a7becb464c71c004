"""Energy reference tables of the FuseMax and FLAT designs from fusemax's own architecture descriptions.

The paper's energies price every action on two Accelergy runs per design, one for the 2D array (with DRAM
and the L3) and one for the 1D array. The artifact regenerates those tables on every run from its
``area_energy/architecture/accel_{fusemax,flat}/accel-top-{2d,1d}-path.yaml``; ``arch/energy/*.yaml.j2``
are the same descriptions with the sizes as parameters, and :func:`design_erts` prices them with the
builtin estimator (:mod:`fusemax.energy.estimator`), so no Accelergy and no reference files are needed.

What the published rows were priced on (established against ``results/attn-*.csv``):

* FuseMax (binding, arch; end-to-end matmuls): 45 nm, HBM2 DRAM (3.9 pJ/bit), an L3 of 4096-bit rows
  x 32768 (16 MiB), 2D PE registers 12 words deep, 1D PE registers 32 words; 2D units mac, max, add;
  1D units mac, max, add, divide.
* FLAT (flat, cascade, unfused): the same but an L3 of 4096-bit rows x 65536 (32 MiB), 2D registers 4
  words, 1D registers 16 words; 2D units mac, add; 1D units mac, max, exponential, add, divide.
* The Accelergy of those runs ignored the smartbuffers' ``action_share``/``area_share``: every register
  file costs a whole 32 x 64 regfile per access (``apply_shares=False``). The artifact's stored
  ``outputs-*/ERT.yaml`` (L3 of 64-bit rows, shares applied) did *not* produce the rows.

:func:`energy_arch` maps a configuration's :class:`~fusemax.configs.ResolvedHardware` (resolved once per
point, :func:`fusemax.configs.resolve_hardware`) onto these parameters: its ``energy_design``, the PE count
and the row width from ``pe_dim``/``pe_1d`` and ``word_bits``, the L3 depth from ``energy_l3_bytes`` and the
register depths ``energy_reg_2d``/``energy_reg_1d`` (the sizes the design prices, see :mod:`fusemax.configs`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from fusemax import yamlio
from fusemax.configs import ENERGY_DESIGNS, ResolvedHardware
from fusemax.energy.estimator import estimate_ert
from fusemax.energy.tables import ERT
from fusemax.errors import SpecError
from fusemax.templates import render_template

#: Units the templates know (``arch/energy/units.yaml.j2``).
KNOWN_UNITS = ("mac", "max", "add", "exponential", "divide")

#: The artifact's energy runs: 45 nm (what Accelergy's default plug-ins cover) and HBM2.
TECHNOLOGY = "45nm"
DRAM_TYPE = "HBM2"


@dataclass(frozen=True)
class EnergyArch:
    """The parameters of ``arch/energy/array-{2d,1d}.yaml.j2`` for one design and hardware."""

    cycle_seconds: float
    technology: str
    dram_type: str
    word_bits: int
    pe_dim: int
    pe_1d: int
    l3_depth: int
    l3_width_bits: int
    reg_2d: int
    reg_1d: int
    units_2d: tuple[str, ...]
    units_1d: tuple[str, ...]


def energy_arch(hardware: ResolvedHardware) -> EnergyArch:
    """The energy description parameters of ``hardware``'s energy design ("fusemax" or "flat") at the sizes
    it prices."""
    try:
        spec = ENERGY_DESIGNS[hardware.energy_design]
    except KeyError:
        raise SpecError(f"unknown energy design '{hardware.energy_design}' (known: {', '.join(ENERGY_DESIGNS)})") from None
    row_bits = hardware.pe_dim * hardware.word_bits
    return EnergyArch(cycle_seconds=hardware.cycle_seconds, technology=TECHNOLOGY, dram_type=DRAM_TYPE,
                      word_bits=hardware.word_bits, pe_dim=hardware.pe_dim, pe_1d=hardware.pe_1d,
                      l3_depth=8 * hardware.energy_l3_bytes // row_bits, l3_width_bits=row_bits,
                      reg_2d=hardware.energy_reg_2d, reg_1d=hardware.energy_reg_1d, units_2d=spec.units_2d,
                      units_1d=spec.units_1d)


def render_energy_arch(params: EnergyArch, array: str) -> str:
    """The v0.4 architecture YAML of one array ("2d" or "1d"), as Accelergy or the estimator reads it."""
    if array not in ("2d", "1d"):
        raise ValueError("array must be '2d' or '1d'")
    units = params.units_2d if array == "2d" else params.units_1d
    unknown = [u for u in units if u not in KNOWN_UNITS]
    if unknown:
        raise SpecError(f"no energy model for functional unit '{unknown[0]}' (known: {', '.join(KNOWN_UNITS)})",
                        source="arch/energy/units.yaml.j2")
    context: dict[str, Any] = asdict(params)
    context.update(units=units, reg_depth=params.reg_2d if array == "2d" else params.reg_1d)
    return render_template(f"arch/energy/array-{array}.yaml.j2", **context)


@lru_cache(maxsize=64)
def _erts(params: EnergyArch) -> dict[str, ERT]:
    out = {}
    for array in ("2d", "1d"):
        source = f"arch/energy/array-{array}.yaml.j2 ({params.pe_dim} PEs, L3 {params.l3_depth} rows)"
        description = yamlio.loads(render_energy_arch(params, array), source=source)
        out[array] = estimate_ert(description, source=source, apply_shares=False)
    return out


def design_erts(hardware: ResolvedHardware) -> dict[str, ERT]:
    """``{"2d": ERT, "1d": ERT}`` that price a configuration on its resolved ``hardware``: its energy design at
    the sizes it prices, from the builtin estimator (cached; never reference files)."""
    return _erts(energy_arch(hardware))
