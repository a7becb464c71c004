"""The one input layer for every YAML file fusemax reads (specs, models files, sweep files, ERT/ART, ...).

Each check below fails with one :class:`~fusemax.errors.SpecError` line naming the file and the line:

* **size**: files above :data:`MAX_BYTES` are refused after reading at most that much (an endless input,
  such as ``/dev/zero``, cannot exhaust memory);
* **encoding**: the text must be UTF-8;
* **tags**: only plain YAML plus the node tags of Timeloop v0.4 / timeloopfe (``!Container``,
  ``!Component``, ``!Parallel``, ...) are constructed; ``!!python/...`` object tags are refused, so a spec
  can never run code;
* **duplicate keys**: a key given twice in one mapping is refused (YAML says keys are unique; PyYAML would
  silently keep the last one, e.g. the second of two models with the same name);
* **aliases**: aliases may expand the document by at most :data:`MAX_ALIAS_NODES` nodes, which stops a
  billion-laughs document before anything walks it. ``keys=`` limits construction to the top-level keys
  a reader uses, so an alias bomb under a key nobody reads costs nothing and is not an error.
"""
from __future__ import annotations

import copy
import gc
import re
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Collection, Iterator

import yaml

from fusemax.errors import SpecError
from fusemax.memo import BoundedMemo

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
_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: Larger files are refused (the biggest real inputs, rendered specs and model zoos, are kilobytes).
MAX_BYTES = 256 * 2**20
#: Nodes that aliases may add when expanded (a merge key ``<<: *defaults`` adds a few; a bomb billions).
MAX_ALIAS_NODES = 100_000
#: Something that may be an anchor (``&name``); documents without one skip the alias walk.
_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s]", re.MULTILINE)


def _may_anchor(text: str) -> bool:
    """Whether ``text`` may hold an anchor (:data:`_ANCHOR`). Most texts have no ``&`` at all, and looking
    for the character costs a hundredth of the pattern's search (which every memoised parse makes)."""
    return "&" in text and _ANCHOR.search(text) is not None


def _line(mark: Any) -> str | None:
    return f"line {mark.line + 1}" if mark is not None else None


class _SpecLoader(_SafeBase):
    """SafeLoader that also knows the Timeloop node tags and refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


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


def _represent_tagged(dumper: Any, node: TaggedNode) -> yaml.Node:
    return dumper.represent_mapping(f"!{node.tag}", dict(node))


_SpecDumper.add_representer(TaggedNode, _represent_tagged)

# libyaml's emitter writes the same text as PyYAML's pure-Python one ~4x faster (the mapper writes one
# mapping per search), but only for plain documents: the two fold long or escaped strings, place empty
# keys and end a lone scalar differently. :func:`_emits_alike` admits what both write byte for byte.
_CSpecDumper: Any = None
if yaml.__with_libyaml__:
    class _CSpecDumper(yaml.CSafeDumper):  # type: ignore[no-redef]
        """CSafeDumper that writes :class:`TaggedNode` back with its tag."""

    _CSpecDumper.add_representer(TaggedNode, _represent_tagged)

#: A string both emitters write alike: printable ASCII, not empty, shorter than a line (no folding).
_PLAIN_TEXT = re.compile(r"[ -~]{1,80}\Z")
_PLAIN_SCALARS = (int, float, bool, type(None))


def _emits_alike(data: Any) -> bool:
    """Whether libyaml's emitter writes ``data`` exactly as PyYAML's does: a mapping or list whose leaves
    (and keys) are numbers, booleans, None and :data:`_PLAIN_TEXT` strings, each collection met once
    (shared ones get anchors, and a cycle would loop here; PyYAML's path handles both). Checked on every
    mapping of the paper run and 30,000 random documents (``tests/test_yamlio.py`` keeps the cases)."""
    if type(data) not in (dict, list, TaggedNode):
        return False  # a lone scalar: PyYAML ends its document with "...", libyaml does not
    seen: set[int] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is str:
            if not _PLAIN_TEXT.match(node):
                return False
        elif kind in (dict, list, TaggedNode):
            if id(node) in seen:
                return False
            seen.add(id(node))
            if kind is list:
                stack.extend(node)
            else:
                for key, value in node.items():
                    stack.append(key)
                    stack.append(value)
        elif kind not in _PLAIN_SCALARS:
            return False
    return True


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _post_order(root: yaml.Node):
    """Every distinct node of the graph once, children first (iterative: deep documents do not recurse)."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            yield node
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in seen)


