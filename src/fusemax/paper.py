"""The paper's facts, each written once: the cloud accelerator FuseMax is evaluated on and the workloads of
its figures. Everything that means one of them imports it from here (``tests/test_one_home.py`` fails on
a literal copy elsewhere in ``src/``).

* Hardware (Section 6.1): a :data:`PE_DIM` x :data:`PE_DIM` 2D array (and as many 1D PEs) at
  :data:`CLOCK_HZ`, :data:`DRAM_BANDWIDTH` of HBM, 16-bit words (:data:`WORD_BYTES`). These are the
  defaults of :class:`fusemax.workload.Hardware`; a run's own hardware comes from there, resolved once
  per configuration (:func:`fusemax.configs.resolve_hardware`).
* Workloads (Figs. 6-11): :data:`MODELS` at :data:`SEQ_LENS`; the Pareto sweep (Fig. 12) at
  :data:`PARETO_SEQ_LEN` tokens.

Each configuration's own sizes (L3, registers, energy designs) are in :mod:`fusemax.configs`; the phases in
:mod:`fusemax.workload` (:data:`~fusemax.workload.PHASES`).

This module imports nothing, so every layer may read it.
"""
from __future__ import annotations

#: Side of the 2D PE array (256 x 256 PEs); the 1D array has as many PEs unless told otherwise.
PE_DIM = 256
#: Clock frequency (Hz).
CLOCK_HZ = 940e6
#: The cycle at :data:`CLOCK_HZ` as the artifact writes it (rounded): kept so specs match its files exactly.
CYCLE_SECONDS = 1.0638297873e-9
#: DRAM bandwidth (B/s): 400 GiB/s.
DRAM_BANDWIDTH = 400 * 2**30
#: Bytes per data word (16-bit words).
WORD_BYTES = 2

#: The models of the paper's figures, in their order; FLAT's dataflows are published for these
#: (``mappings/flat_dataflows.yaml``).
MODELS: tuple[str, ...] = ("BERT", "TrXL", "T5", "XLM")
#: The sequence lengths of the paper's figures, as the artifact's CSVs spell them (K = 1024).
SEQ_LENS: tuple[str, ...] = ("1K", "4K", "16K", "64K", "256K", "1M")
#: Tokens of the Pareto sweep (Fig. 12): 256K.
PARETO_SEQ_LEN = 256 * 2**10
