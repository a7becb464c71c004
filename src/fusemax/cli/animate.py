"""``fusemax animate``: GIF + HTML (+ MP4) of how each Einsum's tensor elements spread over the PE arrays."""
from __future__ import annotations

import argparse
import html
from pathlib import Path

from fusemax.animate import DEFAULT_SIZE, MAX_ELEMENTS, MAX_STEPS, html_page, parse_pe, parse_size, tiny_einsums
from fusemax.animate.draw import write_animation
from fusemax.configs import REGISTRY
from fusemax.errors import FusemaxError
from fusemax.fileio import write_text_atomic

#: Configurations whose every Einsum has a fixed mapping to walk (the others are mapped by the mapper).
ANIMATABLE = tuple(c for c, conf in REGISTRY.items() if all(e.mapping for e in conf.einsums))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="binding", choices=ANIMATABLE, help="configuration (default binding)")
    parser.add_argument("--einsums", default=None, metavar="LIST",
                        help="comma-separated Einsums, e.g. QK,LM,RM (default: all of the configuration)")
    parser.add_argument("--pe", default="2x2", help="2D array, NxN (default 2x2; at most 3x3)")
    parser.add_argument("--pe1d", default="2", help="PEs of the 1D array (default 2; at most 9)")
    parser.add_argument("--size", default=DEFAULT_SIZE,
                        help=f"tiny instance, RANK=N for B, H, M, P, E (F optional, defaults to E); default "
                             f"{DEFAULT_SIZE}; at most {MAX_ELEMENTS} elements per tensor and {MAX_STEPS} steps")
    parser.add_argument("--no-mp4", action="store_true", help="skip the MP4 even when ffmpeg is installed")
    parser.add_argument("-o", "--out", required=True, metavar="DIR",
                        help="output folder: <einsum>.gif, <einsum>.html (+ .mp4) and index.html")


def _pe1d(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise FusemaxError(f"bad 1D array {text!r}; give its number of PEs, e.g. 2", source="--pe1d")
    return int(text)


def run(args: argparse.Namespace) -> int:
    sizes = parse_size(args.size)
    pe = parse_pe(args.pe)
    pe1d = _pe1d(args.pe1d)
    names = None
    if args.einsums is not None:
        names = [n.strip() for n in args.einsums.split(",") if n.strip()]
        if not names:
            raise FusemaxError(f"no Einsum in {args.einsums!r}; give names such as QK,LM (or omit --einsums "
                               "for all)", source="--einsums")
    einsums = tiny_einsums(args.config, sizes, pe=pe, pe1d=pe1d, einsums=names)
    out = Path(args.out)
    sections = []
    for einsum in einsums:
        paths = write_animation(einsum, args.config, out, mp4=not args.no_mp4)
        gif = paths["gif"].name
        sections.append((einsum, f"<a href='{html.escape(paths['html'].name)}'><img src='{html.escape(gif)}' "
                                 f"alt='{html.escape(einsum.name)}'></a>"))
        print(f"{einsum.name}: {', '.join(str(p) for p in paths.values())}")
    size = ",".join(f"{k}={v}" for k, v in sizes.items())
    title = f"fusemax animate: {args.config}, {size}, {pe}x{pe} 2D array, {pe1d} 1D PEs"
    try:
        write_text_atomic(out / "index.html", html_page(title, sections))
    except OSError as exc:
        raise FusemaxError(f"cannot write index.html: {exc.strerror or exc}", source=str(out)) from None
    print(f"wrote {len(einsums)} animations under {out} (index.html lists them)")
    return 0
