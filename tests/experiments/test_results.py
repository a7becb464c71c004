"""results.write / results.load round trip and the validation comparison."""
from __future__ import annotations

import json
import re

import pytest

from fusemax import results, validate
from fusemax.combine.metrics import EinsumMetrics
from fusemax.combine.schedule import ConfigResult
from fusemax.errors import FusemaxError


def _result(config="binding", model="BERT", seq_len="1K", phase="prefill", latency=0.002):
    e = EinsumMetrics("QK", "2d", computes=10, cycles=5, cost=1, read_bytes=4.0, write_bytes=2.0,
                      mem_latency=1e-9, comp_latency=1e-3, occupancy=1.0, flops=20.0, ops=26.0, energy_pj=3.5)
    return ConfigResult(config=config, model=model, seq_len=seq_len, phase=phase, traffic=6.0,
                        latency=latency, energy=3.5, util_2d=0.5, util_1d=0.25,
                        einsum_util={"QK": 0.5}, mem_latency=1e-9, comp_latency=1e-3, comp_2d=1e-3,
                        comp_1d=0.0, pe_util_2d=10 / (65536 * latency * 940e6), pe_util_1d=0.0, einsums=[e])


def test_round_trip(tmp_path):
    rows = [_result(), _result(seq_len="4K", latency=0.125), _result(phase="decode"),
            _result(config="unfused")]
    rows[-1].einsum_util = {}
    folder = results.write(tmp_path, rows, {"engine": "test"})
    assert sorted(p.name for p in folder.iterdir()) == [
        "attn-binding-decode.csv", "attn-binding.csv", "attn-unfused.csv", "einsums.csv", "run.json"]
    header = (folder / "attn-binding.csv").read_text().splitlines()[0]
    assert header == "model,seq_len,traffic,latency,energy,util_2d,util_1d,QK,pe_util_2d,pe_util_1d"
    assert (folder / "attn-unfused.csv").read_text().splitlines()[0] == \
        "model,seq_len,traffic,latency,energy,util_2d,util_1d,pe_util_2d,pe_util_1d"
    loaded = results.load(tmp_path)
    assert set(loaded.keys()) == {"binding", "binding-decode", "unfused"}
    frame = loaded["attn-binding"]
    assert list(frame["seq_len"]) == ["1K", "4K"]
    assert frame["latency"].tolist() == [0.002, 0.125]   # full float precision survives
    assert loaded.einsums.loc[0, "einsum"] == "QK"
    assert loaded.einsums.loc[0, "traffic"] == 6.0
    assert loaded.run["engine"] == "test"
    assert "einsums.csv" in json.loads((folder / "run.json").read_text())["files"]


def test_load_reads_the_artifacts_trailing_comma(tmp_path):
    (tmp_path / "attn-unfused.csv").write_text(
        "model,seq_len,traffic,latency,energy,util_2d,util_1d,\nBERT,1K,1,2,3,0.5,0.25\n")
    frame = results.read_paper(tmp_path)["unfused"]
    assert tuple(frame.columns) == results.ATTN.columns
    assert frame.loc[0, "model"] == "BERT" and frame.loc[0, "latency"] == 2


def test_load_without_results_is_one_clear_error(tmp_path):
    with pytest.raises(FusemaxError, match="no attn-\\*.csv"):
        results.load(tmp_path)


def test_compare_reports_worst_row(tmp_path):
    ours = tmp_path / "ours"
    pub = tmp_path / "pub"
    pub.mkdir()
    results.write(ours, [_result(), _result(seq_len="4K", latency=0.125)])
    frame = results.attn_frame([_result(), _result(seq_len="4K", latency=0.1)])
    frame.to_csv(pub / "attn-binding.csv", index=False)
    checks = {c.column: c for c in validate.compare(ours, pub)}
    assert checks["latency"].max_rel_error == pytest.approx(0.25)
    assert (checks["latency"].worst_model, checks["latency"].worst_seq_len) == ("BERT", "4K")
    assert not checks["latency"].ok and checks["traffic"].ok
    assert not validate.verdict(list(checks.values()))
    table = validate.format_table(list(checks.values()))
    assert "FAIL" in table and "BERT 4K" in table


def test_faster_than_published_is_said_with_the_margin(tmp_path):
    # Ours 0.09995 s against a published 0.1 s: within tolerance, and the table says ours is faster by 0.05 %.
    ours, pub = tmp_path / "ours", tmp_path / "pub"
    pub.mkdir()
    results.write(ours, [_result(latency=0.09995)])
    # the artifact publishes no PE utilizations
    published = results.attn_frame([_result(latency=0.1)]).drop(columns=list(results.PE_UTIL_COLUMNS))
    published.to_csv(pub / "attn-binding.csv", index=False)
    checks = validate.compare(ours, pub)
    assert validate.verdict(checks)
    line = next(ln for ln in validate.format_table(checks).splitlines() if " latency " in ln)
    assert line.endswith("ok, ours faster by 0.05 %")


def test_compare_without_common_rows(tmp_path):
    pub = tmp_path / "pub"
    pub.mkdir()
    results.write(tmp_path / "ours", [_result(model="Pythia-14M")])
    results.attn_frame([_result()]).to_csv(pub / "attn-binding.csv", index=False)
    with pytest.raises(FusemaxError, match="no rows in common"):
        validate.compare(tmp_path / "ours", pub)


