"""fusemax.results.load: paper, study, plain and hardware-sweep folders; ``tokens``; COLUMNS."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from fusemax import results
from fusemax.combine.metrics import EinsumMetrics
from fusemax.combine.schedule import ConfigResult
from fusemax.errors import FusemaxError
from fusemax.experiments.layer import LayerRow

SRC = Path(__file__).resolve().parents[2] / "src"


def _result(seq_len: str, config: str = "binding", model: str = "BERT", phase: str = "prefill") -> ConfigResult:
    e = EinsumMetrics("QK", "2d", computes=10, cycles=5, cost=1, read_bytes=4.0, write_bytes=2.0,
                      mem_latency=1e-9, comp_latency=1e-3, occupancy=1.0, flops=20.0, ops=26.0, energy_pj=3.5)
    return ConfigResult(config=config, model=model, seq_len=seq_len, phase=phase, traffic=6.0, latency=0.002,
                        energy=3.5, util_2d=0.5, util_1d=0.25, einsum_util={"QK": 0.5}, mem_latency=1e-9,
                        comp_latency=1e-3, comp_2d=1e-3, comp_1d=0.0, pe_util_2d=0.1, pe_util_1d=0.0, einsums=[e])


def _layer(seq_len: str, config: str = "binding", phase: str = "prefill") -> LayerRow:
    return LayerRow(config=config, model="BERT", seq_len=seq_len, phase=phase, batch=1, flops=2.0, ops=2.0,
                    traffic=1.0, latency=1.0, energy=1.0, attention_latency_share=0.5,
                    attention_flops_share=0.5, layer_fusion="none")


LENGTHS = ["64K", "512", "4K", "1K"]            # as text they sort 1K, 4K, 512, 64K
TOKENS = [512, 1024, 4096, 65536]             # 512, 1K = 1024, 4K, 64K = 65536 tokens


def test_tokens_is_an_integer_column_beside_seq_len_and_tables_sort_by_it(tmp_path):
    folder = results.write(tmp_path, [_result(n) for n in LENGTHS], {"engine": "test"})
    on_disk = {p.name: p.read_bytes() for p in folder.iterdir()}
    loaded = results.load(tmp_path)
    for frame in (loaded["binding"], loaded.einsums):
        assert frame["tokens"].dtype.kind == "i"
        assert frame["tokens"].tolist() == TOKENS
        assert frame["seq_len"].tolist() == ["512", "1K", "4K", "64K"]
        assert list(frame.columns).index("tokens") == list(frame.columns).index("seq_len") + 1
    # the files keep their own columns: tokens exists only in what load returns
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == on_disk
    assert "tokens" not in (folder / "attn-binding.csv").read_text().splitlines()[0]


def test_sorting_keeps_models_and_configs_grouped_in_their_order(tmp_path):
    rows = [_result(n, config=c, model=m) for c in ("flat", "binding") for m in ("TrXL", "BERT")
            for n in ("4K", "1K")]
    results.write(tmp_path, rows, {})
    einsums = results.load(tmp_path).einsums
    assert list(zip(einsums.config, einsums.model, einsums.tokens)) == [
        ("flat", "TrXL", 1024), ("flat", "TrXL", 4096), ("flat", "BERT", 1024), ("flat", "BERT", 4096),
        ("binding", "TrXL", 1024), ("binding", "TrXL", 4096), ("binding", "BERT", 1024),
        ("binding", "BERT", 4096)]


def _write_study(out: Path) -> None:
    study = SimpleNamespace(results=[_result(n) for n in LENGTHS], layer=[_layer(n) for n in LENGTHS], model=[],
                            failed=[], jobs=1, model_left_out=[])
    results.write_study(out, study, {"note": "test"})


@pytest.mark.parametrize("where", ["study", "study/results"])
def test_a_study_folder_loads_with_tokens(tmp_path, where):
    _write_study(tmp_path)
    loaded = results.load(tmp_path / where)
    assert not loaded.attn
    for frame in (loaded.layer, loaded.einsums, loaded.roofline):
        assert frame["tokens"].tolist() == TOKENS and frame["tokens"].dtype.kind == "i"


def test_a_paper_folder_brings_its_study(tmp_path):
    results.write(tmp_path, [_result("1K")], {})
    _write_study(tmp_path)
    loaded = results.load(tmp_path)
    assert loaded["binding"]["tokens"].tolist() == [1024]
    assert loaded.study is not None and loaded.study.layer["tokens"].tolist() == TOKENS
    assert results.load(tmp_path / "results").study is None   # OUT/results has no study beside it


def test_a_missing_folder_is_named_as_missing(tmp_path):
    with pytest.raises(FusemaxError, match="no such folder") as info:
        results.load(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)


def test_a_folder_without_results_says_what_it_looked_for(tmp_path):
    with pytest.raises(FusemaxError, match=r"no attn-\*\.csv .*layer\.csv"):
        results.load(tmp_path)


def _run(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "fusemax", "run", "--quiet", "--jobs", "1", *args], check=True,
                   env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}, capture_output=True)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """A real hardware sweep: two PE-array sizes, whole layer, two lengths given longest first."""
    out = tmp_path_factory.mktemp("sweep")
    _run("--out", str(out), "--configs", "unfused,flat,cascade,arch,binding", "--models", "BERT", "--seq-lens", "4K,1K",
         "--pe-dim", "128,256", "--layer", "--cache", str(out / "cache"))
    return out


def test_a_hardware_sweep_comes_back_as_one_table_per_kind(sweep):
    assert sorted(p.name for p in sweep.iterdir() if "=" in p.name) == ["pe_dim=128", "pe_dim=256"]
    loaded = results.load(sweep)
    assert loaded.varied == ["pe_dim"]
    binding = loaded["binding"]
    assert list(binding.columns[:4]) == ["pe_dim", "model", "seq_len", "tokens"]
    assert list(zip(binding.pe_dim, binding.tokens)) == [(128, 1024), (128, 4096), (256, 1024), (256, 4096)]
    # each variant's rows are that variant's own file's rows
    for pe in (128, 256):
        own = results.load(sweep / f"pe_dim={pe}")["binding"]
        assert binding[binding.pe_dim == pe]["latency"].tolist() == own["latency"].tolist()
    # a smaller array is slower on the same work
    by = binding.set_index(["pe_dim", "tokens"])["latency"]
    assert by[(128, 4096)] > by[(256, 4096)]
    assert set(loaded.layer.pe_dim) == {128, 256} and set(loaded.einsums.pe_dim) == {128, 256}


def test_every_column_of_every_table_has_a_meaning_and_unit(sweep, tmp_path):
    _write_study(tmp_path)
    frames = [*results._frames(results.load(sweep)).values(),
              *results._frames(results.load(tmp_path / "study")).values()]
    columns = {c for f in frames for c in f.columns} | set(results.PARETO.columns)
    assert {"tokens", "pe_dim", "ttft", "group", "intensity"} <= columns
    missing = sorted(c for c in columns if c not in results.COLUMNS)
    assert missing == []
    for column, (meaning, unit) in results.COLUMNS.items():
        assert meaning and isinstance(unit, str), column


def test_the_readme_table_of_columns_is_columns():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| (.*) \| (.*) \|$", readme, flags=re.MULTILINE)
    assert {column: (meaning, unit) for column, meaning, unit in rows} == results.COLUMNS


def test_a_seq_len_that_is_no_length_is_one_error_naming_the_file_and_line(tmp_path):
    (tmp_path / "attn-binding.csv").write_text("model,seq_len,traffic,latency,energy\nBERT,1K,1,2,3\nBERT,long,1,2,3\n")
    with pytest.raises(FusemaxError, match=r"line 3, column seq_len: 'long' is not a length") as info:
        results.load(tmp_path)
    assert str(tmp_path / "attn-binding.csv") in str(info.value)
