"""Spec YAML is loaded safely: Timeloop tags yes, Python objects never."""
from __future__ import annotations

import pytest

from fusemax import yamlio
from fusemax.errors import SpecError

ARCH = """
architecture:
  nodes:
  - !Container
    name: system
  - !Component
    name: mac
    class: intmac
  - !Parallel
    nodes: []
"""


def test_timeloop_tags_become_tagged_mappings():
    nodes = yamlio.loads(ARCH)["architecture"]["nodes"]
    assert [n.tag for n in nodes] == ["Container", "Component", "Parallel"]
    assert nodes[1] == {"name": "mac", "class": "intmac"}


def test_tags_survive_a_dump_and_reload():
    data = yamlio.loads(ARCH)
    again = yamlio.loads(yamlio.dumps(data))
    assert again == data
    assert [n.tag for n in again["architecture"]["nodes"]] == ["Container", "Component", "Parallel"]


@pytest.mark.parametrize("payload", [
    "x: !!python/object/apply:os.system ['echo pwned']",
    "x: !!python/name:os.system",
    "x: !SomethingElse {a: 1}",
])
def test_foreign_tags_are_rejected_with_file_and_line(payload, tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("ok: 1\n" + payload + "\n")
    with pytest.raises(SpecError) as exc:
        yamlio.load(path)
    message = str(exc.value)
    assert str(path) in message and "line 2" in message and "unsupported YAML" in message


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(SpecError, match=r"broken\.yaml: line \d+: malformed YAML"):
        yamlio.load(path)


def test_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="cannot read file"):
        yamlio.load(tmp_path / "nope.yaml")