def test_a_decode_run_keeps_the_prefill_rows_of_the_same_folder(tmp_path):
    results.write(tmp_path, [_result(), _result(seq_len="4K")], {"phase": "prefill", "engine": "first"})
    results.write(tmp_path, [_result(phase="decode")], {"phase": "decode", "engine": "second"})
    loaded = results.load(tmp_path)
    assert set(loaded.keys()) == {"binding", "binding-decode"}
    assert sorted(zip(loaded.einsums["phase"], loaded.einsums["seq_len"])) == [
        ("decode", "1K"), ("prefill", "1K"), ("prefill", "4K")]
    assert loaded.run["engine"] == "second" and loaded.run["earlier_phases"]["prefill"]["engine"] == "first"
    # a new prefill run replaces the prefill rows (only 1K now) and still keeps decode
    results.write(tmp_path, [_result(latency=0.5)], {"phase": "prefill", "engine": "third"})
    loaded = results.load(tmp_path)
    assert sorted(zip(loaded.einsums["phase"], loaded.einsums["seq_len"])) == [("decode", "1K"), ("prefill", "1K")]
    assert loaded["binding"]["latency"].tolist() == [0.5]
    earlier = loaded.run["earlier_phases"]
    assert list(earlier) == ["decode"] and earlier["decode"]["engine"] == "second"


def _damaged(tmp_path, name, text):
    folder = results.write(tmp_path, [_result(), _result(seq_len="4K")], {"engine": "test"})
    target = folder / name
    if text is None:
        target.unlink()
        target.mkdir()
    elif isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text(target.read_text()))
    return target


HEADER = "model,seq_len,traffic,latency,energy,util_2d,util_1d,QK"


@pytest.mark.parametrize("name, damage, reason", [
    ("attn-binding.csv", b"\xfe\x00garbage", "not UTF-8 text"),
    ("attn-binding.csv", lambda t: "", "empty file"),
    ("attn-binding.csv", lambda t: t.splitlines()[0] + "\n", "no rows"),
    ("attn-binding.csv", lambda t: "model,seq_len\nBERT,1K\n", "missing column(s) traffic, latency, energy"),
    ("attn-binding.csv", lambda t: t.replace("BERT,1K,6.0", "BERT,1K,abc"), "line 2, column traffic: expected a finite number, got 'abc'"),
    ("attn-binding.csv", lambda t: t.replace("BERT,1K,6.0", "BERT,1K,nan"), "line 2, column traffic"),
    ("attn-binding.csv", lambda t: t + t.splitlines()[-1] + "\n", "line 4 repeats model=BERT, seq_len=4K"),
    ("attn-binding.csv", lambda t: t.splitlines()[0] + "\n" + t.splitlines()[1] + ",1,2,3\n", "malformed CSV"),
    ("attn-binding.csv", None, "cannot read: Is a directory"),
    ("einsums.csv", lambda t: t[:150] + "\n", "missing column(s)"),
    ("einsums.csv", lambda t: t[:len(t) - 20] + "\n", "expected a finite number"),
    # cut inside the last row's last number: what is left still parses as a number
    ("einsums.csv", lambda t: t[:len(t) - 3], "truncated: the last line ends without a newline"),
    ("run.json", lambda t: t[:20], "cannot read: Expecting"),
    ("run.json", b"\xfe\xff", "cannot read: 'utf-8' codec"),
    ("run.json", lambda t: "[1, 2]", "expected a JSON object"),
])
def test_load_refuses_a_damaged_folder_with_one_error_naming_the_file(name, damage, reason, tmp_path):
    target = _damaged(tmp_path, name, damage)
    with pytest.raises(FusemaxError, match="^" + re.escape(f"{target}: ") + ".*" + re.escape(reason)):
        results.load(tmp_path)


def test_validate_fails_when_a_configuration_has_nothing_comparable(tmp_path):
    ours = results.write(tmp_path / "ours", [_result(seq_len="4K")], {})
    reference = results.write(tmp_path / "ref", [_result(seq_len="1K")], {})
    with pytest.raises(FusemaxError, match=re.escape(f"{ours}/attn-binding.csv: no rows in common")):
        validate.compare(tmp_path / "ours", reference)


# --- issue 26: one schema per table, the writer's and the reader's -------------------------------------------

@pytest.mark.parametrize("table, missing", [("pareto.csv", "area"), ("layer.csv", "attention_flops_share")])
def test_a_paper_folder_reads_pareto_and_layer_against_their_schema(tmp_path, table, missing):
    """pareto.csv and layer.csv were read as any CSV; a table missing a column of its schema is one error
    naming the file and the column, like every other table."""
    schema = {"pareto.csv": results.PARETO, "layer.csv": results.LAYER}[table]
    (tmp_path / "attn-binding.csv").write_text("model,seq_len,traffic,latency,energy\nBERT,1K,1,2,3\n")
    columns = [c for c in schema.columns if c != missing]
    (tmp_path / table).write_text(",".join(columns) + "\n")
    with pytest.raises(FusemaxError, match=f"missing column.*{missing}") as err:
        results.read_paper(tmp_path)
    assert table in str(err.value)


def test_a_row_that_is_not_its_tables_schema_is_refused():
    """A writer's row with a column renamed would have written an empty column under the schema's name."""
    row = dict.fromkeys(results.MODEL.columns, 1.0)
    assert list(results.MODEL.frame([row]).columns) == list(results.MODEL.columns)
    row["time_to_first_token"] = row.pop("ttft")
    with pytest.raises(ValueError, match="not the table's"):
        results.MODEL.frame([row])


def test_einsums_csv_reads_back_under_the_schema_it_was_written_with(tmp_path):
    """einsums.csv: written by einsum_frame and read by read_paper under the one EINSUMS schema."""
    folder = results.write(tmp_path, [_result()], {"engine": "test"})
    header = (folder / "einsums.csv").read_text().splitlines()[0].split(",")
    assert tuple(header) == results.EINSUMS.columns
    assert tuple(results.read_paper(tmp_path).einsums.columns) == results.EINSUMS.columns
