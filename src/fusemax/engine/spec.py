"""Load Timeloop v0.4 specifications into :mod:`fusemax.engine.model` objects.

Two architecture formats are accepted, like ``timeloop-model`` after timeloopfe:

* the user-facing ``architecture: nodes:`` list (``!Container``/``!Component``/``!Parallel``); a container
  with ``spatial: {meshX, meshY}`` becomes a dummy storage level ``inter_<name>_spatial`` exactly where
  timeloopfe inserts it, and multiplies the instances of everything below it;
* the processed ``architecture: subtree: / local:`` form that timeloopfe writes (``name[1..N]`` ranges).

The tree is walked by :mod:`fusemax.archtree` with its :data:`~fusemax.archtree.TIMELOOP` rules.

A spec may be split over several files (arch + problem + mapping); top-level keys are merged.
Every malformed input raises :class:`~fusemax.errors.SpecError` naming the file and the key.
"""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from pathlib import Path
from typing import Any

from fusemax import archtree, yamlio
from fusemax.archtree import Component, Source
from fusemax.engine.model import Architecture, ArithmeticLevel, DataSpace, LevelMapping, Loop, Mapping, Problem, Spec, StorageLevel
from fusemax.errors import SpecError
from fusemax.memo import BoundedMemo
from fusemax.stats import MAX_COUNT

_GLUED_FACTOR = re.compile(r"^(?P<rank>[A-Za-z_]+)(?P<num>\d+)$")   # Timeloop's own spelling: B64
_ARITHMETIC_HINTS = ("mac", "compute", "alu", "multiplier", "adder", "intmac", "fpmac")


#: The top-level keys a spec is built from; other keys (timeloopfe's ``variables``, ERTs, notes) are not
#: even constructed, so nothing hides in them (see :func:`fusemax.yamlio.loads`).
SPEC_KEYS = ("architecture", "problem", "mapping")


# ---------------------------------------------------------------------------------------------------
# entry points

def load_spec(*paths: str | Path) -> Spec:
    """Load and merge one or more YAML files (like timeloopfe does) into a :class:`Spec`."""
    if not paths:
        raise SpecError("no specification files given")
    return _merged_spec(((yamlio.load(path, keys=SPEC_KEYS), str(path)) for path in paths),
                        source=", ".join(str(p) for p in paths))


def spec_from_texts(texts: dict[str, str], source: str = "<spec>") -> Spec:
    """Merge YAML texts (file name -> content, e.g. ``RenderedEinsum.files()``) into a :class:`Spec`.

    A file that holds nothing but the architecture, or nothing but the problem, is parsed once per process:
    sweeps evaluate thousands of specs that share a few arch.yaml and problem.yaml texts. The parsed parts
    are shared between the specs built from them (nothing in fusemax changes a loaded spec).

    The texts' documents are yamlio's memoised ones, read without the copy :func:`fusemax.yamlio.loads`
    makes (a quarter of a job's parse): building a spec only reads them, and :func:`_merge` copies what
    it adds to."""
    remembered = {name: _PARTS.get(text) for name, text in texts.items()}
    parts = {part[0]: part[1] for part in remembered.values() if part is not None}
    if parts and len(parts) == sum(1 for part in remembered.values() if part is not None):
        merged = _merged((yamlio.loads_shared(text, source=f"{source}/{name}", keys=SPEC_KEYS), f"{source}/{name}")
                         for name, text in texts.items() if remembered[name] is None)
        if not parts.keys() & merged.keys():  # no other file adds to a remembered part
            return _spec(merged, source, parts)
    documents = [(yamlio.loads_shared(text, source=f"{source}/{name}", keys=SPEC_KEYS), f"{source}/{name}")
                 for name, text in texts.items()]
    spec = _merged_spec(documents, source=source)
    _remember(texts, [doc for doc, _ in documents], spec)
    return spec


#: text -> ("architecture" or "problem", its parsed part), for texts that hold that part alone (see
#: :func:`spec_from_texts`); emptied when full, as a sweep's texts change from configuration to configuration.
_PARTS: BoundedMemo[str, tuple[str, Architecture | Problem]] = BoundedMemo(4096)


