"""Where the lab keeps its state and which backend runs the steps.

Everything comes from explicit arguments first, then environment variables:

    LAB_WORKSPACE   workspace folder (default ./workspace)
    LAB_BACKEND     "local" (default) or "sagemaker"
    LAB_WORKSHOP    "1" gives each browser session its own workspace under LAB_WORKSPACE
    LAB_WORKSHOP_BACKENDS   in workshop mode, the backends attendees may choose (comma-
                    separated; default: LAB_BACKEND only). The SageMaker backend runs with
                    the server's AWS credentials, so a shared server offers it only when
                    its owner says so.
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
_SESSION_ID = re.compile(r"[a-z0-9]{8,32}")


@dataclass(frozen=True)
class Settings:
    workspace: Path
    backend: str = "local"
    workshop_mode: bool = False
    sagemaker_role: str | None = None
    s3_bucket: str | None = None
    session: str | None = None  # workshop mode: the browser session's id
    workshop_backends: tuple[str, ...] = ("local",)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise InputError(
                f"Unknown backend {self.backend!r}: choose one of {', '.join(BACKENDS)}."
            )

    def with_backend(self, backend: str) -> Settings:
        return replace(self, backend=backend)

    @property
    def allowed_backends(self) -> tuple[str, ...]:
        """The backends a user may choose: all of them, except on a workshop server, where
        the SageMaker backend would run with the server's credentials unless allowed."""
        if not self.workshop_mode:
            return BACKENDS
        return tuple(b for b in BACKENDS if b in self.workshop_backends or b == self.backend)

    def choose_backend(self, backend: str) -> Settings:
        """These settings with the backend a user chose, if this server allows it."""
        if backend not in self.allowed_backends:
            raise InputError(f"This workshop server runs the lab on the "
                             f"{' and '.join(self.allowed_backends)} backend only: the "
                             f"{backend} backend would use the server's own credentials. "
                             "Its owner can allow it with LAB_WORKSHOP_BACKENDS.")
        return self.with_backend(backend)

    @property
    def workspace_label(self) -> str:
        """How to show the workspace: a workshop session by its id, never the server's
        folder; otherwise the folder itself."""
        if self.workshop_mode and self.session:
            return f"workshop session {self.session}"
        return str(self.workspace)

    def for_session(self, session_id: str) -> Settings:
        """The settings of one browser session in workshop mode: its own sub-workspace."""
        session_id = valid_session_id(session_id)
        return replace(self, workspace=self.workspace / "sessions" / session_id,
                       session=session_id)


def valid_session_id(session_id: str) -> str:
    """Session ids come from the URL: accept only short lowercase alphanumerics."""
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise InputError("That session id is not valid: use 8-32 lowercase letters and digits.")
    return session_id


def load_settings(
    workspace: str | os.PathLike | None = None, backend: str | None = None
) -> Settings:
    env = os.environ
    chosen = (backend or env.get("LAB_BACKEND") or "local").strip().lower()
    allowed = [b.strip().lower() for b in env.get("LAB_WORKSHOP_BACKENDS", "").split(",")]
    return Settings(
        workspace=Path(workspace or env.get("LAB_WORKSPACE") or "workspace").resolve(),
        backend=chosen,
        workshop_mode=env.get("LAB_WORKSHOP", "").strip() in ("1", "true", "yes"),
        sagemaker_role=env.get("LAB_SAGEMAKER_ROLE") or None,
        s3_bucket=env.get("LAB_S3_BUCKET") or None,
        workshop_backends=tuple(b for b in BACKENDS if b in allowed or b == chosen),
    )
