"""The one reader of Timeloop/Accelergy architecture trees, shared by the engine and the energy estimator.

Three descriptions of an architecture are understood; each is flattened to a list of :class:`Component`
records, outermost first:

* the timeloopfe v0.4 user format, ``architecture: nodes:`` with ``!Container`` / ``!Component`` /
  ``!Parallel`` / ``!Hierarchical`` / ``!Pipelined`` / ``!Nothing`` (as :func:`fusemax.yamlio.load` tags
  them; untagged nodes are told apart by their keys) - :func:`walk_nodes`. A container with ``spatial:
  {meshX, meshY}`` becomes the dummy storage level ``inter_<name>_spatial`` exactly where timeloopfe
  inserts it, and multiplies the instances of what follows it; :func:`top_container` is the node timeloopfe
  makes the top level of its processed form;
* the processed form, ``architecture: subtree: [{name, attributes, local, subtree}]`` with ``name[lo..hi]``
  instance ranges, as timeloopfe writes it for ``timeloop-model`` and as Accelergy reads it -
  :func:`walk_subtree`;
* Accelergy's flattened form, ``architecture: local: [{name: system_top_level.x[1..N], ...}]`` -
  :func:`walk_flat`.

The engine (which mimics ``timeloop-model``) and the estimator (which mimics Accelergy) read the same
trees slightly differently; every difference is a field of :class:`Rules`, and :data:`TIMELOOP` and
:data:`ACCELERGY` are the two readings in use. Malformed input raises
:class:`~fusemax.errors.SpecError` naming the file and the key (:class:`Source`).
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fusemax import yamlio
from fusemax.errors import SpecError

#: Accelergy's top-level node: the prefix of every full name of the flattened ``nodes:`` format.
TOP = "system_top_level"
#: Node kinds whose ``nodes:`` list is walked in place (they group components, they are not levels).
BRANCHES = ("Parallel", "Hierarchical", "Pipelined")

# ``[lo..hi]`` instance ranges, and the ``[i]`` single indices of Accelergy's action-count files.
_RANGE = re.compile(r"\[(?P<lo>\d+)(?:\.\.(?P<hi>\d+))?\]$")


def split_range(name: str) -> tuple[str, int | None]:
    """``reg_file[1..256]`` -> ``("reg_file", 256)``; a name without a ``[lo..hi]`` range -> ``(name, None)``."""
    m = _RANGE.search(name)
    if m is None or m["hi"] is None:
        return name, None
    return name[:m.start()], int(m["hi"]) - int(m["lo"]) + 1


def component_name(accelergy_name: str) -> str:
    """``system_top_level.reg_file[1..65536]`` (or ``...reg_file[1]``) -> ``reg_file``."""
    return _RANGE.sub("", accelergy_name).rsplit(".", 1)[-1]


def instance_count(accelergy_name: str) -> int:
    """``system_top_level.reg_file[1..65536]`` -> 65536; a name without a range is one instance."""
    count = split_range(accelergy_name)[1]
    return 1 if count is None else count


class Source:
    """The file (or other origin) being read, so that every :class:`SpecError` says where it happened."""

    def __init__(self, source: str):
        self.source = source

    def error(self, key: str, reason: str) -> SpecError:
        """The error to raise for ``key`` (a YAML key path such as ``architecture.PE.spatial.meshX``)."""
        return SpecError(reason, source=self.source, key=key)

    def need(self, node: Any, name: str, key: str) -> Any:
        """``node[name]``; an error if ``node`` is not a mapping or ``name`` is missing or null."""
        if not isinstance(node, dict):
            raise self.error(key.rsplit(".", 1)[0] or key, "expected a mapping")
        if name not in node or node[name] is None:
            raise self.error(key, f"missing required key '{name}'")
        return node[name]

    def integer(self, value: Any, key: str) -> int:
        """An integer as Timeloop accepts it: an int, an integral float or an integer string (not a bool)."""
        if isinstance(value, bool):
            raise self.error(key, f"expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise self.error(key, f"expected an integer, got {value!r}")

    def loose_integer(self, value: Any, key: str) -> int:
        """Python's ``int(value)`` (truncates floats, accepts bools), as Accelergy's reading does."""
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self.error(key, f"expected an integer, got '{value}'") from None

    def number(self, value: Any, key: str) -> float:
        """A number (int or float, or a string of one); not a bool."""
        if isinstance(value, bool):
            raise self.error(key, f"expected a number, got {value!r}")
        if isinstance(value, (int, float)):
            return value
        try:
            return float(str(value))
        except ValueError:
            raise self.error(key, f"expected a number, got {value!r}") from None


@dataclass(frozen=True)
class Rules:
    """Where ``timeloop-model`` (:data:`TIMELOOP`) and Accelergy (:data:`ACCELERGY`) read a tree differently.

    Attribute inheritance is the same under both: a container's (or subtree node's) attributes reach the
    components after it in its own list and below it, never those after the list it sits in.
    """

    #: ``nodes:``: every node needs a name, mesh sizes must be integers (:meth:`Source.integer`) and errors
    #: are keyed by component name (``architecture.PE.spatial.meshX``). Otherwise a missing name is ``""``,
    #: sizes go through ``int()`` and errors are keyed by position (``architecture.nodes[3].spatial.meshX``).
    strict: bool
    #: ``nodes:``: a container's ``attributes: {spatial: ...}`` fans out like its own ``spatial:``.
    spatial_attribute: bool
    #: ``nodes:``: a ``spatial:`` key with no meshes (``spatial: {}``) still places a (1x1) dummy level;
    #: otherwise only a non-empty ``spatial`` does.
    empty_spatial: bool
    #: ``nodes:``: a ``!Component``'s own ``spatial`` multiplies its instances and those of what follows it.
    component_spatial: bool
    #: ``nodes:``: a fan-out inside a ``!Parallel``/``!Hierarchical`` list ends with that list; otherwise it
    #: multiplies every later component of the walk.
    branch_fanout: bool
    #: ``subtree:``: Accelergy's reading - only the ``subtree:`` list is read (a ``local:`` beside it is not),
    #: a component's instances are its own range times the ranges of the subtree nodes above it, and mesh
    #: attributes are not read (meshes are 1x1). Otherwise the architecture mapping is the root node (its
    #: ``local:`` is read too) and a component's instances are its own range, else its ``instances``
    #: attribute, else ``meshX * meshY``, with ``meshX``/``meshY`` read from its attributes.
    accelergy_subtree: bool


#: How ``timeloop-model`` (after timeloopfe) reads a tree: the engine's :func:`fusemax.engine.spec.load_spec`.
TIMELOOP = Rules(strict=True, spatial_attribute=True, empty_spatial=False, component_spatial=False,
                 branch_fanout=False, accelergy_subtree=False)
#: How Accelergy reads a tree: the builtin estimator's :func:`flatten_architecture`.
ACCELERGY = Rules(strict=False, spatial_attribute=False, empty_spatial=True, component_spatial=True,
                  branch_fanout=True, accelergy_subtree=True)


@dataclass(frozen=True)
class Component:
    """One component of the flattened tree, or a timeloopfe ``inter_<name>_spatial`` dummy level."""

    name: str                       # own name, e.g. "reg_file"
    full_name: str                  # Accelergy's, e.g. "system_top_level.reg_file[1..65536]"
    cls: str                        # the class that estimates it: `subclass` for Timeloop storage/compute
    declared_class: str             # `class:` as written ("storage", "compute", "smartbuffer_RF", ...)
    attributes: dict[str, Any] = field(default_factory=dict)      # inherited, then its own on top
    own_attributes: dict[str, Any] = field(default_factory=dict)  # only those written on the component
    # The container (subtree node) attributes in effect here, without the component's own; a spatial
    # dummy's include those of its container (timeloopfe gives them to the dummy level).
    inherited: dict[str, Any] = field(default_factory=dict)
    subclass: str | None = None     # `subclass:` as written, whatever the `class:`
    instances: int = 1
    mesh_x: int = 1
    mesh_y: int = 1
    fanout_x: int | None = None     # a spatial dummy's meshX/meshY (the fan-out below it); else None
    fanout_y: int | None = None
    container: str | None = None    # a spatial dummy's container (``PE`` for ``inter_PE_spatial``); else None

    @property
    def is_spatial_dummy(self) -> bool:
        """A timeloopfe ``inter_<name>_spatial`` level placed above a spatial container (not a processed
        ``dummy_storage`` component, which carries no fan-out)."""
        return self.fanout_x is not None


def _classes(node: Mapping[str, Any]) -> tuple[str, str]:
    """(class that estimates it, class as written)."""
    cls = str(node.get("class", ""))
    # Timeloop v0.4 levels say what they are (storage/compute) and what estimates them (subclass).
    if cls in ("storage", "compute") and node.get("subclass"):
        return str(node["subclass"]), cls
    return cls, cls


def _subclass(node: Mapping[str, Any]) -> str | None:
    return str(node["subclass"]) if node.get("subclass") else None


def _spatial(node: Mapping[str, Any], rules: Rules) -> Mapping[str, Any] | None:
    """The fan-out a ``nodes:`` node declares (``{}`` for an empty one that still places a level), or None."""
    own = node.get("attributes") or {}
    spatial = node.get("spatial") or (own.get("spatial") if rules.spatial_attribute else None)
    if not spatial and not (rules.empty_spatial and "spatial" in node):
        return None
    return spatial or {}


def top_container(nodes: Any, rules: Rules) -> Mapping[str, Any] | None:
    """The node timeloopfe makes the top level (``<name>_top_level``) of its processed form: the first of
    ``nodes`` when it is a ``!Container`` without a fan-out; None when there is none."""
    first = nodes[0] if isinstance(nodes, list) and nodes else None
    if isinstance(first, dict) and getattr(first, "tag", None) == "Container" and _spatial(first, rules) is None:
        return first
    return None


def _node_kind(node: Mapping[str, Any]) -> str:
    """The timeloopfe tag of a node, or for an untagged one what its keys make it."""
    tag = getattr(node, "tag", None)
    if tag:
        return str(tag)
    return "Hierarchical" if "nodes" in node else "Component" if "class" in node else "Container"


def walk_nodes(nodes: Any, source: str, rules: Rules) -> Iterator[Component]:
    """Flatten a v0.4 ``nodes:`` list (see the module docstring and :class:`Rules`), outermost first.

    Lazily: a consumer that checks each component as it comes reports the first problem in tree order.
    """
    src = Source(source)
    if not isinstance(nodes, list):
        raise src.error("architecture.nodes", "expected a list")

    def fanout(node: Mapping[str, Any], key: str) -> tuple[int, int] | None:
        spatial = _spatial(node, rules)
        if spatial is None:
            return None
        read = src.integer if rules.strict else src.loose_integer
        return (read(spatial.get("meshX", 1), f"{key}.spatial.meshX"),
                read(spatial.get("meshY", 1), f"{key}.spatial.meshY"))

    def walk(items: list[Any], key: str, attrs: dict[str, Any], mesh: list[int]) -> Iterator[Component]:
        for i, node in enumerate(items):
            nkey = f"{key}[{i}]"
            if not isinstance(node, dict):
                raise src.error(nkey, "expected a node mapping")
            kind = _node_kind(node)
            if kind in BRANCHES:
                yield from walk(node.get("nodes") or [], f"{nkey}.nodes", attrs,
                                list(mesh) if rules.branch_fanout else mesh)
                continue
            if kind == "Nothing":
                continue
            name = str(src.need(node, "name", f"{nkey}.name") if rules.strict else node.get("name", ""))
            ckey = f"architecture.{name}" if rules.strict else nkey
            own = node.get("attributes") or {}
            if kind == "Container":
                attrs = {**attrs, **own}
                fan = fanout(node, ckey)
                if fan is not None:
                    dummy = f"inter_{name}_spatial"
                    count = mesh[0] * mesh[1]
                    yield Component(dummy, f"{TOP}.{dummy}[1..{count}]", "dummy_storage", "dummy_storage",
                                    inherited=dict(attrs), instances=count, mesh_x=mesh[0], mesh_y=mesh[1],
                                    fanout_x=fan[0], fanout_y=fan[1], container=name)
                    mesh[0] *= fan[0]
                    mesh[1] *= fan[1]
                continue
            fan = fanout(node, ckey) if rules.component_spatial else None
            if fan is not None:
                mesh[0] *= fan[0]
                mesh[1] *= fan[1]
            count = mesh[0] * mesh[1]
            cls, declared = _classes(node)
            yield Component(name, f"{TOP}.{name}[1..{count}]", cls, declared, {**attrs, **own}, dict(own),
                            dict(attrs), _subclass(node), instances=count, mesh_x=mesh[0], mesh_y=mesh[1])

    yield from walk(nodes, "architecture.nodes", {}, [1, 1])


def walk_subtree(architecture: Mapping[str, Any], source: str, rules: Rules) -> Iterator[Component]:
    """Flatten the processed form, lazily like :func:`walk_nodes`: each node's ``local`` list, then its
    ``subtree`` (outer to inner)."""
    src = Source(source)

    def local(node: Mapping[str, Any], key: str, path: str | None, attrs: dict[str, Any],
              outer: int) -> Iterator[Component]:
        for i, comp in enumerate(node.get("local") or []):
            raw = str(src.need(comp, "name", f"{key}.local[{i}].name"))
            name, count = split_range(raw)
            own = comp.get("attributes") or {}
            mesh_x = mesh_y = 1
            if rules.accelergy_subtree:
                instances = outer * (1 if count is None else count)
            else:
                mesh_x = src.integer(own.get("meshX", 1), f"architecture.{name}.attributes.meshX")
                mesh_y = src.integer(own.get("meshY", 1), f"architecture.{name}.attributes.meshY")
                instances = count if count is not None else src.integer(
                    own.get("instances", mesh_x * mesh_y), f"architecture.{name}.attributes.instances")
            cls, declared = _classes(comp)
            yield Component(name, raw if path is None else f"{path}.{raw}", cls, declared, {**attrs, **own},
                            dict(own), dict(attrs), _subclass(comp), instances=instances, mesh_x=mesh_x,
                            mesh_y=mesh_y)

    def subtree(node: Mapping[str, Any], key: str, path: str | None, attrs: dict[str, Any],
                outer: int) -> Iterator[Component]:
        for i, sub in enumerate(node.get("subtree") or []):
            skey = f"{key}.subtree[{i}]"
            if not isinstance(sub, dict):
                raise src.error(skey, "expected a mapping")
            raw = str(sub.get("name", ""))
            sub_path = f"{path}.{raw}" if path else raw
            sub_attrs = {**attrs, **(sub.get("attributes") or {})}
            count = split_range(raw)[1]
            sub_outer = outer * (1 if count is None else count)
            yield from local(sub, skey, sub_path, sub_attrs, sub_outer)
            yield from subtree(sub, skey, sub_path, sub_attrs, sub_outer)

    if not rules.accelergy_subtree:
        yield from local(architecture, "architecture", None, {}, 1)
    yield from subtree(architecture, "architecture", None, {}, 1)


def walk_flat(components: list[Any]) -> list[Component]:
    """Read Accelergy's flattened ``local:`` list (``system_top_level.x[1..N]``; the range is the count)."""
    out = []
    for comp in components:
        full = str(comp["name"])
        base, count = split_range(full)
        cls, declared = _classes(comp)
        own = dict(comp.get("attributes") or {})
        out.append(Component(base.rsplit(".", 1)[-1], full, cls, declared, own, dict(own),
                             subclass=_subclass(comp), instances=1 if count is None else count))
    return out


def flatten_architecture(description: Mapping[str, Any] | str | Path, source: str | None = None,
                         rules: Rules = ACCELERGY) -> list[Component]:
    """The components of any of the three descriptions (a path is loaded), outermost first.

    ``description`` is a whole spec or its ``architecture:`` mapping. With the default :data:`ACCELERGY`
    rules this is the flattening Accelergy does; ``cls``/``attributes``/``instances`` are what it estimates.
    """
    if isinstance(description, (str, Path)):
        source = source or str(description)
        description = yamlio.load(description)
    source = source or "<architecture>"
    arch = description.get("architecture", description) if isinstance(description, Mapping) else None
    if not isinstance(arch, Mapping):
        raise SpecError("expected an 'architecture:' mapping", source=source, key="architecture")
    if isinstance(arch.get("nodes"), list):
        return list(walk_nodes(arch["nodes"], source, rules))
    if isinstance(arch.get("subtree"), list):
        return list(walk_subtree(arch, source, rules))
    if isinstance(arch.get("local"), list):
        return walk_flat(arch["local"])
    raise SpecError("architecture has none of 'nodes:', 'subtree:' or 'local:'", source=source,
                    key="architecture")
