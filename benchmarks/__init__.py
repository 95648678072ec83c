"""Benchmarks of skae: run ``python -m benchmarks --help`` from the repository root.

``benchmarks.speed`` compares skae's training and inference speed with a
hand-written PyTorch loop, PyOD and PCA (see ``docs/benchmarks.rst``);
``benchmarks.quality`` measures the held-out quality of every model at its
default settings against PCA and FactorAnalysis; ``benchmarks.scaling_study``
compares input-scaling strategies (``benchmarks/results/scaling_study.md``);
``benchmarks.contention`` times fits on a busy machine; ``benchmarks.scale``
measures streaming throughput, out-of-core memory and a Dask grid search.
"""
