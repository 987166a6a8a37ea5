"""The local twin of the cleanup: the workspace's own stores are its resources.

Locally nothing is billed: an endpoint is a model served by the lab's runtime server on
127.0.0.1, and the feature groups, the registry, the experiments and the pipeline
executions are files of the workspace. Deleting them resets those steps (endpoints through
the endpoints' twin, so the server stops when the last one goes; feature groups through the
store; the other stores as files). The datasets and the prepared data stay: they are the
learner's inputs, not resources.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from lab.cleanup._api import (
    CleanupReport,
    Inventory,
    Progress,
    Resource,
    RunningEndpoint,
    forget_ingest,
)
from lab.twins import Twin
from lab.workspace import Workspace

# (name, files and folders of the workspace) of the stores deleted as files
STORES = (("model registry", ("registry.db", "registry")),
          ("experiments", ("experiments.db",)),
          ("tuning studies", ("tuning.db",)),
          ("pipeline executions", ("pipelines.db", "pipelines")))
FREE = "free (a file of the workspace)"


class LocalCleanup(Twin):
    note = ("Locally nothing is billed: the lab's 'resources' are the workspace's own stores. "
            "Deleting them resets those steps; your datasets and prepared data stay.")

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.ws = Workspace(settings.workspace)

    def running_endpoints(self) -> list[RunningEndpoint]:
        return [RunningEndpoint(name, status) for name, status in self._endpoint_rows()
                if status in ("InService", "Updating", "Creating")]

    def _endpoint_rows(self) -> list[tuple[str, str]]:
        """(name, status) from endpoints.db, read-only (no store is created by looking)."""
        path = self.ws.path("endpoints.db")
        if not path.exists():
            return []
        try:
            with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True,
                                                    timeout=2)) as conn:
                return conn.execute("SELECT name, status FROM endpoints ORDER BY name"
                                    ).fetchall()
        except sqlite3.Error:
            return []

    def inventory(self) -> Inventory:
        found = Inventory("local")
        for name, status in self._endpoint_rows():
            found.resources.append(Resource("endpoint", name, status, "free (served on "
                                            "127.0.0.1 by the lab)"))
        if self.ws.path("featurestore", "online.db").exists():
            from lab.featurestore import open_featurestore

            store = open_featurestore(self.settings)
            try:
                for group in store.list_groups():
                    found.resources.append(Resource(
                        "feature-group", group.name, group.status, FREE,
                        detail=f"{group.offline_rows or 0} offline rows"))
            finally:
                store.close()
        for name, parts in STORES:
            paths = [self.ws.path(p) for p in parts if self.ws.path(p).exists()]
            if paths:
                size = sum(_size(p) for p in paths)
                found.resources.append(Resource("local-store", name, "", FREE,
                                                detail=f"{size / 1e6:.1f} MB"))
        return found

    def delete_all(self, progress: Progress | None = None, dry_run: bool = False
                   ) -> CleanupReport:
        report = progress or (lambda fraction, message: None)
        before = self.inventory().ordered()
        out = CleanupReport("local", dry_run)
        if dry_run:
            out.deleted = before
            out.left = before
            return out
        for i, resource in enumerate(before):
            report(i / max(1, len(before)), f"Deleting {resource.label}")
            try:
                self._delete(resource)
                out.deleted.append(resource)
            except Exception as exc:  # noqa: BLE001 - reported, the others go on
                out.failed.append((resource, str(exc) or type(exc).__name__))
        if any(r.kind == "feature-group" for r in out.deleted):
            forget_ingest(self.settings)  # its groups are gone: nothing is ingested
        report(1.0, "Done")
        out.left = self.inventory().ordered()
        return out

    def _delete(self, resource: Resource) -> None:
        if resource.kind == "endpoint":
            from lab.serving import open_endpoints

            open_endpoints(self.settings).delete(resource.name)
        elif resource.kind == "feature-group":
            from lab.featurestore import open_featurestore

            store = open_featurestore(self.settings)
            try:
                store.delete_group(resource.name)
            finally:
                store.close()
        else:
            for part in dict(STORES)[resource.name]:
                path = self.ws.path(part)
                for extra in (path, *(Path(f"{path}{s}") for s in ("-wal", "-shm"))):
                    if extra.is_dir():
                        shutil.rmtree(extra)
                    elif extra.exists():
                        extra.unlink()

    def code(self) -> list:
        return [LocalCleanup.delete_all, LocalCleanup._delete]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
