"""The test suite's one fake AWS: moto, the SDK's quiet settings, and no waiting.

A pytest plugin (loaded by tests/conftest.py), so every test folder has its fixtures:

    aws_env      the SageMaker note's test environment (fake keys, a region, the telemetry
                 opt-out), cut off from the machine's own AWS configuration
    aws          aws_env plus moto's account (`moto.mock_aws`) with the test bucket, empty
                 session caches and SageMaker polls that do not sleep
    sm_settings  Settings of a fresh workspace on the SageMaker backend, with role and bucket

Tests that need moto, boto3 or the SDK v2 call `skip_without_aws_packages()` at module
level, so the local tests run where those packages are missing.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util

import pytest

REGION, BUCKET, ACCOUNT = "us-east-1", "lab-test-bucket", "123456789012"  # moto's account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/LabSageMakerRole"
KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TELEMETRY_OPT_OUT = ("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n"
                     "      TelemetryOptOut: true\n")


def skip_without_aws_packages() -> None:
    """Skip the calling test module when moto, boto3 or the SDK v2 is missing."""
    for module, hint in (("moto", "requirements-test.txt"), ("boto3", "requirements.txt"),
                         ("sagemaker", "requirements.txt")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install -r {hint}",
                        allow_module_level=True)
    if not importlib.metadata.version("sagemaker").startswith("2."):
        pytest.skip("the SageMaker backend targets the SDK 2.x", allow_module_level=True)


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials and a region; no profile, no ~/.aws file, no metadata address."""
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(TELEMETRY_OPT_OUT)
    for name, value in {
        "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1", "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws(aws_env, monkeypatch):
    """moto's AWS (with the test bucket) for the test, fresh sessions, polls that do not
    sleep. Yields nothing: the lab makes its clients itself, from the environment."""
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    from lab.aws import polling, session

    monkeypatch.setattr(polling, "sleep", lambda seconds: None)
    session.forget_sessions()
    with moto.mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield
    session.forget_sessions()


@pytest.fixture
def sm_settings(aws, tmp_path):
    from lab.settings import Settings

    return Settings(workspace=tmp_path / "sm-workspace", backend="sagemaker",
                    sagemaker_role=ROLE, s3_bucket=BUCKET)
