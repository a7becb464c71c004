"""Locate the shared reference data (``shared/`` beside the checkout) for the energy tests."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _shared_dir() -> Path:
    shared = REPO_ROOT.parent / "shared"
    if not shared.is_dir():
        pytest.skip("shared/ not found beside the checkout")
    return shared


@pytest.fixture(scope="session")
def artifact() -> Path:
    """``shared/reference/fusemax-artifact``."""
    path = _shared_dir() / "reference" / "fusemax-artifact"
    if not path.is_dir():
        pytest.skip("shared/reference/fusemax-artifact not found")
    return path


@pytest.fixture(scope="session")
def area_energy(artifact: Path) -> Path:
    return artifact / "inputs" / "area_energy"


def rel_err(got: float, want: float) -> float:
    """Relative error; for a zero reference, the absolute value (in the reference's units)."""
    return abs(got - want) / abs(want) if want else abs(got)
