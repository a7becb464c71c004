"""The model zoo, sequence lengths, phases and hardware parameters."""
from __future__ import annotations

import csv

import pytest

from fusemax.errors import SpecError, WorkloadError
from fusemax.render import render
from fusemax.render.flat_dataflow import (FlatDataflow, buffer_words, dataflow_table, flat_dataflow,
                                          spilled_proportion)
from fusemax.workload import (Hardware, Model, Workload, format_seq_len, get_model, load_models, parse_bytes,
                              parse_model_spec, parse_seq_len, resolve_model)

STUDY_MODELS = {  # the values: D, H, E, S
    "BERT-large": (1024, 16, 64, 4096), "OPT-66B": (9216, 72, 128, 36864),
    "Pythia-14M": (128, 4, 32, 512), "Llama-2-7B": (4096, 32, 128, 11008),
}


def test_paper_models_equal_flat_validation_csv(flat_validation_csv):
    rows = [r for r in csv.DictReader(flat_validation_csv.open()) if r["platform"] == "cloud"]
    assert {r["models"] for r in rows} == {"BERT", "TrXL", "T5", "XLM"}
    for row in rows:
        model = get_model(row["models"])
        assert (model.D, model.H, model.E, model.F, model.S) == tuple(int(row[k]) for k in "DHEFS")
        assert int(row["B"]) == Workload(model, parse_seq_len(row["seq_len"])).batch
        assert int(row["M"]) == int(row["P"]) == parse_seq_len(row["seq_len"])


def test_study_models_and_sources():
    for name, (D, H, E, S) in STUDY_MODELS.items():
        model = get_model(name)
        assert (model.D, model.H, model.E, model.F, model.S) == (D, H, E, E, S)
    assert all(model.source for model in load_models().values())


def test_flat_dataflow_table_equals_flat_validation_csv(flat_validation_csv):
    # Every cloud row of the paper's models is reproduced exactly by the compact table.
    for row in (r for r in csv.DictReader(flat_validation_csv.open()) if r["platform"] == "cloud"):
        got = flat_dataflow(int(row["E"]), parse_seq_len(row["seq_len"]))
        assert "nearest" not in got.source
        for tensor in ("Q", "K", "QK", "A", "V", "AV"):
            assert got.location(tensor) == row[f"{tensor}_loc"], (row["models"], row["seq_len"], tensor)
        assert (got.qk_stationarity, got.av_stationarity, got.fusion, got.p1) == (
            row["QK_stationarity"], row["AV_stationarity"], row["fusion_granularity"], int(row["P1"]))
    assert sorted(dataflow_table()) == [64, 128]


def test_flat_spill_rule_reproduces_every_published_proportion(flat_validation_csv):
    # FLAT's buffer count applied to the real workload and the cloud hardware, against the CSV bit for bit.
    rows = [r for r in csv.DictReader(flat_validation_csv.open()) if r["platform"] == "cloud"]
    spilling = 0
    for row in rows:
        params = render("flat", Workload(get_model(row["models"]), parse_seq_len(row["seq_len"]))).params
        assert 1 - params["proportion_spilled"] == float(row["proportion_buffered"]), (row["models"], row["seq_len"])
        assert params["proportion_spilled"] == float(row["proportion_spilled"]), (row["models"], row["seq_len"])
        spilling += params["proportion_spilled"] > 0
    assert len(rows) == 48 and spilling == 19  # E 64: 4K, 16K-128K; XLM: 4K, 16K-64K


def test_flat_buffer_count_by_hand():
    # BERT 64K, row blocks of 256 queries, QK/A and AV on chip: the 256 x 64K score block once, AV's 256 x 64
    # block twice, and double-buffered 256-row slabs of Q, K, V (64 wide) = 2^24 + 2^15 + 3 * 2^15 words.
    dataflow = flat_dataflow(64, 65536)
    assert buffer_words(dataflow, 256, 65536, 64, 64, 256) == 2**24 + 4 * 2**15
    assert spilled_proportion(dataflow, 256, 65536, 64, 64, 256, 2**24) == 1 - 128 / 129
    # Everything off chip: a 256 x 256 score tile and four slabs, double-buffered; nothing spills.
    off = FlatDataflow(frozenset(), "weight", "weight", "row", 1024)
    assert buffer_words(off, 1024, 2**20, 128, 128, 256) == 2 * 256 * 256 + 4 * 2 * 256 * 128
    assert spilled_proportion(off, 1024, 2**20, 128, 128, 256, 2**24) == 0


@pytest.mark.parametrize("text, value", [("512", 512), ("1K", 1024), ("4k", 4096), ("64K", 65536),
                                         ("256K", 262144), ("1M", 2**20), ("4096", 4096), (" 3000 ", 3000),
                                         (2048, 2048)])
def test_parse_seq_len(text, value):
    assert parse_seq_len(text) == value


@pytest.mark.parametrize("text", ["3Q", "", "1.5K", "-4", "0", "K", "4KB"])
def test_parse_seq_len_rejects(text):
    with pytest.raises(WorkloadError, match="bad sequence length"):
        parse_seq_len(text)


def test_format_seq_len_round_trips_the_artifact_spelling():
    for label in ("512", "1K", "2K", "4K", "16K", "64K", "256K", "512K", "1M"):
        assert format_seq_len(parse_seq_len(label)) == label
    assert format_seq_len(3000) == "3000" and format_seq_len(2**21) == "2M"


def test_phases_set_P_and_M():
    model = get_model("BERT")
    prefill, decode = Workload(model, 4096), Workload(model, 4096, phase="decode")
    assert (prefill.P, prefill.M, prefill.batch) == (4096, 4096, 64)
    assert (decode.P, decode.M) == (1, 4096)
    with pytest.raises(WorkloadError, match="unknown phase"):
        Workload(model, 4096, phase="train")


