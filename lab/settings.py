"""Where the lab keeps its state and which backend runs the steps.

Everything comes from explicit arguments first, then environment variables:

    LAB_WORKSPACE   workspace folder (default ./workspace)
    LAB_BACKEND     "local" (default) or "sagemaker"
    LAB_WORKSHOP    "1" gives each browser session its own workspace under LAB_WORKSPACE
    LAB_SAGEMAKER_ROLE, LAB_S3_BUCKET   for the SageMaker backend (region and credentials
                    come from the usual AWS environment, profile or instance role)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from lab.errors import InputError

BACKENDS = ("local", "sagemaker")
_SESSION_ID = re.compile(r"^[a-z0-9]{8,32}$")


@dataclass(frozen=True)
class Settings:
    workspace: Path
    backend: str = "local"
    workshop_mode: bool = False
    sagemaker_role: str | None = None
    s3_bucket: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise InputError(
                f"Unknown backend {self.backend!r}: choose one of {', '.join(BACKENDS)}."
            )

    def with_backend(self, backend: str) -> Settings:
        return replace(self, backend=backend)

    def for_session(self, session_id: str) -> Settings:
        """The settings of one browser session in workshop mode: its own sub-workspace."""
        return replace(self, workspace=self.workspace / "sessions" / valid_session_id(session_id))


def valid_session_id(session_id: str) -> str:
    """Session ids come from the URL: accept only short lowercase alphanumerics."""
    if not isinstance(session_id, str) or not _SESSION_ID.match(session_id):
        raise InputError("That session id is not valid: use 8-32 lowercase letters and digits.")
    return session_id


def load_settings(
    workspace: str | os.PathLike | None = None, backend: str | None = None
) -> Settings:
    env = os.environ
    return Settings(
        workspace=Path(workspace or env.get("LAB_WORKSPACE") or "workspace").resolve(),
        backend=(backend or env.get("LAB_BACKEND") or "local").strip().lower(),
        workshop_mode=env.get("LAB_WORKSHOP", "").strip() in ("1", "true", "yes"),
        sagemaker_role=env.get("LAB_SAGEMAKER_ROLE") or None,
        s3_bucket=env.get("LAB_S3_BUCKET") or None,
    )
