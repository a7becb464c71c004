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

:func:`energy_arch` maps a :class:`~fusemax.workload.Hardware` onto these parameters: the PE count and the
row width follow ``pe_dim``/``pe_1d`` and ``word_bytes``, the L3 depth ``l3_bytes`` (default the design's
L3), the register depths ``pe_reg_depth``/``pe_1d_reg_depth`` (default the design's).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from fusemax import yamlio
from fusemax.configs import ENERGY_DESIGNS, cycle_seconds
from fusemax.energy.estimator import estimate_ert
from fusemax.energy.tables import ERT
from fusemax.errors import SpecError
from fusemax.templates import render_template
from fusemax.workload import Hardware

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


def energy_arch(design: str, hardware: Hardware = Hardware()) -> EnergyArch:
    """The energy description parameters of ``design`` ("fusemax" or "flat") on ``hardware``."""
    try:
        spec = ENERGY_DESIGNS[design]
    except KeyError:
        raise SpecError(f"unknown energy design '{design}' (known: {', '.join(ENERGY_DESIGNS)})") from None
    word_bits = 8 * hardware.word_bytes
    row_bits = hardware.pe_dim * word_bits
    l3_bits = 8 * (hardware.l3_bytes or spec.l3_bytes)
    return EnergyArch(cycle_seconds=cycle_seconds(hardware.clock_hz), technology=TECHNOLOGY, dram_type=DRAM_TYPE,
                      word_bits=word_bits, pe_dim=hardware.pe_dim, pe_1d=hardware.pe_1d_count,
                      l3_depth=l3_bits // row_bits, l3_width_bits=row_bits, reg_2d=hardware.pe_reg_depth or spec.reg_2d,
                      reg_1d=hardware.pe_1d_reg_depth or spec.reg_1d, units_2d=spec.units_2d, units_1d=spec.units_1d)


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


def design_erts(design: str, hardware: Hardware = Hardware()) -> dict[str, ERT]:
    """``{"2d": ERT, "1d": ERT}`` of ``design`` on ``hardware`` from the builtin estimator (cached).

    ``hardware``'s sizes are the design's priced sizes; a configuration's come from
    :meth:`fusemax.configs.ResolvedHardware.energy_hardware`."""
    return _erts(energy_arch(design, hardware))
