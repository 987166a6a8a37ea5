"""Endpoint records of the local twin, kept in `<workspace>/endpoints.db`.

A record is what DescribeEndpoint returns: the name, the model version it serves, its
status and when it changed. Records outlive the process that served them: any lab process
(the app's background server, `python -m lab serve`) serves the InService ones, so an
endpoint survives a page reload and comes back after an app restart.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from lab.db import Database
from lab.serving._api import CREATING, LOCAL_ACCOUNT, SERVING, Endpoint
from lab.serving._errors import EndpointExistsError, EndpointNotFoundError
from lab.workspace import Workspace

_SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (
    name_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    model_group TEXT NOT NULL,
    version INTEGER NOT NULL,          -- the version it serves
    pending_version INTEGER,           -- while Updating: the version being loaded
    status TEXT NOT NULL,
    failure TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""


class EndpointRecords:
    def __init__(self, settings: Any) -> None:
        ws = settings if isinstance(settings, Workspace) else Workspace(
            getattr(settings, "workspace", settings))
        self.db = Database(ws.path("endpoints.db"), _SCHEMA)

    def create(self, name: str, group: str, version: int) -> Endpoint:
        now = time.time()
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM endpoints WHERE name_key = ?",
                            (name.lower(),)).fetchone():
                raise EndpointExistsError(f"An endpoint named {name!r} already exists: update "
                                          "it to another version, or delete it first.")
            conn.execute("INSERT INTO endpoints (name_key, name, model_group, version, status, "
                         "created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (name.lower(), name, group, version, CREATING, now, now))
        return self.get(name)

    def update(self, name: str, **changes: Any) -> Endpoint:
        columns = {"group": "model_group"}
        changes["updated"] = time.time()
        sets = ", ".join(f"{columns.get(k, k)} = ?" for k in changes)
        with self.db.write() as conn:
            done = conn.execute(f"UPDATE endpoints SET {sets} WHERE name_key = ?",
                                (*changes.values(), name.lower())).rowcount
        if not done:
            raise _not_found(name)
        return self.get(name)

    def find(self, name: str) -> Endpoint | None:
        if not self.db.path.exists():  # a read never creates the database
            return None
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM endpoints WHERE name_key = ?",
                               (str(name).lower(),)).fetchone()
        return _endpoint(row) if row else None

    def get(self, name: str) -> Endpoint:
        found = self.find(name)
        if found is None:
            raise _not_found(name)
        return found

    def list(self) -> list[Endpoint]:
        if not self.db.path.exists():
            return []
        with self.db.read() as conn:
            return [_endpoint(r) for r in conn.execute("SELECT * FROM endpoints ORDER BY "
                                                       "created")]

    def delete(self, name: str) -> None:
        if not self.db.path.exists():  # nothing to delete: and no database made for it
            raise _not_found(name)
        with self.db.write() as conn:
            done = conn.execute("DELETE FROM endpoints WHERE name_key = ?",
                                (name.lower(),)).rowcount
        if not done:
            raise _not_found(name)


def with_url(endpoint: Endpoint, url: str | None) -> Endpoint:
    return replace(endpoint, url=url if endpoint.status in SERVING else None)


def _not_found(name: str) -> EndpointNotFoundError:
    return EndpointNotFoundError(f"There is no endpoint {name!r} in this workspace: deploy an "
                                 "approved model version first.")


def _endpoint(row) -> Endpoint:
    return Endpoint(name=row["name"], group=row["model_group"], version=row["version"],
                    status=row["status"], created=row["created"], updated=row["updated"],
                    failure=row["failure"], pending_version=row["pending_version"],
                    arn=f"arn:aws:sagemaker:local:{LOCAL_ACCOUNT}:endpoint/{row['name_key']}")
