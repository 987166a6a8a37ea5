"""Which backends exist, and whether one can run here (asked without a network call)."""

from __future__ import annotations

import importlib
from typing import Any

from lab.settings import BACKENDS

# backend -> "module:function" saying why it cannot run (None: it always can)
_CHECKS: dict[str, str | None] = {"local": None, "sagemaker": "lab.aws.session:check_sagemaker"}
LABELS = {"local": "Local", "sagemaker": "SageMaker"}
assert set(_CHECKS) == set(BACKENDS) == set(LABELS)


def backend_problem(settings: Any) -> str | None:
    """None when `settings.backend` can run; otherwise one line saying what to set up.

    Makes no network call, and never includes a credential in the message.
    """
    check = _CHECKS[settings.backend]
    if check is None:
        return None
    module, _, name = check.partition(":")
    return getattr(importlib.import_module(module), name)(settings)
