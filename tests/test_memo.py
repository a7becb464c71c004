"""The bounded memo the sweeps' hot paths share: it holds at most its size, forgetting everything when full."""
from __future__ import annotations

from fusemax.memo import BoundedMemo


def test_keep_stores_and_returns_the_value_and_a_full_memo_starts_again():
    memo: BoundedMemo[str, int] = BoundedMemo(3)
    assert [memo.keep(k, v) for k, v in (("a", 1), ("b", 2), ("c", 3))] == [1, 2, 3]
    assert dict(memo) == {"a": 1, "b": 2, "c": 3}
    assert memo.keep("d", 4) == 4
    assert dict(memo) == {"d": 4}          # full at 3: emptied before the fourth, never above its size
    assert memo.get("a") is None and memo["d"] == 4
