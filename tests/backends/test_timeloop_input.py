"""The inputs written for plain Timeloop binaries (:mod:`fusemax.backends.timeloop_input`) against
timeloopfe's own processing: every ``fusemax`` case of ``shared/conformance`` stores the
``parsed-processed-input.yaml`` timeloopfe made of its ``spec.yaml``, which real timeloop-model v3.0.3 ran."""
from __future__ import annotations

import json

import pytest

from fusemax import yamlio
from fusemax.backends.timeloop_input import V3_HYPHENATED, detect_key_spelling, respell, timeloop_files
from fusemax.energy.tables import art_from_dict, ert_from_dict
from fusemax.engine import evaluate, spec_from_dict
from fusemax.errors import SpecError
from tests.shared_data import SHARED, shared_dir

CASES = sorted(p.name for p in (SHARED / "conformance" / "fusemax").iterdir() if p.is_dir()) \
    if SHARED is not None and (SHARED / "conformance" / "fusemax").is_dir() else ["<corpus missing>"]


def _underscored(data):
    """Key spelling aside: every hyphenated key in its underscore spelling."""
    if isinstance(data, dict):
        return {k.replace("-", "_"): _underscored(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_underscored(v) for v in data]
    return data


@pytest.mark.parametrize("case", CASES)
def test_written_input_equals_timeloopfe_processing(case):
    folder = shared_dir("conformance", "fusemax", case)
    written = timeloop_files({"spec.yaml": (folder / "spec.yaml").read_text()}, "v3.0.3", for_mapper=False,
                             source=case)
    ours = yamlio.loads(written["input.yaml"])
    want = yamlio.loads((folder / "parsed-processed-input.yaml").read_text())
    # What timeloop-model reads is all there, spelled as v3.0.3 reads it ...
    assert {"architecture", "problem", "mapping"} <= set(ours)
    assert "data-spaces" in ours["problem"]["shape"] and "data_spaces" not in ours["problem"]["shape"]
    # ... and equal to timeloopfe's (which also writes mapper/mapspace/globals bookkeeping the model ignores).
    for section, value in _underscored(ours).items():
        assert value == want[section], f"{case}: section {section}"
    # The engine reads the written input to the real tool's counts (the corpus's expected.json).
    spec = spec_from_dict(yamlio.loads(written["input.yaml"]), source=case)
    expected = json.loads((folder / "expected.json").read_text())
    got = evaluate(spec, ert_from_dict(yamlio.loads((folder / "ERT.yaml").read_text())),
                   art_from_dict(yamlio.loads((folder / "ART.yaml").read_text())))
    assert (got.computes, got.cycles) == (expected["computes"], expected["cycles"])


def test_current_spelling_keeps_underscores_and_v3_hyphenates_only_its_keys():
    doc = {"problem": {"shape": {"data_spaces": [{"name": "A", "read_write": True}]}},
           "mapper": {"num_threads": 2, "out_prefix": "x"}, "attributes": {"n_banks": 2}}
    assert respell(doc, "current") == doc
    v3 = respell(doc, "v3.0.3")
    assert v3["problem"]["shape"]["data-spaces"] == [{"name": "A", "read-write": True}]
    # v3.0.3 reads out_prefix and n_banks with underscores: those stay.
    assert v3["mapper"] == {"num-threads": 2, "out_prefix": "x"} and v3["attributes"] == {"n_banks": 2}
    assert "out_prefix" not in V3_HYPHENATED
    with pytest.raises(SpecError, match="unknown Timeloop key spelling"):
        respell(doc, "v9")


def test_spelling_is_detected_from_the_binary(tmp_path):
    old, new, other = tmp_path / "old", tmp_path / "new", tmp_path / "other"
    old.write_bytes(b"\x7fELF...lookup data-spaces ... read-write")
    new.write_bytes(b"\x7fELF...lookup data_spaces ... read_write")
    other.write_bytes(b"\x7fELF")
    assert (detect_key_spelling(str(old)), detect_key_spelling(str(new)), detect_key_spelling(str(other))) == \
        ("v3.0.3", "current", None)


def _stand_in_build(root, exe_strings: bytes, lib_strings: bytes):
    """A Timeloop build laid out like a source build: bin/timeloop-model and lib/libtimeloop-mapper.so, each
    holding the given strings (not real ELF files, so ldd finds no libraries: as without LD_LIBRARY_PATH)."""
    (root / "bin").mkdir(parents=True)
    (root / "lib").mkdir()
    exe = root / "bin" / "timeloop-model"
    exe.write_bytes(b"\x7fELF..." + exe_strings)
    exe.chmod(0o755)
    (root / "lib" / "libtimeloop-mapper.so").write_bytes(b"\x7fELF..." + lib_strings)
    return exe


def test_a_v3_build_is_detected_from_its_library_not_its_executables_debug_strings(tmp_path):
    # Timeloop v3.0.3 (issue 25): the executable's debug strings hold the member name data_spaces_, the
    # parser in libtimeloop-mapper.so looks up "data-spaces" and fails on "data_spaces".
    v3 = _stand_in_build(tmp_path / "v3", b"std::vector data_spaces_; ...", b'lookupValue("data-spaces") read-write')
    current = _stand_in_build(tmp_path / "now", b"std::vector data_spaces_; ...", b'lookup("data_spaces") read_write')
    assert detect_key_spelling(str(v3)) == "v3.0.3"
    assert detect_key_spelling(str(current)) == "current"


def test_render_for_timeloop_spells_the_keys_of_the_installed_v3_build(tmp_path, monkeypatch, capsys):
    from fusemax.cli import main
    exe = _stand_in_build(tmp_path / "timeloop", b"data_spaces_", b"data-spaces")
    monkeypatch.setenv("TIMELOOP_MODEL", str(exe))
    monkeypatch.delenv("TIMELOOP_KEYS", raising=False)
    args = ["render", "--config", "binding", "--model", "BERT", "--seq-len", "1K", "-o", str(tmp_path / "v04"),
            "--for-timeloop", str(tmp_path / "tl")]
    assert main(args) == 0
    assert "v3.0.3 keys, detected from" in capsys.readouterr().out
    assert "data-spaces:" in (tmp_path / "tl" / "qk" / "input.yaml").read_text()
    monkeypatch.setenv("TIMELOOP_KEYS", "current")  # the override the README gives
    assert main(args) == 0
    assert "current keys, TIMELOOP_KEYS" in capsys.readouterr().out
    assert "data_spaces:" in (tmp_path / "tl" / "qk" / "input.yaml").read_text()


def test_a_mapper_einsum_gets_an_input_to_rerun_the_found_mapping_in_timeloop_model(tmp_path):
    from fusemax.cli import main
    assert main(["render", "--config", "unfused", "--model", "BERT", "--seq-len", "1K", "-o", str(tmp_path / "v04"),
                 "--for-timeloop", str(tmp_path / "tl"), "--timeloop-keys", "v3.0.3"]) == 0
    qk = tmp_path / "tl" / "qk"
    mapper_input = yamlio.loads((qk / "input.yaml").read_text())
    rerun = yamlio.loads((qk / "model-input.yaml").read_text())
    # No mapper sections (v3.0.3's timeloop-model rejects its own mapper's mapping under the constraints) ...
    assert set(mapper_input) == {"architecture", "architecture_constraints", "problem", "mapper"}
    assert rerun == {"architecture": mapper_input["architecture"], "problem": mapper_input["problem"]}
    # ... and with a mapping beside it (the builtin mapper's best, in Timeloop's processed form as
    # timeloop-mapper writes it) it evaluates to that mapping's statistics.
    v04 = tmp_path / "v04" / "qk"
    assert main(["mapper", *map(str, sorted(v04.glob("*.yaml"))), "-o", str(tmp_path / "map")]) == 0
    spec = {f.name: f.read_text() for f in v04.glob("*.yaml") if f.name not in ("constraints.yaml", "mapper.yaml")}
    spec["mapping.yaml"] = (tmp_path / "map" / "timeloop-mapper.map.yaml").read_text()
    processed = yamlio.loads(timeloop_files(spec, "v3.0.3", for_mapper=False)["input.yaml"])
    (qk / "found-mapping.yaml").write_text(yamlio.dumps({"mapping": processed["mapping"]}))
    assert main(["model", str(qk / "model-input.yaml"), str(qk / "found-mapping.yaml"), "--ert", str(qk / "ERT.yaml"),
                 "--art", str(qk / "ART.yaml"), "-o", str(tmp_path / "rerun")]) == 0
    found = json.loads((tmp_path / "map" / "stats.json").read_text())
    rerun = json.loads((tmp_path / "rerun" / "stats.json").read_text())
    assert (rerun["cycles"], rerun["energy_pj"]) == (found["cycles"], found["energy_pj"])
    assert not (tmp_path / "tl" / "sd" / "model-input.yaml").exists()  # an Einsum with its mapping: no rerun


def test_without_tables_the_input_carries_fusemaxs_own_ert_and_art():
    folder = shared_dir("conformance", "fusemax", CASES[0])
    written = timeloop_files({"spec.yaml": (folder / "spec.yaml").read_text()}, "current", for_mapper=False)
    ert = yamlio.loads(written["ERT.yaml"])["ERT"]["tables"]
    levels = [c["name"] for c in yamlio.loads(written["input.yaml"])["architecture"]["subtree"][0]["local"]
              if c["class"] != "dummy_storage"]
    # every non-dummy level is priced, under the name Timeloop matches (system_top_level.<name>[1..N])
    assert sorted(t["name"].removeprefix("system_top_level.") for t in ert) == sorted(levels)


def test_a_mapper_input_keeps_the_constraints_on_the_processed_levels():
    folder = shared_dir("conformance", "fusemax", CASES[0])
    spec = yamlio.loads((folder / "spec.yaml").read_text())
    mapping = spec.pop("mapping")
    spec["constraints"] = {"targets": mapping}
    spec["mapper"] = {"version": 0.4, "num_threads": 2, "timeout": 50}
    written = timeloop_files({"spec.yaml": yamlio.dumps(spec)}, "v3.0.3", for_mapper=True)
    doc = yamlio.loads(written["input.yaml"])
    want = yamlio.loads((folder / "parsed-processed-input.yaml").read_text())
    assert "mapping" not in doc and doc["mapper"] == {"version": "0.4", "num-threads": 2, "timeout": 50}
    assert doc["architecture_constraints"]["targets"] == want["mapping"]


def test_a_spec_without_an_architecture_is_refused_with_the_key():
    with pytest.raises(SpecError, match="architecture.*nodes"):
        timeloop_files({"a.yaml": "architecture: {}\nproblem: {}\n"}, "current", for_mapper=False)


def test_accelergy_input_is_the_processed_architecture_with_inherited_attributes():
    from fusemax.energy.accelergy import accelergy_input
    folder = shared_dir("conformance", "fusemax", CASES[0])
    arch = accelergy_input(folder / "spec.yaml")["architecture"]
    assert arch == yamlio.loads((folder / "parsed-processed-input.yaml").read_text())["architecture"]
    assert all("global_cycle_seconds" in c["attributes"] for c in arch["subtree"][0]["local"])


def test_render_for_timeloop_writes_inputs_that_evaluate_like_the_rendered_specs(tmp_path):
    from fusemax.cli import main
    args = ["render", "--config", "binding", "--model", "BERT", "--seq-len", "1K", "-o", str(tmp_path / "v04"),
            "--for-timeloop", str(tmp_path / "tl"), "--timeloop-keys", "current"]
    assert main(args) == 0
    for folder in sorted((tmp_path / "v04").iterdir()):
        if not folder.is_dir():
            continue
        tl = tmp_path / "tl" / folder.name
        assert "data_spaces" in (tl / "input.yaml").read_text()
        assert main(["model", str(tl / "input.yaml"), "--ert", str(tl / "ERT.yaml"), "--art", str(tl / "ART.yaml"),
                     "-o", str(tmp_path / "a" / folder.name)]) == 0
        assert main(["model", *map(str, sorted(folder.glob("*.yaml"))), "-o", str(tmp_path / "b" / folder.name)]) == 0
        assert (json.loads((tmp_path / "a" / folder.name / "stats.json").read_text())
                == json.loads((tmp_path / "b" / folder.name / "stats.json").read_text())), folder.name
