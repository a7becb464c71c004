"""search_texts prices accesses with the builtin estimator's ERT of the architecture, estimated once per
architecture text whatever the job's label, and the same ERT a fresh estimate gives."""
from __future__ import annotations

from fusemax import energy, yamlio
from fusemax.mapper import files as mapper_files
from fusemax.mapper.files import search_texts
from fusemax.memo import BoundedMemo
from fusemax.render import render
from fusemax.workload import Workload, get_model


def test_one_estimate_per_architecture_text_whatever_the_label(monkeypatch):
    calls = []
    real = energy.reference_tables

    def counting(arch):
        calls.append(1)
        return real(arch)
    monkeypatch.setattr(energy, "reference_tables", counting)
    monkeypatch.setattr(mapper_files, "_ERTS", BoundedMemo(4))
    qk = render("unfused", Workload(get_model("BERT"), 256)).einsums["QK"].files()
    av = render("unfused", Workload(get_model("BERT"), 256)).einsums["AV"].files()
    assert qk["arch.yaml"] == av["arch.yaml"]
    first = search_texts(qk, source="job 1")
    second = search_texts(av, source="job 2")   # another label, the same architecture: no new estimate
    assert len(calls) == 1
    monkeypatch.setattr(mapper_files, "_ERTS", BoundedMemo(4))
    again = search_texts(qk, source="job 3")    # a fresh estimate prices the same mapping the same
    assert len(calls) == 2 and again.stats.to_json() == first.stats.to_json()
    assert second.stats.energy_pj > 0
    assert real(yamlio.loads(qk["arch.yaml"]))[0] == mapper_files._ERTS[qk["arch.yaml"]]