def _remember(texts: AbcMapping[str, str], documents: list[Any], spec: Spec) -> None:
    """Remember the parts of ``spec`` that came whole from one of ``texts`` (parsed as ``documents``)."""
    owners = [set(doc) & set(SPEC_KEYS) if isinstance(doc, dict) else set() for doc in documents]
    for text, keys in zip(texts.values(), owners):
        if len(keys) != 1 or sum(1 for other in owners if keys <= other) != 1:
            continue
        (key,) = keys
        if key in ("architecture", "problem"):
            _PARTS.keep(text, (key, spec.architecture if key == "architecture" else spec.problem))


def merge_texts(texts: AbcMapping[str, str], source: str = "<spec>") -> dict[str, Any]:
    """The YAML texts (file name -> content) merged into one document, top-level keys as timeloopfe does."""
    return _merged(((yamlio.loads(text, source=f"{source}/{name}"), f"{source}/{name}")
                    for name, text in texts.items()))


def spec_from_documents(documents: Iterable[tuple[Any, str]], source: str = "<spec>") -> Spec:
    """Merge loaded YAML documents ``(data, where it came from)`` into a :class:`Spec`, as
    :func:`spec_from_texts` merges texts (for callers that already hold them loaded)."""
    return _merged_spec(documents, source)


def _merged_spec(documents: Iterable[tuple[Any, str]], source: str) -> Spec:
    return spec_from_dict(_merged(documents), source=source)


