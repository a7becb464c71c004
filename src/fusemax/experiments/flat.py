"""FLAT's dataflow choice: reading it from the rendered parameters, and the softmax spill it implies."""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Mapping

from fusemax.errors import FusemaxError
from fusemax.stats import Stats

from .configs import FlatChoice, softmax_spill
from .metrics import L3_LEVEL

FLAT_TENSORS = ("Q", "K", "QK", "A", "V", "AV")


def choice_from_params(params: Mapping[str, Any] | Any) -> FlatChoice:
    """FLAT's choice from ``RenderedConfig.params``.

    Accepts a :class:`FlatChoice`, an object or mapping under ``flat``/``flat_choice``, or the columns of
    ``flat_validation.csv`` (``Q_loc`` ... ``proportion_spilled``) directly.
    """
    if isinstance(params, FlatChoice):
        return params
    get = (lambda k, d=None: params.get(k, d)) if isinstance(params, Mapping) else \
        (lambda k, d=None: getattr(params, k, d))
    for key in ("flat", "flat_choice", "choice"):
        inner = get(key)
        if inner is not None and inner is not params:
            return choice_from_params(inner)
    locations = get("locations")
    if locations is None:
        locations = {t: get(f"{t}_loc") for t in FLAT_TENSORS}
    if any(v is None for v in locations.values()):
        raise FusemaxError("FLAT parameters lack tensor locations (Q_loc ... AV_loc)", source="render params")
    names = {f.name for f in fields(FlatChoice)}
    aliases = {"QK_stationarity": "qk_stationarity", "AV_stationarity": "av_stationarity",
               "P1": "p1", "p1": "p1", "fusion_granularity": "fusion_granularity",
               "proportion_spilled": "proportion_spilled", "spilled": "proportion_spilled"}
    values: dict[str, Any] = {}
    for key, name in aliases.items():
        value = get(key)
        if value is not None and name in names:
            values[name] = value
    values["proportion_spilled"] = float(values.get("proportion_spilled", 0.0))
    return FlatChoice(locations={t: str(v) for t, v in dict(locations).items()}, **values)


def flat_softmax_spill(choice: FlatChoice, qk: Stats, av: Stats, l3_bytes: int, keys: int,
                       word_bytes: int = 2) -> float:
    """Proportion of the softmax's rows that spills under FLAT.

    With QK on chip the softmax shares FLAT's buffering and its spilled proportion. With QK off chip the
    softmax gets whatever L3 the QK and AV tiles leave free (their on-chip tensors' utilized capacity).
    """
    if choice.qk_onchip:
        return choice.proportion_spilled
    occupied = 0
    for stats, tensors in ((qk, ("Q", "K", "QK")), (av, ("A", "V", "AV"))):
        level = stats.levels.get(L3_LEVEL)
        for tensor in tensors:
            if choice.onchip(tensor) and level and tensor in level.dataspaces:
                occupied += level.dataspaces[tensor].utilized_capacity
    return softmax_spill(l3_bytes - occupied * word_bytes, keys, word_bytes)
