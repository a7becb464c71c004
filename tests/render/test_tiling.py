"""Every rendered loop nest tiles its problem exactly, on every PE dim of the Pareto sweep, in decode and
for small models; the documented fallbacks and errors of fusemax.render.tiling."""
from __future__ import annotations

import itertools
import math
import time

import pytest

from fusemax.errors import WorkloadError
from fusemax.render import CONFIGS, pareto_hardware, render
from fusemax.render.flat_dataflow import flat_dataflow
from fusemax.render.tiling import largest_divisor_at_most, spatial_factor
from fusemax.workload import Hardware, Workload, get_model, load_models

from .conftest import factor_table, load_plain

MAPPED = ("binding", "arch", "cascade", "flat")


def _check_nest(rendered) -> None:
    """Per rank, the factors over all levels multiply to the instance; spatial factors fit the mesh."""
    pe = rendered.hardware.pe_dim
    for einsum in rendered.einsums.values():
        problem = load_plain(einsum.problem_yaml)["problem"]
        instance, dims = problem["instance"], problem["shape"]["dimensions"]
        if einsum.mapping_yaml is None:
            constraints = load_plain(einsum.constraints_yaml)["constraints"]["targets"]
            for target in constraints:
                if target["type"] == "spatial":
                    for rank, value in (f.split("=") for f in target["factors"]):
                        assert instance[rank] % int(value) == 0 and int(value) <= pe, (einsum.name, target)
            continue
        table = factor_table(einsum.mapping_yaml)
        for rank in dims:
            product = math.prod(level.get(rank, 1) for level in table.values())
            assert product == instance[rank], (rendered.config, einsum.name, rank, table)
        for (target, kind), factors in table.items():
            if kind == "spatial":
                mesh = pe if einsum.array == "2d" else rendered.hardware.pe_1d
                assert math.prod(factors.values()) <= mesh, (einsum.name, target)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_every_zoo_model_tiles(config: str, phase: str):
    for name, length in itertools.product(load_models(), (512, 4096, 256 * 2**10)):
        _check_nest(render(config, Workload(get_model(name), length, phase)))


@pytest.mark.parametrize("pe_dim", [16, 32, 64, 128, 256, 512])
def test_pareto_pe_dims_render(pe_dim: int):
    for name in ("BERT", "TrXL", "T5", "XLM"):
        model = get_model(name)
        for config in MAPPED:
            rendered = render(config, Workload(model, 256 * 2**10), Hardware(pe_dim=pe_dim))
            _check_nest(rendered)
            arch = load_plain(rendered.einsums["QK"].arch_yaml.replace("!Container", "").replace(
                "!Component", "").replace("!Parallel", ""))
            meshes = [n["spatial"] for n in arch["architecture"]["nodes"] if n and "spatial" in n]
            assert meshes == [{"meshX": pe_dim}, {"meshY": pe_dim}]
        rendered = render("binding", Workload(model, 256 * 2**10), pareto_hardware(pe_dim, model.E))
        _check_nest(rendered)


def test_pareto_hardware_follows_the_artifact_sizing():
    # min_tiles = 2 * max(1, pe/E); 256K tokens give >= 512 query tiles, so min_P1 = 1 and
    # L3 = pe * 1 * E * 8 fibers * 2 B.
    hw = pareto_hardware(256, 64)
    assert hw.l3_bytes == 256 * 64 * 16 and hw.pe_reg_depth == 4 + 8
    assert hw.row_buffer_depth == 256 * 8 * 8 and hw.pe_1d_reg_depth == 64
    assert pareto_hardware(16, 128, multiplier=4).l3_bytes == 16 * 128 * 16 * 4
    arch = render("binding", Workload(get_model("BERT"), 256 * 2**10), hw).einsums["QK"].arch_yaml
    assert "depth: 512\n" in arch and "width: 4096\n" in arch  # L3 rows: 262144 B / 512 B


def test_decode_uses_one_query():
    rendered = render("binding", Workload(get_model("Llama-2-7B"), 4096, phase="decode"))
    assert (rendered.params["p0"], rendered.params["p1"], rendered.params["p2"]) == (1, 1, 1)
    assert rendered.params["m1"] == 16 and rendered.params["n"] == 256
    qk = factor_table(rendered.einsums["QK"].mapping_yaml)
    assert qk[("PE_col", "spatial")]["P"] == 1 and qk[("PE", "spatial")]["N"] == 256
    flat = render("flat", Workload(get_model("BERT"), 65536, phase="decode"))
    assert (flat.params["p1"], flat.params["p2"]) == (1, 1)


