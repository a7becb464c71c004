"""Experiment energies priced on the builtin tables of arch/energy: independent of shared/, and equal to the
artifact's published end-to-end rows (its Accelergy runs of the FuseMax design with each platform's L3 and
register depth)."""
from __future__ import annotations

import csv

import pytest

from fusemax.experiments import end2end, sweep
from fusemax.workload import parse_seq_len


def _published(artifact, name):
    with open(artifact / "results" / name, newline="") as f:
        return list(csv.DictReader(f))


def test_attention_energy_needs_no_shared_folder(artifact, monkeypatch):
    want = next(float(r["energy"]) for r in _published(artifact, "attn-binding.csv")
                if r["model"] == "BERT" and r["seq_len"] == "1K")
    import fusemax.validate
    monkeypatch.setattr(fusemax.validate, "shared_dir", lambda: None)
    outcome = sweep.evaluate_point(sweep.Point("binding", "BERT", 1024))
    assert outcome.error is None
    assert outcome.result.energy == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("platform", end2end.PLATFORMS)
def test_end2end_energy_matches_every_published_row(artifact, platform):
    # FLAT's platform prices the FuseMax design with a 32 MiB L3 (4096-bit x 65536 rows) and 4 registers.
    pub = _published(artifact, f"end2end-{platform}.csv")
    models = sorted({r["model"] for r in pub})
    lengths = sorted({r["seq_len"] for r in pub}, key=parse_seq_len)
    ours = {(r.model, r.seq_len): r.energy
            for r in end2end.end2end_rows(platform, models, [parse_seq_len(s) for s in lengths])}
    for row in pub:
        assert ours[(row["model"], row["seq_len"])] == pytest.approx(float(row["energy"]), rel=1e-6), row
