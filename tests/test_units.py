"""Units of the hardware flags (issue 28): capacities JEDEC binary, bandwidths decimal unless written
KiB..TiB, clocks in Hz..GHz; absurd values refused; folder labels that show the value used and never hold
``/``; the value used printed and recorded in run.json.

Truth: the issue's numbers (16MB = 16,777,216 B as a capacity; 400GB = 4.0e11 and 400GiB = 429,496,729,600
B/s; 940MHz = 9.4e8 Hz) and hand arithmetic for the rest.
"""
from __future__ import annotations

import json

import pytest

from fusemax.cli import main
from fusemax.errors import FusemaxError
from fusemax.orchestrator.hardware import hardware_variants
from fusemax.units import parse_bandwidth, parse_bytes, parse_frequency

ARGS = ["--configs", "binding", "--models", "BERT", "--seq-lens", "1K", "--quiet", "--jobs", "1"]


@pytest.mark.parametrize("text, expected", [("16MB", 16 * 2**20), ("16MiB", 16 * 2**20), ("16M", 16 * 2**20),
                                            ("512KB", 512 * 1024), ("1GB", 2**30), ("1024GiB", 2**40), ("4096", 4096),
                                            ("64B", 64)])
def test_capacities_are_binary(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text, expected", [("400GB", 4.0e11), ("400GB/s", 4.0e11), ("400GBps", 4.0e11),
                                            ("400GiB", 429_496_729_600), ("400GiB/s", 429_496_729_600),
                                            ("16MB", 16e6), ("16MiB", 16 * 2**20), ("1.6TB/s", 1.6e12),
                                            ("2kB", 2000), ("400e9", 4e11)])
def test_bandwidths_are_decimal_unless_written_binary(text, expected):
    assert parse_bandwidth(text) == expected


@pytest.mark.parametrize("text, expected", [("940MHz", 9.4e8), ("940e6", 9.4e8), ("940000000", 9.4e8),
                                            ("1GHz", 1e9), ("0.94 GHz", 9.4e8), ("500kHz", 5e5), ("2Hz", 2)])
def test_clocks_take_hz_to_ghz(text, expected):
    assert parse_frequency(text) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("flag, value, accepted", [
    ("--dram-bandwidth", "1e-300", "at least 1 B/s"), ("--dram-bandwidth", "0.5", "at least 1 B/s"),
    ("--dram-bandwidth", "1e400", "400GiB"), ("--clock-hz", "0.5", "at least 1 Hz"),
    ("--clock-hz", "940mhz", "kHz/MHz/GHz"), ("--l3-bytes", "16 megabytes", "K/M/G"), ("--l3-bytes", "1TiB", "K/M/G"),
])
def test_absurd_or_unknown_values_are_refused_listing_the_accepted_forms(tmp_path, capsys, flag, value, accepted):
    assert main(["run", "--out", str(tmp_path / "out"), flag, value, *ARGS]) == 2
    err = capsys.readouterr().err
    assert flag.lstrip("-").replace("-", "_") in err and repr(value) in err and accepted in err
    assert not (tmp_path / "out" / "results").exists()


def test_labels_spell_the_value_used_without_a_slash(tmp_path):
    variants = hardware_variants({"dram_bandwidth": ["400GB/s", "800GB/s", "400GiB"],
                                  "l3_bytes": ["16MB", "8M"], "clock_hz": ["940MHz", "1e9"]})
    labels = [v.label for v in variants]
    assert labels[0] == "dram_bandwidth=400GBps_l3_bytes=16MiB_clock_hz=940MHz"
    assert {label.split("_l3")[0] for label in labels} == {"dram_bandwidth=400GBps", "dram_bandwidth=800GBps",
                                                           "dram_bandwidth=400GiBps"}
    assert "clock_hz=1GHz" in labels[1] and "l3_bytes=8MiB" in labels[2]
    assert not any("/" in label for label in labels)


@pytest.mark.parametrize("name, values", [("l3_bytes", ["8M", "8MiB"]), ("dram_bandwidth", ["400GB", "4e11"]),
                                          ("clock_hz", ["1GHz", "1e9"])])
def test_two_spellings_of_one_value_are_refused(name, values):
    with pytest.raises(FusemaxError, match="are the same value"):
        hardware_variants({name: values})


def test_the_hardware_used_is_printed_and_recorded(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "--l3-bytes", "16MB",
                 "--dram-bandwidth", "400GB/s", "--clock-hz", "940MHz", *ARGS]) == 0
    out = capsys.readouterr().out
    assert "L3 16777216 B (16MiB), DRAM 4e+11 B/s (400GBps), clock 940000000 Hz (940MHz)" in out
    info = json.loads((tmp_path / "out" / "results" / "run.json").read_text())
    assert (info["hardware"]["l3_bytes"], info["hardware"]["dram_bandwidth"], info["hardware"]["clock_hz"]) == \
        (16 * 2**20, 4e11, 9.4e8)
    assert info["hardware_units"] == {"l3_bytes": "B", "dram_bandwidth": "B/s", "clock_hz": "Hz"}


def test_a_bandwidth_sweep_writes_one_folder_per_value(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"),
                 "--dram-bandwidth", "400GB/s,800GB/s", *ARGS]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name != "runs") == \
        ["dram_bandwidth=400GBps", "dram_bandwidth=800GBps"]
    assert (tmp_path / "out" / "dram_bandwidth=800GBps" / "results" / "attn-binding.csv").is_file()
