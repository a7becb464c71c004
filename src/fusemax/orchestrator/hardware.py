"""The hardware axis of a sweep: lists of values per :class:`~fusemax.workload.Hardware` parameter.
``{"pe_dim": ["128", "256"], "l3_bytes": ["8MiB", "16MiB"]}`` is four variants (the cross product, in the
order given). Values are text as typed on the command line or in a sweep file: integers for PE counts, sizes
such as ``16MiB`` for ``l3_bytes``, bytes per second such as ``400e9``, ``400GB`` (10^9) or ``400GiB`` (2^30)
for ``dram_bandwidth`` and hertz such as ``940e6`` for ``clock_hz``. Each variant gets a folder label naming
only what varies."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from fusemax.errors import FusemaxError, WorkloadError
from fusemax.workload import Hardware, parse_bandwidth, parse_bytes

_DIGITS = re.compile(r"\+?[0-9]+")


def _positive_int(text: str) -> int:
    # plain decimal digits only: int() would also take "1_000" and non-ASCII digits, which the folder
    # label would then spell differently from the value
    if not _DIGITS.fullmatch(text):
        raise ValueError(text)
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _positive_float(text: str) -> float:
    if "_" in text:  # float() takes "1_000" too
        raise ValueError(text)
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


#: Parameter -> parser of one value. The register-file overrides stay with the Pareto sweep.
PARSERS: dict[str, Callable[[str], Any]] = {
    "pe_dim": _positive_int, "pe_1d": _positive_int, "l3_bytes": parse_bytes,
    "dram_bandwidth": parse_bandwidth, "clock_hz": _positive_float,
}


@dataclass(frozen=True)
class HardwareVariant:
    """One point of the hardware axis and its folder label (empty when nothing varies)."""

    hardware: Hardware
    label: str


def hardware_variants(values: Mapping[str, Sequence[str | int | float]], source: str = "hardware") -> list[HardwareVariant]:
    """Every combination of ``values`` (parameter -> list of values) as a :class:`Hardware`.

    An unknown parameter, an empty list or a bad value raises a :class:`FusemaxError` naming it.
    """
    parsed: dict[str, list[tuple[str, Any]]] = {}
    for name, items in values.items():
        if name not in PARSERS:
            raise FusemaxError(f"unknown hardware parameter; use {', '.join(PARSERS)}", source=source, key=name)
        if not items:
            raise FusemaxError("expected at least one value", source=source, key=name)
        parsed[name] = []
        for item in items:
            try:
                parsed[name].append((str(item).strip(), PARSERS[name](str(item).strip())))
            except (ValueError, WorkloadError):
                raise FusemaxError(f"bad value {item!r}", source=source, key=name) from None
    varying = [name for name, items in parsed.items() if len(items) > 1]
    variants = []
    for combo in itertools.product(*parsed.values()):
        chosen = dict(zip(parsed, combo))
        hardware = Hardware(**{name: value for name, (_, value) in chosen.items()})
        label = "_".join(f"{name}={chosen[name][0]}" for name in varying)
        variants.append(HardwareVariant(hardware, label))
    return variants
