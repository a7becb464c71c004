"""Child processes that die with their parent: job pools (:mod:`fusemax.orchestrator.executors`), the
report's drawing pool (:mod:`fusemax.reports.build`) and ``run_all.py``'s background painter.

Here, not in the orchestrator, so that reports stay independent of the drivers.
"""
from __future__ import annotations

import gc
import os
import signal

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

#: The cyclic garbage collector's first threshold in fusemax's commands (Python's default: 700). A sweep
#: allocates millions of short-lived objects (YAML documents, statistics, rows) and few cycles, so at the
#: default the collector walks the growing heap again and again: 3.7 CPU-s of a cold ``run_all.py`` (about
#: 7 %), 0.6 CPU-s at this threshold. Cycles are still collected, only in larger batches.
GC_THRESHOLD = 10_000


def collect_less() -> None:
    """Set :data:`GC_THRESHOLD` for this process and the workers it forks (call at a command's start)."""
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def worker_init(parent: int) -> None:
    """Set-up of a worker process of ``parent`` (a pool's ``initializer``, or the first call of a
    ``multiprocessing.Process`` target): die with the parent, even a parent killed with SIGKILL, and leave
    Ctrl-C to it. Job pools and report-drawing pools both use it."""
    # Ctrl-C reaches the whole process group; only the parent should react (cancel, keep what finished).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent's SIGTERM handler (forked into us) would turn the parent's terminate() into an exception
    # that the pool hands back as a result; a worker must simply die.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # A parent killed with SIGKILL runs no clean-up: without this its workers would live on, reparented
    # to PID 1. Linux delivers SIGKILL to us when the parent dies; elsewhere a watchdog thread polls.
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        import threading
        import time

        def watchdog() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)
        threading.Thread(target=watchdog, name="fusemax-parent-watchdog", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    # What the parent had built (imports, rendered specs, results) is inherited, not garbage: the cyclic
    # collector need not walk it again in every collection of this process (nor touch its pages).
    gc.freeze()
