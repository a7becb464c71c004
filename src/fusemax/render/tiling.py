"""The per-workload loop-nest factors that the artifact wrote into its mapping files.

Everything here is a pure function of the workload and the hardware; the templates only place the numbers.

FuseMax cascade (binding, arch, cascade)
    Keys are split as M = M1 x N with N = pe_dim (a key block per 2D-array row), queries as
    P = P2 (DRAM) x P1 (L3) x P0 (spatial, P0 = pe_dim). P1 is the paper's rule: the largest divisor of
    P / P0 not above ``floor((L3 - N*E*w - N*F*w) / (bytes_per_query * P0))``, where the K and V blocks of
    one M1 step take N*(E+F)*w bytes and each query keeps ``bytes_per_query`` bytes on chip:
    (E + 1 + 1 + F)*w for binding/arch (Q, RM, RD, RNV) and (E + N + 1 + N + 1 + F)*w for the cascade
    (Q, QK, RM, SLN, RD, RNV), with w = word bytes. The artifact writes N and P0 as the PE dimension; they
    are the same whenever M and P are multiples of it.

    Grouped-query attention (KV < H heads of K and V): the Einsums that read K or V (QK, SLNV) get a group
    rank G = H / KV, split G = G1 (DRAM) x G0 (L3), so one K/V block in L3 serves G0 query heads and K/V
    travel G1 x P2 times instead of G x P2. G0 is the largest divisor of G whose G0 x P0 queries fit
    beside the K/V block; P1 then applies the rule above to G0 x P0 queries per tile. With G = 1 (multi-head)
    G0 = G1 = 1 and the factors are the artifact's.

FLAT
    FLAT's row block P1 (``fusion == "row"``) or the whole head (``"head"``) is walked at L3; DRAM walks
    B, H and P2 = P / P1. Stationarity decides the L3 loop order (innermost first, the artifact's table in
    :data:`FLAT_LOOP_ORDERS`): the first rank is walked whole in L3, the second is spread over the array's
    columns (PE_col) and the third over its rows (PE); those two keep ``size / spatial`` at L3.

    Grouped-query attention: the group rank G = H / KV = G1 (DRAM, innermost) x G0 (L3, just outside P),
    G0 = the dataflow's ``group_heads`` (default 1, FLAT as published). A tile then holds G0 x P1 query rows
    against one K/V head, so a K or V tile the stationarity keeps in the PEs, or the L3 keeps on chip,
    serves all G0 heads, and an on-chip K/V tile also the G1 steps; K/V streamed from DRAM by a dataflow
    that re-reads them per row block are re-read per head too.

Softmax passes, unfused and end-to-end mapper constraints
    One rank is spread over a PE dimension: M over the 1D array (softmax), P and M over the 2D array
    (unfused QK/AV), tokens (B*P) and output features over the 2D array (matrix multiplies).

Where the artifact's rule leaves PEs idle (it only ran P = M >= 256, multiples of the PE dim)
    * FuseMax: independent (batch, head) pairs spread over the PEs the queries (P0, columns) and keys
      (N, rows) leave idle, and over the 1D array beside its queries (with F's values for SPNV, RNV and
      AV). Among the divisors of P and M up to the PE dim and the spreads beside them, the choice with the
      least estimated latency wins (:func:`_best_spread`: 2D MACs over the PEs worked, the 1D array's
      per-key-block rescaling, K/V re-reads per query tile); when P and M are multiples of the PE dim
      the artifact's factors are kept exactly. A choice must fit the row buffer (one word per query of
      the tile) and L3 (its queries plus a K/V block per (batch, K/V head) pair spread); a smaller tile
      is taken when the artifact's does not fit, and rendering fails, naming the bytes, only when not
      even one query beside a one-key block fits.
    * Elsewhere a rank smaller than the PE dimension is spread whole (the rest of the array idles); a
      larger rank that is not a multiple of it over its largest divisor below it (Falcon-7B's
      D = 4544 = 71 x 64 on 256 PEs: 142), so idle PEs show as lower utilization, never as extra
      computes or traffic.
    * FLAT's row block P1 is capped at P (decode: P1 = 1) and lowered to the largest divisor of P when it
      does not divide P.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from fusemax.configs import ResolvedHardware
from fusemax.errors import WorkloadError
from fusemax.memo import BoundedMemo
from fusemax.render.flat_dataflow import FlatDataflow
from fusemax.workload import Workload

#: L3 loop order (innermost first) per stationarity, from the artifact's FLAT baseline:
#: [walked whole at L3, spread over PE_col, spread over PE, H, B]
FLAT_LOOP_ORDERS = {
    "QK": {"input": "MEPHB", "weight": "PEMHB", "output": "EMPHB"},
    "AV": {"input": "FMPHB", "weight": "PFMHB", "output": "MFPHB"},
}


@lru_cache(maxsize=65536)
def _prime_factors(n: int) -> tuple[tuple[int, int], ...]:
    """``n``'s prime factorisation. Dividing each factor out as it is found makes smooth sizes instant
    (2**88: 88 divisions); only a large prime part costs up to its square root, and the 64-bit bound of
    :class:`~fusemax.workload.Workload` (P * M <= 2**63) keeps a length's below 2**16 steps."""
    factors: dict[int, int] = {}
    p = 2
    while p * p <= n:
        while n % p == 0:
            factors[p] = factors.get(p, 0) + 1
            n //= p
        p += 1 if p == 2 else 2
    if n > 1:
        factors[n] = factors.get(n, 0) + 1
    return tuple(factors.items())


