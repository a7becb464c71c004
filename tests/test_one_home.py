"""One home per fact (issue 26): each of the paper's constants is defined once in ``src/fusemax`` and
imported everywhere else, so changing a fact is one edit and no copy can drift from it.

:data:`FACTS` lists each fact with its home (module, name); the test checks the home holds that value and
then scans the syntax tree of every ``src/fusemax/**/*.py`` for a literal copy outside the home.
Comments, docstrings and other string statements are not code and are not scanned; templates (``arch/``,
``problems/``, ...) are not Python and are out of scope.

What counts as a copy (the precise rule):

* **unambiguous values**, wherever they stand: a number equal to the clock (940e6) or to the artifact's
  cycle (1.0638297873e-9); the DRAM bandwidth written ``400 * 2**30`` or as its value; the Pareto length
  written ``256 * 2**10``; a tuple, list or set literal of exactly the paper's models or of exactly its
  lengths (in any order); a string that is exactly a phase (``prefill``, ``decode``) or a backend name
  (``builtin``, ``timeloop``); the study's model list (likewise) and its lengths written
  ``tuple(2 ** k for k in range(13))``. A single model name (``"BERT"`` in a figure of BERT alone) is a choice of
  model, not the list, and is not flagged.
* **ambiguous numbers** only where the code names what they mean: 256 and 2 are everywhere (a cache size,
  a squared dimension), so 256 is flagged only as the value given to a name that is the PE dimension
  (``pe_dim``, ``pe_1d``, ``pe``: a parameter's default, a keyword argument, an assignment or a
  comparison with it) and 2 likewise only for the word size (``word_bytes``), 262144 (256K) only for
  ``seq_len`` and 64 only for ``batch`` (the paper's batch).

A home may write each fact it holds once (its definition). A spelling may be two facts: ``builtin`` is
also the name of the builtin energy estimator (:data:`fusemax.energy.ESTIMATOR`), listed as a fact of its own.
"""
from __future__ import annotations

import ast
import importlib
import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

import fusemax

SRC = Path(fusemax.__file__).resolve().parent


@dataclass(frozen=True)
class Fact:
    """One fact: its home ``module.name``, the value it holds there and how :func:`literal_copies` reports
    its definition (None where the definition is not a literal the scan flags, as ``PE_DIM = 256``)."""

    module: str
    name: str
    value: object
    definition: str | None = None


FACTS = (
    Fact("fusemax.paper", "PE_DIM", 256),
    Fact("fusemax.paper", "CLOCK_HZ", 940e6, "the clock"),
    Fact("fusemax.paper", "CYCLE_SECONDS", 1.0638297873e-9, "the cycle"),
    Fact("fusemax.paper", "DRAM_BANDWIDTH", 400 * 2**30, "the DRAM bandwidth"),
    Fact("fusemax.paper", "WORD_BYTES", 2),
    Fact("fusemax.paper", "MODELS", ("BERT", "TrXL", "T5", "XLM"), "the paper's models"),
    Fact("fusemax.paper", "SEQ_LENS", ("1K", "4K", "16K", "64K", "256K", "1M"), "the paper's lengths"),
    Fact("fusemax.paper", "PARETO_SEQ_LEN", 256 * 2**10, "the Pareto length"),
    Fact("fusemax.workload", "DEFAULT_BATCH", 64),
    Fact("fusemax.experiments.grid", "MODELS",
         ("Pythia-14M", "BERT", "BERT-large", "Llama-2-7B", "Llama-3-8B", "OPT-66B"), "the study's models"),
    Fact("fusemax.experiments.grid", "LENGTHS", tuple(2 ** k for k in range(13)), "the study's lengths"),
    Fact("fusemax.workload", "PREFILL", "prefill", "'prefill'"),
    Fact("fusemax.workload", "DECODE", "decode", "'decode'"),
    Fact("fusemax.backends.names", "BUILTIN", "builtin", "'builtin'"),
    Fact("fusemax.backends.names", "TIMELOOP", "timeloop", "'timeloop'"),
    # the same spelling as a fact above, but another fact: the builtin energy estimator, beside Accelergy
    Fact("fusemax.energy", "ESTIMATOR", "builtin", "'builtin'"),
)