def test_small_head_dim_spreads_whole_rank():
    # Pythia-14M (E = 32) under FLAT's weight-stationary choice at 256K: E spreads over 32 of 256 columns.
    rendered = render("flat", Workload(get_model("Pythia-14M"), 256 * 2**10))
    assert rendered.params["flat_dataflow"]["QK"] == "weight"
    assert factor_table(rendered.einsums["QK"].mapping_yaml)[("PE_col", "spatial")]["E"] == 32


def test_fallback_helpers():
    assert largest_divisor_at_most(256, 126) == 64 and largest_divisor_at_most(16, 251) == 16
    assert largest_divisor_at_most(7, 0) == 1
    assert spatial_factor(4096, 256, "M") == 256 and spatial_factor(100, 256, "M") == 100
    # 4096 = 2^12 over 300 PEs: 256 work; 4544 = 64 x 71 over 256: 142 = 2 x 71; a prime over one PE
    assert spatial_factor(4096, 300, "M") == 256 and spatial_factor(4544, 256, "N") == 142
    assert spatial_factor(1009, 256, "M") == 1


def test_pe_dim_that_does_not_tile_spreads_heads_without_extra_work():
    # BERT 4K on 384 x 384 PEs: 4096 = 2^12 has no divisor between 256 and 384, so the columns take
    # 128 queries x 3 of BERT's 12 heads (all 384); the keys keep the 256-key block (N = 128 x 3 heads
    # would double the 1D array's per-block rescaling, M1 = 32), so a third of the rows idle.
    rendered = render("binding", Workload(get_model("BERT"), 4096), Hardware(pe_dim=384))
    p = rendered.params
    assert (p["n"], p["p0"], p["m1"]) == (256, 128, 16)
    assert p["spread"]["x"] == {"b": 1, "h": 3, "g": 1, "f": 1} and p["spread"]["y"]["b"] * p["spread"]["y"]["h"] == 1


def test_small_l3_takes_a_smaller_tile_and_too_small_fails_clearly():
    # 128 KiB cannot hold the artifact's tile (a 256-key K/V block of XLM, E = F = 128, is 128 KiB alone)
    # but holds a smaller one; one 512-byte row cannot hold even one query (2 x (128 + 2 + 128) bytes)
    # beside a one-key K/V block (2 x 256 bytes).
    p = render("binding", Workload(get_model("XLM"), 4096), Hardware(l3_bytes=128 * 2**10)).params
    assert p["n"] * (128 + 128) * 2 < 128 * 2**10
    with pytest.raises(WorkloadError, match="cannot hold even one query"):
        render("binding", Workload(get_model("XLM"), 4096), Hardware(l3_bytes=512))


def test_flat_dataflow_lookup_falls_back_to_nearest_entry():
    exact = flat_dataflow(64, 4096)
    assert exact.source.endswith("head_dim 64, 4K")
    assert flat_dataflow(32, 3000).source == "flat_dataflows.yaml head_dim 64, 4K (nearest to E=32, 3000)"
    assert flat_dataflow(128, 2**21).source.startswith("flat_dataflows.yaml head_dim 128, 1M")


def test_unfused_and_end2end_render_mapper_inputs():
    rendered = render("unfused", Workload(get_model("BERT"), 4096))
    assert rendered.einsums["QK"].needs_mapper and not rendered.einsums["M"].needs_mapper
    assert set(rendered.einsums["QK"].files()) == {"arch.yaml", "problem.yaml", "constraints.yaml", "mapper.yaml"}
    arch = rendered.einsums["QK"].arch_yaml
    assert "depth: 65536\n" in arch and "depth: 4\n" in arch  # 32 MiB of 512-B rows, 4-word registers
    e2e = render("end2end", Workload(get_model("OPT-66B"), 1024))
    assert list(e2e.einsums) == ["Q", "K", "V", "Z", "FFN1", "FFN2"]
    ffn1 = load_plain(e2e.einsums["FFN1"].problem_yaml)["problem"]["instance"]
    assert ffn1 == {"K": 9216, "M": 64 * 1024, "N": 36864}
    assert e2e.params["same_as"] == {"K": "Q", "V": "Q"}


def test_rendering_is_fast():
    workload = Workload(get_model("XLM"), 65536)
    render("binding", workload)  # compile the templates once
    start = time.perf_counter()
    for _ in range(20):
        render("binding", workload)
    assert (time.perf_counter() - start) / 20 < 0.02  # a few ms per configuration; generous for slow CI