@lru_cache(maxsize=65536)
def _divisors(n: int, limit: int) -> tuple[int, ...]:
    """The divisors of ``n`` up to ``limit`` (1 always), built from its prime powers (memoised: the spread
    searches ask for the same few sizes thousands of times)."""
    divisors = [1]
    for prime, power in _prime_factors(n):
        divisors = [d * prime ** k for d in divisors for k in range(power + 1) if d * prime ** k <= max(limit, 1)]
    return tuple(divisors)


def largest_divisor_at_most(n: int, limit: int) -> int:
    """The largest divisor of ``n`` that is <= ``limit`` (1 if limit < 1), from ``n``'s factorisation,
    never by trying every number up to sqrt(n)."""
    return max(_divisors(n, limit))


def spatial_factor(size: int, pes: int, what: str) -> int:
    """How many PEs a rank of ``size`` spreads over: ``pes`` when it divides the rank, the whole rank when
    the rank is smaller than the array, otherwise the largest divisor of the rank below ``pes`` (the other
    PEs idle: lower utilization, never extra computes or traffic). ``what`` names the rank in errors."""
    if size < 1 or pes < 1:
        raise WorkloadError(f"cannot spread {what} = {size} over {pes} PEs", source="--pe-dim")
    if size % pes == 0:
        return pes
    return size if size < pes else largest_divisor_at_most(size, pes)


@dataclass(frozen=True)
class Spread:
    """Independent (batch, head) pairs spread over one PE axis beside the rank that axis already holds.

    ``h`` query heads, of which ``g`` share one K/V head (the inner part of a group of G = H / KV), so the
    Einsums that index K/V by KV head see ``g`` on their group rank G and ``kv = h / g`` on H. On the 1D
    array the Einsums with a value rank F (SPNV, RNV, AV) also spread ``f`` of its values per query."""

    b: int = 1
    h: int = 1
    g: int = 1
    f: int = 1

    @property
    def kv(self) -> int:
        return self.h // self.g

    @property
    def pairs(self) -> int:
        return self.b * self.h


