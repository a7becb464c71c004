"""One rendered configuration's statistics -> its result row: roles, per-Einsum metrics, energy, schedule.

:func:`combine_point` is the pure core (statistics in, row out); :func:`combine_rendered` feeds it what the
evaluate stage collected (:class:`fusemax.orchestrator.rendered.Evaluated`), pricing energy on the levels each
Einsum's mapping keeps.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from fusemax.configs import Configuration, ResolvedHardware
from fusemax.errors import FusemaxError
from fusemax.render.flat_dataflow import FlatDataflow
from fusemax.stats import Stats
from fusemax.workload import Workload, format_seq_len

from .flat import flat_softmax_spill
from .metrics import EinsumMetrics, einsum_metrics
from .roles import EinsumRole, roles
from .schedule import ConfigResult, combine

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.orchestrator.rendered import Evaluated

#: (Einsum name, its stats, compute cost, metrics, price DRAM from traffic?) -> (pJ, pJ per component)
EnergyFn = Callable[[str, Stats, Mapping[str, int], EinsumMetrics, bool], "tuple[float, dict[str, float]]"]


def point_roles(conf: Configuration, workload: Workload, hardware: ResolvedHardware, params: Mapping[str, Any],
                stats: Mapping[str, Stats], dataflow: FlatDataflow | None = None) -> dict[str, EinsumRole]:
    """The traffic/latency roles of one rendered point; FLAT's depend on its ``dataflow`` (as rendered, with
    its spilled proportion) and its QK/AV tiles, the baselines' softmax on what a row leaves of the L3."""
    if conf.tiling == "flat":
        if dataflow is None:
            raise FusemaxError("FLAT's statistics need the dataflow they were rendered with", source=conf.name)
        spill = flat_softmax_spill(dataflow, stats["QK"], stats["AV"], hardware.l3_bytes, workload.M,
                                   hardware.word_bytes)
        return roles(conf, spill, dataflow)
    spill = params.get("softmax_spilled") or 0.0
    return roles(conf, spill)


def combine_point(conf: Configuration, workload: Workload, hardware: ResolvedHardware,
                  compute_costs: Mapping[str, Mapping[str, int]], params: Mapping[str, Any],
                  stats: Mapping[str, Stats], energy_fn: EnergyFn | None = None,
                  flat_dataflow: FlatDataflow | None = None) -> ConfigResult:
    """Pure: one result row from the engine's per-Einsum statistics of one rendered configuration (FLAT's
    with the ``flat_dataflow`` it was rendered with)."""
    where = f"{conf.name} {workload.label}"
    missing = [e.name for e in conf.einsums if e.name not in stats]
    if missing:
        raise FusemaxError(f"no statistics for Einsum {missing[0]}", source=where)
    metrics = []
    for name, role in point_roles(conf, workload, hardware, params, stats, flat_dataflow).items():
        m = einsum_metrics(stats[name], role, compute_costs[name], hardware, source=where)
        if energy_fn is not None:
            m.energy_pj, m.energy_breakdown = energy_fn(name, stats[name], compute_costs[name], m,
                                                        role.dram_energy_from_traffic)
        metrics.append(m)
    scalars = {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool))}
    return combine(conf, workload.model.name, format_seq_len(workload.seq_len), metrics,
                   phase=workload.phase, pe_dim=hardware.pe_dim, pe_1d=hardware.pe_1d,
                   clock_hz=hardware.clock_hz, params=scalars)


def energy_fn_for(hardware: ResolvedHardware, kept: Mapping[str, Mapping[str, list[str]]]) -> EnergyFn:
    """Per-Einsum energy on the builtin ERTs of the configuration's energy design at ``hardware``."""
    from fusemax.energy.designs import design_erts

    from . import energy
    erts = design_erts(hardware)

    def fn(name: str, stats: Stats, cost: Mapping[str, int], m: EinsumMetrics,
           from_traffic: bool) -> tuple[float, dict[str, float]]:
        return energy.einsum_energy(hardware, name, stats, cost, m, from_traffic, dict(kept.get(name, {})), erts)
    return fn


def kept_levels(evaluated: Evaluated) -> dict[str, dict[str, list[str]]]:
    """Level -> tensors each Einsum's mapping keeps (a mapper search's best mapping when it searched), as its
    job's worker read them; a job result cached before workers recorded them is read here."""
    from fusemax.engine.keeps import kept_from_mapping
    kept = {}
    for name, job in evaluated.jobs.items():
        if name in evaluated.kept:
            kept[name] = evaluated.kept[name]
            continue
        mapping = evaluated.mappings.get(name, evaluated.rendered.einsums[name].mapping_yaml)
        kept[name] = kept_from_mapping(mapping, job.label)
    return kept


def combine_rendered(evaluated: Evaluated, with_energy: bool = True) -> ConfigResult:
    """One configuration's row from its evaluated statistics (energy priced on what its mappings keep)."""
    if evaluated.error is not None:
        raise FusemaxError(evaluated.error)
    rendered = evaluated.rendered
    costs = {name: e.compute_cost for name, e in rendered.einsums.items()}
    fn = energy_fn_for(rendered.hardware, kept_levels(evaluated)) if with_energy else None
    return combine_point(rendered.config, rendered.workload, rendered.hardware, costs, rendered.params,
                         evaluated.stats, fn, rendered.flat_dataflow)
