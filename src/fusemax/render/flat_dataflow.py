"""FLAT's dataflow choices (``mappings/flat_dataflows.yaml``) and how a workload picks one.

FLAT (the baseline) chose, per model and sequence length, which tensors stay on chip, the stationarity of
QK and AV on the 2D array, whether it fuses whole heads or blocks of P1 query rows, and how much of the
on-chip data spills. The paper's choices are published per model in the artifact's
``results/flat_validation.csv``; they depend only on the head dimension E and the length, so the table
is keyed by those.

``fusemax run`` and ``fusemax render`` give workloads outside the table FLAT's own search instead
(:mod:`fusemax.select.flat`); render alone cannot search, since that needs the engine.
Lookup rule (for models and lengths the paper did not evaluate): the entry of the nearest head dimension
(log2 distance, ties to the larger) and then the nearest tabulated length (log2 distance, ties to the
shorter). Decode steps use the entry of their context length M. ``FlatDataflow.source`` says which entry
was used.

Spill: FLAT overbooks its buffer rather than shrink a block, and sends the overflow to DRAM. The table does
not store the spilled proportion; :func:`spilled_proportion` derives it from FLAT's buffer count
(:func:`buffer_words`) for the actual workload and hardware. On the paper's cloud platform this reproduces
every ``proportion_buffered`` / ``proportion_spilled`` of ``flat_validation.csv`` bit for bit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

from fusemax import yamlio
from fusemax.errors import WorkloadError
from fusemax.templates import template_root
from fusemax.workload import format_seq_len, parse_seq_len

TENSORS = ("Q", "K", "QK", "A", "V", "AV")
STATIONARITIES = ("input", "weight", "output")


@dataclass(frozen=True)
class FlatDataflow:
    """One FLAT dataflow: on-chip tensors, stationarity of QK and AV, fusion granularity, rows per block.

    ``group_heads``: under grouped-query attention (G = H / KV query heads share one K/V head), how many of
    a group's query heads one tile holds beside its K/V tile (a divisor of G); they are walked in L3 next to
    the P1 rows, so the tile's rows are ``group_heads x P1`` and the K/V tile serves all of them. 1 is FLAT
    as published (one head per tile, the blocks the table's choices were sized for; K/V are reused across
    the group's heads only while they stay in L3); FLAT's search also tries the whole group.

    ``spilled`` is the proportion of the on-chip traffic that overflows to DRAM; render derives it for the
    actual workload and hardware (:func:`spilled_proportion`) and hands it to the combination on
    ``RenderedConfig.flat_dataflow``; :meth:`from_params` reads one back from a cached search or an artifact
    row.
    """

    onchip: frozenset[str]
    qk_stationarity: str = "output"
    av_stationarity: str = "output"
    fusion: str = "head"  # "head" or "row"
    p1: int = 256  # query rows per block when fusion == "row"
    group_heads: int = 1
    source: str = field(default="", compare=False)
    spilled: float = field(default=0.0, compare=False)

    def __post_init__(self) -> None:
        bad = set(self.onchip) - set(TENSORS)
        if bad:
            raise WorkloadError(f"unknown tensor(s) {sorted(bad)} in FLAT dataflow; use {', '.join(TENSORS)}")
        for which in (self.qk_stationarity, self.av_stationarity):
            if which not in STATIONARITIES:
                raise WorkloadError(f"unknown stationarity {which!r}; use {', '.join(STATIONARITIES)}")
        if self.fusion not in ("head", "row"):
            raise WorkloadError(f"unknown fusion granularity {self.fusion!r}; use head or row")
        if self.p1 < 1:
            raise WorkloadError(f"FLAT P1 must be positive, got {self.p1}")
        if self.group_heads < 1:
            raise WorkloadError(f"FLAT's query heads per K/V tile must be positive, got {self.group_heads}")

    def location(self, tensor: str) -> str:
        """``"onchip"`` or ``"offchip"``, spelled like flat_validation.csv."""
        return "onchip" if tensor in self.onchip else "offchip"

    @property
    def qk_onchip(self) -> bool:
        """The softmax works on QK / A in the L3 only when FLAT keeps the score matrix on chip."""
        return "QK" in self.onchip

    def as_dict(self) -> dict:
        """Plain values for ``RenderedConfig.params`` (and YAML/JSON output); ``group_heads`` only above 1,
        so a multi-head model's params are those it always had."""
        group = {"group_heads": self.group_heads} if self.group_heads > 1 else {}
        return {"onchip": [t for t in TENSORS if t in self.onchip], "QK": self.qk_stationarity,
                "AV": self.av_stationarity, "fusion": self.fusion, "P1": self.p1, **group, "source": self.source}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "FlatDataflow":
        """The dataflow render recorded: ``params["flat_dataflow"]`` (:meth:`as_dict` plus ``spilled``), or
        a row of the artifact's ``flat_validation.csv`` (``Q_loc`` ... ``proportion_spilled``)."""
        if params.get("flat_dataflow") is not None:
            d = params["flat_dataflow"]
            return cls(frozenset(d["onchip"]), d["QK"], d["AV"], d["fusion"], int(d["P1"]),
                       int(d.get("group_heads", 1)), source=str(d.get("source", "render")), spilled=float(d.get("spilled", 0.0)))
        try:
            onchip = frozenset(t for t in TENSORS if params[f"{t}_loc"] == "onchip")
        except KeyError:
            raise WorkloadError("FLAT parameters lack the tensor locations", source="render params") from None
        return cls(onchip, params.get("QK_stationarity", "output"), params.get("AV_stationarity", "output"),
                   params.get("fusion_granularity", "head"), int(params.get("P1", 256)),
                   source="flat_validation.csv", spilled=float(params.get("proportion_spilled", 0.0)))


@lru_cache(maxsize=None)
def _table(root: str) -> dict[int, dict[int, dict]]:
    path = f"{root}/mappings/flat_dataflows.yaml"
    data = yamlio.load(path)
    try:
        return {int(e): {parse_seq_len(length): entry for length, entry in rows.items()}
                for e, rows in data["head_dim"].items()}
    except (KeyError, TypeError, AttributeError, WorkloadError) as exc:
        raise WorkloadError(f"malformed FLAT dataflow table ({exc})", source=path) from None


def dataflow_table() -> dict[int, dict[int, dict]]:
    """head dim -> length -> raw entry, as stored in ``mappings/flat_dataflows.yaml``."""
    return _table(str(template_root()))


def _nearest(options, target: int, prefer_larger: bool) -> int:
    # log2 distance: lengths and head dims grow geometrically
    return min(options, key=lambda x: (abs(math.log2(x) - math.log2(target)), -x if prefer_larger else x))


def flat_dataflow(head_dim: int, seq_len: int) -> FlatDataflow:
    """FLAT's dataflow for a head dimension E and a context length M (nearest table entry, see module doc)."""
    table = dataflow_table()
    e = _nearest(table, head_dim, prefer_larger=True)
    length = _nearest(table[e], seq_len, prefer_larger=False)
    entry = table[e][length]
    exact = e == head_dim and length == seq_len
    source = f"flat_dataflows.yaml head_dim {e}, {format_seq_len(length)}" + (
        "" if exact else f" (nearest to E={head_dim}, {format_seq_len(seq_len)})")
    return FlatDataflow(onchip=frozenset(entry["onchip"]), qk_stationarity=entry["QK"],
                        av_stationarity=entry["AV"], fusion=entry["fusion"], p1=int(entry["P1"]), source=source)


def buffer_words(dataflow: FlatDataflow, rows: int, keys: int, head_dim: int, value_dim: int, pe_dim: int) -> int:
    """Words of on-chip buffer FLAT reserves for one block of ``rows`` queries against ``keys`` keys.

    Under grouped-query attention a block's ``rows`` are its P1 query rows times the query heads of the K/V
    group it holds (:attr:`FlatDataflow.group_heads`); K and V are one K/V head's.

    The score matrix is held once (A overwrites QK in place): the whole ``rows x keys`` block when QK/A are on
    chip, else a double-buffered ``pe_dim x pe_dim`` tile streaming through. Q, K, V and AV are double-buffered
    (the next block loads while this one computes): the whole block when on chip (Q, AV: ``rows``; K, V: all
    ``keys`` of the head), else a slab of ``pe_dim`` rows streaming from DRAM. The off-chip score tile is our
    assumption: no published row puts QK off chip near the limit, so none pins it.
    """
    extent = {"Q": (rows, head_dim), "K": (keys, head_dim), "V": (keys, value_dim), "AV": (rows, value_dim)}
    words = rows * keys if "QK" in dataflow.onchip else 2 * pe_dim * pe_dim
    for tensor, (length, width) in extent.items():
        words += 2 * (length if tensor in dataflow.onchip else pe_dim) * width
    return words


def overflow(available: float, needed: float) -> float:
    """Proportion of ``needed`` that does not fit in ``available`` (same units): ``1 - min(1, available /
    needed)``, the spill rule of every overbooked buffer of the baselines."""
    return 1 - min(1.0, available / needed)


def spilled_proportion(dataflow: FlatDataflow, rows: int, keys: int, head_dim: int, value_dim: int,
                       pe_dim: int, l3_words: int) -> float:
    """Proportion of FLAT's on-chip traffic that spills to DRAM: the :func:`overflow` of its
    :func:`buffer_words` in the L3."""
    return overflow(l3_words, buffer_words(dataflow, rows, keys, head_dim, value_dim, pe_dim))


def softmax_spill(avail_bytes: float, keys: int, word_bytes: int) -> float:
    """Proportion of a baseline's softmax row (``keys`` words) that does not fit in ``avail_bytes`` of L3:
    the unfused baseline's (the whole L3) and FLAT's with QK off chip (what its tiles leave)."""
    return overflow(avail_bytes, keys * word_bytes)
