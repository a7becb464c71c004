"""The area-latency Pareto sweep of FuseMax (Fig. 12): PE arrays 16x16 ... 512x512 at 256K tokens.

For each model and array size the artifact (``scripts/run.py: pareto``, ``utils/pareto.py``) runs the
binding configuration on :func:`fusemax.render.pareto_hardware`, starting from the smallest L3 that holds
the minimum number of query tiles and doubling it while the memory latency exceeds the 1D array's compute
latency; the area comes from Accelergy's ART of the FuseMax design at that size, whose 2D registers the
artifact sizes ``2 x min_tiles`` words (Timeloop's get ``4 + min_tiles``). The artifact ends the whole
sweep after the first row that needed an L3 above 32 MiB; we end only that model's sweep (the same rows
whenever that happens at a model's last array size, which is what Fig. 12 shows).

>>> rows = pareto_rows(["BERT"], pe_dims=[16, 32])      # doctest: +SKIP
>>> fusemax.results.write_pareto("out", rows)           # out/results/pareto.csv
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Iterable

from fusemax import paper
from fusemax.backends.names import DEFAULT_BACKEND
from fusemax.combine.point import combine_rendered
from fusemax.configs import ResolvedHardware
from fusemax.errors import FusemaxError
from fusemax.orchestrator import Cache, get_executor
from fusemax.orchestrator.keys import result_key
from fusemax.orchestrator.rendered import configuration_jobs, evaluate_rendered
from fusemax.workload import Hardware, Workload, resolve_model

PE_DIMS: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
#: Above this L3 the sweep stops growing the array for the model (the artifact's rule, see above).
STOP_L3_BYTES = 32 * 2**20
#: Guard against a point whose memory latency never drops below the 1D compute latency.
MAX_L3_BYTES = 2**40
@dataclass
class ParetoRow:
    model: str
    pe_dim: int
    l3_bytes: int
    traffic: float      # bytes
    mem_lat: float      # s
    comp_2d_lat: float  # s
    comp_1d_lat: float  # s
    latency: float      # s
    array_2d_area: float  # um^2
    area: float           # um^2


def area_of(resolved: ResolvedHardware) -> tuple[float, float]:
    """(2D array area, total area) in um^2 of the FuseMax design on the Pareto hardware, as render resolved
    it for the binding."""
    from fusemax import yamlio
    from fusemax.energy.actions import area_summary
    from fusemax.energy.designs import energy_arch, render_energy_arch
    from fusemax.energy.estimator import estimate_art
    min_tiles = resolved.pe_reg_depth - 4  # pareto_hardware gives Timeloop 4 + min_tiles registers
    params = energy_arch(replace(resolved, energy_reg_2d=2 * min_tiles))
    arts = {a: estimate_art(yamlio.loads(render_energy_arch(params, a)), apply_shares=False) for a in ("2d", "1d")}
    summary = area_summary(arts["2d"], arts["1d"])
    return summary.array_2d, summary.total


def pareto_point(model: str, pe_dim: int, seq_len: int = paper.PARETO_SEQ_LEN, models_file: str | None = None,
                 cache: Cache | str | Path | None = None, backend: str = DEFAULT_BACKEND) -> ParetoRow:
    """One array size: the L3 doubled until memory no longer outlasts the 1D array, then its row.

    Every L3 tried is one orchestrator job per Einsum, evaluated here on ``backend``; with a ``cache``
    folder a rerun takes them from it."""
    from fusemax.render import pareto_hardware, render
    if cache is not None and not isinstance(cache, Cache):
        cache = Cache(Path(cache))
    workload = Workload(resolve_model(model, models_file), seq_len)
    label = f"binding {workload.label}"
    multiplier = 1
    while True:
        hardware = pareto_hardware(pe_dim, workload.model.E, seq_len=seq_len, multiplier=multiplier)
        try:
            rendered = render("binding", workload, hardware)
            [evaluated], _ = evaluate_rendered([(rendered, configuration_jobs(rendered, backend, label))],
                                               cache=cache)
            r = combine_rendered(evaluated, with_energy=False)
        except FusemaxError as exc:
            raise FusemaxError(str(exc), source=f"pareto {model} {pe_dim}x{pe_dim}") from None
        l3_bytes = rendered.hardware.l3_bytes
        if r.mem_latency <= r.comp_1d or l3_bytes >= MAX_L3_BYTES:
            break
        multiplier *= 2
    array_2d, area = area_of(rendered.hardware)
    return ParetoRow(model.split(":")[0], pe_dim, l3_bytes, r.traffic, r.mem_latency, r.comp_2d,
                     r.comp_1d, r.latency, array_2d, area)


def _model_rows(args: tuple) -> list[ParetoRow]:
    model, pe_dims, seq_len, models_file, cache, backend = args
    rows = []
    for pe_dim in pe_dims:
        rows.append(pareto_point(model, pe_dim, seq_len, models_file, cache, backend))
        if rows[-1].l3_bytes > STOP_L3_BYTES:
            break
    return rows


def pareto_rows(models: Iterable[str] = paper.MODELS, pe_dims: Iterable[int] = PE_DIMS, seq_len: int = paper.PARETO_SEQ_LEN, *,
                jobs: int = 1, models_file: str | None = None, cache: Cache | str | Path | None = None,
                backend: str = DEFAULT_BACKEND) -> list[ParetoRow]:
    """Rows in the artifact's order (model, then array size): one orchestrator task per model on the local
    executor (``jobs`` processes, 0: every core), every evaluation on ``backend``; with a ``cache`` folder
    (the orchestrator's) a rerun takes each model's rows whole from it (:func:`rows_key`), without rendering
    or starting a worker, and a model whose rows are not there evaluates only the jobs the cache lacks."""
    store = Cache(Path(cache)) if cache is not None and not isinstance(cache, Cache) else cache
    names, sizes = list(models), tuple(pe_dims)
    keys = [rows_key(m, sizes, seq_len, models_file, backend) for m in names] if store is not None else []
    per_model: dict[int, list[ParetoRow]] = {}
    if store is not None:
        for i, key in enumerate(keys):
            found = _cached_rows(store, key)
            if found is not None:
                per_model[i] = found
    todo = [i for i in range(len(names)) if i not in per_model]
    tasks = [((names[i], sizes, seq_len, models_file, store, backend),) for i in todo]
    for j, rows in get_executor("local", jobs).run(_model_rows, tasks):
        i = todo[j]
        per_model[i] = rows if store is None else _store_rows(store, keys[i], rows, names[i], backend)
    return [row for i in range(len(names)) for row in per_model[i]]


def rows_key(model: str, pe_dims: tuple[int, ...], seq_len: int, models_file: str | None, backend: str) -> str:
    """Cache key of one model's Pareto rows: its numbers at ``seq_len``, the array sizes tried and, through
    :func:`fusemax.orchestrator.keys.result_key`, the backend's versions and fusemax's code (the hardware
    of each row is derived from these by :func:`fusemax.render.pareto_hardware`)."""
    return result_key("pareto", Workload(resolve_model(model, models_file), seq_len), Hardware(), backend,
                      pe_dims=list(pe_dims))


def _store_rows(cache: Cache, key: str, rows: list[ParetoRow], model: str, backend: str) -> list[ParetoRow]:
    """Put ``rows`` in ``cache`` and return them as a warm run reads them back (the same JSON path)."""
    data = [asdict(row) for row in rows]
    cache.put(key, {"pareto_rows": {"rows": data}}, f"pareto {model}", backend)
    return _rows(data)


def _cached_rows(cache: Cache, key: str) -> list[ParetoRow] | None:
    """The rows :func:`_store_rows` put under ``key``, or None; an entry that passes its checksum yet does
    not hold rows counts as corrupt (rejected, to be recomputed)."""
    return cache.parsed(key, "pareto_rows", lambda hit: _rows(hit["pareto_rows"]["rows"]))


def _rows(data: Any) -> list[ParetoRow]:
    rows = [ParetoRow(**row) for row in data]
    if not rows:
        raise ValueError("no rows")
    return rows
