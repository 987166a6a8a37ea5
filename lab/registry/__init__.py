"""Model registry: model package groups, numbered versions, approval with its history.

    registry = open_registry(settings)                  # the backend the settings name
    version = register_model(settings)                  # the best run -> next version, Pending
    set_approval(settings, version.version, APPROVED, "beats the baseline")
    registry.list_versions(default_group(settings))     # artifact, metrics, status, history

Two implementations of one interface: `LocalRegistry` (SQLite `registry.db` and a copy of
each artifact under the workspace) and `SageMakerRegistry` (`lab.sagemaker.registry`, boto3:
create_model_package_group, create_model_package, update_model_package). Neither imports
boto3 or the SageMaker SDK until a SageMaker registry is opened.
"""

from __future__ import annotations

from lab.registry._errors import (
    ArtifactError,
    InvalidNameError,
    InvalidStatusError,
    ModelGroupExistsError,
    ModelGroupNotFoundError,
    NotApprovedError,
    VersionNotFoundError,
)
from lab.registry._local import LocalRegistry
from lab.registry._models import (
    APPROVED,
    CONTENT_TYPES,
    PENDING,
    REJECTED,
    RESPONSE_TYPES,
    STATUSES,
    ModelGroup,
    ModelRegistry,
    ModelVersion,
    StatusChange,
    check_name,
    check_status,
)
from lab.registry._workshop import (
    GROUP,
    NO_MODEL,
    best_run,
    candidate_runs,
    default_group,
    open_registry,
    register_model,
    registry_summary,
    set_approval,
)

__all__ = [
    "APPROVED", "CONTENT_TYPES", "GROUP", "NO_MODEL", "PENDING", "REJECTED", "RESPONSE_TYPES",
    "STATUSES", "ArtifactError", "InvalidNameError", "InvalidStatusError", "LocalRegistry",
    "ModelGroup", "ModelGroupExistsError", "ModelGroupNotFoundError", "ModelRegistry",
    "ModelVersion", "NotApprovedError", "StatusChange", "VersionNotFoundError", "best_run",
    "candidate_runs", "check_name", "check_status", "default_group", "open_registry",
    "register_model", "registry_summary", "set_approval",
]
