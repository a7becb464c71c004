"""The render memo: a context renders once, and two contexts that render differently never share a text."""
from __future__ import annotations

import jinja2
import pytest

from fusemax import templates


@pytest.fixture
def printing_template(monkeypatch):
    """Template ``t`` prints ``x``; returns the list of contexts actually rendered (memo misses)."""
    env = jinja2.Environment(loader=jinja2.DictLoader({"t": "{{ x }}"}), undefined=jinja2.StrictUndefined)
    monkeypatch.setattr(templates, "environment", lambda: env)
    monkeypatch.setattr(templates, "_RENDERED", {})
    rendered = []
    render = templates._render
    monkeypatch.setattr(templates, "_render", lambda name, ctx: rendered.append(ctx) or render(name, ctx))
    return rendered


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
