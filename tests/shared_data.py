"""Where the reference material lives: ``shared/`` beside the checkout (never inside it).

Import from here (``from tests.shared_data import SHARED, shared_dir``) rather than from a conftest:
conftest module names are ambiguous across test folders.
"""
from __future__ import annotations

from pathlib import Path

import pytest

#: ``shared/`` beside the repository root, or None when this machine does not have it.
SHARED: Path | None = (Path(__file__).resolve().parents[1].parent / "shared")
if not SHARED.is_dir():
    SHARED = None


def shared_dir(*parts: str) -> Path:
    """``shared/<parts...>``; skips the calling test, naming what is missing, when it is absent."""
    if SHARED is None:
        pytest.skip("shared/ not found beside the checkout (reference data for this test)")
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found (reference data for this test)")
    return path
