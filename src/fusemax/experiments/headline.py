"""The paper's headline: mean speedup and energy ratio of one configuration over its baselines.

Pure: result rows (anything with the columns of ``attn-<config>.csv`` plus ``config`` and ``phase``) in,
a table out; used by ``fusemax run``, ``run_all.py`` and the report.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from fusemax.workload import PREFILL


class _Row(Protocol):
    @property
    def config(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def seq_len(self) -> str: ...
    @property
    def phase(self) -> str: ...
    @property
    def latency(self) -> float: ...
    @property
    def energy(self) -> float: ...


@dataclass
class Headline:
    """Mean speedup and energy ratio of one configuration over a baseline in one phase, over the points
    both have."""

    config: str
    baseline: str
    points: int
    mean_speedup: float
    mean_energy_ratio: float
    phase: str = PREFILL


def headline(results: Sequence[_Row], config: str = "binding",
             baselines: tuple[str, ...] = ("flat", "unfused")) -> list[Headline]:
    """The paper's headline: arithmetic means over model x length of baseline latency / our latency and of
    our energy / baseline energy, one row per baseline and phase (prefill and decode are never averaged
    together: their points are different workloads)."""
    by_key = {(r.config, r.model, r.seq_len, r.phase): r for r in results}
    phases = list(dict.fromkeys(r.phase for r in results if r.config == config))
    out = []
    for phase in phases:
        for base in baselines:
            pairs = [(r, by_key[(base, r.model, r.seq_len, phase)]) for r in results
                     if r.config == config and r.phase == phase and (base, r.model, r.seq_len, phase) in by_key]
            if not pairs:
                continue
            out.append(Headline(config, base, len(pairs),
                                sum(b.latency / r.latency for r, b in pairs) / len(pairs),
                                sum(r.energy / b.energy for r, b in pairs) / len(pairs), phase))
    return out


def format_headline(rows: list[Headline]) -> str:
    """The table ``fusemax run`` and ``run_all.py`` print; rows of a decode phase say so."""
    lines = [f"{'':<22} {'points':>6} {'mean speedup':>13} {'energy ratio':>13}"]
    for h in rows:
        label = f"{h.config} over {h.baseline}" + ("" if h.phase == PREFILL else f" ({h.phase})")
        lines.append(f"{label:<22} {h.points:>6} {h.mean_speedup:>12.2f}x {h.mean_energy_ratio:>12.1%}")
    return "\n".join(lines)
