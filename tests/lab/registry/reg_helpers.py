"""Helpers of the SageMaker registry and endpoint tests (imported by name: a conftest is
not importable once several test folders have one). The trained workspace and the fake
AWS are the suite's own (tests/workspaces.py, tests/fake_aws.py)."""

from __future__ import annotations

import copy
from typing import Any


def record_requests(client: Any, requests: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Append (operation, parameters as sent) to `requests` for each call of the boto3
    `sagemaker` client; returns `requests`."""
    client.meta.events.register(
        "provide-client-params.sagemaker.*",
        lambda params, model, **_: requests.append((model.name, copy.deepcopy(params))))
    return requests