def _check_tags(root: yaml.Node) -> None:
    """Refuse any tag the loader cannot build safely, also under keys that will not be constructed."""
    for node in _post_order(root):
        if node.tag not in _SpecLoader.yaml_constructors:
            raise yaml.constructor.ConstructorError(
                None, None, f"could not determine a constructor for the tag {node.tag!r}", node.start_mark)


def _check_aliases(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases expand it by more than :data:`MAX_ALIAS_NODES` nodes. Each node's
    expanded size is computed once, so the walk costs the document's size, not its expansion."""
    size: dict[int, int] = {}
    for distinct, node in enumerate(_post_order(root), 1):
        size[id(node)] = 1 + sum(size[id(child)] for child in _children(node))
        if size[id(node)] - distinct > MAX_ALIAS_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"aliases expand to more than {MAX_ALIAS_NODES} extra nodes (an alias bomb?)",
                node.start_mark)


def loads(text: str, source: str = "<string>", keys: Collection[str] | None = None) -> Any:
    """Parse YAML text; errors become a :class:`SpecError` naming ``source`` and the line.

    ``keys``: the top-level keys the caller reads; the others of a top-level mapping are dropped unbuilt.
    Each call returns a document of its own (a deep copy of the memoised parse, see :func:`_parse`, or, for
    a big text, a fresh build), so a caller may change it freely.
    """
    keys_tuple = None if keys is None else tuple(keys)
    with _spec_errors(source):
        if len(text) > MEMO_MAX_CHARS:
            return _build(text, keys_tuple)
        document, shared = _parse(text, keys_tuple)
        # Without anchors the document is a tree (nothing shared), which _copy_tree copies ~10x faster
        # than deepcopy; aliases share nodes, and deepcopy keeps that sharing.
        return copy.deepcopy(document) if shared else _copy_tree(document)


def loads_shared(text: str, source: str = "<string>", keys: Collection[str] | None = None) -> Any:
    """:func:`loads` without the copy: the memoised document itself, the same object for every caller of
    the same text and keys. Read it, never change it (nor anything in it).

    For readers that only look: an evaluation job reads each of its texts once, and copying them cost a
    quarter of their parse (see :func:`fusemax.engine.spec.spec_from_texts`)."""
    keys_tuple = None if keys is None else tuple(keys)
    with _spec_errors(source):
        if len(text) > MEMO_MAX_CHARS:
            return _build(text, keys_tuple)
        return _parse(text, keys_tuple)[0]


@contextmanager
def _spec_errors(source: str) -> Iterator[None]:
    """Turn what parsing (or copying) a document of ``source`` raises into one :class:`SpecError`."""
    try:
        yield
    except yaml.constructor.ConstructorError as exc:
        problem = exc.problem or ""
        if problem.startswith(("duplicate key", "aliases expand")):
            raise SpecError(problem, source=source, key=_line(exc.problem_mark)) from None
        raise SpecError(f"unsupported YAML content ({problem}); only plain YAML and the Timeloop "
                        f"tags {', '.join('!' + t for t in TIMELOOP_TAGS)} are allowed",
                        source=source, key=_line(exc.problem_mark)) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"malformed YAML: {problem}", source=source,
                        key=_line(getattr(exc, "problem_mark", None))) from None
    except RecursionError:  # a deeply nested (or self-referencing) document
        raise SpecError("YAML nested too deeply", source=source) from None


_IMMUTABLE = (str, int, float, bool, type(None), bytes)


#: The scalar types the safe loader builds most (exactly these: the copy keeps them without a call).
_SCALAR_TYPES = frozenset(_IMMUTABLE)


def _copy_tree(node: Any) -> Any:
    """A copy of a constructed document without shared nodes: its mappings and lists anew, scalars kept
    (each checked before the call: most values are scalars, and the call per value was half the copy)."""
    kind = type(node)
    if kind is dict:
        return {k: v if type(v) in _SCALAR_TYPES else _copy_tree(v) for k, v in node.items()}
    if kind is list:
        return [v if type(v) in _SCALAR_TYPES else _copy_tree(v) for v in node]
    if kind is TaggedNode:
        return TaggedNode(node.tag, {k: v if type(v) in _SCALAR_TYPES else _copy_tree(v) for k, v in node.items()})
    if isinstance(node, _IMMUTABLE):
        return node
    return copy.deepcopy(node)  # the rest of what the safe loader builds (sets, dates): rare


