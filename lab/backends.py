"""Which backends exist, whether one can run here (asked without a network call), and the
connection check that asks the backend's service itself."""

from __future__ import annotations

import importlib
from typing import Any

from lab.settings import BACKENDS

# backend -> "module:function" saying why it cannot run (None: it always can)
_CHECKS: dict[str, str | None] = {"local": None, "sagemaker": "lab.aws.session:check_sagemaker"}
# backend -> "module:function"(settings) -> a report with .ok, .checks, .to_json() (None:
# nothing to connect to)
_CONNECTIONS: dict[str, str | None] = {"local": None,
                                       "sagemaker": "lab.aws.connection:check_connection"}
LABELS = {"local": "Local", "sagemaker": "SageMaker"}
assert set(_CHECKS) == set(BACKENDS) == set(LABELS) == set(_CONNECTIONS)


def _function(dotted: str) -> Any:
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def backend_problem(settings: Any) -> str | None:
    """None when `settings.backend` can run; otherwise one line saying what to set up.

    Makes no network call, and never includes a credential in the message.
    """
    check = _CHECKS[settings.backend]
    return None if check is None else _function(check)(settings)


def has_connection(settings: Any) -> bool:
    """Whether the backend talks to a service that the connection check can ask."""
    return _CONNECTIONS[settings.backend] is not None


def check_connection(settings: Any) -> dict[str, Any]:
    """The connection check of the settings' backend, as JSON: {"backend", "ok", "checks":
    [{"name", "status", "message", "fix"}]}. Network calls on SageMaker; none locally."""
    dotted = _CONNECTIONS[settings.backend]
    if dotted is None:
        return {"backend": settings.backend, "ok": True, "checks": [{
            "name": "Backend", "status": "passed", "fix": "",
            "message": f"The {LABELS[settings.backend]} backend runs on this machine: there "
                       "is nothing to connect to."}]}
    return _function(dotted)(settings).to_json()
