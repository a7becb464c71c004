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


def _bomb(levels: int) -> str:
    names = "abcdefghi"[:levels]
    return "".join(f"{n}: &{n} [" + ",".join(['"lol"'] * 9 if i == 0 else [f"*{names[i - 1]}"] * 9) + "]\n"
                   for i, n in enumerate(names))


def test_duplicate_key_is_refused_with_its_line(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  X: {D: 768, H: 12, E: 64, S: 3072}\n  X: {D: 4096, H: 32, E: 128, S: 11008}\n")
    with pytest.raises(SpecError, match=rf"{path}: line 3: duplicate key 'X'"):
        yamlio.load(path)


def test_merge_keys_may_override_what_they_merge():
    assert yamlio.loads("base: &b {x: 1, y: 2}\nitem: {<<: *b, y: 3}\n")["item"] == {"x": 1, "y": 3}


def test_alias_bomb_is_refused_before_it_expands():
    with pytest.raises(SpecError, match=r"<string>: line \d+: aliases expand to more than"):
        yamlio.loads(_bomb(9) + "models: *i\n")


def test_alias_bomb_under_a_key_nobody_reads_costs_nothing():
    assert yamlio.loads(_bomb(9) + "problem: {x: 1}\nvariables: *i\n", keys=("problem",)) == {"problem": {"x": 1}}


def test_non_utf8_file_is_one_error_with_its_line(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"problem:\n  x: 1\n  y: \xfe\xff\n")
    with pytest.raises(SpecError, match=rf"{path}: line 3: not UTF-8 text"):
        yamlio.load(path)


def test_size_cap_stops_an_endless_input(monkeypatch):
    monkeypatch.setattr(yamlio, "MAX_BYTES", 1 << 20)
    with pytest.raises(SpecError, match=r"/dev/zero: file larger than 1 MiB"):
        yamlio.load("/dev/zero")


def test_directory_is_named_as_such(tmp_path):
    with pytest.raises(SpecError, match="Is a directory"):
        yamlio.load(tmp_path)


@pytest.mark.parametrize("reader", ["models", "sweep", "spec", "ert", "mapper"])
def test_every_reader_goes_through_the_input_layer(reader, tmp_path):
    """Binary garbage in each kind of input file is the input layer's one error, not a traceback."""
    from fusemax.energy.tables import load_ert
    from fusemax.engine.spec import load_spec
    from fusemax.mapper.files import search_files
    from fusemax.orchestrator import load_sweep_file
    from fusemax.workload import load_models
    path = tmp_path / "input.yaml"
    path.write_bytes(b"\xfe" + bytes(range(256)) * 4)
    call = {"models": load_models, "sweep": load_sweep_file, "spec": load_spec, "ert": load_ert,
            "mapper": search_files}[reader]
    with pytest.raises(SpecError, match=rf"{path}: line \d+: not UTF-8 text"):
        call(path)


def test_python_tag_is_refused_even_under_a_key_nobody_reads():
    with pytest.raises(SpecError, match="line 2: unsupported YAML content"):
        yamlio.loads("problem: {x: 1}\nextra: !!python/object/apply:os.mkdir [x]\n", keys=("problem",))


def test_plain_documents_build_like_pyyaml_without_keeping_nodes():
    """The event builder of plain documents gives what PyYAML's safe loader gives (an independent truth),
    for every implicit scalar type, quoting, nesting and the empty document."""
    import datetime

    import yaml
    text = ("a: 1\nb: [0x1f, 1_000, 1.5e3, .inf, -.NaN, true, no, ~, null, '', \"7\", 2002-12-14]\n"
            "c: {d: {e: [[], {}, [x, {f: g}]]}, 12: twelve, 1.0: one, true: yes}\n"
            "when: 2001-12-14t21:59:43.10-05:00\nblock: |\n  two\n  lines\n")
    got, want = yamlio.loads(text), yaml.safe_load(text)
    assert repr(got) == repr(want)  # NaN != NaN: compare the spelling
    assert isinstance(got["when"], datetime.datetime) and got["b"][0] == 31
    assert yamlio.loads("") is None and yamlio.loads("# only a comment\n") is None
    assert yamlio.loads("--- 5\n") == 5


@pytest.mark.parametrize("text", [
    "a: 1\n1: x\n0x1: y\n",         # different texts, one int: PyYAML keeps the last, as the node path does
    "base: {x: 1}\nitem: {<<: {x: 2}, y: 3}\n",  # a merge key without an anchor
])
def test_plain_builder_agrees_with_pyyaml_on_its_edge_cases(text):
    import yaml
    assert yamlio.loads(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text, line", [
    ("a: 1\nb: 2\na: 3\n", 3),
    ("x:\n  1: a\n  1: b\n", 3),           # int keys
    ("x: {'k': 1, k: 2}\n", 1),            # quoted and plain spellings of one string
])
def test_duplicate_keys_are_refused_in_plain_documents(text, line):
    with pytest.raises(SpecError, match=rf"line {line}: duplicate key"):
        yamlio.loads(text)


