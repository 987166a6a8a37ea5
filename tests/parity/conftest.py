"""The parity fixtures for this folder (other folders import them by name)."""

from tests.parity.fixtures import container_artifacts, parity  # noqa: F401
