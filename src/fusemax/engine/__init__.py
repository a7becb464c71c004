"""The builtin engine: a Timeloop-v3-compatible analytical model of dense loop nests.

``load_spec(*paths)`` / ``spec_from_texts(files)`` / ``spec_from_dict(data, source)`` read a spec (v0.4 user format or timeloopfe's
processed format), and ``evaluate(spec, ert, art)`` returns :class:`~fusemax.stats.Stats` with the same
numbers ``timeloop-model`` v3.0.3 prints.
"""
from fusemax.engine.evaluate import evaluate, loop_nests
from fusemax.engine.model import Architecture, ArithmeticLevel, DataSpace, LevelMapping, Loop, Mapping, Problem, Spec, StorageLevel
from fusemax.engine.spec import load_spec, spec_from_dict, spec_from_texts

__all__ = [
                                  "Architecture",
                                  "ArithmeticLevel",
                                  "DataSpace",
                                  "LevelMapping",
                                  "Loop",
                                  "Mapping",
                                  "Problem",
                                  "Spec",
                                  "StorageLevel",
                                  "evaluate",
                                  "load_spec",
                                  "loop_nests",
                                  "spec_from_dict",
                                  "spec_from_texts",
]
