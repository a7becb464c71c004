"""FLAT's dataflow choice: reading it from the rendered parameters, and the softmax spill it implies."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from fusemax.errors import FusemaxError
from fusemax.stats import Stats

from .configs import FlatChoice, softmax_spill
from .metrics import L3_LEVEL

FLAT_TENSORS = ("Q", "K", "QK", "A", "V", "AV")


def choice_from_params(params: Mapping[str, Any] | Any) -> FlatChoice:
    """FLAT's choice from ``RenderedConfig.params``.

    Accepts a :class:`FlatChoice`, render's ``flat_dataflow`` (a :class:`~fusemax.render.FlatDataflow` or its
    ``as_dict()``: ``onchip, QK, AV, fusion, P1, spilled``), or the columns of ``flat_validation.csv``
    (``Q_loc`` ... ``proportion_spilled``).
    """
    if isinstance(params, FlatChoice):
        return params
    data = dict(params) if isinstance(params, Mapping) else dict(vars(params))
    for key in ("flat_dataflow", "flat", "flat_choice"):
        if data.get(key) is not None:
            return choice_from_params(data[key])
    if "onchip" in data:   # render's FlatDataflow
        onchip = set(data["onchip"])
        return FlatChoice(
            locations={t: "onchip" if t in onchip else "offchip" for t in FLAT_TENSORS},
            qk_stationarity=data.get("QK", data.get("qk_stationarity", "output")),
            av_stationarity=data.get("AV", data.get("av_stationarity", "output")),
            fusion_granularity=data.get("fusion", "head"), p1=int(data.get("P1", data.get("p1", 256))),
            proportion_spilled=float(data.get("spilled", 0.0)), source=str(data.get("source", "render")))
    locations = {t: data.get(f"{t}_loc") for t in FLAT_TENSORS}
    if any(v is None for v in locations.values()):
        raise FusemaxError("FLAT parameters lack the tensor locations", source="render params")
    return FlatChoice(
        locations={t: str(v) for t, v in locations.items()},
        qk_stationarity=data.get("QK_stationarity", "output"), av_stationarity=data.get("AV_stationarity", "output"),
        fusion_granularity=data.get("fusion_granularity", "head"), p1=int(data.get("P1", 256)),
        proportion_spilled=float(data.get("proportion_spilled", 0.0)))


#: FLAT's two matrix multiplies and their tensors.
FLAT_OPERANDS = {"QK": ("Q", "K", "QK"), "AV": ("A", "V", "AV")}


def onchip_words(is_onchip: Callable[[str], bool], stats: Mapping[str, Stats]) -> int:
    """L3 words that FLAT's on-chip tensors occupy: their L3 utilized capacity in the QK and AV Einsums."""
    words = 0
    for einsum, tensors in FLAT_OPERANDS.items():
        level = stats[einsum].levels.get(L3_LEVEL)
        for tensor in tensors:
            if is_onchip(tensor) and level is not None and tensor in level.dataspaces:
                words += level.dataspaces[tensor].utilized_capacity
    return words


def flat_softmax_spill(choice: FlatChoice, qk: Stats, av: Stats, l3_bytes: int, keys: int,
                       word_bytes: int = 2) -> float:
    """Proportion of the softmax's rows that spills under FLAT.

    With QK on chip the softmax shares FLAT's buffering and its spilled proportion. With QK off chip the
    softmax gets whatever L3 the QK and AV tiles leave free (their on-chip tensors' utilized capacity).
    """
    if choice.qk_onchip:
        return choice.proportion_spilled
    occupied = onchip_words(choice.onchip, {"QK": qk, "AV": av})
    return softmax_spill(l3_bytes - occupied * word_bytes, keys, word_bytes)
