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
from lab.serving._api import (
    CREATING,
    IN_SERVICE,
    LOCAL_ACCOUNT,
    SERVING,
    CaptureConfig,
    Endpoint,
    Variant,
)
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
-- During a rollout, the fleets serving the endpoint and their share of the traffic
-- (no row: the endpoint's own version takes it all, as variant AllTraffic).
CREATE TABLE IF NOT EXISTS variants (
    name_key TEXT NOT NULL,
    variant TEXT NOT NULL,
    model_group TEXT NOT NULL,
    version INTEGER NOT NULL,
    weight REAL NOT NULL,
    PRIMARY KEY (name_key, variant)
);
-- Data capture (the endpoint config's DataCaptureConfig): none means off.
CREATE TABLE IF NOT EXISTS capture (
    name_key TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL,
    sampling_percentage REAL NOT NULL,
    max_file_bytes INTEGER NOT NULL,
    max_total_bytes INTEGER NOT NULL
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
            for table in ("variants", "capture"):
                conn.execute(f"DELETE FROM {table} WHERE name_key = ?", (name.lower(),))
        if not done:
            raise _not_found(name)

    # Traffic between fleets (a rollout).
    def variants(self, name: str) -> list[Variant]:
        if not self.db.path.exists():
            return []
        with self.db.read() as conn:
            rows = conn.execute("SELECT * FROM variants WHERE name_key = ? ORDER BY variant",
                                (name.lower(),)).fetchall()
        return [Variant(r["variant"], r["model_group"], r["version"], r["weight"])
                for r in rows]

    def set_variants(self, name: str, variants: list[Variant]) -> None:
        """Replace the endpoint's fleets in one transaction (none: its own version only)."""
        self.get(name)
        with self.db.write() as conn:
            conn.execute("DELETE FROM variants WHERE name_key = ?", (name.lower(),))
            conn.executemany("INSERT INTO variants (name_key, variant, model_group, version, "
                             "weight) VALUES (?, ?, ?, ?, ?)",
                             [(name.lower(), v.name, v.group, v.version, v.weight)
                              for v in variants])

    def switch(self, name: str, group: str, version: int) -> Endpoint:
        """The end of a rollout: the endpoint serves `version` alone, in one transaction
        (its fleets gone, its record on the new version)."""
        with self.db.write() as conn:
            done = conn.execute("UPDATE endpoints SET model_group = ?, version = ?, status = "
                                "?, pending_version = NULL, failure = '', updated = ? WHERE "
                                "name_key = ?", (group, version, IN_SERVICE, time.time(),
                                                 name.lower())).rowcount
            conn.execute("DELETE FROM variants WHERE name_key = ?", (name.lower(),))
        if not done:
            raise _not_found(name)
        return self.get(name)

    # Data capture.
    def capture(self, name: str) -> CaptureConfig:
        if not self.db.path.exists():
            return CaptureConfig()
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM capture WHERE name_key = ?",
                               (name.lower(),)).fetchone()
        if row is None:
            return CaptureConfig()
        return CaptureConfig(bool(row["enabled"]), row["sampling_percentage"],
                             row["max_file_bytes"], row["max_total_bytes"])

    def set_capture(self, name: str, config: CaptureConfig) -> CaptureConfig:
        self.get(name)
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO capture (name_key, enabled, "
                         "sampling_percentage, max_file_bytes, max_total_bytes) VALUES "
                         "(?, ?, ?, ?, ?)", (name.lower(), int(config.enabled),
                                             config.sampling_percentage,
                                             config.max_file_bytes, config.max_total_bytes))
        return self.capture(name)


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
