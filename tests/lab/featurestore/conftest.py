"""Fixtures of the feature store tests: a prepared workspace and a local store; for the
SageMaker twin, a stubbed runtime client and a store using it (moto, boto3 and the SDK are
imported by those fixtures only, so the local tests run without them).

The workspaces and the fake AWS are the suite's own (tests/workspaces.py: `prepared`;
tests/fake_aws.py: `aws`, `sm_settings`); only the small fixtures below are this folder's.
"""

from __future__ import annotations

import pytest

from lab.featurestore import LocalFeatureStore
from tests.fake_aws import REGION
from tests.lab.featurestore.fs_helpers import small_frame


@pytest.fixture
def settings(prepared):
    """A fresh workspace holding the generated data, prepared (the shared `prepared`)."""
    return prepared


@pytest.fixture
def store(settings):
    fs = LocalFeatureStore(settings)
    yield fs
    fs.close()


@pytest.fixture
def frame():
    return small_frame()


@pytest.fixture
def fast_sdk_config(aws):
    """The SDK, imported the way the backend imports it (its config schema compiled once)."""
    from lab.aws.session import import_sagemaker

    import_sagemaker()


@pytest.fixture
def runtime(aws, fast_sdk_config):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("sagemaker-featurestore-runtime", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.fixture
def sm_store(sm_settings, runtime):
    from lab.featurestore import SageMakerFeatureStore, open_featurestore

    store = open_featurestore(sm_settings, runtime_client=runtime[0], max_workers=4,
                              batch_size=2, poll_seconds=0)
    assert isinstance(store, SageMakerFeatureStore)
    return store
