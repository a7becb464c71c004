"""``fusemax render``: write the Timeloop v0.4 specs of one configuration, one folder per Einsum."""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from fusemax import paper
from fusemax.backends.timeloop_input import MODEL_RERUN_INPUT, SPELLINGS, timeloop_files
from fusemax.configs import Configuration, get_config, resolve_hardware
from fusemax.errors import FusemaxError, ToolNotFoundError
from fusemax.fileio import write_text_atomic
from fusemax.render import CONFIGS, RenderedConfig, render, write_rendered
from fusemax.render.mask import is_masked, live_pairs, pieces
from fusemax.units import BANDWIDTH_FORMS, CAPACITY_FORMS, FREQUENCY_FORMS, format_bandwidth, format_frequency
from fusemax.workload import (
    DEFAULT_BATCH,
    PHASES,
    PREFILL,
    Hardware,
    Workload,
    format_seq_len,
    mask_label,
    parse_mask,
    parse_seq_len,
    resolve_model,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, choices=CONFIGS, help="which accelerator configuration")
    parser.add_argument("--model", required=True,
                        help="a zoo name (see `fusemax models`) or an inline NAME:D=..,H=..,E=..,S=..")
    parser.add_argument("--seq-len", required=True, help="sequence length: 512, 1K, 4K ... 1M (K = 1024) or digits")
    parser.add_argument("--phase", default=PREFILL, choices=PHASES,
                        help="prefill (P = M = length) or decode (P = 1 query, M = length keys)")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help=f"batch size B (default {DEFAULT_BATCH})")
    parser.add_argument("--mask", help="attention mask in prefill: none, causal or window:N (default: the model's "
                                       "own). A masked prefill is written as one folder of specs per dense "
                                       "rectangle, rect-<queries>x<keys>/, with their counts in rectangles.yaml")
    parser.add_argument("--pe-dim", help=f"the 2D array is PE_DIM x PE_DIM (default {paper.PE_DIM})")
    parser.add_argument("--pe-1d", help="PEs of the 1D array (default PE_DIM)")
    parser.add_argument("--l3-bytes", help=f"L3 size, e.g. 16MiB: {CAPACITY_FORMS} (default: 16 MiB FuseMax, "
                                           "32 MiB FLAT/unfused)")
    parser.add_argument("--dram-bandwidth", help=f"DRAM bandwidth, e.g. 400GiB: {BANDWIDTH_FORMS} "
                                                 f"(default {format_bandwidth(paper.DRAM_BANDWIDTH)})")
    parser.add_argument("--clock-hz", help=f"clock, e.g. 940MHz: {FREQUENCY_FORMS} (default {format_frequency(paper.CLOCK_HZ)})")
    parser.add_argument("--models-file", metavar="FILE", help="more models: YAML (format of models.yaml), a HuggingFace "
                        "config.json or a folder of them")
    parser.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder (one sub-folder per Einsum)")
    parser.add_argument("--for-timeloop", metavar="DIR",
                        help="also write, per Einsum, what plain timeloop-model/timeloop-mapper read: "
                             "DIR/<einsum>/input.yaml (processed, no timeloopfe needed), ERT.yaml, ART.yaml, and for "
                             "a mapper's Einsum model-input.yaml (to re-run the mapping it finds in timeloop-model)")
    parser.add_argument("--timeloop-keys", choices=SPELLINGS,
                        help="key spelling of --for-timeloop (default: $TIMELOOP_KEYS, else detected from the "
                             "installed timeloop-model and its libraries, else v3.0.3)")


def run(args: argparse.Namespace) -> int:
    from fusemax.orchestrator.hardware import PARSERS, hardware_variants
    model = resolve_model(args.model, args.models_file)
    if args.mask is not None:
        kind, window = parse_mask(args.mask)
        model = replace(model, mask=kind, window=window)
    workload = Workload(model, parse_seq_len(args.seq_len), phase=args.phase, batch=args.batch)
    # the parsers of `fusemax run`'s hardware flags, one value each
    given = {name: [getattr(args, name)] for name in PARSERS if getattr(args, name) is not None}
    [variant] = hardware_variants(given, source="hardware flags")
    hardware = variant.hardware
    conf = get_config(args.config)  # the flag's name, resolved once: render takes the record
    if is_masked(workload):
        return _render_rectangles(args, conf, workload, hardware)
    rendered = _render_dense(conf, workload, hardware)
    folders = write_rendered(rendered, args.out)
    params = rendered.params
    tiling = ", ".join(f"{key}={params[key]}" for key in ("p2", "p1", "p0", "m1", "n") if key in params)
    print(f"{args.config}: {model.name} {format_seq_len(workload.seq_len)} {workload.phase}, batch {workload.batch}, "
          f"{hardware.pe_dim}x{hardware.pe_dim} PEs, L3 {params['l3_bytes']} B" + (f"; {tiling}" if tiling else ""))
    if "flat_dataflow" in params:
        print(f"FLAT dataflow: {params['flat_dataflow']['source']}")
    print(f"wrote {len(folders)} Einsum folders under {args.out}: {', '.join(f.name for f in folders)}")
    if args.for_timeloop:
        _write_for_timeloop(rendered, Path(args.for_timeloop), args.timeloop_keys)
    return 0


