"""The local twin of SageMaker's model registry: SQLite plus a copy of each artifact.

    <workspace>/registry.db                              groups, versions, status history
    <workspace>/registry/<group>/<version>/model.tar.gz  the artifact, copied at registration

A version never depends on the training job's folder: deleting or re-running a job leaves
the registered model as it was. Versions are numbered 1, 2, ... per group inside one write
transaction, so two sessions registering at once never get the same number.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from lab.db import Database
from lab.registry._api import (
    CONTENT_TYPES,
    PENDING,
    RESPONSE_TYPES,
    ModelGroup,
    ModelVersion,
    StatusChange,
    check_comment,
    check_name,
    check_status,
    check_version,
    current_user,
)
from lab.registry._artifact import describe_artifact
from lab.registry._errors import (
    ModelGroupExistsError,
    ModelGroupNotFoundError,
    VersionNotFoundError,
)
from lab.twins import Twin
from lab.workspace import Workspace

ACCOUNT, REGION = "000000000000", "local"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_groups (
    name_key TEXT PRIMARY KEY,         -- SageMaker group names are unique whatever the case
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS model_versions (
    name_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    artifact TEXT NOT NULL,            -- relative to the workspace
    algorithm TEXT NOT NULL,
    features TEXT NOT NULL,            -- JSON list
    target TEXT NOT NULL,
    hyperparameters TEXT NOT NULL,     -- JSON
    metrics TEXT NOT NULL,             -- JSON: the evaluation report
    source TEXT NOT NULL,              -- JSON: the training run it came from
    content_types TEXT NOT NULL,
    response_types TEXT NOT NULL,
    description TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (name_key, version)
);
CREATE TABLE IF NOT EXISTS status_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    comment TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_version ON status_history (name_key, version);
"""
_JSON = ("features", "hyperparameters", "metrics", "source", "content_types", "response_types")


