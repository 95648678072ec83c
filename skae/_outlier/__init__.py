"""Outlier detection with any estimator that scores samples."""

from .detector import OutlierDetector

__all__ = ["OutlierDetector"]
