"""Shared helpers of the render tests: the artifact's inputs beside the checkout, YAML -> factor tables."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def _top_level_helper():
    """``shared_dir`` of ``tests/conftest.py`` if the suite grows one (loaded by path: conftest module
    names are ambiguous across test folders)."""
    path = REPO_ROOT / "tests" / "conftest.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("_fusemax_tests_top_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "shared_dir", None)


def shared_dir() -> Path:
    """``shared/`` beside the checkout (the top-level conftest's helper wins if there is one)."""
    helper = _top_level_helper()
    if helper is not None:
        found = Path(helper())
        # tests/conftest.py's helper points at shared/conformance; we need shared/ itself.
        return found.parent if found.name == "conformance" else found
    shared = REPO_ROOT.parent / "shared"
    if not shared.is_dir():
        pytest.skip("shared/ not found beside the checkout")
    return shared


@pytest.fixture(scope="session")
def artifact_inputs() -> Path:
    """``shared/reference/fusemax-artifact/inputs``."""
    path = shared_dir() / "reference" / "fusemax-artifact" / "inputs"
    if not path.is_dir():
        pytest.skip("shared/reference/fusemax-artifact/inputs not found")
    return path


@pytest.fixture(scope="session")
def flat_validation_csv() -> Path:
    path = shared_dir() / "reference" / "fusemax-artifact" / "results" / "flat_validation.csv"
    if not path.is_file():
        pytest.skip("flat_validation.csv not found")
    return path


def load_plain(text: str):
    """Parse a mapping/problem (no Timeloop tags) quickly with the C loader when available."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def factor_table(mapping_yaml: str) -> dict[tuple[str, str], dict[str, int]]:
    """``{(target, "temporal"|"spatial"): {rank: factor}}`` of a rendered mapping."""
    table = {}
    for entry in load_plain(mapping_yaml)["mapping"]:
        if entry["type"] in ("temporal", "spatial"):
            table[(entry["target"], entry["type"])] = {
                rank: int(value) for rank, value in (f.split("=") for f in entry["factors"])}
    return table


def dataspaces(mapping_yaml: str) -> dict[str, tuple[list[str], list[str]]]:
    """``{target: (keep, bypass)}`` of a rendered mapping."""
    return {entry["target"]: (entry["keep"], entry["bypass"])
            for entry in load_plain(mapping_yaml)["mapping"] if entry["type"] == "dataspace"}


def permutation(mapping_yaml: str, target: str, kind: str = "temporal") -> list[str]:
    for entry in load_plain(mapping_yaml)["mapping"]:
        if entry["target"] == target and entry["type"] == kind:
            return entry["permutation"]
    raise KeyError(target)
