"""Statistics of one Timeloop-style evaluation: the contract between engines and everything after.

Both the builtin engine and the parser of real ``timeloop-model`` output produce a :class:`Stats`.
Its JSON form (:meth:`Stats.to_json`) is the ``expected.json`` schema of the conformance corpus
(``shared/conformance/README.md``), so results from either engine compare directly.
Counts are per instance, as Timeloop prints them; multiply by ``utilized_instances`` for totals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Timeloop counts computes and accesses in 64-bit integers: an Einsum whose iteration space (the product
#: of its rank sizes) exceeds this is outside what the model (and the real tools) can represent.
MAX_COUNT = 2**63 - 1


@dataclass
class DataspaceStats:
    """One data space at one storage level."""

    utilized_capacity: int = 0
    utilized_instances: int = 0
    reads_per_instance: int = 0
    fills_per_instance: int = 0
    updates_per_instance: int = 0
    temporal_reductions_per_instance: int = 0
    partition_size: int = 0
    utilized_clusters: int = 0
    address_generations_per_cluster: int = 0
    energy_pj: float = 0.0


@dataclass
class LevelStats:
    """One storage level (including timeloopfe's ``inter_*_spatial`` dummy levels)."""

    cycles: int = 0
    energy_pj: float = 0.0
    bandwidth_throttling: float = 1.0
    instances: int = 1
    block_size: int = 1
    size: int | None = None
    vector_access_energy_source: str = "ERT"
    dataspaces: dict[str, DataspaceStats] = field(default_factory=dict)


@dataclass
class ArithmeticStats:
    """The compute level (Timeloop's arithmetic unit, e.g. ``mac``)."""

    instances: int = 0
    utilized_instances: int = 0
    computes: int = 0
    cycles: int = 0
    energy_pj: float = 0.0


@dataclass
class Stats:
    """Everything ``timeloop-model`` reports for one problem + mapping on one architecture.

    ``levels`` is ordered innermost first, the order of ``timeloop-model.stats.txt``. An invalid mapping
    gives ``valid=False`` and a human-readable ``error`` (Timeloop's reason), with no counts.
    """

    valid: bool = True
    computes: int = 0
    cycles: int = 0
    utilization: float = 0.0
    energy_pj: float = 0.0
    pj_per_compute: float = 0.0
    levels: dict[str, LevelStats] = field(default_factory=dict)
    arithmetic: dict[str, ArithmeticStats] = field(default_factory=dict)
    networks: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    source: str = "fusemax builtin"

    def to_json(self) -> dict[str, Any]:
        """The conformance-corpus ``expected.json`` form."""
        if not self.valid:
            return {"source": self.source, "valid": False, "error": self.error}
        # By hand rather than dataclasses.asdict, whose generic deep copy costs a sixth of a sweep's
        # evaluation jobs; every field is a scalar or a dict of the flat records below.
        out = {k: v for k, v in vars(self).items() if k not in ("error", "networks", "levels", "arithmetic")}
        out["levels"] = {name: {**{k: v for k, v in vars(lv).items() if k != "dataspaces"},
                                "dataspaces": {ds: dict(vars(d)) for ds, d in lv.dataspaces.items()}}
                         for name, lv in self.levels.items()}
        out["arithmetic"] = {name: dict(vars(a)) for name, a in self.arithmetic.items()}
        out["networks"] = {name: {"energy_pj": e} for name, e in self.networks.items()}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Stats":
        """Inverse of :meth:`to_json` (also reads the corpus's ``expected.json``)."""
        if not data.get("valid", True):
            return cls(valid=False, error=data.get("error"), source=data.get("source", "unknown"))
        levels = {
            name: LevelStats(**{**{k: v for k, v in lv.items() if k != "dataspaces"},
                                "dataspaces": {ds: DataspaceStats(**d)
                                               for ds, d in lv.get("dataspaces", {}).items()}})
            for name, lv in data.get("levels", {}).items()
        }
        return cls(
            valid=True,
            computes=data["computes"],
            cycles=data["cycles"],
            utilization=data["utilization"],
            energy_pj=data["energy_pj"],
            pj_per_compute=data["pj_per_compute"],
            levels=levels,
            arithmetic={n: ArithmeticStats(**a) for n, a in data.get("arithmetic", {}).items()},
            networks={n: v["energy_pj"] for n, v in data.get("networks", {}).items()},
            source=data.get("source", "unknown"),
        )
