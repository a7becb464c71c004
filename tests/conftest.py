"""Shared pytest helpers."""
from pathlib import Path

import pytest


def shared_dir() -> Path:
    """The conformance corpus: ``shared/conformance`` beside the checkout (skip the test when absent)."""
    path = (Path(__file__).resolve().parents[1] / ".." / "shared" / "conformance").resolve()
    if not path.is_dir():
        pytest.skip("shared/conformance not found beside the checkout")
    return path
