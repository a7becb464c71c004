"""Shared pytest helpers."""
from pathlib import Path

import pytest


def shared_dir() -> Path:
    """The ``shared/`` folder beside the checkout; the corpus is ``shared_dir() / "conformance"``.

    Skips the calling test when ``shared/conformance`` is absent.
    """
    path = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()
    if not (path / "conformance").is_dir():
        pytest.skip("shared/conformance not found beside the checkout")
    return path
