"""The render memo: a context renders once, and two contexts that render differently never share a text."""
from __future__ import annotations

import jinja2
import pytest

from fusemax import templates
from fusemax.memo import BoundedMemo


def _memo_over(monkeypatch, sources: dict[str, str]) -> list:
    """render_template over the templates ``sources`` (name -> text) with an empty memo; returns the list of
    contexts actually rendered (memo misses)."""
    env = jinja2.Environment(loader=jinja2.DictLoader(sources), undefined=jinja2.StrictUndefined)
    monkeypatch.setattr(templates, "environment", lambda: env)
    monkeypatch.setattr(templates, "_RENDERED", BoundedMemo(64))
    templates._variables.cache_clear()
    rendered: list = []
    render = templates._render
    monkeypatch.setattr(templates, "_render", lambda name, ctx: rendered.append(ctx) or render(name, ctx))
    return rendered


@pytest.fixture
def printing_template(monkeypatch):
    """Template ``t`` prints ``x``; returns the list of contexts actually rendered (memo misses)."""
    yield _memo_over(monkeypatch, {"t": "{{ x }}"})
    templates._variables.cache_clear()


# Each group: values equal in Python (or as JSON) whose renderings differ.
@pytest.mark.parametrize("values, texts", [
    ([1, 1.0, True], ["1", "1.0", "True"]),
    ([0, 0.0, -0.0, False], ["0", "0.0", "-0.0", "False"]),
    ([[1], (1,), [1.0], [True]], ["[1]", "(1,)", "[1.0]", "[True]"]),
    ([{1: 2}, {"1": 2}, {1: 2.0}, {True: 2}], ["{1: 2}", "{'1': 2}", "{1: 2.0}", "{True: 2}"]),
    ([{"a": 1, "b": 2}, {"b": 2, "a": 1}], ["{'a': 1, 'b': 2}", "{'b': 2, 'a': 1}"]),
    ([[-0.0], [0.0]], ["[-0.0]", "[0.0]"]),
])
def test_contexts_that_render_differently_get_their_own_text(printing_template, values, texts):
    assert [templates.render_template("t", x=v) for v in values] == texts
    assert len({templates.context_key({"x": v}) for v in values}) == len(values)


def test_an_equal_context_is_rendered_once(printing_template):
    for _ in range(3):
        assert templates.render_template("t", x=3, y=[1, {"a": 2.5}], z=None) == "3"
        assert templates.render_template("t", x=1.5, y="s") == "1.5"
    assert len(printing_template) == 2


@pytest.fixture
def template_set(monkeypatch):
    """Templates that include, import with context and choose a template at render time; returns the
    contexts actually rendered (memo misses)."""
    yield _memo_over(monkeypatch, {
        "page": "{{ x }}-{% include 'part' %}",
        "part": "{{ y }}",
        "macros": "{% macro m() %}{{ G }}{% endmacro %}",
        "user": "{% from 'macros' import m with context %}{{ m() }}",
        "dynamic": "{% include which %}",
    })
    templates._variables.cache_clear()


def test_the_memo_keys_on_the_variables_a_template_and_what_it_includes_or_imports_read(template_set):
    # a variable nobody reads does not cost a render ...
    assert templates.render_template("page", x=1, y=2, unused="a") == "1-2"
    assert templates.render_template("page", x=1, y=2, unused="b") == "1-2"
    assert len(template_set) == 1
    # ... but one read only by the included template, or by an imported macro, does
    assert templates.render_template("page", x=1, y=3, unused="a") == "1-3"
    assert [templates.render_template("user", G=g, unused=0) for g in (1, 2, 1)] == ["1", "2", "1"]
    assert len(template_set) == 4  # page twice, user for G = 1 and 2
    assert templates._variables("page") == ("x", "y") and templates._variables("user") == ("G",)


def test_a_template_chosen_at_render_time_keys_on_the_whole_context(template_set):
    assert templates._variables("dynamic") is None
    assert templates.render_template("dynamic", which="part", y=1) == "1"
    assert templates.render_template("dynamic", which="part", y=1, other=1) == "1"
    assert len(template_set) == 2
