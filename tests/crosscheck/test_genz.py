"""The whole model's decode TPOT against GenZ (genz-llm on PyPI, an LLM roofline analyser), issue 24.

GenZ is given the same hardware: peak 2 x 256^2 x 940e6 FLOP/s (the 2D array), 400 GiB/s of DRAM, FuseMax's
16 MiB on chip, 940 MHz; and Llama-3-8B's published dimensions (32 layers, D 4096, 32 heads, 8 KV heads,
SwiGLU 14336, vocabulary 128256). At 4K and 32K decode both models are memory-bound: one token costs the
weights, the LM head's and the KV cache over the bandwidth, which each must count, so the two TPOTs must agree
within 10 %. What GenZ has no notion of -- the 1D array beside the 2D one, the register levels, the mapping
-- does not enter a memory-bound step.

GenZ needs numba, plotly, statsmodels and more (about 900 MB), so it lives in a venv of its own,
``.venv-genz`` (``.ci/run`` creates it) or ``$FUSEMAX_GENZ``; without one this test skips.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fusemax.experiments.layer import run_layers
from fusemax.experiments.sweep import Point, run_points
from fusemax.experiments.wholemodel import run_model
from fusemax.workload import Hardware, get_model

REPO = Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO / ".venv-genz" / "bin" / "python"
SETUP = "python3 -m venv .venv-genz && .venv-genz/bin/pip install genz-llm==0.0.16"
TOLERANCE = 0.10
CASES = [(4096, 1), (32768, 1), (4096, 16), (32768, 16)]
HW = Hardware()


def _python() -> Path | None:
    """$FUSEMAX_GENZ, else .venv-genz, when it has genz-llm (its metadata: importing GenZ takes ~10 s)."""
    python = Path(os.environ.get("FUSEMAX_GENZ") or VENV_PYTHON)
    probe = "import importlib.metadata as m; print(m.version('genz-llm'))"
    try:
        done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return python if done.returncode == 0 else None


PYTHON = _python()
pytestmark = pytest.mark.skipif(PYTHON is None, reason=f"no Python with genz-llm: set $FUSEMAX_GENZ or run {SETUP!r} "
                                                       "(.ci/run does)")


def genz_tpot() -> list[float]:
    """GenZ's decode TPOT (s) of each of :data:`CASES`, run in its own interpreter."""
    m = get_model("Llama-3-8B")
    request = {
        "model": {"model": "Llama-3-8B", "hidden_size": m.D, "num_attention_heads": m.H, "num_key_value_heads": m.KV,
                  "head_dim": m.E, "num_ffi": 2, "intermediate_size": m.S, "num_decoder_layers": m.layers,
                  "vocab_size": m.vocab, "max_model_len": 128 * 1024, "hidden_act": "silu"},
        "system": {"flops": 2 * HW.pe_dim**2 * HW.clock_hz / 1e12, "offchip_mem_bw": HW.dram_bandwidth / 2**30,
                   "on_chip_mem_size": 16, "frequency": HW.clock_hz / 1e6, "bits": "bf16"},
        "cases": CASES}
    assert PYTHON is not None
    done = subprocess.run([str(PYTHON), str(Path(__file__).with_name("genz_worker.py"))], input=json.dumps(request),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    return [ms / 1e3 for ms in out["tpot_ms"]]


def fusemax_tpot(config: str) -> list[float]:
    pts = [Point(config, "Llama-3-8B", n, "decode", b) for n, b in CASES]
    run = run_points(pts, HW, jobs=1)
    assert all(o.error is None for o in run.outcomes), [o.error for o in run.outcomes]
    layer, _ = run_layers([(o.point.config, o.workload, o.result) for o in run.outcomes], HW)
    rows, _ = run_model(layer, {"Llama-3-8B": get_model("Llama-3-8B")}, HW)
    by = {(r.seq_len, r.batch): r.tpot for r in rows}
    return [by[(f"{n // 1024}K", b)] for n, b in CASES]


def test_decode_tpot_agrees_with_genz_within_ten_percent():
    theirs = genz_tpot()
    for config in ("binding", "flat", "unfused"):
        ours = fusemax_tpot(config)
        off = {case: (a, b) for case, a, b in zip(CASES, ours, theirs) if abs(a - b) > TOLERANCE * b}
        assert not off, f"{config}: fusemax vs GenZ TPOT (s) beyond {TOLERANCE:.0%}: {off}"
        print(config, [f"{a * 1e3:.2f} ms vs {b * 1e3:.2f} ms" for a, b in zip(ours, theirs)], file=sys.stderr)
