"""Compare a results folder with the artifact's published rows: per column, the max relative error and the
row where it occurs.

Tolerances are the project's truth criteria: 0.1 % for traffic, latency and utilization columns, 1 % for
energy.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fusemax import results as results_mod
from fusemax.errors import FusemaxError

TOLERANCE = {"energy": 1e-2}
DEFAULT_TOLERANCE = 1e-3
#: A row of attn-<config>.csv (the artifact's and ours): its model and length.
KEY = list(results_mod.ATTN.key)
ARTIFACT_RESULTS = Path("reference") / "fusemax-artifact" / "results"


def shared_dir() -> Path | None:
    """The project's ``shared/`` folder: ``$FUSEMAX_SHARED``, else the sibling of the repository root (or of
    the current directory's repository), or None on a machine without it."""
    env = os.environ.get("FUSEMAX_SHARED")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p.parent / "shared" for p in here.parents if (p / "pyproject.toml").is_file()]
    candidates += [p.parent / "shared" for p in [Path.cwd(), *Path.cwd().parents]
                   if (p / "pyproject.toml").is_file()]
    return next((c for c in candidates if (c / ARTIFACT_RESULTS).is_dir()), None)


def default_reference() -> Path | None:
    shared = shared_dir()
    return shared / ARTIFACT_RESULTS if shared else None


@dataclass
class ColumnCheck:
    """One column of one configuration compared over the rows both sides have."""

    config: str
    column: str
    rows: int
    max_rel_error: float
    worst_model: str
    worst_seq_len: str
    ours: float
    published: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_rel_error <= self.tolerance


def _rel_error(ours: float, published: float) -> float:
    if published == 0:
        return abs(ours)
    return abs(ours - published) / abs(published)


def compare_frames(config: str, ours: pd.DataFrame, published: pd.DataFrame) -> list[ColumnCheck]:
    """Per published column, the worst relative error over the rows present in both frames."""
    merged = published.merge(ours, on=KEY, how="inner", suffixes=("_pub", "_ours"))
    checks: list[ColumnCheck] = []
    for column in published.columns:
        if column in KEY or f"{column}_ours" not in merged:
            continue
        worst = (-1.0, None)
        for _, row in merged.iterrows():
            err = _rel_error(float(row[f"{column}_ours"]), float(row[f"{column}_pub"]))
            if math.isnan(err):
                err = math.inf
            if err > worst[0]:
                worst = (err, row)
        if worst[1] is None:
            continue
        err, row = worst
        checks.append(ColumnCheck(config, column, len(merged), err, row["model"], row["seq_len"],
                                  float(row[f"{column}_ours"]), float(row[f"{column}_pub"]),
                                  TOLERANCE.get(column, DEFAULT_TOLERANCE)))
    return checks


def compare(ours_dir: str | Path, reference_dir: str | Path | None = None) -> list[ColumnCheck]:
    """Compare every ``attn-<config>.csv`` and ``end2end-<platform>.csv`` present on both sides."""
    ours = results_mod.read_paper(ours_dir)
    reference = Path(reference_dir) if reference_dir else default_reference()
    if reference is None:
        raise FusemaxError("the artifact's published results are not available (no ../shared next to the "
                           "repository); pass --reference DIR")
    published = results_mod.read_paper(reference)
    checks: list[ColumnCheck] = []
    pairs = [(config, ours.attn[config], frame, f"attn-{config}.csv")
             for config, frame in published.attn.items() if config in ours.attn]
    pairs += [(f"end2end-{platform}", ours.end2end[platform], frame, f"end2end-{platform}.csv")
              for platform, frame in published.end2end.items() if platform in ours.end2end]
    for name, mine, frame, filename in pairs:
        found = compare_frames(name, mine, frame)
        if not found:  # a table that lost its rows or columns must not pass as "within tolerance"
            raise FusemaxError(f"no rows in common with the published {filename} (same model and seq_len, "
                               "with a value column)", source=str(results_mod.results_dir(ours_dir) / filename))
        checks += found
    if not checks:
        raise FusemaxError("no rows in common with the published results (configurations "
                           f"{', '.join(published.keys())})", source=str(results_mod.results_dir(ours_dir)))
    return checks


def format_table(checks: list[ColumnCheck]) -> str:
    """A fixed-width table: one line per configuration and column."""
    header = f"{'config':<16} {'column':<8} {'rows':>4} {'max rel err':>12} {'tol':>6}  worst row"
    lines = [header, "-" * len(header)]
    for c in checks:
        mark = "ok" if c.ok else "FAIL"
        if c.column == "latency" and c.ours < c.published:  # a better mapping is a result, not an error
            mark += f", ours faster by {100 * (1 - c.ours / c.published):.2g} %"
        lines.append(f"{c.config:<16} {c.column:<8} {c.rows:>4} {c.max_rel_error:>12.3e} {c.tolerance:>6.0e}  "
                     f"{c.worst_model} {c.worst_seq_len} (ours {c.ours:.6g}, published {c.published:.6g}) {mark}")
    return "\n".join(lines)


def verdict(checks: list[ColumnCheck]) -> bool:
    """True when every column is within tolerance."""
    return all(c.ok for c in checks)
