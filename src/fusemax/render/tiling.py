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

Softmax passes, unfused and end-to-end mapper constraints
    One rank is spread over a PE dimension: M over the 1D array (softmax), P and M over the 2D array
    (unfused QK/AV), tokens (B*P) and output features over the 2D array (matrix multiplies).

Fallbacks (where the artifact's rule has no valid factor; the artifact only ran P = M >= 256):
    * A rank smaller than the PE dimension is spread whole (spatial factor = its size; the rest of the
      array idles). This covers decode (P = 1 query), short contexts and head dims below the PE dimension
      (Pythia-14M: E = 32). A larger rank that is not a multiple of the PE dimension is spread over its
      largest divisor below it (Falcon-7B's D = 4544 = 71 x 64 on 256 PEs: 142), so the idle PEs show as
      lower utilization, never as extra computes or traffic (a prime length spreads over one PE).
    * When P0 < pe_dim the P1 rule uses P0 queries per tile; K/V blocks use N = min(M, pe_dim) keys.
    * FLAT's row block P1 is capped at P (decode: P1 = 1) and lowered to the largest divisor of P when it
      does not divide P.
    * If L3 cannot hold even one tile of P0 queries plus a K/V block, rendering fails naming the bytes
      needed (there is no smaller FuseMax tile).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from fusemax.configs import ResolvedHardware
from fusemax.errors import WorkloadError
from fusemax.render.flat_dataflow import FlatDataflow
from fusemax.workload import Workload

#: L3 loop order (innermost first) per stationarity, from the artifact's FLAT baseline:
#: [walked whole at L3, spread over PE_col, spread over PE, H, B]
FLAT_LOOP_ORDERS = {
    "QK": {"input": "MEPHB", "weight": "PEMHB", "output": "EMPHB"},
    "AV": {"input": "FMPHB", "weight": "PFMHB", "output": "MFPHB"},
}


def _prime_factors(n: int) -> dict[int, int]:
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
    return factors


def largest_divisor_at_most(n: int, limit: int) -> int:
    """The largest divisor of ``n`` that is <= ``limit`` (1 if limit < 1), from ``n``'s factorisation:
    the divisors are built from the prime powers, never by trying every number up to sqrt(n)."""
    divisors = [1]
    for prime, power in _prime_factors(n).items():
        divisors = [d * prime ** k for d in divisors for k in range(power + 1) if d * prime ** k <= limit]
    return max(divisors, default=1)


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
class CascadeTiling:
    """Factors of the FuseMax cascade: M = M1 x N and P = P2 x P1 x P0 (1D array: P2 x P1_1d x P0_1d)."""

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
    G0: int = 1          # of them per L3 tile
    G1: int = 1          # walked at DRAM (G / G0)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def cascade_tiling(workload: Workload, hardware: ResolvedHardware, *, cascade_buffers: bool) -> CascadeTiling:
    """Tiling of the FuseMax cascade; ``cascade_buffers`` selects the cascade's per-query buffers (QK and
    SLN rows on chip) instead of the binding's (see the module doc for the P1 rule)."""
    model, w, l3_bytes = workload.model, hardware.word_bytes, hardware.l3_bytes
    N = spatial_factor(workload.M, hardware.pe_dim, "M (keys)")
    P0 = spatial_factor(workload.P, hardware.pe_dim, "P (queries)")
    if cascade_buffers:
        bytes_per_query = (model.E + N + 1 + N + 1 + model.F) * w  # Q, QK, RM, SLN, RD, RNV
    else:
        bytes_per_query = (model.E + 1 + 1 + model.F) * w  # Q, RM, RD, RNV
    kv_block = N * model.E * w + N * model.F * w
    G = model.H // model.KV
    G0 = largest_divisor_at_most(G, (l3_bytes - kv_block) // (bytes_per_query * P0))
    fit = (l3_bytes - kv_block) // (bytes_per_query * P0 * G0)
    if fit < 1:
        need = kv_block + bytes_per_query * P0
        raise WorkloadError(f"L3 of {l3_bytes} bytes cannot hold one tile of {P0} queries and a {N}-key K/V "
                            f"block ({need} bytes needed)", source="--l3-bytes")
    tiles = workload.P // P0
    P1 = largest_divisor_at_most(tiles, fit)
    # The 1D array walks the same P1 x P0 queries, spread over its own PEs.
    P0_1d = spatial_factor(P1 * P0, hardware.pe_1d, "P1 x P0 (queries on the 1D array)")
    return CascadeTiling(N=N, M1=workload.M // N, P0=P0, P1=P1, P2=tiles // P1, P0_1d=P0_1d,
                         P1_1d=P1 * P0 // P0_1d, bytes_per_query=bytes_per_query, tiles_that_fit=fit,
                         G=G, G0=G0, G1=G // G0)


@dataclass(frozen=True)
class FlatMatmulTiling:
    """L3 and spatial factors of one of FLAT's matrix multiplies (QK or AV)."""

    l3: dict[str, int]
    l3_perm: tuple[str, ...]
    pe_col: dict[str, int]
    pe: dict[str, int]


@dataclass(frozen=True)
class FlatTiling:
    """FLAT's query blocking (P = P2 x P1) and the tiling of QK and AV."""

    P1: int
    P2: int
    qk: FlatMatmulTiling
    av: FlatMatmulTiling


def _flat_matmul(einsum: str, stationarity: str, sizes: dict[str, int], pe_dim: int) -> FlatMatmulTiling:
    order = FLAT_LOOP_ORDERS[einsum][stationarity]
    l3 = {rank: 1 for rank in sizes}
    pe_col = {rank: 1 for rank in sizes}
    pe = {rank: 1 for rank in sizes}
    l3[order[0]] = sizes[order[0]]
    for rank, level in ((order[1], pe_col), (order[2], pe)):
        level[rank] = spatial_factor(sizes[rank], pe_dim, f"{rank} of FLAT's {einsum}")
        l3[rank] = sizes[rank] // level[rank]
    return FlatMatmulTiling(l3=l3, l3_perm=tuple(order), pe_col=pe_col, pe=pe)


def flat_tiling(workload: Workload, pe_dim: int, dataflow: FlatDataflow) -> FlatTiling:
    """FLAT's factors for QK and AV under ``dataflow`` (see the module doc)."""
    P = workload.P
    if dataflow.fusion == "row":
        P1 = largest_divisor_at_most(P, dataflow.p1)
    else:
        P1 = P
    model = workload.model
    qk = _flat_matmul("QK", dataflow.qk_stationarity, {"E": model.E, "M": workload.M, "P": P1}, pe_dim)
    av = _flat_matmul("AV", dataflow.av_stationarity, {"F": model.F, "M": workload.M, "P": P1}, pe_dim)
    return FlatTiling(P1=P1, P2=P // P1, qk=qk, av=av)
