"""How a capability picks its implementation: one backend-name to class map, one rule.

Every capability (processing, feature store, training, tuning, registry, endpoints,
pipelines) has two implementations side by side, `_local.py` and `_sagemaker.py`, behind
the interface in its `_api.py`. Its `__init__` holds the map and opens one:

    IMPLEMENTATIONS = {"local": "lab.registry._local:LocalRegistry",
                       "sagemaker": "lab.registry._sagemaker:SageMakerRegistry"}

    def open_registry(settings, **options):
        return open_twin(IMPLEMENTATIONS, settings, **options)

The classes are named by text and imported when first opened, so choosing the local
backend never imports the SageMaker module (nor boto3 or the SDK). Pages and the CLI never
compare backend names: what differs between backends is asked of the implementation
(`Twin` below: its resource names, the code it runs, its notes for the learner).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from lab.errors import BackendError
from lab.settings import BACKENDS

Implementations = Mapping[str, str]  # backend name -> "module:Class"


def twin_class(implementations: Implementations, backend: str) -> type:
    """The implementation class for `backend` (its module imported on first use)."""
    if backend not in implementations:
        raise BackendError(f"Unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}.")
    module, _, name = implementations[backend].partition(":")
    return getattr(importlib.import_module(module), name)


def open_twin(implementations: Implementations, settings: Any, **options: Any) -> Any:
    """The implementation the settings' backend names, constructed with `options`."""
    return twin_class(implementations, settings.backend)(settings, **options)


class Twin:
    """What every implementation offers besides its capability's own interface.

    A page asks these instead of testing the backend's name: the names the backend gives
    the workspace's resources, the functions that run a step there, and what a learner
    should know about running it there (`note`, None when there is nothing to say).
    """

    backend: ClassVar[str] = "local"
    label: ClassVar[str] = "Local"
    note: ClassVar[str | None] = None

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    @classmethod
    def resource_name(cls, settings: Any, base: str) -> str:
        """The name of a resource the lab creates: locally each workspace has its own
        stores, so `base` is enough (the SageMaker twin adds a workspace suffix)."""
        return base

    def code(self) -> list[Callable[..., Any]]:
        """The functions that do this capability's work on this backend (shown to learners
        as "the code that ran"; never drifts from what runs)."""
        return []
