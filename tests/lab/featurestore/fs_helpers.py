"""Test data of the feature store tests (imported as `tests.lab.featurestore.fs_helpers`).
The fake AWS constants are the suite's own: tests/fake_aws.py."""

from __future__ import annotations

import pandas as pd


def small_frame(n: int = 5, event_time: float = 1_000.0, offset: int = 0) -> pd.DataFrame:
    """Every supported type: Integral, Fractional, String, plus id and event time."""
    ids = range(offset, offset + n)
    return pd.DataFrame({
        "record_id": pd.Series(list(ids), dtype="int64"),
        "event_time": pd.Series([event_time] * n, dtype="float64"),
        "price": pd.Series([100.5 + i for i in ids], dtype="float64"),
        "rooms": pd.Series([i % 4 + 1 for i in ids], dtype="int64"),
        "city": pd.Series([f"city-{i}" for i in ids], dtype="object"),
    })


# The feature definitions SageMaker is sent for `small_frame()` (the SageMaker twin's tests).
DEFINITIONS = [{"FeatureName": n, "FeatureType": t} for n, t in (
    ("record_id", "Integral"), ("event_time", "Fractional"), ("price", "Fractional"),
    ("rooms", "Integral"), ("city", "String"))]
