"""Where the spec templates live, and the one Jinja environment that renders them.

The templates (``arch/``, ``problems/``, ``mappings/``) sit at the repository root so researchers can
edit them next to the code; the wheel bundles them as ``fusemax/_templates/...``. :func:`template_root`
finds whichever copy this installation has. Template names are paths relative to that root, e.g.
``"mappings/binding/qk.yaml.j2"``.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from fusemax.errors import FusemaxError

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


def context_key(context: Mapping[str, Any]) -> str:
    """A template context as text that tells every two contexts apart (JSON, sorted keys; repr of the
    rest), for memo keys."""
    return json.dumps(context, sort_keys=True, default=repr)


def render_template(name: str, **context: Any) -> str:
    """Render one template (path relative to :func:`template_root`) with ``context``.

    A missing template or an undefined variable raises :class:`~fusemax.errors.FusemaxError` naming it.
    Renders are memoised per process (a FLAT search renders the same Einsum for hundreds of candidates).
    """
    key = (name, context_key(context))
    text = _RENDERED.get(key)
    if text is None:
        if len(_RENDERED) >= _RENDERED_MAX:  # bounded: a long sweep renders far more than it repeats
            _RENDERED.clear()
        text = _RENDERED[key] = _render(name, context)
    return text


_RENDERED: dict[tuple[str, str], str] = {}
_RENDERED_MAX = 65536


def _render(name: str, context: dict[str, Any]) -> str:
    import jinja2
    try:
        return environment().get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise FusemaxError(f"template not found under {template_root()}", source=str(exc.name)) from None
    except jinja2.UndefinedError as exc:
        raise FusemaxError(f"template variable missing: {exc.message}", source=name) from None