#: Names whose value means the PE dimension, the word size, a sequence length (the ambiguous numbers).
NAMED = {"pe_dim": 256, "pe_1d": 256, "pe": 256, "word_bytes": 2, "seq_len": 256 * 2**10, "batch": 64}

_STRINGS = {"prefill", "decode", "builtin", "timeloop"}
_NUMBERS = {940e6: "the clock", 1.0638297873e-9: "the cycle", 400 * 2**30: "the DRAM bandwidth"}
_LISTS = {frozenset(("BERT", "TrXL", "T5", "XLM")): "the paper's models",
          frozenset(("1K", "4K", "16K", "64K", "256K", "1M")): "the paper's lengths",
          frozenset(("Pythia-14M", "BERT", "BERT-large", "Llama-2-7B", "Llama-3-8B", "OPT-66B")): "the study's models"}
#: Expressions written out as they stand in their home (``ast.unparse``'s spelling).
_EXPRESSIONS = {"tuple((2 ** k for k in range(13)))": "the study's lengths"}


def _is_number(node: ast.AST, value: float) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool) and node.value == value)


def _product(node: ast.AST, factor: int, exponent: int) -> bool:
    """``factor * 2**exponent`` as written."""
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and _is_number(node.left, factor)
            and isinstance(node.right, ast.BinOp) and isinstance(node.right.op, ast.Pow)
            and _is_number(node.right.left, 2) and _is_number(node.right.right, exponent))


def _named(name: str | None, value: ast.AST | None) -> str | None:
    """Why ``name = value`` is a copy of an ambiguous number, or None."""
    if name is None or value is None:
        return None
    key = name.rsplit(".", 1)[-1]
    if key in NAMED and (_is_number(value, NAMED[key]) or (key == "seq_len" and _product(value, 256, 10))):
        return f"{key} = {ast.unparse(value)}"
    return None


