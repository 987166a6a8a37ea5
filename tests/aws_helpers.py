"""Shared by the SageMaker-backend tests (moto and botocore Stubber)."""

from __future__ import annotations


def skip_without_aws_packages() -> None:
    """Skip the calling test module when moto, boto3 or the SDK v2 is missing."""
    import importlib.metadata
    import importlib.util

    import pytest

    for module, hint in (("moto", "requirements-test.txt"), ("boto3", "requirements.txt"),
                         ("sagemaker", "requirements.txt")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install -r {hint}",
                        allow_module_level=True)
    if not importlib.metadata.version("sagemaker").startswith("2."):
        pytest.skip("the SageMaker backend targets the SDK 2.x", allow_module_level=True)
