"""Fixtures of the endpoint tests: a trained workspace copy, approved versions, and an
endpoint deployed on this process's runtime server (stopped after each test)."""

from __future__ import annotations

import pytest

from lab.serving import ENDPOINT, deploy_model, stop_server
from tests.lab.serving.srv_helpers import approved_versions


@pytest.fixture
def settings(trained):
    yield trained
    stop_server(trained)


@pytest.fixture
def versions(settings):
    return approved_versions(settings)


@pytest.fixture
def endpoint(settings, versions):
    """The xgboost version (1) deployed to the workshop's endpoint."""
    return deploy_model(settings, versions["xgboost"].version)


@pytest.fixture
def url(endpoint):
    assert endpoint.url and endpoint.name == ENDPOINT
    return endpoint.url


@pytest.fixture
def port(url):
    return int(url.rsplit(":", 1)[1])