def test_a_second_document_is_refused():
    with pytest.raises(SpecError, match="line 2: malformed YAML: but found another document"):
        yamlio.loads("a: 1\n---\nb: 2\n")


def test_big_texts_are_not_memoised(monkeypatch):
    """A text above MEMO_MAX_CHARS is built afresh: the memo would keep it and its document alive."""
    monkeypatch.setattr(yamlio, "MEMO_MAX_CHARS", 10)
    yamlio._parse.cache_clear()
    first = yamlio.loads("models: {X: {D: 1}}\n")
    assert yamlio._parse.cache_info().currsize == 0
    first["models"]["X"]["D"] = 2
    assert yamlio.loads("models: {X: {D: 1}}\n") == {"models": {"X": {"D": 1}}}


def test_loading_leaves_the_garbage_collector_as_it_was():
    import gc
    assert gc.isenabled()
    yamlio.loads("a: 1\n")
    with pytest.raises(SpecError):
        yamlio.loads("a: 1\na: 2\n")
    assert gc.isenabled()
    gc.disable()
    try:
        yamlio.loads("b: 1\n")
        assert not gc.isenabled()
    finally:
        gc.enable()


# --- dumps: libyaml's emitter where it writes what PyYAML's pure-Python emitter writes, else the latter

MAPPING_DOC = {"mapping": [
    {"target": "DRAM", "type": "temporal", "factors": ["M=4", "P=1"], "permutation": ["M", "P"]},
    {"target": "PE", "type": "spatial", "factors": ["P=16"], "permutation": ["P"], "split": 1},
    {"target": "DRAM", "type": "dataspace", "keep": ["A", "Z"], "bypass": []}]}

MAPPING_TEXT = """mapping:
- target: DRAM
  type: temporal
  factors: [M=4, P=1]
  permutation: [M, P]
- target: PE
  type: spatial
  factors: [P=16]
  permutation: [P]
  split: 1
- target: DRAM
  type: dataspace
  keep: [A, Z]
  bypass: []
"""


def _python_emitter(data):
    import yaml
    return yaml.dump(data, Dumper=yamlio._SpecDumper, sort_keys=False, default_flow_style=None, width=100)


def test_a_mapper_mapping_is_written_as_timeloop_mapper_writes_it():
    assert yamlio._emits_alike(MAPPING_DOC)  # the fast path serves the mapper's output
    assert yamlio.dumps(MAPPING_DOC) == MAPPING_TEXT


@pytest.mark.parametrize("data, text", [
    ("a", "a\n...\n"),                 # a lone scalar ends its document (libyaml leaves the marker out)
    (1.5, "1.5\n...\n"),
    ({"": 1}, "{? '' : 1}\n"),          # an empty key is a complex key (libyaml writes {'': 1})
    ({"a": {"": 1}}, "a: {? '' : 1}\n"),
])
def test_documents_libyaml_writes_differently_keep_pythons_text(data, text):
    assert yamlio.dumps(data) == text


@pytest.mark.parametrize("data", [
    {"k": "x\ty" * 40},                         # escaped and folded: libyaml breaks the line elsewhere
    {"k": ["é \u2028 " * 30]},
    {"k": {"a b: c " * 20: 1}},                 # a long key
    [{"k": "line\nbreak"}, "a " * 60],
    {"shared": (lambda x: [x, x])([1, 2])},    # shared lists get anchors
])
def test_documents_outside_the_plain_subset_are_written_by_the_python_emitter(data):
    assert not yamlio._emits_alike(data)
    assert yamlio.dumps(data) == _python_emitter(data)


def test_without_libyaml_dumps_writes_the_same(monkeypatch):
    tagged = {"architecture": {"nodes": [yamlio.TaggedNode("Component", {"name": "mac", "class": "intmac"})]}}
    fast = yamlio.dumps(MAPPING_DOC), yamlio.dumps(tagged)
    monkeypatch.setattr(yamlio, "_CSpecDumper", None)
    assert (yamlio.dumps(MAPPING_DOC), yamlio.dumps(tagged)) == fast
    assert fast[1] == "architecture:\n  nodes:\n  - !Component {name: mac, class: intmac}\n"


def test_shared_documents_are_the_memoised_ones_and_loads_copies_them():
    """loads_shared hands every caller of a text the same document (read-only by contract); loads hands
    each a copy of its own, so changing one changes no other caller's."""
    text = "a: {b: [1, 2]}\n"
    assert yamlio.loads_shared(text) is yamlio.loads_shared(text)
    mine = yamlio.loads(text)
    mine["a"]["b"].append(3)
    assert yamlio.loads_shared(text) == {"a": {"b": [1, 2]}} == yamlio.loads(text)
    with pytest.raises(SpecError, match=r"shared\.yaml: line 2: malformed YAML"):
        yamlio.loads_shared("a: [1", source="shared.yaml")


