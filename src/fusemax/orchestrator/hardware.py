"""The hardware axis of a sweep: lists of values per :class:`~fusemax.workload.Hardware` parameter.
``{"pe_dim": ["128", "256"], "l3_bytes": ["8MiB", "16MiB"]}`` is four variants (the cross product, in the
order given). Values are text as typed on the command line or in a sweep file: integers for PE counts and
the units of :mod:`fusemax.units` for the rest (``l3_bytes`` binary such as ``16MiB``, ``dram_bandwidth``
such as ``400GB`` (10^9) or ``400GiB`` (2^30) per second, ``clock_hz`` such as ``940MHz``). Each variant
gets a folder label naming only what varies, each value in its canonical spelling (``l3_bytes=16MiB``,
``dram_bandwidth=400GBps``), so two spellings of one value are one label (and refused as a repeat)."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from fusemax.errors import FusemaxError, WorkloadError
from fusemax.units import format_bandwidth, format_bytes, format_frequency, parse_bandwidth, parse_bytes, parse_frequency
from fusemax.workload import Hardware

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


#: Parameter -> parser of one value. The register-file overrides stay with the Pareto sweep.
PARSERS: dict[str, Callable[[str], Any]] = {
    "pe_dim": _positive_int, "pe_1d": _positive_int, "l3_bytes": parse_bytes,
    "dram_bandwidth": parse_bandwidth, "clock_hz": parse_frequency,
}
#: Parameter -> the canonical spelling of a value in folder labels.
LABELS: dict[str, Callable[[Any], str]] = {
    "pe_dim": str, "pe_1d": str, "l3_bytes": format_bytes, "dram_bandwidth": format_bandwidth,
    "clock_hz": format_frequency,
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
        labels: dict[str, str] = {}
        for item in items:
            try:
                value = PARSERS[name](str(item).strip())
            except ValueError:
                raise FusemaxError(f"bad value {item!r}; expected a positive integer", source=source,
                                   key=name) from None
            except WorkloadError as exc:
                raise FusemaxError(exc.reason, source=source, key=name) from None
            label = LABELS[name](value)
            if label in labels:
                raise FusemaxError(f"{labels[label]!r} and {item!r} are the same value ({label}); give each once",
                                   source=source, key=name)
            labels[label] = str(item)
            parsed[name].append((label, value))
    varying = [name for name, items in parsed.items() if len(items) > 1]
    variants = []
    for combo in itertools.product(*parsed.values()):
        chosen = dict(zip(parsed, combo))
        hardware = Hardware(**{name: value for name, (_, value) in chosen.items()})
        label = "_".join(f"{name}={chosen[name][0]}" for name in varying)
        variants.append(HardwareVariant(hardware, label))
    return variants
