"""The drivers: sweeps of configurations x models x lengths (:mod:`.sweep`), the study (:mod:`.study`), the
paper's end-to-end layers and Pareto sweep (:mod:`.end2end`, :mod:`.pareto`, Figs. 10-12), the whole layer
(:mod:`.layer`) and the whole model (:mod:`.wholemodel`), and the headline (:mod:`.headline`). Each is built on
the stages of :mod:`fusemax.pipeline`.
"""