class _NotPlain(Exception):
    """The document has an anchor, alias, explicit tag, merge key, non-scalar key or several documents:
    :func:`_build_nodes` builds it (and reports its errors)."""


_STR = "tag:yaml.org,2002:str"


def _plain_scalar(loader: Any, node: yaml.ScalarNode, implicit: tuple[bool, bool]) -> tuple[str, Any]:
    """The resolved tag and the value of an untagged scalar ``node`` (its tag is set here), as the node path
    builds it; :class:`_NotPlain` for a type the safe loader builds only from a node graph or not at all
    (a merge key, YAML's ``=`` "value" type)."""
    node.tag = tag = loader.resolve(yaml.ScalarNode, node.value, implicit)
    if tag == _STR:
        return tag, node.value
    if tag in loader.yaml_constructors and tag != "tag:yaml.org,2002:merge":
        # every implicitly resolved type (int, float, bool, null, timestamp) is immutable: shareable
        return tag, loader.yaml_constructors[tag](loader, node)
    raise _NotPlain


class _PlainBuilder:
    """Builds a plain document straight from libyaml's events, keeping no node graph.

    Composing every node first (PyYAML's way) holds ~350 bytes of node and marks per scalar, and costs a
    Python resolve and construct call per node: a 56 MB models file needed gigabytes and minutes. Plain
    YAML (no anchors, aliases, tags or merge keys) needs none of what the graph is for, so each distinct
    scalar text is resolved and built once and each collection is built as its events arrive. Anything
    else raises :class:`_NotPlain` and goes to the node path with its tag and alias checks.
    """

    #: Distinct scalar texts remembered per document (values repeat; unique names need not be kept).
    MEMO_SIZE = 4096

    def __init__(self, loader: Any):
        self.loader = loader
        self.next_event = loader.get_event
        #: first character -> the implicit resolvers (int, float, bool, null, ...) that may match
        self.resolvers = loader.yaml_implicit_resolvers
        self.scalars: dict[str, tuple[str, Any]] = {}

    def scalar(self, event: Any) -> tuple[str, Any]:
        """The resolved tag and the value of a scalar event."""
        if event.anchor is not None or event.tag is not None:
            raise _NotPlain
        text = event.value
        if not event.implicit[0] or text[:1] not in self.resolvers:
            # what resolve() says, without the call (the safe loader has no path or catch-all resolvers):
            # a quoted scalar, or one that no implicit type may start with, is a string (most keys and
            # every model name)
            return _STR, text
        hit = self.scalars.get(text)  # a plain scalar's type depends on its text alone
        if hit is not None:
            return hit
        tag, value = _plain_scalar(self.loader, yaml.ScalarNode(None, text, event.start_mark, event.end_mark,
                                                                event.style), event.implicit)
        if len(self.scalars) < self.MEMO_SIZE:
            self.scalars[text] = (tag, value)
        return tag, value

    def node(self, event: Any) -> Any:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            return self.scalar(event)[1]
        if event.anchor is not None or kind is yaml.AliasEvent or event.tag is not None:
            raise _NotPlain
        if kind is yaml.SequenceStartEvent:
            items = []
            event = self.next_event()
            while type(event) is not yaml.SequenceEndEvent:
                items.append(self.node(event))
                event = self.next_event()
            return items
        return self.mapping()

    def mapping(self, keys: tuple[str, ...] | None = None) -> dict:
        """The mapping whose start event was just read; ``keys``: build only these keys, skip the rest."""
        result: dict = {}
        seen: set[tuple[str, str]] = set()  # (tag, text) of the keys that are not strings
        next_event, scalar, node = self.next_event, self.scalar, self.node
        event = next_event()
        while type(event) is not yaml.MappingEndEvent:
            if type(event) is not yaml.ScalarEvent:
                raise _NotPlain  # a collection as a key: the node path refuses it
            if keys is not None and event.value not in keys:
                if event.anchor is not None or event.tag is not None:
                    raise _NotPlain
                self.skip()
                event = next_event()
                continue
            tag, key = scalar(event)
            # The node path's rule (duplicate = same resolved tag and text), cheaply: string keys are equal
            # exactly when their texts are, so only the other keys need their (tag, text) remembered.
            if key in result and (tag == _STR or (tag, event.value) in seen):
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {event.value!r}",
                                                        event.start_mark)
            if tag != _STR:
                seen.add((tag, event.value))
            event = next_event()
            result[key] = scalar(event)[1] if type(event) is yaml.ScalarEvent else node(event)
            event = next_event()
        return result

    def skip(self) -> None:
        """Consume the next node unbuilt (still refusing what plain YAML does not have)."""
        depth = 0
        while True:
            event = self.next_event()
            if getattr(event, "anchor", None) is not None or getattr(event, "tag", None) is not None:
                raise _NotPlain  # an alias has an anchor (its target's name)
            if type(event) in (yaml.SequenceStartEvent, yaml.MappingStartEvent):
                depth += 1
            elif type(event) in (yaml.SequenceEndEvent, yaml.MappingEndEvent):
                depth -= 1
            if depth == 0:
                return

    def document(self, keys: tuple[str, ...] | None) -> Any:
        self.next_event()  # the stream's start
        if type(self.next_event()) is yaml.StreamEndEvent:  # else the document's start
            return None
        event = self.next_event()
        if type(event) is yaml.MappingStartEvent and event.anchor is None and event.tag is None:
            document = self.mapping(keys)
        else:
            document = self.node(event)
        self.next_event()  # the document's end
        if type(self.next_event()) is not yaml.StreamEndEvent:
            raise _NotPlain  # a second document: the node path says so
        return document


