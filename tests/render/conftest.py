"""Shared helpers of the render tests: the artifact's inputs beside the checkout, YAML -> factor tables."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.shared_data import shared_dir



@pytest.fixture(scope="session")
def artifact_inputs() -> Path:
    """``shared/reference/fusemax-artifact/inputs``."""
    return shared_dir("reference", "fusemax-artifact", "inputs")


@pytest.fixture(scope="session")
def flat_validation_csv() -> Path:
    return shared_dir("reference", "fusemax-artifact", "results", "flat_validation.csv")


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
