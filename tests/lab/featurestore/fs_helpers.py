"""Test data of the feature store tests (a module of its own: conftest is not importable
by name once several test folders have one)."""

from __future__ import annotations

import pandas as pd

from tests.aws_helpers import skip_without_aws_packages  # noqa: F401 (re-exported)


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


# The SageMaker twin's tests (moto and Stubber).
REGION, BUCKET, ACCOUNT = "us-east-1", "lab-fs-bucket", "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/LabSageMakerRole"
TELEMETRY_OPT_OUT = ("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n"
                     "      TelemetryOptOut: true\n")
AWS_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")
DEFINITIONS = [{"FeatureName": n, "FeatureType": t} for n, t in (
    ("record_id", "Integral"), ("event_time", "Fractional"), ("price", "Fractional"),
    ("rooms", "Integral"), ("city", "String"))]
