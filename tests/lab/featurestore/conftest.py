"""Fixtures of the feature store tests: a prepared workspace and a local store; for the
SageMaker twin, a moto account, a stubbed runtime client and a store using both (moto, boto3
and the SDK are imported by those fixtures only, so the local tests run without them)."""

from __future__ import annotations

import shutil

import fs_helpers as h
import pytest
from fs_helpers import small_frame

from lab.featurestore import LocalFeatureStore
from lab.prep import run_prep
from lab.settings import Settings
from lab.workspace import Workspace


@pytest.fixture(scope="session")
def prepared_root(tmp_path_factory):
    """One run of the lab's own preparation (the generated housing data), shared."""
    root = tmp_path_factory.mktemp("prepared")
    run_prep(Workspace(root))
    return root


@pytest.fixture
def settings(prepared_root, tmp_path):
    """A fresh workspace holding a copy of the prepared splits."""
    root = tmp_path / "ws"
    shutil.copytree(Workspace(prepared_root).processed_dir, Workspace(root).processed_dir)
    return Settings(workspace=root)


@pytest.fixture
def store(settings):
    fs = LocalFeatureStore(settings)
    yield fs
    fs.close()


@pytest.fixture
def frame():
    return small_frame()


@pytest.fixture
def aws(monkeypatch, tmp_path):
    """The note's test environment, cut off from the machine's AWS configuration."""
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    for name in h.AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(h.TELEMETRY_OPT_OUT)
    for name, value in {
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_DEFAULT_REGION": h.REGION, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1", "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
    }.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        boto3.client("s3", region_name=h.REGION).create_bucket(Bucket=h.BUCKET)
        yield


@pytest.fixture
def fast_sdk_config(aws):
    """The SDK, imported the way the backend imports it (its config schema compiled once)."""
    from lab.sagemaker.session import import_sagemaker

    import_sagemaker()


@pytest.fixture
def runtime(aws, fast_sdk_config):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("sagemaker-featurestore-runtime", region_name=h.REGION)
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.fixture
def sm_store(aws, runtime, tmp_path):
    from lab.featurestore import SageMakerFeatureStore, open_store

    settings = Settings(workspace=tmp_path / "ws", backend="sagemaker", sagemaker_role=h.ROLE,
                        s3_bucket=h.BUCKET)
    store = open_store(settings, runtime_client=runtime[0], max_workers=4, batch_size=2,
                       poll_seconds=0)
    assert isinstance(store, SageMakerFeatureStore)
    return store
