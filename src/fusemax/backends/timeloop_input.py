"""Inputs that plain ``timeloop-model`` / ``timeloop-mapper`` accept, written without timeloopfe or Accelergy.

fusemax renders the user-facing Timeloop v0.4 format (``architecture: nodes:`` with
``!Container``/``!Component``/``!Parallel``, ``type: dataspace`` directives, factor and permutation lists).
The Timeloop binaries read only what timeloopfe makes of it, so :func:`processed_input` does the same
processing:

* the architecture becomes one ``subtree`` entry (``<first container>_top_level``) whose ``local`` list holds
  every component outer to inner as ``name[1..N]``, with timeloopfe's defaulted attributes, the container
  attributes each component inherits, ``meshX``/``meshY`` and ``required_actions``; a container with
  ``spatial`` becomes the dummy storage level ``inter_<name>_spatial`` right above its fan-out;
* mapping directives and mapper constraints name those levels (``PE_col`` -> ``inter_PE_col_spatial``),
  say ``type: bypass`` for ``dataspace``, spell factors ``B=64,E=1`` and permutations ``EMPHB``, and each
  dummy level gets a temporal directive of all-1 factors and a bypass of every data space (as timeloopfe
  adds them);
* the problem gets its defaults (``read_write: false``, ``coefficients: []``, ``densities: {}``).

:func:`respell` then writes the keys the way the binary reads them: Timeloop v3.0.3 looks up
``data-spaces``, ``read-write``, ``num-threads``, ... where current Timeloop looks up ``data_spaces``,
``read_write``, ``num_threads``. :func:`detect_key_spelling` tells the two builds apart by the strings in
the binary and its ``libtimeloop`` libraries (``data-spaces`` in any of them means v3.0.3).
:func:`timeloop_files` adds fusemax's own ERT and ART (:mod:`fusemax.energy.estimator`) unless the spec
brings them, so Timeloop never calls Accelergy and both mappers optimise the same energies.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, Mapping

from fusemax import archtree, yamlio
from fusemax.engine.spec import is_arithmetic, merge_texts
from fusemax.errors import SpecError
from fusemax.executables import which

#: Key spellings: the Timeloop release the corpus was made with, and Timeloop after the v4 input format.
SPELLINGS = ("v3.0.3", "current")
#: Keys that Timeloop v3.0.3 looks up with hyphens and current Timeloop (and timeloopfe) with underscores
#: (from both releases' configuration lookups), among those these inputs can contain.
V3_HYPHENATED = frozenset({
    "data_spaces", "read_write", "block_size", "cluster_size", "multiple_buffering", "min_utilization",
    "word_bits", "network_type", "network_word_bits", "num_threads", "optimization_metric",
    "optimization_metrics", "search_size", "victory_condition", "sync_interval", "log_interval", "log_stats",
    "log_suboptimal", "live_status", "filter_revisits", "max_permutations_per_if_visit", "emit_whoop_nest",
    "penalize_consecutive_bypass_fails"})

_STORAGE_DEFAULTS = {"has_power_gating": False, "n_banks": 2, "cluster_size": 1, "reduction_supported": True,
                     "multiple_buffering": 1, "min_utilization": 0, "allow_overbooking": False}
_COMPUTE_DEFAULTS = {"has_power_gating": False}
_DUMMY_ATTRIBUTES = {"width": 1, "depth": 1, "datawidth": 1, "technology": -1}
_TOP_DEFAULTS = {"has_power_gating": False, "power_gated_at": None}
_STORAGE_ACTIONS = ["update", "write", "read", "leak"]


# ---------------------------------------------------------------------------------------------------
# the processed input

def processed_input(spec: Mapping[str, Any], *, for_mapper: bool, source: str = "<spec>") -> dict[str, Any]:
    """timeloopfe's processed input of a merged v0.4 spec (underscore keys, as timeloopfe writes it).

    ``for_mapper``: keep the ``constraints`` (as ``architecture_constraints``) and the ``mapper`` settings
    instead of the ``mapping``. A spec already in the processed form (``architecture: subtree:``) is kept as
    it is. A malformed spec raises :class:`~fusemax.errors.SpecError` naming the key.
    """
    arch_data = spec.get("architecture")
    if isinstance(arch_data, dict) and "subtree" in arch_data and "nodes" not in arch_data:
        kept = ("architecture", "architecture_constraints", "problem") + (("mapper",) if for_mapper else ("mapping",))
        return {k: spec[k] for k in kept if k in spec}
    if not isinstance(arch_data, dict) or not isinstance(arch_data.get("nodes"), list):
        raise SpecError("expected 'architecture: nodes:' (the v0.4 user format) or the processed "
                        "'architecture: subtree:'", source=source, key="architecture")
    architecture, dummies, levels = _architecture(arch_data, source)
    problem = _problem(spec.get("problem"), source)
    ranks = [str(r) for r in problem["shape"]["dimensions"]]
    spaces = [str(ds["name"]) for ds in problem["shape"]["data_spaces"]]
    doc: dict[str, Any] = {"architecture": architecture}
    if for_mapper:
        constraints = spec.get("constraints") or {}
        targets = constraints.get("targets", []) if isinstance(constraints, dict) else constraints
        doc["architecture_constraints"] = {
            "targets": _directives(targets, dummies, levels, ranks, spaces, "constraints.targets", source)}
        doc["problem"] = problem
        mapper = spec.get("mapper") or {}
        if not isinstance(mapper, dict):
            raise SpecError("expected a mapping of mapper settings", source=source, key="mapper")
        doc["mapper"] = {"version": _version(mapper.get("version")), **{k: v for k, v in mapper.items()
                                                                       if k != "version"}}
    else:
        mapping = spec.get("mapping")
        if isinstance(mapping, dict):
            mapping = mapping.get("mapping")
        doc["architecture_constraints"] = {"targets": []}
        doc["problem"] = problem
        doc["mapping"] = _directives(mapping, dummies, levels, ranks, spaces, "mapping", source)
    return doc


def _version(value: Any) -> str:
    return str(value if value is not None else "0.4")


def processed_architecture(data: Mapping[str, Any], source: str = "<architecture>") -> dict[str, Any]:
    """timeloopfe's processed form (``subtree``/``local``) of a v0.4 ``architecture: nodes:`` section: what
    Timeloop and Accelergy read, every component with its instance range and inherited attributes."""
    if not isinstance(data, Mapping) or not isinstance(data.get("nodes"), list):
        raise SpecError("expected 'architecture: nodes:' (the v0.4 user format)", source=source, key="architecture")
    return _architecture(data, source)[0]


def _architecture(data: Mapping[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(processed architecture, container name -> its dummy level, level names outer to inner)."""
    version = _version(data.get("version"))
    top = archtree.top_container(data["nodes"], archtree.TIMELOOP)
    top_name = "system" if top is None else str(top.get("name", "system"))
    top_attrs = {} if top is None else dict(top.get("attributes") or {})
    top_attrs = {"version": version, **top_attrs, **{k: v for k, v in _TOP_DEFAULTS.items() if k not in top_attrs}}
    # Every level inherits the top level's attributes with their defaults (version aside), below those of the
    # containers around it; the top container's own attributes are already among those.
    top_inherited = {k: v for k, v in top_attrs.items() if k != "version"}
    local: list[dict[str, Any]] = []
    dummies: dict[str, str] = {}

    def entry(comp: archtree.Component, attrs: dict[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
        attributes = {**attrs, "meshX": comp.mesh_x, "meshY": comp.mesh_y}
        # Inherited attributes never override the level's own, its defaults or its mesh (as in timeloopfe).
        for key, value in {**top_inherited, **comp.inherited}.items():
            attributes.setdefault(key, value)
        return {"name": f"{comp.name}[1..{comp.instances}]", **own, "attributes": attributes}

    for comp in archtree.walk_nodes(data["nodes"], source, archtree.TIMELOOP):
        if comp.is_spatial_dummy:
            for axis, size in (("meshX", comp.fanout_x), ("meshY", comp.fanout_y)):
                if size is None or size < 1:
                    raise SpecError(f"expected a positive integer, got {size!r}", source=source,
                                    key=f"architecture.{comp.container}.spatial.{axis}")
            local.append({**entry(comp, {**_DUMMY_ATTRIBUTES, **_STORAGE_DEFAULTS}, {"class": "dummy_storage"}),
                          "enabled": True})
            dummies[str(comp.container)] = comp.name
            continue
        own = {"class": comp.declared_class, **({"subclass": comp.subclass} if comp.subclass else {})}
        compute = is_arithmetic(comp.declared_class)
        defaults = _COMPUTE_DEFAULTS if compute else _STORAGE_DEFAULTS
        attrs = {**comp.own_attributes, **{k: v for k, v in defaults.items() if k not in comp.own_attributes}}
        local.append({**entry(comp, attrs, own),
                      "required_actions": ["compute"] if compute else list(_STORAGE_ACTIONS), "enabled": True})
    if not local:
        raise SpecError("no components", source=source, key="architecture.nodes")
    levels = [archtree.split_range(c["name"])[0] for c in local]
    return ({"version": version, "subtree": [{"name": f"{top_name}_top_level", "attributes": top_attrs,
                                              "local": local}]}, dummies, levels)


def _problem(data: Any, source: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("shape"), dict):
        raise SpecError("missing required key 'problem.shape'", source=source, key="problem.shape")
    shape = dict(data["shape"])
    spaces = shape.pop("data_spaces", shape.pop("data-spaces", None))
    if not isinstance(spaces, list) or not spaces or not isinstance(shape.get("dimensions"), list):
        raise SpecError("expected 'dimensions' and a non-empty list of 'data_spaces'", source=source,
                        key="problem.shape")
    processed_spaces = []
    for i, ds in enumerate(spaces):
        if not isinstance(ds, dict) or "name" not in ds:
            raise SpecError("expected a data space with a name", source=source, key=f"problem.shape.data_spaces[{i}]")
        ds = dict(ds)
        ds["read_write"] = bool(ds.pop("read_write", ds.pop("read-write", False)))
        processed_spaces.append(ds)
    shape["data_spaces"] = processed_spaces
    shape.setdefault("coefficients", [])
    instance = data.get("instance")
    if not isinstance(instance, dict):
        raise SpecError("expected a mapping of rank -> size", source=source, key="problem.instance")
    return {"version": _version(data.get("version")), "shape": shape,
            "instance": {**instance, **({} if "densities" in instance else {"densities": {}})}}


def _directives(items: Any, dummies: Mapping[str, str], levels: list[str], ranks: list[str], spaces: list[str],
                key: str, source: str) -> list[dict[str, Any]]:
    """Directives (mapping or constraints) in Timeloop's spelling, with timeloopfe's dummy-level directives."""
    if items is None:
        items = []
    if not isinstance(items, list):
        raise SpecError("expected a list of directives", source=source, key=key)
    out = []
    for i, directive in enumerate(items):
        if not isinstance(directive, dict) or "target" not in directive:
            raise SpecError("expected a directive with a target", source=source, key=f"{key}[{i}]")
        d = dict(directive)
        d["target"] = dummies.get(str(d["target"]), str(d["target"]))
        if d.get("type") == "dataspace":
            d["type"] = "bypass"
        for listed in ("keep", "bypass"):
            if listed in d and not d[listed]:
                del d[listed]  # an empty list says nothing; timeloopfe drops it
        if "factors" in d:
            d["factors"] = _factor_string(d["factors"], f"{key}[{i}].factors", source)
        if isinstance(d.get("permutation"), list):
            perm = [str(r) for r in d["permutation"]]
            d["permutation"] = "".join(perm) if all(len(r) == 1 for r in perm) else " ".join(perm)
        out.append(d)
    order = {name: i for i, name in enumerate(levels)}
    for dummy in dummies.values():
        given = {d.get("type") for d in out if d["target"] == dummy}
        at = 1 + max((j for j, d in enumerate(out) if order.get(d["target"], len(levels)) <= order[dummy]),
                     default=-1)
        added: list[dict[str, Any]] = []
        if "temporal" not in given:
            added.append({"factors": ",".join(f"{r}=1" for r in ranks), "permutation": "".join(ranks),
                          "type": "temporal", "target": dummy})
        if not given & {"bypass", "dataspace", "datatype"}:
            added.append({"bypass": list(spaces), "type": "bypass", "target": dummy})
        out[at:at] = added
    return out


def _factor_string(value: Any, key: str, source: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ",".join(f"{r}={n}" for r, n in value.items())
    if isinstance(value, list):
        return ",".join(str(v).replace(" ", "") for v in value)
    raise SpecError(f"expected factors like [B=64, E=1], got {value!r}", source=source, key=key)


# ---------------------------------------------------------------------------------------------------
# key spelling

def respell(data: Any, spelling: str) -> Any:
    """``data`` with the keys spelled as the Timeloop release ``spelling`` (one of :data:`SPELLINGS`) reads them."""
    if spelling not in SPELLINGS:
        raise SpecError(f"unknown Timeloop key spelling {spelling!r}; use {', '.join(SPELLINGS)}")
    if spelling == "current":
        return data
    if isinstance(data, dict):
        return {(k.replace("_", "-") if k in V3_HYPHENATED else k): respell(v, spelling) for k, v in data.items()}
    if isinstance(data, list):
        return [respell(v, spelling) for v in data]
    return data


def detect_key_spelling(executable: str) -> str | None:
    """The key spelling the Timeloop build of ``executable`` reads: ``v3.0.3``, ``current``, or None when
    neither spelling is found.

    Every file of the build is read: the executable, the ``libtimeloop`` libraries ``ldd`` resolves, and
    those in the executable's folder and in ``../lib`` (where a source build keeps them, found even when
    ``LD_LIBRARY_PATH`` is unset). ``data-spaces`` in any of them decides v3.0.3: a v3.0.3 executable
    holds debug strings like ``data_spaces_`` (member names) while its parser, in
    ``libtimeloop-mapper.so``, looks up ``data-spaces``; so ``data_spaces`` alone means current Timeloop.
    """
    exe = Path(executable)
    candidates = [exe]
    folders = dict.fromkeys(f for e in (exe, exe.resolve()) for f in (e.parent, e.parent.parent / "lib"))
    ldd = which("ldd")
    try:
        linked = subprocess.run([ldd, executable], capture_output=True, text=True, timeout=30).stdout if ldd else ""
        candidates += [Path(p) for p in re.findall(r"=>\s*(\S*libtimeloop\S*)", linked)]
    except (OSError, subprocess.TimeoutExpired):
        pass  # not a dynamic executable, or no ldd: the files beside the executable still count
    for folder in folders:
        candidates += sorted(folder.glob("libtimeloop*"))
    underscores = False
    for path in dict.fromkeys(p.resolve() for p in candidates):
        try:
            blob = path.read_bytes()
        except OSError:
            continue
        if b"data-spaces" in blob:
            return "v3.0.3"
        underscores = underscores or b"data_spaces" in blob
    return "current" if underscores else None


# ---------------------------------------------------------------------------------------------------
# the files

#: Written beside a mapper's ``input.yaml``: the spec without constraints or mapper settings, for re-running
#: the mapper's best mapping in ``timeloop-model``. Not named ``timeloop-*.yaml`` (Timeloop v3.0.3 skips such
#: input files as its own outputs) and without ``architecture_constraints`` (v3.0.3 then rejects the mapping
#: its own mapper found, "mapping violates architecture constraints").
MODEL_RERUN_INPUT = "model-input.yaml"


def timeloop_files(files: Mapping[str, str], spelling: str, *, for_mapper: bool, rerun: bool = False,
                   source: str = "<spec>") -> dict[str, str]:
    """The files to hand a plain Timeloop binary: ``input.yaml`` (the processed spec in ``spelling``),
    ``ERT.yaml`` and ``ART.yaml`` (the spec's own, else fusemax's estimates), in command-line order.

    ``rerun`` (with ``for_mapper``) adds :data:`MODEL_RERUN_INPUT`, the architecture and problem alone:
    ``timeloop-model model-input.yaml <the found mapping, renamed> ERT.yaml ART.yaml`` evaluates the mapping
    ``timeloop-mapper`` wrote. It is not one of the mapper's inputs."""
    from fusemax.energy.estimator import estimate_art, estimate_ert
    spec = merge_texts({n: t for n, t in files.items() if n not in ("ERT.yaml", "ART.yaml")}, source)
    doc = respell(processed_input(spec, for_mapper=for_mapper, source=source), spelling)
    out = {"input.yaml": yamlio.dumps(doc)}
    arch = {"architecture": spec["architecture"]}
    out["ERT.yaml"] = files.get("ERT.yaml") or estimate_ert(arch, source=source).to_yaml()
    out["ART.yaml"] = files.get("ART.yaml") or estimate_art(arch, source=source).to_yaml()
    if for_mapper and rerun:
        out[MODEL_RERUN_INPUT] = yamlio.dumps({key: doc[key] for key in ("architecture", "problem")})
    return out
