"""Where the spec templates live, and the one Jinja environment that renders them.

The templates (``arch/``, ``problems/``, ``mappings/``) sit at the repository root so researchers can
edit them next to the code; the wheel bundles them as ``fusemax/_templates/...``. :func:`template_root`
finds whichever copy this installation has. Template names are paths relative to that root, e.g.
``"mappings/binding/qk.yaml.j2"``.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Hashable, Iterable, Mapping

from fusemax.errors import FusemaxError
from fusemax.memo import BoundedMemo

if TYPE_CHECKING:  # jinja2 is imported on the first render: `fusemax model` and friends never need it
    import jinja2

_PACKAGE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def template_root() -> Path:
    """The folder holding ``arch/``, ``problems/`` and ``mappings/``.

    The installed copy (``fusemax/_templates``) wins; an editable install or a source checkout falls back
    to the repository root (two levels above ``src/fusemax``). Decided once per process: a FLAT dataflow
    search renders tens of thousands of templates.
    """
    bundled = _PACKAGE_DIR / "_templates"
    if (bundled / "problems").is_dir():
        return bundled
    return _PACKAGE_DIR.parent.parent


def flow_list(items: Iterable[Any]) -> str:
    """A YAML flow sequence, ``[A, B]``, as the artifact writes keep/bypass lists and permutations."""
    return "[" + ", ".join(str(item) for item in items) + "]"


def yaml_float(value: float) -> str:
    """A float that YAML 1.1 (PyYAML) reads back as a float: always with a dot and a signed exponent."""
    return f"{float(value):.10e}"


@lru_cache(maxsize=None)
def _environment(root: str) -> jinja2.Environment:
    import jinja2
    # StrictUndefined: a misspelt variable in a template is an error, never an empty string in a spec.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,  # templates are compiled once per process; rendering stays in microseconds
    )
    env.filters["flow"] = flow_list
    env.filters["yaml_float"] = yaml_float
    return env


def environment() -> jinja2.Environment:
    """The cached Jinja environment over :func:`template_root` (templates compile once per process)."""
    return _environment(str(template_root()))


#: Value types a context key may hold as they are: equal values of one of these types render alike.
_AS_IS = frozenset((str, int, bool, type(None), float))


def context_key(context: Mapping[str, Any]) -> Hashable:
    """A hashable key of a template context that tells apart every two contexts that may render
    differently, for memo keys: the variable names in order, each value's type (``1``, ``1.0`` and
    ``True`` are equal in Python but render differently) and the values.

    A context of plain scalars (the usual case) is keyed as it is, ~3x cheaper than encoding it; one
    holding a ``0.0`` (equal to ``-0.0``, which renders differently), lists or dicts is keyed by
    :func:`_frozen` of each value.
    """
    values = tuple(context.values())
    kinds = tuple(map(type, values))
    if _AS_IS.issuperset(kinds) and (float not in kinds or 0.0 not in values):
        return tuple(context), kinds, values
    return tuple(context), tuple(map(_frozen, values))


def _frozen(value: Any) -> Hashable:
    """``value`` as a hashable tuple tagged with its type at every level (floats by their repr, so
    ``-0.0`` is not ``0.0``; anything else by its repr)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return kind, value
    if kind is float:
        return kind, repr(value)
    if kind is dict:
        return kind, tuple((_frozen(key), _frozen(item)) for key, item in value.items())
    if kind is list or kind is tuple:
        return kind, tuple(_frozen(item) for item in value)
    return kind, repr(value)


def render_template(name: str, **context: Any) -> str:
    """Render one template (path relative to :func:`template_root`) with ``context``.

    A missing template or an undefined variable raises :class:`~fusemax.errors.FusemaxError` naming it.
    Renders are memoised per process (a FLAT search renders the same Einsum for hundreds of candidates).
    """
    names = _variables(name)
    key = (name, context_key(context if names is None else {k: context[k] for k in names if k in context}))
    text = _RENDERED.get(key)
    if text is None:
        text = _RENDERED.keep(key, _render(name, context))
    return text


_RENDERED: BoundedMemo[tuple[str, Hashable], str] = BoundedMemo(65536)


@lru_cache(maxsize=None)
def _variables(name: str) -> tuple[str, ...] | None:
    """The context variables template ``name`` can read, through the templates it includes or imports (which
    may see its context): the render memo keys on these alone, so the Einsums of a configuration, whose
    contexts differ in variables the architecture does not use, share its arch.yaml. None when a template is
    chosen at render time (the whole context is the key) or a template cannot be read (rendering says why)."""
    import jinja2
    import jinja2.meta
    env = environment()
    found: set[str] = set()
    todo, seen = [name], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            source = env.loader.get_source(env, current)[0]  # type: ignore[union-attr]
            tree = env.parse(source)
        except jinja2.TemplateError:
            return None
        found |= jinja2.meta.find_undeclared_variables(tree)
        for referenced in jinja2.meta.find_referenced_templates(tree):
            if referenced is None:
                return None
            todo.append(referenced)
    return tuple(sorted(found))


def _render(name: str, context: dict[str, Any]) -> str:
    import jinja2
    try:
        return environment().get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise FusemaxError(f"template not found under {template_root()}", source=str(exc.name)) from None
    except jinja2.UndefinedError as exc:
        raise FusemaxError(f"template variable missing: {exc.message}", source=name) from None