def test_largest_divisor_comes_from_the_factorisation():
    from fusemax.render.tiling import largest_divisor_at_most
    brute = lambda n, lim: max([d for d in range(1, n + 1) if n % d == 0 and d <= lim] or [1])
    for n in (1, 2, 12, 97, 360, 1024, 1021 * 3, 4096 * 7):
        for lim in (0, 1, 5, 16, 100, 10**6):
            assert largest_divisor_at_most(n, lim) == brute(n, lim), (n, lim)
    # 2**88 with trial division up to sqrt would never finish; the factorisation takes 88 steps
    assert largest_divisor_at_most(2**88, 10**9) == 2**29
    assert largest_divisor_at_most(3 * 2**88, 2**90) == 3 * 2**88


def test_flat_tile_holds_the_query_heads_of_a_kv_group():
    """Llama-3-8B decode at 128K (G = 4 query heads per K/V head): the tile's rows are group_heads x P1, so
    FLAT's buffer count (the score rows, Q and AV double-buffered) grows with them, K's does not."""
    from fusemax.render.flat_dataflow import FlatDataflow
    w = Workload(get_model("Llama-3-8B"), 131072, "decode")
    l3_words = 32 * 2**20 // 2
    slab = 2 * 256 * 128  # an off-chip tensor streams a double-buffered 256-row slab of 128 words
    for heads in (4, 1):
        df = FlatDataflow(frozenset({"K", "QK", "A"}), "weight", "weight", "head", 1, heads)
        rendered = render("flat", w, Hardware(), flat_dataflow=df)
        # scores heads x 131072; K whole and double-buffered; Q, V and AV off chip
        words = heads * 131072 + 2 * 131072 * 128 + 3 * slab
        assert rendered.params["proportion_spilled"] == 1 - l3_words / words
        qk = rendered.einsums["QK"].mapping_yaml
        assert f"factors: [B=64, E=1, G={4 // heads}, H=8, M=1, P=1]" in qk
        assert f"factors: [B=1, E=1, G={heads}, H=1, M=512, P=1]\n  permutation: [P, G, E, M, H, B]" in qk
        assert "split: 6\n  permutation: [E, M, P, G, H, B]" in qk
    with pytest.raises(WorkloadError, match="3 query heads of a K/V group of 4"):
        render("flat", w, Hardware(), flat_dataflow=FlatDataflow(frozenset(), group_heads=3))


def test_flat_specs_of_multi_head_models_have_no_group_rank():
    rendered = render("flat", Workload(get_model("BERT"), 4096), Hardware())
    for einsum in ("QK", "AV"):
        assert "G" not in rendered.einsums[einsum].mapping_yaml
    assert "group_heads" not in rendered.params["flat_dataflow"]


def test_cascade_tiling_memo_keys_on_every_number_of_the_hardware_but_not_the_configuration_name():
    """Binding and arch (same specs, same hardware numbers) share one tiling search; any hardware number
    that differs (here the L3, which bounds the query tile) is a different tiling, not a stale memo."""
    from dataclasses import replace

    from fusemax.configs import get_config, resolve_hardware
    from fusemax.render.tiling import cascade_tiling

    # P = 1000 is not a multiple of the 256 PEs: the search over spreads runs (the artifact's rule does not)
    workload = Workload(get_model("BERT"), 1000, batch=1)
    binding = resolve_hardware(get_config("binding"), Hardware())
    arch = resolve_hardware(get_config("arch"), Hardware())
    assert binding.config != arch.config and replace(binding, config=arch.config) == arch
    first = cascade_tiling(workload, binding, cascade_buffers=False)
    assert cascade_tiling(workload, arch, cascade_buffers=False) == first
    small = replace(binding, l3_bytes=binding.l3_bytes // 64)
    tight = cascade_tiling(workload, small, cascade_buffers=False)
    # the query tile's bytes times its count must fit the smaller L3 (the rule's own bound)
    assert tight.bytes_per_query * tight.P0 * tight.x.pairs * tight.y.pairs * tight.G0 * tight.P1 <= small.l3_bytes
    assert tight != first


def test_cascade_tiling_memo_key_names_every_hardware_field_the_tiling_reads():
    """The memo keys on :data:`_TILING_READS`; a field read by the tiling but missing from the key would
    hand one hardware's tiling to another."""
    import inspect
    import re

    from fusemax.render import tiling
    read = set()
    for function in (tiling._cascade_tiling, tiling._best_spread):
        read |= set(re.findall(r"\bhardware\.([a-z_0-9]+)", inspect.getsource(function)))
    assert read and read <= set(tiling._TILING_READS), read - set(tiling._TILING_READS)
