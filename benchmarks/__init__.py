"""Benchmarks of skae: run ``python -m benchmarks --help`` from the repository root.

Every benchmark is a command of ``python -m benchmarks`` and a module that is
only its measurement: ``speed`` (against a hand-written PyTorch loop, PyOD
and PCA, ``docs/benchmarks.rst``), ``quality`` (held-out quality at default
settings), ``outliers``, ``contention`` (a busy machine), ``scale``
(streaming, out-of-core memory, Dask) and a study, ``start_rule_study``.
What they share is in ``_harness`` (the config base and its quick mode, the
environment, timing, tables, result files) and ``_data``.
"""