# The block subset: what fusemax's templates write (rendered problems, mappings, architectures without
# tags), read line by line without libyaml's events, which cost most of an evaluation job's parse.
#: Printable ASCII lines only (no tab, carriage return, byte-order mark or other character to reason about).
_BLOCK_TEXT = re.compile(r"[ -~\n]*")
#: ``key:`` or ``key: value`` (a plain key; the value is checked by :func:`_block_scalar`).
_BLOCK_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.-]*):(?: +(.*))?")
#: A plain scalar that means the same in block and flow context: no indicator, colon, comma, bracket,
#: quote or '#'; a leading '-' only before a digit (else it could be a sequence entry).
_BLOCK_PLAIN = re.compile(r"(?:[A-Za-z0-9_]|-[0-9])[A-Za-z0-9_.=+ -]*")
#: A single-quoted scalar without quotes, escapes or '#' inside (its text is its value).
_BLOCK_QUOTED = re.compile(r"'[A-Za-z0-9_.=+ -]*'")


def _block_document(text: str, keys: tuple[str, ...] | None) -> Any:
    """The document of a text in the block subset, as the event builder builds it; :class:`_NotPlain` for
    anything else (which the event builder then reads, with every check and error of its own).

    The subset: block mappings of plain keys, block sequences (also ``- - x`` and a sequence at its key's
    indentation), one-line flow sequences, plain scalars of :data:`_BLOCK_PLAIN`'s letters and quoted ones of
    :data:`_BLOCK_QUOTED`'s, full-line and trailing comments. Scalars resolve through the loader's own
    resolver and constructors, so ``64`` is an int and ``True`` a bool exactly as there. Anything that might
    read differently is refused, not guessed: a scalar continued on the next line, a duplicate key, a
    ``#`` that is not a comment, tags, anchors, aliases, flow mappings, block scalars, directives and
    document markers."""
    if not _BLOCK_TEXT.fullmatch(text):
        raise _NotPlain
    tokens: list[_Token] = []
    for line in text.split("\n"):
        known = _BLOCK_LINES.get(line)
        tokens.extend(known if known is not None else _BLOCK_LINES.keep(line, _line_tokens(line)))
    if not tokens:
        return None
    tokens.append(_END)
    document, end = _BlockReader(tokens).node(0, keys)
    if end != len(tokens) - 1:
        raise _NotPlain  # a line outside the document's indentation
    return document


