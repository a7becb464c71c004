"""The command line's contract: verbs exist, failures are one line and exit 2."""
from __future__ import annotations

import subprocess
import sys

import pytest

from fusemax import __version__
from fusemax.cli import VERBS, main


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_every_design_verb_is_present():
    # design.md names these verbs; scripts depend on them existing.
    assert {"model", "render", "run", "report", "validate", "models", "animate"} <= set(VERBS)


def test_a_verb_loads_only_its_own_module():
    # `fusemax models` must not pay for matplotlib (reports, animate): run it in a fresh interpreter.
    code = ("import sys; from fusemax.cli import main; main(['models']); "
            "print('matplotlib' in sys.modules, 'fusemax.animate' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_help_lists_every_verb(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(verb in out for verb in VERBS)


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "fusemax", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "render" in out.stdout


@pytest.mark.parametrize("argv, message", [
    (["--configs", "", "--models", "BERT", "--seq-lens", "1K"], "--configs: empty list"),
    (["--configs", ",,", "--models", "BERT", "--seq-lens", "1K"], "--configs: empty list"),
    (["--configs", "binding", "--models", "BERT", "--seq-lens", "1K", "--clock-hz", "inf"],
     "clock_hz: bad frequency 'inf'; use Hz (940e6) or kHz/MHz/GHz (940MHz)"),
    (["--configs", "binding", "--models", "BERT", "--seq-lens", "1K", "--clock-hz", "nan"], "clock_hz: bad frequency 'nan'"),
    (["--configs", "binding", "--models", "BERT", "--seq-lens", str(2**88)], "--seq-lens: "),
])
def test_run_refuses_bad_values_before_any_work(argv, message, tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "out"), "--quiet", *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "runs").exists()


@pytest.mark.parametrize("text, message", [("", "the sweep file sets nothing"), ("# only a comment\n", "sets nothing"),
                                           ("configs: [flot]\nmodels: [BERT]\nseq_lens: [1K]\n", "sweep.yaml: configs: unknown")])
def test_sweep_file_errors_name_the_file_and_key(text, message, tmp_path, capsys):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(text)
    assert main(["run", "--out", str(tmp_path / "out"), "--sweep", str(sweep), "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_run_checks_the_results_folder_before_planning(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results").write_text("a file\n")
    argv = ["run", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "--quiet",
            "--configs", "binding", "--models", "BERT", "--seq-lens", "1K"]
    assert main(argv) == 2
    assert f"{tmp_path / 'out' / 'results'}: a file is in the way" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").glob("??/*.json"))


def test_models_prints_one_aligned_row_per_model(tmp_path, capsys):
    from fusemax.workload import load_models
    path = tmp_path / "mine.yaml"
    path.write_text("models:\n  Tiny: {D: 8, H: 2, E: 4, S: 16, source: me}\n"
                    "  Wide-model: {D: 65536, H: 4, E: 4, S: 1, kv_heads: 2}\n")
    assert main(["models", "--models-file", str(path), "--sources"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert len(rows) == len(load_models(path))
    wide = next(row for row in rows if row.startswith("Wide-model "))
    assert wide.split() == ["Wide-model", "65536", "4", "4", "4", "1", "2"]  # no source: no trailing blanks
    assert wide == wide.rstrip()
    assert wide.index("65536") + len("65536") == header.index(" D ") + 2  # numbers end under their title
    tiny = next(row for row in rows if row.startswith("Tiny "))
    assert tiny.endswith("  me") and tiny.index("me") == header.index("source")


def test_report_on_a_missing_folder_says_so(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_a_layer_runs_summary_says_it_covers_attention_alone(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path), "--configs", "binding,flat", "--models", "Pythia-14M", "--seq-lens",
                 "256", "--batch", "1", "--layer", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "attention alone (the whole layer: layer.csv)" in out


def test_the_configurations_help_says_binding_is_fusemax(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "binding is FuseMax" in " ".join(capsys.readouterr().out.split())