class LocalRegistry(Twin):
    note = ("The registry is a SQLite database in the workspace, with a copy of each "
            "registered model.tar.gz.")

    def __init__(self, settings: Any) -> None:
        """`settings` (lab.settings.Settings), or a Workspace, or a workspace folder."""
        super().__init__(settings)
        ws = settings if isinstance(settings, Workspace) else Workspace(
            getattr(settings, "workspace", settings))
        self.ws = ws
        self.db = Database(ws.path("registry.db"), _SCHEMA)
        self.files = ws.path("registry")

    def __repr__(self) -> str:
        return f"LocalRegistry({str(self.ws.root)!r})"

    # Groups.
    def create_group(self, name: str, description: str = "", *,
                     exist_ok: bool = True) -> ModelGroup:
        check_name(name)
        with self.db.write() as conn:
            row = conn.execute("SELECT 1 FROM model_groups WHERE name_key = ?",
                               (name.lower(),)).fetchone()
            if row and not exist_ok:
                raise ModelGroupExistsError(f"A model package group named {name!r} already "
                                            "exists: pick another name.")
            if not row:
                conn.execute("INSERT INTO model_groups VALUES (?, ?, ?, ?)",
                             (name.lower(), name, description or "", time.time()))
        return self.describe_group(name)

    def describe_group(self, name: str) -> ModelGroup:
        check_name(name)
        if not self.db.path.exists():  # a read never creates the database
            raise ModelGroupNotFoundError(f"There is no model package group {name!r} in this "
                                          "workspace. Register a trained model first.")
        with self.db.read() as conn:
            row = conn.execute("SELECT g.*, (SELECT count(*) FROM model_versions v WHERE "
                               "v.name_key = g.name_key) AS n FROM model_groups g "
                               "WHERE name_key = ?", (name.lower(),)).fetchone()
            if row is None:
                names = [r["name"] for r in conn.execute("SELECT name FROM model_groups")]
        if row is None:
            raise ModelGroupNotFoundError(
                f"There is no model package group {name!r} in this workspace. "
                + (f"Existing groups: {', '.join(names)}." if names
                   else "Register a trained model first."))
        return _group(row)

    def list_groups(self) -> list[ModelGroup]:
        if not self.db.path.exists():
            return []
        with self.db.read() as conn:
            rows = conn.execute("SELECT g.*, (SELECT count(*) FROM model_versions v WHERE "
                                "v.name_key = g.name_key) AS n FROM model_groups g "
                                "ORDER BY created").fetchall()
        return [_group(r) for r in rows]

    # Versions.
    def register(self, group: str, artifact: str | Path, *, source: dict[str, Any] | None = None,
                 description: str = "", status: str = PENDING,
                 metadata: dict[str, Any] | None = None) -> ModelVersion:
        """Copy the artifact in and record a new version (numbered next in its group)."""
        check_status(status)
        # checked before anything is written; only the workspace's own files are loaded
        meta = metadata or describe_artifact(artifact, within=self.ws.root)
        name = self.describe_group(group).name
        now, by = time.time(), current_user()
        with self.db.write() as conn:
            version = conn.execute("SELECT coalesce(max(version), 0) + 1 FROM model_versions "
                                   "WHERE name_key = ?", (name.lower(),)).fetchone()[0]
            target = self.files / name.lower() / str(version) / "model.tar.gz"
            _copy_atomic(Path(artifact), target)
            try:
                conn.execute(
                    "INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (name.lower(), version, status, str(target.relative_to(self.ws.root)),
                     meta["algorithm"], json.dumps(meta["features"]), meta.get("target", ""),
                     json.dumps(meta.get("hyperparameters", {})),
                     json.dumps(meta.get("metrics", {})), json.dumps(source or {}),
                     json.dumps(list(CONTENT_TYPES)), json.dumps(list(RESPONSE_TYPES)),
                     description or "", now))
                _add_history(conn, name, version, status, "Registered", by, now)
            except BaseException:
                shutil.rmtree(target.parent, ignore_errors=True)
                raise
        return self.describe_version(name, version)

    def describe_version(self, group: str, version: int) -> ModelVersion:
        name = self.describe_group(group).name
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM model_versions WHERE name_key = ? AND version = ?",
                               (name.lower(), check_version(version))).fetchone()
            if row is None:
                known = [r[0] for r in conn.execute(
                    "SELECT version FROM model_versions WHERE name_key = ? ORDER BY version",
                    (name.lower(),))]
                raise VersionNotFoundError(
                    f"The group {name!r} has no version {version}"
                    + (f": its versions are {', '.join(map(str, known))}." if known
                       else ": it holds no version yet."))
            return self._version(conn, name, row)

    def list_versions(self, group: str) -> list[ModelVersion]:
        name = self.describe_group(group).name
        with self.db.read() as conn:
            rows = conn.execute("SELECT * FROM model_versions WHERE name_key = ? "
                                "ORDER BY version", (name.lower(),)).fetchall()
            return [self._version(conn, name, r) for r in rows]

    def update_status(self, group: str, version: int, status: str, comment: str = "",
                      by: str | None = None) -> ModelVersion:
        check_status(status)
        check_comment(comment or "")
        current = self.describe_version(group, version)
        with self.db.write() as conn:
            conn.execute("UPDATE model_versions SET status = ? WHERE name_key = ? AND "
                         "version = ?", (status, current.group.lower(), current.version))
            _add_history(conn, current.group, current.version, status, comment or "",
                         by or current_user(), time.time())
        return self.describe_version(group, version)

    def close(self) -> None:
        """Nothing to release: connections live for one call."""

    def _version(self, conn, name: str, row) -> ModelVersion:
        data = {k: (json.loads(row[k]) if k in _JSON else row[k]) for k in row.keys()}
        history = [StatusChange(h["status"], h["comment"], h["changed_by"], h["changed_at"])
                   for h in conn.execute("SELECT * FROM status_history WHERE name_key = ? AND "
                                         "version = ? ORDER BY id",
                                         (data["name_key"], data["version"]))]
        return ModelVersion(
            group=name, version=data["version"], arn=version_arn(name, data["version"]),
            status=data["status"], artifact=str(self.ws.root / data["artifact"]),
            algorithm=data["algorithm"], features=data["features"], target=data["target"],
            hyperparameters=data["hyperparameters"], metrics=data["metrics"],
            source=data["source"], created=data["created"], description=data["description"],
            content_types=data["content_types"], response_types=data["response_types"],
            history=history)


def group_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{name.lower()}"


def version_arn(name: str, version: int) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{name.lower()}/{version}"


def _group(row) -> ModelGroup:
    return ModelGroup(name=row["name"], arn=group_arn(row["name"]),
                      description=row["description"], created=row["created"],
                      versions=row["n"])


def _add_history(conn, name: str, version: int, status: str, comment: str, by: str,
                 at: float) -> None:
    conn.execute("INSERT INTO status_history (name_key, version, status, comment, changed_by, "
                 "changed_at) VALUES (?, ?, ?, ?, ?, ?)",
                 (name.lower(), version, status, comment, by, at))


def _copy_atomic(source: Path, target: Path) -> None:
    """Copy under a temporary name, then rename: a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