#: A line's part: (column, kind, key text, key, value). Kinds: a sequence entry's dash (its content follows
#: as a token of its own), ``key:`` (value :data:`_NO_VALUE`: the value is on the lines below) and a value
#: alone. A flow sequence's value is a tuple, made a list of its own where it is used.
_Token = tuple[int, str, Any, Any, Any]
_DASH, _KEY, _VALUE = "-", ":", "v"
_NO_VALUE = object()
#: The token after the last: its column ends every node.
_END: _Token = (-1, "", None, None, None)


def _line_tokens(line: str) -> tuple[_Token, ...]:
    """The tokens of one line (none for a blank or comment line); :class:`_NotPlain` outside the subset."""
    comment = line.find("#")
    if comment >= 0:
        if comment and line[comment - 1] != " ":
            raise _NotPlain  # part of a scalar, or in quotes
        line = line[:comment]
    content = line.lstrip(" ")
    column = len(line) - len(content)
    content = content.rstrip(" ")
    tokens: list[_Token] = []
    while content[:1] == _DASH and (len(content) == 1 or content[1] == " "):
        tokens.append((column, _DASH, None, None, None))
        rest = content[1:].lstrip(" ")
        column += len(content) - len(rest)
        content = rest
    if content:
        match = _BLOCK_KEY.fullmatch(content)
        if match is None:
            tokens.append((column, _VALUE, None, None, _block_value(content)))
        else:
            text, inline = match.groups()
            tokens.append((column, _KEY, text, _block_value(text),
                           _NO_VALUE if inline is None else _block_value(inline)))
    return tuple(tokens)


#: raw line -> its tokens: most lines of a sweep's specs repeat from spec to spec (``- target: DRAM``)
_BLOCK_LINES: BoundedMemo[str, tuple[_Token, ...]] = BoundedMemo(32768)


class _BlockReader:
    """Reads the tokens of :func:`_block_document` (ending with :data:`_END`): each ``node(i)`` gives the
    node that starts at token ``i`` and the index of the first token after it."""

    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens

    def node(self, i: int, keys: tuple[str, ...] | None = None) -> tuple[Any, int]:
        column, kind = self.tokens[i][:2]
        if kind == _DASH:
            return self.sequence(i, column)
        if kind == _KEY:
            return self.mapping(i, column, keys)
        raise _NotPlain  # a scalar on a line of its own (it might go on over the next lines)

    def sequence(self, i: int, column: int) -> tuple[list, int]:
        tokens = self.tokens
        items: list = []
        while tokens[i][0] == column and tokens[i][1] == _DASH:
            i += 1
            below, kind, _, _, value = tokens[i]
            if below <= column:
                items.append(None)  # "-" with nothing below it
                continue
            if kind == _VALUE:
                item, i = (list(value) if type(value) is tuple else value), i + 1
            else:
                item, i = self.node(i)
            if tokens[i][0] > column:
                raise _NotPlain  # more after the entry, indented: a continued scalar or an error
            items.append(item)
        return items, i

    def mapping(self, i: int, column: int, keys: tuple[str, ...] | None) -> tuple[dict, int]:
        tokens = self.tokens
        result: dict = {}
        while tokens[i][0] == column:
            _, kind, text, key, value = tokens[i]
            if kind != _KEY:
                raise _NotPlain  # a scalar or an entry among the keys: the event builder judges it
            if key in result:
                raise _NotPlain  # a duplicate: the event builder refuses it with its line
            i += 1
            if value is not _NO_VALUE:
                if type(value) is tuple:
                    value = list(value)
            elif tokens[i][0] > column:
                value, i = self.node(i)
            elif tokens[i][1] == _DASH and tokens[i][0] == column:
                value, i = self.sequence(i, column)  # a sequence may sit at its key's indentation
            else:
                value = None
            if tokens[i][0] > column:
                raise _NotPlain  # more after the value, indented: a continued scalar or an error
            if keys is None or text in keys:  # the event builder's rule: by the key's text, unbuilt
                result[key] = value
        return result, i


def _block_value(text: str) -> Any:
    """What a line holds after ``key:`` or a dash, or a key's own text: a scalar, or a one-line flow
    sequence's items as a tuple."""
    if text[:1] != "[":
        return _block_scalar(text)
    if text[-1] != "]":
        raise _NotPlain
    inner = text[1:-1].strip(" ")
    return tuple(_block_scalar(item.strip(" ")) for item in inner.split(",")) if inner else ()


