"""A per-process memo with a bound: sweeps look the same texts, keys and tilings up thousands of times, but
a long sweep also computes far more than it repeats, so a memo that is full forgets everything and starts
again (cheaper than tracking what was used last, and the next configuration's keys differ anyway)."""
from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(dict[K, V]):
    """A dict of at most ``size`` entries: :meth:`keep` empties it first when it is full. Keep only values
    that are never changed in place (callers share them) and only what succeeded (an error is not kept)."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def keep(self, key: K, value: V) -> V:
        """Store ``value`` under ``key`` (after emptying a full memo) and return it."""
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value