# --- the block subset: rendered specs read line by line, exactly as the event builder (and PyYAML) reads them

def _pyyaml(text):
    """PyYAML's own reading, with the parser yamlio builds on (libyaml's where installed)."""
    import yaml
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

BLOCK_TEXT = """# a problem as the templates write it
problem:
  version: '0.4'
  shape:
    name: M   # trailing comment
    dimensions: [B, H, M, P]
    data_spaces:
    - name: QK
      projection:
      - - - B
      - - - H
      -   - [M, 2]
    - name: M
      projection: []
      read_write: True
  instance:
    B: 64
    H: 12
    ratio: 0.5
    neg: -3
    hex: 0x10
    off: off
    none:
    nothing: null
    day: 2001-12-14
    spaced: a  b
    factors: [B=64, H=12 , 'M=1' ,P=1024]
1: one
mapping:
- target: DRAM
  type: temporal
  factors: B=1 H=1
- target: PE
  keep:
  - QK
  bypass:
-
- - x
  - y
"""


def test_block_subset_documents_are_what_pyyaml_reads():
    """Texts of the block subset (rendered specs) skip libyaml's events; what they give must be PyYAML's
    own document, types included (64 an int, True a bool, '0.4' a string, 0x10 sixteen, a date a date)."""
    assert yamlio._block_document(BLOCK_TEXT, None) is not None  # read by the block reader, not the builder
    got, want = yamlio.loads(BLOCK_TEXT), _pyyaml(BLOCK_TEXT)
    assert repr(got) == repr(want)
    assert got["problem"]["shape"]["data_spaces"][0]["projection"] == [[["B"]], [["H"]], [["M", 2]]]
    assert yamlio.loads(BLOCK_TEXT, keys=("problem",)) == {"problem": want["problem"]}
    assert yamlio.loads("# nothing\n\n") is None


@pytest.mark.parametrize("text", [
    "a: one\n  two\n",              # a plain scalar continued on the next line: "one two"
    "a:\n  one\n",                  # a scalar on a line of its own
    "- a\n  b\n",
    "a: [x,\n  y]\n",               # a flow sequence over two lines
    "a: b#c\n", "a: 'b #c'\n",      # '#' that is not a comment
    "a: {b: 1}\n", "a: b: c\n", "a: 'it''s'\n", "a: \"q\"\n", "a: =\n", "a: .5\n", "a: ~\n",
    "a: x, y\n", "a: [x, y,]\n", "a:\tb\n", "a: 1\r\nb: 2\r\n", "a: caf\u00e9\n",
    "--- \na: 1\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: |\n  text\n",
    "a:\n- x\n b: 1\n", "  a: 1\nb: 2\n", "a: 1\n- x\n", "- x\na: 1\n", "5\n",
    "1: a\n01: b\n",                # one int twice: PyYAML keeps the last
])
def test_texts_outside_the_block_subset_are_left_to_the_event_builder(text):
    import yaml
    with pytest.raises(yamlio._NotPlain):
        yamlio._block_document(text, None)
    try:
        want = _pyyaml(text)
    except yaml.YAMLError:
        with pytest.raises(SpecError):
            yamlio.loads(text)
    else:
        assert repr(yamlio.loads(text)) == repr(want)


def test_a_duplicate_key_in_a_block_text_is_still_refused_with_its_line():
    with pytest.raises(SpecError, match="line 4: duplicate key"):
        yamlio.loads("problem:\n  instance:\n    B: 64\n    B: 1\n")


def test_block_reader_agrees_with_pyyaml_on_mutated_specs():
    """Seeded random edits (characters that matter to YAML, indentation, repeated and cut lines) of spec
    texts: whatever the block reader accepts, PyYAML must read the same, and it must accept a good share."""
    import random

    base = [BLOCK_TEXT, MAPPING_TEXT]
    chars = list(" -:#[],'\n\tx0=.!&*{}|>\"?~%@1") + ["  ", "- ", ": ", "\n  ", "\n- ", " #", "yes", "1.5"]
    rng = random.Random(26)
    accepted = 0
    for _ in range(3000):
        text = rng.choice(base)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(text) + 1)
            edit = rng.random()
            if edit < 0.4:
                text = text[:i] + rng.choice(chars) + text[i:]
            elif edit < 0.7:
                text = text[:i] + text[i + rng.randint(1, 3):]
            else:
                lines = text.split("\n")
                j = rng.randrange(len(lines))
                lines.insert(j, lines[j]) if edit < 0.85 else lines.__setitem__(j, " " + lines[j])
                text = "\n".join(lines)
        try:
            got = yamlio._block_document(text, None)
        except yamlio._NotPlain:
            continue
        accepted += 1
        assert repr(got) == repr(_pyyaml(text)), text
    assert accepted > 300
