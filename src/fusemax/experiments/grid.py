"""The study's grid, written once: what :func:`fusemax.experiments.study.run_study` sweeps and what the
study's figures (:mod:`fusemax.reports.study`) draw. A module of constants, so that the report reads them
without importing the drivers."""
from __future__ import annotations

from fusemax.workload import DEFAULT_BATCH

#: Models from the smallest to the largest of the zoo's sizes.
MODELS: tuple[str, ...] = ("Pythia-14M", "BERT", "BERT-large", "Llama-2-7B", "Llama-3-8B", "OPT-66B")
#: Context lengths: 1, 2, 4, ... 4K.
LENGTHS: tuple[int, ...] = tuple(2 ** k for k in range(13))
#: The study's batch 1 and the paper's.
BATCHES: tuple[int, ...] = (1, DEFAULT_BATCH)
#: FuseMax (binding) and its two baselines.
CONFIGS: tuple[str, ...] = ("unfused", "flat", "binding")
