"""Helpers of the endpoint tests (imported by name; the trained workspace is the suite's
own, tests/workspaces.py)."""

from __future__ import annotations

import http.client
from typing import Any

from lab.registry import APPROVED, default_group, open_registry
from tests.workspaces import run_artifacts


def approved_versions(settings: Any, approve: tuple[str, ...] = ("xgboost", "random_forest"),
                      pending: tuple[str, ...] = ()) -> dict[str, Any]:
    """Register the training runs' models (in that order) and approve the first ones."""
    registry = open_registry(settings)
    group = default_group(settings)
    registry.create_group(group)
    artifacts = run_artifacts(settings)
    out = {}
    for algorithm in (*approve, *pending):
        version = registry.register(group, artifacts[algorithm])
        if algorithm in approve:
            version = registry.update_status(group, version.version, APPROVED, "test")
        out[algorithm] = version
    return out


def raw_request(port: int, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None,
                conn: http.client.HTTPConnection | None = None) -> tuple[int, dict, bytes]:
    """One HTTP request with full control of headers (status, headers, body)."""
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    reply = conn.getresponse()
    return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
