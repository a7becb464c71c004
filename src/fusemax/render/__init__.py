"""Render the Timeloop v0.4 specs of one configuration x workload x hardware.

>>> from fusemax.render import render, write_rendered
>>> from fusemax.workload import Workload, get_model
>>> rendered = render("binding", Workload(get_model("BERT"), 4096))
>>> rendered.params["p1"], list(rendered.einsums)[:3]
(16, ['QK', 'LM', 'RM'])
>>> write_rendered(rendered, "out/bert-4k")            # out/bert-4k/qk/{arch,problem,mapping}.yaml ...

Each Einsum gets an architecture, a problem and a mapping rendered from the Jinja templates in ``arch/``,
``problems/`` and ``mappings/`` (the registry :mod:`fusemax.configs` says which template serves which
configuration, :mod:`fusemax.render.plan` joins them with the variables and :mod:`fusemax.render.tiling` gives
the factors, the P1 rule and the fallbacks for decode and small models). ``unfused`` and ``end2end`` have no
fixed mapping: they render mapper constraints (``constraints.yaml``) and the mapper settings (``mapper.yaml``)
instead, for the mapper to search.

The output is plain v0.4 YAML (``architecture: nodes:`` with ``!Container/!Component/!Parallel``,
``problem:``, ``mapping:``); the three files of a folder together are one spec for ``timeloop-model`` or
``fusemax model``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fusemax import paper, yamlio
from fusemax.configs import CONFIGS, Configuration, ResolvedHardware, get_config
from fusemax.errors import FusemaxError
from fusemax.fileio import write_text_atomic
from fusemax.memo import BoundedMemo
from fusemax.render.flat_dataflow import FlatDataflow, flat_dataflow
from fusemax.render.plan import EinsumPlan, Plan, plan
from fusemax.templates import context_key, render_template
from fusemax.workload import Hardware, Workload

__all__ = ["CONFIGS", "FlatDataflow", "Hardware", "RenderedConfig", "RenderedEinsum", "Workload", "flat_dataflow",
           "pareto_hardware", "plan", "render", "render_template", "write_rendered"]

MAPPER_TEMPLATE = "mappings/mapper.yaml.j2"


@dataclass(frozen=True)
class RenderedEinsum:
    """The rendered spec files of one Einsum.

    ``mapping_yaml`` is None when the mapper must find the mapping; then ``constraints_yaml`` and
    ``mapper_yaml`` are set. ``compute_cost`` counts functional-unit operations per Timeloop compute.
    """

    name: str
    array: str
    arch_yaml: str
    problem_yaml: str
    mapping_yaml: str | None
    compute_cost: dict[str, int]
    constraints_yaml: str | None = None
    mapper_yaml: str | None = None

    @property
    def needs_mapper(self) -> bool:
        return self.mapping_yaml is None

    def files(self) -> dict[str, str]:
        """File name -> content, as :func:`write_rendered` writes them."""
        files = {"arch.yaml": self.arch_yaml, "problem.yaml": self.problem_yaml}
        optional = {"mapping.yaml": self.mapping_yaml, "constraints.yaml": self.constraints_yaml,
                    "mapper.yaml": self.mapper_yaml}
        files.update({name: text for name, text in optional.items() if text is not None})
        return files


@dataclass(frozen=True)
class RenderedConfig:
    """All Einsums of a configuration (in cascade order) and the parameters derived while rendering.

    ``config`` is the configuration's record (``params["config"]`` its name). ``params`` holds what the
    experiments need next to the specs: always ``config, model, seq_len, phase,
    batch, P, M, l3_bytes, dram_bandwidth, clock_hz, word_bytes, arch`` (the architecture templates'
    variables); for the FuseMax
    configurations the tiling ``p0 p1 p2 m1 n p0_1d p1_1d bytes_per_query tiles_that_fit``; for flat
    ``flat_dataflow, p1, p2, qk_a_onchip, proportion_spilled, softmax_spilled``; for unfused
    ``qk_a_onchip, softmax_spilled``; for end2end ``same_as`` (Einsums identical to Q).
    """

    config: Configuration
    workload: Workload
    hardware: ResolvedHardware
    einsums: dict[str, RenderedEinsum]
    params: dict[str, Any] = field(default_factory=dict)
    #: FLAT's dataflow with its spilled proportion (``flat`` only; ``params["flat_dataflow"]`` spells it out)
    flat_dataflow: FlatDataflow | None = None


def _render_einsum(item: EinsumPlan) -> RenderedEinsum:
    ctx = item.context
    # One memo lookup per Einsum, not per template: a FLAT search renders the same Einsum for hundreds of
    # candidates, and encoding its context for every template's key was half of rendering.
    key = (item.arch_template, item.problem_template, item.mapping_template, item.constraints_template,
           context_key(ctx))
    texts = _EINSUMS.get(key)
    if texts is None:
        constraints = render_template(item.constraints_template, **ctx) if item.constraints_template else None
        texts = _EINSUMS.keep(key, (
            render_template(item.arch_template, **ctx), render_template(item.problem_template, **ctx),
            render_template(item.mapping_template, **ctx) if item.mapping_template else None, constraints,
            render_template(MAPPER_TEMPLATE) if constraints is not None else None))
    arch, problem, mapping, constraints, mapper = texts
    return RenderedEinsum(name=item.name, array=item.array, arch_yaml=arch, problem_yaml=problem,
                          mapping_yaml=mapping, compute_cost=dict(item.compute_cost), constraints_yaml=constraints,
                          mapper_yaml=mapper)


_EINSUMS: BoundedMemo[tuple, tuple[str, str, str | None, str | None, str | None]] = BoundedMemo(65536)


def render(config: str | Configuration, workload: Workload, hardware: Hardware | ResolvedHardware = Hardware(), *,
           flat_dataflow: FlatDataflow | None = None) -> RenderedConfig:
    """Render ``config`` (a registry record, or for convenience its name, one of :data:`CONFIGS`) for
    ``workload`` on ``hardware`` (the flags' hardware, or the configuration's as
    :func:`fusemax.configs.resolve_hardware` resolved it). The result carries the record on to the
    combination (:attr:`RenderedConfig.config`).

    ``flat_dataflow`` replaces FLAT's published dataflow choice (``flat`` only), e.g. to study another one.
    Raises :class:`~fusemax.errors.WorkloadError` when the hardware cannot tile the workload.
    """
    conf = get_config(config) if isinstance(config, str) else config
    result: Plan = plan(conf, workload, hardware, flat_dataflow)
    einsums = {item.name: _render_einsum(item) for item in result.einsums}
    return RenderedConfig(config=conf, workload=workload, hardware=result.hardware, einsums=einsums,
                          params=result.params, flat_dataflow=result.flat_dataflow)


def write_rendered(rendered: RenderedConfig, outdir: str | Path) -> list[Path]:
    """Write one folder per Einsum (``outdir/qk/arch.yaml`` ...) and ``outdir/render.yaml`` (the params).

    Returns the Einsum folders in cascade order. An unwritable ``outdir`` raises a
    :class:`~fusemax.errors.FusemaxError` naming the folder.
    """
    outdir = Path(outdir)
    folders = []
    current = outdir
    try:
        for einsum in rendered.einsums.values():
            current = outdir / einsum.name.lower()
            for name, text in einsum.files().items():
                write_text_atomic(current / name, text)
            folders.append(current)
        current = outdir
        summary = {"params": rendered.params,
                   "einsums": {e.name: {"array": e.array, "compute_cost": e.compute_cost,
                                        "folder": e.name.lower(), "needs_mapper": e.needs_mapper}
                               for e in rendered.einsums.values()}}
        write_text_atomic(outdir / "render.yaml", yamlio.dumps(summary))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise FusemaxError(f"cannot write the rendered specs: {reason}", source=str(current)) from None
    return folders


def pareto_hardware(pe_dim: int, head_dim: int, *, seq_len: int = paper.PARETO_SEQ_LEN, multiplier: int = 1) -> Hardware:
    """FuseMax hardware of the artifact's Pareto sweep (Fig. 12) for a pe_dim x pe_dim array.

    The sizing is the binding's (the sweep runs ``render("binding", ...)``); the cascade needs larger
    1D registers than this gives.

    The L3 starts at the smallest size that holds the minimum number of query tiles
    (``pe_dim x min_P1 x E x 8 fibers x 2 B``) and the sweep doubles it with ``multiplier`` while memory
    latency dominates; register files scale with the tiles the array must buffer
    (``min_tiles = 2 x max(1, pe_dim / E)``): 2D PEs ``4 + min_tiles`` words, row buffer
    ``8 x pe_dim x min_tiles``, 1D PEs ``8 x min_tiles``.
    """
    min_tiles = max(1, pe_dim // head_dim) * 2
    query_tiles = max(1, seq_len // pe_dim)
    min_p1 = max(1, min_tiles // query_tiles)
    l3_bytes = pe_dim * min_p1 * head_dim * 8 * paper.WORD_BYTES * multiplier
    return Hardware(pe_dim=pe_dim, l3_bytes=l3_bytes, pe_reg_depth=4 + min_tiles,
                    row_buffer_depth=pe_dim * 8 * min_tiles, pe_1d_reg_depth=8 * min_tiles)