def _merged(documents: Iterable[tuple[Any, str]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for data, origin in documents:
        if data is None:
            continue
        if not isinstance(data, dict):
            raise SpecError("expected a YAML mapping at the top level", source=origin)
        _merge(merged, data)
    return merged


def spec_from_dict(data: dict, source: str = "<spec>") -> Spec:
    """Build a :class:`Spec` from already-loaded YAML (either architecture format)."""
    return _spec(data, source, {})


def _spec(data: Any, source: str, parts: dict[str, Architecture | Problem]) -> Spec:
    """:func:`spec_from_dict`, taking the architecture or problem from ``parts`` where it is already parsed."""
    if not isinstance(data, dict):
        raise SpecError("expected a YAML mapping at the top level", source=source)
    ctx = Source(source)
    arch_data = None if "architecture" in parts else ctx.need(data, "architecture", "architecture")
    problem = parts.get("problem") or _parse_problem(ctx, ctx.need(data, "problem", "problem"))
    arch = parts.get("architecture") or _parse_architecture(ctx, arch_data)
    assert isinstance(problem, Problem) and isinstance(arch, Architecture)
    mapping = _parse_mapping(ctx, ctx.need(data, "mapping", "mapping"), arch, problem)
    return Spec(architecture=arch, problem=problem, mapping=mapping, source=source)


def _merge(into: dict, new: dict) -> None:
    """Add ``new``'s keys to ``into`` (dicts under the same key merge), changing neither's values: those may
    be documents shared with yamlio's memo (:func:`fusemax.yamlio.loads_shared`), so a dict that is merged
    into is copied first (rare: the files of a spec usually hold different top-level keys)."""
    for key, value in new.items():
        old = into.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            into[key] = copy.copy(old)  # copy.copy keeps a TaggedNode's tag
            _merge(into[key], value)
        else:
            into[key] = value


# ---------------------------------------------------------------------------------------------------
# problem

def _parse_problem(ctx: Source, data: Any) -> Problem:
    shape = ctx.need(data, "shape", "problem.shape")
    ranks = ctx.need(shape, "dimensions", "problem.shape.dimensions")
    if isinstance(ranks, str):
        ranks = [r.strip() for r in ranks.replace(",", " ").split()]
    if not isinstance(ranks, list) or not ranks:
        raise ctx.error("problem.shape.dimensions", "expected a non-empty list of rank names")
    ranks = [str(r) for r in ranks]
    instance_data = ctx.need(data, "instance", "problem.instance")
    if not isinstance(instance_data, dict):
        raise ctx.error("problem.instance", "expected a mapping of rank -> size")
    instance = {}
    for r in ranks:
        if r not in instance_data:
            raise ctx.error(f"problem.instance.{r}", f"missing size of rank '{r}'")
        instance[r] = ctx.integer(instance_data[r], f"problem.instance.{r}")
        if instance[r] < 1:
            raise ctx.error(f"problem.instance.{r}", f"rank size must be >= 1, got {instance[r]}")
    if math.prod(instance.values()) > MAX_COUNT:
        raise ctx.error("problem.instance", f"{math.prod(instance.values()):.3g} operations are beyond Timeloop's "
                                            "64-bit counters (at most 2**63 - 1)")
    coefficients: dict[str, int] = {}
    for i, coef in enumerate(shape.get("coefficients") or []):
        key = f"problem.shape.coefficients[{i}]"
        name = ctx.need(coef, "name", key + ".name")
        coefficients[str(name)] = ctx.integer(coef.get("default", 1), key + ".default")
    for name in list(coefficients):
        if name in instance_data:
            coefficients[name] = ctx.integer(instance_data[name], f"problem.instance.{name}")
    spaces_data = shape.get("data_spaces", shape.get("data-spaces"))
    if not isinstance(spaces_data, list) or not spaces_data:
        raise ctx.error("problem.shape.data_spaces", "missing or empty list of data spaces")
    spaces = []
    for i, ds in enumerate(spaces_data):
        key = f"problem.shape.data_spaces[{i}]"
        name = str(ctx.need(ds, "name", key + ".name"))
        proj = ctx.need(ds, "projection", f"problem.shape.data_spaces.{name}.projection")
        projection = []
        for d, dim in enumerate(proj if isinstance(proj, list) else [proj]):
            dkey = f"problem.shape.data_spaces.{name}.projection[{d}]"
            terms = []
            for term in dim if isinstance(dim, list) else [[dim]]:
                if isinstance(term, str):
                    term = [term]
                if not isinstance(term, list) or not 1 <= len(term) <= 2:
                    raise ctx.error(dkey, f"a projection term must be [rank] or [rank, coefficient], got {term!r}")
                rank = str(term[0])
                if rank not in instance:
                    raise ctx.error(dkey, f"unknown rank '{rank}' (dimensions are {', '.join(ranks)})")
                coef = 1
                if len(term) == 2:
                    c = term[1]
                    if isinstance(c, str) and not c.strip().lstrip("-").isdigit():
                        if c in coefficients:
                            coef = coefficients[c]
                        elif c in instance_data:
                            coef = ctx.integer(instance_data[c], f"problem.instance.{c}")
                        else:
                            raise ctx.error(dkey, f"unknown coefficient '{c}'")
                    else:
                        coef = ctx.integer(c, dkey)
                terms.append((rank, coef))
            projection.append(terms)
        rw = ds.get("read_write", ds.get("read-write", False))
        spaces.append(DataSpace(name=name, projection=projection, read_write=bool(rw)))
    names = [s.name for s in spaces]
    if len(set(names)) != len(names):
        raise ctx.error("problem.shape.data_spaces", "duplicate data-space names")
    return Problem(name=str(shape.get("name", "problem")), ranks=ranks, instance=instance, data_spaces=spaces)


# ---------------------------------------------------------------------------------------------------
# architecture

def _attr(ctx: Source, attrs: dict, name: str, key: str, kind=int):
    value = attrs.get(name)
    if value is None:
        return None
    return ctx.integer(value, f"{key}.attributes.{name}") if kind is int else ctx.number(value, f"{key}.attributes.{name}")


def _storage_from_attrs(ctx: Source, name: str, cls: str, attrs: dict, key: str, *, instances: int,
                        mesh_x: int, mesh_y: int, dummy: bool) -> StorageLevel:
    width = _attr(ctx, attrs, "width", key)
    datawidth = _attr(ctx, attrs, "datawidth", key) or _attr(ctx, attrs, "word_bits", key)
    block = _attr(ctx, attrs, "block_size", key) or _attr(ctx, attrs, "block-size", key)
    if block is None:
        block = max(1, width // datawidth) if width and datawidth else 1
    depth = _attr(ctx, attrs, "depth", key)
    size = depth * block if depth is not None else _attr(ctx, attrs, "size", key)
    mb = _attr(ctx, attrs, "multiple_buffering", key, float) or 1.0
    return StorageLevel(
        name=name, cls=cls, instances=instances, mesh_x=mesh_x, mesh_y=mesh_y, depth=depth, block_size=block,
        word_bits=datawidth, size=size, multiple_buffering=mb,
        read_bandwidth=_attr(ctx, attrs, "read_bandwidth", key, float),
        write_bandwidth=_attr(ctx, attrs, "write_bandwidth", key, float),
        shared_bandwidth=_attr(ctx, attrs, "shared_bandwidth", key, float),
        is_dummy=dummy or cls == "dummy_storage")


def is_arithmetic(cls: str) -> bool:
    """Whether a component of class ``cls`` is the compute unit (Timeloop's arithmetic level)."""
    return any(h in cls.lower() for h in _ARITHMETIC_HINTS)


def _parse_architecture(ctx: Source, data: Any) -> Architecture:
    if not isinstance(data, dict):
        raise ctx.error("architecture", "expected a mapping")
    # Unlike Accelergy, timeloop-model reads no flattened `local:`-only architecture.
    if "nodes" in data:
        components = archtree.walk_nodes(data["nodes"], ctx.source, archtree.TIMELOOP)
    elif "subtree" in data:
        components = archtree.walk_subtree(data, ctx.source, archtree.TIMELOOP)
    else:
        raise ctx.error("architecture", "expected 'nodes:' (v0.4 user format) or 'subtree:' (processed format)")
    outer_first = [_level(ctx, comp) for comp in components]
    if not outer_first:
        raise ctx.error("architecture", "no components")
    last = outer_first[-1]
    if not isinstance(last, ArithmeticLevel):
        raise ctx.error("architecture", f"the innermost component '{last.name}' must be the compute unit (e.g. class intmac)")
    storage = [lv for lv in outer_first[:-1]]
    for lv in storage:
        if isinstance(lv, ArithmeticLevel):
            raise ctx.error("architecture", f"compute unit '{lv.name}' must be the innermost component")
    names = [lv.name for lv in outer_first]
    if len(set(names)) != len(names):
        raise ctx.error("architecture", "duplicate component names")
    return Architecture(storage=[lv for lv in reversed(storage) if isinstance(lv, StorageLevel)], arithmetic=last)


def _level(ctx: Source, comp: Component) -> StorageLevel | ArithmeticLevel:
    """The engine level of one flattened component (Timeloop reads only the component's own attributes)."""
    if comp.is_spatial_dummy:
        dummy = StorageLevel(name=comp.name, cls=comp.cls, instances=comp.instances, mesh_x=comp.mesh_x,
                             mesh_y=comp.mesh_y, depth=1, block_size=1, word_bits=1, size=1, is_dummy=True)
        dummy.fanout_x, dummy.fanout_y = comp.fanout_x, comp.fanout_y
        return dummy
    if is_arithmetic(comp.declared_class):
        return ArithmeticLevel(name=comp.name, cls=comp.declared_class, instances=comp.instances,
                               mesh_x=comp.mesh_x, mesh_y=comp.mesh_y)
    return _storage_from_attrs(ctx, comp.name, comp.declared_class, comp.own_attributes,
                               f"architecture.{comp.name}", instances=comp.instances, mesh_x=comp.mesh_x,
                               mesh_y=comp.mesh_y, dummy=False)


# ---------------------------------------------------------------------------------------------------
# mapping

def parse_factors(value: Any, key: str, source: str, problem: Problem) -> dict[str, int]:
    """``R=3 P=16``, ``[R=3, P=16]``, ``{R: 3, P: 16}`` or ``R3 P16`` (how ``timeloop-mapper`` writes its
    ``map.yaml``) -> ``{rank: factor}``; errors name ``source`` and ``key``."""
    ctx = Source(source)
    if value is None:
        return {}
    if isinstance(value, dict):
        items = [f"{k}={v}" for k, v in value.items()]
    elif isinstance(value, str):
        items = value.replace(",", " ").split()
    elif isinstance(value, list):
        items = [str(v) for v in value]
    else:
        raise ctx.error(key, f"expected factors like 'R=3 P=16' or [R=3, P=16], got {value!r}")
    out = {}
    for item in items:
        rank, sep, num = item.partition("=")
        rank = rank.strip()
        if not sep:
            glued = _GLUED_FACTOR.match(item)
            if not glued:
                raise ctx.error(key, f"malformed factor '{item}' (expected RANK=N or RANKN)")
            rank, num = glued["rank"], glued["num"]
        if rank not in problem.instance:
            raise ctx.error(key, f"unknown rank '{rank}' (dimensions are {', '.join(problem.ranks)})")
        try:
            n = int(num.strip())
        except ValueError:
            raise ctx.error(key, f"factor of rank '{rank}' must be an integer, got '{num.strip()}'") from None
        if n < 1:
            raise ctx.error(key, f"factor of rank '{rank}' must be >= 1, got {n}")
        out[rank] = n
    return out


def parse_permutation(value: Any, key: str, source: str, problem: Problem) -> list[str]:
    """``PR``, ``P R`` or ``[P, R]`` -> ranks innermost first, each once; errors name ``source`` and ``key``."""
    ctx = Source(source)
    if value is None:
        return []
    if isinstance(value, str):
        text = value.replace(",", " ").split()
        perm = text if len(text) > 1 else list(value.strip())
    elif isinstance(value, list):
        perm = [str(v) for v in value]
    else:
        raise ctx.error(key, f"expected a permutation like 'PR' or [P, R], got {value!r}")
    for r in perm:
        if r not in problem.instance:
            raise ctx.error(key, f"unknown rank '{r}' (dimensions are {', '.join(problem.ranks)})")
    if len(set(perm)) != len(perm):
        raise ctx.error(key, "a rank appears twice in the permutation")
    return perm


def _remembered(parse: Any, value: Any, key: str, source: str, problem: Problem) -> Any:
    """``parse(value, key, source, problem)`` (:func:`parse_factors` or :func:`parse_permutation`), a copy of
    the answer remembered per process: a sweep's mappings repeat the same few factor lists and permutations
    (``[B=1, H=1, M=1, P=1]``, ``[M, P, H, B]``) thousands of times. The answer depends on the value and the
    problem's ranks only (``key`` and ``source`` label an error, and errors are not remembered). A list is
    remembered by its items' texts, which is all both parsers read of them (so ``1`` and ``1.0`` stay apart)."""
    try:
        memo_key = (parse, type(value), tuple(str(v) for v in value) if type(value) is list else value,
                    tuple(problem.ranks))
        found = _PARSED.get(memo_key)
    except TypeError:  # an unhashable value (a mapping of factors): parsed each time
        return parse(value, key, source, problem)
    if found is None:
        found = _PARSED.keep(memo_key, parse(value, key, source, problem))
    return found.copy()


#: (parser, value, problem ranks) -> what :func:`_remembered` parsed (never handed out uncopied)
_PARSED: BoundedMemo[tuple, Any] = BoundedMemo(8192)


def _order(perm: list[str], problem: Problem) -> list[str]:
    """Ranks innermost first; ranks the permutation leaves out go innermost (they are usually 1)."""
    return [r for r in problem.ranks if r not in perm] + perm


def _parse_mapping(ctx: Source, data: Any, arch: Architecture, problem: Problem) -> Mapping:
    if isinstance(data, dict) and "mapping" in data:
        data = data["mapping"]
    if not isinstance(data, list):
        raise ctx.error("mapping", "expected a list of directives")
    names = {level.name: i for i, level in enumerate(arch.storage)}
    for i, level in enumerate(arch.storage):
        if level.is_dummy and level.name.startswith("inter_") and level.name.endswith("_spatial"):
            names.setdefault(level.name[len("inter_"):-len("_spatial")], i)
    n = len(arch.storage)
    temporal: list[dict[str, int] | None] = [None] * n
    t_perm: list[list[str]] = [[] for _ in range(n)]
    spatial: list[dict[str, int]] = [{} for _ in range(n)]
    s_perm: list[list[str]] = [[] for _ in range(n)]
    split: list[int | None] = [None] * n
    keep: list[set[str] | None] = [None] * n
    ds_names = {d.name for d in problem.data_spaces}
    for i, directive in enumerate(data):
        key = f"mapping[{i}]"
        target = str(ctx.need(directive, "target", key + ".target"))
        if target not in names:
            if target == arch.arithmetic.name:
                continue  # Timeloop ignores directives on the compute level
            raise ctx.error(key + ".target", f"unknown level '{target}' (levels are {', '.join(names)})")
        lv = names[target]
        kind = str(directive.get("type", "temporal"))
        key = f"mapping[{i}] ({target} {kind})"
        if kind == "temporal":
            temporal[lv] = _remembered(parse_factors, directive.get("factors"), key + ".factors", ctx.source, problem)
            t_perm[lv] = _remembered(parse_permutation, directive.get("permutation"), key + ".permutation", ctx.source, problem)
        elif kind == "spatial":
            spatial[lv] = _remembered(parse_factors, directive.get("factors"), key + ".factors", ctx.source, problem)
            s_perm[lv] = _remembered(parse_permutation, directive.get("permutation"), key + ".permutation", ctx.source, problem)
            if directive.get("split") is not None:
                split[lv] = ctx.integer(directive["split"], key + ".split")
        elif kind in ("dataspace", "bypass", "datatype"):
            earlier = keep[lv]
            kept = set(earlier) if earlier is not None else set(ds_names)
            for name in directive.get("keep") or []:
                if name not in ds_names:
                    raise ctx.error(key + ".keep", f"unknown data space '{name}'")
                kept.add(name)
            for name in directive.get("bypass") or []:
                if name not in ds_names:
                    raise ctx.error(key + ".bypass", f"unknown data space '{name}'")
                kept.discard(name)
            keep[lv] = kept
        else:
            raise ctx.error(key + ".type", f"unknown directive type '{kind}' (temporal, spatial, dataspace, bypass)")

    # Unspecified temporal factors take the residual of the rank (outermost such level first), else 1.
    error = None
    for r in problem.ranks:
        known = 1
        for lv in range(n):
            known *= spatial[lv].get(r, 1) * ((temporal[lv] or {}).get(r, 1))
        inst = problem.instance[r]
        open_levels = [lv for lv in reversed(range(n)) if r not in (temporal[lv] or {})
                       and not arch.storage[lv].is_dummy]
        if known != inst and open_levels and inst % known == 0:
            t = temporal[open_levels[0]] = dict(temporal[open_levels[0]] or {})
            t[r] = inst // known
            known = inst
        if known != inst and error is None:
            error = (f"mapping factors of rank {r} multiply to {known}, "
                     f"but the problem instance has {r}={inst}")
    levels = []
    for lv in range(n):
        tf = temporal[lv] or {}
        tl = [Loop(r, tf.get(r, 1)) for r in _order(t_perm[lv], problem)]
        order = _order(s_perm[lv], problem) if s_perm[lv] else list(problem.ranks)
        storage = arch.storage[lv]
        sp = split[lv]
        if sp is None:
            fx, fy = storage.fanout_x, storage.fanout_y
            sp = 0 if (fx == 1 and fy is not None and fy > 1) else len(order)
        elif s_perm[lv]:
            sp += len(order) - len(s_perm[lv])  # ranks left out of the permutation sit innermost
        sl = [Loop(r, spatial[lv].get(r, 1), "X" if j < sp else "Y") for j, r in enumerate(order)]
        given = keep[lv]
        kept = given if given is not None else (set() if storage.is_dummy else set(ds_names))
        levels.append(LevelMapping(temporal=tl, spatial=sl, keep=kept))
    return Mapping(levels=levels, error=error)
