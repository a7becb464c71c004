"""``fusemax mapper``: the files it writes, their round trip through ``fusemax model``, its errors."""
from __future__ import annotations

import json

from fusemax.cli import main
from fusemax.render import render, write_rendered
from fusemax.workload import Workload, get_model


def _rendered_qk(tmp_path, seq_len=1024):
    write_rendered(render("unfused", Workload(get_model("T5"), seq_len)), tmp_path / "spec")
    d = tmp_path / "spec" / "qk"
    return [str(d / f) for f in ("arch.yaml", "problem.yaml", "constraints.yaml", "mapper.yaml")]


def test_writes_mapping_and_stats_that_round_trip(tmp_path, capsys):
    files = _rendered_qk(tmp_path)
    assert main(["mapper", *files, "-o", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["mapper"]["exhaustive"] is True and stats["mapper"]["candidates_evaluated"] > 0
    assert "Level 0" in (out / "timeloop-mapper.stats.txt").read_text()
    # The written mapping, evaluated on its own, gives the statistics the mapper reported.
    assert main(["model", files[0], files[1], str(out / "timeloop-mapper.map.yaml"), "-o", str(tmp_path / "m")]) == 0
    model = json.loads((tmp_path / "m" / "stats.json").read_text())
    assert model["cycles"] == stats["cycles"]
    counts = ("reads_per_instance", "fills_per_instance", "updates_per_instance", "utilized_instances")
    for level, ls in stats["levels"].items():
        for name, d in ls["dataspaces"].items():
            assert {c: d[c] for c in counts} == {c: model["levels"][level]["dataspaces"][name][c] for c in counts}
    assert "exhaustive" in capsys.readouterr().out


def test_no_legal_mapping_exits_2_naming_the_level(tmp_path, capsys):
    files = _rendered_qk(tmp_path, 4096)
    tight = tmp_path / "tight.yaml"
    # Pin every QK loop inside L3 (B and H stay at DRAM): QK alone (4K x 4K words) fills the 32 MiB, Q and K do not fit beside it.
    tight.write_text("constraints:\n  targets:\n  - {target: L3, type: temporal, factors: [E=64, M=16, P=16]}\n"
                     "  - {target: L3, type: dataspace, keep: [Q, K, QK]}\n")
    assert main(["mapper", *files, str(tight), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "level L3 cannot fit" in err and err.count("\n") == 1


def test_unreadable_file_is_one_clear_error(tmp_path, capsys):
    assert main(["mapper", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "out")]) == 2
    assert "missing.yaml" in capsys.readouterr().err
