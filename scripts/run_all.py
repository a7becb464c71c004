#!/usr/bin/env python
"""Reproduce the paper and run the study: attention for 5 configurations x 4 models x 6 lengths, the
end-to-end layers on both platforms (Figs. 10-11) and the Pareto sweep (Fig. 12); then the study
(:mod:`fusemax.experiments.study`: FuseMax, FLAT and unfused, the whole layer, 6 models x lengths 1 ... 4K,
prefill and decode, batch 1 and 64, and the whole model's TTFT and TPOT) into ``OUT/study``; write the
figures and the HTML report, validate against the artifact's published rows (when ../shared is present)
and print both headlines and the whole-model summary.

    python scripts/run_all.py [--out DIR] [--jobs N] [--batch B] [--no-study] [--study-attention-to LEN]
                              [--layer-fusion none|fused]
                              [--backend builtin|timeloop] [--executor local|dask]

``--batch`` sets the attention sweep's batch (default 64, the paper's; validation is only meaningful there).
"""
from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path
from typing import Iterator

from fusemax import paper, results, validate
from fusemax.backends import BACKENDS, DEFAULT_BACKEND, get_backend
from fusemax.cli import sigterm_as_interrupt
from fusemax.cli.run import cache_dir, execute
from fusemax.configs import ATTENTION_CONFIGS, LAYER_FUSIONS, PLATFORMS
from fusemax.errors import FusemaxError
from fusemax.experiments import end2end, pareto, study, sweep
from fusemax.experiments.headline import format_headline, headline
from fusemax.experiments.layer import DEFAULT_LAYER_FUSION
from fusemax.experiments.wholemodel import format_model_summary
from fusemax.orchestrator import Cache
from fusemax.orchestrator.executors import check_scheduler
from fusemax.processes import collect_less, worker_init
from fusemax.reports import draw_paper_figures, write_report
from fusemax.workload import DEFAULT_BATCH, Hardware, mask_label, parse_seq_len, resolve_model

REPO = Path(__file__).resolve().parent.parent


#: The stages of a run, in order; ``benchmarks/bench_run_all.py`` times each under these names.
STAGES = ("paper attention", "end2end", "pareto", "study", "report", "validate+headline")


