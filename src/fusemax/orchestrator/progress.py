"""Progress of a sweep: a tqdm bar (rate, ETA) on a terminal, plain log lines otherwise (CI, files).

While jobs run, a heartbeat repeats the line (or redraws the bar) every ``every_seconds`` even when no job
has finished, so an hour-long Timeloop search never looks like a hung run.
"""
from __future__ import annotations

import threading
import time
from typing import TextIO


class Progress:
    """``update()`` after each finished item (a job, or a point while planning); ``close()`` at the end.
    ``stream=None`` is silent; ``unit`` names the items in the rate."""

    def __init__(self, total: int, stream: TextIO | None, desc: str = "jobs", every_seconds: float = 10.0,
                 unit: str = "job"):
        self.total, self.done, self.stream, self.desc, self.unit = total, 0, stream, desc, unit
        self.every = every_seconds
        self.start = self.last = time.monotonic()
        self.bar = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._heart = None
        if stream is not None and total and getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True)
        if stream is not None and total and every_seconds > 0:
            self._heart = threading.Thread(target=self._beat_until_closed, name="fusemax-heartbeat", daemon=True)
            self._heart.start()

    def update(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            if self.bar is not None:
                self.bar.update(n)
                return
            now = time.monotonic()
            if self.stream is not None and (now - self.last >= self.every or self.done == self.total):
                self.last = now
                print(self.line(now), file=self.stream, flush=True)

    def beat(self) -> None:
        """The heartbeat: the progress line (or a redrawn bar) when nothing was printed for ``every`` s."""
        with self._lock:
            now = time.monotonic()
            if self.bar is not None:
                self.bar.refresh()
            elif self.stream is not None and now - self.last >= self.every and self.done < self.total:
                self.last = now
                print(self.line(now) + ", still running", file=self.stream, flush=True)

    def _beat_until_closed(self) -> None:
        while not self._stopped.wait(self.every):
            self.beat()

    def line(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate else float("inf")
        return (f"{self.desc}: {self.done}/{self.total} ({self.done / self.total:.0%}) in {elapsed:.1f}s, "
                f"{rate:.1f} {self.unit}s/s, ETA {eta:.0f}s")

    def close(self) -> None:
        self._stopped.set()
        if self._heart is not None:
            self._heart.join()
        if self.bar is not None:
            self.bar.close()
