"""Compare engine statistics with a conformance-corpus ``expected.json`` (shared by tests and tools)."""
from __future__ import annotations

from typing import Any

COUNT_KEYS = ("utilized_capacity", "utilized_instances", "reads_per_instance", "fills_per_instance",
              "updates_per_instance", "temporal_reductions_per_instance", "partition_size",
              "utilized_clusters", "address_generations_per_cluster")
LEVEL_KEYS = ("cycles", "instances", "block_size", "size", "vector_access_energy_source")


def energy_close(got: float, want: float, terms: int = 1) -> bool:
    """0.01 % relative, or the rounding of ``terms`` printed 2-decimal values (+0.01 pJ) for small values."""
    return abs(got - want) <= max(1e-4 * abs(want), 0.005 * terms + 0.01)


def compare(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Differences between two ``Stats.to_json()`` dicts, as readable lines (empty when they agree)."""
    diffs: list[str] = []
    if got.get("valid") != want.get("valid"):
        return [f"valid: got {got.get('valid')} ({got.get('error')}), want {want.get('valid')} ({want.get('error')})"]
    if not want["valid"]:
        g, w = (got.get("error") or ""), (want.get("error") or "")
        w = w.removeprefix("ERROR: ")
        if g != w:
            diffs.append(f"error: got {g!r}, want {w!r}")
        return diffs
    for key in ("computes", "cycles"):
        if got[key] != want[key]:
            diffs.append(f"{key}: got {got[key]}, want {want[key]}")
    if abs(got["utilization"] - want["utilization"]) > 0.005 + 1e-9:
        diffs.append(f"utilization: got {got['utilization']}, want {want['utilization']}")
    nterms = 1 + sum(len(lv["dataspaces"]) for lv in want["levels"].values())
    if not energy_close(got["energy_pj"], want["energy_pj"], nterms):
        diffs.append(f"energy_pj: got {got['energy_pj']}, want {want['energy_pj']}")
    if list(got["levels"]) != list(want["levels"]):
        diffs.append(f"levels: got {list(got['levels'])}, want {list(want['levels'])}")
    for name, wl in want["levels"].items():
        gl = got["levels"].get(name)
        if gl is None:
            continue
        for key in LEVEL_KEYS:
            if gl[key] != wl[key]:
                diffs.append(f"{name}.{key}: got {gl[key]}, want {wl[key]}")
        if abs(gl["bandwidth_throttling"] - wl["bandwidth_throttling"]) > 0.005 + 1e-9:
            diffs.append(f"{name}.bandwidth_throttling: got {gl['bandwidth_throttling']}, want {wl['bandwidth_throttling']}")
        if not energy_close(gl["energy_pj"], wl["energy_pj"], max(1, len(wl["dataspaces"]))):
            diffs.append(f"{name}.energy_pj: got {gl['energy_pj']}, want {wl['energy_pj']}")
        if list(gl["dataspaces"]) != list(wl["dataspaces"]) and set(gl["dataspaces"]) != set(wl["dataspaces"]):
            diffs.append(f"{name}.dataspaces: got {list(gl['dataspaces'])}, want {list(wl['dataspaces'])}")
        for ds, wd in wl["dataspaces"].items():
            gd = gl["dataspaces"].get(ds)
            if gd is None:
                continue
            for key in COUNT_KEYS:
                if gd[key] != wd[key]:
                    diffs.append(f"{name}.{ds}.{key}: got {gd[key]}, want {wd[key]}")
            if not energy_close(gd["energy_pj"], wd["energy_pj"]):
                diffs.append(f"{name}.{ds}.energy_pj: got {gd['energy_pj']}, want {wd['energy_pj']}")
    for name, wa in want["arithmetic"].items():
        ga = got["arithmetic"].get(name)
        if ga is None:
            diffs.append(f"arithmetic {name} missing")
            continue
        for key in ("instances", "utilized_instances", "computes", "cycles"):
            if ga[key] != wa[key]:
                diffs.append(f"{name}.{key}: got {ga[key]}, want {wa[key]}")
        if not energy_close(ga["energy_pj"], wa["energy_pj"]):
            diffs.append(f"{name}.energy_pj: got {ga['energy_pj']}, want {wa['energy_pj']}")
    if set(got.get("networks", {})) != set(want.get("networks", {})):
        diffs.append(f"networks: got {sorted(got.get('networks', {}))}, want {sorted(want.get('networks', {}))}")
    return diffs
