"""Fixtures of the registry tests: a trained workspace copy and its local registry."""

from __future__ import annotations

import pytest

from lab.registry import LocalRegistry
from tests.lab.registry.reg_helpers import run_artifacts, trained_settings


@pytest.fixture
def settings(tmp_path):
    return trained_settings(tmp_path)


@pytest.fixture
def registry(settings):
    return LocalRegistry(settings)


@pytest.fixture
def artifacts(settings):
    return run_artifacts(settings)