def _block_scalar(text: str) -> Any:
    """The value of a scalar of the block subset (a key, a value or a flow sequence's item)."""
    if _BLOCK_QUOTED.fullmatch(text):
        return text[1:-1]
    if not _BLOCK_PLAIN.fullmatch(text):
        raise _NotPlain
    return _plain_scalar(_block_loader(), yaml.ScalarNode(None, text), (True, False))[1]


@lru_cache(maxsize=1)
def _block_loader() -> Any:
    """A loader for its resolver and constructors only (both read nothing of its input)."""
    return _SpecLoader("")


def _build_nodes(loader: Any, text: str, keys: tuple[str, ...] | None) -> Any:
    """The document through PyYAML's node graph, checking its tags and aliases before construction."""
    root = loader.get_single_node()
    if root is None:
        return None
    if "!" in text:
        _check_tags(root)
    if keys is not None and isinstance(root, yaml.MappingNode):
        root.value = [(k, v) for k, v in root.value if not isinstance(k, yaml.ScalarNode) or k.value in keys]
    if _may_anchor(text):
        _check_aliases(root)
    return loader.construct_document(root)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a big structure without cycles: it would find
    no garbage there, but walk everything built so far again and again (seconds for a million models;
    5x the time of composing PyYAML's node graph). Cycles made meanwhile (aliases) are collected after."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


#: Texts up to this many characters first try :func:`_block_document` (rendered specs are about a kilobyte;
#: a big file that is not block YAML would be read twice).
BLOCK_MAX_CHARS = 1 << 16


def _build(text: str, keys: tuple[str, ...] | None) -> Any:
    """A fresh document of ``text`` (only its top-level ``keys`` when given); raises PyYAML's errors."""
    with gc_paused():
        if len(text) <= BLOCK_MAX_CHARS:
            try:
                return _block_document(text, keys)
            except (_NotPlain, RecursionError):
                pass
        loader = _SpecLoader(text)
        try:
            return _PlainBuilder(loader).document(keys)
        except (_NotPlain, RecursionError):  # the node path nests in C, deeper than Python recursion
            pass
        finally:
            loader.dispose()
        loader = _SpecLoader(text)
        try:
            return _build_nodes(loader, text, keys)
        finally:
            loader.dispose()


#: Texts above this many characters are built afresh, not memoised: a big file is read once, and the memo
#: would hold its text and document for the life of the process.
MEMO_MAX_CHARS = 1 << 20

# Sweeps parse the same texts again and again (every job of a configuration carries the same arch.yaml;
# FLAT's search renders hundreds of candidates from a few problems), and construction costs far more than
# the deep copy each caller gets. Only successful parses are kept (an exception is never cached), keyed by
# the text alone: the result does not depend on the source name, which only labels errors. The document is
# shared between callers: never hand it out uncopied.
@lru_cache(maxsize=1024)
def _parse(text: str, keys: tuple[str, ...] | None) -> tuple[Any, bool]:
    """:func:`_build` of ``text`` and whether it may share nodes (has an anchor), memoised together: a
    memo hit then costs no search of the text."""
    return _build(text, keys), _may_anchor(text)


def read_text(path: str | Path) -> str:
    """The UTF-8 text of one input file, at most :data:`MAX_BYTES`; every failure is one SpecError."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:  # missing, a directory, unreadable: strerror says which
        raise SpecError(f"cannot read file: {exc.strerror or exc}", source=str(path)) from None
    if len(data) > MAX_BYTES:
        raise SpecError(f"file larger than {MAX_BYTES >> 20} MiB", source=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"not UTF-8 text (byte 0x{data[exc.start]:02x}); is it a binary file?", source=str(path),
                        key=f"line {line}") from None


def load(path: str | Path, keys: Collection[str] | None = None) -> Any:
    """Load one YAML file through every check of this module (see :func:`read_text`, :func:`loads`)."""
    return loads(read_text(path), source=str(path), keys=keys)


def dumps(data: Any) -> str:
    """Write YAML, keeping Timeloop tags and key order (libyaml's emitter where it writes the same text)."""
    dumper = _CSpecDumper if _CSpecDumper is not None and _emits_alike(data) else _SpecDumper
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=None, width=100)
