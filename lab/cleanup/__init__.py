"""Inventory, cost and cleanup of what the lab created for a workspace.

    cleanup = open_cleanup(settings)
    cleanup.inventory()                 # every resource, with what it costs while it exists
    cleanup.delete_all(dry_run=True)    # what would be deleted, in dependency order
    cleanup.delete_all()                # delete, waiting where deletion is asynchronous
    running_endpoints(settings)         # cheap (cached on SageMaker): the sidebar's flag

Two twins of one interface (`Cleanup`, in `_api.py`): `LocalCleanup`, whose resources are
the workspace's own stores (endpoints served on 127.0.0.1, feature groups, the registry,
experiments, pipeline executions), and `SageMakerCleanup`, which finds the workspace's
resources on AWS by their names (workspace suffix) and tags, and deletes them in
dependency order: running jobs stopped, endpoints before their configs and models,
pipelines, model versions before their groups, feature groups before their Glue tables,
experiment runs before their trials and experiments, and the workspace's S3 folder last.
"""

from __future__ import annotations

from typing import Any

from lab.lazy import exports
from lab.twins import open_twin

IMPLEMENTATIONS = {"local": "lab.cleanup._local:LocalCleanup",
                   "sagemaker": "lab.cleanup._sagemaker:SageMakerCleanup"}


def open_cleanup(settings: Any, **options: Any) -> Any:
    """The cleanup (a `Cleanup`) of the settings' backend."""
    return open_twin(IMPLEMENTATIONS, settings, **options)


def running_endpoints(settings: Any) -> list[Any]:
    """The workspace's endpoints that are up (cheap: a file read locally; on SageMaker, AWS
    calls at most once a minute per workspace). Never raises: [] when it cannot tell."""
    try:
        return open_cleanup(settings).running_endpoints()
    except Exception:  # noqa: BLE001 - a sidebar flag must never break a page
        return []


def launches(settings: Any, step: str | None = None) -> list[Any]:
    """What this workspace launched on AWS, newest first (the twins' records: the SDK code
    that ran, instance, billed seconds); a file read, no AWS call."""
    from lab.aws.ledger import Ledger

    return Ledger(settings).list(step)


__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["KINDS", "Cleanup", "CleanupReport", "Inventory", "Resource",
                     "RunningEndpoint"], "_api"),
    **dict.fromkeys(["KIND", "cleanup_job"], "_job"),
})
__all__ = ["IMPLEMENTATIONS", "launches", "open_cleanup", "running_endpoints", *_lazy]
