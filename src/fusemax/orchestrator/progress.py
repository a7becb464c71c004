"""Progress of a sweep: a tqdm bar (rate, ETA) on a terminal, plain log lines otherwise (CI, files).

While jobs run, a heartbeat repeats the line (or redraws the bar) every ``every_seconds`` even when no job
has finished, so an hour-long Timeloop search never looks like a hung run.

The ETA adds up each kind of item (mapper searches, evaluations) at that kind's own pace: a sweep runs
its slow searches first, and one overall rate would price thousands of millisecond evaluations as searches
(15x too pessimistic in a long sweep). A kind with items left but too few finished to have a pace has no
estimate: the line then says ``ETA unknown``, or ``ETA >N s`` when the other kinds alone need N s.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Sequence, TextIO

#: Finished items of a kind before its pace counts: the first few finish together (one per worker).
MIN_PACE_ITEMS = 3


class Progress:
    """``update()`` after each finished item (a job, or a point while planning); ``close()`` at the end.
    ``stream=None`` is silent; ``unit`` names the items in the rate; ``kinds`` gives each item's kind (for
    the ETA, see the module doc; ``update(kind=...)`` names the kind that finished)."""

    def __init__(self, total: int, stream: TextIO | None, desc: str = "jobs", every_seconds: float = 10.0,
                 unit: str = "job", kinds: Sequence[str] | None = None):
        self.total, self.done, self.stream, self.desc, self.unit = total, 0, stream, desc, unit
        self.every = every_seconds
        self.start = self.last = time.monotonic()
        self._left = Counter(kinds) if kinds is not None else Counter({"": total})
        # kind -> (when its items started finishing, its last finish, items finished); a kind's items start
        # when the items before them free the workers, so its clock starts at the last earlier finish
        self._finished: dict[str, tuple[float, float, int]] = {}
        self._last_finish = self.start
        self.bar = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._heart = None
        if stream is not None and total and getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}, {rate_fmt}{postfix}]")
        if stream is not None and total and every_seconds > 0:
            self._heart = threading.Thread(target=self._beat_until_closed, name="fusemax-heartbeat", daemon=True)
            self._heart.start()

    def update(self, n: int = 1, kind: str = "") -> None:
        with self._lock:
            self.done += n
            now = time.monotonic()
            self._left[kind] -= n
            started, _, count = self._finished.get(kind, (self._last_finish, now, 0))
            self._finished[kind] = (started, now, count + n)
            self._last_finish = now
            if self.bar is not None:
                self.bar.set_postfix_str(self.eta(), refresh=False)
                self.bar.update(n)
                return
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

    def eta(self) -> str:
        """``ETA N s`` from each kind's pace, or ``ETA unknown`` / ``ETA >N s`` (see the module doc)."""
        seconds, unknown = 0.0, False
        for kind, left in self._left.items():
            if left <= 0:
                continue
            started, last, count = self._finished.get(kind, (0.0, 0.0, 0))
            if count < MIN_PACE_ITEMS:
                unknown = True
                continue
            seconds += left * (last - started) / count  # the pace with every worker busy on this kind
        if unknown:
            return f"ETA >{seconds:.0f}s" if seconds >= 1 else "ETA unknown"
        return f"ETA {seconds:.0f}s"

    def line(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        return (f"{self.desc}: {self.done}/{self.total} ({self.done / self.total:.0%}) in {elapsed:.1f}s, "
                f"{self.done / elapsed:.1f} {self.unit}s/s, {self.eta()}")

    def close(self) -> None:
        self._stopped.set()
        if self._heart is not None:
            self._heart.join()
        if self.bar is not None:
            self.bar.close()
