"""Model names (issue 28): one canonical form per model, names refused at input when they would break a
CSV row, a spreadsheet, a terminal or a file name, and duplicate points refused rather than written twice.

Truth: the issue's cases (``A.B`` / ``A-B`` draw one figure, ``BERT,bert`` and ``1K,1024`` write rows
twice, a CR breaks the CSV, ``=HYPERLINK(..)`` lands in a cell, escapes reach the terminal, an inline model
giving ``D`` twice keeps the last) and the documented limit of 100 characters.
"""
from __future__ import annotations

import json

import pytest

from fusemax.cli import main

INLINE = "D=64,H=2,E=32,S=128"


def _run(tmp_path, capsys, *argv: str) -> tuple[int, str]:
    status = main(["run", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "--quiet",
                   "--configs", "binding", *argv])
    return status, capsys.readouterr().err


def _models_file(tmp_path, names: list[str]) -> str:
    path = tmp_path / "models.yaml"   # JSON strings are YAML double-quoted scalars: escapes survive
    path.write_text("models:\n" + "".join(f"  {json.dumps(name)}: {{D: 64, H: 2, E: 32, S: 128}}\n" for name in names))
    return str(path)


@pytest.mark.parametrize("first, second", [("A.B", "A-B"), ("A.B", "a_b"), ("Mine", "MINE")])
def test_names_folding_to_one_key_in_a_models_file_are_refused_naming_both(tmp_path, capsys, first, second):
    assert main(["models", "--models-file", _models_file(tmp_path, [first, second])]) == 2
    err = capsys.readouterr().err
    assert repr(first) in err and repr(second) in err and "models.yaml" in err


def test_a_models_file_name_folding_onto_a_zoo_name_is_refused(tmp_path, capsys):
    assert main(["models", "--models-file", _models_file(tmp_path, ["bert"])]) == 2
    err = capsys.readouterr().err
    assert "'bert'" in err and "'BERT'" in err
    # the zoo's own spelling still overrides the zoo's entry, as documented
    assert main(["models", "--models-file", _models_file(tmp_path, ["BERT"])]) == 0


@pytest.mark.parametrize("models, named", [
    ("BERT,bert", ("'BERT'", "'bert'")),                              # the same zoo model twice
    (f"A.B:{INLINE},A-B:{INLINE}", ("'A.B'", "'A-B'")),               # two inline models, one figure file
    (f"bert:{INLINE}", ("'bert'", "'BERT'")),                         # an inline model named like a zoo model
])
def test_models_of_one_run_with_one_canonical_name_are_refused(tmp_path, capsys, models, named):
    status, err = _run(tmp_path, capsys, "--models", models, "--seq-lens", "1K")
    assert status == 2 and err.startswith("fusemax run: error: --models: ")
    assert all(name in err for name in named)
    assert not (tmp_path / "out" / "results").exists()


def test_two_spellings_of_one_length_are_refused(tmp_path, capsys):
    status, err = _run(tmp_path, capsys, "--models", "BERT", "--seq-lens", "1K,1024")
    assert status == 2 and "--seq-lens: '1K' and '1024' are the same length (1024)" in err
    assert not (tmp_path / "out" / "results").exists()


@pytest.mark.parametrize("name, reason", [
    ("bad\rname", "control character"), ("bad\nname", "control character"), ("a\tb", "control character"),
    ("\x1b[31mred", "control character"), ("x" * 101, "101 characters; at most 100"),
    ("=HYPERLINK(\"http://x\")", "formula"), ("+cmd|' /C calc'!A0", "formula"), ("@SUM(A1)", "formula"),
    ("-2+3", "formula"), ("NA", "missing value"), ("null", "missing value"), ("None", "missing value"),
])
def test_names_that_would_break_a_row_a_spreadsheet_or_a_terminal_are_refused_at_input(tmp_path, capsys, name,
                                                                                          reason):
    status, err = _run(tmp_path, capsys, f"--models={name}:{INLINE}", "--seq-lens", "1K")
    assert status == 2 and reason in err
    assert "\x1b" not in err and "\r" not in err and err.count("\n") == 1   # one line, escapes shown as \x1b
    assert main(["models", "--models-file", _models_file(tmp_path, [name])]) == 2
    err = capsys.readouterr().err
    assert reason in err and "\x1b" not in err and err.count("\n") == 1


def test_a_name_of_the_longest_length_and_punctuation_inside_runs(tmp_path, capsys):
    long_name = "a=b-" + "x" * 96   # 100 characters; '=' and '-' only at the start are formulas
    status, _ = _run(tmp_path, capsys, "--models", f"{long_name}:{INLINE}", "--seq-lens", "1K")
    assert status == 0
    assert (tmp_path / "out" / "results" / "attn-binding.csv").read_text().splitlines()[1].startswith(long_name + ",")


def test_a_source_with_escape_sequences_is_printed_escaped(tmp_path, capsys):
    path = tmp_path / "models.yaml"
    path.write_text('models:\n  Mine: {D: 64, H: 2, E: 32, S: 128, source: "\\e[2Jwiped"}\n')
    assert main(["models", "--models-file", str(path), "--sources"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2Jwiped" in out


@pytest.mark.parametrize("spec, key", [(f"X:D=1,{INLINE}", "D"), (f"X:{INLINE},KV=2,KV_HEADS=2", "KV_HEADS")])
def test_an_inline_model_giving_a_key_twice_is_refused(tmp_path, capsys, spec, key):
    status, err = _run(tmp_path, capsys, "--models", spec, "--seq-lens", "1K")
    assert status == 2 and f"{key} is given twice" in err


def test_the_length_check_uses_the_runs_batch(tmp_path, capsys):
    # BERT (H=16, E=64) at 32M = 2^25: B H P M E = 2^6 2^4 2^50 2^6 = 2^66 > 2^63 - 1 at batch 64,
    # 2^60 at batch 1
    status, err = _run(tmp_path, capsys, "--models", "BERT", "--seq-lens", "32M", "--batch", "1", "--jobs", "1")
    assert status == 0, err
    status, err = _run(tmp_path, capsys, "--models", "BERT", "--seq-lens", "32M", "--batch", "64")
    assert status == 2 and "with batch 64" in err


def test_printable_escapes_only_what_a_terminal_would_act_on():
    from fusemax.names import printable
    assert printable("BERT-large $\\foo$ ü") == "BERT-large $\\foo$ ü"
    assert printable("a\x1b[2Jb\r\n\t") == "a\\x1b[2Jb\\r\\n\\t"
