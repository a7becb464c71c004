"""The hardware axis of a sweep: variants, labels, sweep-file and flag errors, one folder per variant.

Truth: QK compute time derived by hand (B*H*P*M*E MACs spread over every PE of the 2D array at the paper's
940 MHz cycle), and the default run's own files for the default hardware.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from fusemax.cli import main
from fusemax.errors import FusemaxError
from fusemax.orchestrator import load_sweep_file
from fusemax.orchestrator.hardware import hardware_variants
from fusemax.workload import Hardware

CYCLE = 1.0638297873e-9  # the artifact's 940 MHz cycle


def test_variants_are_the_cross_product_labelled_by_what_varies():
    variants = hardware_variants({"pe_dim": ["128", "256"], "l3_bytes": ["8MiB", "16MiB"], "clock_hz": ["1e9"]})
    assert [v.label for v in variants] == ["pe_dim=128_l3_bytes=8MiB", "pe_dim=128_l3_bytes=16MiB",
                                           "pe_dim=256_l3_bytes=8MiB", "pe_dim=256_l3_bytes=16MiB"]
    assert variants[1].hardware == Hardware(pe_dim=128, l3_bytes=16 * 2**20, clock_hz=1e9)
    assert hardware_variants({})[0].hardware == Hardware() and hardware_variants({})[0].label == ""


@pytest.mark.parametrize("values, key", [({"pe_dims": ["4"]}, "pe_dims"), ({"pe_dim": ["0"]}, "pe_dim"),
                                         ({"l3_bytes": ["lots"]}, "l3_bytes"), ({"pe_dim": []}, "pe_dim"),
                                         ({"pe_dim": ["1_000"]}, "pe_dim"), ({"pe_1d": ["１２８"]}, "pe_1d"),
                                         ({"clock_hz": ["1_000e6"]}, "clock_hz")])
def test_bad_hardware_values_name_the_parameter(values, key):
    with pytest.raises(FusemaxError) as err:
        hardware_variants(values, source="sweep.yaml")
    assert err.value.key == key and "sweep.yaml" in str(err.value)


def test_sweep_file_hardware_and_its_errors(tmp_path):
    good = tmp_path / "sweep.yaml"
    good.write_text("configs: [binding]\nhardware:\n  pe_dim: [128, 256]\n  l3_bytes: 8MiB\n")
    assert load_sweep_file(good).hardware == {"pe_dim": ("128", "256"), "l3_bytes": ("8MiB",)}
    bad = tmp_path / "bad.yaml"
    bad.write_text("hardware:\n  pe_dim: [128, many]\n")
    with pytest.raises(FusemaxError) as err:
        load_sweep_file(bad)
    assert str(bad) in str(err.value) and err.value.key == "pe_dim"


def test_run_writes_one_folder_per_variant(tmp_path, capsys):
    args = ["--configs", "binding", "--models", "BERT", "--seq-lens", "1K", "--quiet"]
    assert main(["run", "--out", str(tmp_path / "sweep"), "--pe-dim", "128,256", *args]) == 0
    assert main(["run", "--out", str(tmp_path / "default"), *args]) == 0
    small, paper = (tmp_path / "sweep" / f"pe_dim={n}" / "results" for n in (128, 256))
    assert json.loads((small / "run.json").read_text())["hardware"]["pe_dim"] == 128
    # the default hardware's folder equals a run without hardware flags
    assert (paper / "attn-binding.csv").read_text() == (tmp_path / "default" / "results" / "attn-binding.csv").read_text()
    macs = 64 * 12 * 1024 * 1024 * 64   # B H P M E of BERT 1K
    for folder, pes in ((small, 128 * 128), (paper, 256 * 256)):
        einsums = pd.read_csv(folder / "einsums.csv")
        qk = einsums[einsums["einsum"] == "QK"].iloc[0]
        assert qk["comp_latency"] == pytest.approx(macs / pes * CYCLE, rel=1e-12)
    assert "hardware pe_dim=128:" in capsys.readouterr().out


@pytest.mark.parametrize("text, expected", [("400e9", 400e9), ("400GB", 400e9), ("400 GB/s", 400e9),
                                            ("400GiB", 400 * 2**30), ("1.6TB/s", 1.6e12), ("429496729600", 400 * 2**30)])
def test_bandwidth_units_mean_what_they_say(text, expected):
    from fusemax.workload import parse_bandwidth
    assert parse_bandwidth(text) == pytest.approx(expected, rel=1e-15)
    [variant] = hardware_variants({"dram_bandwidth": [text]})
    assert variant.hardware.dram_bandwidth == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("text", ["400G", "fast", "inf", "-1GB", "0", "nan"])
def test_bad_bandwidths_are_one_clear_error(text):
    from fusemax.errors import FusemaxError
    with pytest.raises(FusemaxError, match="dram_bandwidth"):
        hardware_variants({"dram_bandwidth": [text]})
