"""``fusemax render`` and ``fusemax models``: folders written, and one clear error line with exit 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from fusemax import yamlio
from fusemax.cli import main

CASCADE = ["qk", "lm", "rm", "sln", "sld", "slnv", "prm", "spd", "spnv", "rd", "rnv", "av"]


def _einsum_folders(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.is_dir())


def test_render_binding_writes_twelve_einsum_folders(tmp_path, capsys):
    out = tmp_path / "bert-4k"
    assert main(["render", "--config", "binding", "--model", "BERT", "--seq-len", "4K", "-o", str(out)]) == 0
    assert _einsum_folders(out) == sorted(CASCADE)
    for name in CASCADE:
        assert sorted(p.name for p in (out / name).iterdir()) == ["arch.yaml", "mapping.yaml", "problem.yaml"]
        spec = {}
        for part in ("arch", "problem", "mapping"):
            spec.update(yamlio.load(out / name / f"{part}.yaml"))
        assert set(spec) == {"architecture", "problem", "mapping"}
        assert spec["architecture"]["nodes"][0].tag == "Container"
    summary = yamlio.load(out / "render.yaml")
    assert summary["params"]["p1"] == 16 and summary["einsums"]["QK"]["array"] == "2d"
    assert "wrote 12 Einsum folders" in capsys.readouterr().out


def test_render_flat_writes_qk_av_and_the_softmax_passes(tmp_path):
    out = tmp_path / "flat"
    assert main(["render", "--config", "flat", "--model", "XLM", "--seq-len", "64K", "-o", str(out)]) == 0
    assert _einsum_folders(out) == sorted(["qk", "av", "m", "sn", "sd", "a"])


def test_render_flat_outside_the_table_writes_the_dataflow_run_evaluates(tmp_path, capsys):
    from fusemax.experiments.sweep import Point, plan_point
    out = tmp_path / "llama"
    assert main(["render", "--config", "flat", "--model", "Llama-2-7B", "--seq-len", "4K", "--mask", "none",
                 "-o", str(out)]) == 0
    written = yamlio.load(out / "render.yaml")["params"]["flat_dataflow"]
    evaluated = plan_point(Point("flat", "Llama-2-7B", 4096, mask="none")).rendered.params["flat_dataflow"]
    assert written == evaluated and written["source"].startswith("searched")
    assert "FLAT dataflow: searched" in capsys.readouterr().out


def test_render_unfused_writes_mapper_inputs(tmp_path):
    out = tmp_path / "unfused"
    assert main(["render", "--config", "unfused", "--model", "T5", "--seq-len", "1K", "-o", str(out)]) == 0
    assert sorted(p.name for p in (out / "qk").iterdir()) == ["arch.yaml", "constraints.yaml", "mapper.yaml",
                                                              "problem.yaml"]


def test_render_accepts_inline_models_decode_and_hardware(tmp_path):
    out = tmp_path / "mine"
    assert main(["render", "--config", "cascade", "--model", "mine:D=1024,H=8,E=128,S=4096", "--seq-len", "8192",
                 "--phase", "decode", "--batch", "8", "--pe-dim", "128", "--l3-bytes", "8MiB", "-o", str(out)]) == 0
    summary = yamlio.load(out / "render.yaml")["params"]
    assert (summary["P"], summary["M"], summary["batch"], summary["l3_bytes"]) == (1, 8192, 8, 8 * 2**20)


def test_render_with_models_file(tmp_path):
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  Tiny:\n    D: 256\n    H: 4\n    E: 64\n    S: 1024\n")
    out = tmp_path / "tiny"
    assert main(["render", "--config", "binding", "--model", "Tiny", "--seq-len", "1K",
                 "--models-file", str(models), "-o", str(out)]) == 0
    assert len(_einsum_folders(out)) == 12


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("fusemax render: error: ")
    return lines[0]


@pytest.mark.parametrize("args, fragment", [
    (["--model", "GPT-5", "--seq-len", "4K"], "unknown model 'GPT-5'; known models: BERT, TrXL"),
    (["--model", "BERT", "--seq-len", "3Q"], "bad sequence length '3Q'"),
    (["--model", "BERT", "--seq-len", "4K", "--pe-dim", "0"], "pe_dim: bad value '0'"),
])
def test_bad_inputs_exit_2_with_one_line(args, fragment, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["render", "--config", "binding", *args, "-o", str(out)]) == 2
    assert fragment in _one_error_line(capsys)
    assert not out.exists()


def test_unwritable_output_folder_exits_2_naming_it(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "specs"
    assert main(["render", "--config", "binding", "--model", "BERT", "--seq-len", "4K", "-o", str(out)]) == 2
    line = _one_error_line(capsys)
    assert str(out) in line and "cannot write the rendered specs" in line


def test_models_prints_the_zoo(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["model", "D", "H", "E", "F", "S"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["OPT-66B"][:5] == ["9216", "72", "128", "128", "36864"]
    assert {"BERT", "TrXL", "T5", "XLM", "BERT-large", "OPT-66B", "Pythia-14M", "Llama-2-7B"} <= set(rows)


def test_models_with_file_and_inline_spec(tmp_path, capsys):
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  GQA-toy:\n    D: 512\n    H: 8\n    E: 64\n    S: 2048\n    kv_heads: 2\n")
    assert main(["models", "--models-file", str(models), "--add", "inline:D=64,H=2,E=32,S=256"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["GQA-toy"] == ["512", "8", "64", "64", "2048", "2"] and rows["inline"][0] == "64"


def test_models_bad_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  X:\n    D: 1\n    H: 2\n")
    assert main(["models", "--models-file", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "models.X: missing E, S" in err[0]
