"""Progress of a sweep: a tqdm bar (rate, ETA) on a terminal, plain log lines otherwise (CI, files)."""
from __future__ import annotations

import time
from typing import TextIO


class Progress:
    """``update()`` after each finished job; ``close()`` at the end. ``stream=None`` is silent."""

    def __init__(self, total: int, stream: TextIO | None, desc: str = "jobs", every_seconds: float = 10.0):
        self.total, self.done, self.stream, self.desc = total, 0, stream, desc
        self.every = every_seconds
        self.start = self.last = time.monotonic()
        self.bar = None
        if stream is not None and total and getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit="job", file=stream, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if self.stream is not None and (now - self.last >= self.every or self.done == self.total):
            self.last = now
            print(self.line(now), file=self.stream, flush=True)

    def line(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate else float("inf")
        return (f"{self.desc}: {self.done}/{self.total} ({self.done / self.total:.0%}) in {elapsed:.1f}s, "
                f"{rate:.1f} jobs/s, ETA {eta:.0f}s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
