"""Benchmarks of skae: run ``python -m benchmarks --help`` from the repository root.

``benchmarks.speed`` compares skae's training and inference speed with a
hand-written PyTorch loop, PyOD and PCA (see ``docs/benchmarks.rst``).
"""