def test_unknown_model_lists_known_names():
    with pytest.raises(WorkloadError) as exc:
        get_model("GPT-2")
    assert "known models: BERT, TrXL, T5, XLM, BERT-large, OPT-66B, Pythia-14M, Llama-2-7B" in str(exc.value)
    assert get_model("bert-large").name == "BERT-large"


def test_inline_model_specs():
    model = parse_model_spec("mine:D=1024,H=16,E=64,S=4096,KV=4")
    assert (model.name, model.D, model.H, model.E, model.F, model.S, model.KV) == ("mine", 1024, 16, 64, 64, 4096, 4)
    assert resolve_model("T5").D == 512 and resolve_model("x:D=8,H=1,E=8,S=8").F == 8
    for bad in ("nocolon", "m:D=1,H=2", "m:D=1,H=2,E=3,S=x", "m:Q=1,D=1,H=2,E=3,S=4"):
        with pytest.raises(WorkloadError):
            parse_model_spec(bad)
    with pytest.raises(WorkloadError, match="kv_heads must be a positive divisor"):
        Model("x", D=8, H=6, E=8, F=8, S=8, kv_heads=4)


def test_user_models_file_extends_and_overrides(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("models:\n  BERT:\n    D: 1\n    H: 1\n    E: 1\n    S: 1\n  New:\n"
                    "    D: 64\n    H: 2\n    E: 32\n    F: 16\n    S: 128\n    source: mine\n")
    models = load_models(path)
    assert models["BERT"].D == 1 and models["New"].F == 16 and models["XLM"].E == 128
    with pytest.raises(WorkloadError, match="models file not found"):
        load_models(tmp_path / "absent.yaml")
    with pytest.raises(WorkloadError, match="models folder holds no config.json"):  # a folder: of config.json files
        load_models(tmp_path)
    path.write_text("models:\n  X:\n    D: 1\n    H: 1\n    E: 1\n    S: 1\n    heads: 3\n")
    with pytest.raises(WorkloadError, match="unknown field"):
        load_models(path)


def _many_models(n: int) -> str:
    return "models:\n" + "".join(f"  M{i}: {{D: {i + 1}, H: 12, E: 64, S: 3072}}\n" for i in range(n))


def test_a_models_file_with_many_models_loads_every_entry(tmp_path):
    # 30k models are ~1.3 MB, past the YAML memo's limit: the one-shot path of a big file.
    path = tmp_path / "many.yaml"
    path.write_text(_many_models(30_000))
    models = load_models(path)
    assert sum(name.startswith("M") and name[1:].isdigit() for name in models) == 30_000
    assert models["M0"].D == 1 and models["M29999"] == Model("M29999", D=30_000, H=12, E=64, F=64, S=3072)


def test_a_duplicate_model_name_in_a_big_file_is_refused_with_its_line(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(_many_models(30_000) + "  M17: {D: 1, H: 1, E: 1, S: 1}\n")
    with pytest.raises(SpecError, match=rf"{path}: line 30002: duplicate key 'M17'"):
        load_models(path)


def test_a_bad_entry_in_a_big_file_is_named(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(_many_models(30_000) + "  Last: {D: 0, H: 1, E: 1, S: 1}\n")
    with pytest.raises(WorkloadError, match=r"models\.Last: D must be a positive integer, got 0"):
        load_models(path)


def test_hardware_defaults_and_sizes():
    hw = Hardware()
    assert (hw.pe_dim, hw.pe_1d_count, hw.l3_bytes, hw.dram_bandwidth, hw.clock_hz, hw.word_bytes) == (
        256, 256, None, 400 * 2**30, 940e6, 2)
    assert Hardware(pe_1d=128).pe_1d_count == 128
    assert parse_bytes("16MiB") == parse_bytes("16M") == 16 * 2**20 and parse_bytes("512K") == 2**19
    with pytest.raises(WorkloadError):
        Hardware(pe_dim=0)
    with pytest.raises(WorkloadError):
        parse_bytes("lots")


def test_an_edited_models_file_is_read_again(tmp_path):
    # The zoo and user files are parsed once per version: an edit (new size/mtime) must be seen.
    path = tmp_path / "mine.yaml"
    path.write_text("models:\n  Mine: {D: 256, H: 4, E: 64, S: 1024}\n")
    assert get_model("Mine", path).D == 256
    path.write_text("models:\n  Mine: {D: 2048, H: 16, E: 128, S: 8192}\n")
    assert get_model("Mine", path).D == 2048


@pytest.mark.parametrize("length", [2**64, 2**88])
def test_lengths_beyond_the_64_bit_model_are_refused_before_any_work(length):
    from fusemax.errors import WorkloadError
    with pytest.raises(WorkloadError, match="--seq-len: .*beyond the 64-bit model"):
        Workload(get_model("BERT"), length)


def test_largest_length_of_the_64_bit_model_is_accepted():
    # BERT: B H E = 64 * 12 * 64, so P * M may reach 2**63 / 49152: lengths up to ~1.37e7 (13.1M)
    Workload(get_model("BERT"), 13 * 2**20)


@pytest.mark.parametrize("field, value", [("pe_dim", 2**32), ("l3_bytes", 2**64), ("clock_hz", float("inf")),
                                          ("clock_hz", float("nan")), ("dram_bandwidth", float("inf"))])
def test_hardware_beyond_the_model_is_refused(field, value):
    from fusemax.errors import WorkloadError
    from fusemax.workload import Hardware
    with pytest.raises(WorkloadError, match=f"--{field.replace('_', '-')}"):
        Hardware(**{field: value})