@contextlib.contextmanager
def _stage(timings: dict[str, tuple[float, float]] | None, name: str) -> Iterator[None]:
    """Record the wall time and the CPU time (this process's and its finished child processes': the job
    pools, the painter) of stage ``name`` in ``timings`` (None: not timed)."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    try:
        yield
    finally:
        if timings is not None:
            timings[name] = (time.perf_counter() - start, _cpu_seconds() - cpu)


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class _Painter:
    """A background process that draws the paper's figures while the study computes (the paper's results
    are complete by then, and the study leaves a core idle now and then), then, when :meth:`report` says the
    study's results are written, the whole report: its drawing pool is forked from this process, which has
    matplotlib imported, so the main process never imports it (a second import, about a second with both
    cores otherwise idle). Ctrl-C is the main process's to handle: it stops this one (:meth:`stop`); a main
    process killed outright takes this one with it (:func:`worker_init`)."""

    def __init__(self, out: str):
        self._go = multiprocessing.Event()
        self._answers, answer = multiprocessing.Pipe(duplex=False)
        self.process = multiprocessing.Process(target=_paint, args=(out, os.getpid(), self._go, answer))
        self.process.start()
        answer.close()   # the painter's end: once it exits, a read here ends instead of waiting forever

    def report(self) -> tuple[str, str] | None:
        """Let the painter write the report; ("ok", the page's path) or ("error", why), or None when the
        painter died without saying (the caller then writes the report itself)."""
        self._go.set()
        try:
            return self._answers.recv()
        except EOFError:
            return None
        finally:
            self.process.join()

    def stop(self) -> None:
        """End the painter now (the run stopped: its figures would not be published). SIGKILL, not SIGTERM:
        a painter stopped before :func:`worker_init` runs would still hold the main process's SIGTERM
        handler (an exception), and a forked child that raises there runs on as a copy of its parent.
        SIGKILL loses nothing SIGTERM's default action would keep; the painter's pool dies with it."""
        self.process.kill()
        self.process.join()


def _paint(out: str, parent: int, go: "multiprocessing.synchronize.Event",
           answers: "multiprocessing.connection.Connection") -> None:
    """The painter's work (see :class:`_Painter`). Whatever :func:`draw_paper_figures` could not draw, the
    report draws (and reports) itself, so nothing is said of it here."""
    worker_init(parent)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(null), contextlib.redirect_stdout(null):
            draw_paper_figures(out, workers=1)
    except Exception:
        pass
    go.wait()
    answers.send(_write_report(out))


def _write_report(out: str) -> tuple[str, str]:
    """:func:`write_report` of ``out``: ("ok", the page's path) or ("error", why)."""
    try:
        return "ok", str(write_report(out))
    except FusemaxError as exc:
        return "error", str(exc)


def _length(text: str) -> int:
    try:
        return parse_seq_len(text)
    except FusemaxError as exc:  # argparse then names the flag and exits 2
        raise argparse.ArgumentTypeError(exc.reason) from None


def main(argv: list[str] | None = None, timings: dict[str, tuple[float, float]] | None = None) -> int:
    """Run everything; ``timings`` (when given) receives the wall and CPU seconds of each of :data:`STAGES`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "workspace" / "outputs" / "paper"), metavar="DIR")
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (0 = all cores)")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, metavar="B",
                        help=f"batch of the attention sweep (default {DEFAULT_BATCH}, the paper's)")
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                        help=f"{DEFAULT_BACKEND} engine or the real timeloop-model/timeloop-mapper")
    parser.add_argument("--executor", choices=("local", "dask"), default="local")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="dask scheduler (default with --executor dask: a LocalCluster on 127.0.0.1); one on "
                             "another machine needs --allow-remote-scheduler")
    parser.add_argument("--allow-remote-scheduler", action="store_true",
                        help="accept a --scheduler that is not on this machine (it will run the jobs)")
    parser.add_argument("--no-study", action="store_true", help="the paper only (skip OUT/study)")
    parser.add_argument("--study-attention-to", type=_length, metavar="LEN",
                        help="also attention alone at 8K, 16K, ... LEN tokens in the study (e.g. 1M: "
                             "the paper's longest; about 45 s more on 2 cores)")
    parser.add_argument("--layer-fusion", choices=LAYER_FUSIONS, default=DEFAULT_LAYER_FUSION,
                        help="the study's whole layer: element-wise work fused into the matrix multiplies "
                             f"(fused) or on its own (none; default {DEFAULT_LAYER_FUSION})")
    parser.add_argument("--verbose", action="store_true", help="show job progress")
    args = parser.parse_args(argv)

    sigterm_as_interrupt()
    collect_less()
    try:
        if args.executor == "dask":   # otherwise --scheduler is refused for needing it
            check_scheduler(args.scheduler, args.allow_remote_scheduler)
    except FusemaxError as exc:
        print(f"run_all: error: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    painter: _Painter | None = None
    try:
        with _stage(timings, "paper attention"):
            outcomes, folder = execute(args.out, list(ATTENTION_CONFIGS), list(paper.MODELS),
                                       list(paper.SEQ_LENS), batch=args.batch, jobs=args.jobs,
                                       quiet=not args.verbose, backend=args.backend, executor=args.executor,
                                       scheduler=args.scheduler)
        seq_lens = [parse_seq_len(s) for s in paper.SEQ_LENS]
        # The same job cache as the attention sweep: a warm rerun takes every search and evaluation from it.
        cache = cache_dir(args.out)
        with _stage(timings, "end2end"):
            results.write_end2end(args.out, {p: end2end.end2end_rows(p, paper.MODELS, seq_lens,
                                                                      jobs=args.jobs, executor=args.executor,
                                                                      scheduler=args.scheduler, cache=cache,
                                                                      backend=args.backend)
                                             for p in PLATFORMS})
        with _stage(timings, "pareto"):
            results.write_pareto(args.out, pareto.pareto_rows(jobs=args.jobs, cache=cache, backend=args.backend))
        studied = None
        if not args.no_study:
            # The paper's figures need only the paper's results: drawn while the study computes, then the
            # report (which finds them current) in the same process.
            painter = _Painter(args.out)
            with _stage(timings, "study"):
                long = study.long_lengths(args.study_attention_to) if args.study_attention_to else ()
                studied = study.run_study(jobs=args.jobs, backend=args.backend, cache=Cache(cache),
                                          attention_lengths=long, layer_fusion=args.layer_fusion,
                                          stream=sys.stderr if args.verbose else None)
                results.write_study(args.out, studied, sweep.run_info([], Hardware(), {
                    "study": {"configs": study.CONFIGS, "models": study.MODELS, "seq_lens": study.LENGTHS,
                              "attention_seq_lens": long, "phases": study.PHASES, "batches": study.BATCHES},
                    "layer_fusion": args.layer_fusion,
                    "masks": {name: mask_label(resolve_model(name)) for name in study.MODELS},
                    "engine": args.backend, "tools": get_backend(args.backend).tools()}))
    except BaseException as exc:
        if painter is not None:
            painter.stop()   # the run stopped: its figures would not be published
        if isinstance(exc, FusemaxError):
            print(f"run_all: error: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, KeyboardInterrupt):
            print("run_all: interrupted; finished jobs are kept in the cache, run again to continue", file=sys.stderr)
            return 130
        raise
    failed = [o for o in outcomes if o.error]
    print(f"evaluated {len(outcomes) - len(failed)}/{len(outcomes)} points in {time.perf_counter() - start:.1f}s"
          + (f"; results in {folder}" if folder else ""))
    for o in failed:
        print(f"  failed: {o.point.label}: {o.error}", file=sys.stderr)
    try:
        if folder is None:
            return 1
        with _stage(timings, "report"):
            answer = painter.report() if painter is not None else None
            if answer is None:  # no study, or the painter died: the report is drawn here
                answer = _write_report(args.out)
    except KeyboardInterrupt:
        print("run_all: interrupted", file=sys.stderr)
        return 130
    finally:
        if painter is not None:
            painter.stop()
    if answer[0] != "ok":
        print(f"run_all: error: {answer[1]}", file=sys.stderr)
        return 2
    print(f"report: {answer[1]}")

    with _stage(timings, "validate+headline"):
        status = _validate_and_headline(args.out, outcomes, studied)
    return 1 if failed or (studied and studied.failed) else status


def _validate_and_headline(out: str, outcomes: list, studied: "study.StudyRun | None") -> int:
    """Check against the artifact's published rows (1 when they disagree) and print both headlines."""
    status = 0
    print("\nValidation against the artifact's published rows")
    if validate.default_reference() is None:
        print("  skipped: ../shared/reference/fusemax-artifact/results is not present on this machine")
    else:
        checks = validate.compare(out)
        print(validate.format_table(checks))
        if not validate.verdict(checks):
            status = 1

    print("\nHeadline (means over model x length)")
    print(format_headline(headline([o.result for o in outcomes if o.result])))
    if studied is not None:
        print("\nStudy: FuseMax (binding) against FLAT and unfused")
        print(study.format_study_headline(studied.layer))
        print("\nStudy: the whole model (model.csv)")
        print(format_model_summary(studied.model))
        if studied.model_left_out:
            print(f"  left out of model.csv (no layers/vocab): {', '.join(studied.model_left_out)}")
        for f in studied.failed:
            print(f"  study point failed: {f['point']}: {f['error']}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
