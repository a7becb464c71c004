"""The units of every hardware flag and file value: one convention, one parser and one spelling per quantity.

* **Capacity** (``--l3-bytes``, any buffer size): bytes, or K, M, G followed by nothing, ``B`` or
  ``iB``, all JEDEC binary: ``16M`` = ``16MB`` = ``16MiB`` = 16,777,216 B.
* **Bandwidth** (``--dram-bandwidth``): bytes per second, or kB/MB/GB/TB decimal (``400GB`` = 4.0e11 B/s)
  and KiB/MiB/GiB/TiB binary (``400GiB`` = 400 x 2^30 B/s), optionally followed by ``/s`` or ``ps``;
  plain numbers such as ``400e9`` are B/s. At least 1 B/s.
* **Frequency** (``--clock-hz``): Hz, or kHz, MHz, GHz (``940MHz``); plain numbers such as ``940e6`` are
  Hz. At least 1 Hz.

The ``format_*`` functions give each value one canonical spelling (``16MiB``, ``400GBps``, ``940MHz``, or
the plain number when no unit divides it), used in hardware-sweep folder labels: two spellings of one
value get one label, and a label never holds ``/``.
"""
from __future__ import annotations

import math
import re

from fusemax.errors import WorkloadError

#: The accepted forms, for flag help and error messages.
CAPACITY_FORMS = "bytes or K/M/G with optional B or iB, all binary (16MB = 16MiB = 16777216 B)"
BANDWIDTH_FORMS = ("bytes per second (400e9), kB/MB/GB/TB decimal (400GB = 4e11 B/s) or KiB/MiB/GiB/TiB "
                   "binary (400GiB = 4.295e11 B/s), optionally with /s")
FREQUENCY_FORMS = "Hz (940e6) or kHz/MHz/GHz (940MHz)"

_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)"
_CAPACITY = re.compile(r"^\s*([0-9]+)\s*(?:([kKmMgG])(?:i?B)?|B)?\s*$")
_BANDWIDTH = re.compile(rf"^\s*{_NUMBER}\s*(?:([kKMGT])(i?)B|B)?\s*(?:/s|ps)?\s*$")
_FREQUENCY = re.compile(rf"^\s*{_NUMBER}\s*(?:([kKMG]?)Hz)?\s*$")

#: Binary prefixes (K = 1024), of capacities, binary bandwidths and the artifact's sequence lengths.
BINARY_PREFIXES = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def _number(value: str | int | float, pattern: re.Pattern[str], what: str, forms: str,
            source: str) -> re.Match[str] | float:
    """``value`` itself when it is a number, else its match of ``pattern``; refused with the accepted forms."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = pattern.match(str(value))
    if not match:
        raise WorkloadError(f"bad {what} {value!r}; use {forms}", source=source)
    return match


def parse_bytes(value: str | int, source: str = "--l3-bytes") -> int:
    """A capacity in bytes: ``16777216``, ``16M``, ``16MB``, ``16MiB`` (all binary), at least 1."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        match = _number(str(value), _CAPACITY, "size", CAPACITY_FORMS, source)
        assert isinstance(match, re.Match)
        prefix = match.group(2)
        number = int(match.group(1)) * (BINARY_PREFIXES[prefix.upper()] if prefix else 1)
    if number < 1:
        raise WorkloadError(f"bad size {value!r}; it must be at least 1 byte ({CAPACITY_FORMS})", source=source)
    return number


def parse_bandwidth(value: str | float, source: str = "--dram-bandwidth") -> float:
    """Bytes per second, each unit meaning what it says: ``400e9``, ``400GB`` or ``400 GB/s`` (10^9),
    ``400GiB`` (2^30), ``1.6TB/s``; at least 1 B/s and finite."""
    match = _number(value, _BANDWIDTH, "bandwidth", BANDWIDTH_FORMS, source)
    if isinstance(match, float):
        number = match
    else:
        prefix, binary = match.group(2), match.group(3)
        scale = 1 if prefix is None else BINARY_PREFIXES[prefix.upper()] if binary else _DECIMAL[prefix.replace("K", "k")]
        number = float(match.group(1)) * scale
    if not (math.isfinite(number) and number >= 1):
        raise WorkloadError(f"bad bandwidth {value!r}; it must be a finite number of at least 1 B/s "
                            f"({BANDWIDTH_FORMS})", source=source)
    return number


def parse_frequency(value: str | float, source: str = "--clock-hz") -> float:
    """A frequency in Hz: ``940e6``, ``940000000``, ``940MHz``, ``0.94GHz``; at least 1 Hz and finite."""
    match = _number(value, _FREQUENCY, "frequency", FREQUENCY_FORMS, source)
    if isinstance(match, float):
        number = match
    else:
        prefix = match.group(2)
        number = float(match.group(1)) * (_DECIMAL[prefix.replace("K", "k")] if prefix else 1)
    if not (math.isfinite(number) and number >= 1):
        raise WorkloadError(f"bad frequency {value!r}; it must be a finite number of at least 1 Hz "
                            f"({FREQUENCY_FORMS})", source=source)
    return number


def spelled(value: float, units: list[tuple[str, int]], plain: str) -> str:
    """``value`` in the largest of ``units`` (name, size) that divides it, else as a plain number + ``plain``."""
    for name, size in sorted(units, key=lambda unit: -unit[1]):
        if value >= size and value % size == 0:
            return f"{int(value // size)}{name}"
    return f"{int(value) if float(value).is_integer() else value!r}{plain}"


def format_bytes(n: int) -> str:
    """A capacity's canonical spelling: ``16MiB``, ``1536KiB``, ``1000B``."""
    return spelled(n, [(f"{p}iB", s) for p, s in BINARY_PREFIXES.items() if p != "T"], "B")


def format_bandwidth(value: float) -> str:
    """A bandwidth's canonical spelling (never a ``/``): ``400GBps`` (4e11 B/s), ``400GiBps``, ``1500Bps``."""
    return spelled(value, [*((f"{p}Bps", s) for p, s in _DECIMAL.items()),
                            *((f"{p}iBps", s) for p, s in BINARY_PREFIXES.items())], "Bps")


def format_frequency(value: float) -> str:
    """A frequency's canonical spelling: ``940MHz``, ``1GHz``, ``1500Hz``."""
    return spelled(value, [(f"{p}Hz", s) for p, s in _DECIMAL.items() if p != "T"], "Hz")
