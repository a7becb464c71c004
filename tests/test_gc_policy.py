"""fusemax's commands collect cyclic garbage in larger batches (a sweep allocates millions of short-lived
objects and few cycles), and a worker process does not walk what it inherited from its parent."""
from __future__ import annotations

import gc
import multiprocessing
import os

from fusemax.cli import main
from fusemax.processes import GC_THRESHOLD, worker_init


def test_a_command_raises_the_collectors_first_threshold_and_keeps_the_others():
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)   # Python's defaults
        assert main(["models"]) == 0
        assert gc.get_threshold() == (GC_THRESHOLD, 10, 10)
        assert GC_THRESHOLD > 700
    finally:
        gc.set_threshold(*before)


def _frozen(parent: int, answer) -> None:
    worker_init(parent)
    answer.send(gc.get_freeze_count())


def test_a_worker_freezes_what_it_inherited():
    inherited = [[i] for i in range(1000)]   # objects the collector tracks, alive in the parent
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_frozen, args=(os.getpid(), send))
    child.start()
    frozen = receive.recv()
    child.join()
    assert frozen >= len(inherited)
