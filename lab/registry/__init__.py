"""Model registry: model package groups, numbered versions, approval with its history.

    registry = open_registry(settings)                  # the backend the settings name
    version = register_model(settings)                  # the best run -> next version, Pending
    set_approval(settings, version.version, APPROVED, "beats the baseline")
    registry.list_versions(default_group(settings))     # artifact, metrics, status, history

Two implementations of one interface (`ModelRegistry`, in `_api.py`): `LocalRegistry`
(SQLite `registry.db` and a copy of each artifact under the workspace) and
`SageMakerRegistry` (boto3: create_model_package_group, create_model_package,
update_model_package). Neither imports boto3 or the SDK until SageMaker is called.
"""

from __future__ import annotations

from typing import Any

from lab.lazy import exports
from lab.twins import open_twin

IMPLEMENTATIONS = {"local": "lab.registry._local:LocalRegistry",
                   "sagemaker": "lab.registry._sagemaker:SageMakerRegistry"}


def open_registry(settings: Any, **options: Any) -> Any:
    """The registry (a `ModelRegistry`) of the settings' backend."""
    return open_twin(IMPLEMENTATIONS, settings, **options)


__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["APPROVED", "CONTENT_TYPES", "PENDING", "REJECTED", "RESPONSE_TYPES",
                     "STATUSES", "ModelGroup", "ModelRegistry", "ModelVersion", "StatusChange",
                     "check_name", "check_status", "check_version", "current_user"], "_api"),
    **dict.fromkeys(["ArtifactError", "InvalidNameError", "InvalidStatusError",
                     "ModelGroupExistsError", "ModelGroupNotFoundError", "NotApprovedError",
                     "VersionNotFoundError"], "_errors"),
    **dict.fromkeys(["GROUP", "NO_MODEL", "best_run", "candidate_runs", "compare_versions",
                     "default_group", "register_model", "registry_summary", "set_approval"],
                    "_workshop"),
    "describe_artifact": "_artifact", "LocalRegistry": "_local",
    "SageMakerRegistry": "_sagemaker",
})
__all__ = ["IMPLEMENTATIONS", "open_registry", *_lazy]
