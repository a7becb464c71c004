"""Safe YAML loading for Timeloop specs.

Only plain YAML plus the node tags of Timeloop v0.4 / timeloopfe (``!Container``, ``!Component``,
``!Parallel``, ...) are constructed. Anything else, notably ``!!python/...`` object tags, is rejected
with a :class:`~fusemax.errors.SpecError` naming the file and line, so a spec can never run code.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fusemax.errors import SpecError

#: The architecture node tags that timeloopfe defines for the v0.4 format.
TIMELOOP_TAGS = ("Container", "Component", "Parallel", "Hierarchical", "Pipelined", "Nothing")


class TaggedNode(dict):
    """A YAML mapping that carried a Timeloop tag (``!Component`` -> ``tag == "Component"``).

    It compares equal to a plain dict with the same content; check ``tag`` explicitly where it matters.
    """

    def __init__(self, tag: str, content: dict[str, Any] | None = None):
        super().__init__(content or {})
        self.tag = tag

    def __repr__(self) -> str:
        return f"!{self.tag} {dict.__repr__(self)}"


# libyaml's parser is ~10x faster than the pure-Python one (sweeps parse thousands of rendered specs); both
# construct through the same safe constructor.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SpecLoader(_SafeBase):
    """SafeLoader that also knows the Timeloop node tags."""


def _tag_constructor(tag: str):
    def construct(loader: _SpecLoader, node: yaml.Node) -> TaggedNode:
        if isinstance(node, yaml.MappingNode):
            return TaggedNode(tag, loader.construct_mapping(node, deep=True))
        if isinstance(node, yaml.ScalarNode) and loader.construct_scalar(node) in ("", None):
            return TaggedNode(tag)
        raise yaml.constructor.ConstructorError(
            None, None, f"!{tag} must tag a mapping", node.start_mark)

    return construct


for _tag in TIMELOOP_TAGS:
    _SpecLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


class _SpecDumper(yaml.SafeDumper):
    """SafeDumper that writes :class:`TaggedNode` back with its tag."""


_SpecDumper.add_representer(
    TaggedNode, lambda dumper, node: dumper.represent_mapping(f"!{node.tag}", dict(node)))


def loads(text: str, source: str = "<string>") -> Any:
    """Parse YAML text; errors become a :class:`SpecError` naming ``source`` and the line."""
    try:
        return yaml.load(text, Loader=_SpecLoader)  # noqa: S506 - _SpecLoader is a (C)SafeLoader
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}" if mark else None
        raise SpecError(f"unsupported YAML content ({exc.problem}); only plain YAML and the Timeloop "
                        f"tags {', '.join('!' + t for t in TIMELOOP_TAGS)} are allowed",
                        source=source, key=line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"malformed YAML: {problem}", source=source, key=line) from None


def load(path: str | Path) -> Any:
    """Load one YAML file safely (see :func:`loads`)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"cannot read file: {exc.strerror}", source=str(path)) from None
    return loads(text, source=str(path))


def dumps(data: Any) -> str:
    """Write YAML, keeping Timeloop tags and key order."""
    return yaml.dump(data, Dumper=_SpecDumper, sort_keys=False, default_flow_style=None, width=100)
