"""Evaluate AccelForge specs: run by a Python >= 3.12 interpreter that has ``accelforge`` installed.

fusemax (Python 3.11) cannot import AccelForge, so :mod:`fusemax.crosscheck.accelforge` runs this file as a
script in another interpreter. It must therefore import nothing from fusemax. Standard input is a JSON object
``{"jobs": {name: spec_yaml}}``; standard output is one JSON object ``{name: result}``, where a result is
``{"ok": true, "computes", "latency", "energy", "actions": [[component, tensor, action, count], ...],
"seconds"}`` or ``{"ok": false, "error": "..."}`` (one bad spec does not hide the others' results).
"""
from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

#: AccelForge's column separator in its result frame (``Einsum<SEP>action<SEP>component<SEP>tensor<SEP>action``)
SEP = "<SEP>"


def evaluate(spec_yaml: str) -> dict[str, Any]:
    """One spec (arch + workload + mapping YAML) through AccelForge's ``Spec.evaluate_mapping``."""
    import accelforge as af

    with tempfile.TemporaryDirectory(prefix="fusemax-accelforge-") as tmp:
        path = Path(tmp, "spec.yaml")
        path.write_text(spec_yaml)
        start = time.perf_counter()
        result = af.Spec.from_yaml(path).evaluate_mapping()
        seconds = time.perf_counter() - start
    row = result.data.iloc[0]
    actions = []
    for column, value in row.items():
        parts = str(column).split(SEP)
        # Per-action counts: ``<einsum>, action, <component>, <tensor or None>, <action>``.
        if len(parts) == 5 and parts[1] == "action":
            actions.append([parts[2], None if parts[3] == "None" else parts[3], parts[4], float(value)])
    return {"ok": True, "computes": float(result.n_computes()), "latency": float(row[f"Total{SEP}latency"]),
            "energy": float(row[f"Total{SEP}energy"]), "actions": actions, "seconds": seconds}


def main() -> int:
    request = json.load(sys.stdin)
    answers: dict[str, Any] = {}
    for name, spec_yaml in request["jobs"].items():
        # AccelForge prints progress; stdout carries only the JSON answer.
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                answers[name] = evaluate(spec_yaml)
            except Exception as exc:  # reported per job, with AccelForge's own message
                answers[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                                 "traceback": traceback.format_exc(limit=4)}
    json.dump(answers, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
