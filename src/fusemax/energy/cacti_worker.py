"""Run CACTI through hwcomponents-cacti: imported by :mod:`fusemax.energy.cacti` where hwcomponents-cacti is
importable, else run as a script by a Python >= 3.12 interpreter that has it (:mod:`fusemax.py312`).

As a script it must import nothing from fusemax. Standard input is a JSON object ``{"points": [[width,
depth], ...], "tech_nm", "n_rw_ports", "n_banks"}``; standard output is a JSON list, one
:func:`sram_point` answer per point.
"""
from __future__ import annotations

import contextlib
import io
import json
import sys


def sram_point(width: int, depth: int, tech_nm: float, n_rw_ports: int, n_banks: int) -> dict[str, float]:
    """CACTI's ``width``-bit x ``depth``-row SRAM: read/write energy (pJ per access), standby leakage
    (mW), area (um^2), as hwcomponents-cacti reports them (unrounded)."""
    from hwcomponents_cacti import SRAM

    sram = SRAM(tech_node=tech_nm * 1e-9, width=width, depth=depth, size=width * depth,
                n_rw_ports=n_rw_ports, n_banks=n_banks)
    return {"read": sram.read_energy * 1e12, "write": sram.write_energy * 1e12,
            "leak_mw": sram.cacti_leak_power * 1e3, "area": sram.cacti_area * 1e12}


def main() -> int:
    request = json.load(sys.stdin)
    # Standard output carries only the JSON answer, whatever hwcomponents prints.
    with contextlib.redirect_stdout(io.StringIO()):
        answer = [sram_point(width, depth, request["tech_nm"], request["n_rw_ports"], request["n_banks"])
                  for width, depth in request["points"]]
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
