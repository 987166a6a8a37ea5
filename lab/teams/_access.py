"""The shared feature store and model registry, as one team sees them: the access rules.

`TeamFeatureStore` and `TeamRegistry` wrap the platform's own store and registry (the
settings' backend's twins) with the interface they already have, so a team's code is the
code any step runs; every write is checked against the catalog's owner first, every read
is allowed and recorded (the "who uses what" view). This is where the rules hold: a page or
a command that acts for a team goes through these, never through the stores themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lab.teams._api import FEATURE_GROUP, MODEL_GROUP, PLATFORM, READ, AccessDeniedError
from lab.teams._catalog import Catalog, denied


class _Guard:
    def __init__(self, team: str, catalog: Catalog, inner: Any, kind: str) -> None:
        self.team, self.catalog, self.inner, self.kind = team, catalog, inner, kind

    def __getattr__(self, name: str) -> Any:  # backend, note, close... as the store has them
        return getattr(self.inner, name)

    def require_owner(self, resource: str, action: str) -> None:
        owner = self.catalog.owner(self.kind, resource)
        if owner != self.team:
            raise AccessDeniedError(denied(self.team, action, self.kind, resource, owner))

    def _read(self, resource: str) -> None:
        self.catalog.record_use(self.team, self.kind, resource, READ)


class TeamFeatureStore(_Guard):
    """The shared feature store for one team: reads everything, writes its own groups."""

    def __init__(self, team: str, catalog: Catalog, store: Any) -> None:
        super().__init__(team, catalog, store, FEATURE_GROUP)

    def create_group(self, name: str, frame: Any, *args: Any, **kwargs: Any) -> Any:
        if self.catalog.owner(FEATURE_GROUP, name) == PLATFORM and self._exists(name):
            raise AccessDeniedError(denied(self.team, "create over", FEATURE_GROUP, name,
                                           PLATFORM))
        self.catalog.claim(FEATURE_GROUP, name, self.team)  # refused if another team's
        try:
            return self.inner.create_group(name, frame, *args, **kwargs)
        except Exception:
            if not self._exists(name):  # nothing was created: the claim goes too
                self.catalog.release(FEATURE_GROUP, name)
            raise

    def _exists(self, name: str) -> bool:
        from lab.featurestore import GroupNotFoundError

        try:
            self.inner.describe_group(name)
        except GroupNotFoundError:
            return False
        return True

    def ingest(self, name: str, frame: Any, progress: Any = None) -> Any:
        self.require_owner(name, "ingest into")
        return self.inner.ingest(name, frame, progress)

    def put_record(self, name: str, values: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        self.require_owner(name, "write a record into")
        return self.inner.put_record(name, values, *args, **kwargs)

    def delete_group(self, name: str) -> None:
        self.require_owner(name, "delete")
        self.inner.delete_group(name)
        self.catalog.release(FEATURE_GROUP, name)

    def describe_group(self, name: str) -> Any:
        info = self.inner.describe_group(name)
        self._read(name)
        return info

    def get_record(self, name: str, record_id: Any, features: Sequence[str] | None = None
                   ) -> Any:
        record = self.inner.get_record(name, record_id, features)
        self._read(name)
        return record

    def batch_get_records(self, name: str, record_ids: Sequence[Any],
                          features: Sequence[str] | None = None) -> Any:
        found = self.inner.batch_get_records(name, record_ids, features)
        self._read(name)
        return found

    def query(self, sql: str, reads: Sequence[str] = ()) -> Any:
        """SQL on the offline store; `reads`: the groups it reads, recorded as used."""
        result = self.inner.query(sql)
        for name in reads:
            self._read(name)
        return result


class TeamRegistry(_Guard):
    """The shared model registry for one team: reads every group, registers into and
    approves only its own."""

    def __init__(self, team: str, catalog: Catalog, registry: Any) -> None:
        super().__init__(team, catalog, registry, MODEL_GROUP)

    def create_group(self, name: str, description: str = "", *, exist_ok: bool = True) -> Any:
        if self.catalog.owner(MODEL_GROUP, name) == PLATFORM and self._exists(name):
            raise AccessDeniedError(denied(self.team, "take over", MODEL_GROUP, name,
                                           PLATFORM))
        self.catalog.claim(MODEL_GROUP, name, self.team)
        return self.inner.create_group(name, description, exist_ok=exist_ok)

    def _exists(self, name: str) -> bool:
        from lab.registry import ModelGroupNotFoundError

        try:
            self.inner.describe_group(name)
        except ModelGroupNotFoundError:
            return False
        return True

    def register(self, group: str, artifact: Any, **kwargs: Any) -> Any:
        self.require_owner(group, "register a model into")
        return self.inner.register(group, artifact, **kwargs)

    def update_status(self, group: str, version: int, status: str, comment: str = "",
                      by: str | None = None) -> Any:
        self.require_owner(group, "approve or reject the models of")
        return self.inner.update_status(group, version, status, comment,
                                        by or f"team {self.team}")

    def describe_group(self, name: str) -> Any:
        found = self.inner.describe_group(name)
        self._read(name)
        return found

    def describe_version(self, group: str, version: int) -> Any:
        found = self.inner.describe_version(group, version)
        self._read(group)
        return found

    def list_versions(self, group: str) -> Any:
        found = self.inner.list_versions(group)
        self._read(group)
        return found