def _target(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _statement_strings(tree: ast.AST) -> set[int]:
    """Ids of the string constants that are whole statements: docstrings and other prose, not code."""
    return {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}


def literal_copies(source: str) -> list[str]:
    """``line: what`` for every literal copy of a fact in the Python ``source`` (see the module doc)."""
    tree = ast.parse(source)
    prose = _statement_strings(tree)
    found: list[tuple[int, str]] = []

    def flag(node: ast.AST, what: str) -> None:
        found.append((getattr(node, "lineno", 0), what))

    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in prose:
            if isinstance(node.value, str) and node.value in _STRINGS:
                flag(node, repr(node.value))
            elif any(_is_number(node, v) for v in _NUMBERS):
                flag(node, _NUMBERS[node.value])
        elif isinstance(node, ast.Call) and ast.unparse(node) in _EXPRESSIONS:
            flag(node, _EXPRESSIONS[ast.unparse(node)])
        elif isinstance(node, ast.BinOp) and _product(node, 400, 30):
            flag(node, "the DRAM bandwidth")
        elif isinstance(node, ast.BinOp) and _product(node, 256, 10):
            flag(node, "the Pareto length")
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            names = frozenset(e.value for e in node.elts)  # type: ignore[attr-defined]
            if names in _LISTS and len(names) == len(node.elts):
                flag(node, _LISTS[names])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            pairs = [*zip(positional[len(positional) - len(args.defaults):], args.defaults),
                     *zip(args.kwonlyargs, args.kw_defaults)]
            for arg, default in pairs:
                if why := _named(arg.arg, default):
                    flag(default, f"default {why}")
        elif isinstance(node, ast.keyword):
            if why := _named(node.arg, node.value):
                flag(node.value, f"keyword {why}")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if why := _named(_target(target), node.value):
                    flag(node, why)
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for a, b in itertools.pairwise(sides):
                why = _named(_target(a), b) or _named(_target(b), a)
                if why:
                    flag(node, f"comparison {why}")
    return [f"{line}: {what}" for line, what in sorted(found)]


def _module_path(module: str) -> Path:
    parts = module.split(".")[1:]
    path = SRC.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@pytest.mark.parametrize("fact", FACTS, ids=lambda f: f"{f.module}.{f.name}")
def test_each_fact_is_defined_in_its_home(fact):
    assert getattr(importlib.import_module(fact.module), fact.name) == fact.value


def test_no_literal_copy_of_a_fact_outside_its_home():
    """Every literal copy is an error, but each home's one definition of each fact it holds."""
    allowed: dict[Path, list[str]] = {}
    for fact in FACTS:
        if fact.definition is not None:
            allowed.setdefault(_module_path(fact.module), []).append(fact.definition)
    copies = []
    for path in sorted(SRC.rglob("*.py")):
        definitions = list(allowed.get(path, []))
        for copy in literal_copies(path.read_text()):
            what = copy.split(": ", 1)[1]
            if what in definitions:
                definitions.remove(what)
            else:
                copies.append(f"{path.relative_to(SRC.parent)}:{copy}")
    assert not copies, "literal copies of the paper's facts (import them from their home):\n" + "\n".join(copies)


@pytest.mark.parametrize("planted, what", [
    ("def f(pe_dim: int = 256): pass", "default pe_dim = 256"),
    ("def f(*, word_bytes=2): pass", "default word_bytes = 2"),
    ("Hardware(pe_dim=256)", "keyword pe_dim = 256"),
    ("x = spill(a, b, word_bytes=2)", "keyword word_bytes = 2"),
    ("self.pe_dim = 256", "pe_dim = 256"),
    ("ok = hw.pe_dim == 256", "comparison pe_dim = 256"),
    ("clock = 940e6", "the clock"),
    ("clock = 940_000_000", "the clock"),
    ("cycle = 1.0638297873e-9", "the cycle"),
    ("bw = 400 * 2**30", "the DRAM bandwidth"),
    ("n = 256 * 2**10", "the Pareto length"),
    ("def f(seq_len=262144): pass", "default seq_len = 262144"),
    ("Point('binding', 'BERT', 1024, batch=64)", "keyword batch = 64"),
    ("MODELS = ('BERT', 'TrXL', 'T5', 'XLM')", "the paper's models"),
    ("models = ['XLM', 'T5', 'TrXL', 'BERT']", "the paper's models"),
    ("LENGTHS = ('1K', '4K', '16K', '64K', '256K', '1M')", "the paper's lengths"),
    ("lengths = tuple(2 ** k for k in range(13))", "the study's lengths"),
    ("if phase == 'prefill': pass", "'prefill'"),
    ("PHASES = ('prefill', 'decode')", "'prefill'"),
    ("parser.add_argument('--backend', choices=('builtin', 'timeloop'))", "'builtin'"),
])
def test_a_planted_copy_is_found(planted, what):
    found = literal_copies(planted)
    assert any(what in f for f in found), found


@pytest.mark.parametrize("innocent", [
    '"""The paper runs at 940e6 Hz on 256 x 256 PEs of 2-byte words, prefill or decode."""',
    "def f():\n    'phase: prefill'\n    return 1",
    "# clock = 940e6",
    "cache = lru_cache(maxsize=256)",
    "x = n * 256",
    "side = 2",
    "def f(pe_dim: int = PE_DIM, word_bytes: int = WORD_BYTES): pass",
    "figure = ('BERT',)",
    "label = f'{phase} prefill-like'",
    "models = ('BERT', 'TrXL', 'T5')",
])
def test_innocent_code_is_not_flagged(innocent):
    assert literal_copies(innocent) == []