def _render_dense(conf: Configuration, workload: Workload, hardware: Hardware) -> RenderedConfig:
    searched = None
    if conf.tiling == "flat":
        # the same choice `fusemax run` evaluates: the paper's table for its models, FLAT's search otherwise
        from fusemax.select.flat import dataflow_for
        searched = dataflow_for(conf, workload, hardware)
    return render(conf, workload, hardware, flat_dataflow=searched)


def _render_rectangles(args: argparse.Namespace, conf: Configuration, workload: Workload, hardware: Hardware) -> int:
    """A masked prefill: every dense rectangle (:mod:`fusemax.render.mask`) in a folder of its own; the point
    is the sum of each rectangle's statistics times its count (``rectangles.yaml``)."""
    from fusemax import yamlio
    block = resolve_hardware(conf, hardware).pe_dim
    out = Path(args.out)
    listing = []
    for piece in pieces(workload, block):
        name = f"rect-{piece.queries}x{piece.keys}"
        rendered = _render_dense(conf, replace(workload, span=(piece.queries, piece.keys)), hardware)
        write_rendered(rendered, out / name)
        if args.for_timeloop:
            _write_for_timeloop(rendered, Path(args.for_timeloop) / name, args.timeloop_keys)
        listing.append({"folder": name, "queries": piece.queries, "keys": piece.keys, "count": piece.count})
    try:
        write_text_atomic(out / "rectangles.yaml", yamlio.dumps(
            {"mask": mask_label(workload.model), "block": block, "live_pairs_per_head": live_pairs(workload),
             "rectangles": listing}))
    except OSError as exc:
        raise FusemaxError(f"cannot write the rendered specs: {exc.strerror or exc}", source=str(out)) from None
    print(f"{args.config}: {workload.model.name} {format_seq_len(workload.seq_len)} prefill, {mask_label(workload.model)} "
          f"mask: {len(listing)} dense rectangles of {block}-query blocks under {out} (counts in rectangles.yaml; "
          f"the point is the sum of each rectangle's statistics times its count)")
    return 0


def _write_for_timeloop(rendered: RenderedConfig, outdir: Path, spelling: str | None) -> None:
    from fusemax.backends.timeloop import find_tool, key_spelling
    how = "--timeloop-keys"
    if spelling is None:
        try:
            exe: str | None = find_tool("timeloop-model")
        except ToolNotFoundError:
            exe = None
        spelling, how = key_spelling(exe)
    current = outdir
    try:
        for einsum in rendered.einsums.values():
            current = outdir / einsum.name.lower()
            files = timeloop_files(einsum.files(), spelling, for_mapper=einsum.needs_mapper, rerun=True,
                                   source=f"{rendered.params['config']} {einsum.name}")
            for name, text in files.items():
                write_text_atomic(current / name, text)
    except OSError as exc:
        raise FusemaxError(f"cannot write the Timeloop inputs: {exc.strerror or exc}", source=str(current)) from None
    print(f"wrote Timeloop inputs ({spelling} keys, {how}) under {outdir}; run e.g. "
          f"cd {outdir}/<einsum> && timeloop-model input.yaml ERT.yaml ART.yaml")
    if any(einsum.needs_mapper for einsum in rendered.einsums.values()):
        print(f"Einsums without a mapping: cd {outdir}/<einsum> && timeloop-mapper input.yaml ERT.yaml ART.yaml; "
              f"then re-run the mapping it found: cp timeloop-mapper.map.yaml found-mapping.yaml && "
              f"timeloop-model {MODEL_RERUN_INPUT} found-mapping.yaml ERT.yaml ART.yaml")
