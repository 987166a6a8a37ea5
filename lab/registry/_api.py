"""The registry's interface (`ModelRegistry`), what it hands back, and SageMaker's rules for
names and approval statuses, which both twins apply before changing anything."""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lab.errors import ParameterError
from lab.registry._errors import InvalidNameError, InvalidStatusError, VersionNotFoundError

PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
CONTENT_TYPES, RESPONSE_TYPES = ("text/csv",), ("application/json",)

# SageMaker's EntityName: model package groups, models, endpoints. Hyphens, no underscores.
_ENTITY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def check_name(name: Any, what: str = "model package group") -> str:
    if not isinstance(name, str) or not _ENTITY_NAME.match(name):
        raise InvalidNameError(
            f"{name!r} is not a valid {what} name. Use 1 to 63 letters, digits and hyphens, "
            "starting and ending with a letter or digit (for example lab-housing-models).")
    return name


MAX_COMMENT = 1024  # SageMaker's ApprovalDescription


def check_comment(comment: Any) -> str:
    """An approval comment: text of at most 1,024 characters, as SageMaker takes it."""
    if not isinstance(comment, str):
        raise ParameterError("The approval comment must be text.")
    if len(comment) > MAX_COMMENT:
        raise ParameterError(f"The comment is {len(comment):,} characters long; SageMaker "
                                 f"keeps at most {MAX_COMMENT:,}. Shorten it.")
    return comment


def check_version(version: Any) -> int:
    """A version number (1, 2, ...): VersionNotFoundError for anything else, checked before
    any group is looked up."""
    try:
        number = int(version)
    except (TypeError, ValueError, OverflowError):
        raise VersionNotFoundError(f"{version!r} is not a version number (1, 2, ...).") from None
    if (isinstance(version, float) and not version.is_integer()) or not 1 <= number < 2**31:
        raise VersionNotFoundError(f"{version!r} is not a version number (1, 2, ...).")
    return number


def check_status(status: Any) -> str:
    if status not in STATUSES:
        raise InvalidStatusError(f"{status!r} is not an approval status: use one of "
                                 f"{', '.join(STATUSES)}.")
    return status


def current_user() -> str:
    """Who changes a status: LAB_USER if set (workshop mode), else the OS account."""
    try:
        return os.environ.get("LAB_USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


@dataclass(frozen=True)
class StatusChange:
    status: str
    comment: str
    by: str
    at: float  # unix seconds


@dataclass(frozen=True)
class ModelGroup:
    name: str
    arn: str
    description: str
    created: float
    versions: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelVersion:
    """One model package: an immutable artifact and its facts, plus a mutable status."""

    group: str
    version: int
    arn: str
    status: str
    artifact: str  # local path of the registry's copy, or the s3:// URI on SageMaker
    algorithm: str
    features: list[str]
    target: str
    hyperparameters: dict[str, Any]
    metrics: dict[str, Any]  # the evaluation report: {"validation": {...}, "test": {...}}
    source: dict[str, Any]  # the training run it came from: run_id, job_id, tuning_job
    created: float
    description: str = ""
    content_types: list[str] = field(default_factory=lambda: list(CONTENT_TYPES))
    response_types: list[str] = field(default_factory=lambda: list(RESPONSE_TYPES))
    history: list[StatusChange] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def approved(self) -> bool:
        return self.status == APPROVED

    @property
    def test_metrics(self) -> dict[str, float]:
        return dict(self.metrics.get("test") or {})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ModelRegistry(Protocol):
    """Model package groups and their numbered versions, with approval and its history."""

    backend: str

    def create_group(self, name: str, description: str = "", *,
                     exist_ok: bool = True) -> ModelGroup: ...

    def describe_group(self, name: str) -> ModelGroup: ...

    def list_groups(self) -> list[ModelGroup]: ...

    def register(self, group: str, artifact: str | Path, *, source: dict[str, Any] | None = None,
                 description: str = "", status: str = PENDING,
                 metadata: dict[str, Any] | None = None) -> ModelVersion: ...

    def describe_version(self, group: str, version: int) -> ModelVersion: ...

    def list_versions(self, group: str) -> list[ModelVersion]: ...

    def update_status(self, group: str, version: int, status: str, comment: str = "",
                      by: str | None = None) -> ModelVersion: ...

    def close(self) -> None: ...
