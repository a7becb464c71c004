"""The softmax spill FLAT's dataflow implies, from the L3 its QK and AV tiles occupy."""
from __future__ import annotations

from typing import Mapping

from fusemax.render.flat_dataflow import FlatDataflow, softmax_spill
from fusemax.stats import Stats

from .metrics import L3_LEVEL
from .roles import FLAT_OPERANDS


def onchip_words(onchip: frozenset[str], stats: Mapping[str, Stats]) -> int:
    """L3 words that FLAT's on-chip tensors occupy: their L3 utilized capacity in the QK and AV Einsums."""
    words = 0
    for einsum, tensors in FLAT_OPERANDS.items():
        level = stats[einsum].levels.get(L3_LEVEL)
        for tensor in tensors:
            if tensor in onchip and level is not None and tensor in level.dataspaces:
                words += level.dataspaces[tensor].utilized_capacity
    return words


def flat_softmax_spill(dataflow: FlatDataflow, qk: Stats, av: Stats, l3_bytes: int, keys: int,
                       word_bytes: int) -> float:
    """Proportion of the softmax's rows that spills under FLAT.

    With QK on chip the softmax shares FLAT's buffering and its spilled proportion. With QK off chip the
    softmax gets whatever L3 the QK and AV tiles leave free (their on-chip tensors' utilized capacity).
    """
    if dataflow.qk_onchip:
        return dataflow.spilled
    occupied = onchip_words(dataflow.onchip, {"QK": qk, "AV": av})
    return softmax_spill(l3_bytes - occupied * word_bytes, keys, word_bytes)
