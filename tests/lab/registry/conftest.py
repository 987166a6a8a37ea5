"""Fixtures of the registry tests: a trained workspace copy and its local registry."""

from __future__ import annotations

import pytest

from lab.registry import LocalRegistry
from tests.workspaces import run_artifacts


@pytest.fixture
def settings(trained):
    return trained


@pytest.fixture
def registry(settings):
    return LocalRegistry(settings)


@pytest.fixture
def artifacts(settings):
    return run_artifacts(settings)