def _halvings(n: int) -> list[int]:
    """``n``, ``n // 2``, ... down to 1 (just 1 when n < 1)."""
    out = [max(n, 1)]
    while out[-1] > 1:
        out.append(out[-1] // 2)
    return out


@lru_cache(maxsize=65536)
def spread(batch: int, groups: int, kv_heads: int, limit: int, values: int = 1) -> Spread:
    """The most (batch, head) pairs, at most ``limit`` PEs, that divide ``batch`` and the heads left to
    spread (``groups`` query heads per K/V head times ``kv_heads``): heads are taken inner group first, so a
    spread of query heads is either part of one K/V group or whole groups of several K/V heads. With
    ``values`` > 1 (the 1D array's F) the PEs count pairs x values spread and the pairs come second. Ties go
    to more heads sharing a K/V head (fewer K/V blocks on chip), then to more heads."""
    heads = [(g, g) for g in _divisors(groups, limit)]
    heads += [(groups * k, groups) for k in _divisors(kv_heads, limit // groups) if k > 1]
    best, best_key = Spread(), (1, 1, 1, 1)
    for h, g in heads:
        for f in _divisors(values, limit // h):
            candidate = Spread(largest_divisor_at_most(batch, limit // (h * f)), h, g, f)
            key = (candidate.pairs * f, candidate.pairs, g, h)
            if key > best_key:
                best, best_key = candidate, key
    return best


def _query_tiles(queries: int, P0: int, groups: int, budget: int) -> tuple[int, int]:
    """(G0, P1) of the P1 rule for an L3 budget of ``budget`` P0-query tiles: G0 the largest divisor of the
    ``groups`` query heads per K/V head that fits, then P1 the largest divisor of P / P0 that fits beside."""
    G0 = largest_divisor_at_most(groups, budget)
    return G0, largest_divisor_at_most(queries // P0, budget // G0)


@lru_cache(maxsize=4096)
def _axis_choices(size: int, pes: int, batch: int, groups: int, kv_heads: int) -> tuple[tuple[int, Spread], ...]:
    """(factor of the rank, spread beside it) for one PE axis: each divisor of the rank up to ``pes``
    with the widest spread of the rest on the PEs it leaves, and the narrower ones (for L3)."""
    return tuple(sorted({(d, spread(batch, groups, kv_heads, limit)) for d in _divisors(size, pes)
                         for limit in _halvings(pes // d)}, key=lambda c: (c[0], c[1].pairs, c[1].g, c[1].h)))


def _best_spread(workload: Workload, hardware: ResolvedHardware, tile) -> tuple | None:
    """Where the artifact's rule leaves PEs idle (P or M not a multiple of the PE dim, decode), the
    (P0, columns' spread, N, rows' spread) with the least estimated latency: the largest of the 2D MACs
    over the PEs it works, the 1D array's rescaling of each query's F values once per key block (M1 = M / N
    of them) over its PEs, and the DRAM bytes over the bandwidth, counting K and V once per query tile (P2)
    and group step (G1). Ties go to the larger P0, then N, then the widest spreads; None if none fits L3."""
    model, w, pe = workload.model, hardware.word_bytes, hardware.pe_dim
    B, G, KV = workload.batch, model.H // model.KV, model.KV
    macs = B * model.H * workload.P * workload.M * (model.E + model.F)
    once = B * model.H * workload.P * (model.E + model.F)  # Q read and the output written once
    rescales = 2 * B * model.H * workload.P * model.F  # SPNV and RNV per key block
    kv = B * KV * workload.M * (model.E + model.F)
    best, best_key = None, None
    for P0, x in _axis_choices(workload.P, pe, B, G, KV):
        for N, y in _axis_choices(workload.M, pe, B // x.b, G // x.g, KV // x.kv):
            fit = tile(P0, x, N, y)
            if fit is None:
                continue
            groups = G // (x.g * y.g)
            g0, p1 = _query_tiles(workload.P, P0, groups, fit[2])
            steps = workload.P // P0 // p1 * (groups // g0)  # P2 x G1: K/V passes
            cycles = max(macs / (P0 * x.pairs * N * y.pairs), rescales * workload.M // N / hardware.pe_1d)
            seconds = max(cycles / hardware.clock_hz, (once + kv * steps) * w / hardware.dram_bandwidth)
            key = (seconds, -P0, -N, -x.pairs * y.pairs, -x.pairs)
            if best_key is None or key < best_key:
                best, best_key = (P0, x, N, y, *fit), key
    return best


@dataclass(frozen=True)
class CascadeTiling:
    """Factors of the FuseMax cascade: M = M1 x N and P = P2 x P1 x P0 (1D array: P2 x P1_1d x P0_1d), with
    (batch, head) pairs spread over the 2D array's columns (``x``, beside P0), its rows (``y``, beside N)
    and the 1D array (``x_1d``) where those ranks leave PEs idle."""

    N: int
    M1: int
    P0: int
    P1: int
    P2: int
    P0_1d: int
    P1_1d: int
    bytes_per_query: int
    tiles_that_fit: int  # the P1 bound of the rule, before rounding down to a divisor
    G: int = 1           # query heads per K/V head (H / KV)
    G0: int = 1          # of them per L3 tile (beside those spread)
    G1: int = 1          # walked at DRAM
    x: Spread = Spread()
    y: Spread = Spread()
    x_1d: Spread = Spread()


def cascade_tiling(workload: Workload, hardware: ResolvedHardware, *, cascade_buffers: bool) -> CascadeTiling:
    """Tiling of the FuseMax cascade; ``cascade_buffers`` selects the cascade's per-query buffers (QK and
    SLN rows on chip) instead of the binding's (see the module doc for the P1 rule and the spreads)."""
    # The tiling reads the hardware's numbers, not which configuration resolved them: binding and arch (same
    # specs) share one search, which costs milliseconds where the artifact's rule leaves PEs idle.
    key = (workload, tuple(getattr(hardware, name) for name in _TILING_READS), cascade_buffers)
    found = _TILINGS.get(key)
    if found is None:
        found = _TILINGS.keep(key, _cascade_tiling(workload, hardware, cascade_buffers))
    return found


#: The hardware fields :func:`_cascade_tiling` reads (binding and arch differ in others: their energy designs).
_TILING_READS = ("pe_dim", "pe_1d", "word_bytes", "l3_bytes", "row_buffer_depth", "clock_hz", "dram_bandwidth")
_TILINGS: BoundedMemo[tuple, "CascadeTiling"] = BoundedMemo(4096)


def _cascade_tiling(workload: Workload, hardware: ResolvedHardware, cascade_buffers: bool) -> CascadeTiling:
    model, w, l3_bytes, pe = workload.model, hardware.word_bytes, hardware.l3_bytes, hardware.pe_dim
    G, B, KV = model.H // model.KV, workload.batch, model.KV
    kv_words = model.E + model.F

    def tile(P0: int, x: Spread, N: int, y: Spread) -> tuple[int, int, int] | None:
        """(bytes per query, pairs, L3 budget in P0-query tiles) of a choice, None when it cannot fit."""
        pairs = x.pairs * y.pairs
        if P0 * pairs > hardware.row_buffer_depth:  # the row buffer holds a word per query of the tile
            return None
        bytes_per_query = (model.E + (2 * N if cascade_buffers else 0) + 2 + model.F) * w
        kv_pairs = x.b * y.b * x.kv * y.kv  # one N-key K/V block per (batch, K/V head) pair spread
        budget = (l3_bytes - kv_pairs * N * kv_words * w) // (bytes_per_query * P0 * pairs)
        return (bytes_per_query, pairs, budget) if budget >= 1 else None

    artifact = tile(pe, Spread(), pe, Spread()) if workload.P % pe == 0 and workload.M % pe == 0 else None
    fits: tuple | None = (pe, Spread(), pe, Spread(), *artifact) if artifact else _best_spread(workload, hardware, tile)
    if fits is None:
        need = (kv_words + model.E + (2 if cascade_buffers else 0) + 2 + model.F) * w
        raise WorkloadError(f"L3 of {l3_bytes} bytes cannot hold even one query beside a one-key K/V block "
                            f"({need} bytes needed)", source="--l3-bytes")
    P0, x, N, y, bytes_per_query, pairs, budget = fits
    groups_left = G // (x.g * y.g)
    G0, P1 = _query_tiles(workload.P, P0, groups_left, budget)
    fit = budget // G0
    tiles = workload.P // P0
    # The 1D array walks the same P1 x P0 queries, spread over its own PEs, and (batch, head) pairs over
    # the PEs those leave idle, as many as the L3 budget of the 2D tile allows: the widest use of the 1D
    # PEs wins, ties to the most queries (the artifact's P0_1d = the PE count).
    P0_1d, x_1d = max(((d, spread(B, G, KV, min(hardware.pe_1d // d, budget * pairs // P1), model.F))
                       for d in _divisors(P1 * P0, hardware.pe_1d)),
                      key=lambda c: (c[0] * c[1].pairs * c[1].f, c[0]))
    return CascadeTiling(N=N, M1=workload.M // N, P0=P0, P1=P1, P2=tiles // P1, P0_1d=P0_1d,
                         P1_1d=P1 * P0 // P0_1d, bytes_per_query=bytes_per_query, tiles_that_fit=fit,
                         G=G, G0=G0, G1=groups_left // G0, x=x, y=y, x_1d=x_1d)


@dataclass(frozen=True)
class FlatMatmulTiling:
    """L3 and spatial factors of one of FLAT's matrix multiplies (QK or AV)."""

    l3: dict[str, int]
    l3_perm: tuple[str, ...]
    pe_col: dict[str, int]
    pe: dict[str, int]


@dataclass(frozen=True)
class FlatTiling:
    """FLAT's query blocking (P = P2 x P1), its group blocking under grouped-query attention (G = G1 x G0:
    G0 query heads of a K/V group per tile, G1 walked at DRAM) and the tiling of QK and AV."""

    P1: int
    P2: int
    qk: FlatMatmulTiling
    av: FlatMatmulTiling
    G0: int = 1
    G1: int = 1

    @property
    def rows(self) -> int:
        """Query rows of one tile: P1 rows of each of its G0 heads (what FLAT's buffer count sizes)."""
        return self.G0 * self.P1


def _flat_matmul(einsum: str, stationarity: str, sizes: dict[str, int], pe_dim: int, G: int,
                 G0: int) -> FlatMatmulTiling:
    order = FLAT_LOOP_ORDERS[einsum][stationarity]
    l3 = {rank: 1 for rank in sizes}
    pe_col = {rank: 1 for rank in sizes}
    pe = {rank: 1 for rank in sizes}
    l3[order[0]] = sizes[order[0]]
    for rank, level in ((order[1], pe_col), (order[2], pe)):
        level[rank] = spatial_factor(sizes[rank], pe_dim, f"{rank} of FLAT's {einsum}")
        l3[rank] = sizes[rank] // level[rank]
    # The group's heads are more query rows: walked in L3 just outside P, so whatever the stationarity
    # reuses across the rows of a tile (K or V held in the PEs or the L3) serves every head of the group.
    l3["G"] = G0
    perm = order.replace("P", "PG") if G > 1 else order
    return FlatMatmulTiling(l3=l3, l3_perm=tuple(perm), pe_col=pe_col, pe=pe)


def flat_tiling(workload: Workload, pe_dim: int, dataflow: FlatDataflow) -> FlatTiling:
    """FLAT's factors for QK and AV under ``dataflow`` (see the module doc)."""
    P = workload.P
    if dataflow.fusion == "row":
        P1 = largest_divisor_at_most(P, dataflow.p1)
    else:
        P1 = P
    model = workload.model
    G = model.H // model.KV
    G0 = dataflow.group_heads
    if G % G0:
        raise WorkloadError(f"FLAT's tile cannot hold {G0} query heads of a K/V group of {G} "
                            f"({model.H} heads, {model.KV} K/V heads): use a divisor of {G}", source="flat dataflow")
    qk = _flat_matmul("QK", dataflow.qk_stationarity, {"E": model.E, "M": workload.M, "P": P1}, pe_dim, G, G0)
    av = _flat_matmul("AV", dataflow.av_stationarity, {"F": model.F, "M": workload.M, "P": P1}, pe_dim, G, G0)
    return FlatTiling(P1=P1, P2=P // P1, qk=qk, av=av, G0=G0, G1=G // G0)
