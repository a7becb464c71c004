"""How each Einsum of a configuration is spread over the PE arrays, step by step (``fusemax animate``).

>>> from fusemax.animate import assignments, parse_size, tiny_einsums, write_animation
>>> qk = tiny_einsums("binding", parse_size("B=1,H=1,M=8,P=4,E=2"), pe=2, pe1d=2, einsums=["QK"])[0]
>>> records = assignments(qk.name, qk.spec, qk.array)
>>> records[0]
Assignment(einsum='QK', step=0, pe=PECoord(array='2d', x=0, y=0), tensor='Q', element=(0, 0, 0, 0))
>>> paths = write_animation(qk, "binding", "out/animate")  # doctest: +SKIP
>>> sorted(paths)                           # out/animate/qk.gif, qk.html; qk.mp4 only with ffmpeg  # doctest: +SKIP
['gif', 'html']

* :mod:`fusemax.animate.instance` renders the configuration at a tiny size (a made-up model, 2x2 2D array,
  1x2 1D array by default) and loads each Einsum's spec with the engine's loader; the drawing limits
  (256 elements per tensor, 256 steps, 9 PEs per array) live there.
* :mod:`fusemax.animate.walk` walks the mapping's loop nest (the engine's: same levels, loop order and
  spatial X/Y split) and returns one :class:`Assignment` per (temporal step, PE, tensor).
* :mod:`fusemax.animate.draw` draws one frame per temporal step: each tensor as a grid of elements, the
  elements each PE works on in that PE's colour; GIF, self-contained HTML and MP4 (when ffmpeg exists).
"""
from fusemax.animate.draw import animation_of, html_page, tensor_grid, write_animation
from fusemax.animate.instance import (
                                      DEFAULT_SIZE,
                                      MAX_ELEMENTS,
                                      MAX_PES,
                                      MAX_STEPS,
                                      TinyEinsum,
                                      parse_pe,
                                      parse_size,
                                      rescale_rank,
                                      tiny_einsums,
)
from fusemax.animate.walk import Assignment, Nest, PECoord, assignments, loop_nest

__all__ = [
                                      "DEFAULT_SIZE",
                                      "MAX_ELEMENTS",
                                      "MAX_PES",
                                      "MAX_STEPS",
                                      "Assignment",
                                      "Nest",
                                      "PECoord",
                                      "TinyEinsum",
                                      "animation_of",
                                      "assignments",
                                      "html_page",
                                      "loop_nest",
                                      "parse_pe",
                                      "parse_size",
                                      "rescale_rank",
                                      "tensor_grid",
                                      "tiny_einsums",
                                      "write_animation",
]
